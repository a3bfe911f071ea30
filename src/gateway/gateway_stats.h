#pragma once
// Every counter the gateway keeps: per worker, per route, per close reason.
//
// All counters are declared here, in one place. Each worker writes only its own slot (no
// locked instructions, no shared cache lines on the data path); the admin thread sums the
// slots when asked.

#include <array>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/relay.h"
#include "stats/counter.h"
#include "tls/client_hello_parser.h"

namespace meshgate::gateway {

/// Why a downstream connection ended. Every accepted connection ends with exactly one.
enum class close_reason : std::uint8_t {
  // Refused before a route was chosen.
  connection_limit,  // over -max-connections: closed at accept
  hello_timeout,     // no complete ClientHello within -hello-timeout of accept
  client_closed,     // closed or reset by the client before its ClientHello was whole
  not_tls,
  bad_record,
  not_client_hello,
  hello_too_large,
  malformed_hello,
  no_sni,
  bad_sni,
  unknown_sni,  // no route for the server name
  // After a route was chosen.
  upstream_unavailable,  // every connect attempt failed, or the cluster has no endpoints
  finished,              // both sides closed normally
  idle_timeout,
  reset,    // either side failed or reset; the other was reset too
  drained,  // still open when a drain ran out of time
};
inline constexpr std::size_t close_reason_count = static_cast<std::size_t>(close_reason::drained) + 1;

std::string_view to_string(close_reason reason) noexcept;
close_reason close_reason_for(tls::hello_error error) noexcept;
close_reason close_reason_for(net::relay_end end) noexcept;

/// Counters of one worker that are not tied to a route.
struct alignas(64) worker_counters {
  stats::counter accepted;
  stats::gauge active;
  stats::counter accept_errors;
  std::array<stats::counter, close_reason_count> closed;
  net::busy_poll_counters busy_poll;
  /// A connection accepted by this worker ended; each ends exactly once.
  void count_close(close_reason reason) noexcept {
    closed[static_cast<std::size_t>(reason)].inc();
    active.dec();
  }
};

/// Counters of one route in one worker.
struct alignas(64) route_counters {
  stats::counter connections;
  stats::gauge active;
  stats::counter bytes_to_upstream;
  stats::counter bytes_to_downstream;
  stats::counter upstream_connect_failures;  // attempts that failed (the next endpoint is tried)
  std::array<stats::counter, close_reason_count> closed;
};

/// The counters of one route pattern, one slot per worker. They outlive reloads: a route
/// that keeps its pattern keeps counting where it was.
class route_stats {
 public:
  route_stats(std::string pattern, std::size_t workers) : pattern_(std::move(pattern)), slots_(workers) {}
  const std::string& pattern() const noexcept { return pattern_; }
  route_counters& slot(std::size_t worker) noexcept { return slots_[worker]; }
  /// The sum over workers (a copy; `active` and the counters are read relaxed).
  struct totals {
    std::uint64_t connections = 0, bytes_to_upstream = 0, bytes_to_downstream = 0,
                  upstream_connect_failures = 0;
    std::int64_t active = 0;
    std::array<std::uint64_t, close_reason_count> closed{};
  };
  totals sum() const noexcept;

 private:
  std::string pattern_;
  std::vector<route_counters> slots_;
};

/// All of the gateway's counters.
class gateway_stats {
 public:
  explicit gateway_stats(std::size_t workers) : workers_(workers) {}

  std::size_t worker_count() const noexcept { return workers_.size(); }
  worker_counters& worker(std::size_t index) noexcept { return workers_[index]; }

  /// The counters for a route pattern, made on first use. Called when a snapshot is built.
  std::shared_ptr<route_stats> route(const std::string& pattern);

  // Written by the thread that loads configuration only.
  stats::counter reloads_ok;
  stats::counter reloads_failed;
  stats::counter config_version;  // 1 for the config loaded at start, +1 per reload

  std::uint64_t accepted() const noexcept;
  std::int64_t active() const noexcept;
  std::array<std::uint64_t, close_reason_count> closed() const noexcept;
  net::busy_poll_totals busy_polls() const noexcept;

  /// Prometheus text exposition of every counter.
  std::string prometheus() const;
  /// JSON of every counter; `clusters` maps route patterns to their current cluster.
  boost::json::value to_json(const std::map<std::string, std::string>& clusters) const;

 private:
  std::vector<std::shared_ptr<route_stats>> routes_sorted() const;

  std::vector<worker_counters> workers_;
  mutable std::mutex routes_mutex_;  // guards the map, not the counters
  std::map<std::string, std::shared_ptr<route_stats>> routes_;
};

}  // namespace meshgate::gateway
