#include "net/reuseport_listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/system/system_error.hpp>
#include <cerrno>

namespace meshgate::net {

namespace {

[[noreturn]] void throw_errno(int error, const std::string& what, const tcp_endpoint& endpoint) {
  throw boost::system::system_error(error, boost::system::system_category(),
                                    what + " " + to_string(endpoint));
}

listening_fd open_one(const tcp_endpoint& endpoint, int backlog) {
  const int family = endpoint.address().is_v6() ? AF_INET6 : AF_INET;
  listening_fd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw_errno(errno, "socket for", endpoint);
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    throw_errno(errno, "setsockopt SO_REUSEPORT on", endpoint);
  }
  // Accepted sockets inherit TCP_NODELAY from the listener on Linux: relayed TLS records
  // never wait for Nagle, and no connection pays a setsockopt for it.
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (::bind(fd.get(), endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    throw_errno(errno, "bind", endpoint);
  }
  if (::listen(fd.get(), backlog) != 0) throw_errno(errno, "listen on", endpoint);
  return fd;
}

}  // namespace

listening_fd& listening_fd::operator=(listening_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

listening_fd::~listening_fd() {
  if (fd_ >= 0) ::close(fd_);
}

tcp_endpoint local_endpoint_of(int fd) {
  tcp_endpoint endpoint;
  socklen_t length = static_cast<socklen_t>(endpoint.capacity());
  if (::getsockname(fd, endpoint.data(), &length) != 0) {
    throw boost::system::system_error(errno, boost::system::system_category(), "getsockname");
  }
  endpoint.resize(length);
  return endpoint;
}

std::vector<listening_fd> open_reuseport_listeners(const tcp_endpoint& endpoint, std::size_t count,
                                                   int backlog) {
  std::vector<listening_fd> fds;
  tcp_endpoint bound = endpoint;
  for (std::size_t i = 0; i < count; ++i) {
    fds.push_back(open_one(bound, backlog));
    if (i == 0) bound = local_endpoint_of(fds.front().get());
  }
  return fds;
}

}  // namespace meshgate::net
