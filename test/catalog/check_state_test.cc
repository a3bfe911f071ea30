// A running check's state machine, driven with a fake clock.

#include "catalog/check_state.h"

#include <gtest/gtest.h>

namespace meshgate::catalog {
namespace {

using namespace std::chrono_literals;
using status = check_status;
const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

TEST(check_state, reports_each_change_once) {
  check_state s(status::critical, 0, 0, t0);
  EXPECT_EQ(s.observe(status::passing, t0), status::passing);
  EXPECT_EQ(s.observe(status::passing, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::warning, t0), status::warning);
  EXPECT_EQ(s.observe(status::critical, t0), status::critical);
  EXPECT_EQ(s.reported(), status::critical);
}

TEST(check_state, needs_success_before_passing_in_a_row) {
  check_state s(status::critical, 3, 0, t0);
  EXPECT_EQ(s.observe(status::passing, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::passing, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::critical, t0), std::nullopt);  // resets the count
  EXPECT_EQ(s.observe(status::passing, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::passing, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::passing, t0), status::passing);
}

TEST(check_state, needs_failures_before_critical_in_a_row_but_warns_at_once) {
  check_state s(status::passing, 0, 2, t0);
  EXPECT_EQ(s.observe(status::critical, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::passing, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::critical, t0), std::nullopt);
  EXPECT_EQ(s.observe(status::critical, t0), status::critical);
  check_state w(status::passing, 0, 5, t0);
  EXPECT_EQ(w.observe(status::warning, t0), status::warning);
}

TEST(check_state, measures_how_long_it_has_been_critical) {
  check_state s(status::passing, 0, 0, t0);
  EXPECT_FALSE(s.critical_for(1s, t0 + 1h));
  s.observe(status::critical, t0 + 10s);
  EXPECT_FALSE(s.critical_for(90s, t0 + 99s));
  EXPECT_TRUE(s.critical_for(90s, t0 + 100s));
  s.observe(status::critical, t0 + 200s);  // still the same spell
  EXPECT_TRUE(s.critical_for(90s, t0 + 100s));
  s.observe(status::passing, t0 + 201s);
  EXPECT_FALSE(s.critical_for(0s, t0 + 1000s));
  // A check that starts critical counts from its start.
  check_state fresh(status::critical, 0, 0, t0);
  EXPECT_TRUE(fresh.critical_for(1min, t0 + 1min));
}

}  // namespace
}  // namespace meshgate::catalog
