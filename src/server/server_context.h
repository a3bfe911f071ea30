#pragma once
// What every endpoint handler works with: the store, the node, ACLs, the health checker.

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>

#include "server/api.h"
#include "server/catalog_state.h"
#include "store/record_store.h"

namespace meshgate::ca {
class ca_manager;
}

namespace meshgate::server {

class federation;
class health_checker;
class leaf_cache;

enum class access { read, write };

/// What a call needs, in Consul's ACL vocabulary: `service:write` on "web", and so on.
struct permission {
  // A constructor rather than an aggregate: GCC 12 miscompiles braced aggregates holding
  // string literals inside coroutines ("array used as initializer").
  permission(std::string_view r, std::string s, access l) : resource(r), segment(std::move(s)), level(l) {}
  std::string_view resource;  // service, node, agent, operator, mesh
  std::string segment;        // the name it applies to ("" for operator and mesh)
  access level;
};

/// The seam the ACL system plugs into (its own issue); until then everything is allowed.
class authorizer {
 public:
  virtual ~authorizer() = default;
  virtual bool allowed(std::string_view token, const permission& p) const = 0;
};

class allow_all final : public authorizer {
 public:
  bool allowed(std::string_view, const permission&) const override { return true; }
};

struct server_context {
  store::record_store& store;
  node_info node;
  std::string primary_datacenter;
  const authorizer& acl;
  health_checker& checks;
  ca::ca_manager& ca;
  leaf_cache& leaves;
  federation* fed = nullptr;  // set once the server has made it
  bool is_primary() const { return node.datacenter == primary_datacenter; }
};

/// Throws api_error 403 unless the request's token grants `p`.
void require(const server_context& ctx, const api_request& request, const permission& p);
/// Throws api_error 500 "No path to datacenter" for ?dc= naming another datacenter (the
/// router forwards those that federation knows before any handler runs).
void require_local_datacenter(const server_context& ctx, const api_request& request);
/// Commits `txn` and resumes with the result on the calling coroutine's executor.
boost::asio::awaitable<store::commit_result> commit(store::record_store& s, store::transaction txn);

class router;
void add_agent_endpoints(router& routes, server_context& ctx);
void add_catalog_endpoints(router& routes, server_context& ctx);
void add_config_endpoints(router& routes, server_context& ctx);
void add_ca_endpoints(router& routes, server_context& ctx);
void add_proxy_endpoints(router& routes, server_context& ctx);
void add_federation_endpoints(router& routes, server_context& ctx);
void add_status_endpoints(router& routes, server_context& ctx, std::string leader_address);

}  // namespace meshgate::server
