#pragma once
// The state machine of one running check: how probe results become the reported status.
//
// Consul's thresholds: a check reports passing only after SuccessBeforePassing successes
// in a row, critical only after FailuresBeforeCritical failures in a row (a warning is
// reported at once); a result that agrees with what is reported resets the other count.
// It also remembers since when the check has been critical, for
// DeregisterCriticalServiceAfter. Time comes in as an argument: tests drive it.

#include <chrono>
#include <optional>

#include "catalog/check.h"

namespace meshgate::catalog {

class check_state {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  check_state(check_status reported, int success_before_passing, int failures_before_critical,
              time_point now) noexcept;

  /// A probe result (or a TTL expiry, or a TTL update through the API). Returns the status
  /// to report when it changes, nullopt when the reported status stays.
  std::optional<check_status> observe(check_status result, time_point now) noexcept;

  check_status reported() const noexcept { return reported_; }
  /// True when the check has been reported critical for at least `limit`.
  bool critical_for(std::chrono::milliseconds limit, time_point now) const noexcept;

 private:
  check_status reported_;
  int success_before_passing_;
  int failures_before_critical_;
  int successes_ = 0;
  int failures_ = 0;
  std::optional<time_point> critical_since_;
};

}  // namespace meshgate::catalog
