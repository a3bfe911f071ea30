// `meshgate config write|read|list|delete`: config entries.

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/http_flags.h"

namespace meshgate::cli {

namespace json = boost::json;

namespace {

struct config_flags {
  http_flags http;
  std::string file;
  std::string kind;
  std::string name;
  std::optional<std::uint64_t> cas;
};

void pretty(std::ostream& out, const json::value& v, const std::string& indent = "") {
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out << "{}";
        return;
      }
      out << "{\n";
      std::size_t i = 0;
      for (const auto& [k, e] : o) {
        out << indent << "    " << json::serialize(json::string(k)) << ": ";
        pretty(out, e, indent + "    ");
        out << (++i < o.size() ? ",\n" : "\n");
      }
      out << indent << "}";
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out << "[]";
        return;
      }
      out << "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        out << indent << "    ";
        pretty(out, a[i], indent + "    ");
        out << (i + 1 < a.size() ? ",\n" : "\n");
      }
      out << indent << "]";
      return;
    }
    default:
      out << json::serialize(v);
  }
}

int fail(const std::string& what, const std::string& why) {
  std::cerr << "Error " << what << ": " << why << "\n";
  return exit_failure;
}

int write(const config_flags& f) {
  std::ifstream in(f.file);
  if (!in) return fail("writing config entry", f.file + ": cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto entry = json::parse(text.str(), ec);
  if (ec) return fail("writing config entry", f.file + ": not valid JSON: " + ec.message());
  try {
    const auto target = "/v1/config" + (f.cas ? "?cas=" + std::to_string(*f.cas) : std::string());
    const auto r = f.http.client().request("PUT", target, text.str());
    if (!r.ok()) return fail("writing config entry", r.error_message());
    if (r.body.find("false") != std::string::npos) {
      return fail("writing config entry", "the entry changed since index " + std::to_string(f.cas.value_or(0)) +
                                              " (check-and-set refused the write)");
    }
    const auto& o = entry.as_object();
    auto field = [&](const char* a, const char* b) {
      const auto* v = o.if_contains(a);
      if (!v) v = o.if_contains(b);
      return v && v->is_string() ? std::string(v->as_string()) : std::string("?");
    };
    std::cout << "Config entry written: " << field("Kind", "kind") << "/" << field("Name", "name") << "\n";
    return exit_ok;
  } catch (const std::exception& e) {
    return fail("writing config entry", e.what());
  }
}

int read(const config_flags& f) {
  try {
    const auto r = f.http.client().request("GET", "/v1/config/" + f.kind + "/" + f.name);
    if (!r.ok()) return fail("reading config entry " + f.kind + "/" + f.name, r.error_message());
    pretty(std::cout, json::parse(r.body));
    std::cout << "\n";
    return exit_ok;
  } catch (const std::exception& e) {
    return fail("reading config entry " + f.kind + "/" + f.name, e.what());
  }
}

int list(const config_flags& f) {
  try {
    const auto r = f.http.client().request("GET", "/v1/config/" + f.kind);
    if (!r.ok()) return fail("listing config entries", r.error_message());
    const auto entries = json::parse(r.body);
    for (const auto& e : entries.as_array()) std::cout << std::string_view(e.at("Name").as_string()) << "\n";
    return exit_ok;
  } catch (const std::exception& e) {
    return fail("listing config entries", e.what());
  }
}

int erase(const config_flags& f) {
  try {
    const auto target = "/v1/config/" + f.kind + "/" + f.name + (f.cas ? "?cas=" + std::to_string(*f.cas) : std::string());
    const auto r = f.http.client().request("DELETE", target);
    if (!r.ok()) return fail("deleting config entry " + f.kind + "/" + f.name, r.error_message());
    if (r.body.find("false") != std::string::npos) {
      return fail("deleting config entry", "the entry changed since the given index (check-and-set refused)");
    }
    std::cout << "Config entry deleted: " << f.kind << "/" << f.name << "\n";
    return exit_ok;
  } catch (const std::exception& e) {
    return fail("deleting config entry " + f.kind + "/" + f.name, e.what());
  }
}

}  // namespace

void add_config_command(CLI::App& app, command_runner& runner) {
  auto* config = app.add_subcommand("config", "Write, read, list and delete config entries");
  config->require_subcommand(1);
  auto add = [&](const char* name, const char* help, int (*fn)(const config_flags&), bool file, bool kind_name,
                 bool name_needed, bool cas) {
    auto f = std::make_shared<config_flags>();
    auto* c = config->add_subcommand(name, help);
    f->http.add_to(c);
    if (file) c->add_option("file", f->file, "Config entry (JSON)")->required();
    if (kind_name) c->add_option("--kind", f->kind, "Entry kind: proxy-defaults, service-defaults, service-resolver, service-intentions")->required();
    if (name_needed) c->add_option("--name", f->name, "Entry name")->required();
    if (cas) {
      c->add_option_function<std::uint64_t>("--cas", [f](const std::uint64_t& v) { f->cas = v; },
                                            "Only if the entry's ModifyIndex is this (0: only if it does not exist)");
    }
    c->callback([&runner, f, fn] { runner = [f, fn] { return fn(*f); }; });
  };
  add("write", "Write a config entry from a JSON file", write, true, false, false, true);
  add("read", "Print a config entry", read, false, true, true, false);
  add("list", "List the names of the entries of a kind", list, false, true, false, false);
  add("delete", "Delete a config entry", erase, false, true, true, true);
}

}  // namespace meshgate::cli
