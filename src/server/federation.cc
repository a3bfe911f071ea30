#include "server/federation.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "catalog/config_entry.h"
#include "catalog/json_reader.h"
#include "catalog/service.h"
#include "common/logging.h"
#include "server/blocking_query.h"
#include "server/federation_state.h"
#include "server/remote_call.h"

namespace meshgate::server {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

const auto& log() {
  static const auto logger = module_logger("federation");
  return logger;
}

constexpr std::chrono::seconds follow_wait{300};
constexpr std::chrono::seconds call_timeout{30};
constexpr std::chrono::seconds backoff_max{30};

/// Where the secondary records how far it has replicated the primary's config entries.
constexpr std::string_view replication_table = "replication";
const std::string replication_topic = "replication";

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

/// The request's path and query, as another server should receive it.
std::string target_of(const api_request& request) {
  std::string target;
  for (const char c : request.path) {
    if (c == '/') {
      target.push_back('/');
    } else {
      target += percent_encode(std::string_view(&c, 1));
    }
  }
  char separator = '?';
  for (const auto& [name, value] : request.query) {
    target.push_back(separator);
    separator = '&';
    target += percent_encode(name);
    if (!value.empty()) target += "=" + percent_encode(value);
  }
  return target;
}

std::uint64_t index_of(const std::string& text) {
  std::uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

api_response relayed(const remote_response& r) {
  api_response out;
  out.status = r.status;
  out.body = r.body;
  if (const auto index = index_of(r.index); index > 0) set_index_headers(out, index);
  return out;
}

/// Follows `target` on the primary with blocking queries, handing every answer to `apply`
/// (which commits it locally); backs off while the primary cannot be reached.
asio::awaitable<void> follow_primary(std::string primary, std::string target, std::string what,
                                     std::function<asio::awaitable<void>(const json::value&, std::uint64_t)> apply) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  std::uint64_t index = 0;
  std::chrono::seconds backoff(1);
  std::string last_error;
  for (;;) {
    std::string error;
    try {
      const auto r = co_await remote_call(primary, "GET",
                                          target + "?index=" + std::to_string(index) +
                                              "&wait=" + std::to_string(follow_wait.count()) + "s",
                                          "", follow_wait + call_timeout);
      if (r.status != 200) throw std::runtime_error("the primary answered " + std::to_string(r.status) + ": " + r.body);
      const auto next = index_of(r.index);
      co_await apply(json::parse(r.body), next);
      if (!last_error.empty()) log()->info("{}: in step with the primary at {} again", what, primary);
      last_error.clear();
      index = next;
      backoff = std::chrono::seconds(1);
      continue;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error != last_error) {
      log()->warn("{}: cannot follow the primary at {}: {}; serving what this server has, retrying", what,
                  primary, error);
    }
    last_error = error;
    pause.expires_after(backoff);  // (a coroutine cannot wait inside a catch block)
    co_await pause.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, backoff_max);
  }
}

void add_topics(store::transaction& into, std::vector<std::string> topics) {
  for (auto& t : topics) {
    if (std::find(into.topics.begin(), into.topics.end(), t) == into.topics.end()) into.topics.push_back(std::move(t));
  }
}

}  // namespace

federation::federation(server_context& ctx, std::string primary_address, std::string advertise_address)
    : ctx_(ctx), primary_address_(std::move(primary_address)), advertise_address_(std::move(advertise_address)) {}

asio::awaitable<void> federation::publish_local_state() {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  const std::vector<std::string> topics{gateways_topic};
  std::optional<std::uint64_t> seen;
  json::object sent;  // what the primary has from us
  std::chrono::seconds backoff(1);
  for (;;) {
    query_options options;
    options.index = seen;
    options.wait = follow_wait;
    seen = co_await block_until_changed(ctx_.store.watches(), topics, options);
    json::object now;
    std::optional<store::transaction> update;
    ctx_.store.read([&](const store::state_view& state) {
      now = local_federation_state(state, ctx_.node, ctx_.primary_datacenter, advertise_address_);
      update = federation_state_update(state, now);
    });
    if (update) {
      const auto result = co_await commit(ctx_.store, std::move(*update));
      if (!result.error.empty()) log()->error("storing this datacenter's federation state: {}", result.error);
      log()->info("datacenter {}: {} healthy mesh gateway(s) published", ctx_.node.datacenter,
                  now.at("MeshGateways").as_array().size());
    }
    if (is_primary() || now == sent) continue;
    std::string error;
    try {
      const auto r = co_await remote_call(primary_address_, "PUT", "/v1/meshgate/federation/state",
                                          json::serialize(now), call_timeout);
      if (r.status != 200) error = "the primary answered " + std::to_string(r.status) + ": " + r.body;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty()) {
      sent = std::move(now);
      backoff = std::chrono::seconds(1);
      continue;
    }
    log()->warn("cannot send this datacenter's federation state to the primary at {}: {}; retrying",
                primary_address_, error);
    seen.reset();  // try again after the pause, whether or not anything changes
    pause.expires_after(backoff);
    co_await pause.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, backoff_max);
  }
}

