// `meshgate explain`: why a proxy's traffic goes where it goes — for each upstream, the
// mode and the configuration layer that chose it, the SNI, the identity the far end must
// prove, and the addresses that will be dialled — exactly as the server resolved them for
// the proxy (the same snapshot the proxy runs on, not a second opinion). For a mesh gateway:
// its listeners and routes, or the route one server name takes, decided by the gateway's
// own router.

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <iostream>

#include "cli/commands.h"
#include "cli/http_flags.h"
#include "gateway/gateway_config.h"
#include "gateway/sni_router.h"
#include "mesh/names.h"
#include "proxycfg/proxy_snapshot.h"
#include "sidecar/control_client.h"

namespace meshgate::cli {

namespace {

namespace json = boost::json;

struct explain_flags {
  http_flags http;
  std::string proxy_id;
  std::string sidecar_for;
  std::string upstream;
  std::string sni;
};

/// What the endpoints are, in words, from the mode and where the target is.
std::string what_is_dialled(const proxycfg::upstream_config& u, const std::string& own_datacenter) {
  const auto sidecars = u.destination_name + "'s healthy sidecars" +
                        (u.subset.empty() ? "" : " of subset " + u.subset) + " in " + u.datacenter;
  if (u.datacenter == own_datacenter) return sidecars + ", at their LAN address";
  if (u.mode == "local") return own_datacenter + "'s healthy mesh gateways, at their LAN address";
  if (u.mode == "remote") return u.datacenter + "'s healthy mesh gateways, at their WAN address";
  return sidecars + ", at their WAN address";
}

std::string layer_words(const std::string& source) {
  if (source == "upstream") return "the upstream's own MeshGateway";
  if (source == "proxy registration") return "the proxy registration's Proxy.MeshGateway";
  if (source == "service-defaults") return "the destination's service-defaults";
  if (source == "proxy-defaults") return "the global proxy-defaults";
  if (source == "same datacenter") return "the target is in this datacenter: gateways are never used";
  if (source == "default") return "no layer sets one: the default";
  return source;
}

void explain(const proxycfg::upstream_config& u, const proxycfg::proxy_snapshot& s, std::ostream& out) {
  out << "upstream " << u.name << " (" << u.local_bind_address << ":" << u.local_bind_port << ")\n"
      << "  target      " << u.destination_name << " in " << u.datacenter << "\n"
      << "  mode        " << u.mode << " — set by " << layer_words(u.mode_source) << "\n"
      << "  SNI         " << u.sni << "\n";
  if (!u.subset.empty()) {
    out << "  subset      " << u.subset << " — the DefaultSubset of " << u.destination_name
        << "'s service-resolver; gateways route it to the instances its filter selects\n";
  }
  out << "  identity    " << u.identity << " (the far end must present exactly this)\n"
      << "  dials       " << what_is_dialled(u, s.datacenter) << ":\n";
  if (u.endpoints.empty()) {
    out << "                (none: connections are refused and counted as no_endpoints)\n";
  }
  for (const auto& e : u.endpoints) out << "                " << e << "\n";
  out << "  timeout     " << u.connect_timeout_ms << " ms per connect, then the next address\n";
}

/// What a gateway's cluster is, in words (mesh/names.h says how clusters are named).
std::string what_cluster_is(const std::string& cluster, const std::string& own_datacenter) {
  const auto c = mesh::parse_gateway_cluster(cluster);
  if (!c.datacenter.empty()) return c.datacenter + "'s healthy mesh gateways, at their WAN address";
  return c.service + "'s healthy sidecars" + (c.subset.empty() ? "" : " of subset " + c.subset) + " in " +
         own_datacenter + ", at their LAN address";
}

void explain_route(const gateway::route_config& route, const gateway::gateway_config& config,
                   const std::string& own_datacenter, std::ostream& out) {
  out << "  " << route.sni << "\n    -> " << what_cluster_is(route.cluster, own_datacenter) << ":\n";
  const auto* cluster = config.find_cluster(route.cluster);
  if (cluster == nullptr || cluster->endpoints.empty()) {
    out << "         (none: connections are refused and counted as no_endpoints)\n";
    return;
  }
  for (const auto& e : cluster->endpoints) out << "         " << net::to_string(e) << "\n";
}

/// A gateway: its listeners and routes, or with `sni` the route that name takes and why.
int explain_gateway(const proxycfg::proxy_snapshot& s, std::string sni, std::ostream& out) {
  const auto config = gateway::parse_gateway_config(json::serialize(*s.gateway));
  out << "proxy " << s.proxy_id << ": mesh gateway in " << s.datacenter << "\n";
  for (const auto& l : config.listeners) out << "  listens     " << l.name << " on " << net::to_string(l.endpoint) << "\n";
  if (sni.empty()) {
    out << "\nroutes (an exact name first, then the longest *.suffix):\n";
    for (const auto& r : config.routes) explain_route(r, config, s.datacenter, out);
    return exit_ok;
  }
  std::transform(sni.begin(), sni.end(), sni.begin(), [](unsigned char c) { return std::tolower(c); });
  gateway::sni_router router;
  for (std::size_t i = 0; i < config.routes.size(); ++i) router.add(config.routes[i].sni, i);
  const auto chosen = router.find(sni);
  if (!chosen) {
    out << "\n" << sni << ": no route — a connection asking for it is closed and counted as unknown_sni\n";
    return exit_failure;
  }
  const auto& route = config.routes[*chosen];
  out << "\n" << sni << " takes the " << (route.sni == sni ? "exact" : "wildcard") << " route\n";
  explain_route(route, config, s.datacenter, out);
  return exit_ok;
}

int run_explain(const explain_flags& f) {
  try {
    const auto server = f.http.client();
    if (f.proxy_id.empty() == f.sidecar_for.empty()) {
      std::cerr << "meshgate explain: name the proxy: -proxy-id ID or -sidecar-for SERVICE-ID\n";
      return exit_usage;
    }
    const auto id = f.proxy_id.empty() ? sidecar::find_sidecar_for(server, f.sidecar_for) : f.proxy_id;
    const auto r = server.request("GET", "/v1/meshgate/proxy/" + id);
    if (!r.ok()) {
      std::cerr << "meshgate explain: " << id << ": " << r.error_message() << "\n";
      return exit_failure;
    }
    const auto s = proxycfg::parse_proxy_snapshot(r.body, proxycfg::field_check::lenient);
    if (s.gateway) return explain_gateway(s, f.sni, std::cout);
    if (!s.sidecar) {
      std::cerr << "meshgate explain: " << id << " is a " << s.kind << ": nothing to explain\n";
      return exit_failure;
    }
    std::cout << "proxy " << s.proxy_id << ": sidecar of " << s.sidecar->destination_service << " in "
              << s.datacenter << ", identity " << s.sidecar->identity << "\n";
    bool found = false;
    for (const auto& u : s.sidecar->upstreams) {
      if (!f.upstream.empty() && u.name != f.upstream && u.destination_name != f.upstream) continue;
      found = true;
      std::cout << "\n";
      explain(u, s, std::cout);
    }
    if (!found) {
      std::cerr << "meshgate explain: " << id << " has "
                << (f.upstream.empty() ? "no upstreams" : "no upstream named \"" + f.upstream + "\"") << "\n";
      return exit_failure;
    }
    return exit_ok;
  } catch (const std::exception& e) {
    std::cerr << "meshgate explain: " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace

void add_explain_command(CLI::App& app, command_runner& run) {
  auto flags = std::make_shared<explain_flags>();
  auto* c = app.add_subcommand("explain",
                               "Show where a proxy's traffic goes and why: for a sidecar, each upstream's mode and "
                               "the layer that set it, SNI, expected identity, addresses dialled; for a mesh "
                               "gateway, its routes, or the route one server name takes");
  c->footer(
      "\nExamples:\n"
      "  meshgate explain -sidecar-for web\n"
      "  meshgate explain -proxy-id web-sidecar-proxy -upstream api\n"
      "  meshgate explain -proxy-id mesh-gateway -sni api.default.dc1.internal.<trust-domain>\n"
      "The answer is the server's resolution, the same the proxy runs on. Mode layers, highest\n"
      "first: the upstream's MeshGateway, the proxy registration's, the destination's\n"
      "service-defaults, the global proxy-defaults; within one datacenter gateways are never used.");
  c->add_option("--proxy-id", flags->proxy_id, "The proxy's service ID");
  c->add_option("--sidecar-for", flags->sidecar_for, "Or: the service ID it is the sidecar of");
  c->add_option("--upstream", flags->upstream, "Only this upstream (its name, e.g. api or api?dc=dc2)");
  c->add_option("--sni", flags->sni, "For a mesh gateway: the route this TLS server name takes");
  flags->http.add_to(c);
  c->callback([&run, flags] { run = [flags] { return run_explain(*flags); }; });
}

}  // namespace meshgate::cli
