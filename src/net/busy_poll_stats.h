#pragma once
// What a loop's busy polling did (net/event_loop.h), counted per worker and reported by
// both proxies' admin endpoints in the same words.

#include <cstdint>
#include <string_view>

#include "stats/counter.h"
#include "stats/prometheus_writer.h"

namespace meshgate::net {

/// One loop's counts. Written by the loop's thread only.
struct busy_poll_counters {
  /// Windows in which an event came before the window ended: a sleep and a wake-up saved.
  stats::counter found_work;
  /// Windows that ran out: the loop went to sleep after polling for the whole window.
  stats::counter slept;
};

/// The sum over workers, read by the admin thread.
struct busy_poll_totals {
  std::uint64_t found_work = 0;
  std::uint64_t slept = 0;
  void add(const busy_poll_counters& c) noexcept {
    found_work += c.found_work.value();
    slept += c.slept.value();
  }
};

/// The family `name` (e.g. meshgate_gateway_busy_polls_total), one sample per outcome.
void write_busy_polls(stats::prometheus_writer& w, std::string_view name, const busy_poll_totals& totals);

}  // namespace meshgate::net
