// `meshgate catalog services|datacenters`.

#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/http_flags.h"

namespace meshgate::cli {

namespace json = boost::json;

namespace {

struct catalog_flags {
  http_flags http;
  bool tags = false;
};

int list(const catalog_flags& f, const std::string& path, bool services) {
  try {
    const auto r = f.http.client().request("GET", path);
    if (!r.ok()) {
      std::cerr << "Error listing " << (services ? "services" : "datacenters") << ": " << r.error_message() << "\n";
      return exit_failure;
    }
    const auto v = json::parse(r.body);
    if (services) {
      for (const auto& [name, tags] : v.as_object()) {
        std::cout << std::string_view(name);
        if (f.tags) {
          std::string joined;
          for (const auto& t : tags.as_array()) joined += (joined.empty() ? "" : ",") + std::string(t.as_string());
          std::cout << "  " << joined;
        }
        std::cout << "\n";
      }
    } else {
      for (const auto& dc : v.as_array()) std::cout << std::string_view(dc.as_string()) << "\n";
    }
    return exit_ok;
  } catch (const std::exception& e) {
    std::cerr << "Error listing " << (services ? "services" : "datacenters") << ": " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace

void add_catalog_command(CLI::App& app, command_runner& runner) {
  auto* catalog = app.add_subcommand("catalog", "List what the catalog knows");
  catalog->require_subcommand(1);
  auto s = std::make_shared<catalog_flags>();
  auto* services = catalog->add_subcommand("services", "List the registered services");
  s->http.add_to(services);
  services->add_flag("--tags", s->tags, "Show each service's tags");
  services->callback([&runner, s] { runner = [s] { return list(*s, "/v1/catalog/services", true); }; });
  auto d = std::make_shared<catalog_flags>();
  auto* dcs = catalog->add_subcommand("datacenters", "List the known datacenters");
  d->http.add_to(dcs);
  dcs->callback([&runner, d] { runner = [d] { return list(*d, "/v1/catalog/datacenters", false); }; });
}

}  // namespace meshgate::cli
