#include "sidecar/certificate_schedule.h"

#include "x509/renewal.h"

namespace meshgate::sidecar {

certificate_schedule schedule_for(system_time valid_after, system_time valid_before, std::string root_id,
                                  double random_fraction) noexcept {
  return {valid_after, valid_before, x509::renewal_time(valid_after, valid_before, random_fraction), std::move(root_id)};
}

bool renewal_due(const certificate_schedule& s, std::string_view active_root_id, system_time now) noexcept {
  const bool signed_by_active_root = active_root_id.empty() || s.root_id == active_root_id;
  return x509::should_renew(now, s.renew_at, signed_by_active_root) || now >= s.valid_before;
}

}  // namespace meshgate::sidecar
