// Two datacenters on loopback with every part real: dc1's and dc2's servers (federated),
// mesh gateways that register themselves and take their routes from their server, api
// (python3's http.server) behind its sidecar in dc2, web's sidecar in dc1, and curl as web.
// Which gateways a connection crossed is read from the gateways' own counters.
//
// Loopback cannot isolate the datacenters from each other; the suite on network
// namespaces does that. This one proves the wiring: federation, routes, resolution.

#include <signal.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "e2e/server_fixture.h"
#include "e2e/sidecar_fixture.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

/// `meshgate gateway -register`, fed by `server_address`; waits until it is ready.
class registered_gateway {
 public:
  registered_gateway(const temp_dir& dir, const std::string& server_address, const std::string& id) {
    port_ = unused_port();
    const auto address = "127.0.0.1:" + std::to_string(port_);
    const auto admin_file = dir / (id + ".admin");
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{MESHGATE_BINARY, "gateway", "-register", "-proxy-id", id, "-address", address,
                                 "-wan-address", address, "-http-addr", server_address, "-admin-addr",
                                 "127.0.0.1:0", "-admin-addr-file", admin_file.string(), "-workers", "1"},
        dir / id);
    admin_ = wait_until_ready(*process_, admin_file, "the gateway " + id);
  }
  child_process& process() { return *process_; }
  /// Connections routed by the route whose pattern starts with `prefix` ("*.dc2", "api.").
  std::uint64_t routed(const std::string& prefix) const {
    const auto r = http_get(admin_, "/stats");
    if (!r || r->status != 200) return 0;
    std::uint64_t n = 0;
    const auto stats = json::parse(r->body);
    for (const auto& route : stats.at("routes").as_array()) {
      if (std::string(route.at("route").as_string()).starts_with(prefix)) n += route.at("connections").to_number<std::uint64_t>();
    }
    return n;
  }
  /// The endpoints of one cluster in the gateway's running configuration.
  std::vector<std::string> endpoints(const std::string& cluster) const {
    std::vector<std::string> out;
    const auto r = http_get(admin_, "/config");
    if (!r || r->status != 200) return out;
    const auto config = json::parse(r->body);
    const auto* c = config.at("config").at("clusters").as_object().if_contains(cluster);
    if (c == nullptr) return out;
    for (const auto& e : c->at("endpoints").as_array()) out.emplace_back(e.as_string());
    return out;
  }
  bool has_route(const std::string& prefix) const {
    const auto r = http_get(admin_, "/config");
    return r && r->status == 200 && r->body.find("\"" + prefix) != std::string::npos;
  }

 private:
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
  std::string admin_;
};

class two_datacenters : public ::testing::Test {
 protected:
  void SetUp() override {
    dc2 = std::make_unique<server_process>(
        dir, dir / "dc2",
        std::vector<std::string>{"-datacenter", "dc2", "-primary-datacenter", "dc1", "-primary-addr", dc1->address()});
    ASSERT_TRUE(eventually([&] { return curl(dir, "GET", dc1->address(), "/v1/catalog/datacenters").body == R"(["dc1","dc2"])"; }));
    std::filesystem::create_directories(dir / "www");
    write_text(dir / "www" / "index.html", "hello from api in dc2\n");
    api_app = std::make_unique<http_file_server>(dir, dir / "www");
    put(*dc2, R"({"ID": "api-sidecar-proxy", "Name": "api-sidecar-proxy", "Kind": "connect-proxy",
      "Address": "127.0.0.1", "Port": )" + std::to_string(unused_port()) +
                   R"(, "Proxy": {"DestinationServiceName": "api", "DestinationServiceID": "api", "LocalServicePort": )" +
                   std::to_string(api_app->port()) + "}}");
    api = std::make_unique<proxy_process>(dir, dc2->address(), "api");
    bind_port = unused_port();
  }
  void put(const server_process& s, const std::string& registration) {
    const auto r = curl(dir, "PUT", s.address(), "/v1/agent/service/register", registration);
    ASSERT_EQ(r.status, 200) << registration << ": " << r.body;
  }
  /// web's sidecar in dc1, its one upstream api in dc2 under `mode`.
  void start_web(const std::string& mode) {
    put(*dc1, R"({"ID": "web-sidecar-proxy", "Name": "web-sidecar-proxy", "Kind": "connect-proxy",
      "Address": "127.0.0.1", "Port": )" + std::to_string(unused_port()) +
                  R"(, "Proxy": {"DestinationServiceName": "web", "DestinationServiceID": "web", "LocalServicePort": 1,
      "Upstreams": [{"DestinationName": "api", "Datacenter": "dc2", "LocalBindPort": )" +
                  std::to_string(bind_port) + R"(, "MeshGateway": {"Mode": ")" + mode + R"("}}]}})");
    web = std::make_unique<proxy_process>(dir, dc1->address(), "web");
  }
  curl_result through_web() { return curl(dir, "GET", "127.0.0.1:" + std::to_string(bind_port), "/"); }
  std::size_t upstream_endpoints() {
    const auto config = web->admin_json("/config");
    return config.at("sidecar").at("upstreams").at(0).at("endpoints").as_array().size();
  }

  temp_dir dir;
  std::unique_ptr<server_process> dc1 = std::make_unique<server_process>(dir, dir / "dc1");
  std::unique_ptr<server_process> dc2;
  std::unique_ptr<http_file_server> api_app;
  std::unique_ptr<proxy_process> api;
  std::unique_ptr<proxy_process> web;
  std::uint16_t bind_port = 0;
};

