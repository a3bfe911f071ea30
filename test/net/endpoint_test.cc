// IP:PORT text as config files and flags write it.

#include "net/endpoint.h"

#include <gtest/gtest.h>

namespace meshgate::net {
namespace {

TEST(endpoint, parses_ipv4_and_bracketed_ipv6) {
  EXPECT_EQ(to_string(*parse_endpoint("127.0.0.1:8443")), "127.0.0.1:8443");
  EXPECT_EQ(to_string(*parse_endpoint("[::1]:80")), "[::1]:80");
  EXPECT_EQ(parse_endpoint("0.0.0.0:0")->port(), 0);
}

TEST(endpoint, refuses_names_bad_ports_and_unbracketed_ipv6) {
  for (const char* text : {"localhost:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                           "127.0.0.1:-1", "127.0.0.1:8x", "::1:80", "[::1]80", "[::1",
                           ":80", "", "1.2.3:4"}) {
    EXPECT_FALSE(parse_endpoint(text)) << text;
  }
}

}  // namespace
}  // namespace meshgate::net
