#pragma once
// Flag values the commands share, each checked with a message that names the flag.

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "net/endpoint.h"

namespace meshgate::cli {

/// A positive Go-style duration ("500ms", "10s", "1m30s"). Throws CLI::ValidationError.
std::chrono::milliseconds duration_flag(const std::string& name, const std::string& text);

/// An IP:PORT, or nothing for "" (an endpoint turned off). Throws CLI::ValidationError.
std::optional<net::tcp_endpoint> optional_endpoint_flag(const std::string& name, const std::string& text);

/// -busy-poll-us (net/event_loop.h), the same for both proxies; `microseconds` holds the
/// command's default.
void add_busy_poll_flag(CLI::App* command, unsigned& microseconds);

}  // namespace meshgate::cli
