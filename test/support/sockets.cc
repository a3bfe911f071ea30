#include "support/sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace meshgate::test {

fd_t& fd_t::operator=(fd_t&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}
fd_t::~fd_t() { reset(); }
void fd_t::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {
bool parse(const std::string& address, sockaddr_in& sa) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  return ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) == 1;
}

bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
}
}  // namespace

fd_t connect_tcp(const std::string& address) {
  sockaddr_in sa{};
  if (!parse(address, sa)) return {};
  fd_t fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return {};
  return fd;
}

fd_t listen_tcp(std::uint16_t& port, int backlog) {
  fd_t fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof sa;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(fd.get(), backlog) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &length) != 0) {
    return {};
  }
  port = ntohs(sa.sin_port);
  return fd;
}

fd_t listen_tcp_on(std::uint16_t port, int backlog) {
  fd_t fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd.get(), backlog) != 0) return {};
  return fd;
}

bool send_all(int fd, std::span<const std::uint8_t> data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool send_all(int fd, const std::string& data) {
  return send_all(fd, std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

std::string recv_exactly(int fd, std::size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buffer[16384];
  while (out.size() < n && wait_readable(fd, deadline)) {
    const ssize_t got = ::recv(fd, buffer, std::min(sizeof buffer, n - out.size()), 0);
    if (got <= 0) break;
    out.append(buffer, static_cast<std::size_t>(got));
  }
  return out;
}

std::string recv_until_close(int fd, bool& closed, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buffer[16384];
  closed = false;
  while (wait_readable(fd, deadline)) {
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) {
      closed = true;
      break;
    }
    out.append(buffer, static_cast<std::size_t>(got));
  }
  return out;
}

bool peer_closes(int fd, std::chrono::milliseconds timeout) {
  bool closed = false;
  recv_until_close(fd, closed, timeout);
  return closed;
}

std::optional<http_reply> http_get(const std::string& address, const std::string& path) {
  return http_request(address, "GET", path);
}

std::optional<http_reply> http_request(const std::string& address, const std::string& method,
                                       const std::string& path, const std::string& body) {
  auto fd = connect_tcp(address);
  if (!fd) return std::nullopt;
  if (!send_all(fd.get(), method + " " + path + " HTTP/1.0\r\nHost: " + address +
                              "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body)) {
    return std::nullopt;
  }
  bool closed = false;
  const auto response = recv_until_close(fd.get(), closed);
  if (!closed) return std::nullopt;
  const auto space = response.find(' ');
  const auto header_end = response.find("\r\n\r\n");
  if (space == std::string::npos || header_end == std::string::npos) return std::nullopt;
  return http_reply{std::stoi(response.substr(space + 1, 3)), response.substr(header_end + 4)};
}

}  // namespace meshgate::test
