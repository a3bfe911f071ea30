#include "tls/client_hello_parser.h"

#include <algorithm>

#include "tls/server_name.h"

namespace meshgate::tls {

namespace {

constexpr std::uint8_t content_type_handshake = 22;
constexpr std::uint8_t handshake_type_client_hello = 1;
constexpr std::uint16_t extension_server_name = 0;
constexpr std::uint8_t name_type_host_name = 0;
// legacy_version(2) random(32) session_id(1+0) cipher_suites(2+2) compression(1+1)
constexpr std::uint32_t min_hello_body = 41;

/// Bounds-checked big-endian reader over a span. Every read either succeeds in full or
/// fails without moving, so a short input can never be read past.
class byte_reader {
 public:
  explicit byte_reader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

  bool empty() const noexcept { return data_.empty(); }

  bool u8(std::uint8_t& out) noexcept {
    if (data_.empty()) return false;
    out = data_[0];
    data_ = data_.subspan(1);
    return true;
  }
  bool u16(std::uint16_t& out) noexcept {
    if (data_.size() < 2) return false;
    out = static_cast<std::uint16_t>(data_[0] << 8 | data_[1]);
    data_ = data_.subspan(2);
    return true;
  }
  bool skip(std::size_t n) noexcept {
    if (data_.size() < n) return false;
    data_ = data_.subspan(n);
    return true;
  }
  /// A vector with a one-byte length prefix (TLS `opaque x<0..2^8-1>`).
  bool vec8(std::span<const std::uint8_t>& out) noexcept {
    std::uint8_t n = 0;
    if (data_.empty() || data_.size() - 1 < data_[0]) return false;
    u8(n);
    out = data_.first(n);
    data_ = data_.subspan(n);
    return true;
  }
  /// A vector with a two-byte length prefix (TLS `opaque x<0..2^16-1>`).
  bool vec16(std::span<const std::uint8_t>& out) noexcept {
    if (data_.size() < 2) return false;
    const std::size_t n = static_cast<std::size_t>(data_[0] << 8 | data_[1]);
    if (data_.size() - 2 < n) return false;
    out = data_.subspan(2, n);
    data_ = data_.subspan(2 + n);
    return true;
  }

