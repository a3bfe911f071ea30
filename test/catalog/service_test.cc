// Registrations as Consul's documentation writes them, and every rule that refuses one.

#include "catalog/service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace meshgate::catalog {
namespace {

namespace json = boost::json;

registration decode(const std::string& body) { return decode_registration(parse_body(body)); }

std::string error_of(const std::string& body) {
  try {
    decode(body);
  } catch (const invalid_input& e) {
    return e.what();
  }
  return "";
}

// The example body of Consul's /v1/agent/service/register documentation (its script
// check replaced by an HTTP one: script checks are refused, see below).
const char* const consul_docs_redis = R"({
  "ID": "redis1",
  "Name": "redis",
  "Tags": ["primary", "v1"],
  "Address": "127.0.0.1",
  "Port": 8000,
  "Meta": {"redis_version": "4.0"},
  "EnableTagOverride": false,
  "Check": {
    "DeregisterCriticalServiceAfter": "90m",
    "HTTP": "http://localhost:5000/health",
    "Interval": "10s",
    "Timeout": "5s"
  },
  "Weights": {"Passing": 10, "Warning": 1}
})";

TEST(service_registration, decodes_consuls_documented_example) {
  const auto r = decode(consul_docs_redis);
  EXPECT_EQ(r.svc.id, "redis1");
  EXPECT_EQ(r.svc.name, "redis");
  EXPECT_EQ(r.svc.tags, (std::vector<std::string>{"primary", "v1"}));
  EXPECT_EQ(r.svc.port, 8000);
  EXPECT_EQ(r.svc.meta.at("redis_version"), "4.0");
  EXPECT_EQ(r.svc.weight_passing, 10);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].id, "service:redis1");
  EXPECT_EQ(r.checks[0].name, "Service 'redis' check");
  EXPECT_EQ(r.checks[0].type, check_type::http);
  EXPECT_EQ(r.checks[0].interval.count(), 10000);
  EXPECT_EQ(r.checks[0].timeout.count(), 5000);
  EXPECT_EQ(r.checks[0].deregister_critical_service_after.count(), 90 * 60 * 1000);
}

TEST(service_registration, decodes_a_sidecar_with_upstreams_across_datacenters) {
  const auto r = decode(R"({
    "Name": "web-sidecar-proxy", "Kind": "connect-proxy", "Port": 21000,
    "Proxy": {
      "DestinationServiceName": "web", "DestinationServiceID": "web",
      "LocalServiceAddress": "127.0.0.1", "LocalServicePort": 8080,
      "MeshGateway": {"Mode": "local"},
      "Upstreams": [
        {"DestinationName": "db", "LocalBindPort": 9191, "Datacenter": "dc2", "MeshGateway": {"Mode": "remote"}},
        {"destination_name": "cache", "local_bind_port": 9192}
      ]
    }
  })");
  EXPECT_EQ(r.svc.kind, service_kind::connect_proxy);
  EXPECT_EQ(r.svc.id, "web-sidecar-proxy");
  EXPECT_EQ(r.svc.proxy.mesh_gateway, mesh::gateway_mode::local);
  ASSERT_EQ(r.svc.proxy.upstreams.size(), 2u);
  EXPECT_EQ(r.svc.proxy.upstreams[0].datacenter, "dc2");
  EXPECT_EQ(r.svc.proxy.upstreams[0].mesh_gateway, mesh::gateway_mode::remote);
  EXPECT_EQ(r.svc.proxy.upstreams[1].destination_name, "cache");  // snake_case works
}

TEST(service_registration, decodes_a_mesh_gateway_with_lan_and_wan_addresses) {
  const auto r = decode(R"({
    "Name": "mesh-gateway", "Kind": "mesh-gateway", "Port": 8443,
    "TaggedAddresses": {"lan": {"address": "192.168.0.5", "port": 8443},
                        "wan": {"address": "198.18.0.1", "port": 443}},
    "Proxy": {"Config": {"connect_timeout_ms": 1000, "envoy_gateway_no_default_bind": true}}
  })");
  EXPECT_EQ(r.svc.kind, service_kind::mesh_gateway);
  EXPECT_EQ(r.svc.tagged_addresses.at("wan"), (tagged_address{"198.18.0.1", 443}));
  EXPECT_EQ(r.svc.proxy.config.at("connect_timeout_ms").as_int64(), 1000);
}

