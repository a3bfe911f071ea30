#pragma once
// Single-writer counters: each worker thread owns its own, the admin thread sums them.

#include <atomic>
#include <cstdint>

namespace meshgate::stats {

/// A count that only goes up. Written by one thread only; read by any.
class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A level that goes up and down (open connections). Written by one thread only.
class gauge {
 public:
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  void add(std::int64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

}  // namespace meshgate::stats
