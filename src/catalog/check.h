#pragma once
// Health checks as registrations declare them (Consul's CheckType) and as they are stored
// and reported (Consul's HealthCheck).

#include <boost/json/value.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/json_reader.h"

namespace meshgate::catalog {

enum class check_status { passing, warning, critical };
std::string_view to_string(check_status s) noexcept;
std::optional<check_status> parse_check_status(std::string_view text);

enum class check_type { ttl, tcp, http };
std::string_view to_string(check_type t) noexcept;

/// Checks are run every `interval` at least this far apart (as Consul's minimum).
inline constexpr std::chrono::milliseconds min_check_interval{1000};
inline constexpr std::chrono::milliseconds default_check_timeout{10'000};

struct check_definition {
  std::string id;
  std::string name;
  std::string notes;
  check_status initial_status = check_status::critical;
  check_type type = check_type::ttl;
  std::chrono::milliseconds ttl{0};
  std::string tcp;  // host:port
  std::string http; // URL
  std::string method = "GET";
  std::map<std::string, std::vector<std::string>> header;
  std::string body;
  bool tls_skip_verify = false;
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds timeout = default_check_timeout;
  std::chrono::milliseconds deregister_critical_service_after{0};  // 0: never
  int success_before_passing = 0;
  int failures_before_critical = 0;
};

/// Decodes one check of a registration (`Check` or an element of `Checks`), validating it.
check_definition decode_check(json_reader& in);

/// A stored check: its definition, its service, and its current state.
struct health_check {
  check_definition definition;
  std::string node;
  std::string service_id;
  std::string service_name;
  std::vector<std::string> service_tags;
  check_status status = check_status::critical;
  std::string output;
};

/// Consul's HealthCheck JSON (without the indexes, which come from the store).
boost::json::object to_json(const health_check& check);
health_check health_check_from_json(const boost::json::value& stored);

}  // namespace meshgate::catalog
