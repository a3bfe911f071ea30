// The server-name grammar the gateway routes by.

#include "tls/server_name.h"

#include <gtest/gtest.h>

namespace meshgate::tls {
namespace {

TEST(server_name, accepts_dns_host_names) {
  for (const char* name : {"a", "api.default.dc1.internal.example.consul", "x-1.y-2.Z3",
                           "123.example", "a-b"}) {
    EXPECT_TRUE(is_valid_server_name(name)) << name;
  }
}

TEST(server_name, refuses_what_is_not_a_host_name) {
  for (const std::string& name :
       {std::string(), std::string("."), std::string("a."), std::string(".a"),
        std::string("a..b"), std::string("a_b"), std::string("a b"), std::string("a\0b", 3),
        std::string("a*b"), std::string("*.a"), std::string(64, 'a'),
        std::string(256, 'a')}) {
    EXPECT_FALSE(is_valid_server_name(name)) << name;
  }
}

TEST(server_name, lowers_ascii_only) {
  EXPECT_EQ(to_lower_ascii("API.Default.DC1"), "api.default.dc1");
  EXPECT_EQ(to_lower_ascii("\xc3\x89"), "\xc3\x89");
}

}  // namespace
}  // namespace meshgate::tls
