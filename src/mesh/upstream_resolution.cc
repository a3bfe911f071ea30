#include "mesh/upstream_resolution.h"

namespace meshgate::mesh {

resolved_upstream resolve_upstream(const upstream_request& u, const catalog_view& c) {
  resolved_upstream out;
  out.datacenter = u.datacenter.empty() ? c.local_datacenter : u.datacenter;
  const std::string ns = u.ns.empty() ? "default" : u.ns;
  out.sni = u.subset.empty() ? service_sni(u.service, ns, out.datacenter, c.trust_domain)
                             : subset_sni(u.subset, u.service, ns, out.datacenter, c.trust_domain);
  out.identity = "spiffe://" + c.trust_domain + "/ns/" + ns + "/dc/" + out.datacenter + "/svc/" + u.service;
  mode_layers layers;
  layers.upstream = u.mode;
  layers.proxy_registration = c.proxy_registration_mode;
  layers.service_defaults = c.service_defaults_mode ? c.service_defaults_mode(u.service) : gateway_mode::defer;
  layers.proxy_defaults = c.proxy_defaults_mode;
  out.mode = resolve_gateway_mode(layers, c.local_datacenter, out.datacenter);

  auto healthy = [](std::vector<candidate> all, bool wan) {
    std::vector<std::string> endpoints;
    for (const auto& x : all) {
      if (x.healthy) endpoints.push_back(wan ? wan_endpoint(x.addresses) : lan_endpoint(x.addresses));
    }
    return endpoints;
  };
  if (out.mode.decided_by == mode_layer::same_datacenter) {
    out.endpoints = healthy(c.sidecars(u.service, u.subset, out.datacenter), false);  // sidecars at their LAN address
    return out;
  }
  switch (out.mode.mode) {
    case gateway_mode::local:  // a gateway of our own datacenter, at its LAN address
      out.endpoints = healthy(c.gateways(c.local_datacenter), false);
      break;
    case gateway_mode::remote:  // a gateway of the target's datacenter, at its WAN address
      out.endpoints = healthy(c.gateways(out.datacenter), true);
      break;
    case gateway_mode::none:
    case gateway_mode::defer:  // the remote sidecars themselves, at their WAN address
      out.endpoints = healthy(c.sidecars(u.service, u.subset, out.datacenter), true);
      break;
  }
  return out;
}

}  // namespace meshgate::mesh
