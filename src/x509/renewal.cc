#include "x509/renewal.h"

#include <algorithm>

namespace meshgate::x509 {

system_time renewal_time(system_time valid_after, system_time valid_before, double random_fraction) noexcept {
  const double f = std::clamp(random_fraction, 0.0, 1.0);
  const auto lifetime = valid_before - valid_after;
  const double share = renew_from + (renew_until - renew_from) * f;
  return valid_after + std::chrono::duration_cast<system_time::duration>(lifetime * share);
}

bool should_renew(system_time now, system_time renew_at, bool signed_by_active_root) noexcept {
  return !signed_by_active_root || now >= renew_at;
}

}  // namespace meshgate::x509
