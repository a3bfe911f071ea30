// Which route a server name takes.

#include "gateway/sni_router.h"

#include <gtest/gtest.h>

namespace meshgate::gateway {
namespace {

sni_router make_router() {
  sni_router r;
  r.add("api.default.dc1.internal.example.consul", 0);
  r.add("*.dc2.internal.example.consul", 1);
  r.add("*.internal.example.consul", 2);
  r.add("*.web.default.dc2.internal.example.consul", 3);
  return r;
}

TEST(sni_router, routes_an_exact_name_to_its_route) {
  EXPECT_EQ(make_router().find("api.default.dc1.internal.example.consul"), 0u);
}

TEST(sni_router, routes_remote_datacenter_names_to_their_wildcard) {
  EXPECT_EQ(make_router().find("api.default.dc2.internal.example.consul"), 1u);
  EXPECT_EQ(make_router().find("x.dc2.internal.example.consul"), 1u);
}

TEST(sni_router, prefers_the_longest_matching_suffix) {
  EXPECT_EQ(make_router().find("v1.web.default.dc2.internal.example.consul"), 3u);
  EXPECT_EQ(make_router().find("db.default.dc3.internal.example.consul"), 2u);
}

TEST(sni_router, prefers_an_exact_name_over_any_wildcard) {
  sni_router r = make_router();
  r.add("special.dc2.internal.example.consul", 9);
  EXPECT_EQ(r.find("special.dc2.internal.example.consul"), 9u);
}

TEST(sni_router, does_not_match_a_wildcard_to_its_bare_suffix) {
  EXPECT_EQ(make_router().find("dc2.internal.example.consul"), 2u);  // via *.internal...
  sni_router r;
  r.add("*.example.com", 0);
  EXPECT_FALSE(r.find("example.com"));
  EXPECT_FALSE(r.find("com"));
}

TEST(sni_router, finds_nothing_for_unknown_names) {
  EXPECT_FALSE(make_router().find("api.default.dc1.internal.other.consul"));
  EXPECT_FALSE(make_router().find(""));
  EXPECT_FALSE(sni_router().find("a.b"));
}

TEST(sni_router, refuses_a_pattern_twice) {
  sni_router r;
  EXPECT_TRUE(r.add("a.b", 0));
  EXPECT_FALSE(r.add("a.b", 1));
  EXPECT_TRUE(r.add("*.a.b", 1));
  EXPECT_FALSE(r.add("*.a.b", 2));
}

}  // namespace
}  // namespace meshgate::gateway
