#include "net/drain.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>

#include "common/logging.h"

namespace meshgate::net {

namespace asio = boost::asio;

void serve_until_drained(const std::string& logger_name, std::chrono::milliseconds drain_timeout,
                         const lifecycle_hooks& hooks) {
  const auto log = module_logger(logger_name);
  asio::io_context control(1);
  asio::signal_set signals(control, SIGHUP, SIGTERM, SIGINT);
  asio::steady_timer drain_timer(control);
  std::chrono::steady_clock::time_point drain_deadline;
  bool draining = false;
  bool forced = false;

  std::function<void()> poll_drain = [&] {
    const auto open = hooks.open_connections();
    if (open == 0) {
      log->info("drained: no connection left open");
      control.stop();
      return;
    }
    if (!forced && std::chrono::steady_clock::now() >= drain_deadline) {
      log->warn("drain timeout: closing {} connections still open", open);
      hooks.abort_connections();
      forced = true;
      drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    } else if (forced && std::chrono::steady_clock::now() >= drain_deadline) {
      control.stop();  // what remains is being set up; stopping the workers closes it
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(50));
    drain_timer.async_wait([&](auto error) {
      if (!error) poll_drain();
    });
  };

  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& error,
                                                                              int signal) {
    if (error) return;
    if (signal == SIGHUP) {
      if (hooks.reload) {
        hooks.reload();
      } else {
        log->info("SIGHUP: nothing to reload");
      }
    } else if (!draining) {
      draining = true;
      drain_deadline = std::chrono::steady_clock::now() + drain_timeout;
      log->info("{}: draining {} open connections (up to {} ms); signal again to stop now",
                signal == SIGTERM ? "SIGTERM" : "SIGINT", hooks.open_connections(), drain_timeout.count());
      // Listeners first, readiness second: once /ready says 503, a new connection is
      // refused rather than accepted into a process that is going away.
      hooks.stop_accepting();
      if (hooks.on_draining) hooks.on_draining();
      poll_drain();
    } else {
      log->warn("second stop signal: closing everything now");
      hooks.abort_connections();
      control.stop();
      return;
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  control.run();
}

}  // namespace meshgate::net
