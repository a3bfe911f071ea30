// /v1/config...: config entries, with check-and-set and blocking reads.

#include <boost/json.hpp>
#include <charconv>

#include "catalog/config_entry.h"
#include "server/blocking_query.h"
#include "server/federation.h"
#include "server/server_context.h"

namespace meshgate::server {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

std::optional<std::uint64_t> cas_of(const api_request& request) {
  if (!request.has("cas")) return std::nullopt;
  const auto text = request.get("cas");
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw catalog::invalid_input("cas: \"" + text + "\" is not a non-negative integer");
  }
  return value;
}

/// Consul's rule: proxy-defaults need operator:write; the others, service:write on their name.
permission write_permission(const std::string& kind, const std::string& name) {
  if (kind == catalog::proxy_defaults_kind) return {"operator", "", access::write};
  if (kind == catalog::service_intentions_kind) return {"mesh", "", access::write};
  return {"service", name, access::write};
}

void require_known_kind(const std::string& kind) {
  if (!catalog::is_known_config_kind(kind)) {
    throw api_error(400, "invalid config entry kind \"" + kind +
                             "\" (known: proxy-defaults, service-defaults, service-resolver, service-intentions)");
  }
}

asio::awaitable<api_response> write_entry(server_context& ctx, const api_request& request) {
  if (!ctx.is_primary() && ctx.fed != nullptr) co_return co_await ctx.fed->forward_config_write(request);
  auto entry = catalog::decode_config_entry(catalog::parse_body(request.body));
  require(ctx, request, write_permission(entry.kind, entry.name));
  const auto key = catalog::config_key(entry.kind, entry.name);
  store::transaction txn;
  txn.ops.push_back({std::string(config_table), key, json::value(std::move(entry.body)), cas_of(request)});
  txn.topics = {config_topic(entry.kind), config_entry_topic(entry.kind, entry.name), "config"};
  const auto result = co_await commit(ctx.store, std::move(txn));
  if (!result.error.empty()) throw api_error(500, "could not store the config entry: " + result.error);
  auto response = api_response::json(result.applied);  // Consul answers true, or false when the CAS failed
  if (result.applied) set_index_headers(response, result.index);  // a secondary waits for it
  co_return response;
}

asio::awaitable<api_response> read_entries(server_context& ctx, const api_request& request) {
  const auto slash = request.param.find('/');
  const std::string kind = request.param.substr(0, slash);
  require_known_kind(kind);
  const auto options = parse_query_options(request);
  if (slash == std::string::npos) {  // GET /v1/config/:kind
    require(ctx, request, {"service", "", access::read});
    const std::vector<std::string> topics{config_topic(kind)};
    const auto index = co_await block_until_changed(ctx.store.watches(), topics, options);
    json::array out;
    ctx.store.read([&](const store::state_view& state) {
      const auto& table = state.table(config_table);
      for (auto it = table.lower_bound(kind + "/"); it != table.end() && it->first.starts_with(kind + "/"); ++it) {
        out.push_back(with_indexes(it->second));
      }
    });
    auto response = api_response::json(out);
    set_index_headers(response, index);
    co_return response;
  }
  const std::string name = request.param.substr(slash + 1);
  if (name.empty() || name.find('/') != std::string::npos) throw api_error(404, "no such endpoint: " + request.path);
  require(ctx, request, {"service", name, access::read});
  const std::vector<std::string> topics{config_entry_topic(kind, name)};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, options);
  std::optional<json::object> entry;
  ctx.store.read([&](const store::state_view& state) {
    if (const auto* r = state.get(config_table, catalog::config_key(kind, name))) entry = with_indexes(*r);
  });
  if (!entry) {
    auto response = api_response::error(404, "Config entry not found for \"" + kind + "\" / \"" + name + "\"");
    set_index_headers(response, index);
    co_return response;
  }
  auto response = api_response::json(*entry);
  set_index_headers(response, index);
  co_return response;
}

asio::awaitable<api_response> delete_entry(server_context& ctx, const api_request& request) {
  const auto slash = request.param.find('/');
  if (slash == std::string::npos) throw api_error(405, "DELETE needs /v1/config/:kind/:name");
  const std::string kind = request.param.substr(0, slash);
  const std::string name = request.param.substr(slash + 1);
  require_known_kind(kind);
  if (!ctx.is_primary() && ctx.fed != nullptr) co_return co_await ctx.fed->forward_config_write(request);
  require(ctx, request, write_permission(kind, name));
  store::transaction txn;
  txn.ops.push_back({std::string(config_table), catalog::config_key(kind, name), std::nullopt, cas_of(request)});
  txn.topics = {config_topic(kind), config_entry_topic(kind, name), "config"};
  const auto result = co_await commit(ctx.store, std::move(txn));
  if (!result.error.empty()) throw api_error(500, "could not delete the config entry: " + result.error);
  auto response = api_response::json(result.applied);
  if (result.applied) set_index_headers(response, result.index);
  co_return response;
}

}  // namespace

void add_config_endpoints(router& routes, server_context& ctx) {
  routes.add("PUT", "/v1/config", [&ctx](const api_request& r) {
    require_local_datacenter(ctx, r);
    return write_entry(ctx, r);
  });
  routes.add("GET", "/v1/config/*", [&ctx](const api_request& r) {
    require_local_datacenter(ctx, r);
    return read_entries(ctx, r);
  });
  routes.add("DELETE", "/v1/config/*", [&ctx](const api_request& r) {
    require_local_datacenter(ctx, r);
    return delete_entry(ctx, r);
  });
}

}  // namespace meshgate::server
