// The gateway between real TLS clients and servers (curl, openssl s_client, openssl
// s_server): each connection lands on the backend its server name routes to, handshakes
// complete through it untouched, and what cannot be routed is closed and counted.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "e2e/gateway_fixture.h"
#include "support/client_hello_builder.h"
#include "support/echo_server.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

class gateway_routing : public ::testing::Test {
 protected:
  temp_dir dir;
};

// curl verifies each backend's certificate against the name it asked for: a connection
// routed to the wrong backend would fail verification, and a byte changed on the way
// would fail the handshake.
TEST_F(gateway_routing, routes_curl_to_the_backend_its_server_name_names) {
  tls_backend api(dir, api_sni), web(dir, web_sni), dc2(dir, dc2_name);
  gateway_process gw(dir, routes_json({{api_sni, "api"},
                                       {web_sni, "web"},
                                       {"*.dc2.internal.example.consul", "dc2"}},
                                      {{"api", {api.address()}},
                                       {"web", {web.address()}},
                                       {"dc2", {dc2.address()}}}));
  const auto address = gw.listener();
  for (const auto& name : {api_sni, web_sni, dc2_name, api_sni}) {
    EXPECT_EQ(curl_through(dir, "curl", name, address), 0) << name << ": " << read_text(dir / "curl.err");
    EXPECT_NE(read_text(dir / "curl.out").find("s_server"), std::string::npos);
  }
  EXPECT_EQ(gw.route_stat(api_sni, "connections"), 2u);
  EXPECT_EQ(gw.route_stat(web_sni, "connections"), 1u);
  EXPECT_EQ(gw.route_stat("*.dc2.internal.example.consul", "connections"), 1u);
  EXPECT_TRUE(eventually([&] { return gw.closed("finished") == 4; }));
}

TEST_F(gateway_routing, lets_openssl_s_client_verify_the_backend_through_it) {
  tls_backend api(dir, api_sni);
  gateway_process gw(dir, routes_json({{api_sni, "api"}}, {{"api", {api.address()}}}));
  const int rc = run_command({"openssl", "s_client", "-connect", gw.listener(), "-servername",
                              api_sni, "-CAfile", test_pki::get().ca.string(),
                              "-verify_return_error", "-verify_hostname", api_sni, "-brief"},
                             dir / "s_client");
  const auto err = read_text(dir / "s_client.err");
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(err.find("Verification: OK"), std::string::npos) << err;
}

// An echo backend returns exactly the bytes the gateway forwarded: the ClientHello sent
// one byte per TCP segment arrives whole and unchanged, followed by the data after it.
TEST_F(gateway_routing, replays_a_hello_sent_one_byte_per_segment_unchanged) {
  echo_server echo;
  gateway_process gw(dir, routes_json({{"bench.dc1.internal.example.consul", "echo"}},
                                      {{"echo", {echo.address()}}}));
  auto fd = connect_tcp(gw.listener());
  ASSERT_TRUE(fd);
  const int on = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  const auto hello = read_capture("curl.bin");
  for (auto byte : hello) ASSERT_TRUE(send_all(fd.get(), std::span(&byte, 1)));
  ASSERT_TRUE(send_all(fd.get(), "application data"));
  const std::string expected(hello.begin(), hello.end());
  EXPECT_EQ(recv_exactly(fd.get(), expected.size() + 16), expected + "application data");
}

// The same for a hello re-framed into 1-byte TLS records (6 wire bytes per hello byte).
TEST_F(gateway_routing, routes_a_hello_spread_over_one_byte_records) {
  echo_server echo;
  gateway_process gw(dir, routes_json({{"bench.dc1.internal.example.consul", "echo"}},
                                      {{"echo", {echo.address()}}}));
  const auto wire = frame_records(handshake_of(read_capture("gnutls.bin")), 1);
  auto fd = connect_tcp(gw.listener());
  ASSERT_TRUE(send_all(fd.get(), wire));
  EXPECT_EQ(recv_exactly(fd.get(), wire.size()), std::string(wire.begin(), wire.end()));
}