// What is stored is read back unchanged, through the same strict decoder.
TEST(service_registration, round_trips_through_its_stored_form) {
  for (const char* body : {consul_docs_redis,
                           R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web",
                               "Upstreams": [{"DestinationName": "db", "LocalBindPort": 9, "Config": {"x": [1]}}]}})"}) {
    const auto r = decode(body);
    const auto stored = to_json(r.svc, "dc1");
    const auto again = service_from_json(stored);
    EXPECT_EQ(json::serialize(to_json(again, "dc1")), json::serialize(stored));
  }
}

struct bad_case {
  std::string body;
  std::string message;
};
class bad_registration : public ::testing::TestWithParam<bad_case> {};

TEST_P(bad_registration, is_refused_naming_the_field_and_the_rule) {
  const auto message = error_of(GetParam().body);
  EXPECT_NE(message.find(GetParam().message), std::string::npos) << "got: " << message;
}

INSTANTIATE_TEST_SUITE_P(
    service_registration, bad_registration,
    ::testing::Values(
        bad_case{R"({"Port": 80})", "Name: required"},
        bad_case{R"({"Name": "my_svc"})", R"(Name: "my_svc" must be 1-63 letters, digits and '-')"},
        bad_case{R"({"Name": "web", "Kind": "terminating-gateway"})", R"(Kind: "terminating-gateway" must be)"},
        bad_case{R"({"Name": "web", "Prot": 80})", "Prot: unknown field"},
        bad_case{R"({"Name": "web", "Port": 70000})", "Port: 70000 is out of range 0..65535"},
        bad_case{R"({"Name": "web", "Port": "80"})", "Port: must be an integer, not a string"},
        bad_case{R"({"Name": "web", "name": "x"})", "name: given twice"},
        bad_case{R"({"Name": "web", "ID": "a/b"})", R"(ID: "a/b" must be at most 256 bytes without '/')"},
        bad_case{R"({"Name": "web", "Weights": {"Passing": 0}})", "Weights.Passing: 0 is out of range 1..65535"},
        bad_case{R"({"Name": "web", "Meta": {"consul-x": "1"}})", "Meta.consul-x: keys starting with \"consul-\" are reserved"},
        bad_case{R"({"Name": "web", "Meta": {"a b": "1"}})", "Meta.a b: keys are 1-128 letters"},
        bad_case{R"({"Name": "web", "Proxy": {}})", "Proxy: only a connect-proxy or mesh-gateway service has a Proxy"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1})",
                 "Proxy.DestinationServiceName: required for a connect-proxy service"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Proxy": {"DestinationServiceName": "web"}})",
                 "Port: must be set for a connect-proxy service"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Connect": {"Native": true}, "Proxy": {"DestinationServiceName": "web"}})",
                 "Connect.Native: a proxy cannot also be Connect Native"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web", "Upstreams": [{"LocalBindPort": 1}]}})",
                 "Proxy.Upstreams[0].DestinationName: required"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web", "Upstreams": [{"DestinationName": "db"}]}})",
                 "Proxy.Upstreams[0].LocalBindPort: required"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web", "Upstreams": [
                   {"DestinationName": "db", "LocalBindPort": 1}, {"DestinationName": "db", "LocalBindPort": 2}]}})",
                 "Proxy.Upstreams[1]: a second upstream for \"db\""},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web", "Upstreams": [
                   {"DestinationName": "db", "LocalBindPort": 1}, {"DestinationName": "db", "Datacenter": "dc2", "LocalBindPort": 1, "LocalBindAddress": "127.0.0.1"}]}})",
                 "Proxy.Upstreams[1].LocalBindPort: 127.0.0.1:1 is already used by another upstream"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web", "MeshGateway": {"Mode": "Local"}}})",
                 R"(Proxy.MeshGateway.Mode: "Local" must be "", "none", "local" or "remote")"},
        bad_case{R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web", "Upstreams": [
                   {"DestinationName": "db", "LocalBindPort": 1, "MeshGateway": {"Mode": "both"}}]}})",
                 "Proxy.Upstreams[0].MeshGateway.Mode"},
        bad_case{R"({"Name": "g", "Kind": "mesh-gateway"})", "Port: must be non-zero for a mesh-gateway"},
        bad_case{R"({"Name": "g", "Kind": "mesh-gateway", "Port": 1, "Proxy": {"Upstreams": [{"DestinationName": "db", "LocalBindPort": 1}]}})",
                 "Proxy.Upstreams: a mesh-gateway has no upstreams"},
        bad_case{R"({"Name": "g", "Kind": "mesh-gateway", "Port": 1, "Proxy": {"DestinationServiceName": "x"}})",
                 "Proxy.DestinationServiceName: not valid for a mesh-gateway"},
        bad_case{R"({"Name": "web", "Check": {"Args": ["/bin/true"], "Interval": "10s"}})", "Check.Args: script checks are disabled"},
        bad_case{R"({"Name": "web", "Check": {"Interval": "10s"}})", "Check: a check needs one of TTL, TCP or HTTP"},
        bad_case{R"({"Name": "web", "Check": {"TCP": "127.0.0.1:80"}})", "Check.Interval: required"},
        bad_case{R"({"Name": "web", "Check": {"TTL": "10x"}})", R"(Check.TTL: "10x" is not a duration)"},
        bad_case{R"({"Name": "web", "Check": {"HTTP": "ftp://x", "Interval": "1s"}})", "Check.HTTP: \"ftp://x\" must be an http:// or https:// URL"},
        bad_case{R"({"Name": "web", "Check": {"TTL": "10s", "Status": "ok"}})", "Check.Status: \"ok\" must be passing, warning or critical"},
        bad_case{R"({"Name": "web", "Checks": [{"TTL": "1s", "CheckID": "a"}, {"TTL": "1s", "CheckID": "a"}]})",
                 "\"a\" is given to two checks"},
        bad_case{R"({"Name": "web", "Connect": {"SidecarService": {}}})", "Connect.SidecarService: not supported yet"},
        bad_case{R"([1, 2])", "request body: must be an object, not an array"},
        // Found by the api_body fuzzer: numbers beyond int64 and durations beyond any clock.
        bad_case{R"({"Name": "web", "Port": 1e300})", "Port: 1E300 is out of range 0..65535"},
        bad_case{R"({"Name": "web", "Port": 18446744073709551615})", "Port: 18446744073709551615 is out of range"},
        bad_case{R"({"Name": "web", "Check": {"TTL": 18446744073709551615}})", "Check.TTL: longer than a year"},
        bad_case{R"({"Name": "web", "Check": {"TTL": "9000h"}})", "Check.TTL: longer than a year"},
        bad_case{R"({"Name": )", "request body is not valid JSON"}));

