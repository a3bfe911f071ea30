#pragma once
// When a client renews its certificate (DESIGN.md §2.5): at a random point between 60 % and
// 90 % of the lifetime, so that a fleet does not renew all at once, and at once when the
// active root changes. Time and randomness come in as arguments: tests drive them.

#include <chrono>

namespace meshgate::x509 {

using system_time = std::chrono::system_clock::time_point;

inline constexpr double renew_from = 0.6;
inline constexpr double renew_until = 0.9;

/// The renewal point of a certificate valid over [valid_after, valid_before];
/// `random_fraction` in [0, 1) picks where between 60 % and 90 % it falls.
system_time renewal_time(system_time valid_after, system_time valid_before, double random_fraction) noexcept;

/// True when a certificate with renewal point `renew_at` should be renewed at `now`: that
/// point has come, or the root that signed it is no longer the active one.
bool should_renew(system_time now, system_time renew_at, bool signed_by_active_root) noexcept;

}  // namespace meshgate::x509
