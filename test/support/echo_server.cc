#include "support/echo_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <stdexcept>
#include <string>

namespace meshgate::test {

echo_server::echo_server() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof sa;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listen_fd_, 4096) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &length) != 0) {
    throw std::runtime_error("echo_server: cannot listen");
  }
  port_ = ntohs(sa.sin_port);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.fd = stop_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &ev);
  thread_ = std::thread([this] { run(); });
}

echo_server::~echo_server() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(listen_fd_);
  ::close(epoll_fd_);
  ::close(stop_fd_);
}

void echo_server::run() {
  // Per connection: bytes not yet echoed (the peer may read slowly). Level-triggered.
  std::map<int, std::string> pending;
  std::map<int, bool> at_eof;  // the peer half-closed: close once everything is echoed
  auto close_fd = [&](int fd) {
    ::close(fd);
    pending.erase(fd);
    at_eof.erase(fd);
    --open_;
  };
  epoll_event events[256];
  char buffer[65536];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_fd_) {
        for (auto& [open_fd, ignored] : pending) ::close(open_fd);
        return;
      }
      if (fd == listen_fd_) {
        for (;;) {
          const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          ++accepted_;
          ++open_;
          pending[c];
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = c;
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      auto& out = pending[fd];
      if (!at_eof[fd] && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got < 0 && errno != EAGAIN) {
          close_fd(fd);
          continue;
        }
        if (got == 0) at_eof[fd] = true;
        if (got > 0) out.append(buffer, static_cast<std::size_t>(got));
      }
      while (!out.empty()) {
        const ssize_t sent = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (sent <= 0) break;
        out.erase(0, static_cast<std::size_t>(sent));
      }
      if (at_eof[fd] && out.empty()) {
        close_fd(fd);
        continue;
      }
      epoll_event ev{};
      ev.events = (at_eof[fd] ? 0u : EPOLLIN | EPOLLRDHUP) | (out.empty() ? 0u : EPOLLOUT);
      ev.data.fd = fd;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }
  }
}

}  // namespace meshgate::test
