#include "gateway/gateway_snapshot.h"

namespace meshgate::gateway {

gateway_snapshot::gateway_snapshot(gateway_config config, gateway_stats& stats,
                                   std::uint64_t version)
    : config_(std::move(config)), version_(version) {
  std::map<std::string_view, const cluster*> by_name;
  for (const auto& c : config_.clusters) {
    clusters_.push_back(std::make_unique<cluster>(c));
    by_name[c.name] = clusters_.back().get();
  }
  routes_.reserve(config_.routes.size());
  for (const auto& r : config_.routes) {
    // gateway_config guarantees the cluster exists and the pattern is unique.
    router_.add(r.sni, routes_.size());
    routes_.push_back({r.sni, by_name.at(r.cluster), stats.route(r.sni)});
  }
}

std::map<std::string, std::string> gateway_snapshot::route_clusters() const {
  std::map<std::string, std::string> out;
  for (const auto& r : routes_) out[r.pattern] = r.target->config().name;
  return out;
}

}  // namespace meshgate::gateway
