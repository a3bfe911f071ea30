// Two datacenters on isolated networks (network_lab.h): dc1's LAN, dc2's LAN and a WAN
// between them, each a bridge in its own namespace, every process in a host namespace of
// its own. Only the gateways and the servers have a leg on the WAN; a LAN reaches the WAN
// through its router (so a sidecar can dial another datacenter's gateway), and nothing on
// the WAN can reach into a LAN except the gateways themselves.
//
//   WAN 10.71.0.0/24:  s1 .2  s2 .3  g1a .11  g1b .12  g2a .13  g2b .14  r1 .101  r2 .102
//   dc1 10.71.1.0/24:  r1 .1  s1 .2  g1a .11  g1b .12  w1 .21 (web's sidecar, curl)
//   dc2 10.71.2.0/24:  r2 .1  s2 .2  g2a .11  g2b .12  a2 .21 (api's sidecar, api)
//   (the mode none test gives a2 a WAN leg, .21, and says so in the sidecar's registration)
//
// Which gateways a request crossed is read from their own counters; what crossed the WAN
// is read from a tcpdump capture on the WAN bridge.

#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

#include "e2e/network_lab.h"
#include "e2e/server_fixture.h"

namespace meshgate::test {
namespace {

namespace json = boost::json;

const char* const api_page = "hello from api in dc2, on its own LAN";

class isolated_datacenters : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto why = network_lab::unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
    lab = std::make_unique<network_lab>();
    lab->add_switch("wan");
    lab->add_switch("lan1");
    lab->add_switch("lan2");
    lab->add_host("r1", {{"lan1", "10.71.1.1/24"}, {"wan", "10.71.0.101/24"}});
    lab->add_host("r2", {{"lan2", "10.71.2.1/24"}, {"wan", "10.71.0.102/24"}});
    lab->enable_forwarding("r1");
    lab->enable_forwarding("r2");
    lab->add_host("s1", {{"lan1", "10.71.1.2/24"}, {"wan", "10.71.0.2/24"}});
    lab->add_host("s2", {{"lan2", "10.71.2.2/24"}, {"wan", "10.71.0.3/24"}});
    const std::map<std::string, std::pair<std::string, std::string>> gateways = {
        {"g1a", {"10.71.1.11", "10.71.0.11"}}, {"g1b", {"10.71.1.12", "10.71.0.12"}},
        {"g2a", {"10.71.2.11", "10.71.0.13"}}, {"g2b", {"10.71.2.12", "10.71.0.14"}}};
    for (const auto& [host, a] : gateways) {
      const bool dc1 = host[1] == '1';
      lab->add_host(host, {{dc1 ? "lan1" : "lan2", a.first + "/24"}, {"wan", a.second + "/24"}});
      // Replies to sidecars of the other datacenter that dial us directly (mode remote).
      lab->add_route(host, dc1 ? "10.71.2.0/24" : "10.71.1.0/24", dc1 ? "10.71.0.102" : "10.71.0.101");
    }
    lab->add_host("w1", {{"lan1", "10.71.1.21/24"}});
    lab->add_host("a2", {{"lan2", "10.71.2.21/24"}});
    lab->add_route("w1", "default", "10.71.1.1");
    lab->add_route("a2", "default", "10.71.2.1");

