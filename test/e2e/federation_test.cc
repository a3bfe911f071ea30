// Two real servers, dc1 (primary) and dc2 (secondary), driven with curl: the secondary
// joins, datacenters are listed, `?dc=` reads are forwarded, config writes sent to the
// secondary land on the primary and apply in both, mesh gateways are published and routed
// to, and the secondary keeps serving while the primary is away.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "e2e/server_fixture.h"
#include "proxycfg/proxy_snapshot.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

class federation_e2e : public ::testing::Test {
 protected:
  curl_result call(const server_process& s, const std::string& method, const std::string& path,
                   const std::string& body = {}) {
    return curl(dir, method, s.address(), path, body);
  }
  void put(const server_process& s, const std::string& path, const std::string& body) {
    const auto r = call(s, "PUT", path, body);
    ASSERT_EQ(r.status, 200) << path << " " << body << ": " << r.body;
  }
  /// dc2 is a secondary of dc1 once it has the roots and dc1 has heard from it.
  bool joined() {
    const auto listed = call(*primary, "GET", "/v1/catalog/datacenters");
    const auto roots = call(*secondary, "GET", "/v1/connect/ca/roots");
    return listed.status == 200 && listed.body == R"(["dc1","dc2"])" && roots.status == 200;
  }
  void start_secondary() {
    secondary = std::make_unique<server_process>(
        dir, dir / "dc2", std::vector<std::string>{"-datacenter", "dc2", "-primary-datacenter", "dc1",
                                                    "-primary-addr", primary->address()});
  }
  std::string trust_domain() {
    return std::string(call(*primary, "GET", "/v1/connect/ca/roots").json().at("TrustDomain").as_string());
  }

  temp_dir dir;
  std::unique_ptr<server_process> primary = std::make_unique<server_process>(dir, dir / "dc1");
  std::unique_ptr<server_process> secondary;
};

TEST_F(federation_e2e, a_secondary_joins_and_every_server_lists_both_and_forwards_dc_reads) {
  start_secondary();
  ASSERT_TRUE(eventually([&] { return joined(); })) << secondary->process().err();
  EXPECT_EQ(call(*secondary, "GET", "/v1/catalog/datacenters").body, R"(["dc2","dc1"])");

  put(*primary, "/v1/agent/service/register", R"({"Name": "web", "Port": 8080, "Tags": ["in-dc1"]})");
  put(*secondary, "/v1/agent/service/register", R"({"Name": "api", "Port": 9090})");
  // Each server answers for the other datacenter by asking it.
  EXPECT_EQ(call(*secondary, "GET", "/v1/catalog/services?dc=dc1").body, R"({"web":["in-dc1"]})");
  EXPECT_EQ(call(*primary, "GET", "/v1/catalog/services?dc=dc2").body, R"({"api":[]})");
  EXPECT_EQ(call(*secondary, "GET", "/v1/catalog/services?dc=dc2").body, R"({"api":[]})");  // its own
  const auto unknown = call(*secondary, "GET", "/v1/catalog/services?dc=dc9");
  EXPECT_EQ(unknown.status, 500);
  EXPECT_NE(unknown.body.find("No path to datacenter"), std::string::npos);

  // A blocking read is forwarded as one: it carries dc1's index and waits there.
  const auto first = call(*secondary, "GET", "/v1/health/service/web?dc=dc1");
  ASSERT_EQ(first.status, 200);
  ASSERT_FALSE(first.index.empty());
  const auto held = call(*secondary, "GET", "/v1/health/service/web?dc=dc1&index=" + first.index + "&wait=1s");
  EXPECT_EQ(held.status, 200);
  EXPECT_EQ(held.index, first.index) << "nothing changed in dc1: the same index after the wait";
}

