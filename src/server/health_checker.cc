#include "server/health_checker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "catalog/check_state.h"
#include "common/duration.h"
#include "common/logging.h"
#include "server/blocking_query.h"
#include "server/server_context.h"

namespace meshgate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;
using catalog::check_status;

namespace {

const auto& log() {
  static const auto logger = module_logger("health");
  return logger;
}

constexpr std::size_t max_output_bytes = 4096;  // Consul's default OutputMaxSize

std::pair<std::string, std::string> split_host_port(const std::string& address, const char* default_port) {
  if (address.starts_with('[')) {  // [v6]:port
    const auto close = address.find(']');
    const auto port = address.size() > close + 2 ? address.substr(close + 2) : default_port;
    return {address.substr(1, close - 1), port};
  }
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return {address, default_port};
  return {address.substr(0, colon), address.substr(colon + 1)};
}

}  // namespace

struct health_checker::runner {
  runner(asio::any_io_executor ex, std::string check_id, catalog::health_check c, std::string fingerprint)
      : id(std::move(check_id)),
        check(std::move(c)),
        definition(std::move(fingerprint)),
        timer(ex),
        state(check.status, check.definition.success_before_passing, check.definition.failures_before_critical,
              std::chrono::steady_clock::now()) {}
  std::string id;
  catalog::health_check check;  // as stored when the runner started
  std::string definition;       // serialized definition: a change restarts the runner
  asio::steady_timer timer;
  catalog::check_state state;
  bool stopped = false;
};

health_checker::health_checker(asio::io_context& io, store::record_store& store)
    : io_(io), store_(store), strand_(asio::make_strand(io)) {}

health_checker::~health_checker() = default;

void health_checker::start() {
  asio::co_spawn(strand_, follow_checks(), asio::detached);
  asio::co_spawn(strand_, reap(), asio::detached);
}

void health_checker::stop() {
  asio::post(strand_, [this] {
    stopped_ = true;
    for (auto& [id, r] : runners_) {
      r->stopped = true;
      r->timer.cancel();
    }
    runners_.clear();
  });
}

void health_checker::ttl_touched(const std::string& check_id, check_status status) {
  asio::post(strand_, [this, check_id, status] {
    if (auto it = runners_.find(check_id); it != runners_.end()) {
      it->second->state.observe(status, std::chrono::steady_clock::now());
      it->second->timer.cancel();
    }
  });
}

asio::awaitable<void> health_checker::follow_checks() {
  query_options options;
  options.index = 0;
  options.wait = max_wait;
  while (!stopped_) {
    // The index first, then the state: a change in between is seen now or wakes us.
    options.index = std::max<std::uint64_t>(store_.watches().index_of({checks_topic}), 1);
    std::map<std::string, std::pair<json::value, std::uint64_t>> checks;
    store_.read([&](const store::state_view& state) {
      for (const auto& [id, r] : state.table(checks_table)) {
        std::uint64_t registered = 0;
        if (const auto* service = r.value.as_object().if_contains("ServiceID"); service && service->is_string()) {
          if (const auto* s = state.get(services_table, service->as_string())) registered = s->modify_index;
        }
        checks.emplace(id, std::make_pair(r.value, registered));
      }
    });
    reconcile(checks);
    const std::vector<std::string> topics{checks_topic};
    co_await block_until_changed(store_.watches(), topics, options);
  }
}

void health_checker::reconcile(const std::map<std::string, std::pair<json::value, std::uint64_t>>& checks) {
  const auto fingerprint_of = [](const std::pair<json::value, std::uint64_t>& c) {
    return json::serialize(c.first.at("Definition")) + std::string(c.first.at("Type").as_string()) + "@" +
           std::to_string(c.second);
  };
  for (auto it = runners_.begin(); it != runners_.end();) {
    const auto found = checks.find(it->first);
    const bool same = found != checks.end() && fingerprint_of(found->second) == it->second->definition;
    if (same) {
      ++it;
      continue;
    }
    it->second->stopped = true;
    it->second->timer.cancel();
    it = runners_.erase(it);
  }
  for (const auto& [id, entry] : checks) {
    if (runners_.contains(id)) continue;
    auto check = catalog::health_check_from_json(entry.first);
    auto fingerprint = fingerprint_of(entry);
    auto r = std::make_shared<runner>(strand_, id, std::move(check), std::move(fingerprint));
    runners_.emplace(id, r);
    if (r->check.definition.type == catalog::check_type::ttl) {
      asio::co_spawn(strand_, run_ttl(r), asio::detached);
    } else {
      asio::co_spawn(strand_, run(r), asio::detached);
    }
  }
}

