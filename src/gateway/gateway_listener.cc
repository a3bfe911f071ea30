#include "gateway/gateway_listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"
#include "gateway/gateway_worker.h"

namespace meshgate::gateway {

namespace {
// Accepts per turn before the worker's other connections get their events handled.
constexpr int max_accepts_per_turn = 64;
}  // namespace

gateway_listener::gateway_listener(gateway_worker& worker, std::string name, net::listening_fd fd)
    : worker_(worker), name_(std::move(name)), fd_(std::move(fd)) {}

gateway_listener::~gateway_listener() { close(); }

int gateway_listener::start() { return worker_.loop().watch(fd_.get(), *this); }

void gateway_listener::close() noexcept {
  unlink();  // from the ready list
  retry_.cancel();
  fd_ = net::listening_fd();
}

void gateway_listener::on_io(std::uint32_t) noexcept { accept_some(); }
void gateway_listener::on_ready() noexcept { accept_some(); }
void gateway_listener::on_timer() noexcept { accept_some(); }

void gateway_listener::accept_some() noexcept {
  if (fd_.get() < 0 || retry_.armed()) return;
  for (int i = 0; i < max_accepts_per_turn; ++i) {
    // SOCK_NONBLOCK here saves an fcntl per connection; TCP_NODELAY is inherited from the
    // listening socket (Linux copies it to accepted sockets).
    const int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      worker_.on_accepted(fd);
      continue;
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) return;  // the next edge wakes us
    if (error == EINTR || error == ECONNABORTED) continue;
    // Out of descriptors or memory: the edge is spent and connections still wait, so try
    // again shortly rather than spinning on them now. Open connections are unaffected.
    worker_.counters().accept_errors.inc();
    module_logger("gateway")->warn("listener {}: accept failed: {}; retrying in {} ms", name_,
                                   std::strerror(error),
                                   worker_.retry_timers().duration().count());
    worker_.retry_timers().arm(retry_, worker_.loop().now());
    return;
  }
  worker_.loop().schedule(*this);  // more may be waiting: continue after other events
}

}  // namespace meshgate::gateway
