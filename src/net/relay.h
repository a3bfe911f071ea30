#pragma once
// Moves bytes both ways between two connected sockets until both sides are done.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/event_loop.h"
#include "net/relay_scratch.h"

namespace meshgate::net {

enum class relay_direction : std::uint8_t { downstream_to_upstream, upstream_to_downstream };

/// How a relay ended.
enum class relay_end : std::uint8_t {
  finished,      // both sides closed their sending half (a FIN each way)
  idle_timeout,  // no byte moved either way for the idle timeout (decided by the owner)
  reset,         // a socket failed or was reset; the other side gets a reset too
  aborted,       // ended by its owner (shutdown at the end of a drain)
};
std::string_view to_string(relay_end end) noexcept;

/// What an edge-triggered socket is known to be ready for, from the events seen since
/// the last read or write that exhausted it.
struct socket_readiness {
  bool readable = false;
  bool writable = false;
  bool peer_closed = false;  // a FIN arrived (EPOLLRDHUP): after the queued bytes, EOF
  void note(std::uint32_t events) noexcept;
};

/// What the owner of a relay learns from it: a virtual call per chunk moved, the seam that
/// lets the gateway count bytes per route, paid for on purpose.
class relay_observer {
 public:
  /// `bytes` were written to the destination of `direction`.
  virtual void on_relayed(relay_direction direction, std::size_t bytes) noexcept = 0;
  /// The relay is over; the owner closes both sockets (resetting them unless `finished`).
  virtual void on_relay_end(relay_end end) noexcept = 0;

 protected:
  ~relay_observer() = default;
};

/// The relay of one proxied connection, embedded in its owner (no allocation of its own).
///
/// Copy mechanism, chosen by measurement (bench/experiments/README.md): recv() into the
/// worker's shared 256 KiB chunk, send() at once. On this machine's loopback that moved
/// 13.2 Gbit/s through one worker where 16 KiB chunks moved 9.1, splice() through a pipe
/// ~10 (the kernel copies into the receiving socket anyway, and each chunk costs two more
/// system calls and a pipe per direction), and an io_uring relay less than recv/send
/// (the completion round trip sits between the read and the write). One large shared
/// chunk amortises the system calls without giving any connection a buffer of its own:
/// only when a destination cannot take a whole chunk is the rest parked in a spare,
/// returned to the worker as soon as it drains. An idle connection holds no buffer.
class relay final : public ready_handler {
 public:
  relay(event_loop& loop, relay_scratch& scratch, relay_observer& observer) noexcept
      : loop_(loop), scratch_(scratch), observer_(observer) {}
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;
  ~relay();

  /// Starts moving bytes, given what each socket was already seen ready for.
  void start(int downstream_fd, socket_readiness downstream, int upstream_fd,
             socket_readiness upstream) noexcept;
  /// Events for the downstream (client) or upstream socket.
  void on_io(bool upstream_side, std::uint32_t events) noexcept;
  /// Stops moving bytes (the owner closes the sockets). Idempotent.
  void stop() noexcept;

  bool running() const noexcept { return running_; }
  steady_clock::time_point last_activity() const noexcept { return last_activity_; }

 private:
  struct side {
    int fd = -1;
    socket_readiness ready;
  };
  struct pump_state {
    side* from;
    side* to;
    relay_direction direction;
    std::unique_ptr<std::byte[]> pending;  // a spare holding bytes `to` could not take yet
    std::size_t pending_offset = 0;
    std::size_t pending_length = 0;
    bool done = false;     // EOF read from `from` and passed on
    bool yielded = false;  // stopped after its share of chunks; resumes in on_ready()
  };

  void on_ready() noexcept override;
  void pump(pump_state& p) noexcept;
  std::size_t send_some(pump_state& p, const std::byte* data, std::size_t length,
                        bool& failed) noexcept;
  bool write(pump_state& p, const std::byte* data, std::size_t length) noexcept;
  bool flush(pump_state& p) noexcept;
  void on_eof(pump_state& p) noexcept;
  void end(relay_end how) noexcept;

  event_loop& loop_;
  relay_scratch& scratch_;
  relay_observer& observer_;
  side down_;
  side up_;
  pump_state down_to_up_{&down_, &up_, relay_direction::downstream_to_upstream, {}};
  pump_state up_to_down_{&up_, &down_, relay_direction::upstream_to_downstream, {}};
  steady_clock::time_point last_activity_{};
  bool running_ = false;
};

}  // namespace meshgate::net