asio::awaitable<void> health_checker::run_ttl(std::shared_ptr<runner> r) {
  // Each pass/warn/fail cancels the timer (ttl_touched): the deadline starts over. When
  // the deadline passes with no news the check goes critical, and stays so until news.
  bool expired = false;
  while (!r->stopped) {
    if (expired) {
      r->timer.expires_at(asio::steady_timer::time_point::max());
    } else {
      r->timer.expires_after(r->check.definition.ttl);
    }
    auto [ec] = co_await r->timer.async_wait(as_tuple(use_awaitable));
    if (r->stopped) co_return;
    if (ec == asio::error::operation_aborted) {
      expired = false;  // touched: the API wrote the new status itself
      continue;
    }
    expired = true;
    co_await report(*r, check_status::critical, "TTL expired");
  }
}

asio::awaitable<void> health_checker::run(std::shared_ptr<runner> r) {
  while (!r->stopped) {
    auto [status, output] = co_await probe(*r);
    if (r->stopped) co_return;
    co_await report(*r, status, std::move(output));
    r->timer.expires_after(r->check.definition.interval);
    co_await r->timer.async_wait(as_tuple(use_awaitable));
  }
}

asio::awaitable<std::pair<check_status, std::string>> health_checker::probe(const runner& r) {
  const auto& d = r.check.definition;
  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(executor);
  if (d.type == catalog::check_type::tcp) {
    const auto [host, port] = split_host_port(d.tcp, "0");
    auto [rerr, endpoints] = co_await resolver.async_resolve(host, port, as_tuple(use_awaitable));
    if (rerr) co_return std::pair{check_status::critical, "dial tcp " + d.tcp + ": " + rerr.message()};
    beast::tcp_stream stream(executor);
    stream.expires_after(d.timeout);
    auto [cerr, connected] = co_await stream.async_connect(endpoints, as_tuple(use_awaitable));
    if (cerr) co_return std::pair{check_status::critical, "dial tcp " + d.tcp + ": " + cerr.message()};
    co_return std::pair{check_status::passing, "TCP connect " + d.tcp + ": Success"};
  }

  // HTTP(S): 2xx passing, 429 warning, anything else (or no answer in time) critical.
  const auto url = boost::urls::parse_uri(d.http);
  if (!url) co_return std::pair{check_status::critical, "HTTP " + d.http + ": not a URL"};
  const bool tls = url->scheme() == "https";
  const std::string host = url->host();
  const std::string port = url->has_port() ? std::string(url->port()) : (tls ? "443" : "80");
  std::string target = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
  if (url->has_query()) target += "?" + std::string(url->encoded_query());
  const auto prefix = "HTTP " + d.method + " " + d.http + ": ";
  auto [rerr, endpoints] = co_await resolver.async_resolve(host, port, as_tuple(use_awaitable));
  if (rerr) co_return std::pair{check_status::critical, prefix + rerr.message()};

  http::request<http::string_body> request{http::string_to_verb(d.method), target, 11};
  if (request.method() == http::verb::unknown) request.method_string(d.method);
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "meshgate health check");
  request.set(http::field::accept, "text/plain, text/*, */*");
  for (const auto& [name, values] : d.header) {
    for (const auto& v : values) request.insert(name, v);
  }
  request.body() = d.body;
  request.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  if (tls) {
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.set_default_verify_paths();
    context.set_verify_mode(d.tls_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(executor, context);
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
    if (!d.tls_skip_verify) stream.set_verify_callback(asio::ssl::host_name_verification(host));
    beast::get_lowest_layer(stream).expires_after(d.timeout);
    std::tie(ec, std::ignore) = co_await beast::get_lowest_layer(stream).async_connect(endpoints, as_tuple(use_awaitable));
    if (!ec) std::tie(ec) = co_await stream.async_handshake(asio::ssl::stream_base::client, as_tuple(use_awaitable));
    if (!ec) std::tie(ec, std::ignore) = co_await http::async_write(stream, request, as_tuple(use_awaitable));
    if (!ec) std::tie(ec, std::ignore) = co_await http::async_read_some(stream, buffer, parser, as_tuple(use_awaitable));
    while (!ec && !parser.is_done() && parser.get().body().size() < max_output_bytes) {
      std::tie(ec, std::ignore) = co_await http::async_read_some(stream, buffer, parser, as_tuple(use_awaitable));
    }
  } else {
    beast::tcp_stream stream(executor);
    stream.expires_after(d.timeout);
    std::tie(ec, std::ignore) = co_await stream.async_connect(endpoints, as_tuple(use_awaitable));
    if (!ec) std::tie(ec, std::ignore) = co_await http::async_write(stream, request, as_tuple(use_awaitable));
    if (!ec) std::tie(ec, std::ignore) = co_await http::async_read_some(stream, buffer, parser, as_tuple(use_awaitable));
    while (!ec && !parser.is_done() && parser.get().body().size() < max_output_bytes) {
      std::tie(ec, std::ignore) = co_await http::async_read_some(stream, buffer, parser, as_tuple(use_awaitable));
    }
  }
  if (ec && !parser.is_header_done()) co_return std::pair{check_status::critical, prefix + ec.message()};
  const auto& response = parser.get();
  const unsigned code = response.result_int();
  auto body = response.body().substr(0, max_output_bytes);
  auto output = prefix + std::to_string(code) + " " + std::string(response.reason()) + " Output: " + body;
  if (code >= 200 && code < 300) co_return std::pair{check_status::passing, std::move(output)};
  if (code == 429) co_return std::pair{check_status::warning, std::move(output)};
  co_return std::pair{check_status::critical, std::move(output)};
}

