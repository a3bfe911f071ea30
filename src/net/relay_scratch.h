#pragma once
// Per-thread memory that relays move bytes through.

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace meshgate::net {

/// One per worker thread. A relay reads into the shared chunk and writes it out at once, so
/// a connection holds no buffer of its own while it moves bytes or sits idle. Only when the
/// destination cannot take a whole chunk does the relay keep the rest in a spare, which it
/// returns as soon as that drains; spares are recycled so back-pressure costs no malloc.
class relay_scratch {
 public:
  explicit relay_scratch(std::size_t chunk_bytes, std::size_t max_spares = 64);

  std::span<std::byte> chunk() noexcept { return {chunk_.get(), chunk_bytes_}; }
  std::size_t chunk_bytes() const noexcept { return chunk_bytes_; }

  /// A buffer of chunk_bytes() for bytes that could not be written yet.
  std::unique_ptr<std::byte[]> take_spare();
  void give_back(std::unique_ptr<std::byte[]> spare) noexcept;
  /// Spares taken and not given back: connections waiting for a slow reader right now.
  std::size_t spares_in_use() const noexcept { return in_use_; }

 private:
  std::size_t chunk_bytes_;
  std::size_t max_spares_;
  std::unique_ptr<std::byte[]> chunk_;
  std::vector<std::unique_ptr<std::byte[]>> spares_;
  std::size_t in_use_ = 0;
};

}  // namespace meshgate::net