TEST_F(federation_e2e, a_config_write_sent_to_the_secondary_lands_on_the_primary_and_applies_in_both) {
  start_secondary();
  ASSERT_TRUE(eventually([&] { return joined(); }));
  const std::string entry = R"({"Kind": "proxy-defaults", "Name": "global", "MeshGateway": {"Mode": "local"}})";
  put(*secondary, "/v1/config", entry);
  // Read-your-writes on the secondary, and the primary has it too.
  for (const auto* s : {secondary.get(), primary.get()}) {
    const auto read = call(*s, "GET", "/v1/config/proxy-defaults/global");
    ASSERT_EQ(read.status, 200) << read.body;
    EXPECT_EQ(read.json().at("MeshGateway").at("Mode").as_string(), "local");
  }
  // Check-and-set is the primary's: "must not exist yet" fails now, wherever it is sent.
  EXPECT_EQ(call(*secondary, "PUT", "/v1/config?cas=0", entry).body, "false");
  // A write to the primary reaches the secondary by replication.
  put(*primary, "/v1/config", R"({"Kind": "service-defaults", "Name": "api", "MeshGateway": {"Mode": "remote"}})");
  EXPECT_TRUE(eventually([&] { return call(*secondary, "GET", "/v1/config/service-defaults/api").status == 200; }));
  // A delete sent to the secondary: gone from both.
  EXPECT_EQ(call(*secondary, "DELETE", "/v1/config/proxy-defaults/global").body, "true");
  EXPECT_EQ(call(*secondary, "GET", "/v1/config/proxy-defaults/global").status, 404);
  EXPECT_EQ(call(*primary, "GET", "/v1/config/proxy-defaults/global").status, 404);
}

TEST_F(federation_e2e, healthy_gateways_are_published_and_the_other_datacenter_routes_and_resolves_to_them) {
  start_secondary();
  ASSERT_TRUE(eventually([&] { return joined(); }));
  const auto td = trust_domain();
  // A gateway in each datacenter; dc2's has a TTL check we can fail.
  put(*primary, "/v1/agent/service/register", R"({"Name": "mesh-gateway", "Kind": "mesh-gateway", "Port": 8443,
    "Address": "10.1.0.1", "TaggedAddresses": {"lan": {"Address": "10.1.0.1", "Port": 8443},
                                               "wan": {"Address": "192.0.2.1", "Port": 443}}})");
  put(*secondary, "/v1/agent/service/register", R"({"Name": "mesh-gateway", "Kind": "mesh-gateway", "Port": 8443,
    "Address": "10.2.0.1", "TaggedAddresses": {"lan": {"Address": "10.2.0.1", "Port": 8443},
                                               "wan": {"Address": "192.0.2.2", "Port": 443}},
    "Check": {"CheckID": "gw-ttl", "TTL": "60s", "Status": "passing"}})");
  // A dc1 sidecar with upstreams into dc2 under each mode.
  put(*primary, "/v1/agent/service/register", R"({"Name": "web-sidecar-proxy", "Kind": "connect-proxy", "Port": 21000,
    "Proxy": {"DestinationServiceName": "web", "LocalServicePort": 8080,
              "Upstreams": [{"DestinationName": "api", "Datacenter": "dc2", "LocalBindPort": 9191, "MeshGateway": {"Mode": "remote"}},
                            {"DestinationName": "db", "Datacenter": "dc2", "LocalBindPort": 9192, "MeshGateway": {"Mode": "local"}},
                            {"DestinationName": "cache", "Datacenter": "dc2", "LocalBindPort": 9193, "MeshGateway": {"Mode": "none"}}]}})");

  const auto gateway_routes_dc2 = [&] {
    const auto r = call(*primary, "GET", "/v1/meshgate/proxy/mesh-gateway");
    if (r.status != 200) return std::string();
    const auto s = proxycfg::parse_proxy_snapshot(r.body, proxycfg::field_check::strict);
    const auto& clusters = s.gateway->at("clusters").as_object();
    const auto* dc2 = clusters.if_contains("datacenter:dc2");
    return dc2 ? json::serialize(dc2->at("endpoints")) : std::string();
  };
  // dc1's gateway routes *.dc2.internal.<td> to dc2's gateway at its WAN address.
  ASSERT_TRUE(eventually([&] { return gateway_routes_dc2() == R"(["192.0.2.2:443"])"; })) << gateway_routes_dc2();
  const auto gw = proxycfg::parse_proxy_snapshot(call(*primary, "GET", "/v1/meshgate/proxy/mesh-gateway").body,
                                                 proxycfg::field_check::strict);
  EXPECT_NE(json::serialize(gw.gateway->at("routes")).find("*.dc2.internal." + td), std::string::npos);

  const auto sidecar = proxycfg::parse_proxy_snapshot(call(*primary, "GET", "/v1/meshgate/proxy/web-sidecar-proxy").body,
                                                      proxycfg::field_check::strict);
  ASSERT_EQ(sidecar.sidecar->upstreams.size(), 3u);
  const auto& remote = sidecar.sidecar->upstreams[0];
  EXPECT_EQ(remote.mode, "remote");
  EXPECT_EQ(remote.sni, "api.default.dc2.internal." + td);
  EXPECT_EQ(remote.endpoints, std::vector<std::string>{"192.0.2.2:443"}) << "dc2's gateway, WAN";
  const auto& local = sidecar.sidecar->upstreams[1];
  EXPECT_EQ(local.mode, "local");
  EXPECT_EQ(local.endpoints, std::vector<std::string>{"10.1.0.1:8443"}) << "dc1's own gateway, LAN";

  // Mode none dials cache's sidecars in dc2 directly, at their WAN address, healthy ones:
  // dc1 follows them on dc2's server.
  put(*secondary, "/v1/agent/service/register", R"({"ID": "cache-sidecar-proxy", "Name": "cache-sidecar-proxy",
    "Kind": "connect-proxy", "Address": "10.2.0.7", "Port": 21002,
    "TaggedAddresses": {"wan": {"Address": "192.0.2.7", "Port": 21002}},
    "Proxy": {"DestinationServiceName": "cache", "LocalServicePort": 6379},
    "Check": {"CheckID": "cache-ttl", "TTL": "60s", "Status": "passing"}})");
  const auto none_endpoints = [&] {
    const auto s = proxycfg::parse_proxy_snapshot(call(*primary, "GET", "/v1/meshgate/proxy/web-sidecar-proxy").body,
                                                  proxycfg::field_check::strict);
    EXPECT_EQ(s.sidecar->upstreams[2].mode, "none");
    return s.sidecar->upstreams[2].endpoints;
  };
  EXPECT_TRUE(eventually([&] { return none_endpoints() == std::vector<std::string>{"192.0.2.7:21002"}; }));
  put(*secondary, "/v1/agent/check/fail/cache-ttl", "");
  EXPECT_TRUE(eventually([&] { return none_endpoints().empty(); })) << "a failing sidecar in dc2 is not dialled";

  // dc2's gateway fails its check: dc2 stops publishing it, and dc1 stops routing to it.
  put(*secondary, "/v1/agent/check/fail/gw-ttl", "");
  EXPECT_TRUE(eventually([&] { return gateway_routes_dc2().empty(); }));
  const auto states = call(*primary, "GET", "/v1/meshgate/federation/states").json();
  EXPECT_EQ(states.at(1).at("Datacenter").as_string(), "dc2");
  EXPECT_TRUE(states.at(1).at("MeshGateways").as_array().empty());
}

