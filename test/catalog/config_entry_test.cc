// Config entries: what each kind accepts, normalised, and every rule that refuses one.

#include "catalog/config_entry.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace meshgate::catalog {
namespace {

namespace json = boost::json;

config_entry decode(const std::string& body) { return decode_config_entry(parse_body(body)); }

std::string error_of(const std::string& body) {
  try {
    decode(body);
  } catch (const invalid_input& e) {
    return e.what();
  }
  return "";
}

TEST(config_entry, normalises_field_names_to_consuls_spelling) {
  const auto e = decode(R"({"kind": "service-defaults", "name": "web", "protocol": "http",
                            "mesh_gateway": {"mode": "remote"}})");
  EXPECT_EQ(json::serialize(e.body),
            R"({"Kind":"service-defaults","Name":"web","Protocol":"http","MeshGateway":{"Mode":"remote"}})");
  EXPECT_EQ(mesh_gateway_mode_of(e.body), mesh::gateway_mode::remote);
  EXPECT_EQ(config_key(e.kind, e.name), "service-defaults/web");
}

TEST(config_entry, keeps_proxy_defaults_config_opaque) {
  const auto e = decode(R"({"Kind": "proxy-defaults", "Name": "global",
                            "Config": {"local_connect_timeout_ms": 1000, "Whatever_Case": [1]},
                            "MeshGateway": {"Mode": "local"}})");
  EXPECT_EQ(e.body.at("Config").at("Whatever_Case").as_array().size(), 1u);
  EXPECT_EQ(mesh_gateway_mode_of(e.body), mesh::gateway_mode::local);
}

TEST(config_entry, accepts_a_resolver_with_subsets_and_failover_across_datacenters) {
  const auto e = decode(R"({"Kind": "service-resolver", "Name": "db", "DefaultSubset": "v1",
    "Subsets": {"v1": {"Filter": "Service.Meta.version == v1"}, "v2": {"OnlyPassing": true}},
    "Failover": {"*": {"Datacenters": ["dc2", "dc3"]}, "v2": {"ServiceSubset": "v1"}},
    "ConnectTimeout": "3s"})");
  EXPECT_EQ(e.body.at("Failover").at("*").at("Datacenters").as_array().size(), 2u);
  EXPECT_EQ(e.body.at("ConnectTimeout").as_string(), "3000ms");
}

TEST(config_entry, accepts_intentions_with_a_wildcard) {
  const auto e = decode(R"({"Kind": "service-intentions", "Name": "db",
    "Sources": [{"Name": "web", "Action": "allow"}, {"Name": "*", "Action": "deny", "Precedence": 9}]})");
  EXPECT_EQ(e.body.at("Sources").as_array().size(), 2u);
  EXPECT_EQ(e.body.at("Sources").at(1).at("Type").as_string(), "consul");
}

struct bad_case {
  std::string body, message;
};
class bad_config_entry : public ::testing::TestWithParam<bad_case> {};

TEST_P(bad_config_entry, is_refused_naming_the_field_and_the_rule) {
  const auto message = error_of(GetParam().body);
  EXPECT_NE(message.find(GetParam().message), std::string::npos) << "got: " << message;
}

INSTANTIATE_TEST_SUITE_P(
    config_entry, bad_config_entry,
    ::testing::Values(
        bad_case{R"({"Name": "x"})", "Kind: required"},
        bad_case{R"({"Kind": "ingress-gateway", "Name": "x"})", R"(Kind: "ingress-gateway" must be)"},
        bad_case{R"({"Kind": "proxy-defaults"})", "Name: required"},
        bad_case{R"({"Kind": "proxy-defaults", "Name": "local"})", R"(Name: "local" must be "global")"},
        bad_case{R"({"Kind": "proxy-defaults", "Name": "global", "MeshGateway": {"Mode": "sometimes"}})",
                 R"(MeshGateway.Mode: "sometimes" must be)"},
        bad_case{R"({"Kind": "proxy-defaults", "Name": "global", "Protocol": "http"})", "Protocol: unknown field"},
        bad_case{R"({"Kind": "service-defaults", "Name": "web", "Protocol": "udp"})", R"(Protocol: "udp" must be tcp, http, http2 or grpc)"},
        bad_case{R"({"Kind": "service-defaults", "Name": "we b"})", R"(Name: "we b" must be a service name)"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "DefaultSubset": "v9"})", R"(DefaultSubset: "v9" is not one of Subsets)"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "Subsets": {"v_1": {}}})", "Subsets.v_1: subset names are"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "Subsets": {"v1": {"Filtr": "x"}}})", "Subsets.v1.Filtr: unknown field"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "Subsets": {"v1": {"Filter": "Service.Tags == v1"}}})",
                 "Subsets.v1.Filter: at byte 0: Service.Tags is a list; use contains, in or is empty"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "Redirect": {"Service": "x"}, "Failover": {"*": {"Service": "y"}}})",
                 "Redirect: cannot be set together with Failover"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "Failover": {"v3": {"Service": "y"}}})",
                 R"(Failover.v3: "v3" is neither "*" nor one of Subsets)"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "Failover": {"*": {}}})",
                 "Failover.*: needs at least one of Service, ServiceSubset, Namespace or Datacenters"},
        bad_case{R"({"Kind": "service-resolver", "Name": "db", "ConnectTimeout": "soon"})", R"(ConnectTimeout: "soon" is not a duration)"},
        bad_case{R"({"Kind": "service-intentions", "Name": "db", "Sources": [{"Name": "web"}]})",
                 R"(Sources[0].Action: "" must be "allow" or "deny")"},
        bad_case{R"({"Kind": "service-intentions", "Name": "db", "Sources": [{"Action": "allow"}]})", "Sources[0].Name: required"},
        bad_case{R"({"Kind": "service-intentions", "Name": "db", "Sources": [{"Name": "web", "Action": "allow"}, {"Name": "web", "Action": "deny"}]})",
                 R"(Sources[1].Name: "web" is listed twice)"},
        bad_case{R"({"Kind": "service-intentions", "Name": "db", "Sources": [{"Name": "web", "Permissions": []}]})",
                 "Sources[0].Permissions: L7 permissions are not supported"}));

}  // namespace
}  // namespace meshgate::catalog
