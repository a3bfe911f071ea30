#include "sidecar/tls_relay.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace meshgate::sidecar {

namespace {

// A pump moves at most this many chunks per turn before letting the worker's other
// connections run (as net::relay does).
constexpr int max_chunks_per_turn = 8;

// How much plaintext one SSL_write may take so that its records fit in `room` bytes of
// output: TLS 1.3 adds 22 bytes to each record of up to 16 KiB, TLS 1.2 with AES-GCM 29;
// 64 per record leaves a margin for either.
std::size_t plaintext_budget(std::size_t room) noexcept {
  const std::size_t overhead = (room / 16384 + 1) * 64;
  return room > overhead ? room - overhead : 0;
}

bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK; }

}  // namespace

tls_relay::~tls_relay() { stop(); }

void tls_relay::start(int plain_fd, net::socket_readiness plain, int tls_fd, net::socket_readiness tls,
                      tls_stream& stream) noexcept {
  plain_fd_ = plain_fd;
  tls_fd_ = tls_fd;
  plain_ = plain;
  tls_ = tls;
  stream_ = &stream;
  running_ = true;
  last_activity_ = loop_.now();
  // The handshake may have left output to send (the client's Finished) and application
  // records already received with the last flight.
  pump_to_tls();
  if (running_) pump_to_plain();
}

void tls_relay::stop() noexcept {
  running_ = false;
  unlink();  // from the loop's ready list
  if (pending_) scratch_.give_back(std::move(pending_));
  pending_length_ = 0;
}

void tls_relay::on_io(bool tls_side, std::uint32_t events) noexcept {
  if (!running_) return;
  if (tls_side) {
    tls_.note(events);
    if (tls_.readable || tls_.peer_closed) pump_to_plain();
    if (running_ && tls_.writable && stream_->output_pending()) pump_to_tls();
    if (running_ && tls_.writable && to_plain_waits_for_output_) pump_to_plain();
  } else {
    plain_.note(events);
    if (plain_.readable || plain_.peer_closed) pump_to_tls();
    if (running_ && plain_.writable && pending_) pump_to_plain();
  }
}

void tls_relay::on_ready() noexcept {
  if (running_ && to_tls_yielded_) {
    to_tls_yielded_ = false;
    pump_to_tls();
  }
  if (running_ && to_plain_yielded_) {
    to_plain_yielded_ = false;
    pump_to_plain();
  }
}

bool tls_relay::flush_tls() noexcept {
  if (!stream_->output_pending()) return true;
  if (!tls_.writable) return false;
  switch (stream_->send(tls_fd_)) {
    case io_result::done:
      last_activity_ = loop_.now();
      return true;
    case io_result::would_block:
      tls_.writable = false;
      return false;
    default:
      end(net::relay_end::reset);
      return false;
  }
}

void tls_relay::pump_to_tls() noexcept {
  if (to_tls_done_ || to_tls_yielded_) return;
  const auto chunk = scratch_.chunk();
  for (int i = 0; i < max_chunks_per_turn; ++i) {
    if (!flush_tls()) return;  // records from last time go first
    if (plain_eof_) {          // close_notify is out: now the FIN
      ::shutdown(tls_fd_, SHUT_WR);
      to_tls_done_ = true;
      return finish_if_done();
    }
    if (!plain_.readable && !plain_.peer_closed) return;  // wait for the next edge
    const std::size_t budget = std::min(chunk.size(), plaintext_budget(stream_->output_room()));
    const ssize_t n = ::recv(plain_fd_, chunk.data(), budget, 0);
    if (n > 0) {
      last_activity_ = loop_.now();
      if (static_cast<std::size_t>(n) < budget) plain_.readable = false;  // its queue is empty
      std::size_t written = 0;
      if (SSL_write_ex(stream_->ssl(), chunk.data(), static_cast<std::size_t>(n), &written) != 1 ||
          written != static_cast<std::size_t>(n)) {
        ERR_clear_error();
        return end(net::relay_end::reset);
      }
      observer_.on_relayed(tls_relay_direction::plain_to_tls, written);
      continue;
    }
    if (n == 0) {
      // The application is done sending: close_notify, then (once it is out) a FIN.
      plain_eof_ = true;
      SSL_shutdown(stream_->ssl());
      ERR_clear_error();
      continue;
    }
    if (errno == EINTR) continue;
    if (would_block(errno)) {
      plain_.readable = false;
      plain_.peer_closed = false;  // a FIN would have made recv return 0
      return;
    }
    return end(net::relay_end::reset);
  }
  to_tls_yielded_ = true;
  loop_.schedule(*this);
}

