// Running the gateway: time caps, reloads, drains, limits, the admin endpoint, errors.

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "e2e/gateway_fixture.h"
#include "support/client_hello_builder.h"
#include "support/echo_server.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

const std::string bench_sni = "bench.dc1.internal.example.consul";

class gateway_operations : public ::testing::Test {
 protected:
  /// A connection through the gateway whose hello has been echoed back: relaying.
  fd_t relayed_connection(const std::string& address) {
    auto fd = connect_tcp(address);
    EXPECT_TRUE(send_all(fd.get(), hello));
    EXPECT_EQ(recv_exactly(fd.get(), hello.size()).size(), hello.size());
    return fd;
  }
  static bool still_relays(int fd, const std::string& message = "ping") {
    return send_all(fd, message) && recv_exactly(fd, message.size()) == message;
  }

  temp_dir dir;
  echo_server echo;
  const bytes hello = read_capture("curl.bin");
};

// A client that connects and says nothing is closed at the hello time cap, and counted,
// while a relayed connection goes on exchanging bytes the whole time.
TEST_F(gateway_operations, closes_a_silent_client_at_the_time_cap_while_others_flow) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}),
                     {"-hello-timeout", "1s"});
  auto busy = relayed_connection(gw.listener());
  auto silent = connect_tcp(gw.listener());
  auto half = connect_tcp(gw.listener());
  ASSERT_TRUE(send_all(half.get(), std::span(hello).first(100)));  // half a ClientHello
  bool closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(still_relays(busy.get()));
    closed = peer_closes(silent.get(), std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(peer_closes(half.get()));
  EXPECT_EQ(gw.closed("hello_timeout"), 2u);
  EXPECT_TRUE(still_relays(busy.get()));
}

// SIGHUP swaps the routes: new connections follow the new routes, the open one keeps its
// backend and goes on relaying.
TEST_F(gateway_operations, reloads_routes_on_sighup_without_dropping_connections) {
  echo_server other;
  gateway_process gw(dir, routes_json({{bench_sni, "one"}}, {{"one", {echo.address()}}}));
  auto before = relayed_connection(gw.listener());
  EXPECT_EQ(echo.accepted(), 1u);
  gw.reload(routes_json({{bench_sni, "two"}}, {{"two", {other.address()}}}));
  EXPECT_EQ(gw.stats().at("config").at("version").to_number<int>(), 2);
  auto after = relayed_connection(gw.listener());
  EXPECT_EQ(other.accepted(), 1u);
  EXPECT_EQ(echo.accepted(), 1u);
  EXPECT_TRUE(still_relays(before.get(), "old route"));
  EXPECT_TRUE(still_relays(after.get(), "new route"));
  EXPECT_EQ(gw.closed("reset"), 0u);
}

// Listeners are reconciled by name on reload: a new one opens, a removed one closes, and
// connections accepted by the removed one go on.
TEST_F(gateway_operations, opens_and_closes_listeners_on_reload) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}));
  const auto wan = gw.listener("wan");
  auto on_wan = relayed_connection(wan);
  auto two = boost::json::parse(routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}));
  auto& listeners = two.at("listeners").as_array();
  listeners.push_back(boost::json::object{{"name", "lan"}, {"address", "127.0.0.1"}, {"port", 0}});
  gw.reload(boost::json::serialize(two));
  const auto lan = gw.listener("lan");
  EXPECT_EQ(gw.listener("wan"), wan);  // unchanged: the same socket
  auto on_lan = relayed_connection(lan);
  listeners.erase(listeners.begin());  // only "lan" now
  gw.reload(boost::json::serialize(two));
  EXPECT_TRUE(eventually([&] { return !connect_tcp(wan); }));
  EXPECT_TRUE(still_relays(on_wan.get(), "accepted by a listener that is gone"));
  EXPECT_TRUE(still_relays(relayed_connection(lan).get()));
}

TEST_F(gateway_operations, keeps_its_config_when_a_reload_is_bad) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}));
  gw.reload(R"({"listeners": [], "routes": [], "clusters": {}})");
  const auto config = gw.stats().at("config");
  EXPECT_EQ(config.at("reloads_failed").to_number<int>(), 1);
  EXPECT_EQ(config.at("version").to_number<int>(), 1);
  auto fd = relayed_connection(gw.listener());
  EXPECT_TRUE(still_relays(fd.get()));
  EXPECT_NE(gw.process().err().find("reload failed"), std::string::npos);
}

