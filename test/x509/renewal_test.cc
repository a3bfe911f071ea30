// The renewal rule with a fake clock and chosen randomness.

#include "x509/renewal.h"

#include <gtest/gtest.h>

namespace meshgate::x509 {
namespace {

using namespace std::chrono_literals;
const system_time t0{std::chrono::hours(24 * 1000)};

TEST(renewal, falls_between_60_and_90_percent_of_the_lifetime) {
  const auto until = t0 + 100h;
  EXPECT_EQ(renewal_time(t0, until, 0.0), t0 + 60h);
  EXPECT_EQ(renewal_time(t0, until, 0.5), t0 + 75h);
  for (double f = 0; f < 1; f += 0.01) {
    const auto at = renewal_time(t0, until, f);
    EXPECT_GE(at, t0 + 60h);
    EXPECT_LE(at, t0 + 90h);
  }
  EXPECT_EQ(renewal_time(t0, until, 7.0), t0 + 90h);  // clamped
}

TEST(renewal, renews_when_due_or_at_once_after_a_root_change) {
  const auto at = t0 + 60h;
  EXPECT_FALSE(should_renew(t0 + 59h, at, true));
  EXPECT_TRUE(should_renew(t0 + 60h, at, true));
  EXPECT_TRUE(should_renew(t0 + 1h, at, false));  // the root changed
}

}  // namespace
}  // namespace meshgate::x509