void tls_relay::pump_to_plain() noexcept {
  if (to_plain_done_ || to_plain_yielded_) return;
  to_plain_waits_for_output_ = false;
  if (pending_ && !flush_plain()) return;  // plaintext from last time goes first
  const auto chunk = scratch_.chunk();
  SSL* ssl = stream_->ssl();
  for (int i = 0; i < max_chunks_per_turn && !tls_eof_; ++i) {
    std::size_t produced = 0;
    bool wait = false;
    while (produced < chunk.size()) {
      std::size_t got = 0;
      if (SSL_read_ex(ssl, chunk.data() + produced, chunk.size() - produced, &got) == 1) {
        produced += got;
        continue;
      }
      const int error = SSL_get_error(ssl, 0);
      if (error == SSL_ERROR_WANT_READ) {
        if (!tls_.readable && !tls_.peer_closed) {
          wait = true;
          break;
        }
        bool drained = false;
        const auto received = stream_->receive(tls_fd_, drained);
        if (received == io_result::done) {
          if (drained) tls_.readable = false;
          continue;
        }
        if (received == io_result::eof) continue;  // OpenSSL now sees the end
        if (received == io_result::would_block) {
          tls_.readable = false;
          tls_.peer_closed = false;
          wait = true;
          break;
        }
        return end(net::relay_end::reset);
      }
      if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify, or a FIN without one
        tls_eof_ = true;
        ERR_clear_error();
        break;
      }
      if (error == SSL_ERROR_WANT_WRITE) {  // a reply (key update) found the output full
        to_plain_waits_for_output_ = true;
        wait = true;
        break;
      }
      ERR_clear_error();  // a bad record or a fatal alert: this connection only
      return end(net::relay_end::reset);
    }
    if (stream_->output_pending() && !flush_tls() && !running_) return;  // replies reads produced
    if (produced > 0) {
      last_activity_ = loop_.now();
      if (!write_plain(chunk.data(), produced)) return;
    }
    if (wait) return;
  }
  if (tls_eof_) {
    if (pending_) return;  // the FIN follows the last bytes (flush_plain comes back here)
    ::shutdown(plain_fd_, SHUT_WR);
    to_plain_done_ = true;
    return finish_if_done();
  }
  to_plain_yielded_ = true;
  loop_.schedule(*this);
}

std::size_t tls_relay::send_plain(const std::byte* data, std::size_t length, bool& failed) noexcept {
  std::size_t sent = 0;
  failed = false;
  while (sent < length && plain_.writable) {
    const ssize_t n = ::send(plain_fd_, data + sent, length - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && would_block(errno)) {
      plain_.writable = false;
    } else {
      failed = true;
      break;
    }
  }
  if (sent > 0) observer_.on_relayed(tls_relay_direction::tls_to_plain, sent);
  if (failed) end(net::relay_end::reset);
  return sent;
}

bool tls_relay::write_plain(const std::byte* data, std::size_t length) noexcept {
  bool failed = false;
  const std::size_t sent = send_plain(data, length, failed);
  if (failed) return false;
  if (sent == length) return true;
  try {
    pending_ = scratch_.take_spare();
  } catch (const std::bad_alloc&) {
    end(net::relay_end::reset);
    return false;
  }
  std::memcpy(pending_.get(), data + sent, length - sent);
  pending_offset_ = 0;
  pending_length_ = length - sent;
  return false;  // on_io resumes when the plain side can take more
}

bool tls_relay::flush_plain() noexcept {
  bool failed = false;
  const std::size_t sent = send_plain(pending_.get() + pending_offset_, pending_length_, failed);
  if (failed) return false;
  if (sent > 0) last_activity_ = loop_.now();
  pending_offset_ += sent;
  pending_length_ -= sent;
  if (pending_length_ > 0) return false;
  scratch_.give_back(std::move(pending_));  // drained: no buffer held any more
  pending_offset_ = 0;
  return true;
}

void tls_relay::finish_if_done() noexcept {
  if (to_tls_done_ && to_plain_done_) end(net::relay_end::finished);
}

void tls_relay::end(net::relay_end how) noexcept {
  if (!running_) return;
  stop();
  observer_.on_relay_end(how);
}

}  // namespace meshgate::sidecar
