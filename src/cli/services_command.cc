// `meshgate services register FILE.json` and `meshgate services deregister ID`.

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/http_flags.h"

namespace meshgate::cli {

namespace json = boost::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The registrations in a service definition file: {"service": {...}} or
/// {"services": [...]} as Consul's agent config writes them, or a bare API body.
std::vector<json::value> definitions(const std::string& path) {
  boost::system::error_code ec;
  auto document = json::parse(read_file(path), ec);
  if (ec) throw std::runtime_error(path + ": not valid JSON: " + ec.message());
  if (!document.is_object()) throw std::runtime_error(path + ": must hold a JSON object");
  auto& o = document.as_object();
  for (const char* key : {"service", "Service"}) {
    if (auto* s = o.if_contains(key); s && o.size() == 1) return {*s};
  }
  for (const char* key : {"services", "Services"}) {
    if (auto* s = o.if_contains(key); s && o.size() == 1 && s->is_array()) {
      return {s->as_array().begin(), s->as_array().end()};
    }
  }
  return {document};
}

int register_services(const http_flags& http, const std::string& path) {
  try {
    const auto client = http.client();
    for (const auto& d : definitions(path)) {
      const auto r = client.request("PUT", "/v1/agent/service/register", json::serialize(d));
      if (!r.ok()) {
        std::cerr << "Error registering service: " << r.error_message() << "\n";
        return exit_failure;
      }
      const auto* name = d.is_object() ? d.as_object().if_contains("Name") : nullptr;
      if (name == nullptr && d.is_object()) name = d.as_object().if_contains("name");
      std::cout << "Registered service: " << (name && name->is_string() ? std::string(name->as_string()) : "?") << "\n";
    }
    return exit_ok;
  } catch (const std::exception& e) {
    std::cerr << "Error registering service: " << e.what() << "\n";
    return exit_failure;
  }
}

int deregister_service(const http_flags& http, const std::string& id) {
  try {
    const auto r = http.client().request("PUT", "/v1/agent/service/deregister/" + id);
    if (!r.ok()) {
      std::cerr << "Error deregistering service: " << r.error_message() << "\n";
      return exit_failure;
    }
    std::cout << "Deregistered service: " << id << "\n";
    return exit_ok;
  } catch (const std::exception& e) {
    std::cerr << "Error deregistering service: " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace

void add_services_command(CLI::App& app, command_runner& runner) {
  auto* services = app.add_subcommand("services", "Register and deregister services");
  services->require_subcommand(1);

  auto reg = std::make_shared<std::pair<http_flags, std::string>>();
  auto* r = services->add_subcommand("register", "Register the services defined in a JSON file");
  reg->first.add_to(r);
  r->add_option("file", reg->second, "Service definition: {\"service\": {...}}, {\"services\": [...]} or an API body")
      ->required();
  r->callback([&runner, reg] { runner = [reg] { return register_services(reg->first, reg->second); }; });

  auto dereg = std::make_shared<std::pair<http_flags, std::string>>();
  auto* d = services->add_subcommand("deregister", "Deregister a service by its ID");
  dereg->first.add_to(d);
  d->add_option("id,--id", dereg->second, "The service's ID")->required();
  d->callback([&runner, dereg] { runner = [dereg] { return deregister_service(dereg->first, dereg->second); }; });
}

}  // namespace meshgate::cli
