#pragma once
// Everything one proxy needs, resolved by the server (DESIGN.md §2.1 "Proxy
// configuration"): the wire shape of `GET /v1/meshgate/proxy/:id`, shared by the server
// that builds it and the sidecar and gateway that consume it.
//
// One shape for both kinds of proxy, so that both share the fetch-and-watch code: the
// common part (identity, trust domain, roots), then `sidecar` or `gateway`. A gateway's
// section is its configuration snapshot in the routes-file shape (docs/gateway.md); it is
// kept as JSON here and validated by the gateway's own parser.
//
// Field names are meshgate's own (snake_case, as in the routes file): this endpoint is
// not one of Consul's.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshgate::proxycfg {

/// The TLS listener that receives the mesh's connections for the local service.
struct inbound_config {
  std::string address;  // what it binds
  int port = 0;
  std::string local_service_address;  // where the decrypted bytes go
  int local_service_port = 0;
  bool operator==(const inbound_config&) const = default;
};

/// One upstream, resolved: where the application connects, and where its connections go.
struct upstream_config {
  std::string name;  // for logs and counters: "<destination>" or "<destination>.<dc>"
  std::string destination_name;
  std::string destination_namespace = "default";
  std::string datacenter;  // the target's, never empty
  std::string local_bind_address = "127.0.0.1";
  int local_bind_port = 0;
  std::string sni;       // the server name the connection asks for
  std::string subset;    // the destination's service-resolver subset ("" = all instances)
  std::string identity;  // the SPIFFE ID the server must present, exactly
  std::string mode;         // none, local or remote: the mesh gateway mode in effect
  std::string mode_source;  // the layer that decided it (mesh::to_string(mode_layer))
  std::vector<std::string> endpoints;  // host:port, healthy only, in the order to try
  int connect_timeout_ms = 5000;
  bool operator==(const upstream_config&) const = default;
};

struct sidecar_config {
  std::string destination_service;  // the service this sidecar speaks for
  std::string identity;             // its SPIFFE ID (the URI SAN of its leaf)
  inbound_config inbound;
  std::vector<upstream_config> upstreams;
  bool operator==(const sidecar_config&) const = default;
};

struct proxy_snapshot {
  std::string proxy_id;
  std::string kind;     // "connect-proxy" or "mesh-gateway"
  std::string service;  // the proxy's own service name
  std::string datacenter;
  std::string trust_domain;
  std::string active_root_id;
  std::vector<std::string> roots;  // PEM, every root to trust (the active one and older ones)
  std::optional<sidecar_config> sidecar;
  std::optional<boost::json::value> gateway;  // {"listeners", "routes", "clusters"}
  bool operator==(const proxy_snapshot&) const = default;
};

boost::json::object to_json(const proxy_snapshot& s);

/// Unknown fields: refused in a file a person wrote (a typo is an error), ignored from the
/// server (a newer server may know fields an older proxy does not).
enum class field_check { strict, lenient };

/// Parses a snapshot. Throws catalog::invalid_input naming the field: whatever comes over
/// the network is checked before a proxy acts on it (ports in range, names present).
proxy_snapshot parse_proxy_snapshot(const boost::json::value& v, field_check check);
proxy_snapshot parse_proxy_snapshot(std::string_view json_text, field_check check);

}  // namespace meshgate::proxycfg
