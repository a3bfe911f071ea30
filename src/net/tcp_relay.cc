#include "net/tcp_relay.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

namespace meshgate::net {

namespace {

// A pump moves at most this many chunks before letting other connections of the worker
// run: with a fast sender and a fast receiver it would otherwise never return.
constexpr int max_chunks_per_turn = 16;

bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK; }

// An abortive close (RST), so that a peer learns its counterpart failed rather than
// seeing an orderly end of stream.
void set_abortive_close(boost::asio::ip::tcp::socket& socket) noexcept {
  if (!socket.is_open()) return;
  const ::linger option{1, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_LINGER, &option, sizeof option);
}

}  // namespace

std::string_view to_string(relay_end end) noexcept {
  switch (end) {
    case relay_end::finished: return "finished";
    case relay_end::idle_timeout: return "idle_timeout";
    case relay_end::reset: return "reset";
    case relay_end::aborted: return "aborted";
  }
  return "unknown";
}

tcp_relay::tcp_relay(tcp::socket downstream, tcp::socket upstream, relay_scratch& scratch,
                     std::unique_ptr<relay_observer> observer, relay_options options)
    : downstream_(std::move(downstream)),
      upstream_(std::move(upstream)),
      idle_timer_(downstream_.get_executor()),
      scratch_(scratch),
      observer_(std::move(observer)),
      idle_timeout_(options.idle_timeout),
      down_to_up_{&downstream_, &upstream_, relay_direction::downstream_to_upstream, {}},
      up_to_down_{&upstream_, &downstream_, relay_direction::upstream_to_downstream, {}} {}

tcp_relay::~tcp_relay() { finish(relay_end::aborted); }

void tcp_relay::start() {
  boost::system::error_code ignored;
  downstream_.non_blocking(true, ignored);
  upstream_.non_blocking(true, ignored);
  last_activity_ = std::chrono::steady_clock::now();
  arm_idle_timer();
  pump(down_to_up_);
  if (!closed_) pump(up_to_down_);
}

void tcp_relay::abort(relay_end end) noexcept { finish(end); }

void tcp_relay::pump(pump_state& p) noexcept {
  if (closed_) return;
  if (p.pending.buffer && !flush(p)) return;  // bytes from last time go first
  const auto chunk = scratch_.chunk();
  for (int i = 0; i < max_chunks_per_turn; ++i) {
    const ssize_t n = ::recv(p.from->native_handle(), chunk.data(), chunk.size(), 0);
    if (n > 0) {
      last_activity_ = std::chrono::steady_clock::now();
      if (!send_now(p, chunk.data(), static_cast<std::size_t>(n))) return;
      continue;
    }
    if (n == 0) return on_eof(p);
    if (errno == EINTR) continue;
    if (would_block(errno)) return wait_readable(p);
    return finish(relay_end::reset);
  }
  // Yield to the other connections of this worker, then carry on.
  boost::asio::post(downstream_.get_executor(),
                    [self = shared_from_this(), &p] { self->pump(p); });
}

// Writes what it can; keeps the rest in a spare and waits for room. False when the pump
// must stop (waiting, or the relay ended).
bool tcp_relay::send_now(pump_state& p, const std::byte* data, std::size_t length) noexcept {
  std::size_t sent = 0;
  while (sent < length) {
    const ssize_t n = ::send(p.to->native_handle(), data + sent, length - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) break;
    finish(relay_end::reset);
    return false;
  }
  if (sent > 0) observer_->on_bytes(p.direction, sent);
  if (sent == length) return true;
  p.pending.buffer = scratch_.take_spare();
  std::memcpy(p.pending.buffer.get(), data + sent, length - sent);
  p.pending.offset = 0;
  p.pending.length = length - sent;
  wait_writable(p);
  return false;
}

bool tcp_relay::flush(pump_state& p) noexcept {
  std::unique_ptr<std::byte[]> held = std::move(p.pending.buffer);
  const std::size_t offset = p.pending.offset;
  const std::size_t length = p.pending.length;
  p.pending = {};
  std::size_t sent = 0;
  while (sent < length) {
    const ssize_t n =
        ::send(p.to->native_handle(), held.get() + offset + sent, length - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) break;
    scratch_.give_back(std::move(held));
    finish(relay_end::reset);
    return false;
  }
  if (sent > 0) {
    last_activity_ = std::chrono::steady_clock::now();
    observer_->on_bytes(p.direction, sent);
  }
  if (sent == length) {
    scratch_.give_back(std::move(held));  // drained: this connection holds no buffer again
    return true;
  }
  p.pending = {std::move(held), offset + sent, length - sent};
  wait_writable(p);
  return false;
}

void tcp_relay::wait_readable(pump_state& p) {
  p.from->async_wait(tcp::socket::wait_read, [self = shared_from_this(), &p](auto error) {
    if (!error) self->pump(p);
  });
}

void tcp_relay::wait_writable(pump_state& p) {
  p.to->async_wait(tcp::socket::wait_write, [self = shared_from_this(), &p](auto error) {
    if (!error) self->pump(p);
  });
}

void tcp_relay::on_eof(pump_state& p) noexcept {
  // Half-close: pass the FIN on and keep the other direction running.
  ::shutdown(p.to->native_handle(), SHUT_WR);
  p.done = true;
  if (down_to_up_.done && up_to_down_.done) finish(relay_end::finished);
}

void tcp_relay::arm_idle_timer() {
  idle_timer_.expires_at(last_activity_ + idle_timeout_);
  idle_timer_.async_wait([self = shared_from_this()](auto error) {
    if (error || self->closed_) return;
    if (std::chrono::steady_clock::now() - self->last_activity_ >= self->idle_timeout_) {
      self->finish(relay_end::idle_timeout);
    } else {
      self->arm_idle_timer();  // there was traffic: sleep until the new deadline
    }
  });
}

void tcp_relay::release(pending_bytes& pending) noexcept {
  if (pending.buffer) scratch_.give_back(std::move(pending.buffer));
  pending = {};
}

void tcp_relay::finish(relay_end end) noexcept {
  if (closed_) return;
  closed_ = true;
  if (end != relay_end::finished && end != relay_end::idle_timeout) {
    set_abortive_close(downstream_);
    set_abortive_close(upstream_);
  }
  boost::system::error_code ignored;
  downstream_.close(ignored);
  upstream_.close(ignored);
  idle_timer_.cancel();
  release(down_to_up_.pending);
  release(up_to_down_.pending);
  if (observer_) observer_->on_end(end);
}

}  // namespace meshgate::net
