#include "sidecar/sidecar_stats.h"

#include <boost/json.hpp>

#include "stats/prometheus_writer.h"

namespace meshgate::sidecar {

namespace json = boost::json;

std::string_view to_string(close_reason reason) noexcept {
  switch (reason) {
    case close_reason::connection_limit: return "connection_limit";
    case close_reason::no_certificate: return "no_certificate";
    case close_reason::handshake_timeout: return "handshake_timeout";
    case close_reason::handshake_failed: return "handshake_failed";
    case close_reason::peer_no_certificate: return "peer_no_certificate";
    case close_reason::peer_untrusted: return "peer_untrusted";
    case close_reason::peer_identity_mismatch: return "peer_identity_mismatch";
    case close_reason::denied: return "denied";
    case close_reason::no_endpoints: return "no_endpoints";
    case close_reason::upstream_unavailable: return "upstream_unavailable";
    case close_reason::local_service_unavailable: return "local_service_unavailable";
    case close_reason::finished: return "finished";
    case close_reason::idle_timeout: return "idle_timeout";
    case close_reason::reset: return "reset";
    case close_reason::drained: return "drained";
  }
  return "unknown";
}

close_reason close_reason_for(net::relay_end end) noexcept {
  switch (end) {
    case net::relay_end::finished: return close_reason::finished;
    case net::relay_end::idle_timeout: return close_reason::idle_timeout;
    case net::relay_end::reset: return close_reason::reset;
    case net::relay_end::aborted: return close_reason::drained;
  }
  return close_reason::reset;
}

close_reason close_reason_for(peer_refusal refusal) noexcept {
  switch (refusal) {
    case peer_refusal::no_certificate: return close_reason::peer_no_certificate;
    case peer_refusal::untrusted: return close_reason::peer_untrusted;
    case peer_refusal::identity_mismatch: return close_reason::peer_identity_mismatch;
    case peer_refusal::none: break;
  }
  return close_reason::handshake_failed;
}

target_stats::totals target_stats::sum() const noexcept {
  totals t;
  for (const auto& s : slots_) {
    t.connections += s.connections.value();
    t.active += s.active.value();
    t.handshakes += s.handshakes.value();
    t.bytes_to_mesh += s.bytes_to_mesh.value();
    t.bytes_from_mesh += s.bytes_from_mesh.value();
    t.connect_failures += s.connect_failures.value();
    for (std::size_t i = 0; i < close_reason_count; ++i) t.closed[i] += s.closed[i].value();
  }
  return t;
}

std::shared_ptr<target_stats> sidecar_stats::target(const std::string& name, const std::string& kind) {
  std::lock_guard lock(mutex_);
  auto& slot = targets_[kind + "/" + name];
  if (!slot) slot = std::make_shared<target_stats>(name, kind, workers_);
  return slot;
}

std::vector<std::shared_ptr<target_stats>> sidecar_stats::targets_sorted() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<target_stats>> out;
  for (const auto& [key, stats] : targets_) out.push_back(stats);
  return out;
}

