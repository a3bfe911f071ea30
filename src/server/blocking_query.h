#pragma once
// Blocking queries (Consul's ?index=N&wait=D): hold a read until what it reads changes
// past N, or the wait ends.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/api.h"
#include "store/watch_registry.h"

namespace meshgate::server {

inline constexpr std::chrono::milliseconds default_wait{5 * 60 * 1000};
inline constexpr std::chrono::milliseconds max_wait{10 * 60 * 1000};

struct query_options {
  std::optional<std::uint64_t> index;  // ?index: block until past it
  std::chrono::milliseconds wait = default_wait;
};

/// Reads ?index and ?wait. Throws catalog::invalid_input for malformed values.
query_options parse_query_options(const api_request& request);

/// Returns once one of `topics` has changed past `options.index` (at once without an
/// index, or if the index is ahead of the server's, as after a restart), or when the wait
/// plus up to 1/16 of it in jitter has passed. The result is the index of `topics`, at
/// least 1 (Consul never returns 0: clients would spin).
boost::asio::awaitable<std::uint64_t> block_until_changed(store::watch_registry& watches,
                                                          const std::vector<std::string>& topics,
                                                          const query_options& options);

/// Sets X-Consul-Index (and the Consul headers clients look for) on `response`.
void set_index_headers(api_response& response, std::uint64_t index);

}  // namespace meshgate::server
