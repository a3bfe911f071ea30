#pragma once
// Durations on the command line, written as Consul and Go write them: "10s", "250ms",
// "1m30s", "1h".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace meshgate {

/// Parses Go's duration syntax (what Consul accepts): a sequence of <number><unit>, the
/// number possibly with a fraction, units ns, us, µs, ms, s, m, h; rounded to whole
/// milliseconds. Returns nullopt for anything else, signs and a bare number included
/// (a unit is always required: "10" is ambiguous).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// "1h", "1m30s", "250ms": the shortest form parse_duration reads back to the same value.
std::string format_duration(std::chrono::milliseconds value);

}  // namespace meshgate
