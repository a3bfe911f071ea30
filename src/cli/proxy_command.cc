// `meshgate proxy`: the sidecar, fed by the server (or, standalone, by a file).

#include <boost/system/system_error.hpp>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/error_text.h"
#include "cli/flag_values.h"
#include "cli/http_flags.h"
#include "common/logging.h"
#include "sidecar/control_client.h"
#include "sidecar/file_source.h"
#include "sidecar/sidecar.h"

namespace meshgate::cli {

namespace {

struct proxy_flags {
  std::string sidecar_for;
  std::string proxy_id;
  std::string config_file;
  http_flags http;
  std::string admin_addr = "127.0.0.1:19000";
  std::string admin_addr_file;
  std::size_t workers = 1;
  std::size_t max_connections = 0;
  std::string handshake_timeout = "10s";
  std::string local_connect_timeout = "5s";
  std::string idle_timeout = "1h";
  std::string drain_timeout = "15s";
  std::size_t relay_chunk_bytes = 256 * 1024;
  unsigned busy_poll_us = 0;  // off: a sidecar shares its CPUs with its service
  std::string log_level = "info";
};

sidecar::sidecar_options to_options(const proxy_flags& f) {
  sidecar::sidecar_options o;
  o.workers = f.workers;
  o.max_connections = f.max_connections;
  o.handshake_timeout = duration_flag("handshake-timeout", f.handshake_timeout);
  o.local_connect_timeout = duration_flag("local-connect-timeout", f.local_connect_timeout);
  o.idle_timeout = duration_flag("idle-timeout", f.idle_timeout);
  o.drain_timeout = duration_flag("drain-timeout", f.drain_timeout);
  o.relay_chunk_bytes = f.relay_chunk_bytes;
  o.busy_poll = std::chrono::microseconds(f.busy_poll_us);
  o.admin_endpoint = optional_endpoint_flag("admin-addr", f.admin_addr);
  o.admin_address_file = f.admin_addr_file;
  return o;
}

int run_standalone(const proxy_flags& flags, const sidecar::sidecar_options& options) {
  const auto log = module_logger("proxy");
  auto loaded = sidecar::load_file_config(flags.config_file);
  sidecar::sidecar proxy(options);
  proxy.apply_certificate(loaded.tls);
  proxy.apply_config(loaded.snapshot);
  log->info("proxy ready (standalone, {}): certificate {} for {}", flags.config_file, loaded.tls->serial(),
            loaded.tls->identity());
  return proxy.run([&] {
    try {
      auto fresh = sidecar::load_file_config(flags.config_file);
      proxy.apply_certificate(fresh.tls);
      proxy.apply_config(fresh.snapshot);
      log->info("SIGHUP: reloaded {}: certificate {}", flags.config_file, fresh.tls->serial());
    } catch (const std::exception& e) {
      log->error("SIGHUP: reload failed, keeping what is in force: {}", e.what());
    }
  });
}

/// The proxy's ID, asking the server which sidecar fronts `-sidecar-for` if needed. Waits
/// for a server that is not up yet (a sidecar often starts with it), but not for one that
/// answers "no such proxy".
std::string resolve_proxy_id(const proxy_flags& flags, const api::api_client& server) {
  if (!flags.proxy_id.empty()) return flags.proxy_id;
  const auto log = module_logger("proxy");
  auto delay = std::chrono::milliseconds(500);
  for (bool logged = false;; ) {
    try {
      const auto id = sidecar::find_sidecar_for(server, flags.sidecar_for);
      log->info("-sidecar-for {}: proxy {}", flags.sidecar_for, id);
      return id;
    } catch (const api::unreachable& e) {
      if (!logged) log->warn("{}; retrying until it answers", e.what());
      logged = true;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(10'000));
  }
}

int run_proxy(const proxy_flags& flags) {
  try {
    set_log_level(flags.log_level);
    const auto options = to_options(flags);
    const int sources = !flags.sidecar_for.empty() + !flags.proxy_id.empty() + !flags.config_file.empty();
    if (sources != 1) {
      throw CLI::ValidationError("-sidecar-for / -proxy-id / -config-file", "give exactly one of them");
    }
    if (!flags.config_file.empty()) return run_standalone(flags, options);
    const auto server = flags.http.client();
    sidecar::control_options control;
    control.http_address = server.address();
    control.token = flags.http.token.empty() && std::getenv("CONSUL_HTTP_TOKEN") ? std::getenv("CONSUL_HTTP_TOKEN")
                                                                                  : flags.http.token;
    control.proxy_id = resolve_proxy_id(flags, server);
    sidecar::sidecar proxy(options);
    sidecar::control_client client(control, proxy);
    client.start();
    const int code = proxy.run({});
    client.stop();
    return code;
  } catch (const CLI::ValidationError& e) {
    std::cerr << "meshgate proxy: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "meshgate proxy: -log-level: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {  // a bad file, an address in use, no such proxy
    std::cerr << "meshgate proxy: " << error_text(e) << "\n";
    return exit_failure;
  }
}

}  // namespace

void add_proxy_command(CLI::App& app, command_runner& run) {
  auto flags = std::make_shared<proxy_flags>();
  auto* c = app.add_subcommand(
      "proxy",
      "Run a sidecar proxy: mutual TLS for one service instance. Inbound, a TLS listener that "
      "requires a mesh certificate and forwards plain bytes to the local service; outbound, one "
      "plain listener per upstream whose connections are wrapped in mutual TLS and sent where "
      "the server's resolution says (directly, or through mesh gateways).");
  c->footer(
      "\nThe server resolves everything: the sidecar fetches GET /v1/meshgate/proxy/<id> as a\n"
      "blocking query, makes its own key, has the CA sign it (POST /v1/connect/ca/sign), and\n"
      "renews it between 60 % and 90 % of its life and at once when the root rotates. New\n"
      "certificates and configurations apply to new connections; open ones continue. When the\n"
      "server is unreachable it keeps serving with what it has.\n"
      "\nExamples:\n"
      "  meshgate proxy -sidecar-for web -admin-addr 127.0.0.1:19001\n"
      "  meshgate proxy -proxy-id web-sidecar-proxy -http-addr 10.0.0.5:8500\n"
      "  meshgate proxy -config-file sidecar.json       (standalone: certificates from files)\n"
      "\nSignals: SIGTERM drains (stop accepting, wait up to -drain-timeout); a second stops at\n"
      "once; SIGHUP re-reads -config-file. Admin endpoint: /ready, /stats, /stats/prometheus,\n"
      "/config, /certificates, /listeners. See docs/proxy.md.");
  c->add_option("--sidecar-for", flags->sidecar_for,
                "Run the sidecar registered for this service ID (its Proxy.DestinationServiceID)");
  c->add_option("--proxy-id", flags->proxy_id, "Run the proxy registered with this service ID");
  c->add_option("--config-file", flags->config_file,
                "Standalone: configuration and certificate files instead of the server (see docs/proxy.md)");
  flags->http.add_to(c);
  c->add_option("--admin-addr", flags->admin_addr, "Admin HTTP endpoint, IP:PORT (port 0: any free port; \"\": none)")
      ->capture_default_str();
  c->add_option("--admin-addr-file", flags->admin_addr_file,
                "Write the admin endpoint's actual IP:PORT to this file once it listens");
  c->add_option("--workers", flags->workers, "Worker threads, each with its own event loop and listeners")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  c->add_option("--max-connections", flags->max_connections,
                "Open connections at most, inbound and outbound together (0: as many as descriptors allow)")
      ->capture_default_str();
  c->add_option("--handshake-timeout", flags->handshake_timeout, "Time allowed for a TLS handshake")
      ->capture_default_str();
  c->add_option("--local-connect-timeout", flags->local_connect_timeout,
                "Time allowed to connect to the local service")
      ->capture_default_str();
  c->add_option("--idle-timeout", flags->idle_timeout, "Close a connection after this long with no byte either way")
      ->capture_default_str();
  c->add_option("--drain-timeout", flags->drain_timeout,
                "On SIGTERM, how long to wait for open connections before closing them")
      ->capture_default_str();
  c->add_option("--relay-chunk-bytes", flags->relay_chunk_bytes, "Bytes moved per read by a relay")
      ->check(CLI::Range(std::size_t{32768}, std::size_t{4 << 20}))
      ->capture_default_str();
  add_busy_poll_flag(c, flags->busy_poll_us);
  c->add_option("--log-level", flags->log_level, "trace, debug, info, warn or error")->capture_default_str();
  c->callback([&run, flags] { run = [flags] { return run_proxy(*flags); }; });
}

}  // namespace meshgate::cli
