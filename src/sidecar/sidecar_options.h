#pragma once
// Process-wide settings of `meshgate proxy` (flags), as opposed to its configuration
// snapshot, which comes from the server or a file.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "net/endpoint.h"
#include "sidecar/tls_context.h"

namespace meshgate::sidecar {

struct sidecar_options {
  /// Worker threads, each with its own event loop and listeners. A sidecar shares its
  /// machine with the service it fronts: one by default.
  std::size_t workers = 1;
  /// From accept (inbound) or connect (outbound) to a finished TLS handshake.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// Connecting to the local service, from the inbound listener.
  std::chrono::milliseconds local_connect_timeout{5'000};
  /// A relayed connection with no byte either way for this long is closed.
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  /// How long SIGTERM waits for open connections to end before closing them.
  std::chrono::milliseconds drain_timeout{15'000};
  /// Open connections (inbound and outbound together); 0: as many as descriptors allow.
  std::size_t max_connections = 0;
  /// Bytes a relay moves per read (one shared chunk per worker).
  std::size_t relay_chunk_bytes = 256 * 1024;
  /// After a turn with events, how long a worker polls for more before it sleeps
  /// (net/event_loop.h). Off: a sidecar shares its CPUs with the service it fronts.
  std::chrono::microseconds busy_poll{0};
  /// Which peers the inbound listener admits.
  inbound_peers admitted = inbound_peers::service_identity;
  std::optional<net::tcp_endpoint> admin_endpoint;
  std::string admin_address_file;
  int listen_backlog = 4096;
};

}  // namespace meshgate::sidecar
