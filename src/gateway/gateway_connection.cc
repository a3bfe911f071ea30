#include "gateway/gateway_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gateway/gateway_worker.h"
#include "net/endpoint.h"
#include "net/socket_options.h"

namespace meshgate::gateway {

namespace {

bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK; }

}  // namespace

gateway_connection::gateway_connection(gateway_worker& worker, int fd,
                                       std::shared_ptr<const gateway_snapshot> snapshot,
                                       net::connection_slot slot)
    : worker_(worker),
      snapshot_(std::move(snapshot)),
      slot_(std::move(slot)),
      down_fd_(fd),
      relay_(worker.loop(), worker.scratch(), *this) {}

gateway_connection::~gateway_connection() {
  // Only when the worker shuts down with this connection still open.
  shut(close_reason::drained, true);
}

void gateway_connection::start() {
  if (const int error = worker_.loop().watch(down_fd_, down_events_); error != 0) {
    return close(close_reason::client_closed, false);
  }
  parser_ = std::make_unique<tls::client_hello_parser>(worker_.options().max_hello_bytes);
  worker_.hello_timers().arm(timer_, worker_.loop().now());
  // A new socket can take bytes; and the ClientHello is usually there already.
  down_ready_.writable = true;
  down_ready_.readable = true;
  read_hello();
}

void gateway_connection::abort() { close(close_reason::drained, true); }

void gateway_connection::on_io(bool upstream, std::uint32_t events) noexcept {
  switch (state_) {
    case state::reading_hello:
      down_ready_.note(events);
      if (down_ready_.readable) read_hello();
      return;
    case state::connecting:
      if (!upstream) {
        down_ready_.note(events);  // kept for the relay; nothing is read until then
        return;
      }
      up_ready_.note(events);
      if (up_ready_.writable) replay();
      return;
    case state::relaying:
      relay_.on_io(upstream, events);
      return;
    case state::closed:
      return;  // an event fetched before this connection closed
  }
}

void gateway_connection::on_timer() noexcept {
  switch (state_) {
    case state::reading_hello:
      return close(close_reason::hello_timeout, false);
    case state::connecting:
      return attempt_failed(ETIMEDOUT);
    case state::relaying: {
      // The idle timer is not pushed back on every byte; it checks when it fires.
      const auto idle = worker_.idle_timers().duration();
      const auto deadline = relay_.last_activity() + idle;
      if (deadline > worker_.loop().now()) return worker_.idle_timers().arm_at(timer_, deadline);
      return close(close_reason::idle_timeout, false);
    }
    case state::closed:
      return;
  }
}

void gateway_connection::read_hello() noexcept {
  // Read into the worker's shared chunk, keep exactly the bytes received: a slow client
  // parks no more memory than it sent. The bytes stay in user space until replayed; the
  // kernel's receive buffer is never relied on to hold them.
  const auto chunk = worker_.scratch().chunk();
  const std::size_t cap = tls::client_hello_parser::max_wire_bytes(parser_->max_hello_bytes());
  while (down_ready_.readable) {
    const std::size_t room = std::min(chunk.size(), cap - wire_.size());
    const ssize_t n = ::recv(down_fd_, chunk.data(), room, 0);
    if (n > 0) {
      if (static_cast<std::size_t>(n) < room) down_ready_.readable = false;  // drained
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(chunk.data());
      wire_.insert(wire_.end(), bytes, bytes + n);
      switch (parser_->parse(wire_)) {
        case tls::hello_status::complete:
          return choose_route();
        case tls::hello_status::rejected:
          return close(close_reason_for(parser_->error()), false);
        case tls::hello_status::need_more:
          if (wire_.size() >= cap) return close(close_reason::hello_too_large, false);
          continue;
      }
    }
    if (n == 0) return close(close_reason::client_closed, false);
    if (errno == EINTR) continue;
    if (!would_block(errno)) return close(close_reason::client_closed, false);
    down_ready_.readable = false;
  }
  if (down_ready_.peer_closed) close(close_reason::client_closed, false);
}