    start("s1", "server-dc1", {"server", "-datacenter", "dc1", "-data-dir", (dir / "dc1").string(), "-http-addr",
                               "0.0.0.0:8500", "-advertise-wan", "10.71.0.2", "-node", "s1"});
    ASSERT_TRUE(eventually([&] { return call("s1", "GET", "/v1/status/leader").status == 200; }, 20s));
    start("s2", "server-dc2", {"server", "-datacenter", "dc2", "-primary-datacenter", "dc1", "-primary-addr",
                               "10.71.0.2:8500", "-data-dir", (dir / "dc2").string(), "-http-addr", "0.0.0.0:8500",
                               "-advertise-wan", "10.71.0.3", "-node", "s2"});
    ASSERT_TRUE(eventually([&] { return call("s1", "GET", "/v1/catalog/datacenters").body == R"(["dc1","dc2"])"; }, 20s));
    for (const auto& [host, a] : gateways) {
      const bool dc1 = host[1] == '1';
      start(host, "gateway-" + host,
            {"gateway", "-register", "-proxy-id", "gateway-" + host, "-address", a.first + ":8443", "-wan-address",
             a.second + ":8443", "-http-addr", (dc1 ? "10.71.1.2" : "10.71.2.2") + std::string(":8500"),
             "-admin-addr", "127.0.0.1:19100", "-workers", "1"});
    }
    // api: a plain HTTP server on a2's loopback, reachable only through its sidecar.
    std::filesystem::create_directories(dir / "www");
    write_text(dir / "www" / "index.html", std::string(api_page) + "\n");
    processes.push_back(std::make_unique<child_process>(
        lab->in("a2", {"python3", "-u", "-m", "http.server", "8080", "--bind", "127.0.0.1", "--directory",
                       (dir / "www").string()}),
        dir / "api-app"));
    register_api_sidecar("");
    start("a2", "sidecar-api", {"proxy", "-sidecar-for", "api", "-http-addr", "10.71.2.2:8500", "-admin-addr",
                                "127.0.0.1:19000"});
    ASSERT_TRUE(eventually([&] { return call("a2", "GET", "/ready", "", "127.0.0.1:19000").status == 200; }, 20s));
    // Both datacenters know both of dc2's gateways, healthy.
    ASSERT_TRUE(eventually([&] {
      const auto states = call("s1", "GET", "/v1/meshgate/federation/states");
      return states.status == 200 && states.body.find("10.71.0.13:8443") != std::string::npos &&
             states.body.find("10.71.0.14:8443") != std::string::npos &&
             states.body.find("10.71.0.11:8443") != std::string::npos &&
             states.body.find("10.71.0.12:8443") != std::string::npos;
    }, 30s));
    // And every gateway has its routes: dc1's to dc2, dc2's to api.
    for (const auto& [host, a] : gateways) {
      const auto wanted = host[1] == '1' ? std::string("\"*.dc2.internal.") : std::string("\"api.default.dc2.internal.");
      ASSERT_TRUE(eventually([&, h = host] {
        return call(h, "GET", "/config", "", "127.0.0.1:19100").body.find(wanted) != std::string::npos;
      }, 20s)) << host << " never got its route " << wanted;
    }
  }

  void start(const std::string& host, const std::string& tag, std::vector<std::string> argv) {
    argv.insert(argv.begin(), MESHGATE_BINARY);
    processes.push_back(std::make_unique<child_process>(lab->in(host, argv), dir / tag));
    by_tag[tag] = processes.back().get();
  }