asio::awaitable<void> health_checker::report(runner& r, check_status status, std::string output) {
  // The reported status changes only as the thresholds allow; the output is kept fresh
  // whenever the status it explains is the reported one.
  const auto changed = r.state.observe(status, std::chrono::steady_clock::now());
  if (!changed && status != r.state.reported()) co_return;
  std::optional<store::transaction> txn;
  store_.read([&](const store::state_view& state) {
    txn = check_update_transaction(state, r.id, r.state.reported(), output);
  });
  if (!txn) co_return;
  const auto result = co_await commit(store_, std::move(*txn));
  if (!result.error.empty()) log()->warn("check {}: could not record its status: {}", r.id, result.error);
}

asio::awaitable<void> health_checker::reap() {
  asio::steady_timer tick(strand_);
  while (!stopped_) {
    tick.expires_after(std::chrono::seconds(1));
    co_await tick.async_wait(as_tuple(use_awaitable));
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, std::string>> doomed;  // (service id, why)
    for (const auto& [id, r] : runners_) {
      const auto after = r->check.definition.deregister_critical_service_after;
      if (after.count() > 0 && r->state.critical_for(after, now)) {
        doomed.emplace_back(r->check.service_id,
                            "check " + id + " critical for more than " + format_duration(after));
      }
    }
    for (const auto& [service_id, why] : doomed) {
      std::optional<store::transaction> txn;
      store_.read([&](const store::state_view& state) { txn = deregister_transaction(state, service_id); });
      if (!txn) continue;
      const auto result = co_await commit(store_, std::move(*txn));
      if (result.applied) log()->info("deregistered service {}: {}", service_id, why);
    }
  }
}

}  // namespace meshgate::server
