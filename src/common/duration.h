#pragma once
// Durations on the command line, written as Consul and Go write them: "10s", "250ms",
// "1m30s", "1h".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace meshgate {

/// Parses a sequence of <integer><unit> with units ms, s, m, h. Returns nullopt for
/// anything else, a bare number included (a unit is always required: "10" is ambiguous).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// "1h", "1m30s", "250ms": the shortest form parse_duration reads back to the same value.
std::string format_duration(std::chrono::milliseconds value);

}  // namespace meshgate
