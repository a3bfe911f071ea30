#pragma once
// The runtime form of a proxy snapshot: addresses parsed, counters attached, round-robin
// cursors. Immutable once built (except the cursors) and shared by every worker; a new
// configuration builds a new one, and connections keep the one they started with.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "proxycfg/proxy_snapshot.h"
#include "sidecar/sidecar_stats.h"

namespace meshgate::sidecar {

/// Listener names: "inbound" and "upstream:<upstream name>".
inline constexpr std::string_view inbound_listener_name = "inbound";
std::string upstream_listener_name(const std::string& upstream);

struct inbound_runtime {
  net::tcp_endpoint bind;
  net::tcp_endpoint local_service;
  std::shared_ptr<target_stats> stats;
};

class upstream_runtime {
 public:
  upstream_runtime(proxycfg::upstream_config from, std::vector<net::tcp_endpoint> dial,
                   net::tcp_endpoint bind_at, std::shared_ptr<target_stats> counters)
      : config(std::move(from)), endpoints(std::move(dial)), bind(bind_at), stats(std::move(counters)) {}
  const proxycfg::upstream_config config;
  const std::vector<net::tcp_endpoint> endpoints;  // the parsable ones, in order
  const net::tcp_endpoint bind;
  const std::shared_ptr<target_stats> stats;
  std::chrono::milliseconds connect_timeout() const noexcept {
    return std::chrono::milliseconds(config.connect_timeout_ms);
  }
  /// Where a new connection starts trying (round robin over every worker's connections).
  std::size_t first_endpoint() const noexcept {
    return endpoints.empty() ? 0 : cursor_.fetch_add(1, std::memory_order_relaxed) % endpoints.size();
  }
  /// Endpoints tried per connection before giving up: each once, at most three.
  std::size_t attempts() const noexcept { return std::min<std::size_t>(endpoints.size(), 3); }

 private:
  mutable std::atomic<std::size_t> cursor_{0};
};

class sidecar_snapshot {
 public:
  /// Throws catalog::invalid_input for addresses that cannot be listened on. Endpoints that
  /// are not IP:PORT are left out and listed in skipped() (one bad registration must not
  /// take the others away).
  sidecar_snapshot(proxycfg::proxy_snapshot config, sidecar_stats& stats);
  sidecar_snapshot(const sidecar_snapshot&) = delete;
  sidecar_snapshot& operator=(const sidecar_snapshot&) = delete;

  const proxycfg::proxy_snapshot& config() const noexcept { return config_; }
  const std::optional<inbound_runtime>& inbound() const noexcept { return inbound_; }
  const upstream_runtime* find_upstream(std::string_view listener_name) const noexcept;
  const std::map<std::string, std::unique_ptr<upstream_runtime>, std::less<>>& upstreams() const noexcept {
    return upstreams_;
  }
  /// Every listener this configuration asks for, by name.
  std::map<std::string, net::tcp_endpoint> listeners() const;
  const std::vector<std::string>& skipped() const noexcept { return skipped_; }

 private:
  proxycfg::proxy_snapshot config_;
  std::optional<inbound_runtime> inbound_;
  std::map<std::string, std::unique_ptr<upstream_runtime>, std::less<>> upstreams_;  // by listener name
  std::vector<std::string> skipped_;
};

}  // namespace meshgate::sidecar
