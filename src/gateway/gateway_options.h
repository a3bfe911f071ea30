#pragma once
// Process-wide settings of `meshgate gateway` (flags), as opposed to the routes snapshot.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "net/endpoint.h"
#include "tls/client_hello_parser.h"

namespace meshgate::gateway {

struct gateway_options {
  /// Worker threads, each with its own event loop and listeners. 0: one per CPU we may use.
  std::size_t workers = 0;
  /// Largest ClientHello accepted (the handshake message; 64 KiB at most).
  std::size_t max_hello_bytes = tls::default_max_hello_bytes;
  /// From accept to a complete ClientHello.
  std::chrono::milliseconds hello_timeout{10'000};
  /// A relayed connection with no byte either way for this long is closed.
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  /// Open downstream connections over all workers; more are closed at accept and counted.
  /// 0: as many as the descriptor limit allows (two descriptors per connection).
  std::size_t max_connections = 0;
  /// How long SIGTERM waits for open connections to end before closing them.
  std::chrono::milliseconds drain_timeout{15'000};
  /// Bytes a relay moves per read (one shared chunk per worker).
  std::size_t relay_chunk_bytes = 256 * 1024;
  /// After a turn with events, how long a worker polls for more before it sleeps
  /// (net/event_loop.h). A gateway usually has its machine to itself, so it is on.
  std::chrono::microseconds busy_poll{50};
  /// Where the admin endpoint listens (none: no admin endpoint).
  std::optional<net::tcp_endpoint> admin_endpoint;
  /// The admin endpoint's actual address is written here once it listens (for scripts).
  std::string admin_address_file;
  int listen_backlog = 4096;
};

}  // namespace meshgate::gateway
