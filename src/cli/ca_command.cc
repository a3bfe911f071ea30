// `meshgate ca roots` and `meshgate ca rotate`.

#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/http_flags.h"
#include "common/duration.h"

namespace meshgate::cli {

namespace json = boost::json;

namespace {

struct ca_flags {
  http_flags http;
  bool pem = false;
  std::string leaf_ttl;
};

int roots(const ca_flags& f) {
  try {
    const auto r = f.http.client().request("GET", f.pem ? "/v1/connect/ca/roots?pem=true" : "/v1/connect/ca/roots");
    if (!r.ok()) {
      std::cerr << "Error reading the CA roots: " << r.error_message() << "\n";
      return exit_failure;
    }
    if (f.pem) {
      std::cout << r.body;
      return exit_ok;
    }
    const auto v = json::parse(r.body);
    std::cout << "Trust domain: " << std::string_view(v.at("TrustDomain").as_string()) << "\n";
    for (const auto& root : v.at("Roots").as_array()) {
      std::cout << (root.at("Active").as_bool() ? "* " : "  ") << std::string_view(root.at("ID").as_string()) << "\n"
                << "    " << std::string_view(root.at("Name").as_string()) << ", valid "
                << std::string_view(root.at("NotBefore").as_string()) << " to "
                << std::string_view(root.at("NotAfter").as_string())
                << (root.at("Active").as_bool() ? " (active)" : " (kept until its leaves expire)") << "\n";
      const auto crossed = root.at("IntermediateCerts").as_array().size();
      if (crossed > 0) std::cout << "    " << crossed << " cross-signed certificate(s) from the previous root\n";
    }
    return exit_ok;
  } catch (const std::exception& e) {
    std::cerr << "Error reading the CA roots: " << e.what() << "\n";
    return exit_failure;
  }
}

int rotate(const ca_flags& f) {
  try {
    json::object body{{"Provider", "meshgate"}};
    if (!f.leaf_ttl.empty()) body["Config"] = json::object{{"LeafCertTTL", f.leaf_ttl}};
    const auto client = f.http.client();
    const auto r = client.request("PUT", "/v1/connect/ca/configuration", json::serialize(body));
    if (!r.ok()) {
      std::cerr << "Error rotating the root CA: " << r.error_message() << "\n";
      return exit_failure;
    }
    const auto now = json::parse(client.request("GET", "/v1/connect/ca/roots").body);
    std::cout << "Rotated the root CA: the active root is now " << std::string_view(now.at("ActiveRootID").as_string())
              << "\n(the previous root cross-signed it and stays trusted until its leaves expire)\n";
    return exit_ok;
  } catch (const std::exception& e) {
    std::cerr << "Error rotating the root CA: " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace

void add_ca_command(CLI::App& app, command_runner& runner) {
  auto* ca = app.add_subcommand("ca", "Look at and rotate the mesh's certificate authority");
  ca->require_subcommand(1);
  auto r = std::make_shared<ca_flags>();
  auto* list = ca->add_subcommand("roots", "List the CA's roots (the active one starred)");
  r->http.add_to(list);
  list->add_flag("--pem", r->pem, "Print the roots (and cross-signed certificates) as a PEM bundle");
  list->callback([&runner, r] { runner = [r] { return roots(*r); }; });
  auto t = std::make_shared<ca_flags>();
  auto* rot = ca->add_subcommand("rotate",
                                 "Make a new root, cross-signed by the current one, and make it active; "
                                 "the old one stays trusted until every leaf it signed has expired");
  t->http.add_to(rot);
  rot->add_option("--leaf-cert-ttl", t->leaf_ttl, "Also change the leaf TTL (1h to 8760h)");
  rot->callback([&runner, t] { runner = [t] { return rotate(*t); }; });
}

}  // namespace meshgate::cli
