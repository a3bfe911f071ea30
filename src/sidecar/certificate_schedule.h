#pragma once
// When the sidecar replaces its certificate (DESIGN.md §2.5): at a random point between
// 60 % and 90 % of its lifetime, at once when the active root changes, and at once if it
// has somehow expired. Time and randomness are arguments: tests drive them.

#include <chrono>
#include <string>
#include <string_view>

namespace meshgate::sidecar {

using system_time = std::chrono::system_clock::time_point;

struct certificate_schedule {
  system_time valid_after{};
  system_time valid_before{};
  system_time renew_at{};
  std::string root_id;  // the active root when the certificate was issued
};

/// The schedule of a certificate valid over [valid_after, valid_before], issued while
/// `root_id` was active; `random_fraction` in [0, 1) picks the renewal point.
certificate_schedule schedule_for(system_time valid_after, system_time valid_before, std::string root_id,
                                  double random_fraction) noexcept;

/// True when the certificate must be replaced at `now`, given the root active now.
bool renewal_due(const certificate_schedule& s, std::string_view active_root_id, system_time now) noexcept;

}  // namespace meshgate::sidecar
