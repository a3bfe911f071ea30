// `meshgate server`: the control plane of one datacenter.

#include <boost/system/system_error.hpp>
#include <iostream>

#include "catalog/json_reader.h"
#include "cli/commands.h"
#include "cli/error_text.h"
#include "common/logging.h"
#include "server/server.h"
#include "store/sqlite_record_store.h"

namespace meshgate::cli {

namespace {

struct server_flags {
  std::string config_file;
  std::string datacenter;
  std::string primary_datacenter;
  std::string data_dir;
  std::string http_addr;
  std::string http_addr_file;
  std::string node;
  std::string primary_addr;
  std::string advertise_wan;
  std::size_t threads = 0;
  std::string log_level = "info";
};

int run(const server_flags& f) {
  try {
    set_log_level(f.log_level);
    server::server_options o;
    if (!f.config_file.empty()) server::load_server_config_file(f.config_file, o);
    // Flags given on the command line override the config file.
    if (!f.datacenter.empty()) o.datacenter = f.datacenter;
    if (!f.primary_datacenter.empty()) o.primary_datacenter = f.primary_datacenter;
    if (!f.data_dir.empty()) o.data_dir = f.data_dir;
    if (!f.node.empty()) o.node_name = f.node;
    if (!f.http_addr.empty()) {
      const auto e = net::parse_endpoint(f.http_addr);
      if (!e) {
        std::cerr << "meshgate server: -http-addr: \"" << f.http_addr << "\" is not IP:PORT\n";
        return exit_usage;
      }
      o.http_endpoint = *e;
    }
    o.http_address_file = f.http_addr_file;
    if (!f.primary_addr.empty()) o.primary_address = f.primary_addr;
    if (!f.advertise_wan.empty()) o.advertise_wan = f.advertise_wan;
    o.threads = f.threads;
    return server::run_server(std::move(o));
  } catch (const catalog::invalid_input& e) {
    std::cerr << "meshgate server: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "meshgate server: -log-level: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {  // store_error, system_error (address in use), ...
    std::cerr << "meshgate server: " << error_text(e) << "\n";
    return exit_failure;
  }
}

}  // namespace

void add_server_command(CLI::App& app, command_runner& runner) {
  auto f = std::make_shared<server_flags>();
  auto* c = app.add_subcommand(
      "server",
      "Run the control plane of one datacenter: catalog, health checks and config entries "
      "behind a Consul-compatible HTTP API, kept durable in -data-dir.");
  c->footer(
      "\nExample:\n"
      "  meshgate server -datacenter dc1 -data-dir /var/lib/meshgate -http-addr 127.0.0.1:8500\n"
      "A config file (-config-file, JSON) takes Consul's names: datacenter, primary_datacenter,\n"
      "data_dir, node_name, http_addr (or addresses.http and ports.http); flags override it.\n"
      "SIGINT or SIGTERM stops the server; every acknowledged write is already on disk.");
  c->add_option("--config-file", f->config_file, "JSON config file");
  c->add_option("--datacenter", f->datacenter, "This server's datacenter (default dc1)");
  c->add_option("--primary-datacenter", f->primary_datacenter,
                "The datacenter whose CA is the root of trust (default: this one)");
  c->add_option("--data-dir", f->data_dir, "Where the state is kept (required)");
  c->add_option("--http-addr", f->http_addr, "HTTP API address, IP:PORT (default 127.0.0.1:8500; port 0: any)");
  c->add_option("--http-addr-file", f->http_addr_file,
                "Write the API's actual IP:PORT to this file once it listens (for scripts)");
  c->add_option("--node", f->node, "This server's node name (default: the host name)");
  c->add_option("--primary-addr", f->primary_addr,
                "A secondary: the primary server's HTTP API, host:port (its CA signs our intermediate)");
  c->add_option("--advertise-wan", f->advertise_wan,
                "The IP other datacenters reach this server on (default: the one it listens on)");
  c->add_option("--threads", f->threads, "Threads serving the API (0: one per CPU)")->capture_default_str();
  c->add_option("--log-level", f->log_level, "trace, debug, info, warn or error")->capture_default_str();
  c->callback([&runner, f] { runner = [f] { return run(*f); }; });
}

}  // namespace meshgate::cli