  /// curl inside `host`, against `address` (its server by default).
  curl_result call(const std::string& host, const std::string& method, const std::string& path,
                   const std::string& body = {}, const std::string& address = "127.0.0.1:8500") {
    const auto tag = "curl-" + std::to_string(++calls);
    std::vector<std::string> argv = {"curl", "--silent", "--max-time", "15", "-X", method, "--output",
                                     (dir / (tag + ".body")).string(), "--write-out", "%{http_code}"};
    if (!body.empty()) {
      write_text(dir / (tag + ".request"), body);
      argv.insert(argv.end(), {"--data-binary", "@" + (dir / (tag + ".request")).string()});
    }
    argv.push_back("http://" + address + path);
    curl_result r;
    run_command(lab->in(host, argv), dir / tag, 20s);
    const auto code = read_text(dir / (tag + ".out"));
    r.status = code.empty() ? 0 : std::stoi(code);
    r.body = read_text(dir / (tag + ".body"));
    return r;
  }
  /// api's sidecar on a2, listening on every address a2 has; `wan_address`, if set, is the
  /// TaggedAddresses.wan other datacenters dial in mode none.
  void register_api_sidecar(const std::string& wan_address) {
    const auto tagged = wan_address.empty() ? std::string()
                                            : R"("TaggedAddresses": {"wan": {"Address": ")" + wan_address + R"(", "Port": 21001}},)";
    put("s2", R"({"ID": "api-sidecar-proxy", "Name": "api-sidecar-proxy", "Kind": "connect-proxy",
      "Address": "10.71.2.21", "Port": 21001, )" + tagged + R"(
      "Proxy": {"DestinationServiceName": "api", "DestinationServiceID": "api", "LocalServicePort": 8080,
                "Config": {"bind_address": "0.0.0.0"}}})");
  }
  void put(const std::string& server_host, const std::string& registration) {
    const auto r = call(server_host, "PUT", "/v1/agent/service/register", registration);
    ASSERT_EQ(r.status, 200) << registration << ": " << r.body;
  }

  /// web's sidecar on w1 with its upstream api in dc2 (on w1's 127.0.0.1:9191).
  void start_web(const std::string& upstream_mode) {
    std::string mode;
    if (!upstream_mode.empty()) {
      mode = R"(, "MeshGateway": {"Mode": ")" + upstream_mode + R"("}, "Config": {"connect_timeout_ms": 1000})";
    }
    put("s1", R"({"ID": "web-sidecar-proxy", "Name": "web-sidecar-proxy", "Kind": "connect-proxy",
      "Address": "10.71.1.21", "Port": 21000,
      "Proxy": {"DestinationServiceName": "web", "DestinationServiceID": "web", "LocalServicePort": 8081,
                "Upstreams": [{"DestinationName": "api", "Datacenter": "dc2", "LocalBindPort": 9191)" +
                   mode + "}]}}");
    start("w1", "sidecar-web", {"proxy", "-sidecar-for", "web", "-http-addr", "10.71.1.2:8500", "-admin-addr",
                                "127.0.0.1:19000"});
    ASSERT_TRUE(eventually([&] { return call("w1", "GET", "/ready", "", "127.0.0.1:19000").status == 200; }, 20s));
  }
  /// web's application asks api through its sidecar.
  curl_result through_web() { return call("w1", "GET", "/", "", "127.0.0.1:9191"); }
  std::size_t web_endpoints() {
    const auto r = call("w1", "GET", "/config", "", "127.0.0.1:19000");
    if (r.status != 200) return 0;
    return json::parse(r.body).at("sidecar").at("upstreams").at(0).at("endpoints").as_array().size();
  }
  /// Connections the pair of gateways on `hosts` routed by routes starting with `prefix`.
  std::uint64_t routed(const std::vector<std::string>& hosts, const std::string& prefix) {
    std::uint64_t n = 0;
    for (const auto& host : hosts) {
      const auto r = call(host, "GET", "/stats", "", "127.0.0.1:19100");
      if (r.status != 200) continue;  // a gateway the test killed
      const auto stats = json::parse(r.body);
      for (const auto& route : stats.at("routes").as_array()) {
        if (std::string(route.at("route").as_string()).starts_with(prefix)) {
          n += route.at("connections").to_number<std::uint64_t>();
        }
      }
    }
    return n;
  }

  temp_dir dir;
  std::unique_ptr<network_lab> lab;  // destroyed after the processes below
  std::vector<std::unique_ptr<child_process>> processes;
  std::map<std::string, child_process*> by_tag;
  int calls = 0;
};

// An HTTP/1.0 GET that reads the first bytes, prints "started", then reads nothing more
// until the file argv[4] exists (60 s at most), then reads to the end into argv[5].
constexpr const char* paused_reader = R"(
import os, socket, sys, time
host, port, path, go, out = sys.argv[1:6]
s = socket.create_connection((host, int(port)), timeout=60)
s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\nHost: api\r\n\r\n")
data = s.recv(4096)
print("started", flush=True)
deadline = time.time() + 60
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.02)
while True:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    data += chunk
open(out, "wb").write(data)
)";

const std::vector<std::string> dc1_gateways = {"g1a", "g1b"};
const std::vector<std::string> dc2_gateways = {"g2a", "g2b"};