TEST_F(gateway_routing, refuses_and_counts_what_it_cannot_route_while_routing_the_rest) {
  echo_server echo;
  gateway_process gw(dir, routes_json({{"bench.dc1.internal.example.consul", "echo"}},
                                      {{"echo", {echo.address()}}}));
  const auto address = gw.listener();
  auto good = connect_tcp(address);
  const auto hello = read_capture("curl.bin");
  ASSERT_TRUE(send_all(good.get(), hello));
  ASSERT_EQ(recv_exactly(good.get(), hello.size()).size(), hello.size());

  auto refused = [&](const bytes& first_bytes) {
    auto fd = connect_tcp(address);
    send_all(fd.get(), first_bytes);
    return peer_closes(fd.get());
  };
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_TRUE(refused(bytes(http.begin(), http.end())));
  EXPECT_TRUE(refused(read_capture("openssl-3.0-nosni.bin")));
  EXPECT_TRUE(refused(read_capture("openssl-3.0-othersni.bin")));
  hello_spec bad = hello_for("bad_name.example");
  EXPECT_TRUE(refused(frame_records(build_client_hello(bad), 16384)));
  hello_spec huge = hello_for("bench.dc1.internal.example.consul");
  huge.padding = 20000;
  EXPECT_TRUE(refused(frame_records(build_client_hello(huge), 16384)));

  EXPECT_EQ(gw.closed("not_tls"), 1u);
  EXPECT_EQ(gw.closed("no_sni"), 1u);
  EXPECT_EQ(gw.closed("unknown_sni"), 1u);
  EXPECT_EQ(gw.closed("bad_sni"), 1u);
  EXPECT_EQ(gw.closed("hello_too_large"), 1u);
  // The connection that was routed never noticed.
  ASSERT_TRUE(send_all(good.get(), "still here"));
  EXPECT_EQ(recv_exactly(good.get(), 10), "still here");
}

// A post-quantum-sized hello (40 KB) routes once the cap is raised to 64 KiB.
TEST_F(gateway_routing, routes_a_large_hello_under_a_raised_cap) {
  echo_server echo;
  gateway_process gw(dir,
                     routes_json({{"bench.dc1.internal.example.consul", "echo"}},
                                 {{"echo", {echo.address()}}}),
                     {"-max-hello-bytes", "65536"});
  hello_spec spec = hello_for("bench.dc1.internal.example.consul");
  spec.padding = 40000;
  const auto wire = frame_records(build_client_hello(spec), 16384);
  auto fd = connect_tcp(gw.listener());
  ASSERT_TRUE(send_all(fd.get(), wire));
  EXPECT_EQ(recv_exactly(fd.get(), wire.size()).size(), wire.size());
}

// The first endpoint refuses; the next one in the cluster takes the connection.
TEST_F(gateway_routing, fails_over_to_the_next_endpoint) {
  echo_server echo;
  std::uint16_t dead_port = 0;
  { auto dead = listen_tcp(dead_port); }  // bound and closed again: nobody listens there
  gateway_process gw(dir, routes_json({{"bench.dc1.internal.example.consul", "echo"}},
                                      {{"echo", {"127.0.0.1:" + std::to_string(dead_port),
                                                 echo.address()}}}));
  const auto hello = read_capture("curl.bin");
  for (int i = 0; i < 4; ++i) {  // round robin starts at each endpoint in turn
    auto fd = connect_tcp(gw.listener());
    ASSERT_TRUE(send_all(fd.get(), hello));
    EXPECT_EQ(recv_exactly(fd.get(), hello.size()).size(), hello.size()) << i;
  }
  EXPECT_EQ(gw.route_stat("bench.dc1.internal.example.consul", "upstream_connect_failures"), 2u);
  EXPECT_EQ(echo.accepted(), 4u);
}

// An endpoint that never answers a SYN (its accept queue is full) costs the connect
// timeout, then the next endpoint is tried.
TEST_F(gateway_routing, gives_up_on_a_silent_endpoint_after_the_connect_timeout) {
  echo_server echo;
  std::uint16_t full_port = 0;
  auto full = listen_tcp(full_port, 0);
  std::vector<fd_t> queued;  // fill the accept queue; later SYNs are dropped
  for (int i = 0; i < 4; ++i) {
    fd_t fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(full_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    queued.push_back(std::move(fd));
  }
  gateway_process gw(dir, routes_json({{"bench.dc1.internal.example.consul", "echo"}},
                                      {{"echo", {"127.0.0.1:" + std::to_string(full_port),
                                                 echo.address()}}},
                                      300));
  const auto hello = read_capture("curl.bin");
  auto fd = connect_tcp(gw.listener());
  ASSERT_TRUE(send_all(fd.get(), hello));
  EXPECT_EQ(recv_exactly(fd.get(), hello.size()).size(), hello.size());
  EXPECT_EQ(gw.route_stat("bench.dc1.internal.example.consul", "upstream_connect_failures"), 1u);
}

TEST_F(gateway_routing, closes_and_counts_a_connection_no_endpoint_takes) {
  std::uint16_t dead_port = 0;
  { auto dead = listen_tcp(dead_port); }
  gateway_process gw(dir, routes_json({{"bench.dc1.internal.example.consul", "down"}},
                                      {{"down", {"127.0.0.1:" + std::to_string(dead_port)}},
                                       {"empty", {}}}));
  auto fd = connect_tcp(gw.listener());
  ASSERT_TRUE(send_all(fd.get(), read_capture("curl.bin")));
  EXPECT_TRUE(peer_closes(fd.get()));
  EXPECT_EQ(gw.closed("upstream_unavailable"), 1u);
}

}  // namespace
}  // namespace meshgate::test
