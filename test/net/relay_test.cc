// The relay over real loopback sockets: bytes intact both ways, half-close, back-pressure
// without unbounded memory, resets passed on, no buffer held once idle.

#include "net/relay.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "support/sockets.h"

namespace meshgate::net {
namespace {

using namespace std::chrono_literals;
using test::fd_t;

/// A connected pair of loopback TCP sockets.
std::pair<fd_t, fd_t> tcp_pair() {
  std::uint16_t port = 0;
  auto listener = test::listen_tcp(port);
  auto client = test::connect_tcp("127.0.0.1:" + std::to_string(port));
  fd_t server(::accept(listener.get(), nullptr, nullptr));
  return {std::move(client), std::move(server)};
}

void set_non_blocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

/// client <-> [down | relay | up] <-> server, the relay on its own loop thread.
class relay_harness final : relay_observer {
 public:
  relay_harness() {
    auto [c, d] = tcp_pair();
    auto [u, s] = tcp_pair();
    client = std::move(c);
    server = std::move(s);
    down_ = std::move(d);
    up_ = std::move(u);
    set_non_blocking(down_.get());
    set_non_blocking(up_.get());
    loop_.post([this] {
      loop_.watch(down_.get(), down_events_);
      loop_.watch(up_.get(), up_events_);
      relay_.start(down_.get(), {true, true, false}, up_.get(), {true, true, false});
    });
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~relay_harness() {
    loop_.stop();
    thread_.join();
  }

  relay_end wait_end() { return ended_.get_future().get(); }
  bool ended_within(std::chrono::milliseconds t) {
    return test::eventually([&] { return end_seen_.load(); }, t);
  }
  std::size_t spares_in_use() {
    std::promise<std::size_t> p;
    loop_.post([&] { p.set_value(scratch_.spares_in_use()); });
    return p.get_future().get();
  }

  fd_t client;
  fd_t server;
  std::atomic<std::uint64_t> to_upstream{0};
  std::atomic<std::uint64_t> to_downstream{0};

 private:
  struct events final : io_handler {
    events(relay& target, bool upstream) : r(target), up(upstream) {}
    void on_io(std::uint32_t e) noexcept override { r.on_io(up, e); }
    relay& r;
    bool up;
  };
  void on_relayed(relay_direction d, std::size_t n) noexcept override {
    (d == relay_direction::downstream_to_upstream ? to_upstream : to_downstream) += n;
  }
  void on_relay_end(relay_end end) noexcept override {
    if (end != relay_end::finished) {
      const ::linger reset{1, 0};
      ::setsockopt(down_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      ::setsockopt(up_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    down_.reset();
    up_.reset();
    end_seen_ = true;
    ended_.set_value(end);
  }

  event_loop loop_;
  relay_scratch scratch_{64 * 1024};
  relay relay_{loop_, scratch_, *this};
  fd_t down_, up_;
  events down_events_{relay_, false};
  events up_events_{relay_, true};
  std::promise<relay_end> ended_;
  std::atomic<bool> end_seen_{false};
  std::thread thread_;
};

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) % 251);
  return s;
}

TEST(relay, moves_bytes_both_ways_intact_and_finishes_on_two_fins) {
  relay_harness h;
  const auto up_data = pattern(8 << 20, 1);
  const auto down_data = pattern(6 << 20, 2);
  auto send_up = std::async(std::launch::async, [&] {
    test::send_all(h.client.get(), up_data);
    ::shutdown(h.client.get(), SHUT_WR);
  });
  auto send_down = std::async(std::launch::async, [&] {
    test::send_all(h.server.get(), down_data);
    ::shutdown(h.server.get(), SHUT_WR);
  });
  bool closed_at_server = false, closed_at_client = false;
  auto at_server = std::async(std::launch::async, [&] {
    return test::recv_until_close(h.server.get(), closed_at_server, 60s);
  });
  const auto at_client = test::recv_until_close(h.client.get(), closed_at_client, 60s);
  send_up.get();
  send_down.get();
  EXPECT_TRUE(at_server.get() == up_data);
  EXPECT_TRUE(at_client == down_data);
  EXPECT_TRUE(closed_at_server && closed_at_client);
  EXPECT_EQ(h.wait_end(), relay_end::finished);
  EXPECT_EQ(h.to_upstream, up_data.size());
  EXPECT_EQ(h.to_downstream, down_data.size());
}

// A client that half-closes still gets the server's answer.
TEST(relay, passes_a_half_close_on_and_keeps_the_other_direction) {
  relay_harness h;
  ASSERT_TRUE(test::send_all(h.client.get(), "question"));
  ::shutdown(h.client.get(), SHUT_WR);
  bool eof = false;
  EXPECT_EQ(test::recv_until_close(h.server.get(), eof), "question");
  EXPECT_TRUE(eof);  // the FIN came through
  ASSERT_TRUE(test::send_all(h.server.get(), "answer"));
  EXPECT_EQ(test::recv_exactly(h.client.get(), 6), "answer");
  EXPECT_FALSE(h.ended_within(50ms));  // one direction is still open
  ::shutdown(h.server.get(), SHUT_WR);
  EXPECT_EQ(h.wait_end(), relay_end::finished);
}

// A reader that stops reading stops the writer: the relay parks one chunk at most per
// direction and gives it back when the reader catches up.
TEST(relay, holds_back_when_the_reader_stalls_and_frees_its_buffer_after) {
  relay_harness h;
  set_non_blocking(h.client.get());
  const auto data = pattern(64 * 1024, 3);
  std::size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  int blocked_rounds = 0;
  while (blocked_rounds < 20 && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::send(h.client.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      blocked_rounds = 0;
    } else {
      ++blocked_rounds;
      std::this_thread::sleep_for(5ms);  // pacing a writer, not waiting for a condition
    }
  }
  ASSERT_EQ(blocked_rounds, 20) << "the writer was never held back";
  EXPECT_LT(written, 64u << 20);  // socket buffers and one chunk, not unbounded
  EXPECT_EQ(h.spares_in_use(), 1u);
  std::string received = test::recv_exactly(h.server.get(), written, 30s);
  EXPECT_EQ(received.size(), written);
  EXPECT_TRUE(test::eventually([&] { return h.spares_in_use() == 0; }));
}

TEST(relay, resets_the_other_side_when_one_side_resets) {
  relay_harness h;
  ASSERT_TRUE(test::send_all(h.client.get(), "x"));
  EXPECT_EQ(test::recv_exactly(h.server.get(), 1), "x");
  const ::linger reset{1, 0};
  ::setsockopt(h.client.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  h.client.reset();
  EXPECT_EQ(h.wait_end(), relay_end::reset);
  char byte;
  EXPECT_TRUE(test::eventually([&] {
    const ssize_t n = ::recv(h.server.get(), &byte, 1, MSG_DONTWAIT);
    return n < 0 && errno == ECONNRESET;
  }));
}

}  // namespace
}  // namespace meshgate::net