TEST_F(isolated_datacenters, mode_local_from_a_config_entry_written_in_dc2_crosses_both_gateways_and_the_wan_sees_only_tls) {
  // Written to dc2, forwarded to dc1, replicated back: it applies in both.
  const auto written = call("s2", "PUT", "/v1/config",
                            R"({"Kind": "proxy-defaults", "Name": "global", "MeshGateway": {"Mode": "local"}})");
  ASSERT_EQ(written.status, 200) << written.body;
  EXPECT_EQ(call("s1", "GET", "/v1/config/proxy-defaults/global").status, 200);
  start_web("");
  ASSERT_TRUE(eventually([&] { return web_endpoints() == 2; }, 20s)) << "dc1's two gateways";

  // Everything on the WAN's ports (every leg plugged into its bridge) while the request crosses.
  processes.push_back(std::make_unique<child_process>(
      lab->in("wan", {"tcpdump", "-i", "any", "-n", "-U", "--immediate-mode", "-w", (dir / "wan.pcap").string()}), dir / "tcpdump"));
  auto* capture = processes.back().get();
  ASSERT_TRUE(eventually([&] { return capture->err().find("listening on") != std::string::npos; }));
  const auto r = through_web();
  ASSERT_EQ(r.status, 200) << by_tag["sidecar-web"]->err();
  EXPECT_EQ(r.body, std::string(api_page) + "\n");
  // What the capture holds, read by tcpdump itself (written packet by packet: -U).
  std::string wan;
  const auto read_capture = [&] {
    run_command({"tcpdump", "-r", (dir / "wan.pcap").string(), "-n", "-A"}, dir / "pcap", 20s);
    wan = read_text(dir / "pcap.out");
    return wan.find("10.71.0.13.8443") != std::string::npos || wan.find("10.71.0.14.8443") != std::string::npos;
  };
  const bool crossed = eventually(read_capture, 10s);
  capture->signal(SIGINT);
  ASSERT_TRUE(capture->wait_for_exit(10s));
  read_capture();

  EXPECT_EQ(routed(dc1_gateways, "*.dc2."), 1u) << "dc1's gateway sent it on by dc2's wildcard";
  EXPECT_EQ(routed(dc2_gateways, "api."), 1u) << "dc2's gateway routed it by api's SNI";
  // From one of dc1's gateways to one of dc2's, on the gateway port.
  EXPECT_TRUE(crossed) << "no connection to dc2's gateways on the WAN; tcpdump said:\n"
                       << read_text(dir / "tcpdump.err") << "\ncaptured:\n" << wan.substr(0, 2000)
                       << read_text(dir / "pcap.err");
  EXPECT_EQ(wan.find("hello from api"), std::string::npos) << "the application's answer crossed the WAN in clear";
  EXPECT_EQ(wan.find("GET / HTTP"), std::string::npos) << "the application's request crossed the WAN in clear";
}

TEST_F(isolated_datacenters, mode_remote_crosses_only_the_destinations_gateway) {
  start_web("remote");
  ASSERT_TRUE(eventually([&] { return web_endpoints() == 2; }, 20s)) << "dc2's two gateways";
  const auto r = through_web();
  ASSERT_EQ(r.status, 200) << by_tag["sidecar-web"]->err();
  EXPECT_EQ(r.body, std::string(api_page) + "\n");
  EXPECT_EQ(routed(dc2_gateways, "api."), 1u);
  EXPECT_EQ(routed(dc1_gateways, "*.dc2."), 0u) << "dc1's gateways are not on a remote-mode path";
}