TEST_F(federation_e2e, the_secondary_keeps_serving_without_the_primary_and_catches_up_when_it_returns) {
  start_secondary();
  ASSERT_TRUE(eventually([&] { return joined(); }));
  put(*secondary, "/v1/config", R"({"Kind": "service-defaults", "Name": "api", "Protocol": "tcp"})");
  const auto address = primary->address();
  primary->process().signal(SIGKILL);
  ASSERT_TRUE(primary->process().wait_for_exit(10s));

  // Reads are answered from what the secondary has; a config write says where it must go.
  EXPECT_EQ(call(*secondary, "GET", "/v1/config/service-defaults/api").status, 200);
  EXPECT_EQ(call(*secondary, "GET", "/v1/catalog/datacenters").body, R"(["dc2","dc1"])");
  const auto refused = call(*secondary, "PUT", "/v1/config", R"({"Kind": "service-defaults", "Name": "db"})");
  EXPECT_EQ(refused.status, 502);
  EXPECT_NE(refused.body.find("primary datacenter (dc1)"), std::string::npos) << refused.body;
  const auto away = call(*secondary, "GET", "/v1/catalog/services?dc=dc1");
  EXPECT_EQ(away.status, 502) << away.body;

  // The primary returns where it was; what it gets meanwhile reaches the secondary.
  primary = std::make_unique<server_process>(dir, dir / "dc1", std::vector<std::string>{"-http-addr", address});
  put(*primary, "/v1/config", R"({"Kind": "service-defaults", "Name": "db", "Protocol": "tcp"})");
  EXPECT_TRUE(eventually([&] { return call(*secondary, "GET", "/v1/config/service-defaults/db").status == 200; }, 60s));
  EXPECT_TRUE(eventually([&] { return call(*secondary, "PUT", "/v1/config", R"({"Kind": "service-defaults", "Name": "web"})").status == 200; }, 60s));
}

