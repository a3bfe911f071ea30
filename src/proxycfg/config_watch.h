#pragma once
// The fetch-and-watch loop both proxies run against the server: GET
// /v1/meshgate/proxy/<id> as a blocking query, forever, handing every new snapshot to the
// proxy and saying after every attempt whether the server answered. While the server is
// away it retries with backoff (jittered, so a fleet does not return all at once) and the
// proxy keeps what it has.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "api/api_client.h"
#include "proxycfg/proxy_snapshot.h"

namespace meshgate::proxycfg {

struct watch_options {
  std::string proxy_id;
  /// How long one blocking query may wait for a change.
  std::chrono::milliseconds wait{std::chrono::minutes(5)};
  /// Retries after a failure start at the first and double up to the second.
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
};

struct watch_handlers {
  /// A snapshot that differs from the last one delivered. May throw catalog::invalid_input
  /// to refuse it (not the kind of proxy expected): that counts as a failed fetch.
  std::function<void(const proxy_snapshot& snapshot, std::uint64_t index)> on_snapshot;
  /// After every attempt: whether the server answered, what went wrong ("" when nothing
  /// did), and the index the next blocking query starts from.
  std::function<void(bool reachable, const std::string& error, std::uint64_t index)> on_status;
};

/// Runs until its executor stops (or the coroutine is cancelled).
boost::asio::awaitable<void> watch_proxy_config(const api::api_client& server, watch_options options,
                                                watch_handlers handlers);

}  // namespace meshgate::proxycfg
