// The routes file: what it accepts, and that every mistake is named precisely.

#include "gateway/gateway_config.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace meshgate::gateway {
namespace {

const char* const sample = R"({
  "listeners": [{"name": "wan", "address": "127.0.0.1", "port": 8443}],
  "routes": [
    {"sni": "api.default.dc1.internal.example.consul", "cluster": "api"},
    {"sni": "*.dc2.internal.example.consul", "cluster": "dc2"}
  ],
  "clusters": {
    "api": {"endpoints": ["127.0.0.1:9001", "127.0.0.1:9002"], "connect_timeout_ms": 5000},
    "dc2": {"endpoints": ["127.0.0.2:8443"]}
  }
})";

/// The message of the config_error that parsing `json` throws ("" if none).
std::string error_of(const std::string& json) {
  try {
    parse_gateway_config(json);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

std::string with(const std::string& from, const std::string& to) {
  std::string s = sample;
  const auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(gateway_config, parses_the_documented_example) {
  const auto c = parse_gateway_config(sample);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "wan");
  EXPECT_EQ(net::to_string(c.listeners[0].endpoint), "127.0.0.1:8443");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[1].sni, "*.dc2.internal.example.consul");
  ASSERT_EQ(c.clusters.size(), 2u);
  const auto* api = c.find_cluster("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->endpoints.size(), 2u);
  EXPECT_EQ(api->connect_timeout.count(), 5000);
  EXPECT_EQ(c.find_cluster("dc2")->connect_timeout.count(), 5000);  // the default
  EXPECT_EQ(c.find_cluster("dc2")->max_connect_attempts, 3u);
  EXPECT_EQ(c.find_cluster("nope"), nullptr);
}

TEST(gateway_config, lowers_route_names) {
  const auto c = parse_gateway_config(with("api.default.dc1", "API.Default.dc1"));
  EXPECT_EQ(c.routes[0].sni, "api.default.dc1.internal.example.consul");
}

TEST(gateway_config, round_trips_through_its_json_form) {
  const auto c = parse_gateway_config(sample);
  const auto again = parse_gateway_config(boost::json::serialize(to_json(c)));
  EXPECT_EQ(boost::json::serialize(to_json(again)), boost::json::serialize(to_json(c)));
}

TEST(gateway_config, accepts_ipv6_and_port_zero_listeners) {
  const auto c = parse_gateway_config(
      with(R"("address": "127.0.0.1", "port": 8443)", R"("address": "::1", "port": 0)"));
  EXPECT_EQ(net::to_string(c.listeners[0].endpoint), "[::1]:0");
}

TEST(gateway_config, names_the_position_of_a_json_syntax_error) {
  EXPECT_EQ(error_of("{\n  \"listeners\": [,]\n}").substr(0, 4), "2:17");
  EXPECT_NE(error_of("{").find("invalid JSON"), std::string::npos);
}

struct bad_case {
  std::string from, to, message;
};

class bad_routes_file : public ::testing::TestWithParam<bad_case> {};

// Each mistake is refused with a message that names the field and the rule.
TEST_P(bad_routes_file, is_refused_with_a_message_naming_the_field) {
  const auto& c = GetParam();
  const auto message = error_of(with(c.from, c.to));
  EXPECT_NE(message.find(c.message), std::string::npos) << "got: " << message;
}

INSTANTIATE_TEST_SUITE_P(
    gateway_config, bad_routes_file,
    ::testing::Values(
        bad_case{R"("cluster": "api")", R"("cluster": "dc3")",
                 R"(routes[0].cluster: "dc3" is not defined in "clusters")"},
        bad_case{R"("cluster": "api")", R"("clustr": "api")",
                 R"(routes[0]: unknown field "clustr" (expected: sni, cluster))"},
        bad_case{R"("cluster": "dc2")", R"("cluster": "dc2", "x": 1)",
                 R"(routes[1]: unknown field "x")"},
        bad_case{R"("*.dc2.internal.example.consul")", R"("api.default.dc1.internal.example.consul")",
                 R"(routes[1].sni: "api.default.dc1.internal.example.consul" is already routed by routes[0])"},
        bad_case{R"("*.dc2.internal.example.consul")", R"("bad_name.example")",
                 R"(routes[1].sni: "bad_name.example" is not a server name)"},
        bad_case{R"("*.dc2.internal.example.consul")", R"("a.*.example")", "routes[1].sni"},
        bad_case{R"("*.dc2.internal.example.consul")", "42", "routes[1].sni: must be a string, not a number"},
        bad_case{R"("127.0.0.2:8443")", R"("dc2.example:8443")",
                 R"(clusters.dc2.endpoints[0]: "dc2.example:8443" is not an IP:PORT address)"},
        bad_case{R"("127.0.0.2:8443")", R"("127.0.0.2:0")", "clusters.dc2.endpoints[0]: \"127.0.0.2:0\" has port 0"},
        bad_case{R"("127.0.0.2:8443")", R"("127.0.0.2:70000")", "clusters.dc2.endpoints[0]"},
        bad_case{R"("connect_timeout_ms": 5000)", R"("connect_timeout_ms": 0)",
                 "clusters.api.connect_timeout_ms: 0 is out of range 1..300000"},
        bad_case{R"("connect_timeout_ms": 5000)", R"("connect_timeout_ms": "5s")",
                 "clusters.api.connect_timeout_ms: must be an integer, not a string"},
        bad_case{R"("connect_timeout_ms": 5000)", R"("timeout": 5)",
                 R"(clusters.api: unknown field "timeout")"},
        bad_case{R"("port": 8443)", R"("port": 65536)", "listeners[0].port: 65536 is out of range 0..65535"},
        bad_case{R"("port": 8443)", R"("port": -1)", "listeners[0].port: -1 is out of range"},
        bad_case{R"("address": "127.0.0.1")", R"("address": "localhost")",
                 R"(listeners[0].address: "localhost" is not an IP address)"},
        bad_case{R"("name": "wan", )", "", R"(listeners[0]: missing required field "name")"},
        bad_case{R"([{"name": "wan", "address": "127.0.0.1", "port": 8443}])", "[]",
                 "listeners: at least one listener is needed"},
        bad_case{R"([{"name": "wan", "address": "127.0.0.1", "port": 8443}])",
                 R"([{"name": "wan", "address": "127.0.0.1", "port": 8443}, {"name": "wan", "address": "127.0.0.1", "port": 8444}])",
                 R"(listeners[1].name: "wan" is already the name of listeners[0])"},
        bad_case{R"([{"name": "wan", "address": "127.0.0.1", "port": 8443}])",
                 R"([{"name": "wan", "address": "127.0.0.1", "port": 8443}, {"name": "lan", "address": "127.0.0.1", "port": 8443}])",
                 "listeners[1]: address 127.0.0.1:8443 is already used by listeners[0]"},
        bad_case{R"("listeners")", R"("listener")", R"(unknown field "listener")"}));

TEST(gateway_config, names_a_value_of_the_wrong_kind) {
  EXPECT_EQ(error_of(R"({"listeners": [], "routes": [], "clusters": []})"),
            "clusters: must be an object, not an array");
  EXPECT_EQ(error_of("[]"), "the routes document: must be an object, not an array");
}

TEST(gateway_config, names_the_file_when_loading_one) {
  try {
    load_gateway_config("/nonexistent/routes.json");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/routes.json: cannot read the file");
  }
}

}  // namespace
}  // namespace meshgate::gateway
