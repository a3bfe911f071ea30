#pragma once
// Where a sidecar sends an upstream's connections (DESIGN.md §2.3), as a pure function of
// the catalog's answers: the SNI, the identity to expect, the mesh gateway mode with the
// layer that chose it, and the addresses to dial, healthy ones only.

#include <functional>
#include <string>
#include <vector>

#include "mesh/mesh_gateway_mode.h"
#include "mesh/names.h"

namespace meshgate::mesh {

struct upstream_request {
  std::string service;      // DestinationName
  std::string ns;           // "" = default
  std::string datacenter;   // "" = the proxy's own
  gateway_mode mode = gateway_mode::defer;  // the upstream's own MeshGateway.Mode
  std::string subset;       // "" = every instance; else a subset of the service's resolver
};

/// An instance the catalog knows, and whether all its checks pass.
struct candidate {
  instance_addresses addresses;
  bool healthy = true;
};

/// What the resolver asks the catalog (and, for other datacenters, federation).
struct catalog_view {
  std::string local_datacenter;
  std::string trust_domain;
  gateway_mode proxy_registration_mode = gateway_mode::defer;  // Proxy.MeshGateway.Mode
  gateway_mode proxy_defaults_mode = gateway_mode::defer;      // the global proxy-defaults
  std::function<gateway_mode(const std::string& service)> service_defaults_mode;
  /// The sidecars (and Connect-native instances) of `service` in `datacenter`, only those
  /// of `subset` when it is not "".
  std::function<std::vector<candidate>(const std::string& service, const std::string& subset,
                                       const std::string& datacenter)>
      sidecars;
  /// The mesh gateways of `datacenter`.
  std::function<std::vector<candidate>(const std::string& datacenter)> gateways;
};

struct resolved_upstream {
  std::string datacenter;  // the target's
  std::string sni;
  std::string identity;    // the SPIFFE ID the server must present
  resolved_mode mode;
  std::vector<std::string> endpoints;  // host:port, healthy only, in the catalog's order
};

resolved_upstream resolve_upstream(const upstream_request& u, const catalog_view& catalog);

}  // namespace meshgate::mesh
