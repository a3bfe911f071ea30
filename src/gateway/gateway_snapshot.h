#pragma once
// The immutable runtime form of a gateway_config.
//
// Built once per config load on the thread that loads it, then shared read-only by every
// worker; a reload publishes a new snapshot and connections keep the one they started with.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/gateway_config.h"
#include "gateway/gateway_stats.h"
#include "gateway/sni_router.h"

namespace meshgate::gateway {

/// A cluster and its round-robin cursor (the one mutable part, shared by all workers).
class cluster {
 public:
  explicit cluster(cluster_config config) : config_(std::move(config)) {}
  const cluster_config& config() const noexcept { return config_; }
  /// The endpoint to try first for a new connection: the next in turn.
  std::size_t first_endpoint() const noexcept {
    return config_.endpoints.empty()
               ? 0
               : next_.fetch_add(1, std::memory_order_relaxed) % config_.endpoints.size();
  }
  /// How many endpoints a connection may try.
  std::size_t attempts() const noexcept {
    return std::min(config_.max_connect_attempts, config_.endpoints.size());
  }

 private:
  cluster_config config_;
  mutable std::atomic<std::uint32_t> next_{0};
};

struct route {
  std::string pattern;
  const cluster* target;
  std::shared_ptr<route_stats> stats;
};

class gateway_snapshot {
 public:
  gateway_snapshot(gateway_config config, gateway_stats& stats, std::uint64_t version);

  /// The route for a lower-case server name, or null.
  const route* find_route(std::string_view server_name) const {
    const auto index = router_.find(server_name);
    return index ? &routes_[*index] : nullptr;
  }
  const gateway_config& config() const noexcept { return config_; }
  std::uint64_t version() const noexcept { return version_; }
  /// Route pattern -> cluster name, for the stats endpoint.
  std::map<std::string, std::string> route_clusters() const;

 private:
  gateway_config config_;
  std::uint64_t version_;
  std::vector<std::unique_ptr<cluster>> clusters_;
  std::vector<route> routes_;
  sni_router router_;
};

}  // namespace meshgate::gateway
