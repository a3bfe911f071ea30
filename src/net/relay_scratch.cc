#include "net/relay_scratch.h"

namespace meshgate::net {

relay_scratch::relay_scratch(std::size_t chunk_bytes, std::size_t max_spares)
    : chunk_bytes_(chunk_bytes),
      max_spares_(max_spares),
      chunk_(std::make_unique_for_overwrite<std::byte[]>(chunk_bytes)) {
  spares_.reserve(max_spares_);
}

std::unique_ptr<std::byte[]> relay_scratch::take_spare() {
  ++in_use_;
  if (spares_.empty()) return std::make_unique_for_overwrite<std::byte[]>(chunk_bytes_);
  auto spare = std::move(spares_.back());
  spares_.pop_back();
  return spare;
}

void relay_scratch::give_back(std::unique_ptr<std::byte[]> spare) noexcept {
  --in_use_;
  if (spares_.size() < max_spares_) spares_.push_back(std::move(spare));  // else freed here
}

}  // namespace meshgate::net
