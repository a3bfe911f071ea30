#include "server/server.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "catalog/json_reader.h"
#include "common/logging.h"
#include "server/health_checker.h"
#include "server/http_server.h"
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

void write_file_atomically(const std::string& path, const std::string& text) {
  const auto temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + temporary);
  }
  std::filesystem::rename(temporary, path);
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
  asio::io_context io(static_cast<int>(threads));
  allow_all acl;
  health_checker checks(io, store);
  server_context ctx{store, node, o.primary_datacenter, acl, checks};
  router routes;
  add_agent_endpoints(routes, ctx);
  add_catalog_endpoints(routes, ctx);
  add_config_endpoints(routes, ctx);
  http_server http(io, o.http_endpoint, routes);
  const auto bound = http.local_endpoint();
  const auto address = net::to_string(bound);
  add_status_endpoints(routes, ctx, address);
  http.start();
  checks.start();
  log()->info("meshgate server: datacenter {} (primary {}), node {} ({}), data in {}, index {}",
              o.datacenter, o.primary_datacenter, node.name, node.id, o.data_dir.string(), store.index());
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