asio::awaitable<void> federation::replicate_states() {
  co_await follow_primary(
      primary_address_, "/v1/meshgate/federation/states", "federation states",
      [this](const json::value& body, std::uint64_t) -> asio::awaitable<void> {
        if (!body.is_array()) throw std::runtime_error("federation states: not a JSON array");
        std::vector<json::object> states;
        for (const auto& v : body.as_array()) states.push_back(parse_federation_state(v));
        store::transaction txn;
        ctx_.store.read([&](const store::state_view& state) {
          std::set<std::string> present;
          for (const auto& s : states) {
            const std::string dc(s.at("Datacenter").as_string());
            present.insert(dc);
            if (dc == ctx_.node.datacenter) continue;  // ours is ours to say
            if (auto update = federation_state_update(state, s)) {
              txn.ops.insert(txn.ops.end(), update->ops.begin(), update->ops.end());
              add_topics(txn, update->topics);
            }
          }
          for (const auto& [dc, r] : state.table(federation_table)) {
            if (dc == ctx_.node.datacenter || present.contains(dc)) continue;
            txn.ops.push_back({std::string(federation_table), dc, std::nullopt, std::nullopt});
            add_topics(txn, {federation_topic, gateways_topic});
          }
        });
        if (txn.ops.empty()) co_return;
        const auto result = co_await commit(ctx_.store, std::move(txn));
        if (!result.error.empty()) throw std::runtime_error("storing federation states: " + result.error);
      });
}

asio::awaitable<void> federation::replicate_config() {
  co_await follow_primary(
      primary_address_, "/v1/meshgate/federation/config-entries", "config entries",
      [this](const json::value& body, std::uint64_t primary_index) -> asio::awaitable<void> {
        if (!body.is_array()) throw std::runtime_error("config entries: not a JSON array");
        std::map<std::string, json::value> wanted;
        for (const auto& v : body.as_array()) {
          auto entry = catalog::decode_config_entry(v);  // checked as if a client had sent it
          wanted.emplace(catalog::config_key(entry.kind, entry.name), json::value(std::move(entry.body)));
        }
        store::transaction txn;
        std::size_t changed = 0;
        ctx_.store.read([&](const store::state_view& state) {
          const auto touch = [&](const std::string& key) {
            const auto slash = key.find('/');
            add_topics(txn, {config_topic(key.substr(0, slash)),
                             config_entry_topic(key.substr(0, slash), key.substr(slash + 1)), "config"});
            ++changed;
          };
          for (const auto& [key, value] : wanted) {
            const auto* r = state.get(config_table, key);
            if (r != nullptr && r->value == value) continue;
            txn.ops.push_back({std::string(config_table), key, value, std::nullopt});
            touch(key);
          }
          for (const auto& [key, r] : state.table(config_table)) {
            if (wanted.contains(key)) continue;
            txn.ops.push_back({std::string(config_table), key, std::nullopt, std::nullopt});
            touch(key);
          }
        });
        json::object mark;
        mark["PrimaryIndex"] = primary_index;
        txn.ops.push_back({std::string(replication_table), "config", json::value(std::move(mark)), std::nullopt});
        add_topics(txn, {replication_topic});
        const auto result = co_await commit(ctx_.store, std::move(txn));
        if (!result.error.empty()) throw std::runtime_error("storing config entries: " + result.error);
        if (changed > 0) log()->info("config entries: {} change(s) replicated from the primary", changed);
      });
}

