#include "mesh/names.h"

namespace meshgate::mesh {

namespace {
std::string join(std::string_view host, int port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}
}  // namespace

std::string service_sni(std::string_view service, std::string_view ns, std::string_view dc,
                        std::string_view trust_domain) {
  return std::string(service) + "." + std::string(ns.empty() ? "default" : ns) + "." + std::string(dc) +
         ".internal." + std::string(trust_domain);
}

std::string subset_sni(std::string_view subset, std::string_view service, std::string_view ns, std::string_view dc,
                       std::string_view trust_domain) {
  return std::string(subset) + "." + service_sni(service, ns, dc, trust_domain);
}

std::string datacenter_sni(std::string_view dc, std::string_view trust_domain) {
  return std::string(dc) + ".internal." + std::string(trust_domain);
}

namespace {
constexpr std::string_view datacenter_prefix = "datacenter:";
}  // namespace

std::string subset_cluster(std::string_view subset, std::string_view service) {
  return std::string(subset) + "." + std::string(service);
}

std::string datacenter_cluster(std::string_view dc) { return std::string(datacenter_prefix) + std::string(dc); }

gateway_cluster parse_gateway_cluster(std::string_view name) {
  if (name.starts_with(datacenter_prefix)) return {"", "", std::string(name.substr(datacenter_prefix.size()))};
  if (const auto dot = name.find('.'); dot != std::string_view::npos) {
    return {std::string(name.substr(dot + 1)), std::string(name.substr(0, dot)), ""};
  }
  return {std::string(name), "", ""};
}

std::string lan_endpoint(const instance_addresses& a) {
  return join(a.service_address.empty() ? a.node_address : a.service_address, a.port);
}

std::string wan_endpoint(const instance_addresses& a) {
  if (!a.tagged_wan_address.empty()) return join(a.tagged_wan_address, a.tagged_wan_port != 0 ? a.tagged_wan_port : a.port);
  if (!a.service_address.empty()) return join(a.service_address, a.port);
  if (!a.node_wan_address.empty()) return join(a.node_wan_address, a.port);
  return join(a.node_address, a.port);
}

}  // namespace meshgate::mesh
