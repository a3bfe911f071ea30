#include "server/server.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>
#include <boost/json.hpp>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "catalog/json_reader.h"
#include "common/logging.h"
#include "common/system.h"
#include "ca/ca_manager.h"
#include "server/federation.h"
#include "server/health_checker.h"
#include "server/http_server.h"
#include "server/leaf_cache.h"
#include "server/remote_call.h"
#include "server/server_context.h"
#include "store/sqlite_record_store.h"

namespace meshgate::server {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

const auto& log() {
  static const auto logger = module_logger("server");
  return logger;
}

std::string random_uuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no randomness for a node ID");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "meshgate-server";
  return name;
}

/// The node record: made on the first start (with its ID), read on the next ones.
node_info ensure_node(store::record_store& s, const server_options& o) {
  node_info node;
  node.name = o.node_name.empty() ? host_name() : o.node_name;
  node.address = o.http_endpoint.address().is_unspecified() ? "127.0.0.1" : o.http_endpoint.address().to_string();
  node.datacenter = o.datacenter;
  s.read([&](const store::state_view& state) {
    if (const auto* r = state.get(node_table, node.name)) node.id = r->value.at("ID").as_string();
  });
  if (!node.id.empty()) return node;
  node.id = random_uuid();
  std::promise<store::commit_result> done;
  store::transaction txn;
  txn.ops.push_back({std::string(node_table), node.name, json::object{{"ID", node.id}, {"Node", node.name}}, 0});
  s.commit(std::move(txn), [&](store::commit_result r) { done.set_value(std::move(r)); });
  const auto result = done.get_future().get();
  if (!result.error.empty()) throw std::runtime_error("cannot record the node: " + result.error);
  return node;
}

/// A secondary's CA: take the primary's identity and roots, have the primary sign our
/// intermediate, and keep both current — a new intermediate when the active root changes
/// or ours is past half its life. When the primary cannot be reached, what we have keeps
/// working and we try again.
asio::awaitable<void> follow_primary_ca(ca::ca_manager& ca, std::string primary, std::string datacenter) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer pause(executor);
  std::string index = "0";
  std::chrono::seconds backoff(1);
  for (;;) {
    try {
      auto wait = std::chrono::seconds(300);
      if (const auto renew = ca.intermediate_renewal_time()) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(*renew - std::chrono::system_clock::now());
        wait = std::clamp(left, std::chrono::seconds(1), wait);
      }
      const auto r = co_await remote_call(primary, "GET",
                                          "/v1/connect/ca/roots?index=" + index + "&wait=" + std::to_string(wait.count()) + "s",
                                          "", wait + std::chrono::seconds(30));
      if (r.status != 200) throw std::runtime_error("the primary answered " + std::to_string(r.status) + ": " + r.body);
      const auto body = json::parse(r.body);
      const std::string td(body.at("TrustDomain").as_string());
      const std::string active(body.at("ActiveRootID").as_string());
      std::vector<std::pair<std::string, json::object>> roots;
      for (const auto& root : body.at("Roots").as_array()) {
        auto o = root.as_object();
        o.erase("CreateIndex");
        o.erase("ModifyIndex");
        o.erase("ExternalTrustDomain");
        roots.emplace_back(std::string(o.at("ID").as_string()), std::move(o));
      }
      ca.adopt_primary_roots(td.substr(0, td.find('.')), td, roots);
      const auto renew = ca.intermediate_renewal_time();
      const bool stale = !ca.ready() || ca.active_root_id() != active ||
                         (renew && std::chrono::system_clock::now() >= *renew);
      if (stale) {
        json::object request;
        request["CSR"] = ca.intermediate_csr();
        request["Datacenter"] = datacenter;
        auto request_body = json::serialize(request);
        const auto signed_ = co_await remote_call(primary, "POST", "/v1/meshgate/ca/intermediate",
                                                  std::move(request_body), std::chrono::seconds(30));
        if (signed_.status != 200) {
          throw std::runtime_error("the primary refused our intermediate: " + signed_.body);
        }
        ca.install_intermediate(std::string(json::parse(signed_.body).at("CertPEM").as_string()));
      }
      index = r.index.empty() ? "0" : r.index;
      backoff = std::chrono::seconds(1);
      continue;
    } catch (const std::exception& e) {
      log()->warn("CA: cannot sync with the primary at {}: {} (retrying in {} s)", primary, e.what(), backoff.count());
    }
    pause.expires_after(backoff);  // (a coroutine cannot wait inside a catch block)
    co_await pause.async_wait(asio::use_awaitable);
    backoff = std::min(backoff * 2, std::chrono::seconds(30));
  }
}

/// The primary drops roots whose leaves have all expired.
asio::awaitable<void> prune_roots(ca::ca_manager& ca) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  for (;;) {
    tick.expires_after(std::chrono::minutes(1));
    co_await tick.async_wait(asio::use_awaitable);
    try {
      ca.prune_roots();
    } catch (const std::exception& e) {
      log()->warn("CA: pruning old roots failed: {}", e.what());
    }
  }
}

}  // namespace

