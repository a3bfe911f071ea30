// GET /v1/meshgate/proxy/:id driven with curl: what a sidecar and a gateway are told, and
// that a blocking read for it wakes when anything it was built from changes.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>

#include "e2e/server_fixture.h"
#include "proxycfg/proxy_snapshot.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

class proxy_config : public ::testing::Test {
 protected:
  curl_result call(const std::string& method, const std::string& path, const std::string& body = {}) {
    return curl(dir, method, server.address(), path, body);
  }
  void put(const std::string& path, const std::string& body) {
    const auto r = call("PUT", path, body);
    ASSERT_EQ(r.status, 200) << path << " " << body << ": " << r.body;
  }
  proxycfg::proxy_snapshot snapshot(const std::string& id) {
    const auto r = call("GET", "/v1/meshgate/proxy/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return proxycfg::parse_proxy_snapshot(r.body, proxycfg::field_check::strict);
  }
  temp_dir dir;
  server_process server{dir, dir / "data"};
};

const char* const web_sidecar = R"({"Name": "web-sidecar-proxy", "Kind": "connect-proxy", "Port": 21000,
  "Proxy": {"DestinationServiceName": "web", "LocalServicePort": 8080,
            "Upstreams": [{"DestinationName": "api", "LocalBindPort": 9191},
                          {"DestinationName": "api", "Datacenter": "dc2", "LocalBindPort": 9192},
                          {"DestinationName": "db", "Datacenter": "dc2", "LocalBindPort": 9193,
                           "MeshGateway": {"Mode": "remote"}, "Config": {"connect_timeout_ms": 700}}]}})";

std::string api_sidecar(const std::string& id, const std::string& address, int port, const char* check_status) {
  return R"({"ID": ")" + id + R"(", "Name": "api-sidecar-proxy", "Kind": "connect-proxy", "Address": ")" + address +
         R"(", "Port": )" + std::to_string(port) +
         R"(, "Proxy": {"DestinationServiceName": "api"}, "Check": {"CheckID": ")" + id + R"(-ttl", "TTL": "60s", "Status": ")" +
         check_status + R"("}})";
}

TEST_F(proxy_config, tells_a_sidecar_its_listeners_identity_and_healthy_upstream_endpoints) {
  put("/v1/agent/service/register", web_sidecar);
  put("/v1/agent/service/register", api_sidecar("api-1", "10.0.0.1", 21001, "passing"));
  put("/v1/agent/service/register", api_sidecar("api-2", "10.0.0.2", 21001, "critical"));
  put("/v1/agent/service/register", api_sidecar("api-3", "", 21003, "passing"));  // no address: the node's

  const auto roots = call("GET", "/v1/connect/ca/roots").json();
  const std::string td(roots.at("TrustDomain").as_string());
  const auto s = snapshot("web-sidecar-proxy");
  EXPECT_EQ(s.kind, "connect-proxy");
  EXPECT_EQ(s.datacenter, "dc1");
  EXPECT_EQ(s.trust_domain, td);
  EXPECT_EQ(s.active_root_id, roots.at("ActiveRootID").as_string());
  ASSERT_EQ(s.roots.size(), 1u);
  EXPECT_EQ(s.roots[0], roots.at("Roots").at(0).at("RootCert").as_string());
  ASSERT_TRUE(s.sidecar);
  EXPECT_EQ(s.sidecar->identity, "spiffe://" + td + "/ns/default/dc/dc1/svc/web");
  EXPECT_EQ(s.sidecar->inbound.port, 21000);
  EXPECT_EQ(s.sidecar->inbound.local_service_address, "127.0.0.1");
  EXPECT_EQ(s.sidecar->inbound.local_service_port, 8080);
  ASSERT_EQ(s.sidecar->upstreams.size(), 3u);

  const auto& local = s.sidecar->upstreams[0];
  EXPECT_EQ(local.name, "api");
  EXPECT_EQ(local.datacenter, "dc1");
  EXPECT_EQ(local.local_bind_address, "127.0.0.1");
  EXPECT_EQ(local.local_bind_port, 9191);
  EXPECT_EQ(local.sni, "api.default.dc1.internal." + td);
  EXPECT_EQ(local.identity, "spiffe://" + td + "/ns/default/dc/dc1/svc/api");
  EXPECT_EQ(local.mode, "none");
  EXPECT_EQ(local.mode_source, "same datacenter");
  // The critical instance is left out; the one without an address gets the node's.
  EXPECT_EQ(local.endpoints, (std::vector<std::string>{"10.0.0.1:21001", "127.0.0.1:21003"}));

  const auto& remote = s.sidecar->upstreams[1];
  EXPECT_EQ(remote.name, "api?dc=dc2");
  EXPECT_EQ(remote.sni, "api.default.dc2.internal." + td);
  EXPECT_EQ(remote.identity, "spiffe://" + td + "/ns/default/dc/dc2/svc/api");
  EXPECT_EQ(remote.mode_source, "default");
  EXPECT_EQ(s.sidecar->upstreams[2].mode, "remote");
  EXPECT_EQ(s.sidecar->upstreams[2].mode_source, "upstream");
  EXPECT_EQ(s.sidecar->upstreams[2].connect_timeout_ms, 700);
  EXPECT_EQ(remote.connect_timeout_ms, 5000);
}

