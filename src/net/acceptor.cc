#include "net/acceptor.h"

#include <sys/socket.h>

#include <cerrno>

namespace meshgate::net {

namespace {
// Accepts per turn before the worker's other connections get their events handled.
constexpr int max_accepts_per_turn = 64;
}  // namespace

acceptor::acceptor(event_loop& loop, timer_queue& retry_timers, accept_sink& sink, std::string name,
                   listening_fd fd)
    : loop_(loop), retry_timers_(retry_timers), sink_(sink), name_(std::move(name)), fd_(std::move(fd)) {}

acceptor::~acceptor() { close(); }

int acceptor::start() { return loop_.watch(fd_.get(), *this); }

void acceptor::close() noexcept {
  unlink();  // from the ready list
  retry_.cancel();
  fd_ = listening_fd();
}

void acceptor::on_io(std::uint32_t) noexcept { accept_some(); }
void acceptor::on_ready() noexcept { accept_some(); }
void acceptor::on_timer() noexcept { accept_some(); }

void acceptor::accept_some() noexcept {
  if (fd_.get() < 0 || retry_.armed()) return;
  for (int i = 0; i < max_accepts_per_turn; ++i) {
    // SOCK_NONBLOCK here saves an fcntl per connection; TCP_NODELAY is inherited from the
    // listening socket (Linux copies it to accepted sockets).
    const int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      sink_.on_accepted(*this, fd);
      continue;
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) return;  // the next edge wakes us
    if (error == EINTR || error == ECONNABORTED) continue;
    // Out of descriptors or memory: the edge is spent and connections still wait, so try
    // again shortly rather than spinning on them now. Open connections are unaffected.
    sink_.on_accept_error(*this, error);
    retry_timers_.arm(retry_, loop_.now());
    return;
  }
  loop_.schedule(*this);  // more may be waiting: continue after other events
}

bool close_all_on_loop(event_loop& loop, acceptor_map& listeners, std::chrono::milliseconds timeout) {
  return loop.post_and_wait(
      [&loop, &listeners] {
        for (auto& [name, l] : listeners) {
          l->close();
          loop.retire(l);
        }
        listeners.clear();
      },
      timeout);
}

}  // namespace meshgate::net