 private:
  std::span<const std::uint8_t> data_;
};

/// The server_name extension (RFC 6066 §3): a non-empty list of (name_type, name). The
/// first host_name is the one routed by; entries of other types are skipped.
hello_error parse_server_name(std::span<const std::uint8_t> ext, std::string& out) {
  byte_reader r(ext);
  std::span<const std::uint8_t> list;
  if (!r.vec16(list) || !r.empty() || list.empty()) return hello_error::malformed;
  byte_reader entries(list);
  bool found = false;
  while (!entries.empty()) {
    std::uint8_t type = 0;
    std::span<const std::uint8_t> name;
    if (!entries.u8(type) || !entries.vec16(name)) return hello_error::malformed;
    if (type != name_type_host_name || found) continue;
    const std::string_view text(reinterpret_cast<const char*>(name.data()), name.size());
    if (!is_valid_server_name(text)) return hello_error::bad_server_name;
    out = to_lower_ascii(text);
    found = true;
  }
  return found ? hello_error::none : hello_error::no_server_name;
}

/// The ClientHello body (RFC 8446 §4.1.2; the same layout since TLS 1.0).
hello_error parse_client_hello_body(std::span<const std::uint8_t> body, std::string& name) {
  byte_reader r(body);
  std::uint16_t legacy_version = 0;
  std::span<const std::uint8_t> session_id, cipher_suites, compression, extensions;
  if (!r.u16(legacy_version) || (legacy_version >> 8) != 3) return hello_error::malformed;
  if (!r.skip(32)) return hello_error::malformed;  // random
  if (!r.vec8(session_id) || session_id.size() > 32) return hello_error::malformed;
  if (!r.vec16(cipher_suites) || cipher_suites.size() < 2 || cipher_suites.size() % 2 != 0) {
    return hello_error::malformed;
  }
  if (!r.vec8(compression) || compression.empty()) return hello_error::malformed;
  if (r.empty()) return hello_error::no_server_name;  // no extensions at all (SSL 3.0 style)
  if (!r.vec16(extensions) || !r.empty()) return hello_error::malformed;

  // Extensions come in any order; GREASE and unknown types are skipped. A second
  // server_name extension is refused: RFC 8446 §4.2 forbids it, and a backend that read
  // the other one would see a different name than the one we routed by.
  byte_reader exts(extensions);
  bool seen_server_name = false;
  hello_error sni = hello_error::no_server_name;
  while (!exts.empty()) {
    std::uint16_t type = 0;
    std::span<const std::uint8_t> data;
    if (!exts.u16(type) || !exts.vec16(data)) return hello_error::malformed;
    if (type != extension_server_name) continue;
    if (seen_server_name) return hello_error::bad_server_name;
    seen_server_name = true;
    sni = parse_server_name(data, name);
    if (sni == hello_error::malformed || sni == hello_error::bad_server_name) return sni;
  }
  return sni;
}

}  // namespace

std::string_view to_string(hello_error e) noexcept {
  switch (e) {
    case hello_error::none: return "none";
    case hello_error::not_tls: return "not_tls";
    case hello_error::bad_record: return "bad_record";
    case hello_error::not_client_hello: return "not_client_hello";
    case hello_error::too_large: return "too_large";
    case hello_error::malformed: return "malformed";
    case hello_error::no_server_name: return "no_sni";
    case hello_error::bad_server_name: return "bad_sni";
  }
  return "unknown";
}

hello_status client_hello_parser::fail(hello_error e) noexcept {
  error_ = e;
  status_ = hello_status::rejected;
  handshake_ = {};
  return status_;
}

hello_status client_hello_parser::finish(std::span<const std::uint8_t> body) {
  const hello_error e = parse_client_hello_body(body, server_name_);
  handshake_ = {};  // the reassembly buffer is not needed once decided
  if (e != hello_error::none) return fail(e);
  status_ = hello_status::complete;
  return status_;
}

hello_error client_hello_parser::check_record_header(
    std::span<const std::uint8_t> header) const noexcept {
  // Judge each byte as soon as it is there, so that noise is refused on its first byte.
  const hello_error wrong = records_ == 0 ? hello_error::not_tls : hello_error::bad_record;
  if (!header.empty() && header[0] != content_type_handshake) return wrong;
  if (header.size() > 1 && header[1] != 3) return wrong;
  if (header.size() >= record_header_size) {
    const std::size_t length = static_cast<std::size_t>(header[3] << 8 | header[4]);
    // Zero-length handshake fragments are forbidden (RFC 8446 §5.1).
    if (length == 0 || length > max_record_length) return hello_error::bad_record;
  }
  return hello_error::none;
}

hello_error client_hello_parser::check_handshake_header(
    std::span<const std::uint8_t> header) noexcept {
  if (header[0] != handshake_type_client_hello) return hello_error::not_client_hello;
  const std::uint32_t length =
      static_cast<std::uint32_t>(header[1] << 16 | header[2] << 8 | header[3]);
  if (length > max_hello_bytes_) return hello_error::too_large;
  if (length < min_hello_body) return hello_error::malformed;
  hello_length_ = length;
  return hello_error::none;
}

std::size_t client_hello_parser::handshake_bytes_wanted() const noexcept {
  if (handshake_.size() < handshake_header_size) {
    return handshake_header_size - handshake_.size();
  }
  return handshake_header_size + *hello_length_ - handshake_.size();
}

hello_status client_hello_parser::parse(std::span<const std::uint8_t> wire) {
  if (status_ != hello_status::need_more) return status_;
  if (wire.size() < pos_) return fail(hello_error::malformed);  // caller broke the contract
  for (;;) {
    const auto rest = wire.subspan(pos_);
    if (record_left_ == 0) {
      const auto header = rest.first(std::min(rest.size(), record_header_size));
      if (const auto e = check_record_header(header); e != hello_error::none) return fail(e);
      if (header.size() < record_header_size) return hello_status::need_more;
      record_left_ = static_cast<std::size_t>(header[3] << 8 | header[4]);
      pos_ += record_header_size;
      ++records_;
      continue;
    }
    const auto avail = rest.first(std::min(rest.size(), record_left_));

    if (handshake_.empty()) {
      // Fast path, the common case: the hello lies whole in this record, so it is parsed
      // where it lies instead of being copied.
      if (avail.size() >= handshake_header_size) {
        if (const auto e = check_handshake_header(avail); e != hello_error::none) return fail(e);
        const std::size_t whole = handshake_header_size + *hello_length_;
        if (whole <= record_left_) {
          if (avail.size() < whole) return hello_status::need_more;
          pos_ += whole;
          return finish(avail.subspan(handshake_header_size, *hello_length_));
        }
      } else if (record_left_ >= handshake_header_size) {
        return hello_status::need_more;  // the header will come in this record
      }
    }

    // Slow path: the hello spans records; gather its bytes.
    if (avail.empty()) return hello_status::need_more;
    const std::size_t take = std::min(avail.size(), handshake_bytes_wanted());
    handshake_.insert(handshake_.end(), avail.begin(), avail.begin() + static_cast<long>(take));
    pos_ += take;
    record_left_ -= take;
    if (handshake_.size() == handshake_header_size) {
      if (const auto e = check_handshake_header(handshake_); e != hello_error::none) return fail(e);
      handshake_.reserve(handshake_header_size + *hello_length_);
    }
    if (hello_length_ && handshake_.size() == handshake_header_size + *hello_length_) {
      // Copy out first: finish() releases the reassembly buffer.
      std::vector<std::uint8_t> message = std::move(handshake_);
      return finish(std::span<const std::uint8_t>(message).subspan(handshake_header_size));
    }
  }
}

}  // namespace meshgate::tls
