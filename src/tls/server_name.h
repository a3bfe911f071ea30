#pragma once
// The grammar of a TLS server name (SNI) as the gateway accepts it.

#include <string>
#include <string_view>

namespace meshgate::tls {

/// Longest server name accepted (RFC 6066 allows up to 2^16-1 bytes; DNS names fit in 255).
inline constexpr std::size_t max_server_name_length = 255;
/// Longest label between dots (RFC 1035).
inline constexpr std::size_t max_label_length = 63;

/// True if `name` is a host name we route by: 1..255 bytes of letters, digits, hyphens and
/// dots (the LDH rule; no NUL, no underscore, no spaces), labels of 1..63 bytes, no leading,
/// trailing or doubled dot.
bool is_valid_server_name(std::string_view name) noexcept;

/// ASCII lower case of `name`; server names are compared case-insensitively (RFC 4343).
std::string to_lower_ascii(std::string_view name);

}  // namespace meshgate::tls
