// Many connections at once: 5,000 held open and relayed through one gateway worker.

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "e2e/gateway_fixture.h"
#include "support/client_hello_builder.h"
#include "support/echo_server.h"
#include "support/sockets.h"

namespace meshgate::test {
namespace {

constexpr int connections = 5000;

void raise_descriptor_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// Every connection sends a ClientHello and a payload of its own and gets both back from
// the echo backend while all 5,000 are open together; then all close cleanly.
TEST(gateway_load, holds_and_relays_5000_concurrent_connections) {
  raise_descriptor_limit();
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 2 * connections + 200) {
    GTEST_SKIP() << "needs " << 2 * connections + 200 << " descriptors, the limit is "
                 << limit.rlim_cur;
  }
  temp_dir dir;
  echo_server echo;
  gateway_process gw(dir, routes_json({{"bench.dc1.internal.example.consul", "echo"}},
                                      {{"echo", {echo.address()}}}));
  const auto address = gw.listener();
  const auto hello = read_capture("curl.bin");

  struct client {
    fd_t fd;
    std::string expected;
    std::string received;
  };
  std::vector<client> clients(connections);
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  int done = 0;
  // Open them in waves so that the listen backlog is never what is being tested.
  for (int i = 0; i < connections; ++i) {
    auto& c = clients[i];
    c.fd = connect_tcp(address);
    ASSERT_TRUE(c.fd) << "connection " << i;
    c.expected.assign(hello.begin(), hello.end());
    c.expected += "payload of connection " + std::to_string(i);
    ASSERT_TRUE(send_all(c.fd.get(), c.expected));
    ::fcntl(c.fd.get(), F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd.get(), &ev);
  }
  // Collect every echo; the gateway must hold them all at once.
  epoll_event events[512];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  char buffer[4096];
  while (done < connections && std::chrono::steady_clock::now() < deadline) {
    const int n = ::epoll_wait(epoll_fd, events, 512, 1000);
    for (int k = 0; k < n; ++k) {
      auto& c = clients[events[k].data.u32];
      const ssize_t got = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
      if (got <= 0) continue;
      c.received.append(buffer, static_cast<std::size_t>(got));
      if (c.received.size() == c.expected.size()) ++done;
    }
  }
  ::close(epoll_fd);
  ASSERT_EQ(done, connections);
  for (const auto& c : clients) ASSERT_TRUE(c.received == c.expected);
  EXPECT_EQ(gw.active(), connections);
  EXPECT_EQ(echo.open(), static_cast<std::uint64_t>(connections));

  clients.clear();  // every client closes
  EXPECT_TRUE(eventually([&] { return gw.closed("finished") == connections; },
                         std::chrono::seconds(30)));
  EXPECT_EQ(gw.active(), 0);
  EXPECT_EQ(gw.closed("reset"), 0u);
}

}  // namespace
}  // namespace meshgate::test
