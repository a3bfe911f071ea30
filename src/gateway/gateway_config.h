#pragma once
// The gateway's configuration snapshot: listeners, routes and clusters.
//
// A routes file is parsed into this today; the control plane will build the same structure
// from the catalog later. Validation happens once, here: everything downstream may assume a
// valid config.

#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/endpoint.h"

namespace meshgate::gateway {

struct listener_config {
  std::string name;
  net::tcp_endpoint endpoint;  // port 0: the system picks one
  bool operator==(const listener_config&) const = default;
};

struct cluster_config {
  std::string name;
  std::vector<net::tcp_endpoint> endpoints;  // may be empty: connections then fail, counted
  std::chrono::milliseconds connect_timeout{5000};
  /// Endpoints tried per connection before giving up (at most one try each).
  std::size_t max_connect_attempts = 3;
};

struct route_config {
  std::string sni;  // an exact server name or "*.suffix"; lower case
  std::string cluster;
};

struct gateway_config {
  std::vector<listener_config> listeners;
  std::vector<route_config> routes;
  std::vector<cluster_config> clusters;  // sorted by name

  const cluster_config* find_cluster(std::string_view name) const noexcept;
};

/// A configuration that cannot be used. what() names the field and the rule it broke, e.g.
/// `routes[1].cluster: "dc3" is not defined in "clusters"`.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::chrono::milliseconds max_connect_timeout{300'000};

/// Parses and validates a routes document. Throws config_error.
gateway_config parse_gateway_config(std::string_view json_text);

/// Reads and parses a routes file; errors are prefixed with the file's path.
gateway_config load_gateway_config(const std::filesystem::path& path);

/// The config as JSON, in the routes-file shape (for the admin endpoint).
boost::json::value to_json(const gateway_config& config);

/// True if `pattern` is a valid route key: a server name, or "*." followed by one.
bool is_valid_route_pattern(std::string_view pattern) noexcept;

}  // namespace meshgate::gateway
