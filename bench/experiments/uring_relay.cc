// Experiment (not part of meshgate): the relay's copy loop on io_uring, to compare with
// the recv()/send() relay the gateway uses. See README.md here for how it was run and
// what it measured.
//
// A deliberately minimal TCP relay: accept, connect to the backend, then per direction a
// 256 KiB buffer with one recv and one send in flight at a time through io_uring (no
// routing: a ClientHello is passed on like any other byte). Throughput mode only.
//
//   uring_relay LISTEN_PORT BACKEND_PORT

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

constexpr std::size_t buffer_size = 256 * 1024;

struct direction {
  int from, to;
  std::unique_ptr<char[]> buffer{new char[buffer_size]};
  std::size_t length = 0, sent = 0;
};

struct pair {
  direction up, down;
};

enum op : std::uint64_t { op_recv = 0, op_send = 1 };

io_uring ring;

void submit_recv(direction* d) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  io_uring_prep_recv(sqe, d->from, d->buffer.get(), buffer_size, 0);
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(d) | op_recv);
}

void submit_send(direction* d) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  io_uring_prep_send(sqe, d->to, d->buffer.get() + d->sent, d->length - d->sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uint64_t>(d) | op_send);
}

int connect_backend(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) std::exit(1);
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: uring_relay LISTEN_PORT BACKEND_PORT\n");
    return 2;
  }
  const int backend_port = std::atoi(argv[2]);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int on = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(listener, 128) != 0) {
    std::perror("listen");
    return 1;
  }
  io_uring_queue_init(256, &ring, 0);
  io_uring_sqe* accept_sqe = io_uring_get_sqe(&ring);
  io_uring_prep_multishot_accept(accept_sqe, listener, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(accept_sqe, 0);
  io_uring_submit(&ring);
  std::vector<std::unique_ptr<pair>> pairs;
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) != 0) continue;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const std::uint64_t data = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      if (data == 0) {  // accepted
        if (res < 0) continue;
        ::setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        auto p = std::make_unique<pair>();
        const int backend = connect_backend(backend_port);
        p->up.from = res;
        p->up.to = backend;
        p->down.from = backend;
        p->down.to = res;
        submit_recv(&p->up);
        submit_recv(&p->down);
        pairs.push_back(std::move(p));
        continue;
      }
      auto* d = reinterpret_cast<direction*>(data & ~std::uint64_t{1});
      if ((data & 1) == op_recv) {
        if (res <= 0) {
          ::shutdown(d->to, SHUT_WR);
          continue;
        }
        d->length = static_cast<std::size_t>(res);
        d->sent = 0;
        submit_send(d);
      } else {
        if (res <= 0) continue;
        d->sent += static_cast<std::size_t>(res);
        if (d->sent < d->length) {
          submit_send(d);
        } else {
          submit_recv(d);
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
    io_uring_submit(&ring);
  }
}
