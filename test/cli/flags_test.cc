// Consul-style single-dash long flags.

#include "cli/flags.h"

#include <gtest/gtest.h>

namespace meshgate::cli {
namespace {

std::vector<std::string> normalize(std::vector<const char*> argv) {
  return normalize_flags(static_cast<int>(argv.size()), argv.data());
}

TEST(flags, doubles_the_dash_of_long_names) {
  EXPECT_EQ(normalize({"meshgate", "gateway", "-routes-file", "r.json", "-workers=2"}),
            (std::vector<std::string>{"meshgate", "gateway", "--routes-file", "r.json",
                                      "--workers=2"}));
}

TEST(flags, leaves_short_flags_double_dashes_numbers_and_what_follows_a_bare_double_dash) {
  EXPECT_EQ(normalize({"meshgate", "-h", "--help", "-", "-5", "-x=1", "--", "-keep"}),
            (std::vector<std::string>{"meshgate", "-h", "--help", "-", "-5", "-x=1", "--",
                                      "-keep"}));
}

}  // namespace
}  // namespace meshgate::cli
