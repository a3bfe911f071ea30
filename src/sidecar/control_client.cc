#include "sidecar/control_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <random>

#include "catalog/json_reader.h"
#include "common/logging.h"
#include "proxycfg/config_watch.h"
#include "x509/keys.h"
#include "x509/pem.h"
#include "common/timestamp.h"

namespace meshgate::sidecar {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

const auto& log() {
  static const auto logger = module_logger("proxy");
  return logger;
}

double random_fraction() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

std::string describe(const proxycfg::proxy_snapshot& s) {
  std::string out;
  const auto& sc = *s.sidecar;
  if (sc.inbound.local_service_port != 0) {
    out += "inbound " + sc.inbound.address + ":" + std::to_string(sc.inbound.port) + " -> " +
           sc.inbound.local_service_address + ":" + std::to_string(sc.inbound.local_service_port);
  }
  for (const auto& u : sc.upstreams) {
    out += "; upstream " + u.name + " on " + u.local_bind_address + ":" + std::to_string(u.local_bind_port) + " -> " +
           std::to_string(u.endpoints.size()) + " endpoints (mode " + u.mode + ", from " + u.mode_source + ")";
  }
  return out;
}

}  // namespace

std::string find_sidecar_for(const api::api_client& server, const std::string& service_id) {
  const auto r = server.request("GET", "/v1/agent/services");
  if (!r.ok()) throw std::runtime_error("listing services: " + r.error_message());
  const auto services = catalog::parse_body(r.body);
  if (!services.is_object()) throw std::runtime_error("listing services: the server's answer is not an object");
  std::vector<std::string> by_id, by_name;
  for (const auto& [id, v] : services.as_object()) {
    if (!v.is_object()) continue;
    const auto& s = v.as_object();
    const auto* kind = s.if_contains("Kind");
    const auto* proxy = s.if_contains("Proxy");
    if (!kind || !kind->is_string() || kind->as_string() != "connect-proxy" || !proxy || !proxy->is_object()) continue;
    const auto* dest_id = proxy->as_object().if_contains("DestinationServiceID");
    const auto* dest_name = proxy->as_object().if_contains("DestinationServiceName");
    if (dest_id && dest_id->is_string()) {
      if (dest_id->as_string() == service_id) by_id.emplace_back(id);
    } else if (dest_name && dest_name->is_string() && dest_name->as_string() == service_id) {
      by_name.emplace_back(id);
    }
  }
  const auto& found = by_id.empty() ? by_name : by_id;
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    throw std::runtime_error("no sidecar proxy is registered for service \"" + service_id +
                             "\" (a connect-proxy whose Proxy.DestinationServiceID is \"" + service_id +
                             "\"); register one, or name it with -proxy-id");
  }
  std::string ids;
  for (const auto& id : found) ids += (ids.empty() ? "" : ", ") + id;
  throw std::runtime_error("more than one sidecar proxy is registered for service \"" + service_id + "\" (" + ids +
                           "); name one with -proxy-id");
}

control_client::control_client(control_options options, sidecar& target)
    : options_(std::move(options)),
      target_(target),
      server_(options_.http_address, options_.token) {}

control_client::~control_client() { stop(); }

void control_client::start() {
  asio::co_spawn(io_, watch_configuration(), asio::detached);
  asio::co_spawn(io_, keep_certificate(), asio::detached);
  publish_status();
  thread_ = std::thread([this] { io_.run(); });
}