// SIGTERM: not ready any more, no new connections, open ones finish; then a clean exit.
TEST_F(gateway_operations, drains_on_sigterm) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}),
                     {"-drain-timeout", "60s"});
  const auto address = gw.listener();
  auto open = relayed_connection(address);
  gw.process().signal(SIGTERM);
  EXPECT_TRUE(eventually([&] {
    const auto ready = http_get(gw.admin(), "/ready");
    return ready && ready->status == 503;
  }));
  EXPECT_TRUE(eventually([&] { return !connect_tcp(address); }));
  EXPECT_TRUE(still_relays(open.get(), "during the drain"));
  EXPECT_TRUE(gw.process().running());
  ::shutdown(open.get(), SHUT_WR);
  EXPECT_TRUE(peer_closes(open.get()));
  const auto status = gw.process().wait_for_exit(std::chrono::seconds(10));
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_NE(gw.process().err().find("drained"), std::string::npos);
}

TEST_F(gateway_operations, closes_what_is_left_when_the_drain_times_out) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}),
                     {"-drain-timeout", "300ms"});
  auto open = relayed_connection(gw.listener());
  gw.process().signal(SIGTERM);
  EXPECT_TRUE(peer_closes(open.get()));
  const auto status = gw.process().wait_for_exit(std::chrono::seconds(10));
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_NE(gw.process().err().find("drain timeout: closing 1 connections"), std::string::npos);
}

TEST_F(gateway_operations, closes_connections_over_the_limit_at_once) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}),
                     {"-max-connections", "2"});
  auto a = relayed_connection(gw.listener());
  auto b = relayed_connection(gw.listener());
  auto c = connect_tcp(gw.listener());
  EXPECT_TRUE(peer_closes(c.get()));
  EXPECT_EQ(gw.closed("connection_limit"), 1u);
  EXPECT_TRUE(still_relays(a.get()));
  a.reset();
  EXPECT_TRUE(eventually([&] { return gw.active() == 1; }));
  auto d = relayed_connection(gw.listener());
  EXPECT_TRUE(still_relays(d.get()));
}

TEST_F(gateway_operations, closes_an_idle_relayed_connection_after_the_idle_timeout) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}),
                     {"-idle-timeout", "500ms"});
  auto fd = relayed_connection(gw.listener());
  EXPECT_TRUE(peer_closes(fd.get()));
  EXPECT_EQ(gw.closed("idle_timeout"), 1u);
}

// A client that half-closes after its request still gets the whole answer.
TEST_F(gateway_operations, relays_the_answer_after_the_client_half_closes) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}));
  auto fd = connect_tcp(gw.listener());
  ASSERT_TRUE(send_all(fd.get(), hello));
  ASSERT_TRUE(send_all(fd.get(), std::string(100000, 'q')));
  ::shutdown(fd.get(), SHUT_WR);
  bool closed = false;
  EXPECT_EQ(recv_until_close(fd.get(), closed).size(), hello.size() + 100000);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(eventually([&] { return gw.closed("finished") == 1; }));
  EXPECT_EQ(gw.route_stat(bench_sni, "bytes_to_upstream"), hello.size() + 100000);
  EXPECT_EQ(gw.route_stat(bench_sni, "bytes_to_downstream"), hello.size() + 100000);
}

TEST_F(gateway_operations, serves_readiness_stats_prometheus_and_config) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}));
  auto refused = connect_tcp(gw.listener());
  send_all(refused.get(), read_capture("openssl-3.0-othersni.bin"));
  EXPECT_TRUE(peer_closes(refused.get()));
  EXPECT_EQ(http_get(gw.admin(), "/ready")->status, 200);
  const auto prometheus = http_get(gw.admin(), "/stats/prometheus");
  ASSERT_TRUE(prometheus);
  EXPECT_NE(prometheus->body.find("# TYPE meshgate_gateway_connections_closed_total counter"),
            std::string::npos);
  EXPECT_NE(prometheus->body.find(
                "meshgate_gateway_connections_closed_total{reason=\"unknown_sni\"} 1\n"),
            std::string::npos);
  EXPECT_NE(prometheus->body.find("meshgate_gateway_route_connections_total{route=\"" +
                                  bench_sni + "\"} 0\n"),
            std::string::npos);
  const auto config = boost::json::parse(http_get(gw.admin(), "/config")->body);
  EXPECT_EQ(config.at("config").at("routes").at(0).at("sni").as_string(), bench_sni);
  EXPECT_EQ(http_get(gw.admin(), "/nope")->status, 404);
}