TEST_F(proxy_config, takes_the_mode_from_the_highest_layer_that_sets_one) {
  put("/v1/agent/service/register", web_sidecar);
  put("/v1/agent/service/register", R"({"Name": "mesh-gateway", "Kind": "mesh-gateway", "Port": 8443, "Address": "10.1.0.1",
    "TaggedAddresses": {"lan": {"Address": "10.1.0.9", "Port": 7443}, "wan": {"Address": "198.18.0.1", "Port": 443}}})");
  put("/v1/config", R"({"Kind": "proxy-defaults", "Name": "global", "MeshGateway": {"Mode": "local"}})");
  auto s = snapshot("web-sidecar-proxy");
  EXPECT_EQ(s.sidecar->upstreams[1].mode, "local");
  EXPECT_EQ(s.sidecar->upstreams[1].mode_source, "proxy-defaults");
  // Local mode dials this datacenter's gateways at their LAN (tagged) address.
  EXPECT_EQ(s.sidecar->upstreams[1].endpoints, (std::vector<std::string>{"10.1.0.9:7443"}));
  EXPECT_EQ(s.sidecar->upstreams[0].mode_source, "same datacenter");  // never through a gateway

  put("/v1/config", R"({"Kind": "service-defaults", "Name": "api", "MeshGateway": {"Mode": "none"}})");
  s = snapshot("web-sidecar-proxy");
  EXPECT_EQ(s.sidecar->upstreams[1].mode, "none");
  EXPECT_EQ(s.sidecar->upstreams[1].mode_source, "service-defaults");
  EXPECT_EQ(s.sidecar->upstreams[2].mode_source, "upstream");  // db has no service-defaults
}

TEST_F(proxy_config, a_blocking_read_wakes_when_an_upstream_instance_changes_health) {
  put("/v1/agent/service/register", web_sidecar);
  put("/v1/agent/service/register", api_sidecar("api-1", "10.0.0.1", 21001, "critical"));
  const auto first = call("GET", "/v1/meshgate/proxy/web-sidecar-proxy");
  ASSERT_EQ(first.status, 200);
  EXPECT_TRUE(proxycfg::parse_proxy_snapshot(first.body, proxycfg::field_check::strict).sidecar->upstreams[0].endpoints.empty());

  auto waiting = std::async(std::launch::async, [&] {
    return call("GET", "/v1/meshgate/proxy/web-sidecar-proxy?index=" + first.index + "&wait=30s");
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);  // it holds
  put("/v1/agent/check/pass/api-1-ttl", "");
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto woken = waiting.get();
  EXPECT_GT(std::stoull(woken.index), std::stoull(first.index));
  const auto s = proxycfg::parse_proxy_snapshot(woken.body, proxycfg::field_check::strict);
  EXPECT_EQ(s.sidecar->upstreams[0].endpoints, (std::vector<std::string>{"10.0.0.1:21001"}));
}

TEST_F(proxy_config, tells_a_gateway_its_listeners_and_routes_in_the_routes_file_shape) {
  put("/v1/agent/service/register", R"({"Name": "mesh-gateway", "Kind": "mesh-gateway", "Port": 8443, "Address": "127.0.0.1",
    "TaggedAddresses": {"lan": {"Address": "127.0.0.1", "Port": 8443}, "wan": {"Address": "127.0.0.2", "Port": 9443}},
    "Proxy": {"Config": {"envoy_gateway_bind_tagged_addresses": true, "envoy_gateway_no_default_bind": true,
                         "connect_timeout_ms": 1500}}})");
  put("/v1/agent/service/register", api_sidecar("api-1", "10.0.0.1", 21001, "passing"));
  const auto s = snapshot("mesh-gateway");
  EXPECT_EQ(s.kind, "mesh-gateway");
  ASSERT_TRUE(s.gateway);
  const auto& g = s.gateway->as_object();
  EXPECT_EQ(json::serialize(g.at("listeners")),
            R"([{"name":"lan","address":"127.0.0.1","port":8443},{"name":"wan","address":"127.0.0.2","port":9443}])");
  EXPECT_EQ(json::serialize(g.at("routes")), R"([{"sni":"api.default.dc1.internal.)" + s.trust_domain + R"(","cluster":"api"}])");
  EXPECT_EQ(json::serialize(g.at("clusters")), R"({"api":{"endpoints":["10.0.0.1:21001"],"connect_timeout_ms":1500}})");
}

TEST_F(proxy_config, says_why_there_is_no_snapshot) {
  auto r = call("GET", "/v1/meshgate/proxy/nobody");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("unknown proxy \\\"nobody\\\""), std::string::npos) << r.body;
  put("/v1/agent/service/register", R"({"Name": "web", "Port": 8080})");
  r = call("GET", "/v1/meshgate/proxy/web");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not a proxy"), std::string::npos) << r.body;
  put("/v1/agent/service/register", R"({"Name": "x-sidecar-proxy", "Kind": "connect-proxy", "Port": 21000,
    "Proxy": {"DestinationServiceName": "x"}})");
  r = call("GET", "/v1/meshgate/proxy/x-sidecar-proxy");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("LocalServicePort is not set"), std::string::npos) << r.body;
  // ... and the snapshot appears once the service it fronts is registered.
  put("/v1/agent/service/register", R"({"Name": "x", "Port": 7000})");
  EXPECT_EQ(snapshot("x-sidecar-proxy").sidecar->inbound.local_service_port, 7000);
}

}  // namespace
}  // namespace meshgate::test
