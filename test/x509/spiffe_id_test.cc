// SPIFFE IDs: what parses, and the hostile strings that must not.

#include "x509/spiffe_id.h"

#include <gtest/gtest.h>

namespace meshgate::x509 {
namespace {

TEST(spiffe_id, parses_service_and_trust_domain_identities) {
  const auto id = parse_spiffe_id("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->trust_domain, "11111111-2222-3333-4444-555555555555.consul");
  EXPECT_EQ(id->path, "/ns/default/dc/dc1/svc/web");
  const auto parts = as_service_identity(*id);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->service, "web");
  EXPECT_EQ(parts->dc, "dc1");
  EXPECT_EQ(service_identity("td.consul", "default", "dc1", "web").to_string(),
            "spiffe://td.consul/ns/default/dc/dc1/svc/web");
  EXPECT_EQ(parse_spiffe_id("spiffe://td.consul")->path, "");
  EXPECT_FALSE(as_service_identity(*parse_spiffe_id("spiffe://td.consul/agent/server/dc/dc1")));
}

TEST(spiffe_id, refuses_anything_malformed) {
  for (const std::string& bad :
       {std::string(""), std::string("spiffe://"), std::string("spiffe:///ns/x"), std::string("SPIFFE://td/x"),
        std::string("spiffe:/td/x"), std::string("https://td/x"), std::string("spiffe://TD/x"),
        std::string("spiffe://td:443/x"), std::string("spiffe://user@td/x"), std::string("spiffe://td/"),
        std::string("spiffe://td//x"), std::string("spiffe://td/x/"), std::string("spiffe://td/./x"),
        std::string("spiffe://td/../x"), std::string("spiffe://td/x?y=1"), std::string("spiffe://td/x#f"),
        std::string("spiffe://td/x%2Fy"), std::string("spiffe://td/x y"), std::string("spiffe://td/x\0y", 15),
        std::string("spiffe://td/\xc3\xa9"), std::string("spiffe://") + std::string(256, 'a'),
        std::string("spiffe://td/") + std::string(2100, 'a')}) {
    EXPECT_FALSE(parse_spiffe_id(bad)) << bad;
  }
}

}  // namespace
}  // namespace meshgate::x509
