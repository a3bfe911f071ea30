#pragma once
// One TLS connection whose ciphertext passes through buffers the sidecar controls, not
// through a socket OpenSSL writes to itself.
//
// Why: with a socket BIO, OpenSSL makes one send() per TLS record (16 KiB at most), and a
// relay moving 256 KiB at a time pays sixteen system calls where one would do. Here a
// custom BIO appends every record to the output buffer and takes input from the input
// buffer; the stream moves whole buffers to and from the socket with one send() and one
// recv() each. The buffers come from the worker's pool and go back as soon as they are
// empty, so an idle connection holds none.

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>

#include "net/relay.h"
#include "net/relay_scratch.h"
#include "sidecar/tls_context.h"

namespace meshgate::sidecar {

enum class io_result : std::uint8_t {
  done,         // everything asked for happened (all sent; something received)
  would_block,  // the socket cannot take / has nothing more now
  eof,          // the peer closed its sending half (recv returned 0)
  failed,       // the socket failed (reset and the like)
};

class tls_stream {
 public:
  tls_stream(ssl_ptr ssl, net::relay_scratch& pool);
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;
  ~tls_stream();

  SSL* ssl() const noexcept { return ssl_.get(); }

  /// recv()s ciphertext from `fd` into the input buffer, as much as fits. `drained` is set
  /// when the socket had less than that (its queue is empty: no need to ask again until the
  /// next readiness edge).
  io_result receive(int fd, bool& drained) noexcept;
  /// send()s buffered ciphertext to `fd`. `done` when nothing is left.
  io_result send(int fd) noexcept;

  enum class handshake_status : std::uint8_t { complete, waiting, failed };
  /// Advances the handshake with whatever `fd` is `ready` for (and updates `ready`).
  /// `complete` may leave output to send: the relay sends it first.
  handshake_status handshake(int fd, net::socket_readiness& ready) noexcept;

  bool output_pending() const noexcept { return out_.size() > 0; }
  bool input_buffered() const noexcept { return in_.size() > 0; }
  /// recv() returned 0: what is buffered is all there will be.
  bool transport_eof() const noexcept { return transport_eof_; }
  /// Room left in the output buffer: the most ciphertext one SSL_write may produce.
  std::size_t output_room() const noexcept;

 private:
  /// Bytes in a pooled buffer, [begin, end).
  struct buffer {
    std::unique_ptr<std::byte[]> storage;
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t size() const noexcept { return end - begin; }
  };
  friend struct tls_stream_bio;

  void release_if_empty(buffer& b) noexcept;
  bool ensure_storage(buffer& b) noexcept;

  ssl_ptr ssl_;
  net::relay_scratch& pool_;
  buffer in_;
  buffer out_;
  bool transport_eof_ = false;
};

}  // namespace meshgate::sidecar
