#include "proxycfg/proxy_snapshot.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "catalog/json_reader.h"

namespace meshgate::proxycfg {
namespace {

proxy_snapshot sample() {
  proxy_snapshot s;
  s.proxy_id = "web-sidecar-proxy";
  s.kind = "connect-proxy";
  s.service = "web-sidecar-proxy";
  s.datacenter = "dc1";
  s.trust_domain = "11111111-2222-3333-4444-555555555555.consul";
  s.active_root_id = "aa:bb";
  s.roots = {"-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"};
  sidecar_config sc;
  sc.destination_service = "web";
  sc.identity = "spiffe://" + s.trust_domain + "/ns/default/dc/dc1/svc/web";
  sc.inbound = {"0.0.0.0", 21000, "127.0.0.1", 8080};
  upstream_config u;
  u.name = "api";
  u.destination_name = "api";
  u.datacenter = "dc1";
  u.local_bind_port = 9191;
  u.sni = "api.default.dc1.internal." + s.trust_domain;
  u.identity = "spiffe://" + s.trust_domain + "/ns/default/dc/dc1/svc/api";
  u.mode_source = "same datacenter";
  u.endpoints = {"10.0.0.1:21001"};
  sc.upstreams.push_back(u);
  s.sidecar = sc;
  return s;
}

TEST(proxy_snapshot, round_trips_through_json) {
  const auto s = sample();
  const auto text = boost::json::serialize(to_json(s));
  EXPECT_EQ(parse_proxy_snapshot(text, field_check::strict), s);
}

TEST(proxy_snapshot, refuses_what_a_proxy_cannot_act_on_naming_the_field) {
  auto broken = [](auto edit) {
    auto v = to_json(sample());
    edit(v);
    try {
      parse_proxy_snapshot(boost::json::value(v), field_check::strict);
    } catch (const catalog::invalid_input& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(broken([](auto& v) { v["roots"] = boost::json::array{}; }), "roots: at least one trusted root is required");
  EXPECT_EQ(broken([](auto& v) { v["kind"] = "typical"; }),
            R"(kind: "typical" must be "connect-proxy" or "mesh-gateway")");
  EXPECT_EQ(broken([](auto& v) { v.erase("sidecar"); }), "sidecar: required for a connect-proxy");
  EXPECT_NE(broken([](auto& v) { v["sidecar"].as_object()["upstreams"].as_array()[0].as_object()["local_bind_port"] = 70000; })
                .find("local_bind_port"),
            std::string::npos);
  EXPECT_NE(broken([](auto& v) { v["sidecar"].as_object()["upstreams"].as_array()[0].as_object().erase("identity"); })
                .find("identity: required"),
            std::string::npos);
  EXPECT_NE(broken([](auto& v) { v["sidecar"].as_object()["inbound"].as_object()["local_service_port"] = 0; })
                .find("local_service_port"),
            std::string::npos);
  EXPECT_NE(broken([](auto& v) { v["sidecar"].as_object()["upstreams"].as_array()[0].as_object()["endpont"] = 1; })
                .find("endpont"),
            std::string::npos);
}

TEST(proxy_snapshot, ignores_unknown_fields_from_a_newer_server) {
  auto v = to_json(sample());
  v["something_new"] = 1;
  v["sidecar"].as_object()["upstreams"].as_array()[0].as_object()["weights"] = boost::json::array{1, 2};
  EXPECT_EQ(parse_proxy_snapshot(boost::json::value(v), field_check::lenient), sample());
  EXPECT_THROW(parse_proxy_snapshot(boost::json::value(v), field_check::strict), catalog::invalid_input);
}

}  // namespace
}  // namespace meshgate::proxycfg
