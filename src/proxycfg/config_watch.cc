#include "proxycfg/config_watch.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <optional>
#include <random>

#include "catalog/json_reader.h"

namespace meshgate::proxycfg {

namespace asio = boost::asio;

namespace {

/// The pause before the next attempt: `current` plus up to a quarter of it; doubles it.
std::chrono::milliseconds next_backoff(std::chrono::milliseconds& current, std::chrono::milliseconds max) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const double fraction = std::uniform_real_distribution<double>(0.0, 0.25)(random);
  const auto out = current + std::chrono::milliseconds(static_cast<std::int64_t>(current.count() * fraction));
  current = std::min(current * 2, max);
  return out;
}

}  // namespace

asio::awaitable<void> watch_proxy_config(const api::api_client& server, watch_options options,
                                         watch_handlers handlers) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  auto backoff = options.backoff_min;
  const auto wait_seconds =
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(options.wait).count());
  std::uint64_t index = 0;
  std::optional<proxy_snapshot> delivered;
  for (;;) {
    std::string path = "/v1/meshgate/proxy/" + options.proxy_id;
    if (index > 0) path += "?index=" + std::to_string(index) + "&wait=" + std::to_string(wait_seconds) + "s";
    std::string failure;
    bool reachable = true;
    try {
      const auto timeout = options.wait + std::chrono::seconds(30);  // the server adds up to 1/16 of jitter
      const auto r = co_await server.async_request("GET", path, "", timeout);
      if (r.ok()) {
        auto snapshot = parse_proxy_snapshot(r.body, field_check::lenient);
        std::uint64_t next = 0;
        if (const auto h = r.headers.find("x-consul-index"); h != r.headers.end()) {
          next = std::strtoull(h->second.c_str(), nullptr, 10);
        }
        // An index that went backwards: the server lost its state or is another one. Start over.
        index = next < index ? 0 : next;
        if (!delivered || *delivered != snapshot) {
          handlers.on_snapshot(snapshot, index);
          delivered = std::move(snapshot);
        }
        handlers.on_status(true, "", index);
        backoff = options.backoff_min;
        continue;
      }
      failure = "proxy configuration: the server answered " + std::to_string(r.status) + ": " + r.error_message();
    } catch (const api::unreachable& e) {
      failure = e.what();
      reachable = false;
    } catch (const catalog::invalid_input& e) {
      failure = std::string("proxy configuration: unusable answer from the server: ") + e.what();
    }
    index = 0;
    handlers.on_status(reachable, failure, index);
    pause.expires_after(next_backoff(backoff, options.backoff_max));
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace meshgate::proxycfg
