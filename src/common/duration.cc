#include "common/duration.h"

#include <cctype>
#include <cmath>

namespace meshgate {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  // Go's time.ParseDuration grammar, without signs: [0-9]+(.[0-9]+)?unit, repeated.
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  while (!text.empty()) {
    std::size_t i = 0;
    double number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      number = number * 10 + (text[i++] - '0');
    }
    const bool had_integer = i > 0;
    if (i < text.size() && text[i] == '.') {
      double scale = 0.1;
      ++i;
      const std::size_t start = i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        number += (text[i++] - '0') * scale;
        scale /= 10;
      }
      if (i == start && !had_integer) return std::nullopt;
    } else if (!had_integer) {
      return std::nullopt;
    }
    text.remove_prefix(i);
    double unit_ms = 0;
    for (const auto& [name, ms] : {std::pair<std::string_view, double>{"ns", 1e-6},
                                   {"us", 1e-3},
                                   {"\xc2\xb5s", 1e-3},  // µs
                                   {"ms", 1},
                                   {"s", 1000},
                                   {"m", 60'000},
                                   {"h", 3'600'000}}) {
      // "ms" before "m" and "s": the longest unit that matches.
      if (text.starts_with(name) && (name != "m" || !text.starts_with("ms"))) {
        unit_ms = ms;
        text.remove_prefix(name.size());
        break;
      }
    }
    if (unit_ms == 0) return std::nullopt;
    total_ms += number * unit_ms;
    if (total_ms > 1e15) return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
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
