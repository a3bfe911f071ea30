// Mesh gateway mode precedence over every combination of the four layers.

#include "mesh/mesh_gateway_mode.h"

#include <gtest/gtest.h>

namespace meshgate::mesh {
namespace {

constexpr gateway_mode all_modes[] = {gateway_mode::defer, gateway_mode::none,
                                      gateway_mode::local, gateway_mode::remote};

// All 4^4 = 256 combinations: the first non-deferring layer from the top decides, and
// with none set the built-in default (none) does.
TEST(mesh_gateway_mode, the_highest_layer_that_sets_a_mode_decides_in_every_combination) {
  int checked = 0;
  for (auto u : all_modes) {
    for (auto p : all_modes) {
      for (auto s : all_modes) {
        for (auto d : all_modes) {
          const auto got = resolve_gateway_mode({u, p, s, d}, "dc1", "dc2");
          resolved_mode expected{gateway_mode::none, mode_layer::built_in_default};
          if (d != gateway_mode::defer) expected = {d, mode_layer::proxy_defaults};
          if (s != gateway_mode::defer) expected = {s, mode_layer::service_defaults};
          if (p != gateway_mode::defer) expected = {p, mode_layer::proxy_registration};
          if (u != gateway_mode::defer) expected = {u, mode_layer::upstream};
          EXPECT_EQ(got, expected);
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 256);
}

// Within a datacenter no layer matters: traffic never goes through a gateway.
TEST(mesh_gateway_mode, never_applies_within_a_datacenter) {
  for (auto u : all_modes) {
    for (auto d : all_modes) {
      const resolved_mode local{gateway_mode::none, mode_layer::same_datacenter};
      EXPECT_EQ(resolve_gateway_mode({u, u, d, d}, "dc1", "dc1"), local);
      EXPECT_EQ(resolve_gateway_mode({u, u, d, d}, "dc1", ""), local);  // "" = own dc
    }
  }
}

TEST(mesh_gateway_mode, parses_what_consul_accepts_and_nothing_else) {
  EXPECT_EQ(parse_gateway_mode(""), gateway_mode::defer);
  EXPECT_EQ(parse_gateway_mode("none"), gateway_mode::none);
  EXPECT_EQ(parse_gateway_mode("local"), gateway_mode::local);
  EXPECT_EQ(parse_gateway_mode("remote"), gateway_mode::remote);
  for (const char* bad : {"None", "LOCAL", "default", " remote", "remote "}) {
    EXPECT_FALSE(parse_gateway_mode(bad)) << bad;
  }
}

}  // namespace
}  // namespace meshgate::mesh
