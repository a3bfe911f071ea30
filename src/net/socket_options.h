#pragma once
// Socket settings both proxies use, each with the reason it is there.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "net/endpoint.h"

namespace meshgate::net {

/// close() sends a reset, not a FIN: for a connection that failed, so the peer learns it
/// did not end normally.
inline void set_abortive_close(int fd) noexcept {
  const ::linger option{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
}

/// Lets the kernel hold back the pure ACK that ends the TCP handshake so that it rides on
/// the first data (HAProxy's tcp-smart-connect): one packet less per upstream connection,
/// seen with tcpdump. Set before connect(). The kernel leaves this mode by itself when a
/// delayed ACK times out, so bulk transfers are not affected.
inline void delay_acks(int fd) noexcept {
  const int off = 0;
  ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
}

/// Starts a non-blocking connect to `endpoint` (TCP_NODELAY, delayed ACKs as above). On
/// success `fd` is the new socket, connected or still connecting (EPOLLOUT says when).
/// Returns 0 or an errno value; on failure no socket is left open.
int start_connect(const tcp_endpoint& endpoint, int& fd) noexcept;

}  // namespace meshgate::net
