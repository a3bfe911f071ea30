#include "store/watch_registry.h"

#include <algorithm>
#include <unordered_set>

namespace meshgate::store {

struct watch_registry::handle::state {
  watch_registry* registry;
  std::vector<std::string> topics;
  wake_fn wake;
  bool done = false;  // woken or unregistered; guarded by the registry's mutex
};

watch_registry::handle::~handle() {
  if (state_) state_->registry->remove(state_);
}

void watch_registry::remove(const std::shared_ptr<handle::state>& s) {
  std::lock_guard lock(mutex_);
  if (s->done) return;
  s->done = true;
  --waiting_;
  for (const auto& topic : s->topics) {
    auto it = waiters_.find(topic);
    if (it == waiters_.end()) continue;
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), s), list.end());
    if (list.empty()) waiters_.erase(it);
  }
}

std::uint64_t watch_registry::topic_index_locked(std::string_view topic) const {
  const auto it = topic_index_.find(std::string(topic));
  return it == topic_index_.end() ? base_index_ : it->second;
}

std::uint64_t watch_registry::index_of(const std::vector<std::string>& topics) const {
  std::lock_guard lock(mutex_);
  std::uint64_t highest = 0;
  for (const auto& t : topics) highest = std::max(highest, topic_index_locked(t));
  return highest;
}

watch_registry::handle watch_registry::wait(const std::vector<std::string>& topics,
                                            std::uint64_t index, wake_fn wake) {
  std::lock_guard lock(mutex_);
  // Checked under the same lock that changed() takes: no change can slip between the
  // check and the registration.
  for (const auto& t : topics) {
    if (topic_index_locked(t) > index) return {};
  }
  handle h;
  h.state_ = std::make_shared<handle::state>(handle::state{this, topics, std::move(wake)});
  for (const auto& t : topics) waiters_[t].push_back(h.state_);
  ++waiting_;
  return h;
}

void watch_registry::changed(const std::vector<std::string>& topics, std::uint64_t index) {
  std::vector<wake_fn> to_wake;
  {
    std::lock_guard lock(mutex_);
    std::unordered_set<handle::state*> seen;
    for (const auto& t : topics) {
      auto& current = topic_index_[t];
      current = std::max(current, index);
      auto it = waiters_.find(t);
      if (it == waiters_.end()) continue;
      auto list = std::move(it->second);
      waiters_.erase(it);
      for (auto& s : list) {
        if (s->done || !seen.insert(s.get()).second) continue;
        s->done = true;
        --waiting_;
        to_wake.push_back(std::move(s->wake));
        // Drop it from its other topics too (a waiter usually has one or two).
        for (const auto& other : s->topics) {
          if (other == t) continue;
          auto o = waiters_.find(other);
          if (o == waiters_.end()) continue;
          auto& olist = o->second;
          olist.erase(std::remove(olist.begin(), olist.end(), s), olist.end());
          if (olist.empty()) waiters_.erase(o);
        }
      }
    }
  }
  for (auto& wake : to_wake) wake();
}

std::size_t watch_registry::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

}  // namespace meshgate::store
