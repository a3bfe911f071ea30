// The server's HTTP API driven with curl: registrations of every kind (Consul's documented
// bodies), config entries, refusals, health checks run by the server, blocking queries.

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>

#include "e2e/server_fixture.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

class server_api : public ::testing::Test {
 protected:
  curl_result call(const std::string& method, const std::string& path, const std::string& body = {}) {
    return curl(dir, method, server.address(), path, body);
  }
  temp_dir dir;
  server_process server{dir, dir / "data"};
};

// Consul's documentation examples for /v1/agent/service/register (the redis one with its
// script check replaced: script checks are refused, see refuses_bad_input).
const char* const redis = R"({"ID": "redis1", "Name": "redis", "Tags": ["primary", "v1"],
  "Address": "127.0.0.1", "Port": 8000, "Meta": {"redis_version": "4.0"}, "EnableTagOverride": false,
  "Check": {"DeregisterCriticalServiceAfter": "90m", "TTL": "60s"},
  "Weights": {"Passing": 10, "Warning": 1}})";
const char* const web_proxy = R"({"Name": "web-sidecar-proxy", "Kind": "connect-proxy", "Port": 21000,
  "Proxy": {"DestinationServiceName": "web", "DestinationServiceID": "web", "LocalServiceAddress": "127.0.0.1",
            "LocalServicePort": 8080, "Upstreams": [{"DestinationName": "db", "LocalBindPort": 9191}]}})";
const char* const gateway = R"({"Name": "mesh-gateway", "Kind": "mesh-gateway", "Port": 8443,
  "TaggedAddresses": {"lan": {"address": "192.168.0.5", "port": 8443}, "wan": {"address": "198.18.0.1", "port": 443}},
  "Proxy": {"Config": {"connect_timeout_ms": 1000}}})";

TEST_F(server_api, registers_and_deregisters_every_kind_of_service) {
  for (const char* body : {redis, web_proxy, gateway}) {
    EXPECT_EQ(call("PUT", "/v1/agent/service/register", body).status, 200) << body;
  }
  const auto services = call("GET", "/v1/agent/services").json().as_object();
  ASSERT_EQ(services.size(), 3u);
  EXPECT_EQ(services.at("redis1").at("Meta").at("redis_version").as_string(), "4.0");
  EXPECT_EQ(services.at("web-sidecar-proxy").at("Kind").as_string(), "connect-proxy");
  EXPECT_EQ(services.at("mesh-gateway").at("TaggedAddresses").at("wan").at("Port").as_int64(), 443);

  const auto catalog = call("GET", "/v1/catalog/service/redis").json().as_array();
  ASSERT_EQ(catalog.size(), 1u);
  EXPECT_EQ(catalog[0].at("ServicePort").as_int64(), 8000);
  EXPECT_EQ(catalog[0].at("Node").as_string(), "node1");
  const auto connect = call("GET", "/v1/health/connect/web").json().as_array();
  ASSERT_EQ(connect.size(), 1u);
  EXPECT_EQ(connect[0].at("Service").at("ID").as_string(), "web-sidecar-proxy");
  const auto names = call("GET", "/v1/catalog/services").json().as_object();
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(call("GET", "/v1/catalog/datacenters").body, R"(["dc1"])");

  for (const char* id : {"redis1", "web-sidecar-proxy", "mesh-gateway"}) {
    EXPECT_EQ(call("PUT", std::string("/v1/agent/service/deregister/") + id).status, 200);
  }
  EXPECT_EQ(call("GET", "/v1/agent/services").body, "{}");
  EXPECT_EQ(call("GET", "/v1/agent/checks").body, "{}");  // the checks went with them
  const auto missing = call("PUT", "/v1/agent/service/deregister/redis1");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("Unknown service ID"), std::string::npos);
}

TEST_F(server_api, filters_instances_by_tag) {
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name": "web", "ID": "a", "Tags": ["v1", "east"]})").status, 200);
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name": "web", "ID": "b", "Tags": ["v2"]})").status, 200);
  EXPECT_EQ(call("GET", "/v1/catalog/service/web").json().as_array().size(), 2u);
  const auto v1 = call("GET", "/v1/health/service/web?tag=v1").json().as_array();
  ASSERT_EQ(v1.size(), 1u);
  EXPECT_EQ(v1[0].at("Service").at("ID").as_string(), "a");
  EXPECT_EQ(call("GET", "/v1/catalog/service/web?tag=v1&tag=east").json().as_array().size(), 1u);
  EXPECT_TRUE(call("GET", "/v1/catalog/service/web?tag=v1&tag=v2").json().as_array().empty());
}

