// The CA in a server, with a fake clock: first start, restart, secondary intermediates,
// rotation and the life of the old root, and keys only the server can read.

#include "ca/ca_manager.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/catalog_state.h"
#include "store/sqlite_record_store.h"
#include "support/process.h"
#include "x509/peer_verifier.h"
#include "x509/pem.h"

namespace meshgate::ca {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct fake_clock {
  system_time now = std::chrono::system_clock::now();
  ca_manager::clock_fn fn() {
    return [this] { return now; };
  }
};

std::vector<std::pair<std::string, json::object>> roots_of(store::record_store& s) {
  std::vector<std::pair<std::string, json::object>> out;
  s.read([&](const store::state_view& v) {
    const auto& t = v.table(ca_table);
    for (auto it = t.lower_bound("root/"); it != t.end() && it->first.starts_with("root/"); ++it) {
      auto r = it->second.value.as_object();
      r.erase("KeyID");  // what the roots endpoint shows a secondary
      out.emplace_back(std::string(r.at("ID").as_string()), std::move(r));
    }
  });
  return out;
}

x509::trust_bundle bundle(const std::string& pem) { return x509::trust_bundle({pem}); }

std::string root_pem(store::record_store& s, const std::string& id) {
  for (auto& [rid, r] : roots_of(s)) {
    if (rid == id) return std::string(r.at("RootCert").as_string());
  }
  return "";
}

/// Verifies an issued leaf's chain as a peer trusting `root` would.
bool verifies(const issued_cert& leaf, const std::string& root, const std::string& service, const std::string& td,
              const std::string& dc, system_time at) {
  auto certs = x509::certificates_from_pem(leaf.cert_pem);
  std::vector<X509*> chain;
  for (std::size_t i = 1; i < certs.size(); ++i) chain.push_back(certs[i].get());
  return x509::verify_peer(bundle(root), certs[0].get(), chain, x509::service_identity(td, "default", dc, service),
                           x509::peer_role::client, std::chrono::system_clock::to_time_t(at))
      .ok;
}

TEST(ca_manager, makes_its_identity_once_and_keeps_it_across_restarts) {
  test::temp_dir dir;
  fake_clock clock;
  std::string cluster, root;
  {
    store::sqlite_record_store s(dir / "data");
    ca_manager ca(s, dir / "keys", "dc1", clock.fn());
    EXPECT_FALSE(ca.ready());
    ca.initialize_primary();
    cluster = ca.cluster_id();
    root = ca.active_root_id();
    EXPECT_EQ(ca.trust_domain(), cluster + ".consul");
    EXPECT_EQ(cluster.size(), 36u);
  }
  store::sqlite_record_store s(dir / "data");
  ca_manager ca(s, dir / "keys", "dc1", clock.fn());
  ca.initialize_primary();
  EXPECT_EQ(ca.cluster_id(), cluster);
  EXPECT_EQ(ca.active_root_id(), root);
  // The key directory and every key in it are the server's user's alone.
  struct stat st{};
  ASSERT_EQ(::stat((dir / "keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& e : std::filesystem::directory_iterator(dir / "keys")) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path();
  }
}

TEST(ca_manager, signs_leaves_for_a_service_and_refuses_other_identities) {
  test::temp_dir dir;
  fake_clock clock;
  store::sqlite_record_store s(dir / "data");
  ca_manager ca(s, dir / "keys", "dc1", clock.fn());
  ca.initialize_primary();
  const auto leaf = ca.make_leaf("web");
  EXPECT_EQ(leaf.service_uri, "spiffe://" + ca.trust_domain() + "/ns/default/dc/dc1/svc/web");
  EXPECT_FALSE(leaf.private_key_pem.empty());
  EXPECT_TRUE(verifies(leaf, root_pem(s, ca.active_root_id()), "web", ca.trust_domain(), "dc1", clock.now));
  EXPECT_NEAR(std::chrono::duration<double>(leaf.valid_before - clock.now).count(), 72 * 3600.0, 2.0);
  auto key = make_key();
  auto csr = make_csr(key.get(), "db", x509::service_identity(ca.trust_domain(), "default", "dc1", "db").to_string(), "", false);
  EXPECT_THROW(ca.sign(csr.get(), "web"), signing_refused);  // asks for db's identity, not web's
  EXPECT_NO_THROW(ca.sign(csr.get(), "db"));
}

// Rotation: the new root signs from then on; a peer that trusts only the old root still
// accepts those leaves (through the cross-signed certificate in the chain); the old root
// is listed, inactive, until the longest leaf it may have signed has expired.
TEST(ca_manager, rotates_the_root_without_an_outage) {
  test::temp_dir dir;
  fake_clock clock;
  store::sqlite_record_store s(dir / "data");
  ca_manager ca(s, dir / "keys", "dc1", clock.fn());
  ca.initialize_primary();
  const auto old_id = ca.active_root_id();
  const auto old_pem = root_pem(s, old_id);
  const auto before = ca.make_leaf("web");
  const auto new_id = ca.rotate(ca.config());
  EXPECT_NE(new_id, old_id);
  EXPECT_EQ(ca.active_root_id(), new_id);
  const auto roots = roots_of(s);
  ASSERT_EQ(roots.size(), 2u);
  for (const auto& [id, r] : roots) {
    EXPECT_EQ(r.at("Active").as_bool(), id == new_id);
    if (id == new_id) {
      EXPECT_EQ(r.at("IntermediateCerts").as_array().size(), 1u);
    }
  }
  const auto after = ca.make_leaf("web");
  EXPECT_EQ(after.root_id, new_id);
  EXPECT_TRUE(verifies(after, old_pem, "web", ca.trust_domain(), "dc1", clock.now));
  EXPECT_TRUE(verifies(after, root_pem(s, new_id), "web", ca.trust_domain(), "dc1", clock.now));
  EXPECT_TRUE(verifies(before, old_pem, "web", ca.trust_domain(), "dc1", clock.now));  // still good
  clock.now += 71h;
  EXPECT_EQ(ca.prune_roots(), 0u);  // leaves of the old root may still be alive
  clock.now += 2h;
  EXPECT_EQ(ca.prune_roots(), 1u);
  ASSERT_EQ(roots_of(s).size(), 1u);
  EXPECT_EQ(roots_of(s)[0].first, new_id);
}

TEST(ca_manager, lets_a_secondary_sign_with_an_intermediate_from_the_primary) {
  test::temp_dir dir;
  fake_clock clock;
  store::sqlite_record_store primary_store(dir / "p");
  ca_manager primary(primary_store, dir / "pk", "dc1", clock.fn());
  primary.initialize_primary();
  store::sqlite_record_store secondary_store(dir / "s");
  ca_manager secondary(secondary_store, dir / "sk", "dc2", clock.fn());
  EXPECT_THROW(secondary.make_leaf("api"), ca_not_ready);
  secondary.adopt_primary_roots(primary.cluster_id(), primary.trust_domain(), roots_of(primary_store));
  const auto csr = secondary.intermediate_csr();
  const auto intermediate = primary.sign_intermediate(x509::csr_from_pem(csr).get());
  secondary.install_intermediate(intermediate);
  ASSERT_TRUE(secondary.ready());
  const auto leaf = secondary.make_leaf("api");
  EXPECT_EQ(leaf.service_uri, "spiffe://" + primary.trust_domain() + "/ns/default/dc/dc2/svc/api");
  EXPECT_TRUE(verifies(leaf, root_pem(primary_store, primary.active_root_id()), "api", primary.trust_domain(), "dc2", clock.now));
  EXPECT_EQ(x509::certificates_from_pem(leaf.cert_pem).size(), 2u);  // leaf + intermediate
  const auto renew = secondary.intermediate_renewal_time();
  ASSERT_TRUE(renew);
  using days = std::chrono::duration<double, std::ratio<86400>>;
  EXPECT_NEAR(days(*renew - clock.now).count(), 365.0 / 2, 1.0);
  EXPECT_THROW(secondary.sign_intermediate(x509::csr_from_pem(csr).get()), signing_refused);
}

TEST(ca_manager, reads_configuration_changes_within_limits) {
  const ca_config current;
  const auto c = parse_ca_config(json::parse(R"({"LeafCertTTL": "24h"})"), current);
  EXPECT_EQ(c.leaf_ttl, 24h);
  EXPECT_EQ(c.root_ttl, current.root_ttl);
  for (const char* bad : {R"({"LeafCertTTL": "30m"})", R"({"LeafCertTTL": "9000h"})", R"({"PrivateKey": "x"})",
                          R"({"LeafCertTTL": "48h", "IntermediateCertTTL": "24h"})"}) {
    EXPECT_THROW(parse_ca_config(json::parse(bad), current), catalog::invalid_input) << bad;
  }
}

}  // namespace
}  // namespace meshgate::ca
