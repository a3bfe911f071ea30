#pragma once
// Instants as logs and JSON answers write them: RFC 3339 in UTC, to the second.

#include <chrono>
#include <string>

namespace meshgate {

/// "2026-11-27T10:03:13Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace meshgate
