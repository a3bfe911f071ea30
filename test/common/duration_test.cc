// Durations as Consul and Go write them.

#include "common/duration.h"

#include <gtest/gtest.h>

namespace meshgate {
namespace {

using namespace std::chrono_literals;

TEST(duration, parses_units_and_sums) {
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("1m30s"), 90s);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("0s"), 0ms);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("90m"), 5'400'000ms);
  EXPECT_EQ(parse_duration("2h45m"), 9'900'000ms);
  EXPECT_EQ(parse_duration("1500us"), 2ms);  // rounded
  EXPECT_EQ(parse_duration(".5s"), 500ms);
}

TEST(duration, refuses_bare_numbers_and_unknown_units) {
  for (const char* text : {"", "10", "s", "10x", "1.s.", ".s", "-1s", "10 s", "99999999999999h"}) {
    EXPECT_FALSE(parse_duration(text)) << text;
  }
}

TEST(duration, formats_what_it_parses) {
  for (std::chrono::milliseconds d : {90000ms, 3600000ms, 60000ms, 1000ms, 1500ms}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d);
  }
  EXPECT_EQ(format_duration(3'723'004ms), "1h2m3s4ms");
}

}  // namespace
}  // namespace meshgate
