#include "catalog/check_state.h"

#include <algorithm>

namespace meshgate::catalog {

check_state::check_state(check_status reported, int success_before_passing, int failures_before_critical,
                         time_point now) noexcept
    : reported_(reported),
      success_before_passing_(std::max(1, success_before_passing)),
      failures_before_critical_(std::max(1, failures_before_critical)) {
  if (reported_ == check_status::critical) critical_since_ = now;
}

std::optional<check_status> check_state::observe(check_status result, time_point now) noexcept {
  switch (result) {
    case check_status::passing:
      failures_ = 0;
      if (++successes_ < success_before_passing_) return std::nullopt;
      break;
    case check_status::critical:
      successes_ = 0;
      if (++failures_ < failures_before_critical_) return std::nullopt;
      break;
    case check_status::warning:
      successes_ = failures_ = 0;
      break;
  }
  if (result == reported_) return std::nullopt;
  reported_ = result;
  if (result == check_status::critical) {
    critical_since_ = now;
  } else {
    critical_since_.reset();
  }
  return result;
}

bool check_state::critical_for(std::chrono::milliseconds limit, time_point now) const noexcept {
  return critical_since_ && now - *critical_since_ >= limit;
}

}  // namespace meshgate::catalog
