#pragma once
// Config entries: proxy-defaults, service-defaults, service-resolver, service-intentions.
//
// Stored as normalized JSON in Consul's shape: the decoder re-emits every field it read,
// in Consul's spelling, so what is stored (and returned) is canonical whatever spelling the
// request used.

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "catalog/json_reader.h"
#include "mesh/mesh_gateway_mode.h"

namespace meshgate::catalog {

inline constexpr std::string_view proxy_defaults_kind = "proxy-defaults";
inline constexpr std::string_view service_defaults_kind = "service-defaults";
inline constexpr std::string_view service_resolver_kind = "service-resolver";
inline constexpr std::string_view service_intentions_kind = "service-intentions";

bool is_known_config_kind(std::string_view kind) noexcept;

struct config_entry {
  std::string kind;
  std::string name;
  boost::json::object body;  // normalized, with Kind and Name, without the indexes
};

/// Decodes and validates a `PUT /v1/config` body. Throws invalid_input naming the field.
config_entry decode_config_entry(const boost::json::value& body);

/// The key an entry is stored under: "<kind>/<name>".
std::string config_key(std::string_view kind, std::string_view name);

/// MeshGateway.Mode of a proxy-defaults or service-defaults entry (defer if unset).
mesh::gateway_mode mesh_gateway_mode_of(const boost::json::object& entry);

}  // namespace meshgate::catalog
