#include "net/relay.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace meshgate::net {

namespace {

// A pump moves at most this many chunks per turn before letting the worker's other
// connections run: with a fast sender and a fast receiver it would otherwise never stop.
constexpr int max_chunks_per_turn = 8;

bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK; }

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

void socket_readiness::note(std::uint32_t events) noexcept {
  // An error or hang-up makes both calls return at once (with the error), so both count
  // as ready: the next recv/send reports what happened.
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) readable = true;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) writable = true;
  if (events & EPOLLRDHUP) peer_closed = true;
}

relay::~relay() { stop(); }

void relay::start(int downstream_fd, socket_readiness downstream, int upstream_fd,
                  socket_readiness upstream) noexcept {
  down_ = {downstream_fd, downstream};
  up_ = {upstream_fd, upstream};
  running_ = true;
  last_activity_ = loop_.now();
  pump(down_to_up_);
  if (running_) pump(up_to_down_);
}

void relay::stop() noexcept {
  running_ = false;
  unlink();  // from the loop's ready list
  for (auto* p : {&down_to_up_, &up_to_down_}) {
    if (p->pending) scratch_.give_back(std::move(p->pending));
    p->pending_length = 0;
  }
}

void relay::on_io(bool upstream_side, std::uint32_t events) noexcept {
  if (!running_) return;
  side& s = upstream_side ? up_ : down_;
  s.ready.note(events);
  // Readable: bytes to move away from this side. Writable: room for what waits for it.
  pump_state& outgoing = upstream_side ? up_to_down_ : down_to_up_;
  pump_state& incoming = upstream_side ? down_to_up_ : up_to_down_;
  if (s.ready.readable || s.ready.peer_closed) pump(outgoing);
  if (running_ && s.ready.writable && incoming.pending) pump(incoming);
}

void relay::on_ready() noexcept {
  for (auto* p : {&down_to_up_, &up_to_down_}) {
    if (running_ && p->yielded) {
      p->yielded = false;
      pump(*p);
    }
  }
}

void relay::pump(pump_state& p) noexcept {
  if (p.done || p.yielded) return;
  if (p.pending && !flush(p)) return;  // bytes from last time go first
  const auto chunk = scratch_.chunk();
  for (int i = 0; i < max_chunks_per_turn; ++i) {
    if (!p.from->ready.readable) return;  // wait for the next EPOLLIN edge
    const ssize_t n = ::recv(p.from->fd, chunk.data(), chunk.size(), 0);
    if (n > 0) {
      last_activity_ = loop_.now();
      // A short read empties a stream socket's queue: no need to read again to see
      // EAGAIN, the next arrival raises a new edge.
      const bool drained = static_cast<std::size_t>(n) < chunk.size();
      if (drained) p.from->ready.readable = false;
      if (!write(p, chunk.data(), static_cast<std::size_t>(n))) return;
      if (drained && p.from->ready.peer_closed) return on_eof(p);  // FIN after these bytes
      continue;
    }
    if (n == 0) return on_eof(p);
    if (errno == EINTR) continue;
    if (would_block(errno)) {
      p.from->ready.readable = false;
      if (p.from->ready.peer_closed) return on_eof(p);
      return;
    }
    return end(relay_end::reset);
  }
  p.yielded = true;
  loop_.schedule(*this);
}

// Sends what `to` takes now; counts it. Sets `failed` (and ends the relay) on an error.
std::size_t relay::send_some(pump_state& p, const std::byte* data, std::size_t length,
                             bool& failed) noexcept {
  std::size_t sent = 0;
  failed = false;
  while (sent < length && p.to->ready.writable) {
    const ssize_t n = ::send(p.to->fd, data + sent, length - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && would_block(errno)) {
      p.to->ready.writable = false;
    } else {
      failed = true;
      break;
    }
  }
  if (sent > 0) observer_.on_relayed(p.direction, sent);
  if (failed) end(relay_end::reset);
  return sent;
}

// Writes what it can; parks the rest in a spare. False when the pump must stop (waiting
// for room, or the relay ended).
bool relay::write(pump_state& p, const std::byte* data, std::size_t length) noexcept {
  bool failed = false;
  const std::size_t sent = send_some(p, data, length, failed);
  if (failed) return false;
  if (sent == length) return true;
  p.pending = scratch_.take_spare();
  std::memcpy(p.pending.get(), data + sent, length - sent);
  p.pending_offset = 0;
  p.pending_length = length - sent;
  return false;  // on_io resumes this pump when `to` becomes writable
}

// Sends the parked bytes. True once they are all gone (and the spare given back).
bool relay::flush(pump_state& p) noexcept {
  bool failed = false;
  const std::size_t sent =
      send_some(p, p.pending.get() + p.pending_offset, p.pending_length, failed);
  if (failed) return false;
  if (sent > 0) last_activity_ = loop_.now();
  p.pending_offset += sent;
  p.pending_length -= sent;
  if (p.pending_length > 0) return false;
  scratch_.give_back(std::move(p.pending));  // drained: no buffer held any more
  p.pending_offset = 0;
  return true;
}

void relay::on_eof(pump_state& p) noexcept {
  p.done = true;
  if (down_to_up_.done && up_to_down_.done) return end(relay_end::finished);
  // Half-close: pass the FIN on and keep the other direction going. (When both are done
  // the owner's close() sends the last FIN, so no shutdown is needed then.)
  ::shutdown(p.to->fd, SHUT_WR);
}

void relay::end(relay_end how) noexcept {
  if (!running_) return;
  stop();
  observer_.on_relay_end(how);
}

}  // namespace meshgate::net