void load_server_config_file(const std::filesystem::path& file, server_options& o) {
  std::ifstream in(file);
  if (!in) throw catalog::invalid_input(file.string() + ": cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  const auto document = catalog::parse_body(text.str());
  catalog::json_reader r(document, "");
  if (auto v = r.string("datacenter"); !v.empty()) o.datacenter = v;
  if (auto v = r.string("primary_datacenter"); !v.empty()) o.primary_datacenter = v;
  if (auto v = r.string("data_dir"); !v.empty()) o.data_dir = v;
  if (auto v = r.string("node_name"); !v.empty()) o.node_name = v;
  auto set_http = [&](const std::string& text_address, const std::string& where) {
    const auto e = net::parse_endpoint(text_address);
    if (!e) throw catalog::invalid_input(file.string() + ": " + where + ": \"" + text_address + "\" is not IP:PORT");
    o.http_endpoint = *e;
  };
  if (auto v = r.string("http_addr"); !v.empty()) set_http(v, "http_addr");
  if (auto v = r.string("primary_addr"); !v.empty()) o.primary_address = v;
  if (auto v = r.string("advertise_addr_wan"); !v.empty()) o.advertise_wan = v;
  if (auto addresses = r.object("addresses")) {
    if (auto v = addresses->string("http"); !v.empty()) {
      o.http_endpoint.address(boost::asio::ip::make_address(v));
    }
    addresses->done();
  }
  if (auto ports = r.object("ports")) {
    o.http_endpoint.port(static_cast<unsigned short>(ports->integer("http", o.http_endpoint.port(), 0, 65535)));
    ports->done();
  }
  r.done();
}

int run_server(server_options o) {
  if (o.data_dir.empty()) throw catalog::invalid_input("-data-dir: required (where the server keeps its state)");
  if (o.primary_datacenter.empty()) o.primary_datacenter = o.datacenter;
  if (!catalog::is_valid_service_name(o.datacenter)) {
    throw catalog::invalid_input("-datacenter: \"" + o.datacenter + "\" must be letters, digits and '-'");
  }
  const std::size_t threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());

  store::sqlite_record_store store(o.data_dir, catalog_indexes());
  const auto node = ensure_node(store, o);
  const bool primary = o.datacenter == o.primary_datacenter;
  if (!primary && o.primary_address.empty()) {
    throw catalog::invalid_input("-primary-addr: required in a secondary datacenter (" + o.datacenter +
                                 " is not the primary, " + o.primary_datacenter + ")");
  }
  ca::ca_manager ca(store, o.data_dir / "ca", o.datacenter);
  if (primary) ca.initialize_primary();
  std::mt19937_64 random_engine{std::random_device{}()};
  std::mutex random_mutex;
  leaf_cache leaves(
      ca, store,
      [&] {
        std::lock_guard lock(random_mutex);
        return std::uniform_real_distribution<double>(0, 1)(random_engine);
      },
      [] { return std::chrono::system_clock::now(); });

  asio::io_context io(static_cast<int>(threads));
  allow_all acl;
  health_checker checks(io, store);
  server_context ctx{store, node, o.primary_datacenter, acl, checks, ca, leaves};
  router routes;
  add_agent_endpoints(routes, ctx);
  add_catalog_endpoints(routes, ctx);
  add_config_endpoints(routes, ctx);
  add_ca_endpoints(routes, ctx);
  add_proxy_endpoints(routes, ctx);
  add_federation_endpoints(routes, ctx);
  http_server http(io, o.http_endpoint, routes);
  const auto bound = http.local_endpoint();
  const auto address = net::to_string(bound);
  // Where the other datacenters reach this server: the address listened on, or the
  // node's when it listens on all of them.
  std::string advertised = address;
  if (!o.advertise_wan.empty()) {
    boost::system::error_code bad;
    const auto ip = asio::ip::make_address(o.advertise_wan, bad);
    if (bad) throw catalog::invalid_input("-advertise-wan: \"" + o.advertise_wan + "\" is not an IP address");
    advertised = net::to_string(net::tcp_endpoint(ip, bound.port()));
  } else if (bound.address().is_unspecified()) {
    advertised = net::to_string(net::tcp_endpoint(asio::ip::make_address(node.address), bound.port()));
  }
  federation fed(ctx, primary ? std::string() : o.primary_address, advertised);
  ctx.fed = &fed;
  routes.set_forwarder([&fed](const api_request& r) { return fed.forward_if_remote(r); });
  add_status_endpoints(routes, ctx, address);
  http.start();
  checks.start();
  asio::co_spawn(io, fed.publish_local_state(), asio::detached);
  asio::co_spawn(io, fed.follow_remote_sidecars(), asio::detached);
  if (primary) {
    asio::co_spawn(io, prune_roots(ca), asio::detached);
  } else {
    asio::co_spawn(io, follow_primary_ca(ca, o.primary_address, o.datacenter), asio::detached);
    asio::co_spawn(io, fed.replicate_states(), asio::detached);
    asio::co_spawn(io, fed.replicate_config(), asio::detached);
  }
  log()->info("meshgate server: datacenter {} (primary {}), node {} ({}), data in {}, index {}",
              o.datacenter, o.primary_datacenter, node.name, node.id, o.data_dir.string(), store.index());
  if (ca.ready()) log()->info("CA: trust domain {}, active root {}", ca.trust_domain(), ca.active_root_id());
  log()->info("http: listening on {}", address);
  if (!o.http_address_file.empty()) write_file_atomically(o.http_address_file, address + "\n");

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log()->info("{}: stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
    http.stop();
    checks.stop();
    io.stop();
  });
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  log()->info("stopped at index {}", store.index());
  return 0;
}

}  // namespace meshgate::server