std::string sidecar_stats::prometheus() const {
  stats::prometheus_writer w;
  const auto targets = targets_sorted();
  std::vector<target_stats::totals> sums;
  for (const auto& t : targets) sums.push_back(t->sum());
  auto per_target = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    w.family(name, type, help);
    for (std::size_t i = 0; i < targets.size(); ++i) {
      w.sample(name, {{"listener", targets[i]->kind()}, {"target", targets[i]->name()}},
               static_cast<double>(value(sums[i])));
    }
  };
  per_target("meshgate_proxy_connections_total", "counter", "Connections accepted.",
             [](const auto& t) { return t.connections; });
  per_target("meshgate_proxy_connections_active", "gauge", "Connections open now.",
             [](const auto& t) { return t.active; });
  per_target("meshgate_proxy_handshakes_total", "counter", "TLS handshakes finished with a verified peer.",
             [](const auto& t) { return t.handshakes; });
  per_target("meshgate_proxy_connect_failures_total", "counter",
             "Connect attempts that failed (upstreams: the next endpoint was tried).",
             [](const auto& t) { return t.connect_failures; });
  w.family("meshgate_proxy_bytes_total", "counter", "Plaintext bytes relayed, by direction.");
  for (std::size_t i = 0; i < targets.size(); ++i) {
    w.sample("meshgate_proxy_bytes_total",
             {{"listener", targets[i]->kind()}, {"target", targets[i]->name()}, {"direction", "to_mesh"}},
             static_cast<double>(sums[i].bytes_to_mesh));
    w.sample("meshgate_proxy_bytes_total",
             {{"listener", targets[i]->kind()}, {"target", targets[i]->name()}, {"direction", "from_mesh"}},
             static_cast<double>(sums[i].bytes_from_mesh));
  }
  w.family("meshgate_proxy_connections_closed_total", "counter", "Connections ended, by reason.");
  for (std::size_t i = 0; i < targets.size(); ++i) {
    for (std::size_t r = 0; r < close_reason_count; ++r) {
      if (sums[i].closed[r] == 0) continue;  // most reasons never happen to most targets
      w.sample("meshgate_proxy_connections_closed_total",
               {{"listener", targets[i]->kind()}, {"target", targets[i]->name()},
                {"reason", to_string(static_cast<close_reason>(r))}},
               static_cast<double>(sums[i].closed[r]));
    }
  }
  const auto workers = worker_totals();
  w.family("meshgate_proxy_accept_errors_total", "counter", "accept() failures (e.g. out of file descriptors).");
  w.sample("meshgate_proxy_accept_errors_total", {}, static_cast<double>(workers.accept_errors));
  net::write_busy_polls(w, "meshgate_proxy_busy_polls_total", workers.busy_polls);
  w.family("meshgate_proxy_config_updates_total", "counter", "Configuration snapshots applied.");
  w.sample("meshgate_proxy_config_updates_total", {}, static_cast<double>(control.config_updates.value()));
  w.family("meshgate_proxy_config_errors_total", "counter", "Configuration fetches that failed.");
  w.sample("meshgate_proxy_config_errors_total", {}, static_cast<double>(control.config_errors.value()));
  w.family("meshgate_proxy_certificates_issued_total", "counter", "Leaf certificates obtained.");
  w.sample("meshgate_proxy_certificates_issued_total", {}, static_cast<double>(control.certificates_issued.value()));
  w.family("meshgate_proxy_certificate_errors_total", "counter", "Certificate signing requests that failed.");
  w.sample("meshgate_proxy_certificate_errors_total", {}, static_cast<double>(control.certificate_errors.value()));
  return w.take();
}

sidecar_stats::worker_sums sidecar_stats::worker_totals() const noexcept {
  worker_sums out;
  for (const auto& s : slots_) {
    out.accept_errors += s.accept_errors.value();
    out.busy_polls.add(s.busy_poll);
  }
  return out;
}

json::value sidecar_stats::to_json() const {
  json::object inbound;
  json::object upstreams;
  for (const auto& t : targets_sorted()) {
    const auto s = t->sum();
    json::object closed;
    for (std::size_t r = 0; r < close_reason_count; ++r) {
      if (s.closed[r] > 0) closed[to_string(static_cast<close_reason>(r))] = s.closed[r];
    }
    json::object o{{"connections", s.connections},         {"active", s.active},
                   {"handshakes", s.handshakes},           {"bytes_to_mesh", s.bytes_to_mesh},
                   {"bytes_from_mesh", s.bytes_from_mesh}, {"connect_failures", s.connect_failures},
                   {"closed", std::move(closed)}};
    if (t->kind() == "inbound") {
      inbound = std::move(o);
    } else {
      upstreams[t->name()] = std::move(o);
    }
  }
  const auto workers = worker_totals();
  return json::object{{"inbound", std::move(inbound)},
                      {"upstreams", std::move(upstreams)},
                      {"accept_errors", workers.accept_errors},
                      {"busy_polls",
                       {{"found_work", workers.busy_polls.found_work}, {"slept", workers.busy_polls.slept}}},
                      {"control",
                       {{"config_updates", control.config_updates.value()},
                        {"config_errors", control.config_errors.value()},
                        {"certificates_issued", control.certificates_issued.value()},
                        {"certificate_errors", control.certificate_errors.value()}}}};
}

}  // namespace meshgate::sidecar