void control_client::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> control_client::sleep(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::chrono::milliseconds control_client::next_backoff(std::chrono::milliseconds& current) {
  // Up to a quarter of jitter, so that a fleet whose server came back does not return at once.
  const auto jitter = std::chrono::milliseconds(static_cast<std::int64_t>(current.count() * random_fraction() / 4));
  const auto out = current + jitter;
  current = std::min(current * 2, options_.backoff_max);
  return out;
}

void control_client::note_server(bool reachable, const std::string& error) {
  if (reachable && !server_reachable_) log()->info("server {} is reachable again", server_.address());
  if (!reachable && server_reachable_) {
    log()->warn("{}; serving with the last configuration and certificate until it is back", error);
  }
  server_reachable_ = reachable;
  last_error_ = error;
  publish_status();
}

void control_client::publish_status() {
  json::object status{{"server", server_.address()},
                      {"server_reachable", server_reachable_},
                      {"proxy_id", options_.proxy_id},
                      {"config_index", config_index_}};
  if (!last_error_.empty()) status["last_error"] = last_error_;
  if (schedule_) {
    status["renew_at"] = rfc3339(schedule_->renew_at);
    status["issued_under_root"] = schedule_->root_id;
  }
  target_.set_control_status(std::move(status));
}

asio::awaitable<void> control_client::watch_configuration() {
  proxycfg::watch_options watch;
  watch.proxy_id = options_.proxy_id;
  watch.wait = options_.wait;
  watch.backoff_min = options_.backoff_min;
  watch.backoff_max = options_.backoff_max;
  proxycfg::watch_handlers handlers;
  handlers.on_snapshot = [this](const proxycfg::proxy_snapshot& snapshot, std::uint64_t index) {
    if (!snapshot.sidecar) {
      throw catalog::invalid_input("proxy " + options_.proxy_id + " is not a sidecar (kind " + snapshot.kind + ")");
    }
    try {
      target_.apply_config(snapshot);
      log()->info("configuration applied (index {}): {}", index, describe(snapshot));
    } catch (const std::exception& e) {
      target_.stats().control.config_errors.inc();
      log()->error("cannot apply the configuration (index {}), keeping the one in force: {}", index, e.what());
    }
    ca_view view{snapshot.trust_domain, snapshot.active_root_id, snapshot.roots, snapshot.sidecar->destination_service,
                 snapshot.sidecar->identity};
    if (!ca_ || *ca_ != view) {
      ca_ = std::move(view);
      certificate_wake_.cancel();
    }
  };
  handlers.on_status = [this](bool reachable, const std::string& error, std::uint64_t index) {
    config_index_ = index;
    if (!error.empty()) {
      target_.stats().control.config_errors.inc();
      if (reachable && error != last_error_) log()->error("{}; retrying", error);
    }
    note_server(reachable, error);
  };
  co_await proxycfg::watch_proxy_config(server_, std::move(watch), std::move(handlers));
}

asio::awaitable<void> control_client::keep_certificate() {
  auto backoff = options_.backoff_min;
  for (;;) {
    if (!ca_) {  // the first configuration says who we are and whom to trust
      certificate_wake_.expires_after(std::chrono::hours(1));
      co_await certificate_wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    const auto now = std::chrono::system_clock::now();
    const bool identity_changed = !certificate_view_ || certificate_view_->service != ca_->service ||
                                  certificate_view_->identity != ca_->identity ||
                                  certificate_view_->trust_domain != ca_->trust_domain;
    if (identity_changed || !schedule_ || renewal_due(*schedule_, ca_->active_root_id, now)) {
      const std::string reason = !schedule_                                    ? "first certificate"
                                 : identity_changed                            ? "identity changed"
                                 : schedule_->root_id != ca_->active_root_id ? "the active root changed"
                                                                               : "renewal time";
      const auto view = *ca_;  // ca_ may change while the request is out
      std::string failure;
      try {
        auto key = x509::make_key();
        auto csr = x509::make_csr(key.get(), view.service, view.identity, view.service, false);
        json::object body;
        body["CSR"] = x509::to_pem(csr.get());
        body["Service"] = view.service;
        const auto text = json::serialize(body);
        const auto r = co_await server_.async_request("POST", "/v1/connect/ca/sign", text, std::chrono::seconds(30));
        if (r.ok()) {
          const auto answer = catalog::parse_body(r.body);
          catalog::json_reader in(answer, "");
          const auto chain = in.string("CertPEM");
          certificate_chain leaf{chain, x509::private_key_to_pem(key.get())};
          auto context = std::make_shared<const tls_context>(leaf, view.roots, view.trust_domain, options_.admitted);
          target_.apply_certificate(context);
          schedule_ = schedule_for(context->not_before(), context->not_after(), view.active_root_id, random_fraction());
          chain_pem_ = leaf.chain_pem;
          key_pem_ = leaf.key_pem;
          certificate_view_ = view;
          target_.stats().control.certificates_issued.inc();
          log()->info("certificate {} for {} ({}): valid until {}, renews at {}", context->serial(), context->identity(),
                      reason, rfc3339(context->not_after()), rfc3339(schedule_->renew_at));
          publish_status();
          backoff = options_.backoff_min;
          continue;
        }
        failure = "the server answered " + std::to_string(r.status) + ": " + r.error_message();
      } catch (const std::exception& e) {  // unreachable, a bad answer, a certificate we cannot use
        failure = e.what();
      }
      target_.stats().control.certificate_errors.inc();
      log()->warn("cannot get a certificate ({}): {}; {}", reason, failure,
                  schedule_ ? "keeping the current one" : "connections are refused until there is one");
      co_await sleep(next_backoff(backoff));
      continue;
    }
    if (certificate_view_->roots != ca_->roots) {
      // Roots added or pruned, same signer: trust the new set, keep the certificate.
      try {
        certificate_chain leaf{chain_pem_, key_pem_};
        target_.apply_certificate(std::make_shared<const tls_context>(leaf, ca_->roots, ca_->trust_domain, options_.admitted));
        certificate_view_->roots = ca_->roots;
        log()->info("trusted roots updated: {} roots", ca_->roots.size());
      } catch (const std::exception& e) {
        log()->error("cannot use the new roots, keeping the old ones: {}", e.what());
        certificate_view_->roots = ca_->roots;  // do not retry the same bad set
      }
    }
    // Until the renewal point (re-checked hourly: the wall clock may jump) or a change.
    const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(schedule_->renew_at - std::chrono::system_clock::now());
    certificate_wake_.expires_after(std::clamp(until, std::chrono::milliseconds(10), std::chrono::milliseconds(std::chrono::hours(1))));
    co_await certificate_wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace meshgate::sidecar
