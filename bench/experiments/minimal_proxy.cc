// The least work a TCP proxy can do per connection with the socket API, as a yardstick for
// the connection-rate benchmark (README.md in this folder, "How fast can any proxy go").
//
// One thread, one edge-triggered epoll. Per connection: accept4, one recv of the first
// bytes (no parsing: it assumes the ClientHello came in one read, as it does on
// loopback), socket + connect to the one backend, send of those bytes, then both
// directions relayed with half-close passed on (shutdown) and both sockets closed at the
// end. No routing, no timers, no counters, no limits: everything meshgate does beyond the
// system calls is missing on purpose. Not part of meshgate; never run it on a network.
//
//   g++ -O2 -std=c++20 -o minimal_proxy minimal_proxy.cc
//   minimal_proxy LISTEN_PORT BACKEND_PORT [BUSY_POLL_US]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

struct connection;

// What an epoll event points at: one socket of a connection.
struct side {
  explicit side(connection* c) : owner(c) {}
  connection* owner;
  int fd = -1;
  bool eof_seen = false;     // its peer's FIN has been read
  std::vector<char> parked;  // bytes for this socket that did not fit (rare)
};

struct connection {
  side client{this};
  side backend{this};
  bool connecting = false;
  bool finished = false;    // sockets closed; deleted after this batch of events
  std::vector<char> hello;  // the first bytes, until the backend is connected
};

int epoll_fd;
std::vector<connection*> finished_connections;
sockaddr_in backend_address;
char buffer[256 * 1024];

void watch(side& s) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &s;
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, s.fd, &ev);
}

void finish(connection* c) {
  close(c->client.fd);
  if (c->backend.fd >= 0) close(c->backend.fd);
  c->finished = true;
  finished_connections.push_back(c);  // later events of this batch may still point at it
}

// Sends `n` bytes to `to`; parks what does not fit. False on error.
bool send_all(side& to, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = send(to.fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) break;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  to.parked.insert(to.parked.end(), data, data + n);
  return true;
}

// Moves what `from` has to `to`. False when the connection is over.
bool pump(side& from, side& to) {
  if (!to.parked.empty()) return true;  // wait until `to` takes the parked bytes
  for (;;) {
    const ssize_t r = recv(from.fd, buffer, sizeof buffer, 0);
    if (r > 0) {
      if (!send_all(to, buffer, static_cast<size_t>(r))) return false;
      if (!to.parked.empty()) return true;
      if (static_cast<size_t>(r) < sizeof buffer) return true;  // drained
      continue;
    }
    if (r < 0 && errno == EAGAIN) return true;
    if (r < 0) return false;
    from.eof_seen = true;
    if (from.owner->client.eof_seen && from.owner->backend.eof_seen) return false;
    shutdown(to.fd, SHUT_WR);
    return true;
  }
}

void on_client_first_bytes(connection* c) {
  const ssize_t r = recv(c->client.fd, buffer, sizeof buffer, 0);
  if (r < 0 && errno == EAGAIN) return;
  if (r <= 0) return finish(c);
  c->hello.assign(buffer, buffer + r);
  c->backend.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int on = 1, off = 0;
  setsockopt(c->backend.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  setsockopt(c->backend.fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
  if (connect(c->backend.fd, reinterpret_cast<sockaddr*>(&backend_address), sizeof backend_address) != 0 &&
      errno != EINPROGRESS) {
    return finish(c);
  }
  c->connecting = true;
  watch(c->backend);
}

void on_event(side& s, uint32_t events) {
  connection* c = s.owner;
  if (c->finished) return;
  const bool is_client = &s == &c->client;
  if (is_client && c->backend.fd < 0) return on_client_first_bytes(c);
  if (!is_client && c->connecting) {
    if (!(events & EPOLLOUT)) return;
    if (events & (EPOLLERR | EPOLLHUP)) return finish(c);
    c->connecting = false;
    if (!send_all(c->backend, c->hello.data(), c->hello.size())) return finish(c);
    std::vector<char>().swap(c->hello);
    if (!pump(c->client, c->backend) || !pump(c->backend, c->client)) return finish(c);
    return;
  }
  if (c->connecting) return;  // client events before the backend is up: read them later
  side& other = is_client ? c->backend : c->client;
  if ((events & EPOLLOUT) && !s.parked.empty()) {
    std::vector<char> p;
    p.swap(s.parked);
    if (!send_all(s, p.data(), p.size())) return finish(c);
    if (s.parked.empty() && !pump(other, s)) return finish(c);
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !pump(s, other)) return finish(c);
}

double now_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: minimal_proxy LISTEN_PORT BACKEND_PORT [BUSY_POLL_US]\n");
    return 2;
  }
  const double poll_us = argc > 3 ? std::atof(argv[3]) : 0;
  backend_address.sin_family = AF_INET;
  backend_address.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  backend_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(listener, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // inherited by accepted sockets
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener, 4096) != 0) {
    std::perror("listen");
    return 1;
  }
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN | EPOLLET;
  lev.data.ptr = nullptr;  // the listener
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &lev);

  epoll_event events[256];
  bool had_events = false;
  for (;;) {
    int n = epoll_wait(epoll_fd, events, 256, had_events && poll_us > 0 ? 0 : -1);
    if (n == 0) {  // polling: yield and ask again until the window ends, then sleep
      const double until = now_us() + poll_us;
      do {
        sched_yield();
        n = epoll_wait(epoll_fd, events, 256, 0);
      } while (n == 0 && now_us() < until);
      if (n == 0) n = epoll_wait(epoll_fd, events, 256, -1);
    }
    had_events = n > 0;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        for (;;) {
          const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          auto* c = new connection;
          c->client.fd = fd;
          watch(c->client);
        }
        continue;
      }
      on_event(*static_cast<side*>(events[i].data.ptr), events[i].events);
    }
    for (connection* c : finished_connections) delete c;
    finished_connections.clear();
  }
}
