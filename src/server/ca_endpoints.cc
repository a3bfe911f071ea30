// /v1/connect/ca/... and /v1/agent/connect/ca/leaf/...: the CA's roots, leaves, CSR
// signing, configuration (rotation), and the primary's signing of secondaries'
// intermediates.

#include <boost/json.hpp>

#include "ca/ca_manager.h"
#include "catalog/json_reader.h"
#include "catalog/service.h"
#include "server/blocking_query.h"
#include "server/leaf_cache.h"
#include "server/server_context.h"
#include "x509/pem.h"
#include "common/timestamp.h"

namespace meshgate::server {

namespace json = boost::json;
namespace asio = boost::asio;

namespace {

/// Runs `fn`, turning the CA's refusals into API errors.
template <class F>
auto ca_call(F&& fn) {
  try {
    return fn();
  } catch (const ca::ca_not_ready& e) {
    throw api_error(503, e.what());
  } catch (const ca::signing_refused& e) {
    throw api_error(400, e.what());
  } catch (const x509::crypto_error& e) {
    throw api_error(400, e.what());
  }
}

json::object issued_json(const ca::issued_cert& c, std::uint64_t index) {
  json::object out{{"SerialNumber", c.serial},
                   {"CertPEM", c.cert_pem},
                   {"Service", c.service},
                   {"ServiceURI", c.service_uri},
                   {"ValidAfter", rfc3339(c.valid_after)},
                   {"ValidBefore", rfc3339(c.valid_before)},
                   {"CreateIndex", index},
                   {"ModifyIndex", index}};
  if (!c.private_key_pem.empty()) out["PrivateKeyPEM"] = c.private_key_pem;
  return out;
}

asio::awaitable<api_response> roots(server_context& ctx, const api_request& request) {
  require_local_datacenter(ctx, request);
  const std::vector<std::string> topics{ca::roots_topic};
  const auto index = co_await block_until_changed(ctx.store.watches(), topics, parse_query_options(request));
  json::array list;
  std::string bundle;
  std::string trust_domain, active;
  ctx.store.read([&](const store::state_view& v) {
    if (const auto* meta = v.get(ca::ca_table, "meta")) trust_domain = meta->value.at("TrustDomain").as_string();
    const auto& t = v.table(ca::ca_table);
    for (auto it = t.lower_bound("root/"); it != t.end() && it->first.starts_with("root/"); ++it) {
      auto r = with_indexes(it->second);
      r.erase("KeyID");  // which file holds the key is nobody else's business
      r["ExternalTrustDomain"] = trust_domain;
      if (r.at("Active").as_bool()) active = r.at("ID").as_string();
      bundle += r.at("RootCert").as_string();
      for (const auto& c : r.at("IntermediateCerts").as_array()) bundle += c.as_string();
      list.push_back(std::move(r));
    }
  });
  api_response out;
  if (request.get("pem") == "true") {
    out = {200, bundle, "application/pem-certificate-chain", {}};
  } else {
    out = api_response::json(json::object{{"ActiveRootID", active}, {"TrustDomain", trust_domain}, {"Roots", std::move(list)}});
  }
  set_index_headers(out, index);
  co_return out;
}

asio::awaitable<api_response> leaf(server_context& ctx, const api_request& request) {
  const auto& service = request.param;
  if (!catalog::is_valid_service_name(service)) throw catalog::invalid_input("service: \"" + service + "\" is not a service name");
  require(ctx, request, {"service", service, access::write});
  const auto options = parse_query_options(request);
  const auto deadline = std::chrono::steady_clock::now() + options.wait;
  for (;;) {
    const auto current = ca_call([&] { return ctx.leaves.get(service); });
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!options.index || current.index > *options.index || left.count() <= 0) {
      auto out = api_response::json(issued_json(current.cert, current.index));
      set_index_headers(out, current.index);
      co_return out;
    }
    // Hold until the leaf is due for renewal, the root changes, or the wait ends.
    const auto until_renewal = std::chrono::duration_cast<std::chrono::milliseconds>(current.cert.valid_before - current.cert.valid_after);
    const auto to_renewal = std::chrono::duration_cast<std::chrono::milliseconds>(current.renew_at - std::chrono::system_clock::now());
    // Waits on the roots alone: a leaf's own index runs ahead of the store's (each new leaf
    // takes the next one), so the two cannot share one "changed past N" comparison. The
    // renewal point is a deadline, not an event: the wait is cut to it.
    query_options hold;
    const std::vector<std::string> topics{ca::roots_topic};
    hold.index = ctx.store.watches().index_of(topics);
    hold.wait = std::max(std::chrono::milliseconds(1), std::min({left, to_renewal, until_renewal}));
    co_await block_until_changed(ctx.store.watches(), topics, hold);
  }
}

asio::awaitable<api_response> sign(server_context& ctx, const api_request& request) {
  const auto body = catalog::parse_body(request.body);
  catalog::json_reader in(body, "");
  const auto pem = in.string("CSR");
  const auto service = in.string("Service");
  in.done();
  if (pem.empty()) throw catalog::invalid_input("CSR: required (a PEM certificate signing request)");
  if (!catalog::is_valid_service_name(service)) throw catalog::invalid_input("Service: \"" + service + "\" is not a service name");
  require(ctx, request, {"service", service, access::write});
  const auto issued = ca_call([&] {
    const auto csr = x509::csr_from_pem(pem);
    return ctx.ca.sign(csr.get(), service);
  });
  co_return api_response::json(issued_json(issued, ctx.store.index()));
}

asio::awaitable<api_response> get_configuration(server_context& ctx, const api_request& request) {
  require(ctx, request, {"operator", "", access::read});
  const auto config = ca_call([&] { return ctx.ca.config(); });
  std::uint64_t create = 0, modify = 0;
  ctx.store.read([&](const store::state_view& v) {
    if (const auto* m = v.get(ca::ca_table, "meta")) {
      create = m->create_index;
      modify = m->modify_index;
    }
  });
  co_return api_response::json(json::object{{"Provider", "meshgate"},
                                            {"ClusterID", ca_call([&] { return ctx.ca.cluster_id(); })},
                                            {"Config", ca::to_json(config)},
                                            {"CreateIndex", create},
                                            {"ModifyIndex", modify}});
}

asio::awaitable<api_response> put_configuration(server_context& ctx, const api_request& request) {
  require(ctx, request, {"operator", "", access::write});
  if (!ctx.is_primary()) throw api_error(400, "the CA is configured in the primary datacenter (" + ctx.primary_datacenter + ")");
  const auto body = catalog::parse_body(request.body.empty() ? "{}" : request.body);
  catalog::json_reader in(body, "");
  const auto provider = in.string("Provider", "meshgate");
  if (provider != "meshgate" && provider != "consul") {
    throw catalog::invalid_input("Provider: \"" + provider + "\" must be \"meshgate\" (or \"consul\", the same)");
  }
  auto config = ca_call([&] { return ctx.ca.config(); });
  if (const auto* c = in.find("Config")) config = ca::parse_ca_config(*c, config);
  in.boolean("ForceWithoutCrossSigning");  // never: the old root always vouches for the new
  in.done();
  // Every configuration change rotates the root (as changing Consul's CA provider does).
  ca_call([&] { return ctx.ca.rotate(config); });
  co_return api_response::empty();
}

asio::awaitable<api_response> sign_intermediate(server_context& ctx, const api_request& request) {
  require(ctx, request, {"operator", "", access::write});
  if (!ctx.is_primary()) throw api_error(400, "only the primary datacenter signs intermediates");
  const auto body = catalog::parse_body(request.body);
  catalog::json_reader in(body, "");
  const auto pem = in.string("CSR");
  const auto datacenter = in.string("Datacenter");
  in.done();
  if (pem.empty()) throw catalog::invalid_input("CSR: required");
  if (!catalog::is_valid_service_name(datacenter)) throw catalog::invalid_input("Datacenter: required, a datacenter name");
  const auto cert = ca_call([&] { return ctx.ca.sign_intermediate(x509::csr_from_pem(pem).get()); });
  co_return api_response::json(json::object{{"CertPEM", cert}, {"RootID", ctx.ca.active_root_id()}});
}

}  // namespace

void add_ca_endpoints(router& routes, server_context& ctx) {
  routes.add("GET", "/v1/connect/ca/roots", [&ctx](const api_request& r) { return roots(ctx, r); });
  routes.add("GET", "/v1/agent/connect/ca/leaf/", [&ctx](const api_request& r) { return leaf(ctx, r); });
  routes.add("POST", "/v1/connect/ca/sign", [&ctx](const api_request& r) { return sign(ctx, r); });
  routes.add("PUT", "/v1/connect/ca/sign", [&ctx](const api_request& r) { return sign(ctx, r); });
  routes.add("GET", "/v1/connect/ca/configuration", [&ctx](const api_request& r) { return get_configuration(ctx, r); });
  routes.add("PUT", "/v1/connect/ca/configuration", [&ctx](const api_request& r) { return put_configuration(ctx, r); });
  routes.add("POST", "/v1/meshgate/ca/intermediate", [&ctx](const api_request& r) { return sign_intermediate(ctx, r); });
}

}  // namespace meshgate::server
