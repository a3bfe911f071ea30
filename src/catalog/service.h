#pragma once
// Service registrations: typical services, connect-proxy sidecars and mesh gateways, in
// Consul's shapes, validated as Consul validates them (its NodeService.Validate).

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/check.h"
#include "catalog/json_reader.h"
#include "mesh/mesh_gateway_mode.h"

namespace meshgate::catalog {

enum class service_kind { typical, connect_proxy, mesh_gateway };
std::string_view to_string(service_kind k) noexcept;  // "", "connect-proxy", "mesh-gateway"

struct tagged_address {
  std::string address;
  int port = 0;
  bool operator==(const tagged_address&) const = default;
};

struct upstream {
  std::string destination_type = "service";  // or "prepared_query"
  std::string destination_namespace;
  std::string destination_name;
  std::string datacenter;  // "": the proxy's own
  std::string local_bind_address;  // "": 127.0.0.1
  int local_bind_port = 0;
  boost::json::object config;  // opaque, kept and returned
  mesh::gateway_mode mesh_gateway = mesh::gateway_mode::defer;
};

struct proxy_config {
  std::string destination_service_name;
  std::string destination_service_id;
  std::string local_service_address;
  int local_service_port = 0;
  boost::json::object config;  // opaque; gateway options (envoy_gateway_*) live here
  std::vector<upstream> upstreams;
  mesh::gateway_mode mesh_gateway = mesh::gateway_mode::defer;
};

struct service {
  service_kind kind = service_kind::typical;
  std::string id;
  std::string name;
  std::vector<std::string> tags;
  std::string address;
  int port = 0;
  std::map<std::string, std::string> meta;
  std::map<std::string, tagged_address> tagged_addresses;  // "lan", "wan", ...
  int weight_passing = 1;
  int weight_warning = 1;
  bool enable_tag_override = false;
  bool connect_native = false;
  proxy_config proxy;  // connect-proxy and mesh-gateway only
};

struct registration {
  service svc;
  std::vector<check_definition> checks;  // ids and names filled in
};

/// Decodes and validates a `PUT /v1/agent/service/register` body. Throws invalid_input
/// naming the field and the rule.
registration decode_registration(const boost::json::value& body);

/// Consul's AgentService JSON (what /v1/agent/services returns, and what is stored).
boost::json::object to_json(const service& s, const std::string& datacenter);
service service_from_json(const boost::json::value& stored);

/// Names become part of TLS server names and SPIFFE IDs: letters, digits and '-', 1..63.
bool is_valid_service_name(std::string_view name) noexcept;

}  // namespace meshgate::catalog
