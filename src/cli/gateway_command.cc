// `meshgate gateway`: the mesh gateway, fed by a routes file or by the server.

#include <iostream>

#include "cli/commands.h"
#include "cli/error_text.h"
#include "cli/flag_values.h"
#include "cli/http_flags.h"
#include "common/logging.h"
#include "gateway/gateway.h"
#include "gateway/server_feed.h"
#include "net/endpoint.h"

namespace meshgate::cli {

namespace {

struct gateway_flags {
  std::string routes_file;
  std::string admin_addr = "127.0.0.1:19000";
  std::string admin_addr_file;
  std::size_t workers = 0;
  std::size_t max_connections = 0;
  std::size_t max_hello_bytes = tls::default_max_hello_bytes;
  std::string hello_timeout = "10s";
  std::string idle_timeout = "1h";
  std::string drain_timeout = "15s";
  std::size_t relay_chunk_bytes = 256 * 1024;
  unsigned busy_poll_us = 50;
  std::string log_level = "info";
  bool validate = false;
  // Fed by the server instead of a routes file.
  http_flags http;
  bool register_self = false;
  std::string service = "mesh-gateway";
  std::string proxy_id;
  std::string address;
  std::string wan_address;
};

/// Says what is wrong with the combination of flags, or "".
std::string check_source_flags(const gateway_flags& f) {
  const bool from_server = f.register_self || !f.proxy_id.empty();
  if (from_server && !f.routes_file.empty()) return "-routes-file or the server (-register / -proxy-id), not both";
  if (!from_server && f.routes_file.empty()) return "a configuration is needed: -routes-file, or -register / -proxy-id";
  if (f.register_self && (f.address.empty() || f.wan_address.empty())) {
    return "-register needs -address (LAN IP:PORT) and -wan-address (WAN IP:PORT)";
  }
  if (!f.register_self && (!f.address.empty() || !f.wan_address.empty())) {
    return "-address and -wan-address are what -register registers; add -register";
  }
  if (f.validate && from_server) return "-validate checks a routes file";
  return "";
}

gateway::gateway_options to_options(const gateway_flags& f) {
  gateway::gateway_options o;
  o.workers = f.workers;
  o.max_connections = f.max_connections;
  o.max_hello_bytes = f.max_hello_bytes;
  o.hello_timeout = duration_flag("hello-timeout", f.hello_timeout);
  o.idle_timeout = duration_flag("idle-timeout", f.idle_timeout);
  o.drain_timeout = duration_flag("drain-timeout", f.drain_timeout);
  o.relay_chunk_bytes = f.relay_chunk_bytes;
  o.busy_poll = std::chrono::microseconds(f.busy_poll_us);
  o.admin_endpoint = optional_endpoint_flag("admin-addr", f.admin_addr);
  o.admin_address_file = f.admin_addr_file;
  return o;
}

int run_gateway(const gateway_flags& flags) {
  try {
    set_log_level(flags.log_level);
    const auto options = to_options(flags);
    if (flags.validate) {
      const auto config = gateway::load_gateway_config(flags.routes_file);
      std::cout << flags.routes_file << ": ok (" << config.listeners.size() << " listeners, "
                << config.routes.size() << " routes, " << config.clusters.size()
                << " clusters)\n";
      return exit_ok;
    }
    if (const auto problem = check_source_flags(flags); !problem.empty()) {
      std::cerr << "meshgate gateway: " << problem << "\n";
      return exit_usage;
    }
    if (!flags.routes_file.empty()) {
      gateway::gateway g(options, gateway::load_gateway_config(flags.routes_file), flags.routes_file);
      return g.run();
    }
    const auto server = flags.http.client();
    const auto proxy_id = flags.proxy_id.empty() ? flags.service : flags.proxy_id;
    if (flags.register_self) {
      // Listen first, then register: the server's TCP check then passes on its first probe
      // and the gateway gets traffic at once. The server's configuration names the same
      // "default" listener, which is kept as it is when the routes arrive.
      gateway::gateway g(options, gateway::listening_only(flags.address));
      gateway::register_gateway(server, {proxy_id, flags.service, flags.address, flags.wan_address});
      gateway::server_feed feed(server.address(), flags.http.token, proxy_id, g);
      feed.start();
      const int code = g.run();
      feed.stop();
      return code;
    }
    gateway::gateway g(options, gateway::fetch_first_config(server, proxy_id));
    gateway::server_feed feed(server.address(), flags.http.token, proxy_id, g);
    feed.start();
    const int code = g.run();
    feed.stop();
    return code;
  } catch (const CLI::ValidationError& e) {
    std::cerr << "meshgate gateway: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "meshgate gateway: -log-level: " << e.what() << "\n";
    return exit_usage;
  } catch (const gateway::config_error& e) {
    std::cerr << "meshgate gateway: " << e.what() << "\n";
    return exit_failure;
  } catch (const std::exception& e) {  // an address in use; the server refused the registration
    std::cerr << "meshgate gateway: " << error_text(e) << "\n";
    return exit_failure;
  }
}

}  // namespace

void add_gateway_command(CLI::App& app, command_runner& run) {
  auto flags = std::make_shared<gateway_flags>();
  auto* c = app.add_subcommand(
      "gateway",
      "Run a mesh gateway: route TLS connections by the server name (SNI) in their "
      "ClientHello, without decrypting them, to the endpoints of a cluster.");
  c->footer(
      "\nThe routes file (JSON) names listeners, routes and clusters:\n"
      "  {\"listeners\": [{\"name\": \"wan\", \"address\": \"127.0.0.1\", \"port\": 8443}],\n"
      "   \"routes\": [{\"sni\": \"api.default.dc1.internal.example.consul\", \"cluster\": \"api\"},\n"
      "              {\"sni\": \"*.dc2.internal.example.consul\", \"cluster\": \"dc2\"}],\n"
      "   \"clusters\": {\"api\": {\"endpoints\": [\"127.0.0.1:9001\"], \"connect_timeout_ms\": 5000},\n"
      "                \"dc2\": {\"endpoints\": [\"127.0.0.2:8443\"]}}}\n"
      "An exact SNI wins over \"*.suffix\" routes; among those the longest suffix wins.\n"
      "Or fed by the server, which resolves every local service's SNI to its healthy\n"
      "sidecars and every other datacenter's *.<dc>.internal.<trust domain> to its healthy\n"
      "gateways:\n"
      "  meshgate gateway -register -service mesh-gateway -address 10.0.1.5:8443 \\\n"
      "      -wan-address 198.51.100.5:8443 -http-addr 10.0.1.2:8500\n"
      "Signals: SIGHUP reloads the routes file (open connections keep going); SIGTERM\n"
      "drains (stop accepting, wait up to -drain-timeout); a second SIGTERM stops at once.\n"
      "Admin endpoint: /ready, /stats, /stats/prometheus, /config, /listeners.\n"
      "See docs/gateway.md.");
  c->add_option("-r,--routes-file", flags->routes_file, "Routes file (JSON), re-read on SIGHUP");
  c->add_flag("--register", flags->register_self,
              "Register this gateway with the server (Kind mesh-gateway, -address as LAN, -wan-address as "
              "WAN, a TCP check) and take its routes from the server");
  c->add_option("--service", flags->service, "The gateway's service name when registering")->capture_default_str();
  c->add_option("--proxy-id", flags->proxy_id,
                "Follow the configuration of this registered gateway (default: the -service name)");
  c->add_option("--address", flags->address, "With -register: the LAN IP:PORT it listens on");
  c->add_option("--wan-address", flags->wan_address,
                "With -register: the IP:PORT other datacenters reach it on");
  flags->http.add_to(c);
  c->add_option("--admin-addr", flags->admin_addr,
                "Admin HTTP endpoint, IP:PORT (port 0: any free port; \"\": none)")
      ->capture_default_str();
  c->add_option("--admin-addr-file", flags->admin_addr_file,
                "Write the admin endpoint's actual IP:PORT to this file once it listens");
  c->add_option("--workers", flags->workers,
                "Worker threads, each with its own event loop and SO_REUSEPORT listener "
                "(0: one per usable CPU)")
      ->capture_default_str();
  c->add_option("--max-connections", flags->max_connections,
                "Open connections at most; more are closed at accept and counted (0: as many as "
                "the descriptor limit allows)")
      ->capture_default_str();
  c->add_option("--max-hello-bytes", flags->max_hello_bytes,
                "Largest ClientHello accepted, in bytes")
      ->check(CLI::Range(std::size_t{512}, tls::max_max_hello_bytes))
      ->capture_default_str();
  c->add_option("--hello-timeout", flags->hello_timeout,
                "Time from accept to a complete ClientHello")
      ->capture_default_str();
  c->add_option("--idle-timeout", flags->idle_timeout,
                "Close a relayed connection after this long with no byte either way")
      ->capture_default_str();
  c->add_option("--drain-timeout", flags->drain_timeout,
                "On SIGTERM, how long to wait for open connections before closing them")
      ->capture_default_str();
  c->add_option("--relay-chunk-bytes", flags->relay_chunk_bytes,
                "Bytes moved per read by a relay (one shared buffer per worker)")
      ->check(CLI::Range(std::size_t{4096}, std::size_t{4 << 20}))
      ->capture_default_str();
  add_busy_poll_flag(c, flags->busy_poll_us);
  c->add_option("--log-level", flags->log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  c->add_flag("--validate", flags->validate, "Check the routes file, print a summary and exit");
  c->callback([&run, flags] { run = [flags] { return run_gateway(*flags); }; });
}

}  // namespace meshgate::cli
