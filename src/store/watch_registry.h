#pragma once
// Topics that changed, and who waits for them: the core of blocking queries.
//
// A topic names a slice of the state a read depends on ("service:web", "config"). Each
// commit raises the index of the topics it touched; a waiter on a topic is woken only when
// that topic passes the index the client already has, so a change wakes only the watchers
// of what changed.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meshgate::store {

class watch_registry {
 public:
  /// Topics never changed since start report `base_index` (the index loaded from disk):
  /// after a restart every blocking query returns once and re-reads, as Consul's do.
  explicit watch_registry(std::uint64_t base_index = 0) : base_index_(base_index) {}

  /// Called when one of the topics passes the index the waiter asked for. Runs on the
  /// committing thread: it must only hand the news over (post to an executor).
  using wake_fn = std::function<void()>;

  /// A registration; destroying it (or the wake) unregisters.
  class handle {
   public:
    handle() = default;
    handle(handle&&) noexcept = default;
    handle& operator=(handle&&) noexcept = default;
    ~handle();
    /// False when wait() found the topics already past the index (nothing to wait for).
    explicit operator bool() const noexcept { return state_ != nullptr; }

   private:
    friend class watch_registry;
    struct state;
    std::shared_ptr<state> state_;
  };

  /// The highest index at which any of `topics` changed.
  std::uint64_t index_of(const std::vector<std::string>& topics) const;

  /// Registers `wake` for `topics` unless one of them already passed `index`; in that case
  /// returns an empty handle and does not call `wake`.
  handle wait(const std::vector<std::string>& topics, std::uint64_t index, wake_fn wake);

  /// Records that `topics` changed at `index` and wakes their waiters.
  void changed(const std::vector<std::string>& topics, std::uint64_t index);

  std::size_t waiting() const;

 private:
  std::uint64_t topic_index_locked(std::string_view topic) const;
  void remove(const std::shared_ptr<handle::state>& s);

  mutable std::mutex mutex_;
  std::uint64_t base_index_;
  std::unordered_map<std::string, std::uint64_t> topic_index_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<handle::state>>> waiters_;
  std::size_t waiting_ = 0;
};

}  // namespace meshgate::store