TEST_F(server_api, refuses_bad_input_naming_the_field_and_stores_nothing) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"Name": "redis", "Check": {"Args": ["/bin/true"], "Interval": "10s"}})", "Check.Args: script checks are disabled"},
      {R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web",
          "Upstreams": [{"DestinationName": "db", "LocalBindPort": 9}, {"DestinationName": "db", "LocalBindPort": 10}]}})",
       "Proxy.Upstreams[1]: a second upstream"},
      {R"({"Name": "p", "Kind": "connect-proxy", "Port": 1, "Proxy": {"DestinationServiceName": "web", "MeshGateway": {"Mode": "always"}}})",
       "Proxy.MeshGateway.Mode"},
      {R"({"Name": "web", "Colour": "blue"})", "Colour: unknown field"},
      {"not json", "not valid JSON"},
  };
  for (const auto& [body, message] : bad) {
    const auto r = call("PUT", "/v1/agent/service/register", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.json().at("Error").as_string().find(message), std::string::npos) << r.body;
  }
  EXPECT_EQ(call("GET", "/v1/agent/services").body, "{}");
  EXPECT_EQ(call("PUT", "/v1/agent/service/register", std::string(2 << 20, ' ')).status, 413);
  EXPECT_EQ(call("GET", "/v1/agent/service/register").status, 405);
  EXPECT_EQ(call("GET", "/v1/no/such/thing").status, 404);
  EXPECT_EQ(call("GET", "/v1/health/service/web?index=abc").status, 400);
  const auto other_dc = call("GET", "/v1/health/service/web?dc=dc9");
  EXPECT_EQ(other_dc.status, 500);
  EXPECT_NE(other_dc.body.find("No path to datacenter"), std::string::npos);
}

TEST_F(server_api, round_trips_config_entries_with_check_and_set) {
  const std::vector<std::string> entries = {
      R"({"Kind": "proxy-defaults", "Name": "global", "Config": {"protocol": "tcp"}, "MeshGateway": {"Mode": "local"}})",
      R"({"Kind": "service-defaults", "Name": "web", "Protocol": "http", "MeshGateway": {"Mode": "remote"}})",
      R"({"Kind": "service-resolver", "Name": "web", "ConnectTimeout": "15s",
          "Failover": {"*": {"Datacenters": ["dc2"]}}})",
      R"({"Kind": "service-intentions", "Name": "db", "Sources": [{"Name": "web", "Action": "allow"}, {"Name": "*", "Action": "deny"}]})",
  };
  for (const auto& e : entries) {
    const auto r = call("PUT", "/v1/config", e);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "true");
  }
  const auto web = call("GET", "/v1/config/service-defaults/web");
  ASSERT_EQ(web.status, 200);
  EXPECT_EQ(web.json().at("MeshGateway").at("Mode").as_string(), "remote");
  const auto modify = web.json().at("ModifyIndex").to_number<std::uint64_t>();
  EXPECT_EQ(call("GET", "/v1/config/service-resolver").json().as_array().size(), 1u);

  const std::string update = R"({"Kind": "service-defaults", "Name": "web", "Protocol": "tcp"})";
  EXPECT_EQ(call("PUT", "/v1/config?cas=0", update).body, "false");  // exists already
  EXPECT_EQ(call("PUT", "/v1/config?cas=" + std::to_string(modify + 100), update).body, "false");
  EXPECT_EQ(call("PUT", "/v1/config?cas=" + std::to_string(modify), update).body, "true");
  EXPECT_EQ(call("GET", "/v1/config/service-defaults/web").json().at("Protocol").as_string(), "tcp");

  const auto bad = call("PUT", "/v1/config", R"({"Kind": "proxy-defaults", "Name": "mine"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("must be \\\"global\\\""), std::string::npos) << bad.body;
  EXPECT_EQ(call("GET", "/v1/config/no-such-kind").status, 400);

  EXPECT_EQ(call("DELETE", "/v1/config/service-defaults/web").body, "true");
  EXPECT_EQ(call("GET", "/v1/config/service-defaults/web").status, 404);
}