asio::awaitable<void> federation::follow_remote_sidecars() {
  auto executor = co_await asio::this_coro::executor;
  std::map<std::string, std::shared_ptr<bool>> running;  // "<dc>/<service>" -> its stop flag
  const std::vector<std::string> topics{services_topic, federation_topic};
  std::optional<std::uint64_t> seen;
  for (;;) {
    query_options options;
    options.index = seen;
    options.wait = follow_wait;
    seen = co_await block_until_changed(ctx_.store.watches(), topics, options);
    std::set<std::pair<std::string, std::string>> wanted;
    ctx_.store.read([&](const store::state_view& state) {
      for (const auto* r : state.find(services_table, services_by_kind, "connect-proxy")) {
        for (const auto& u : catalog::service_from_json(r->value).proxy.upstreams) {
          if (!u.datacenter.empty() && u.datacenter != ctx_.node.datacenter) wanted.emplace(u.datacenter, u.destination_name);
        }
      }
    });
    for (auto it = running.begin(); it != running.end();) {
      const auto slash = it->first.find('/');
      if (wanted.contains({it->first.substr(0, slash), it->first.substr(slash + 1)})) {
        ++it;
        continue;
      }
      *it->second = true;  // it ends after its current poll
      it = running.erase(it);
    }
    for (const auto& [dc, service] : wanted) {
      const auto key = dc + "/" + service;
      if (running.contains(key)) continue;
      auto stop = std::make_shared<bool>(false);
      running.emplace(key, stop);
      asio::co_spawn(executor, follow_one_remote(dc, service, stop), asio::detached);
    }
  }
}

asio::awaitable<void> federation::follow_one_remote(std::string datacenter, std::string service,
                                                    std::shared_ptr<bool> stop) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  const auto key = datacenter + "/" + service;
  const auto what = "sidecars of " + service + " in " + datacenter;
  std::uint64_t index = 0;
  std::chrono::seconds backoff(1);
  std::string last_error;
  while (!*stop) {
    std::string error;
    try {
      std::optional<std::string> address;
      ctx_.store.read([&](const store::state_view& state) { address = server_address_of(state, datacenter); });
      if (!address) throw std::runtime_error("datacenter " + datacenter + " is not known (yet)");
      const auto r = co_await remote_call(*address, "GET",
                                          "/v1/health/connect/" + percent_encode(service) + "?passing&index=" +
                                              std::to_string(index) + "&wait=" + std::to_string(follow_wait.count()) + "s",
                                          "", follow_wait + call_timeout);
      if (r.status != 200) throw std::runtime_error(*address + " answered " + std::to_string(r.status) + ": " + r.body);
      auto record = remote_sidecars_record(json::parse(r.body));
      record["Datacenter"] = datacenter;
      record["Service"] = service;
      std::optional<store::transaction> txn;
      ctx_.store.read([&](const store::state_view& state) {
        const auto* old = state.get(remote_sidecars_table, key);
        if (old != nullptr && old->value == json::value(record)) return;
        txn.emplace();
        txn->ops.push_back({std::string(remote_sidecars_table), key, json::value(record), std::nullopt});
        txn->topics = {remote_sidecars_topic(datacenter, service)};
      });
      if (txn) {
        const auto result = co_await commit(ctx_.store, std::move(*txn));
        if (!result.error.empty()) throw std::runtime_error("storing them: " + result.error);
        log()->info("{}: {} healthy", what, record.at("Instances").as_array().size());
      }
      if (!last_error.empty()) log()->info("{}: in step again", what);
      last_error.clear();
      const auto next = index_of(r.index);
      index = next < index ? 0 : next;
      backoff = std::chrono::seconds(1);
      continue;
    } catch (const std::exception& e) {
      error = e.what();
    }
    // Keep the last answer: a datacenter out of reach still has the sidecars it had.
    if (error != last_error) log()->warn("{}: {}; keeping the last known, retrying", what, error);
    last_error = error;
    index = 0;
    pause.expires_after(backoff);
    co_await pause.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, backoff_max);
  }
}

std::uint64_t federation::replicated_config_index() const {
  std::uint64_t index = 0;
  ctx_.store.read([&](const store::state_view& state) {
    if (const auto* r = state.get(replication_table, "config")) {
      if (const auto* v = r->value.as_object().if_contains("PrimaryIndex"); v && v->is_uint64()) {
        index = v->as_uint64();
      } else if (v && v->is_int64() && v->as_int64() > 0) {
        index = static_cast<std::uint64_t>(v->as_int64());
      }
    }
  });
  return index;
}