TEST_F(two_datacenters, mode_remote_crosses_only_the_destinations_gateway) {
  registered_gateway gw1(dir, dc1->address(), "gw-dc1");
  registered_gateway gw2(dir, dc2->address(), "gw-dc2");
  ASSERT_TRUE(eventually([&] { return gw2.has_route("api."); })) << "dc2's gateway has no route to api";
  start_web("remote");
  ASSERT_TRUE(eventually([&] { return upstream_endpoints() == 1; })) << "dc2's gateway never reached web's sidecar";
  const auto r = through_web();
  ASSERT_EQ(r.status, 200) << web->process().err();
  EXPECT_EQ(r.body, "hello from api in dc2\n");
  EXPECT_EQ(gw2.routed("api."), 1u) << "dc2's gateway routed it by api's SNI to api's sidecar";
  EXPECT_EQ(gw1.routed("*.dc2"), 0u) << "dc1's gateway was not on the path";
  EXPECT_EQ(web->admin_json("/config").at("sidecar").at("upstreams").at(0).at("mode_source").as_string(), "upstream");
}

TEST_F(two_datacenters, mode_local_crosses_the_own_gateway_and_then_the_destinations) {
  registered_gateway gw1(dir, dc1->address(), "gw-dc1");
  registered_gateway gw2(dir, dc2->address(), "gw-dc2");
  ASSERT_TRUE(eventually([&] { return gw1.has_route("*.dc2.") && gw2.has_route("api."); })) << "routes missing";
  start_web("local");
  ASSERT_TRUE(eventually([&] { return upstream_endpoints() == 1; }));
  const auto r = through_web();
  ASSERT_EQ(r.status, 200) << web->process().err();
  EXPECT_EQ(r.body, "hello from api in dc2\n");
  EXPECT_EQ(gw1.routed("*.dc2"), 1u) << "dc1's gateway sent it on to dc2 by the datacenter's wildcard";
  EXPECT_EQ(gw2.routed("api."), 1u) << "dc2's gateway routed it to api's sidecar";

  // `meshgate explain` tells the same story from the server's resolution.
  ASSERT_EQ(run_command({MESHGATE_BINARY, "explain", "-sidecar-for", "web", "-http-addr", dc1->address()},
                        dir / "explain"),
            0)
      << read_text(dir / "explain.err");
  const auto told = read_text(dir / "explain.out");
  EXPECT_NE(told.find("mode        local — set by the upstream's own MeshGateway"), std::string::npos) << told;
  EXPECT_NE(told.find("target      api in dc2"), std::string::npos) << told;
  EXPECT_NE(told.find("SNI         api.default.dc2.internal."), std::string::npos) << told;
  EXPECT_NE(told.find("/ns/default/dc/dc2/svc/api (the far end"), std::string::npos) << told;
  EXPECT_NE(told.find("dc1's healthy mesh gateways, at their LAN address"), std::string::npos) << told;
}

TEST_F(two_datacenters, a_dead_gateway_of_a_pair_costs_no_connection) {
  registered_gateway gw2a(dir, dc2->address(), "gw-dc2-a");
  registered_gateway gw2b(dir, dc2->address(), "gw-dc2-b");
  ASSERT_TRUE(eventually([&] { return gw2a.has_route("api.") && gw2b.has_route("api."); }));
  start_web("remote");
  ASSERT_TRUE(eventually([&] { return upstream_endpoints() == 2; }));
  gw2a.process().signal(SIGKILL);
  ASSERT_TRUE(gw2a.process().wait_for_exit(10s));
  // Before the server's check notices, the sidecar dials the dead one half of the time and
  // falls over to the other: every request still gets through.
  for (int i = 0; i < 4; ++i) {
    const auto r = through_web();
    EXPECT_EQ(r.status, 200) << i;
  }
  EXPECT_EQ(gw2b.routed("api."), 4u);
  EXPECT_GE(web->counter("api?dc=dc2", "connect_failures"), 1u);
}

