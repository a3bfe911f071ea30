#include "sidecar/sidecar_connection.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/socket_options.h"
#include "sidecar/sidecar_worker.h"

namespace meshgate::sidecar {

namespace {

target_counters* counters_of(const sidecar_snapshot& s, const upstream_runtime* upstream, std::size_t worker) {
  const auto& stats = upstream != nullptr ? upstream->stats : s.inbound()->stats;
  return &stats->slot(worker);
}

/// Why an inbound handshake failed when the verify callback did not say: OpenSSL refuses a
/// client that sent no certificate before any callback runs.
bool peer_sent_no_certificate() noexcept {
  const unsigned long e = ERR_peek_error();
  return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
}

}  // namespace

sidecar_connection::sidecar_connection(sidecar_worker& worker, int fd, std::shared_ptr<const sidecar_snapshot> snapshot,
                                       const upstream_runtime* upstream, std::shared_ptr<const tls_context> tls,
                                       net::connection_slot slot)
    : worker_(worker),
      snapshot_(std::move(snapshot)),
      upstream_(upstream),
      tls_(std::move(tls)),
      slot_(std::move(slot)),
      counters_(counters_of(*snapshot_, upstream, worker.index())),
      relay_(worker.loop(), worker.scratch(), *this) {
  (inbound() ? tls_fd_ : plain_fd_) = fd;
  counters_->connections.inc();
  counters_->active.inc();
}

sidecar_connection::~sidecar_connection() {
  // Only when the worker shuts down with this connection still open.
  shut(close_reason::drained, true);
}

void sidecar_connection::start() {
  const int accepted = inbound() ? tls_fd_ : plain_fd_;
  auto& events = inbound() ? tls_events_ : plain_events_;
  if (worker_.loop().watch(accepted, events) != 0) return close(close_reason::reset, true);
  if (!tls_) return close(close_reason::no_certificate, false);
  // A new socket can take bytes, and may have some already.
  auto& ready = inbound() ? tls_ready_ : plain_ready_;
  ready.readable = true;
  ready.writable = true;
  if (inbound()) {
    state_ = state::handshaking;
    worker_.handshake_timers().arm(timer_, worker_.loop().now());
    return start_handshake();
  }
  if (upstream_->endpoints.empty()) {
    worker_.log_refusal(upstream_->config.name, close_reason::no_endpoints, "no healthy instance");
    return close(close_reason::no_endpoints, false);
  }
  first_endpoint_ = static_cast<std::uint32_t>(upstream_->first_endpoint());
  connect_next();
}

void sidecar_connection::abort() { close(close_reason::drained, true); }

void sidecar_connection::on_io(bool tls_side, std::uint32_t events) noexcept {
  switch (state_) {
    case state::connecting:
      if (inbound() && !tls_side) {  // the local service's socket
        plain_ready_.note(events);
        if (plain_ready_.writable) on_connect_ready();
      } else if (!inbound() && tls_side) {  // the mesh socket: the ClientHello is on its way
        tls_ready_.note(events);
        continue_handshake();
      } else {
        (tls_side ? tls_ready_ : plain_ready_).note(events);  // kept for the relay
      }
      return;
    case state::handshaking:
      if (tls_side) {
        tls_ready_.note(events);
        continue_handshake();
      } else {
        plain_ready_.note(events);
      }
      return;
    case state::relaying:
      relay_.on_io(tls_side, events);
      return;
    case state::closed:
      return;  // an event fetched before this connection closed
  }
}

void sidecar_connection::on_timer() noexcept {
  switch (state_) {
    case state::connecting:
      return attempt_failed(ETIMEDOUT);
    case state::handshaking:
      worker_.log_refusal(inbound() ? std::string_view("inbound") : std::string_view(upstream_->config.name),
                          close_reason::handshake_timeout, {});
      return close(close_reason::handshake_timeout, false);
    case state::relaying: {
      // The idle timer is not pushed back on every byte; it checks when it fires.
      const auto deadline = relay_.last_activity() + worker_.idle_timers().duration();
      if (deadline > worker_.loop().now()) return worker_.idle_timers().arm_at(timer_, deadline);
      return close(close_reason::idle_timeout, false);
    }
    case state::closed:
      return;
  }
}

void sidecar_connection::start_handshake() noexcept {
  try {
    auto ssl = inbound() ? tls_->new_inbound(check_) : tls_->new_outbound(check_, upstream_->config.sni);
    if (!inbound()) check_.expected_identity = &upstream_->config.identity;
    stream_ = std::make_unique<tls_stream>(std::move(ssl), worker_.scratch());
  } catch (const std::exception&) {  // out of memory inside OpenSSL
    ERR_clear_error();
    return close(close_reason::reset, true);
  }
  continue_handshake();
}

void sidecar_connection::continue_handshake() noexcept {
  const auto status = stream_->handshake(tls_fd_, tls_ready_);
  if (state_ == state::connecting && status != tls_stream::handshake_status::failed && !stream_->output_pending()) {
    // The ClientHello left: the TCP connection is up. Now the handshake has its own deadline.
    state_ = state::handshaking;
    timer_.cancel();
    worker_.handshake_timers().arm(timer_, worker_.loop().now());
  }
  switch (status) {
    case tls_stream::handshake_status::waiting:
      return;
    case tls_stream::handshake_status::failed:
      if (state_ == state::connecting) {  // the socket failed before the hello was out
        ERR_clear_error();
        return attempt_failed(ECONNREFUSED);
      }
      return handshake_failed();
    case tls_stream::handshake_status::complete:
      break;
  }
  counters_->handshakes.inc();
  if (!inbound()) return start_relay();
  const auto& destination = snapshot_->config().sidecar->destination_service;
  if (!worker_.authorizer().allowed(check_.peer_identity, destination)) {
    worker_.log_refusal("inbound", close_reason::denied, check_.peer_identity);
    return close(close_reason::denied, false);
  }
  state_ = state::connecting;
  timer_.cancel();
  connect_next();
}

void sidecar_connection::handshake_failed() noexcept {
  close_reason reason = close_reason_for(check_.refusal);
  if (check_.refusal == peer_refusal::none && inbound() && peer_sent_no_certificate()) {
    reason = close_reason::peer_no_certificate;
  }
  ERR_clear_error();  // the queue is per thread: leave nothing for the next connection
  std::string_view detail = check_.detail;
  if (!check_.peer_identity.empty() && check_.refusal == peer_refusal::identity_mismatch && !inbound()) {
    detail = check_.peer_identity;
  }
  worker_.log_refusal(inbound() ? std::string_view("inbound") : std::string_view(upstream_->config.name), reason,
                      detail);
  if (stream_->output_pending() && tls_ready_.writable) stream_->send(tls_fd_);  // the alert, if any
  close(reason, false);
}

void sidecar_connection::connect_next() noexcept {
  const net::tcp_endpoint* endpoint = nullptr;
  if (inbound()) {
    endpoint = &snapshot_->inbound()->local_service;
  } else {
    if (attempt_ >= upstream_->attempts()) {
      worker_.log_refusal(upstream_->config.name, close_reason::upstream_unavailable, "no endpoint answered");
      return close(close_reason::upstream_unavailable, false);
    }
    endpoint = &upstream_->endpoints[(first_endpoint_ + attempt_) % upstream_->endpoints.size()];
  }
  ++attempt_;
  int& fd = inbound() ? plain_fd_ : tls_fd_;
  if (const int error = net::start_connect(*endpoint, fd); error != 0) return attempt_failed(error);
  if (const int error = worker_.loop().watch(fd, inbound() ? plain_events_ : tls_events_); error != 0) {
    return attempt_failed(error);
  }
  state_ = state::connecting;
  auto& timers = inbound() ? worker_.local_connect_timers() : worker_.connect_timers(upstream_->connect_timeout());
  timers.arm(timer_, worker_.loop().now());
  if (inbound()) {
    plain_ready_ = {};  // EPOLLOUT says when the connect is done
    return;
  }
  // Outbound: write the ClientHello at once. On loopback and fast LANs the TCP handshake
  // is done by now; if not, send() says EAGAIN and EPOLLOUT follows.
  tls_ready_ = {};
  tls_ready_.writable = true;
  start_handshake();
}

void sidecar_connection::on_connect_ready() noexcept {
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(plain_fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) return attempt_failed(error);
  start_relay();
}

void sidecar_connection::attempt_failed(int error) noexcept {
  counters_->connect_failures.inc();
  timer_.cancel();
  int& fd = inbound() ? plain_fd_ : tls_fd_;
  if (fd >= 0) ::close(fd);
  fd = -1;
  if (inbound()) {
    worker_.log_connect_failure("inbound (local service)", snapshot_->inbound()->local_service, error);
    return close(close_reason::local_service_unavailable, false);
  }
  worker_.log_connect_failure(upstream_->config.name,
                              upstream_->endpoints[(first_endpoint_ + attempt_ - 1) % upstream_->endpoints.size()],
                              error);
  stream_.reset();  // a new attempt is a new TLS connection
  check_ = {};
  connect_next();
}

void sidecar_connection::start_relay() noexcept {
  state_ = state::relaying;
  timer_.cancel();
  worker_.idle_timers().arm(timer_, worker_.loop().now());
  relay_.start(plain_fd_, plain_ready_, tls_fd_, tls_ready_, *stream_);
}

void sidecar_connection::on_relayed(tls_relay_direction direction, std::size_t bytes) noexcept {
  if (direction == tls_relay_direction::plain_to_tls) {
    counters_->bytes_to_mesh.inc(bytes);
  } else {
    counters_->bytes_from_mesh.inc(bytes);
  }
}

void sidecar_connection::on_relay_end(net::relay_end end) noexcept {
  close(close_reason_for(end), end == net::relay_end::reset || end == net::relay_end::aborted);
}

void sidecar_connection::close(close_reason reason, bool reset) noexcept {
  if (state_ == state::closed) return;
  shut(reason, reset);
  worker_.retire(this);
}

void sidecar_connection::shut(close_reason reason, bool reset) noexcept {
  if (state_ == state::closed) return;
  state_ = state::closed;
  relay_.stop();
  timer_.cancel();
  // Counted (and the place under the limit freed) before the sockets close, so that
  // whoever sees the close also sees the count.
  counters_->count_close(reason);
  slot_.reset();
  for (int fd : {plain_fd_, tls_fd_}) {
    if (fd < 0) continue;
    if (reset) net::set_abortive_close(fd);
    ::close(fd);  // also removes it from the epoll set
  }
  plain_fd_ = tls_fd_ = -1;
  stream_.reset();
  unlink();  // from the worker's list of open connections
}

}  // namespace meshgate::sidecar
