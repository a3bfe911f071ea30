// Upstream resolution: for every mode and every layer that can set it, the SNI, the
// identity, and which addresses get dialled.

#include "mesh/upstream_resolution.h"

#include <gtest/gtest.h>

namespace meshgate::mesh {
namespace {

const std::string td = "11111111-2222-3333-4444-555555555555.consul";

candidate at(std::string lan, int port, std::string wan = "", int wan_port = 0, bool healthy = true) {
  candidate c;
  c.addresses.service_address = std::move(lan);
  c.addresses.port = port;
  c.addresses.tagged_wan_address = std::move(wan);
  c.addresses.tagged_wan_port = wan_port;
  c.addresses.node_address = "10.0.0.99";
  c.healthy = healthy;
  return c;
}

catalog_view view() {
  catalog_view c;
  c.local_datacenter = "dc1";
  c.trust_domain = td;
  c.service_defaults_mode = [](const std::string&) { return gateway_mode::defer; };
  c.sidecars = [](const std::string& service, const std::string& subset,
                  const std::string& dc) -> std::vector<candidate> {
    if (service != "api") return {};
    if (subset == "v2") return {at(dc == "dc1" ? "10.1.0.3" : "10.2.0.3", 21000, "198.51.100.3", 443)};
    if (dc == "dc1") return {at("10.1.0.1", 21000), at("10.1.0.2", 21000, "", 0, false)};
    return {at("10.2.0.1", 21000, "198.51.100.1", 443), at("10.2.0.2", 21000, "", 0, true)};
  };
  c.gateways = [](const std::string& dc) -> std::vector<candidate> {
    if (dc == "dc1") return {at("10.1.0.9", 8443, "203.0.113.9", 443), at("10.1.0.8", 8443, "203.0.113.8", 443, false)};
    return {at("10.2.0.9", 8443, "198.51.100.9", 443)};
  };
  return c;
}

TEST(upstream_resolution, names_the_target_and_dials_healthy_local_sidecars_in_the_same_datacenter) {
  auto c = view();
  c.proxy_defaults_mode = gateway_mode::remote;  // ignored within a datacenter
  const auto r = resolve_upstream({"api", "", "", gateway_mode::local, ""}, c);
  EXPECT_EQ(r.sni, "api.default.dc1.internal." + td);
  EXPECT_EQ(r.identity, "spiffe://" + td + "/ns/default/dc/dc1/svc/api");
  EXPECT_EQ(r.mode, (resolved_mode{gateway_mode::none, mode_layer::same_datacenter}));
  EXPECT_EQ(r.endpoints, (std::vector<std::string>{"10.1.0.1:21000"}));
}

TEST(upstream_resolution, a_subset_names_itself_in_the_sni_and_dials_only_its_instances) {
  auto c = view();
  const auto local = resolve_upstream({"api", "", "", gateway_mode::defer, "v2"}, c);
  EXPECT_EQ(local.sni, "v2.api.default.dc1.internal." + td);
  EXPECT_EQ(local.identity, "spiffe://" + td + "/ns/default/dc/dc1/svc/api");  // a subset is the same service
  EXPECT_EQ(local.endpoints, (std::vector<std::string>{"10.1.0.3:21000"}));
  const auto none = resolve_upstream({"api", "", "dc2", gateway_mode::none, "v2"}, c);
  EXPECT_EQ(none.sni, "v2.api.default.dc2.internal." + td);
  EXPECT_EQ(none.endpoints, (std::vector<std::string>{"198.51.100.3:443"}));
  // Through gateways the SNI carries the subset; the destination's gateway picks instances.
  const auto remote = resolve_upstream({"api", "", "dc2", gateway_mode::remote, "v2"}, c);
  EXPECT_EQ(remote.sni, "v2.api.default.dc2.internal." + td);
  EXPECT_EQ(remote.endpoints, (std::vector<std::string>{"198.51.100.9:443"}));
}

struct mode_case {
  const char* name;
  gateway_mode upstream, registration, service_defaults, proxy_defaults;
  resolved_mode expected;
  std::vector<std::string> endpoints;
};

class across_datacenters : public ::testing::TestWithParam<mode_case> {};

TEST_P(across_datacenters, dials_what_the_deciding_layer_says) {
  const auto& m = GetParam();
  auto c = view();
  c.proxy_registration_mode = m.registration;
  c.proxy_defaults_mode = m.proxy_defaults;
  c.service_defaults_mode = [&](const std::string& s) { return s == "api" ? m.service_defaults : gateway_mode::defer; };
  const auto r = resolve_upstream({"api", "", "dc2", m.upstream, ""}, c);
  EXPECT_EQ(r.sni, "api.default.dc2.internal." + td);
  EXPECT_EQ(r.identity, "spiffe://" + td + "/ns/default/dc/dc2/svc/api");
  EXPECT_EQ(r.mode, m.expected) << m.name;
  EXPECT_EQ(r.endpoints, m.endpoints) << m.name;
}

using gm = gateway_mode;
using ml = mode_layer;
const std::vector<std::string> remote_sidecars_wan = {"198.51.100.1:443", "10.2.0.2:21000"};
const std::vector<std::string> local_gateway_lan = {"10.1.0.9:8443"};
const std::vector<std::string> remote_gateway_wan = {"198.51.100.9:443"};

INSTANTIATE_TEST_SUITE_P(
    upstream_resolution, across_datacenters,
    ::testing::Values(
        mode_case{"nothing set: none", gm::defer, gm::defer, gm::defer, gm::defer, {gm::none, ml::built_in_default}, remote_sidecars_wan},
        mode_case{"proxy-defaults local", gm::defer, gm::defer, gm::defer, gm::local, {gm::local, ml::proxy_defaults}, local_gateway_lan},
        mode_case{"proxy-defaults remote", gm::defer, gm::defer, gm::defer, gm::remote, {gm::remote, ml::proxy_defaults}, remote_gateway_wan},
        mode_case{"service-defaults beats proxy-defaults", gm::defer, gm::defer, gm::remote, gm::local, {gm::remote, ml::service_defaults}, remote_gateway_wan},
        mode_case{"registration beats service-defaults", gm::defer, gm::local, gm::remote, gm::remote, {gm::local, ml::proxy_registration}, local_gateway_lan},
        mode_case{"upstream beats all", gm::none, gm::local, gm::remote, gm::local, {gm::none, ml::upstream}, remote_sidecars_wan},
        mode_case{"upstream remote", gm::remote, gm::defer, gm::defer, gm::defer, {gm::remote, ml::upstream}, remote_gateway_wan},
        mode_case{"upstream local", gm::local, gm::none, gm::none, gm::none, {gm::local, ml::upstream}, local_gateway_lan}));

TEST(upstream_resolution, follows_designs_address_rules) {
  instance_addresses a;
  a.node_address = "10.0.0.1";
  a.port = 80;
  EXPECT_EQ(lan_endpoint(a), "10.0.0.1:80");
  EXPECT_EQ(wan_endpoint(a), "10.0.0.1:80");
  a.node_wan_address = "203.0.113.1";
  EXPECT_EQ(wan_endpoint(a), "203.0.113.1:80");
  a.service_address = "10.0.0.2";
  EXPECT_EQ(lan_endpoint(a), "10.0.0.2:80");
  EXPECT_EQ(wan_endpoint(a), "10.0.0.2:80");
  a.tagged_wan_address = "198.51.100.2";
  EXPECT_EQ(wan_endpoint(a), "198.51.100.2:80");  // tagged wan, the service's port
  a.tagged_wan_port = 443;
  EXPECT_EQ(wan_endpoint(a), "198.51.100.2:443");
  a.service_address = "::1";
  EXPECT_EQ(lan_endpoint(a), "[::1]:80");
}

TEST(upstream_resolution, builds_sni_for_services_subsets_and_datacenters) {
  EXPECT_EQ(service_sni("api", "", "dc2", "td.consul"), "api.default.dc2.internal.td.consul");
  EXPECT_EQ(subset_sni("v1", "api", "prod", "dc2", "td.consul"), "v1.api.prod.dc2.internal.td.consul");
  EXPECT_EQ(datacenter_sni("dc2", "td.consul"), "dc2.internal.td.consul");
}

}  // namespace
}  // namespace meshgate::mesh
