#include "sidecar/tls_stream.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "x509/openssl_handles.h"

namespace meshgate::sidecar {

/// The BIO between OpenSSL and a tls_stream's buffers.
struct tls_stream_bio {
  static tls_stream& stream(BIO* bio) { return *static_cast<tls_stream*>(BIO_get_data(bio)); }

  static int write(BIO* bio, const char* data, std::size_t length, std::size_t* written) {
    BIO_clear_retry_flags(bio);
    auto& s = stream(bio);
    auto& out = s.out_;
    if (!s.ensure_storage(out)) return 0;
    const std::size_t capacity = s.pool_.chunk_bytes();
    if (out.begin > 0 && capacity - out.end < length) {  // make room at the end
      std::memmove(out.storage.get(), out.storage.get() + out.begin, out.size());
      out.end -= out.begin;
      out.begin = 0;
    }
    const std::size_t n = std::min(length, capacity - out.end);
    if (n == 0) {
      BIO_set_retry_write(bio);  // full: the relay sends before it writes more
      return 0;
    }
    std::memcpy(out.storage.get() + out.end, data, n);
    out.end += n;
    *written = n;
    return 1;
  }

  static int read(BIO* bio, char* data, std::size_t length, std::size_t* read_bytes) {
    BIO_clear_retry_flags(bio);
    auto& s = stream(bio);
    auto& in = s.in_;
    if (in.size() == 0) {
      if (!s.transport_eof_) BIO_set_retry_read(bio);
      return 0;  // with no retry flag: end of stream
    }
    const std::size_t n = std::min(length, in.size());
    std::memcpy(data, in.storage.get() + in.begin, n);
    in.begin += n;
    s.release_if_empty(in);
    *read_bytes = n;
    return 1;
  }

  static long control(BIO* bio, int command, long, void*) {
    auto& s = stream(bio);
    switch (command) {
      case BIO_CTRL_FLUSH: return 1;  // the relay sends the output buffer itself
      case BIO_CTRL_PENDING: return static_cast<long>(s.in_.size());
      case BIO_CTRL_WPENDING: return static_cast<long>(s.out_.size());
      case BIO_CTRL_EOF: return s.transport_eof_ && s.in_.size() == 0 ? 1 : 0;
      default: return 0;
    }
  }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static BIO_METHOD* method() {
    static BIO_METHOD* const m = [] {
      BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "meshgate tls_stream");
      if (made == nullptr) throw std::bad_alloc();
      BIO_meth_set_write_ex(made, write);
      BIO_meth_set_read_ex(made, read);
      BIO_meth_set_ctrl(made, control);
      BIO_meth_set_create(made, create);
      return made;
    }();
    return m;
  }
};

tls_stream::tls_stream(ssl_ptr ssl, net::relay_scratch& pool) : ssl_(std::move(ssl)), pool_(pool) {
  BIO* bio = BIO_new(tls_stream_bio::method());
  if (bio == nullptr) throw x509::crypto_error(x509::openssl_error("making a BIO"));
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_.get(), bio, bio);  // the SSL owns it (one reference for both directions)
}

tls_stream::~tls_stream() {
  if (in_.storage) pool_.give_back(std::move(in_.storage));
  if (out_.storage) pool_.give_back(std::move(out_.storage));
}

bool tls_stream::ensure_storage(buffer& b) noexcept {
  if (b.storage) return true;
  try {
    b.storage = pool_.take_spare();
  } catch (const std::bad_alloc&) {
    return false;
  }
  b.begin = b.end = 0;
  return true;
}

void tls_stream::release_if_empty(buffer& b) noexcept {
  if (b.storage && b.size() == 0) {
    pool_.give_back(std::move(b.storage));
    b.begin = b.end = 0;
  }
}

std::size_t tls_stream::output_room() const noexcept {
  return pool_.chunk_bytes() - out_.size();
}

io_result tls_stream::receive(int fd, bool& drained) noexcept {
  drained = false;
  if (!ensure_storage(in_)) return io_result::failed;
  const std::size_t capacity = pool_.chunk_bytes();
  if (in_.begin > 0) {  // OpenSSL takes from the front: keep the free space at the back
    std::memmove(in_.storage.get(), in_.storage.get() + in_.begin, in_.size());
    in_.end -= in_.begin;
    in_.begin = 0;
  }
  if (in_.end == capacity) return io_result::done;  // full: OpenSSL reads first
  for (;;) {
    const ssize_t n = ::recv(fd, in_.storage.get() + in_.end, capacity - in_.end, 0);
    if (n > 0) {
      drained = static_cast<std::size_t>(n) < capacity - in_.end;
      in_.end += static_cast<std::size_t>(n);
      return io_result::done;
    }
    const int error = errno;
    if (n < 0 && error == EINTR) continue;
    release_if_empty(in_);
    if (n == 0) {
      transport_eof_ = true;
      return io_result::eof;
    }
    return error == EAGAIN || error == EWOULDBLOCK ? io_result::would_block : io_result::failed;
  }
}

io_result tls_stream::send(int fd) noexcept {
  while (out_.size() > 0) {
    const ssize_t n = ::send(fd, out_.storage.get() + out_.begin, out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.begin += static_cast<std::size_t>(n);
      continue;
    }
    const int error = errno;
    if (n < 0 && error == EINTR) continue;
    return n < 0 && (error == EAGAIN || error == EWOULDBLOCK) ? io_result::would_block : io_result::failed;
  }
  release_if_empty(out_);
  return io_result::done;
}

tls_stream::handshake_status tls_stream::handshake(int fd, net::socket_readiness& ready) noexcept {
  for (;;) {
    const int r = SSL_do_handshake(ssl_.get());
    const int error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), r);
    if (output_pending() && ready.writable) {  // the flight it just wrote
      const auto sent = send(fd);
      if (sent == io_result::failed) return handshake_status::failed;
      if (sent == io_result::would_block) ready.writable = false;
    }
    if (r == 1) return handshake_status::complete;
    if (error == SSL_ERROR_WANT_WRITE) return handshake_status::waiting;
    if (error != SSL_ERROR_WANT_READ) return handshake_status::failed;
    if (!ready.readable && !ready.peer_closed) return handshake_status::waiting;
    bool drained = false;
    switch (receive(fd, drained)) {
      case io_result::done:
        if (drained) ready.readable = false;
        break;
      case io_result::eof:
        break;  // OpenSSL now sees the end of the stream and fails the handshake
      case io_result::would_block:
        ready.readable = false;
        return handshake_status::waiting;
      case io_result::failed:
        return handshake_status::failed;
    }
  }
}

}  // namespace meshgate::sidecar