TEST_F(isolated_datacenters, losing_a_gateway_of_each_pair_and_then_dc2s_server_keeps_requests_flowing) {
  start_web("local");
  ASSERT_TRUE(eventually([&] { return web_endpoints() == 2; }, 20s));
  ASSERT_EQ(through_web().status, 200);
  by_tag["gateway-g1a"]->signal(SIGKILL);
  by_tag["gateway-g2a"]->signal(SIGKILL);
  ASSERT_TRUE(by_tag["gateway-g1a"]->wait_for_exit(10s));
  ASSERT_TRUE(by_tag["gateway-g2a"]->wait_for_exit(10s));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(through_web().status, 200) << "request " << i << " after the gateways died";

  // A download held open across the loss of dc2's server: the reader takes the first
  // bytes, then stops reading (so 8 MiB back up through every hop) until the test says go.
  std::string big;
  for (int i = 0; big.size() < (8u << 20); ++i) big += "line " + std::to_string(i) + " of a long answer\n";
  write_text(dir / "www" / "big.txt", big);
  const auto go = dir / "download.go";
  processes.push_back(std::make_unique<child_process>(
      lab->in("w1", {"python3", "-c", paused_reader, "127.0.0.1", "9191", "/big.txt", go.string(),
                     (dir / "big.out").string()}),
      dir / "download"));
  auto* download = processes.back().get();
  ASSERT_TRUE(eventually([&] { return download->out().find("started") != std::string::npos; }, 20s))
      << "the download never started: " << download->err();

  by_tag["server-dc2"]->signal(SIGKILL);
  ASSERT_TRUE(by_tag["server-dc2"]->wait_for_exit(10s));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(through_web().status, 200) << "request " << i << " without dc2's server";
  ASSERT_TRUE(download->running()) << "the download ended before it was let go: " << download->err();
  write_text(go, "");
  const auto status = download->wait_for_exit(60s);
  ASSERT_TRUE(status.has_value()) << "the download never finished";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << download->err();
  const auto got = read_text(dir / "big.out");
  const auto body = got.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << got.substr(0, 200);
  EXPECT_NE(got.find(" 200 "), std::string::npos) << got.substr(0, body);
  EXPECT_EQ(got.substr(body + 4), big) << "the established connection lost or changed bytes";
}

TEST_F(isolated_datacenters, mode_none_fails_on_isolated_lans_and_works_once_the_sidecars_are_reachable) {
  start_web("none");
  // dc1 learns api's sidecar in dc2 from dc2's server: its address is on dc2's LAN.
  ASSERT_TRUE(eventually([&] { return web_endpoints() == 1; }, 20s));
  const auto web_config = call("w1", "GET", "/config", "", "127.0.0.1:19000");
  EXPECT_NE(web_config.body.find("10.71.2.21:21001"), std::string::npos) << web_config.body;
  // Nothing routes from dc1's LAN into dc2's: the sidecar cannot connect, and says so.
  EXPECT_EQ(through_web().status, 0);
  EXPECT_TRUE(eventually([&] {
    const auto stats = call("w1", "GET", "/stats", "", "127.0.0.1:19000");
    return stats.body.find("\"upstream_unavailable\":1") != std::string::npos;
  })) << call("w1", "GET", "/stats", "", "127.0.0.1:19000").body;

  // The test gives api's sidecar a WAN-reachable address: a leg on the WAN, and the
  // registration's TaggedAddresses.wan saying so. dc1 learns it from dc2's server, and the
  // same request now goes sidecar to sidecar across the WAN, past no gateway.
  lab->add_leg("a2", "wan", "10.71.0.21/24");
  lab->add_route("a2", "10.71.1.0/24", "10.71.0.101");  // answers to dc1 go back the way they came
  register_api_sidecar("10.71.0.21");
  ASSERT_TRUE(eventually([&] {
    return call("w1", "GET", "/config", "", "127.0.0.1:19000").body.find("\"10.71.0.21:21001\"") != std::string::npos;
  }, 20s)) << "dc1 never learnt the sidecar's WAN address";
  const auto r = through_web();
  ASSERT_EQ(r.status, 200) << by_tag["sidecar-web"]->err();
  EXPECT_EQ(r.body, std::string(api_page) + "\n");
  EXPECT_EQ(routed(dc1_gateways, "*.dc2."), 0u);
  EXPECT_EQ(routed(dc2_gateways, "api."), 0u) << "mode none goes past the gateways";
}

