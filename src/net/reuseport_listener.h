#pragma once
// Listening sockets for N worker threads, one per worker, all on one address.
//
// Each worker accepts on its own socket (SO_REUSEPORT): the kernel spreads new
// connections over them, and no two threads contend for one accept queue. The sockets
// are made on one thread so that a port of 0 resolves to one port shared by all.

#include <boost/asio/ip/tcp.hpp>
#include <vector>

#include "net/endpoint.h"

namespace meshgate::net {

/// An owned, listening socket descriptor not yet given to an io_context.
class listening_fd {
 public:
  listening_fd() = default;
  explicit listening_fd(int fd) noexcept : fd_(fd) {}
  listening_fd(listening_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  listening_fd& operator=(listening_fd&& other) noexcept;
  listening_fd(const listening_fd&) = delete;
  listening_fd& operator=(const listening_fd&) = delete;
  ~listening_fd();

  int get() const noexcept { return fd_; }
  /// Gives up ownership (to an acceptor).
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

/// Binds `count` SO_REUSEPORT sockets to `endpoint` and listens on them. If the port is 0
/// the first socket picks one and the rest bind to it. Throws boost::system::system_error
/// naming the address on failure (in use, not local, no permission).
std::vector<listening_fd> open_reuseport_listeners(const tcp_endpoint& endpoint, std::size_t count,
                                                   int backlog);

/// The address a listening descriptor is bound to.
tcp_endpoint local_endpoint_of(int fd);

}  // namespace meshgate::net
