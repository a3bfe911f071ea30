#pragma once
// The leaves the agent endpoint hands out (GET /v1/agent/connect/ca/leaf/:service): one per
// service, replaced when it is due for renewal (a random point between 60 % and 90 % of its
// life) or when the active root changed. Each replacement gets a higher index and wakes the
// blocking queries waiting on that service's leaf.

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "ca/ca_manager.h"
#include "store/record_store.h"

namespace meshgate::server {

class leaf_cache {
 public:
  struct entry {
    ca::issued_cert cert;
    std::uint64_t index = 0;
    ca::system_time renew_at;
  };
  using random_fn = std::function<double()>;  // in [0, 1): where in the renewal window

  leaf_cache(ca::ca_manager& ca, store::record_store& store, random_fn random, ca::ca_manager::clock_fn clock);

  /// The current leaf of `service`, made or replaced as needed. Throws ca_not_ready.
  entry get(const std::string& service);
  static std::string topic(const std::string& service) { return "ca:leaf:" + service; }

 private:
  ca::ca_manager& ca_;
  store::record_store& store_;
  random_fn random_;
  ca::ca_manager::clock_fn clock_;
  std::mutex mutex_;
  std::map<std::string, entry> leaves_;
  std::uint64_t last_index_ = 0;
};

}  // namespace meshgate::server