TEST_F(two_datacenters, a_resolvers_default_subset_crosses_both_gateways_to_the_instances_its_filter_selects) {
  // A second instance of api, version 2, with its own sidecar and its own answer.
  std::filesystem::create_directories(dir / "www-v2");
  write_text(dir / "www-v2" / "index.html", "hello from api v2\n");
  http_file_server api_v2_app(dir, dir / "www-v2");
  const auto v2_port = unused_port();
  put(*dc2, R"({"ID": "api-v2-sidecar-proxy", "Name": "api-sidecar-proxy", "Kind": "connect-proxy",
    "Address": "127.0.0.1", "Port": )" + std::to_string(v2_port) + R"(, "Meta": {"version": "v2"},
    "Proxy": {"DestinationServiceName": "api", "DestinationServiceID": "api-v2", "LocalServicePort": )" +
                 std::to_string(api_v2_app.port()) + "}}");
  proxy_process api_v2(dir, dc2->address(), "api-v2");
  // Written in dc2: forwarded to dc1, replicated back, applied by both.
  const auto resolver = [&](const std::string& default_subset) {
    return R"({"Kind": "service-resolver", "Name": "api", "DefaultSubset": ")" + default_subset + R"(",
      "Subsets": {"v1": {"Filter": "Service.Meta.version != v2"}, "v2": {"Filter": "Service.Meta.version == v2"}}})";
  };
  ASSERT_EQ(curl(dir, "PUT", dc2->address(), "/v1/config", resolver("v2")).body, "true");

  registered_gateway gw1(dir, dc1->address(), "gw-dc1");
  registered_gateway gw2(dir, dc2->address(), "gw-dc2");
  const auto v2_sidecar = "127.0.0.1:" + std::to_string(v2_port);
  ASSERT_TRUE(eventually([&] { return gw2.endpoints("v2.api") == std::vector<std::string>{v2_sidecar}; }))
      << "dc2's gateway has no subset route to api v2's sidecar alone";
  const auto v1_endpoints = gw2.endpoints("v1.api");
  ASSERT_EQ(v1_endpoints.size(), 1u);
  EXPECT_NE(v1_endpoints.front(), v2_sidecar) << "v1's filter selects the other instance";
  EXPECT_EQ(gw2.endpoints("api").size(), 2u) << "the service's own SNI still reaches both";

  start_web("local");
  ASSERT_TRUE(eventually([&] { return upstream_endpoints() == 1; }));
  const auto upstream = web->admin_json("/config").at("sidecar").at("upstreams").at(0);
  EXPECT_TRUE(std::string(upstream.at("sni").as_string()).starts_with("v2.api.default.dc2.internal.")) << upstream;
  for (int i = 0; i < 4; ++i) {
    const auto r = through_web();
    ASSERT_EQ(r.status, 200) << web->process().err();
    EXPECT_EQ(r.body, "hello from api v2\n") << i;
  }
  EXPECT_EQ(gw1.routed("*.dc2"), 4u) << "dc1's gateway forwards the subset by the datacenter's wildcard";
  EXPECT_EQ(gw2.routed("v2.api."), 4u) << "dc2's gateway routed every one by the subset's own SNI";
  EXPECT_EQ(gw2.routed("api."), 0u);

  ASSERT_EQ(run_command({MESHGATE_BINARY, "explain", "-sidecar-for", "web", "-http-addr", dc1->address()},
                        dir / "explain"),
            0)
      << read_text(dir / "explain.err");
  const auto told = read_text(dir / "explain.out");
  EXPECT_NE(told.find("subset      v2 — the DefaultSubset of api's service-resolver"), std::string::npos) << told;
  // And each gateway's side: the route that SNI takes there.
  const std::string sni(upstream.at("sni").as_string());
  const auto explain_gateway = [&](const server_process& s, const std::string& id, const std::string& name) {
    run_command({MESHGATE_BINARY, "explain", "-proxy-id", id, "-sni", name, "-http-addr", s.address()},
                dir / ("explain-" + id));
    return read_text(dir / ("explain-" + id + ".out"));
  };
  const auto at_dc1 = explain_gateway(*dc1, "gw-dc1", sni);
  EXPECT_NE(at_dc1.find("takes the wildcard route\n  *.dc2.internal."), std::string::npos) << at_dc1;
  EXPECT_NE(at_dc1.find("-> dc2's healthy mesh gateways, at their WAN address"), std::string::npos) << at_dc1;
  const auto at_dc2 = explain_gateway(*dc2, "gw-dc2", sni);
  EXPECT_NE(at_dc2.find("takes the exact route"), std::string::npos) << at_dc2;
  EXPECT_NE(at_dc2.find("-> api's healthy sidecars of subset v2 in dc2, at their LAN address:\n         " + v2_sidecar),
            std::string::npos)
      << at_dc2;
  EXPECT_NE(explain_gateway(*dc2, "gw-dc2", "v3.api.default.dc2.internal.x").find("no route"), std::string::npos);

  // The default moves to v1 (written in dc1 this time): web's next connections follow.
  ASSERT_EQ(curl(dir, "PUT", dc1->address(), "/v1/config", resolver("v1")).body, "true");
  ASSERT_TRUE(eventually([&] {
    return std::string(web->admin_json("/config").at("sidecar").at("upstreams").at(0).at("sni").as_string())
        .starts_with("v1.api.");
  }));
  const auto r = through_web();
  ASSERT_EQ(r.status, 200) << web->process().err();
  EXPECT_EQ(r.body, "hello from api in dc2\n");
  EXPECT_EQ(gw2.routed("v1.api."), 1u);
}

}  // namespace
}  // namespace meshgate::test
