// /v1/agent/...: registering services with their checks, TTL check updates, the agent.

#include <boost/json.hpp>

#include "catalog/json_reader.h"
#include "catalog/service.h"
#include "common/version.h"
#include "server/blocking_query.h"
#include "server/health_checker.h"
#include "server/server_context.h"

namespace meshgate::server {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

asio::awaitable<api_response> register_service(server_context& ctx, const api_request& request) {
  const auto reg = catalog::decode_registration(catalog::parse_body(request.body));
  require(ctx, request, {"service", reg.svc.name, access::write});
  if (!reg.svc.proxy.destination_service_name.empty()) {
    // A sidecar speaks for its destination: writing it needs write on that service too.
    require(ctx, request, {"service", reg.svc.proxy.destination_service_name, access::write});
  }
  store::transaction txn;
  ctx.store.read([&](const store::state_view& state) { txn = register_transaction(state, reg, ctx.node); });
  const auto result = co_await commit(ctx.store, std::move(txn));
  if (!result.error.empty()) throw api_error(500, "could not store the registration: " + result.error);
  co_return api_response::empty();
}

asio::awaitable<api_response> deregister_service(server_context& ctx, const api_request& request) {
  std::optional<store::transaction> txn;
  std::string name;
  ctx.store.read([&](const store::state_view& state) {
    if (const auto* s = state.get(services_table, request.param)) name = s->value.at("Service").as_string();
    txn = deregister_transaction(state, request.param);
  });
  if (!txn) throw api_error(404, "Unknown service ID \"" + request.param + "\"");
  require(ctx, request, {"service", name, access::write});
  const auto result = co_await commit(ctx.store, std::move(*txn));
  if (!result.error.empty()) throw api_error(500, "could not store the deregistration: " + result.error);
  co_return api_response::empty();
}

asio::awaitable<api_response> update_ttl_check(server_context& ctx, const api_request& request,
                                               catalog::check_status status, std::string output) {
  const auto& id = request.param;
  std::string service_name;
  bool ttl = false;
  bool found = false;
  ctx.store.read([&](const store::state_view& state) {
    if (const auto* c = state.get(checks_table, id)) {
      found = true;
      ttl = c->value.at("Type").as_string() == "ttl";
      service_name = c->value.at("ServiceName").as_string();
    }
  });
  if (!found) throw api_error(404, "Unknown check ID \"" + id + "\"");
  if (!ttl) throw api_error(400, "check \"" + id + "\" is not a TTL check (its status comes from its probe)");
  require(ctx, request, {"service", service_name, access::write});
  if (output.size() > 4096) output.resize(4096);
  std::optional<store::transaction> txn;
  ctx.store.read([&](const store::state_view& state) { txn = check_update_transaction(state, id, status, output); });
  ctx.checks.ttl_touched(id, status);  // the deadline restarts whether or not the status changed
  if (txn) {
    const auto result = co_await commit(ctx.store, std::move(*txn));
    if (!result.error.empty()) throw api_error(500, "could not store the check status: " + result.error);
  }
  co_return api_response::empty();
}

asio::awaitable<api_response> list_services(server_context& ctx, const api_request& request) {
  require(ctx, request, {"service", "", access::read});
  const std::vector<std::string> topics{services_topic};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, parse_query_options(request));
  json::object out;
  ctx.store.read([&](const store::state_view& state) {
    for (const auto& [id, r] : state.table(services_table)) out[id] = r.value;
  });
  auto response = api_response::json(out);
  set_index_headers(response, index);
  co_return response;
}

asio::awaitable<api_response> list_checks(server_context& ctx, const api_request& request) {
  require(ctx, request, {"service", "", access::read});
  const std::vector<std::string> topics{checks_topic};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, parse_query_options(request));
  json::object out;
  ctx.store.read([&](const store::state_view& state) {
    for (const auto& [id, r] : state.table(checks_table)) out[id] = r.value;
  });
  auto response = api_response::json(out);
  set_index_headers(response, index);
  co_return response;
}

api_response agent_self(const server_context& ctx) {
  const auto& n = ctx.node;
  return api_response::json(json::object{
      {"Config",
       {{"Datacenter", n.datacenter},
        {"PrimaryDatacenter", ctx.primary_datacenter},
        {"NodeName", n.name},
        {"NodeID", n.id},
        {"Server", true},
        {"Revision", ""},
        {"Version", version}}},
      {"Member", {{"Name", n.name}, {"Addr", n.address}, {"Port", 0}, {"Tags", {{"dc", n.datacenter}, {"role", "consul"}}}, {"Status", 1}}},
      {"Meta", json::object{}},
      {"Stats", {{"store", {{"index", ctx.store.index()}, {"blocking_queries", ctx.store.watches().waiting()}}}}}});
}

}  // namespace

void add_agent_endpoints(router& routes, server_context& ctx) {
  routes.add("PUT", "/v1/agent/service/register", [&ctx](const api_request& r) {
    require_local_datacenter(ctx, r);
    return register_service(ctx, r);
  });
  routes.add("PUT", "/v1/agent/service/deregister/", [&ctx](const api_request& r) {
    return deregister_service(ctx, r);
  });
  routes.add("GET", "/v1/agent/services", [&ctx](const api_request& r) { return list_services(ctx, r); });
  routes.add("GET", "/v1/agent/checks", [&ctx](const api_request& r) { return list_checks(ctx, r); });
  routes.add("GET", "/v1/agent/self", [&ctx](const api_request& r) -> asio::awaitable<api_response> {
    require(ctx, r, {"agent", ctx.node.name, access::read});
    co_return agent_self(ctx);
  });
  for (const auto& [verb, status] : {std::pair{"pass", catalog::check_status::passing},
                                     {"warn", catalog::check_status::warning},
                                     {"fail", catalog::check_status::critical}}) {
    routes.add("PUT", std::string("/v1/agent/check/") + verb + "/", [&ctx, s = status](const api_request& r) {
      return update_ttl_check(ctx, r, s, r.get("note"));
    });
  }
  // Consul's /check/update/:id: {"Status": "passing", "Output": "..."} in the body.
  routes.add("PUT", "/v1/agent/check/update/", [&ctx](const api_request& r) -> asio::awaitable<api_response> {
    const auto body = catalog::parse_body(r.body);
    catalog::json_reader in(body, "");
    const auto text = in.string("Status");
    const auto status = catalog::parse_check_status(text);
    if (!status) throw catalog::invalid_input("Status: \"" + text + "\" must be passing, warning or critical");
    auto output = in.string("Output");
    in.done();
    co_return co_await update_ttl_check(ctx, r, *status, std::move(output));
  });
}

}  // namespace meshgate::server
