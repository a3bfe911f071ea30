// /v1/catalog/... and /v1/health/...: who provides a service, where, and whether healthy.

#include <boost/json.hpp>
#include <set>

#include "catalog/filter_expression.h"
#include "catalog/service.h"
#include "server/blocking_query.h"
#include "server/federation_state.h"
#include "server/server_context.h"

namespace meshgate::server {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

bool has_tags(const json::object& service, const std::vector<std::string>& wanted) {
  const auto& tags = service.at("Tags").as_array();
  return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& t) {
    return std::any_of(tags.begin(), tags.end(), [&](const json::value& v) { return v.as_string() == t; });
  });
}

/// The instances a health or catalog read returns, in ID order.
std::vector<const store::record*> select(const store::state_view& state, const std::string& name,
                                         bool connect, const std::vector<std::string>& tags) {
  auto found = state.find(services_table, connect ? services_by_connect : services_by_name, name);
  std::erase_if(found, [&](const store::record* r) { return !has_tags(r->value.as_object(), tags); });
  return found;
}

json::object catalog_service(const server_context& ctx, const store::record& r, const json::object& node) {
  const auto& s = r.value.as_object();
  auto field = [&](const char* name, json::value fallback) {
    const auto* v = s.if_contains(name);
    return v ? *v : fallback;
  };
  return {{"ID", node.at("ID")},
          {"Node", node.at("Node")},
          {"Address", node.at("Address")},
          {"Datacenter", ctx.node.datacenter},
          {"TaggedAddresses", node.at("TaggedAddresses")},
          {"NodeMeta", json::object{}},
          {"ServiceKind", field("Kind", "")},
          {"ServiceID", s.at("ID")},
          {"ServiceName", s.at("Service")},
          {"ServiceTags", s.at("Tags")},
          {"ServiceAddress", s.at("Address")},
          {"ServiceTaggedAddresses", field("TaggedAddresses", json::object{})},
          {"ServiceWeights", s.at("Weights")},
          {"ServiceMeta", s.at("Meta")},
          {"ServicePort", s.at("Port")},
          {"ServiceEnableTagOverride", s.at("EnableTagOverride")},
          {"ServiceProxy", field("Proxy", json::object{})},
          {"ServiceConnect", field("Connect", json::object{})},
          {"CreateIndex", r.create_index},
          {"ModifyIndex", r.modify_index}};
}

json::object node_json(const server_context& ctx, const store::state_view& state) {
  const auto* r = state.get(node_table, ctx.node.name);
  return ctx.node.to_json(r ? r->create_index : 1, r ? r->modify_index : 1);
}

asio::awaitable<api_response> catalog_service_read(server_context& ctx, const api_request& request) {
  require_local_datacenter(ctx, request);
  const auto& name = request.param;
  require(ctx, request, {"service", name, access::read});
  const std::vector<std::string> topics{service_topic(name)};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, parse_query_options(request));
  json::array out;
  ctx.store.read([&](const store::state_view& state) {
    const auto node = node_json(ctx, state);
    for (const auto* r : select(state, name, false, request.all("tag"))) out.push_back(catalog_service(ctx, *r, node));
  });
  auto response = api_response::json(out);
  set_index_headers(response, index);
  co_return response;
}

asio::awaitable<api_response> health_read(server_context& ctx, const api_request& request, bool connect) {
  require_local_datacenter(ctx, request);
  const auto& name = request.param;
  require(ctx, request, {"service", name, access::read});
  const bool passing_only = request.has("passing") && request.get("passing") != "false";
  // ?filter= takes the language of service-resolver subsets (catalog/filter_expression),
  // over each entry as answered; refused before the read blocks.
  std::optional<catalog::filter_expression> filter;
  if (request.has("filter")) {
    try {
      filter = catalog::filter_expression::parse(request.get("filter"));
    } catch (const catalog::invalid_input& e) {
      throw api_error(400, std::string("filter: ") + e.what());
    }
  }
  const auto topic = connect ? connect_topic(name) : service_topic(name);
  const std::vector<std::string> topics{topic};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, parse_query_options(request));
  json::array out;
  ctx.store.read([&](const store::state_view& state) {
    const auto node = node_json(ctx, state);
    for (const auto* r : select(state, name, connect, request.all("tag"))) {
      const auto checks = checks_of(state, r->value.at("ID").as_string());
      if (passing_only && aggregate_status(checks) != catalog::check_status::passing) continue;
      json::array check_list;
      for (const auto* c : checks) check_list.push_back(with_indexes(*c));
      json::object entry{{"Node", node}, {"Service", with_indexes(*r)}, {"Checks", std::move(check_list)}};
      if (filter && !filter->matches(entry)) continue;
      out.push_back(std::move(entry));
    }
  });
  auto response = api_response::json(out);
  set_index_headers(response, index);
  co_return response;
}

asio::awaitable<api_response> catalog_services(server_context& ctx, const api_request& request) {
  require_local_datacenter(ctx, request);
  require(ctx, request, {"service", "", access::read});
  const std::vector<std::string> topics{services_topic};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, parse_query_options(request));
  std::map<std::string, std::set<std::string>> names;
  ctx.store.read([&](const store::state_view& state) {
    for (const auto& [id, r] : state.table(services_table)) {
      auto& tags = names[std::string(r.value.at("Service").as_string())];
      for (const auto& t : r.value.at("Tags").as_array()) tags.insert(std::string(t.as_string()));
    }
  });
  json::object out;
  for (const auto& [name, tags] : names) {
    json::array a;
    for (const auto& t : tags) a.emplace_back(t);
    out[name] = std::move(a);
  }
  auto response = api_response::json(out);
  set_index_headers(response, index);
  co_return response;
}

}  // namespace

void add_catalog_endpoints(router& routes, server_context& ctx) {
  // Every datacenter federation knows, this one first (Consul orders by distance).
  routes.add("GET", "/v1/catalog/datacenters", [&ctx](const api_request&) -> asio::awaitable<api_response> {
    json::array out;
    ctx.store.read([&](const store::state_view& state) {
      for (auto& dc : known_datacenters(state, ctx.node.datacenter)) out.emplace_back(std::move(dc));
    });
    co_return api_response::json(out);
  });
  routes.add("GET", "/v1/catalog/services", [&ctx](const api_request& r) { return catalog_services(ctx, r); });
  routes.add("GET", "/v1/catalog/service/", [&ctx](const api_request& r) { return catalog_service_read(ctx, r); });
  routes.add("GET", "/v1/health/service/", [&ctx](const api_request& r) { return health_read(ctx, r, false); });
  routes.add("GET", "/v1/health/connect/", [&ctx](const api_request& r) { return health_read(ctx, r, true); });
}

}  // namespace meshgate::server
