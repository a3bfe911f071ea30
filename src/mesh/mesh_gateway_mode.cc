#include "mesh/mesh_gateway_mode.h"

namespace meshgate::mesh {

std::optional<gateway_mode> parse_gateway_mode(std::string_view text) {
  if (text.empty()) return gateway_mode::defer;
  if (text == "none") return gateway_mode::none;
  if (text == "local") return gateway_mode::local;
  if (text == "remote") return gateway_mode::remote;
  return std::nullopt;
}

std::string_view to_string(gateway_mode mode) noexcept {
  switch (mode) {
    case gateway_mode::defer: return "";
    case gateway_mode::none: return "none";
    case gateway_mode::local: return "local";
    case gateway_mode::remote: return "remote";
  }
  return "";
}

std::string_view to_string(mode_layer layer) noexcept {
  switch (layer) {
    case mode_layer::upstream: return "upstream";
    case mode_layer::proxy_registration: return "proxy registration";
    case mode_layer::service_defaults: return "service-defaults";
    case mode_layer::proxy_defaults: return "proxy-defaults";
    case mode_layer::built_in_default: return "default";
    case mode_layer::same_datacenter: return "same datacenter";
  }
  return "";
}

resolved_mode resolve_gateway_mode(const mode_layers& layers, std::string_view proxy_datacenter,
                                   std::string_view target_datacenter) noexcept {
  if (target_datacenter.empty() || target_datacenter == proxy_datacenter) {
    return {gateway_mode::none, mode_layer::same_datacenter};
  }
  const std::pair<gateway_mode, mode_layer> order[] = {
      {layers.upstream, mode_layer::upstream},
      {layers.proxy_registration, mode_layer::proxy_registration},
      {layers.service_defaults, mode_layer::service_defaults},
      {layers.proxy_defaults, mode_layer::proxy_defaults},
  };
  for (const auto& [mode, layer] : order) {
    if (mode != gateway_mode::defer) return {mode, layer};
  }
  return {gateway_mode::none, mode_layer::built_in_default};
}

}  // namespace meshgate::mesh