void gateway_connection::choose_route() noexcept {
  route_ = snapshot_->find_route(parser_->server_name());
  if (route_ == nullptr) {
    worker_.log_refusal(close_reason::unknown_sni, parser_->server_name());
    return close(close_reason::unknown_sni, false);
  }
  parser_.reset();
  counters_ = &route_->stats->slot(worker_.index());
  counters_->connections.inc();
  counters_->active.inc();
  state_ = state::connecting;
  first_endpoint_ = static_cast<std::uint32_t>(route_->target->first_endpoint());
  connect_next();
}

void gateway_connection::connect_next() noexcept {
  const cluster& target = *route_->target;
  const auto& endpoints = target.config().endpoints;
  if (attempt_ >= target.attempts()) {
    worker_.log_upstream_unavailable(*route_);
    return close(close_reason::upstream_unavailable, false);
  }
  const auto& endpoint = endpoints[(first_endpoint_ + attempt_) % endpoints.size()];
  ++attempt_;
  if (const int error = net::start_connect(endpoint, up_fd_); error != 0) return attempt_failed(error);
  if (const int error = worker_.loop().watch(up_fd_, up_events_); error != 0) {
    return attempt_failed(error);
  }
  worker_.connect_timers(target.config().connect_timeout).arm(timer_, worker_.loop().now());
  // On loopback and fast LANs the handshake completes inside connect(): replaying at once
  // saves a trip through the loop. If it has not, send() says EAGAIN and EPOLLOUT follows.
  up_ready_ = {};
  up_ready_.writable = true;
  replay();
}

void gateway_connection::replay() noexcept {
  while (replayed_ < wire_.size()) {
    const ssize_t n =
        ::send(up_fd_, wire_.data() + replayed_, wire_.size() - replayed_, MSG_NOSIGNAL);
    if (n > 0) {
      replayed_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) {
      up_ready_.writable = false;  // still connecting, or the hello is larger than the buffer
      return;
    }
    return attempt_failed(n < 0 ? errno : EPIPE);
  }
  start_relay();
}

void gateway_connection::attempt_failed(int error) noexcept {
  counters_->upstream_connect_failures.inc();
  const cluster& target = *route_->target;
  const auto& endpoints = target.config().endpoints;
  worker_.log_connect_failure(*route_, endpoints[(first_endpoint_ + attempt_ - 1) % endpoints.size()],
                              error, attempt_, target.attempts());
  timer_.cancel();
  if (up_fd_ >= 0) ::close(up_fd_);
  up_fd_ = -1;
  replayed_ = 0;
  connect_next();
}

void gateway_connection::start_relay() noexcept {
  on_relayed(net::relay_direction::downstream_to_upstream, wire_.size());
  std::vector<std::uint8_t>().swap(wire_);  // a relayed connection holds no buffer
  state_ = state::relaying;
  worker_.idle_timers().arm(timer_, worker_.loop().now());
  relay_.start(down_fd_, down_ready_, up_fd_, up_ready_);
}

void gateway_connection::on_relayed(net::relay_direction direction, std::size_t bytes) noexcept {
  if (direction == net::relay_direction::downstream_to_upstream) {
    counters_->bytes_to_upstream.inc(bytes);
  } else {
    counters_->bytes_to_downstream.inc(bytes);
  }
}

void gateway_connection::on_relay_end(net::relay_end end) noexcept {
  close(close_reason_for(end), end == net::relay_end::reset || end == net::relay_end::aborted);
}

void gateway_connection::close(close_reason reason, bool reset) noexcept {
  if (state_ == state::closed) return;
  shut(reason, reset);
  worker_.retire(this);
}

void gateway_connection::shut(close_reason reason, bool reset) noexcept {
  if (state_ == state::closed) return;
  state_ = state::closed;
  relay_.stop();
  timer_.cancel();
  // Counted (and the place under the limit freed) before the sockets close, so that
  // whoever sees the close also sees the count.
  worker_.counters().count_close(reason);
  if (counters_ != nullptr) {
    counters_->closed[static_cast<std::size_t>(reason)].inc();
    counters_->active.dec();
  }
  slot_.reset();
  for (int fd : {down_fd_, up_fd_}) {
    if (fd < 0) continue;
    if (reset) net::set_abortive_close(fd);
    ::close(fd);  // also removes it from the epoll set
  }
  down_fd_ = up_fd_ = -1;
  parser_.reset();
  std::vector<std::uint8_t>().swap(wire_);
  unlink();  // from the worker's list of open connections
}

}  // namespace meshgate::gateway
