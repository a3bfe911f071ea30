#include "net/busy_poll_stats.h"

namespace meshgate::net {

void write_busy_polls(stats::prometheus_writer& w, std::string_view name, const busy_poll_totals& totals) {
  w.family(name, "counter",
           "Busy-poll windows (-busy-poll-us), by outcome: found_work saved a sleep and a wake-up; "
           "slept polled for the whole window and then slept.");
  w.sample(name, {{"outcome", "found_work"}}, static_cast<double>(totals.found_work));
  w.sample(name, {{"outcome", "slept"}}, static_cast<double>(totals.slept));
}

}  // namespace meshgate::net
