#include "net/socket_options.h"

#include <unistd.h>

#include <cerrno>

namespace meshgate::net {

int start_connect(const tcp_endpoint& endpoint, int& fd) noexcept {
  fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  delay_acks(fd);
  if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0 && errno != EINPROGRESS) {
    const int error = errno;
    ::close(fd);
    fd = -1;
    return error;
  }
  return 0;
}

}  // namespace meshgate::net