TEST(service_registration, numbers_several_checks_and_accepts_nanosecond_durations) {
  const auto r = decode(R"({"Name": "web", "Checks": [{"TTL": "30s"}, {"TCP": "127.0.0.1:80", "Interval": 5000000000}]})");
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].id, "service:web:1");
  EXPECT_EQ(r.checks[1].id, "service:web:2");
  EXPECT_EQ(r.checks[1].interval.count(), 5000);
  EXPECT_EQ(r.checks[0].initial_status, check_status::critical);
}

}  // namespace
}  // namespace meshgate::catalog

namespace meshgate::catalog {
namespace {

// A stored check reads back as the check that was registered, every kind of it.
TEST(health_check, round_trips_through_its_stored_form) {
  const auto r = decode(R"({"Name": "web", "Checks": [
      {"TTL": "30s", "Notes": "n"},
      {"TCP": "127.0.0.1:80", "Interval": "5s", "Timeout": "1s", "DeregisterCriticalServiceAfter": "1m"},
      {"HTTP": "http://127.0.0.1/h", "Method": "POST", "Header": {"X-A": ["1", "2"]}, "Interval": "10s",
       "SuccessBeforePassing": 2, "FailuresBeforeCritical": 3, "TLSSkipVerify": true}]})");
  for (const auto& def : r.checks) {
    health_check h;
    h.definition = def;
    h.node = "n1";
    h.service_id = "web";
    h.service_name = "web";
    h.status = check_status::warning;
    h.output = "out";
    const json::value stored = to_json(h);
    const auto again = health_check_from_json(stored);
    EXPECT_EQ(json::serialize(to_json(again)), json::serialize(stored));
    EXPECT_EQ(again.status, check_status::warning);
  }
}

}  // namespace
}  // namespace meshgate::catalog