// ?filter= on health reads: the subset filter language over each answered entry, as
// Consul's go-bexpr filters; a malformed one is a 400 that says where and why.
TEST_F(server_api, health_reads_take_a_filter_and_refuse_a_bad_one_with_its_position) {
  for (const char* body : {R"({"ID": "db-1", "Name": "db", "Port": 5432, "Tags": ["primary"], "Meta": {"version": "14"}})",
                           R"({"ID": "db-2", "Name": "db", "Port": 5433, "Tags": ["replica"], "Meta": {"version": "15"}})"}) {
    ASSERT_EQ(call("PUT", "/v1/agent/service/register", body).status, 200);
  }
  const auto ids = [&](const std::string& query) {
    std::vector<std::string> out;
    const auto answer = call("GET", "/v1/health/service/db?" + query).json();
    for (const auto& e : answer.as_array()) {
      out.emplace_back(e.at("Service").at("ID").as_string());
    }
    return out;
  };
  EXPECT_EQ(ids("filter=Service.Meta.version%20%3D%3D%2015"), std::vector<std::string>{"db-2"});
  EXPECT_EQ(ids("filter=primary%20in%20Service.Tags"), std::vector<std::string>{"db-1"});
  EXPECT_EQ(ids("filter=Service.Port%20!%3D%200%20and%20Node.Datacenter%20%3D%3D%20dc1").size(), 2u);
  EXPECT_TRUE(ids("filter=Service.Tags%20contains%20nothing").empty());
  const auto bad = call("GET", "/v1/health/service/db?filter=Service.Tags%20%3D%3D%20primary");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("filter: at byte 0: Service.Tags is a list; use contains, in or is empty"), std::string::npos)
      << bad.body;
}

// ?passing follows a TCP check that the server runs: up while something listens, down
// once it stops.
TEST_F(server_api, passing_follows_a_tcp_check_when_its_target_goes_away) {
  std::uint16_t port = 0;
  auto listener = listen_tcp(port);
  const auto body = R"({"Name": "api", "Port": )" + std::to_string(port) +
                    R"(, "Check": {"TCP": "127.0.0.1:)" + std::to_string(port) + R"(", "Interval": "1s", "Timeout": "1s"}})";
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", body).status, 200);
  EXPECT_TRUE(eventually([&] { return call("GET", "/v1/health/service/api?passing").json().as_array().size() == 1; }));
  listener.reset();
  EXPECT_TRUE(eventually([&] { return call("GET", "/v1/health/service/api?passing").json().as_array().empty(); }));
  const auto all = call("GET", "/v1/health/service/api").json().as_array();
  ASSERT_EQ(all.size(), 1u);  // still registered, just not healthy
  EXPECT_EQ(all[0].at("Checks").at(0).at("Status").as_string(), "critical");
  EXPECT_NE(std::string(all[0].at("Checks").at(0).at("Output").as_string()).find("refused"), std::string::npos);
}

TEST_F(server_api, a_service_registered_again_has_its_checks_probed_again_at_once) {
  // A gateway that crashed and came back: its TCP check was critical, the new process
  // listens and registers again. With a one-hour interval only an immediate probe can
  // make it passing within the test's deadline.
  std::uint16_t port = 0;
  { auto probe = listen_tcp(port); }  // a port nothing listens on now
  const auto body = R"({"Name": "gw", "Port": )" + std::to_string(port) +
                    R"(, "Check": {"TCP": "127.0.0.1:)" + std::to_string(port) + R"(", "Interval": "1h", "Timeout": "1s"}})";
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", body).status, 200);
  const auto status = [&] {
    const auto all = call("GET", "/v1/health/service/gw").json();
    return std::string(all.at(0).at("Checks").at(0).at("Status").as_string());
  };
  ASSERT_TRUE(eventually([&] { return status() == "critical"; }));
  auto listener = listen_tcp_on(port);
  ASSERT_TRUE(listener);
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", body).status, 200);
  EXPECT_TRUE(eventually([&] { return status() == "passing"; }, 10s));
}