TEST_F(federation_e2e, the_same_upstream_takes_its_mode_from_the_highest_layer_set_across_datacenters) {
  start_secondary();
  ASSERT_TRUE(eventually([&] { return joined(); }));
  const auto web = [&](const std::string& proxy_mode, const std::string& upstream_mode) {
    std::string proxy = proxy_mode.empty() ? "" : R"(, "MeshGateway": {"Mode": ")" + proxy_mode + R"("})";
    std::string upstream = upstream_mode.empty() ? "" : R"(, "MeshGateway": {"Mode": ")" + upstream_mode + R"("})";
    put(*primary, "/v1/agent/service/register", R"({"Name": "web-sidecar-proxy", "Kind": "connect-proxy", "Port": 21000,
      "Proxy": {"DestinationServiceName": "web", "LocalServicePort": 8080)" + proxy + R"(,
                "Upstreams": [{"DestinationName": "api", "Datacenter": "dc2", "LocalBindPort": 9191)" + upstream + "}]}}");
  };
  const auto resolved = [&] {
    const auto s = proxycfg::parse_proxy_snapshot(call(*primary, "GET", "/v1/meshgate/proxy/web-sidecar-proxy").body,
                                                  proxycfg::field_check::strict);
    return s.sidecar->upstreams.at(0).mode + " from " + s.sidecar->upstreams.at(0).mode_source;
  };
  web("", "");
  EXPECT_EQ(resolved(), "none from default");
  // Each layer set in turn, lowest first; each new one takes over. Config entries are
  // written to dc2 and reach dc1 through the primary.
  put(*secondary, "/v1/config", R"({"Kind": "proxy-defaults", "Name": "global", "MeshGateway": {"Mode": "local"}})");
  EXPECT_TRUE(eventually([&] { return resolved() == "local from proxy-defaults"; })) << resolved();
  put(*secondary, "/v1/config", R"({"Kind": "service-defaults", "Name": "api", "MeshGateway": {"Mode": "remote"}})");
  EXPECT_TRUE(eventually([&] { return resolved() == "remote from service-defaults"; })) << resolved();
  web("local", "");
  EXPECT_EQ(resolved(), "local from proxy registration");
  web("local", "none");
  EXPECT_EQ(resolved(), "none from upstream");
  // Within one datacenter no layer matters.
  put(*primary, "/v1/agent/service/register", R"({"Name": "web-sidecar-proxy", "Kind": "connect-proxy", "Port": 21000,
    "Proxy": {"DestinationServiceName": "web", "LocalServicePort": 8080,
              "Upstreams": [{"DestinationName": "api", "LocalBindPort": 9191, "MeshGateway": {"Mode": "remote"}}]}})");
  EXPECT_EQ(resolved(), "none from same datacenter");
}

TEST_F(federation_e2e, a_forwarded_read_carries_its_path_query_and_the_callers_token) {
  // A datacenter whose "server" is a socket of the test: what arrives is what was forwarded.
  std::uint16_t port = 0;
  auto far_server = listen_tcp(port);
  ASSERT_TRUE(far_server);
  put(*primary, "/v1/meshgate/federation/state",
      R"({"Datacenter": "dc9", "PrimaryDatacenter": "dc1", "ServerAddress": "127.0.0.1:)" + std::to_string(port) +
          R"(", "MeshGateways": []})");
  child_process client({"curl", "--silent", "--max-time", "20", "-H", "X-Consul-Token: s3cret", "--write-out",
                        " %{http_code}", "http://" + primary->address() + "/v1/health/service/web%20x?dc=dc9&passing"},
                       dir / "forwarded");
  pollfd ready{far_server.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&ready, 1, 10000), 1) << "nothing was forwarded";
  fd_t forwarded(::accept(far_server.get(), nullptr, nullptr));
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    const auto n = ::recv(forwarded.get(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
  }
  ASSERT_TRUE(send_all(forwarded.get(), std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                                    "X-Consul-Index: 77\r\nContent-Length: 2\r\n\r\n[]")));
  forwarded.reset();
  EXPECT_NE(request.find("GET /v1/health/service/web%20x?"), std::string::npos) << request;
  EXPECT_NE(request.find("dc=dc9"), std::string::npos) << request;
  EXPECT_NE(request.find("passing"), std::string::npos) << request;
  EXPECT_NE(request.find("X-Consul-Token: s3cret"), std::string::npos) << request;
  ASSERT_TRUE(client.wait_for_exit(20s));
  EXPECT_EQ(client.out(), "[] 200") << "dc9's answer relayed as it came";
}

}  // namespace
}  // namespace meshgate::test