asio::awaitable<std::optional<api_response>> federation::forward_if_remote(const api_request& request) {
  const auto dc = request.get("dc");
  if (dc.empty() || dc == ctx_.node.datacenter) co_return std::nullopt;
  std::optional<std::string> address;
  ctx_.store.read([&](const store::state_view& state) { address = server_address_of(state, dc); });
  if (!address) co_return api_response::error(500, "No path to datacenter");
  auto timeout = call_timeout;
  if (request.has("index")) {
    timeout += std::chrono::duration_cast<std::chrono::seconds>(parse_query_options(request).wait) + follow_wait / 10;
  }
  std::string error;
  try {
    co_return relayed(
        co_await remote_call(*address, request.method, target_of(request), request.body, timeout, request.token()));
  } catch (const std::exception& e) {
    error = e.what();
  }
  co_return api_response::error(502, "datacenter " + dc + ": its server at " + *address + " did not answer: " + error);
}

asio::awaitable<api_response> federation::forward_config_write(const api_request& request) {
  remote_response r;
  std::string error;
  try {
    r = co_await remote_call(primary_address_, request.method, target_of(request), request.body, call_timeout,
                             request.token());
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    co_return api_response::error(502, "config writes go to the primary datacenter (" + ctx_.primary_datacenter +
                                           "), and its server at " + primary_address_ + " did not answer: " + error);
  }
  const auto written = index_of(r.index);
  if (r.status == 200 && written > 0) {
    // Read-your-writes: wait (bounded) until the replica has the primary's result.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    const std::vector<std::string> topics{replication_topic};
    query_options options;
    options.index = co_await block_until_changed(ctx_.store.watches(), topics, options);
    while (replicated_config_index() < written) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds(0)) {
        log()->warn("config write: the primary applied it at index {}, not replicated here within 5 s", written);
        break;
      }
      options.wait = left;
      options.index = co_await block_until_changed(ctx_.store.watches(), topics, options);
    }
  }
  co_return relayed(r);
}

namespace {

/// Every record of `table`, as a blocking read on `topic` (what other servers follow).
asio::awaitable<api_response> list_table(server_context& ctx, const api_request& request, std::string topic,
                                         std::string_view table) {
  require(ctx, request, {"operator", "", access::read});
  const std::vector<std::string> topics{std::move(topic)};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, parse_query_options(request));
  json::array out;
  ctx.store.read([&](const store::state_view& state) {
    for (const auto& [key, r] : state.table(table)) out.push_back(r.value);
  });
  auto response = api_response::json(out);
  set_index_headers(response, index);
  co_return response;
}

asio::awaitable<api_response> accept_state(server_context& ctx, const api_request& request) {
  require(ctx, request, {"operator", "", access::write});
  if (!ctx.is_primary()) {
    throw api_error(400, "federation states are sent to the primary datacenter's server (" + ctx.primary_datacenter +
                             "); this is " + ctx.node.datacenter);
  }
  const auto received = parse_federation_state(catalog::parse_body(request.body));
  if (received.at("Datacenter").as_string() == ctx.node.datacenter) {
    throw api_error(400, "Datacenter: \"" + ctx.node.datacenter + "\" is this server's own");
  }
  if (received.at("PrimaryDatacenter").as_string() != ctx.primary_datacenter) {
    throw api_error(400, "PrimaryDatacenter: \"" + std::string(received.at("PrimaryDatacenter").as_string()) +
                             "\", but this primary is \"" + ctx.primary_datacenter + "\"");
  }
  std::optional<store::transaction> update;
  ctx.store.read([&](const store::state_view& state) { update = federation_state_update(state, received); });
  if (update) {
    const auto result = co_await commit(ctx.store, std::move(*update));
    if (!result.error.empty()) throw api_error(500, "could not store the federation state: " + result.error);
    log()->info("datacenter {}: federation state received ({} mesh gateway(s), server {})",
                std::string(received.at("Datacenter").as_string()), received.at("MeshGateways").as_array().size(),
                std::string(received.at("ServerAddress").as_string()));
  }
  co_return api_response::json(true);
}

}  // namespace

void add_federation_endpoints(router& routes, server_context& ctx) {
  routes.add("GET", "/v1/meshgate/federation/states",
             [&ctx](const api_request& r) { return list_table(ctx, r, federation_topic, federation_table); });
  routes.add("PUT", "/v1/meshgate/federation/state", [&ctx](const api_request& r) { return accept_state(ctx, r); });
  routes.add("GET", "/v1/meshgate/federation/config-entries",
             [&ctx](const api_request& r) { return list_table(ctx, r, "config", config_table); });
}

}  // namespace meshgate::server
