#include "server/leaf_cache.h"

#include "x509/renewal.h"

namespace meshgate::server {

leaf_cache::leaf_cache(ca::ca_manager& ca, store::record_store& store, random_fn random, ca::ca_manager::clock_fn clock)
    : ca_(ca), store_(store), random_(std::move(random)), clock_(std::move(clock)) {}

leaf_cache::entry leaf_cache::get(const std::string& service) {
  const auto active_root = ca_.active_root_id();
  std::uint64_t index = 0;
  entry fresh;
  {
    std::lock_guard lock(mutex_);
    if (auto it = leaves_.find(service); it != leaves_.end() &&
                                         !x509::should_renew(clock_(), it->second.renew_at, it->second.cert.root_id == active_root)) {
      return it->second;
    }
    fresh.cert = ca_.make_leaf(service);
    fresh.renew_at = x509::renewal_time(fresh.cert.valid_after, fresh.cert.valid_before, random_());
    // Above every index handed out before, for this service or any.
    index = std::max(store_.index(), last_index_) + 1;
    last_index_ = index;
    fresh.index = index;
    leaves_[service] = fresh;
  }
  store_.watches().changed({topic(service)}, index);
  return fresh;
}

}  // namespace meshgate::server
