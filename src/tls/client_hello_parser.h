#pragma once
// Reads the server name out of a TLS ClientHello without decrypting anything.
//
// The gateway routes a connection by this name, so the parser sees raw bytes from
// untrusted peers. It takes the bytes as they arrive, in any number of TCP segments (down
// to one byte each) and any number of TLS records, and decides as early as the bytes
// allow: garbage is refused on its first byte, an oversized hello as soon as its length
// field arrives. Every length field is checked against the bytes around it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshgate::tls {

/// Default cap on the ClientHello handshake message (post-quantum key shares make real
/// hellos ~2 KB; 16 KiB leaves room without letting a peer park much memory).
inline constexpr std::size_t default_max_hello_bytes = 16 * 1024;
/// Largest cap a user may configure.
inline constexpr std::size_t max_max_hello_bytes = 64 * 1024;

enum class hello_status : std::uint8_t { need_more, complete, rejected };

/// Why a ClientHello was refused. The gateway counts each as a close reason.
enum class hello_error : std::uint8_t {
  none,
  not_tls,           // first bytes are not a TLS handshake record (HTTP, SSLv2-style hello, noise)
  bad_record,        // a record of the hello is not a handshake record or has length 0 or > 2^14
  not_client_hello,  // the first handshake message is not a ClientHello
  too_large,         // the ClientHello is longer than the configured cap
  malformed,         // a length field disagrees with the bytes around it
  no_server_name,    // well formed, but no server_name extension carrying a host_name
  bad_server_name,   // server_name empty, over 255 bytes, not a DNS name, or sent twice
};

std::string_view to_string(hello_error e) noexcept;

/// Incremental ClientHello parser for one connection.
///
/// The caller keeps every byte received (it must replay them to the upstream unchanged)
/// and calls parse() with all of them after each read; the parser remembers how far it
/// got, so the total work is linear in the bytes received however they are split.
class client_hello_parser {
 public:
  explicit client_hello_parser(std::size_t max_hello_bytes = default_max_hello_bytes) noexcept
      : max_hello_bytes_(max_hello_bytes) {}

  /// `wire` must start with the bytes passed to the previous call. Returns need_more until
  /// the ClientHello is whole or refused; after that it returns the same outcome again.
  hello_status parse(std::span<const std::uint8_t> wire);

  hello_error error() const noexcept { return error_; }
  std::size_t max_hello_bytes() const noexcept { return max_hello_bytes_; }
  /// The first host_name of the server_name extension, in lower case (valid once complete).
  const std::string& server_name() const noexcept { return server_name_; }

  /// Most wire bytes a hello within `max_hello_bytes` can take before the parser decides:
  /// every record carries at least one handshake byte, so at worst 6 wire bytes per byte.
  static constexpr std::size_t max_wire_bytes(std::size_t max_hello_bytes) noexcept {
    return 6 * (max_hello_bytes + handshake_header_size);
  }

  static constexpr std::size_t record_header_size = 5;
  static constexpr std::size_t handshake_header_size = 4;
  static constexpr std::size_t max_record_length = 16384;  // 2^14, RFC 8446 §5.1

 private:
  hello_status fail(hello_error e) noexcept;
  hello_status finish(std::span<const std::uint8_t> body);
  hello_error check_record_header(std::span<const std::uint8_t> header) const noexcept;
  hello_error check_handshake_header(std::span<const std::uint8_t> header) noexcept;
  std::size_t handshake_bytes_wanted() const noexcept;

  std::size_t max_hello_bytes_;
  std::size_t pos_ = 0;          // wire bytes taken so far (record headers and bodies)
  std::size_t record_left_ = 0;  // body bytes of the current record not yet taken
  std::size_t records_ = 0;      // record headers seen
  std::optional<std::uint32_t> hello_length_;  // from the handshake header, once seen
  std::vector<std::uint8_t> handshake_;        // reassembly, only when the hello spans records
  hello_status status_ = hello_status::need_more;
  hello_error error_ = hello_error::none;
  std::string server_name_;
};

}  // namespace meshgate::tls
