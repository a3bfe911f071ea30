#include "common/duration.h"

#include <cctype>
#include <limits>

namespace meshgate {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 4;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
      number = number * 10 + (text[digits] - '0');
      if (number > limit / 3'600'000) return std::nullopt;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
    std::int64_t scale = 0;
    if (text.starts_with("ms")) {
      scale = 1;
      text.remove_prefix(2);
    } else if (text.starts_with("s")) {
      scale = 1000;
      text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      scale = 60'000;
      text.remove_prefix(1);
    } else if (text.starts_with("h")) {
      scale = 3'600'000;
      text.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total += number * scale;
    if (total > limit) return std::nullopt;
  }
  return std::chrono::milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds value) {
  auto ms = value.count();
  if (ms == 0) return "0s";
  std::string out;
  for (auto [unit, scale] : {std::pair{"h", 3'600'000LL}, {"m", 60'000LL}, {"s", 1000LL}, {"ms", 1LL}}) {
    if (ms >= scale) {
      out += std::to_string(ms / scale) + unit;
      ms %= scale;
    }
  }
  return out;
}

}  // namespace meshgate
