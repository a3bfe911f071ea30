#pragma once
// Every counter the sidecar keeps: per listener target (the inbound listener, each
// upstream), per worker, per close reason; and the control plane's own.
//
// As in the gateway, each worker writes only its own slot and the admin thread sums them.

#include <array>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/relay.h"
#include "sidecar/tls_context.h"
#include "stats/counter.h"

namespace meshgate::sidecar {

/// Why a connection ended. Every accepted connection ends with exactly one.
enum class close_reason : std::uint8_t {
  connection_limit,    // over -max-connections: closed at accept
  no_certificate,      // the sidecar has no certificate yet (the server was never reached)
  handshake_timeout,   // no finished TLS handshake within -handshake-timeout
  handshake_failed,    // the peer spoke bad TLS, closed, or refused us
  peer_no_certificate, // inbound: the client presented no certificate
  peer_untrusted,      // its chain does not reach a trusted root, is expired, wrong usage
  peer_identity_mismatch,  // inbound: not a service of our trust domain; outbound: not the
                           // upstream's identity
  denied,              // inbound: the authorization hook (intentions) said no
  no_endpoints,        // outbound: the upstream has no healthy endpoint
  upstream_unavailable,       // outbound: every endpoint tried failed to connect
  local_service_unavailable,  // inbound: the local service refused or did not answer
  finished,                   // both sides closed normally
  idle_timeout,
  reset,    // either side failed or reset; the other was reset too
  drained,  // still open when a drain ran out of time
};
inline constexpr std::size_t close_reason_count = static_cast<std::size_t>(close_reason::drained) + 1;
std::string_view to_string(close_reason reason) noexcept;
close_reason close_reason_for(net::relay_end end) noexcept;
close_reason close_reason_for(peer_refusal refusal) noexcept;

/// The counters of one target in one worker.
struct alignas(64) target_counters {
  stats::counter connections;
  stats::gauge active;
  stats::counter handshakes;        // finished and verified
  stats::counter bytes_to_mesh;     // plaintext encrypted toward the mesh
  stats::counter bytes_from_mesh;   // plaintext decrypted from the mesh
  stats::counter connect_failures;  // connect attempts that failed (outbound: the next endpoint is tried)
  std::array<stats::counter, close_reason_count> closed;
  void count_close(close_reason reason) noexcept {
    closed[static_cast<std::size_t>(reason)].inc();
    active.dec();
  }
};

/// One target's counters, one slot per worker. They outlive configuration changes.
class target_stats {
 public:
  target_stats(std::string name, std::string kind, std::size_t workers)
      : name_(std::move(name)), kind_(std::move(kind)), slots_(workers) {}
  const std::string& name() const noexcept { return name_; }
  const std::string& kind() const noexcept { return kind_; }  // "inbound" or "upstream"
  target_counters& slot(std::size_t worker) noexcept { return slots_[worker]; }
  struct totals {
    std::uint64_t connections = 0, handshakes = 0, bytes_to_mesh = 0, bytes_from_mesh = 0, connect_failures = 0;
    std::int64_t active = 0;
    std::array<std::uint64_t, close_reason_count> closed{};
  };
  totals sum() const noexcept;

 private:
  std::string name_;
  std::string kind_;
  std::vector<target_counters> slots_;
};

/// What the control thread counts (one writer: that thread).
struct control_counters {
  stats::counter config_updates;     // snapshots applied
  stats::counter config_errors;      // fetches that failed (server gone, bad answer)
  stats::counter certificates_issued;
  stats::counter certificate_errors;  // signing requests that failed
};

class sidecar_stats {
 public:
  explicit sidecar_stats(std::size_t workers) : workers_(workers), slots_(workers) {}
  std::size_t worker_count() const noexcept { return workers_; }
  /// The counters for a target, made on first use.
  std::shared_ptr<target_stats> target(const std::string& name, const std::string& kind);
  stats::counter& accept_errors(std::size_t worker) noexcept { return slots_[worker].accept_errors; }
  net::busy_poll_counters& busy_poll(std::size_t worker) noexcept { return slots_[worker].busy_poll; }
  control_counters control;

  std::string prometheus() const;
  boost::json::value to_json() const;

 private:
  /// Counters of one worker that are not tied to a target.
  struct alignas(64) worker_slot {
    stats::counter accept_errors;
    net::busy_poll_counters busy_poll;
  };
  struct worker_sums {
    std::uint64_t accept_errors = 0;
    net::busy_poll_totals busy_polls;
  };
  worker_sums worker_totals() const noexcept;
  std::vector<std::shared_ptr<target_stats>> targets_sorted() const;
  std::size_t workers_;
  std::vector<worker_slot> slots_;
  mutable std::mutex mutex_;  // guards the map, not the counters
  std::map<std::string, std::shared_ptr<target_stats>> targets_;
};

}  // namespace meshgate::sidecar