TEST_F(server_api, runs_ttl_checks_through_pass_warn_fail_and_expiry) {
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name": "job", "Check": {"TTL": "2s"}})").status, 200);
  auto status = [&] { return std::string(call("GET", "/v1/agent/checks").json().at("service:job").at("Status").as_string()); };
  EXPECT_EQ(status(), "critical");
  EXPECT_EQ(call("PUT", "/v1/agent/check/pass/service:job?note=fine").status, 200);
  EXPECT_EQ(status(), "passing");
  EXPECT_EQ(call("GET", "/v1/agent/checks").json().at("service:job").at("Output").as_string(), "fine");
  EXPECT_EQ(call("PUT", "/v1/agent/check/warn/service:job").status, 200);
  EXPECT_EQ(status(), "warning");
  EXPECT_EQ(call("PUT", "/v1/agent/check/pass/service:job").status, 200);
  EXPECT_TRUE(eventually([&] { return status() == "critical"; }));  // no news for 2 s
  EXPECT_EQ(call("GET", "/v1/agent/checks").json().at("service:job").at("Output").as_string(), "TTL expired");
  EXPECT_EQ(call("PUT", "/v1/agent/check/pass/nope").status, 404);
}

TEST_F(server_api, http_checks_follow_the_status_code) {
  std::uint16_t port = 0;
  auto listener = listen_tcp(port);
  // A one-shot HTTP server answering 200 to every connection.
  std::atomic<bool> stop{false};
  std::thread answering([&] {
    while (!stop) {
      fd_t c(::accept(listener.get(), nullptr, nullptr));
      if (!c) break;
      recv_exactly(c.get(), 1, std::chrono::seconds(1));
      send_all(c.get(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    }
  });
  const auto body = R"({"Name": "site", "Check": {"HTTP": "http://127.0.0.1:)" + std::to_string(port) +
                    R"(/health", "Interval": "1s"}})";
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", body).status, 200);
  EXPECT_TRUE(eventually([&] { return call("GET", "/v1/health/service/site?passing").json().as_array().size() == 1; }));
  const auto checks = call("GET", "/v1/agent/checks").json();
  EXPECT_NE(std::string(checks.at("service:site").at("Output").as_string()).find("200 OK Output: ok"), std::string::npos);
  stop = true;
  ::shutdown(listener.get(), SHUT_RDWR);
  answering.join();
}

TEST_F(server_api, deregisters_a_service_critical_for_longer_than_allowed) {
  std::uint16_t dead = 0;
  { auto closed = listen_tcp(dead); }
  const auto body = R"({"Name": "flaky", "Check": {"TCP": "127.0.0.1:)" + std::to_string(dead) +
                    R"(", "Interval": "1s", "DeregisterCriticalServiceAfter": "1s"}})";
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", body).status, 200);
  EXPECT_TRUE(eventually([&] { return call("GET", "/v1/agent/services").body == "{}"; }, std::chrono::seconds(15)));
}

// A blocking query on one service ignores changes to another and returns on its own.
TEST_F(server_api, answers_a_blocking_query_on_a_change_and_not_before) {
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": 80})").status, 200);
  const auto first = call("GET", "/v1/health/service/web");
  ASSERT_FALSE(first.index.empty());
  auto blocked = std::async(std::launch::async, [&] {
    return call("GET", "/v1/health/service/web?index=" + first.index + "&wait=60s");
  });
  // An unrelated change, and proof it was processed: a query on it returns.
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name": "other", "Port": 81})").status, 200);
  ASSERT_EQ(call("GET", "/v1/health/service/other?index=1&wait=10s").status, 200);
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name": "web", "Port": 8080})").status, 200);
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto answer = blocked.get();
  EXPECT_GT(std::stoull(answer.index), std::stoull(first.index));
  EXPECT_EQ(answer.json().at(0).at("Service").at("Port").as_int64(), 8080);
}

TEST_F(server_api, ends_a_blocking_query_when_its_wait_runs_out) {
  const auto first = call("GET", "/v1/catalog/services");
  const auto start = std::chrono::steady_clock::now();
  const auto again = call("GET", "/v1/catalog/services?index=" + first.index + "&wait=1s");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(again.index, first.index);
}

}  // namespace
}  // namespace meshgate::test
