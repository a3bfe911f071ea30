#pragma once
// The names of things in the mesh (DESIGN.md §1): TLS server names (SNI) a gateway routes
// by, and the addresses proxies dial.

#include <string>
#include <string_view>

namespace meshgate::mesh {

/// <service>.<namespace>.<dc>.internal.<trust-domain>
std::string service_sni(std::string_view service, std::string_view ns, std::string_view dc,
                        std::string_view trust_domain);
/// <subset>.<service>.<namespace>.<dc>.internal.<trust-domain>
std::string subset_sni(std::string_view subset, std::string_view service, std::string_view ns, std::string_view dc,
                       std::string_view trust_domain);
/// <dc>.internal.<trust-domain>; a gateway routes *.<that> to the datacenter's gateways.
std::string datacenter_sni(std::string_view dc, std::string_view trust_domain);

/// The clusters of a server-fed gateway, named so that they cannot collide and can be read
/// back (by `meshgate explain`): a service's sidecars "<service>", one subset's
/// "<subset>.<service>" (service names have no dots), another datacenter's gateways
/// "datacenter:<dc>".
std::string subset_cluster(std::string_view subset, std::string_view service);
std::string datacenter_cluster(std::string_view dc);
struct gateway_cluster {
  std::string service;     // "" for a datacenter's gateways
  std::string subset;      // "" unless a subset's
  std::string datacenter;  // "" unless another datacenter's gateways
};
gateway_cluster parse_gateway_cluster(std::string_view name);

/// Where an instance listens, as the catalog has it.
struct instance_addresses {
  std::string service_address;  // the service's Address ("" if none)
  int port = 0;
  std::string tagged_wan_address;  // TaggedAddresses.wan ("" if none)
  int tagged_wan_port = 0;
  std::string node_address;
  std::string node_wan_address;  // the node's "wan" tagged address ("" if none)
};

/// DESIGN.md §2.3: LAN = the service's Address, else the node's address.
std::string lan_endpoint(const instance_addresses& a);
/// WAN = the service's tagged "wan" (its port if non-zero), else the service's Address,
/// else the node's "wan", else the node's address.
std::string wan_endpoint(const instance_addresses& a);

}  // namespace meshgate::mesh