TEST_F(isolated_datacenters, an_upstreams_own_mode_beats_every_other_layer_three_upstreams_three_paths) {
  // proxy-defaults says local for everything; each upstream overrides it with its own.
  ASSERT_EQ(call("s1", "PUT", "/v1/config",
                 R"({"Kind": "proxy-defaults", "Name": "global", "MeshGateway": {"Mode": "local"}})").status, 200);
  // db and cache: two more services in dc2, each with its own sidecar on a2, same application.
  for (const auto& [name, port] : std::vector<std::pair<std::string, int>>{{"db", 21002}, {"cache", 21003}}) {
    put("s2", R"({"ID": ")" + name + R"(-sidecar-proxy", "Name": ")" + name + R"(-sidecar-proxy",
      "Kind": "connect-proxy", "Address": "10.71.2.21", "Port": )" + std::to_string(port) +
                  R"(, "Proxy": {"DestinationServiceName": ")" + name + R"(", "DestinationServiceID": ")" + name +
                  R"(", "LocalServicePort": 8080}})");
    start("a2", "sidecar-" + name, {"proxy", "-sidecar-for", name, "-http-addr", "10.71.2.2:8500", "-admin-addr",
                                    "127.0.0.1:" + std::to_string(port - 2000)});
    ASSERT_TRUE(eventually([&, p = port] {
      return call("a2", "GET", "/ready", "", "127.0.0.1:" + std::to_string(p - 2000)).status == 200;
    }, 20s));
  }
  for (const auto& host : dc2_gateways) {
    ASSERT_TRUE(eventually([&] { return call(host, "GET", "/config", "", "127.0.0.1:19100").body.find("\"db.default.dc2") != std::string::npos; }, 20s));
  }
  lab->add_route("r1", "10.71.2.0/24", "10.71.0.102");  // mode none needs the sidecars reachable
  lab->add_route("r2", "10.71.1.0/24", "10.71.0.101");
  put("s1", R"({"ID": "web-sidecar-proxy", "Name": "web-sidecar-proxy", "Kind": "connect-proxy",
    "Address": "10.71.1.21", "Port": 21000,
    "Proxy": {"DestinationServiceName": "web", "DestinationServiceID": "web", "LocalServicePort": 8081,
              "Upstreams": [{"DestinationName": "api", "Datacenter": "dc2", "LocalBindPort": 9191},
                            {"DestinationName": "db", "Datacenter": "dc2", "LocalBindPort": 9192, "MeshGateway": {"Mode": "remote"}},
                            {"DestinationName": "cache", "Datacenter": "dc2", "LocalBindPort": 9193, "MeshGateway": {"Mode": "none"}}]}})");
  start("w1", "sidecar-web", {"proxy", "-sidecar-for", "web", "-http-addr", "10.71.1.2:8500", "-admin-addr",
                              "127.0.0.1:19000"});
  ASSERT_TRUE(eventually([&] {
    const auto r = call("w1", "GET", "/config", "", "127.0.0.1:19000");
    if (r.status != 200) return false;
    const auto upstreams = json::parse(r.body).at("sidecar").at("upstreams");
    for (const auto& u : upstreams.as_array()) {
      if (u.at("endpoints").as_array().empty()) return false;
    }
    return true;
  }, 20s));
  const auto config = json::parse(call("w1", "GET", "/config", "", "127.0.0.1:19000").body);
  const auto& ups = config.at("sidecar").at("upstreams").as_array();
  EXPECT_EQ(ups.at(0).at("mode").as_string(), "local");
  EXPECT_EQ(ups.at(0).at("mode_source").as_string(), "proxy-defaults");
  EXPECT_EQ(ups.at(1).at("mode").as_string(), "remote");
  EXPECT_EQ(ups.at(1).at("mode_source").as_string(), "upstream");
  EXPECT_EQ(ups.at(2).at("mode").as_string(), "none");
  EXPECT_EQ(ups.at(2).at("mode_source").as_string(), "upstream");

  for (const auto* port : {"9191", "9192", "9193"}) {
    const auto r = call("w1", "GET", "/", "", std::string("127.0.0.1:") + port);
    EXPECT_EQ(r.status, 200) << port;
    EXPECT_EQ(r.body, std::string(api_page) + "\n") << port;
  }
  EXPECT_EQ(routed(dc1_gateways, "*.dc2."), 1u) << "only api (local) crossed dc1's gateways";
  EXPECT_EQ(routed(dc2_gateways, "api."), 1u) << "api: dc1's gateway, then dc2's";
  EXPECT_EQ(routed(dc2_gateways, "db."), 1u) << "db (remote): dc2's gateway only";
  EXPECT_EQ(routed(dc2_gateways, "cache."), 0u) << "cache (none): sidecar to sidecar";
}

}  // namespace
}  // namespace meshgate::test
