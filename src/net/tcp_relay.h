#pragma once
// Moves bytes both ways between two connected TCP sockets until both sides are done.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "net/relay_scratch.h"

namespace meshgate::net {

enum class relay_direction : std::uint8_t { downstream_to_upstream, upstream_to_downstream };

/// How a relay ended.
enum class relay_end : std::uint8_t {
  finished,      // both sides closed their sending half (FIN each way)
  idle_timeout,  // no byte moved either way for the idle timeout
  reset,         // a socket failed or was reset; the other side is reset too
  aborted,       // closed by its owner (shutdown at the end of a drain)
};
std::string_view to_string(relay_end end) noexcept;

/// What the owner of a relay learns from it. A virtual call per chunk moved: the seam that
/// lets the gateway count bytes per route and tests watch a relay, paid for on purpose.
class relay_observer {
 public:
  virtual ~relay_observer() = default;
  /// `bytes` were written to the destination of `direction`.
  virtual void on_bytes(relay_direction direction, std::size_t bytes) noexcept = 0;
  /// Called once, when the relay has closed both sockets.
  virtual void on_end(relay_end end) noexcept = 0;
};

struct relay_options {
  /// Closes the pair when no byte has moved either way for this long.
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
};

using relay_hook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

/// The relay of one proxied connection.
///
/// Copy mechanism, chosen by measurement on loopback (docs/benchmarks.md): recv() into the
/// worker's shared chunk and send() at once. splice() through a pipe measured slower here:
/// the kernel still copies into the socket buffers and every chunk costs two syscalls more,
/// plus a pipe (two descriptors) per direction. Asio's io_uring backend measured slower
/// as well. A large shared chunk amortises the syscalls without per-connection memory.
///
/// Readiness, not reads, is what a relay waits on (async_wait): an idle connection holds
/// two pending waits and a timer, and no buffer. Written as completion handlers rather than
/// coroutines for the same reason: a pending wait is ~100 bytes, a coroutine frame far more.
class tcp_relay : public std::enable_shared_from_this<tcp_relay>, public relay_hook {
 public:
  using tcp = boost::asio::ip::tcp;

  tcp_relay(tcp::socket downstream, tcp::socket upstream, relay_scratch& scratch,
            std::unique_ptr<relay_observer> observer, relay_options options);
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;
  ~tcp_relay();

  /// Starts moving bytes; the relay keeps itself alive until it ends.
  void start();
  /// Ends the relay now (both sockets reset), reporting `end`.
  void abort(relay_end end = relay_end::aborted) noexcept;

 private:
  struct pending_bytes {
    std::unique_ptr<std::byte[]> buffer;  // a spare from relay_scratch, or null
    std::size_t offset = 0;
    std::size_t length = 0;
  };
  struct pump_state {
    tcp::socket* from;
    tcp::socket* to;
    relay_direction direction;
    pending_bytes pending;
    bool done = false;  // EOF read and passed on as a shutdown(SHUT_WR)
  };

  void pump(pump_state& p) noexcept;
  bool send_now(pump_state& p, const std::byte* data, std::size_t length) noexcept;
  bool flush(pump_state& p) noexcept;
  void wait_readable(pump_state& p);
  void wait_writable(pump_state& p);
  void on_eof(pump_state& p) noexcept;
  void arm_idle_timer();
  void finish(relay_end end) noexcept;
  void release(pending_bytes& pending) noexcept;

  tcp::socket downstream_;
  tcp::socket upstream_;
  boost::asio::steady_timer idle_timer_;
  relay_scratch& scratch_;
  std::unique_ptr<relay_observer> observer_;
  std::chrono::milliseconds idle_timeout_;
  std::chrono::steady_clock::time_point last_activity_;
  pump_state down_to_up_;
  pump_state up_to_down_;
  bool closed_ = false;
};

/// The relays of one worker, so that a drain can end the ones still open.
using relay_list = boost::intrusive::list<tcp_relay, boost::intrusive::constant_time_size<false>>;

}  // namespace meshgate::net
