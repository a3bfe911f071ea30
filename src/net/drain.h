#pragma once
// How a proxy process lives until it is told to stop: SIGHUP reloads; SIGTERM or SIGINT
// stops accepting, waits for open connections to end (up to the drain timeout), closes
// what is left and returns; a second stop signal closes everything at once. The gateway
// and the sidecar share it so that operators see one behaviour.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace meshgate::net {

struct lifecycle_hooks {
  std::function<void()> reload;             // SIGHUP; empty: SIGHUP is only logged
  std::function<void()> stop_accepting;     // the first step of a drain; returns once nothing accepts
  std::function<std::size_t()> open_connections;
  std::function<void()> abort_connections;  // the drain ran out of time
  std::function<void()> on_draining;        // after stop_accepting: e.g. /ready starts answering 503
};

/// Blocks, handling signals, until a drain has finished. Logs with `logger_name`.
void serve_until_drained(const std::string& logger_name, std::chrono::milliseconds drain_timeout,
                         const lifecycle_hooks& hooks);

}  // namespace meshgate::net
