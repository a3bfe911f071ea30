#include "tls/server_name.h"

namespace meshgate::tls {

namespace {
constexpr bool is_ldh(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}
}  // namespace

bool is_valid_server_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_server_name_length) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;  // leading or doubled dot
      label = 0;
    } else if (is_ldh(c)) {
      if (++label > max_label_length) return false;
    } else {
      return false;
    }
  }
  return label != 0;  // a trailing dot is not sent in SNI (RFC 6066 §3)
}

std::string to_lower_ascii(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace meshgate::tls
