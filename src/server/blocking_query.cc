#include "server/blocking_query.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <random>

#include "catalog/json_reader.h"
#include "common/duration.h"

namespace meshgate::server {

namespace asio = boost::asio;

query_options parse_query_options(const api_request& request) {
  query_options options;
  if (request.has("index")) {
    const auto text = request.get("index");
    std::uint64_t index = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      throw catalog::invalid_input("index: \"" + text + "\" is not a non-negative integer");
    }
    options.index = index;
  }
  if (request.has("wait")) {
    const auto text = request.get("wait");
    const auto wait = parse_duration(text);
    if (!wait) throw catalog::invalid_input("wait: \"" + text + "\" is not a duration (examples: 30s, 5m)");
    options.wait = std::min(*wait, max_wait);
  }
  return options;
}

asio::awaitable<std::uint64_t> block_until_changed(store::watch_registry& watches,
                                                   const std::vector<std::string>& topics,
                                                   const query_options& options) {
  const auto current = [&] { return std::max<std::uint64_t>(1, watches.index_of(topics)); };
  // No index: answer now. An index ahead of ours (the server restarted, or the client
  // invented it): answer now too, so the client starts over from what we have.
  if (!options.index || *options.index == 0 || current() < *options.index) co_return current();
  // Jitter spreads the answers of many clients that started waiting together.
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto jitter = std::chrono::milliseconds(
      options.wait.count() >= 16 ? static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(options.wait.count() / 16)) : 0);
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                    options.wait + jitter);
  // The wake-up comes from the committing thread: it only posts to this timer's executor.
  auto handle = watches.wait(topics, *options.index, [timer] {
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  });
  if (handle) co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  co_return current();
}

void set_index_headers(api_response& response, std::uint64_t index) {
  response.headers.emplace_back("X-Consul-Index", std::to_string(index));
  response.headers.emplace_back("X-Consul-KnownLeader", "true");
  response.headers.emplace_back("X-Consul-LastContact", "0");
}

}  // namespace meshgate::server
