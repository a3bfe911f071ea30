#pragma once
// The cap on open downstream connections of a proxy, shared by all its workers.

#include <atomic>
#include <cstddef>
#include <utility>

namespace meshgate::net {

class connection_limit {
 public:
  explicit connection_limit(std::size_t max) noexcept : max_(max) {}

  /// One more connection, if under the cap.
  bool try_acquire() noexcept {
    if (open_.fetch_add(1, std::memory_order_relaxed) < max_) return true;
    open_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void release() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }
  std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }
  std::size_t max() const noexcept { return max_; }

 private:
  const std::size_t max_;
  std::atomic<std::size_t> open_{0};
};

/// One acquired place under the cap; released when the connection's last owner lets go.
class connection_slot {
 public:
  connection_slot() = default;
  explicit connection_slot(connection_limit& limit) noexcept : limit_(&limit) {}
  connection_slot(connection_slot&& other) noexcept : limit_(std::exchange(other.limit_, nullptr)) {}
  connection_slot& operator=(connection_slot&& other) noexcept {
    if (this != &other) {
      reset();
      limit_ = std::exchange(other.limit_, nullptr);
    }
    return *this;
  }
  ~connection_slot() { reset(); }
  void reset() noexcept {
    if (limit_ != nullptr) std::exchange(limit_, nullptr)->release();
  }

 private:
  connection_limit* limit_ = nullptr;
};

}  // namespace meshgate::net