// A worker busy-polls after handling events and then sleeps (-busy-poll-us, default 50);
// the admin endpoints count both. With -busy-poll-us 0 it never polls.
TEST_F(gateway_operations, counts_busy_polls_and_turns_them_off_with_a_zero_window) {
  for (const std::string window : {"50", "0"}) {
    gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}),
                       window == "0" ? std::vector<std::string>{"-busy-poll-us", "0"} : std::vector<std::string>{});
    auto fd = relayed_connection(gw.listener());
    EXPECT_TRUE(still_relays(fd.get()));
    auto slept = [&] { return gw.stats().at("busy_polls").at("slept").to_number<std::uint64_t>(); };
    if (window == "50") {
      // Once the exchange is over the worker polls for 50 µs, finds nothing and sleeps.
      EXPECT_TRUE(eventually([&] { return slept() >= 1; }));
      const auto prometheus = http_get(gw.admin(), "/stats/prometheus");
      ASSERT_TRUE(prometheus);
      EXPECT_NE(prometheus->body.find("meshgate_gateway_busy_polls_total{outcome=\"slept\"} "),
                std::string::npos);
    } else {
      EXPECT_EQ(slept(), 0U);
      EXPECT_EQ(gw.stats().at("busy_polls").at("found_work").to_number<std::uint64_t>(), 0U);
    }
  }
}

TEST_F(gateway_operations, runs_several_workers_on_one_port) {
  gateway_process gw(dir, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}),
                     {"-workers", "3"});
  std::vector<fd_t> open;
  for (int i = 0; i < 30; ++i) open.push_back(relayed_connection(gw.listener()));
  for (auto& fd : open) EXPECT_TRUE(still_relays(fd.get()));
  EXPECT_EQ(gw.active(), 30);
}

struct bad_start {
  std::string routes;
  std::vector<std::string> flags;
  int exit_code;
  std::string message;
};

// A bad routes file or flag stops the gateway before it starts, saying what is wrong.
TEST_F(gateway_operations, refuses_to_start_with_a_bad_routes_file_or_flag) {
  const std::string good = routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}});
  std::uint16_t taken = 0;
  auto holder = listen_tcp(taken);
  const std::vector<bad_start> cases = {
      {R"({"listeners": [{"name": "wan", "address": "127.0.0.1", "port": 0}],
           "routes": [{"sni": "a.b", "cluster": "nope"}], "clusters": {}})",
       {}, 1, "routes[0].cluster: \"nope\" is not defined in \"clusters\""},
      {"{ not json", {}, 1, "routes.json:1:3: invalid JSON"},
      {good, {"-hello-timeout", "10"}, 2, "-hello-timeout: \"10\" is not a positive duration"},
      {good, {"-max-hello-bytes", "100000"}, 2, "max-hello-bytes"},
      {good, {"-busy-poll-us", "20000"}, 2, "busy-poll-us: Value 20000 not in range 0 to 10000"},
      {good, {"-admin-addr", "localhost:1"}, 2, "-admin-addr: \"localhost:1\" is not an IP:PORT"},
      // The reason, and nothing after it (Boost would add its source location).
      {good, {"-admin-addr", "127.0.0.1:" + std::to_string(taken)}, 1,
       "admin: bind 127.0.0.1:" + std::to_string(taken) + ": Address already in use\n"},
      {good, {"-log-level", "loud"}, 2, "unknown log level \"loud\""},
      {good, {"-no-such-flag"}, 2, "no-such-flag"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto routes = dir / "routes.json";
    write_text(routes, c.routes);
    std::vector<std::string> argv = {MESHGATE_BINARY, "gateway", "-routes-file", routes.string()};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    const auto log = dir / ("bad-" + std::to_string(i));
    EXPECT_EQ(run_command(argv, log, std::chrono::seconds(10)), c.exit_code) << i;
    const auto err = read_text(log.string() + ".err");
    EXPECT_NE(err.find(c.message), std::string::npos) << i << ": " << err;
  }
}

TEST_F(gateway_operations, validates_a_routes_file_without_starting) {
  const auto routes = dir / "routes.json";
  write_text(routes, routes_json({{bench_sni, "echo"}}, {{"echo", {echo.address()}}}));
  EXPECT_EQ(run_command({MESHGATE_BINARY, "gateway", "-routes-file", routes.string(), "-validate"},
                        dir / "validate"),
            0);
  EXPECT_NE(read_text(dir / "validate.out").find("ok (1 listeners, 1 routes, 1 clusters)"),
            std::string::npos);
}

}  // namespace
}  // namespace meshgate::test
