#include "gateway/gateway_stats.h"

#include <boost/json.hpp>

#include "stats/prometheus_writer.h"

namespace meshgate::gateway {

std::string_view to_string(close_reason reason) noexcept {
  switch (reason) {
    case close_reason::connection_limit: return "connection_limit";
    case close_reason::hello_timeout: return "hello_timeout";
    case close_reason::client_closed: return "client_closed";
    case close_reason::not_tls: return "not_tls";
    case close_reason::bad_record: return "bad_record";
    case close_reason::not_client_hello: return "not_client_hello";
    case close_reason::hello_too_large: return "hello_too_large";
    case close_reason::malformed_hello: return "malformed_hello";
    case close_reason::no_sni: return "no_sni";
    case close_reason::bad_sni: return "bad_sni";
    case close_reason::unknown_sni: return "unknown_sni";
    case close_reason::upstream_unavailable: return "upstream_unavailable";
    case close_reason::finished: return "finished";
    case close_reason::idle_timeout: return "idle_timeout";
    case close_reason::reset: return "reset";
    case close_reason::drained: return "drained";
  }
  return "unknown";
}

close_reason close_reason_for(tls::hello_error error) noexcept {
  switch (error) {
    case tls::hello_error::not_tls: return close_reason::not_tls;
    case tls::hello_error::bad_record: return close_reason::bad_record;
    case tls::hello_error::not_client_hello: return close_reason::not_client_hello;
    case tls::hello_error::too_large: return close_reason::hello_too_large;
    case tls::hello_error::no_server_name: return close_reason::no_sni;
    case tls::hello_error::bad_server_name: return close_reason::bad_sni;
    case tls::hello_error::none:
    case tls::hello_error::malformed: break;
  }
  return close_reason::malformed_hello;
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

route_stats::totals route_stats::sum() const noexcept {
  totals t;
  for (const auto& s : slots_) {
    t.connections += s.connections.value();
    t.active += s.active.value();
    t.bytes_to_upstream += s.bytes_to_upstream.value();
    t.bytes_to_downstream += s.bytes_to_downstream.value();
    t.upstream_connect_failures += s.upstream_connect_failures.value();
    for (std::size_t i = 0; i < close_reason_count; ++i) t.closed[i] += s.closed[i].value();
  }
  return t;
}

std::shared_ptr<route_stats> gateway_stats::route(const std::string& pattern) {
  std::lock_guard lock(routes_mutex_);
  auto& slot = routes_[pattern];
  if (!slot) slot = std::make_shared<route_stats>(pattern, workers_.size());
  return slot;
}

std::vector<std::shared_ptr<route_stats>> gateway_stats::routes_sorted() const {
  std::lock_guard lock(routes_mutex_);
  std::vector<std::shared_ptr<route_stats>> out;
  for (const auto& [pattern, stats] : routes_) out.push_back(stats);
  return out;
}

std::uint64_t gateway_stats::accepted() const noexcept {
  std::uint64_t n = 0;
  for (const auto& w : workers_) n += w.accepted.value();
  return n;
}

std::int64_t gateway_stats::active() const noexcept {
  std::int64_t n = 0;
  for (const auto& w : workers_) n += w.active.value();
  return n;
}

std::array<std::uint64_t, close_reason_count> gateway_stats::closed() const noexcept {
  std::array<std::uint64_t, close_reason_count> out{};
  for (const auto& w : workers_) {
    for (std::size_t i = 0; i < close_reason_count; ++i) out[i] += w.closed[i].value();
  }
  return out;
}

net::busy_poll_totals gateway_stats::busy_polls() const noexcept {
  net::busy_poll_totals out;
  for (const auto& w : workers_) out.add(w.busy_poll);
  return out;
}

std::string gateway_stats::prometheus() const {
  stats::prometheus_writer w;
  std::uint64_t accept_errors = 0;
  for (const auto& worker : workers_) accept_errors += worker.accept_errors.value();

  w.family("meshgate_gateway_connections_accepted_total", "counter",
           "Downstream connections accepted.");
  w.sample("meshgate_gateway_connections_accepted_total", {}, static_cast<double>(accepted()));
  w.family("meshgate_gateway_connections_active", "gauge", "Downstream connections open now.");
  w.sample("meshgate_gateway_connections_active", {}, static_cast<double>(active()));
  w.family("meshgate_gateway_connections_closed_total", "counter",
           "Downstream connections ended, by reason.");
  const auto totals = closed();
  for (std::size_t i = 0; i < close_reason_count; ++i) {
    w.sample("meshgate_gateway_connections_closed_total",
             {{"reason", to_string(static_cast<close_reason>(i))}}, static_cast<double>(totals[i]));
  }
  w.family("meshgate_gateway_accept_errors_total", "counter",
           "accept() failures (e.g. out of file descriptors).");
  w.sample("meshgate_gateway_accept_errors_total", {}, static_cast<double>(accept_errors));
  net::write_busy_polls(w, "meshgate_gateway_busy_polls_total", busy_polls());

  const auto routes = routes_sorted();
  std::vector<route_stats::totals> sums;
  for (const auto& r : routes) sums.push_back(r->sum());
  auto per_route = [&](std::string_view name, std::string_view type, std::string_view help,
                       auto value) {
    w.family(name, type, help);
    for (std::size_t i = 0; i < routes.size(); ++i) {
      w.sample(name, {{"route", routes[i]->pattern()}}, static_cast<double>(value(sums[i])));
    }
  };
  per_route("meshgate_gateway_route_connections_total", "counter", "Connections routed.",
            [](const auto& t) { return t.connections; });
  per_route("meshgate_gateway_route_connections_active", "gauge", "Routed connections open now.",
            [](const auto& t) { return t.active; });
  per_route("meshgate_gateway_route_upstream_connect_failures_total", "counter",
            "Upstream connect attempts that failed (the next endpoint was tried).",
            [](const auto& t) { return t.upstream_connect_failures; });
  w.family("meshgate_gateway_route_bytes_total", "counter", "Bytes relayed, by direction.");
  for (std::size_t i = 0; i < routes.size(); ++i) {
    w.sample("meshgate_gateway_route_bytes_total",
             {{"route", routes[i]->pattern()}, {"direction", "upstream"}},
             static_cast<double>(sums[i].bytes_to_upstream));
    w.sample("meshgate_gateway_route_bytes_total",
             {{"route", routes[i]->pattern()}, {"direction", "downstream"}},
             static_cast<double>(sums[i].bytes_to_downstream));
  }
  w.family("meshgate_gateway_route_closed_total", "counter",
           "Routed connections ended, by reason.");
  for (std::size_t i = 0; i < routes.size(); ++i) {
    for (auto reason : {close_reason::upstream_unavailable, close_reason::finished,
                        close_reason::idle_timeout, close_reason::reset, close_reason::drained}) {
      w.sample("meshgate_gateway_route_closed_total",
               {{"route", routes[i]->pattern()}, {"reason", to_string(reason)}},
               static_cast<double>(sums[i].closed[static_cast<std::size_t>(reason)]));
    }
  }
  w.family("meshgate_gateway_config_reloads_total", "counter", "Routes file reloads, by result.");
  w.sample("meshgate_gateway_config_reloads_total", {{"result", "ok"}},
           static_cast<double>(reloads_ok.value()));
  w.sample("meshgate_gateway_config_reloads_total", {{"result", "error"}},
           static_cast<double>(reloads_failed.value()));
  w.family("meshgate_gateway_config_version", "gauge", "Configuration in force (1 = at start).");
  w.sample("meshgate_gateway_config_version", {}, static_cast<double>(config_version.value()));
  return w.take();
}

boost::json::value gateway_stats::to_json(const std::map<std::string, std::string>& clusters) const {
  namespace json = boost::json;
  auto closed_object = [](const std::array<std::uint64_t, close_reason_count>& counts) {
    json::object o;
    for (std::size_t i = 0; i < close_reason_count; ++i) {
      o[to_string(static_cast<close_reason>(i))] = counts[i];
    }
    return o;
  };
  std::uint64_t accept_errors = 0;
  for (const auto& worker : workers_) accept_errors += worker.accept_errors.value();

  json::array routes;
  for (const auto& r : routes_sorted()) {
    const auto t = r->sum();
    const auto cluster = clusters.find(r->pattern());
    routes.push_back({{"route", r->pattern()},
                      {"cluster", cluster == clusters.end() ? json::value(nullptr)
                                                            : json::value(cluster->second)},
                      {"connections", t.connections},
                      {"active", t.active},
                      {"bytes_to_upstream", t.bytes_to_upstream},
                      {"bytes_to_downstream", t.bytes_to_downstream},
                      {"upstream_connect_failures", t.upstream_connect_failures},
                      {"closed", closed_object(t.closed)}});
  }
  const auto polls = busy_polls();
  return {{"connections",
           {{"accepted", accepted()},
            {"active", active()},
            {"accept_errors", accept_errors},
            {"closed", closed_object(closed())}}},
          {"busy_polls", {{"found_work", polls.found_work}, {"slept", polls.slept}}},
          {"routes", std::move(routes)},
          {"config",
           {{"version", config_version.value()},
            {"reloads_ok", reloads_ok.value()},
            {"reloads_failed", reloads_failed.value()}}}};
}

}  // namespace meshgate::gateway
