#pragma once
// Mesh gateway mode: how a sidecar reaches an upstream in another datacenter, and which
// of the four layers of configuration decided it (DESIGN.md §2.3).

#include <optional>
#include <string>
#include <string_view>

namespace meshgate::mesh {

/// `MeshGateway.Mode` as written: "" defers to the next layer down.
enum class gateway_mode { defer, none, local, remote };

/// Parses "", "none", "local", "remote" (what Consul accepts); nullopt for anything else.
std::optional<gateway_mode> parse_gateway_mode(std::string_view text);
std::string_view to_string(gateway_mode mode) noexcept;

/// Where a mode comes from, highest precedence first.
enum class mode_layer {
  upstream,           // the upstream's own MeshGateway
  proxy_registration, // the sidecar registration's Proxy.MeshGateway
  service_defaults,   // the destination's service-defaults config entry
  proxy_defaults,     // the global proxy-defaults config entry
  built_in_default,   // nothing set anywhere: none
  same_datacenter,    // the upstream is in the proxy's own datacenter: gateways never apply
};
std::string_view to_string(mode_layer layer) noexcept;

/// The four layers for one upstream of one sidecar.
struct mode_layers {
  gateway_mode upstream = gateway_mode::defer;
  gateway_mode proxy_registration = gateway_mode::defer;
  gateway_mode service_defaults = gateway_mode::defer;
  gateway_mode proxy_defaults = gateway_mode::defer;
};

struct resolved_mode {
  gateway_mode mode;  // never defer
  mode_layer decided_by;
  bool operator==(const resolved_mode&) const = default;
};

/// The mode for an upstream: the highest layer that does not defer, or none. Traffic that
/// stays in the proxy's datacenter never goes through a gateway: then the mode is none,
/// decided by `same_datacenter`, whatever the layers say.
resolved_mode resolve_gateway_mode(const mode_layers& layers, std::string_view proxy_datacenter,
                                   std::string_view target_datacenter) noexcept;

}  // namespace meshgate::mesh
