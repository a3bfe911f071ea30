// `meshgate explain`: why a proxy's traffic goes where it goes — for each upstream, the
// mode and the configuration layer that chose it, the SNI, the identity the far end must
// prove, and the addresses that will be dialled — exactly as the server resolved them for
// the proxy (the same snapshot the proxy runs on, not a second opinion).

#include <iostream>

#include "cli/commands.h"
#include "cli/http_flags.h"
#include "proxycfg/proxy_snapshot.h"
#include "sidecar/control_client.h"

namespace meshgate::cli {

namespace {

struct explain_flags {
  http_flags http;
  std::string proxy_id;
  std::string sidecar_for;
  std::string upstream;
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
    if (!s.sidecar) {
      std::cerr << "meshgate explain: " << id << " is a " << s.kind << ", not a sidecar; its routes are on "
                << "its admin endpoint's /config\n";
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
                               "Show where a sidecar's upstream traffic goes and why: mode and the layer that set "
                               "it, SNI, expected identity, addresses dialled");
  c->footer(
      "\nExamples:\n"
      "  meshgate explain -sidecar-for web\n"
      "  meshgate explain -proxy-id web-sidecar-proxy -upstream api\n"
      "The answer is the server's resolution, the same the proxy runs on. Mode layers, highest\n"
      "first: the upstream's MeshGateway, the proxy registration's, the destination's\n"
      "service-defaults, the global proxy-defaults; within one datacenter gateways are never used.");
  c->add_option("--proxy-id", flags->proxy_id, "The proxy's service ID");
  c->add_option("--sidecar-for", flags->sidecar_for, "Or: the service ID it is the sidecar of");
  c->add_option("--upstream", flags->upstream, "Only this upstream (its name, e.g. api or api?dc=dc2)");
  flags->http.add_to(c);
  c->callback([&run, flags] { run = [flags] { return run_explain(*flags); }; });
}

}  // namespace meshgate::cli
