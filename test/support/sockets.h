#pragma once
// Blocking socket helpers for tests, every call bounded by a timeout.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "support/process.h"

namespace meshgate::test {

/// An owned descriptor.
class fd_t {
 public:
  fd_t() = default;
  explicit fd_t(int fd) noexcept : fd_(fd) {}
  fd_t(fd_t&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  fd_t& operator=(fd_t&& o) noexcept;
  ~fd_t();
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset() noexcept;

 private:
  int fd_ = -1;
};

/// "127.0.0.1:1234" -> connected blocking TCP socket, or an invalid fd_t.
fd_t connect_tcp(const std::string& address);
/// A listening socket on 127.0.0.1, port picked by the system; its port in `port`.
fd_t listen_tcp(std::uint16_t& port, int backlog = 128);
/// A listening socket on 127.0.0.1:`port` (one the test was given earlier), or an invalid fd_t.
fd_t listen_tcp_on(std::uint16_t port, int backlog = 128);

bool send_all(int fd, std::span<const std::uint8_t> data);
bool send_all(int fd, const std::string& data);
/// Reads exactly `n` bytes (or fewer if the peer closes), waiting at most `timeout`.
std::string recv_exactly(int fd, std::size_t n, std::chrono::milliseconds timeout = 10s);
/// Reads until the peer closes or `timeout`; `closed` says which.
std::string recv_until_close(int fd, bool& closed, std::chrono::milliseconds timeout = 10s);
/// True if the peer closed (EOF or reset) within `timeout`, discarding any bytes.
bool peer_closes(int fd, std::chrono::milliseconds timeout = 10s);

/// A minimal HTTP/1.0 GET; returns status code and body, or nullopt if unreachable.
struct http_reply {
  int status = 0;
  std::string body;
};
std::optional<http_reply> http_get(const std::string& address, const std::string& path);
/// Any method, with a body; nullopt if the server is unreachable or the answer cut short.
std::optional<http_reply> http_request(const std::string& address, const std::string& method,
                                       const std::string& path, const std::string& body = {});

}  // namespace meshgate::test
