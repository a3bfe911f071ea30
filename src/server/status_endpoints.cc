// /v1/status/...: who leads. One server per datacenter for now: it does.

#include <boost/json.hpp>

#include "server/server_context.h"

namespace meshgate::server {

namespace json = boost::json;
namespace asio = boost::asio;

void add_status_endpoints(router& routes, server_context& ctx, std::string leader_address) {
  (void)ctx;
  routes.add("GET", "/v1/status/leader", [leader_address](const api_request&) -> asio::awaitable<api_response> {
    co_return api_response::json(json::string(leader_address));  // one server: it leads
  });
  routes.add("GET", "/v1/status/peers", [leader_address](const api_request&) -> asio::awaitable<api_response> {
    co_return api_response::json(json::array{json::string(leader_address)});
  });
}


}  // namespace meshgate::server
