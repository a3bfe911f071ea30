// /v1/meshgate/proxy/:id: one proxy's configuration, resolved (DESIGN.md §2.1), as a
// blocking query on everything it was built from.

#include <boost/json.hpp>

#include "server/blocking_query.h"
#include "server/proxy_snapshot_builder.h"
#include "server/server_context.h"

namespace meshgate::server {

namespace asio = boost::asio;

namespace {

std::variant<built_snapshot, snapshot_unavailable> build(server_context& ctx, const std::string& id) {
  std::variant<built_snapshot, snapshot_unavailable> out;
  ctx.store.read([&](const store::state_view& state) { out = build_proxy_snapshot(state, ctx.node, id); });
  return out;
}

const std::vector<std::string>& topics_of(const std::variant<built_snapshot, snapshot_unavailable>& v) {
  return std::visit([](const auto& x) -> const std::vector<std::string>& { return x.topics; }, v);
}

asio::awaitable<api_response> proxy_config(server_context& ctx, const api_request& request) {
  require_local_datacenter(ctx, request);
  const auto& id = request.param;
  if (id.empty()) throw catalog::invalid_input("proxy ID: required (/v1/meshgate/proxy/<service-id>)");
  // A proxy reads what any sidecar may route to; its own registration needs service:read.
  require(ctx, request, {"service", id, access::read});
  const auto options = parse_query_options(request);
  const auto first = build(ctx, id);
  co_await block_until_changed(ctx.store.watches(), topics_of(first), options);
  const auto result = build(ctx, id);
  const auto index = std::max<std::uint64_t>(1, ctx.store.watches().index_of(topics_of(result)));
  api_response out;
  if (const auto* built = std::get_if<built_snapshot>(&result)) {
    out = api_response::json(proxycfg::to_json(built->snapshot));
  } else {
    const auto& why = std::get<snapshot_unavailable>(result);
    out = api_response::error(why.status, why.message);
  }
  set_index_headers(out, index);
  co_return out;
}

}  // namespace

void add_proxy_endpoints(router& routes, server_context& ctx) {
  routes.add("GET", "/v1/meshgate/proxy/", [&ctx](const api_request& r) { return proxy_config(ctx, r); });
}

}  // namespace meshgate::server
