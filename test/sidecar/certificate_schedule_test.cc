// The sidecar's renewal decisions over a certificate's life, with a fake clock.

#include "sidecar/certificate_schedule.h"

#include <gtest/gtest.h>

namespace meshgate::sidecar {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const system_time t0 = system_time{} + hours(24 * 365 * 50);  // any fixed instant

TEST(certificate_schedule, renews_between_60_and_90_percent_of_the_lifetime) {
  const auto start = t0 - minutes(1);  // backdated as the CA does
  const auto end = t0 + hours(72);
  const auto life = end - start;
  for (double r : {0.0, 0.25, 0.5, 0.999}) {
    const auto s = schedule_for(start, end, "root-a", r);
    EXPECT_GE(s.renew_at, start + life * 6 / 10) << r;
    EXPECT_LE(s.renew_at, start + life * 9 / 10) << r;
    EXPECT_FALSE(renewal_due(s, "root-a", s.renew_at - minutes(1))) << r;
    EXPECT_TRUE(renewal_due(s, "root-a", s.renew_at)) << r;
  }
  // Different draws spread a fleet out instead of renewing all at once.
  EXPECT_LT(schedule_for(start, end, "root-a", 0.1).renew_at, schedule_for(start, end, "root-a", 0.9).renew_at);
}

TEST(certificate_schedule, renews_at_once_when_the_active_root_changes) {
  const auto s = schedule_for(t0, t0 + hours(72), "root-a", 0.5);
  const auto just_after_issue = t0 + minutes(5);
  EXPECT_FALSE(renewal_due(s, "root-a", just_after_issue));
  EXPECT_TRUE(renewal_due(s, "root-b", just_after_issue));  // rotated: the new root must sign
  EXPECT_FALSE(renewal_due(s, "", just_after_issue));       // not known: nothing to act on
}

TEST(certificate_schedule, a_renewed_certificate_gets_a_later_schedule_and_the_cycle_repeats) {
  auto now = t0;
  auto s = schedule_for(now, now + hours(72), "root-a", 0.3);
  int renewals = 0;
  // Walk 30 days in 10-minute steps, renewing whenever due: never expired, never early.
  for (int step = 0; step < 30 * 24 * 6; ++step) {
    now += minutes(10);
    ASSERT_LT(now, s.valid_before) << "expired before it was renewed";
    if (renewal_due(s, "root-a", now)) {
      EXPECT_GE(now, s.renew_at);
      s = schedule_for(now - minutes(1), now + hours(72), "root-a", (renewals % 10) / 10.0);
      ++renewals;
    }
  }
  // 30 days of 72-hour certificates renewed at 60-90 %: between 10 and 17 renewals.
  EXPECT_GE(renewals, 10);
  EXPECT_LE(renewals, 17);
}

TEST(certificate_schedule, an_expired_certificate_is_due_whatever_its_schedule) {
  certificate_schedule s;
  s.valid_after = t0;
  s.valid_before = t0 + hours(1);
  s.renew_at = t0 + hours(100);  // a nonsense schedule must not keep an expired certificate
  s.root_id = "root-a";
  EXPECT_TRUE(renewal_due(s, "root-a", t0 + hours(2)));
}

}  // namespace
}  // namespace meshgate::sidecar
