#pragma once
// A plain TCP backend for end-to-end tests: echoes every byte back, on its own thread, for
// any number of connections; counts what it saw.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace meshgate::test {

class echo_server {
 public:
  /// Listens on 127.0.0.1, on a port the system picks.
  echo_server();
  ~echo_server();
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const noexcept { return port_; }
  std::uint64_t accepted() const noexcept { return accepted_; }
  std::uint64_t open() const noexcept { return open_; }

 private:
  void run();
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> open_{0};
  std::thread thread_;
};

}  // namespace meshgate::test
