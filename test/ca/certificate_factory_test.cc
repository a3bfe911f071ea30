// The CA's certificates with a fake clock: what they contain, what openssl (a verifier
// nobody here wrote) and our own verifier accept, and every CSR the signer refuses.

#include "ca/certificate_factory.h"

#include <openssl/rsa.h>

#include <gtest/gtest.h>

#include <set>

#include "support/process.h"
#include "x509/peer_verifier.h"
#include "x509/pem.h"

namespace meshgate::ca {
namespace {

using namespace std::chrono_literals;
const std::string td = "11111111-2222-3333-4444-555555555555.consul";
const system_time t0 = std::chrono::system_clock::now();

struct authority {
  x509::pkey_ptr key = make_key();
  x509::cert_ptr cert;
  signing_authority as_signer() const { return {cert.get(), key.get()}; }
};

authority root(const std::string& name = "meshgate CA 1") {
  authority a;
  a.cert = make_root(a.key.get(), td, name, 87600h, t0);
  return a;
}

x509::cert_ptr leaf_for(const authority& signer, const std::string& service, std::chrono::seconds ttl = 72h,
                        system_time now = t0) {
  auto key = make_key();
  const auto id = x509::service_identity(td, "default", "dc1", service);
  auto csr = make_csr(key.get(), service, id.to_string(), "", false);
  return x509::certificate_from_pem(sign_leaf(signer.as_signer(), csr.get(), {id, service, ttl}, now).pem);
}

/// `openssl verify` on files in `dir`: true if it accepts `leaf` with `untrusted` intermediates.
bool openssl_verifies(const test::temp_dir& dir, X509* trusted, const std::vector<X509*>& untrusted, X509* leaf) {
  test::write_text(dir / "trusted.pem", x509::to_pem(trusted));
  std::string chain;
  for (X509* c : untrusted) chain += x509::to_pem(c);
  test::write_text(dir / "leaf.pem", x509::to_pem(leaf));
  std::vector<std::string> argv = {"openssl", "verify", "-CAfile", (dir / "trusted.pem").string()};
  if (!chain.empty()) {
    test::write_text(dir / "untrusted.pem", chain);
    argv.insert(argv.end(), {"-untrusted", (dir / "untrusted.pem").string()});
  }
  argv.push_back((dir / "leaf.pem").string());
  return test::run_command(argv, dir / "verify") == 0;
}

std::string text_of(const test::temp_dir& dir, X509* cert) {
  test::write_text(dir / "show.pem", x509::to_pem(cert));
  test::run_command({"openssl", "x509", "-in", (dir / "show.pem").string(), "-noout", "-text"}, dir / "show");
  return test::read_text(dir / "show.out");
}

TEST(certificate_factory, issues_leaves_that_openssl_verifies_with_the_identity_and_uses_asked) {
  test::temp_dir dir;
  const auto r = root();
  const auto leaf = leaf_for(r, "web");
  EXPECT_TRUE(openssl_verifies(dir, r.cert.get(), {}, leaf.get()));
  const auto text = text_of(dir, leaf.get());
  EXPECT_NE(text.find("URI:spiffe://" + td + "/ns/default/dc/dc1/svc/web"), std::string::npos) << text;
  EXPECT_NE(text.find("DNS:web"), std::string::npos);
  EXPECT_NE(text.find("TLS Web Server Authentication, TLS Web Client Authentication"), std::string::npos);
  EXPECT_NE(text.find("CA:FALSE"), std::string::npos);
  EXPECT_NE(text.find("ASN1 OID: prime256v1"), std::string::npos);
  // Backdated a minute, valid for the TTL asked.
  EXPECT_LE(not_before_of(leaf.get()), t0 - 59s);
  EXPECT_GE(not_before_of(leaf.get()), t0 - 61s);
  EXPECT_NEAR(std::chrono::duration<double>(not_after_of(leaf.get()) - t0).count(), 72 * 3600.0, 2.0);
  const auto root_text = text_of(dir, r.cert.get());
  EXPECT_NE(root_text.find("URI:spiffe://" + td), std::string::npos);
  EXPECT_NE(root_text.find("CA:TRUE"), std::string::npos);
}

TEST(certificate_factory, gives_every_leaf_its_own_random_serial) {
  const auto r = root();
  std::set<std::string> serials;
  for (int i = 0; i < 200; ++i) serials.insert(serial_of(leaf_for(r, "web").get()));
  EXPECT_EQ(serials.size(), 200u);
  EXPECT_GE(serials.begin()->size(), 16u * 3 - 1);  // 16 bytes as xx:xx:...
}

TEST(certificate_factory, issues_secondary_intermediates_with_path_length_zero) {
  test::temp_dir dir;
  const auto r = root();
  authority inter;
  auto csr = make_csr(inter.key.get(), "dc2 intermediate", x509::trust_domain_identity(td).to_string(), "", true);
  inter.cert = sign_intermediate(r.as_signer(), csr.get(), td, 8760h, t0);
  const auto text = text_of(dir, inter.cert.get());
  EXPECT_NE(text.find("CA:TRUE, pathlen:0"), std::string::npos) << text;
  const auto leaf = leaf_for(inter, "api");
  EXPECT_TRUE(openssl_verifies(dir, r.cert.get(), {inter.cert.get()}, leaf.get()));
  const x509::trust_bundle roots({x509::to_pem(r.cert.get())});
  EXPECT_TRUE(x509::verify_peer(roots, leaf.get(), {inter.cert.get()},
                                x509::service_identity(td, "default", "dc1", "api"), x509::peer_role::server,
                                std::chrono::system_clock::to_time_t(t0)).ok);
  // An intermediate cannot sign another CA below it.
  authority below;
  auto csr2 = make_csr(below.key.get(), "x", x509::trust_domain_identity(td).to_string(), "", true);
  below.cert = sign_intermediate(inter.as_signer(), csr2.get(), td, 8760h, t0);
  const auto deep = leaf_for(below, "api");
  EXPECT_FALSE(openssl_verifies(dir, r.cert.get(), {inter.cert.get(), below.cert.get()}, deep.get()));
}

// After a rotation, what the new root signs verifies for a peer that trusts only the old
// root, through the cross-signed certificate; and for one that trusts only the new root.
TEST(certificate_factory, lets_the_old_root_vouch_for_the_new_one) {
  test::temp_dir dir;
  const auto old_root = root("meshgate CA 1");
  const auto new_root = root("meshgate CA 2");
  const auto cross = cross_sign(old_root.as_signer(), new_root.cert.get(), t0);
  const auto leaf = leaf_for(new_root, "web");
  EXPECT_TRUE(openssl_verifies(dir, old_root.cert.get(), {cross.get()}, leaf.get()));
  EXPECT_TRUE(openssl_verifies(dir, new_root.cert.get(), {cross.get()}, leaf.get()));
  EXPECT_FALSE(openssl_verifies(dir, old_root.cert.get(), {}, leaf.get()));  // not without it
  const x509::trust_bundle old_only({x509::to_pem(old_root.cert.get())});
  EXPECT_TRUE(x509::verify_peer(old_only, leaf.get(), {cross.get()}, x509::service_identity(td, "default", "dc1", "web"),
                                x509::peer_role::client, std::chrono::system_clock::to_time_t(t0)).ok);
}

TEST(certificate_factory, verifier_checks_time_roots_and_the_exact_identity) {
  const auto r = root();
  const auto stranger = root("someone else");
  const auto leaf = leaf_for(r, "web", 1h);
  const x509::trust_bundle roots({x509::to_pem(r.cert.get())});
  const auto web = x509::service_identity(td, "default", "dc1", "web");
  const auto now = std::chrono::system_clock::to_time_t(t0);
  EXPECT_TRUE(x509::verify_peer(roots, leaf.get(), {}, web, x509::peer_role::server, now).ok);
  const auto wrong = x509::verify_peer(roots, leaf.get(), {}, x509::service_identity(td, "default", "dc1", "api"),
                                       x509::peer_role::server, now);
  EXPECT_FALSE(wrong.ok);
  EXPECT_NE(wrong.error.find("is not the expected"), std::string::npos);
  const auto expired = x509::verify_peer(roots, leaf.get(), {}, web, x509::peer_role::server, now + 2 * 3600);
  EXPECT_FALSE(expired.ok);
  EXPECT_NE(expired.error.find("expired"), std::string::npos) << expired.error;
  const x509::trust_bundle others({x509::to_pem(stranger.cert.get())});
  EXPECT_FALSE(x509::verify_peer(others, leaf.get(), {}, web, x509::peer_role::server, now).ok);
  EXPECT_EQ(x509::spiffe_id_of(leaf.get()), web);
}

x509::pkey_ptr rsa_key() {
  x509::pkey_ptr key(EVP_RSA_gen(2048));
  return key;
}

TEST(certificate_factory, refuses_csrs_it_must_not_sign) {
  const auto r = root();
  const auto web = x509::service_identity(td, "default", "dc1", "web");
  const leaf_request request{web, "web", 72h};
  auto refused = [&](X509_REQ* csr) {
    try {
      sign_leaf(r.as_signer(), csr, request, t0);
    } catch (const signing_refused& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto key = make_key();
  auto other = make_csr(key.get(), "web", x509::service_identity(td, "default", "dc1", "db").to_string(), "", false);
  EXPECT_NE(refused(other.get()).find("is not spiffe://"), std::string::npos);
  auto other_td = make_csr(key.get(), "web", x509::service_identity("evil.consul", "default", "dc1", "web").to_string(), "", false);
  EXPECT_NE(refused(other_td.get()).find("is not spiffe://"), std::string::npos);
  auto ca = make_csr(key.get(), "web", web.to_string(), "", true);
  EXPECT_NE(refused(ca.get()).find("asks for CA rights"), std::string::npos);
  auto rsa = rsa_key();
  auto rsa_csr = make_csr(rsa.get(), "web", web.to_string(), "", false);
  EXPECT_NE(refused(rsa_csr.get()).find("not an EC P-256 key"), std::string::npos);
  // A CSR signed by another key than the one it carries.
  auto forged = make_csr(key.get(), "web", web.to_string(), "", false);
  auto thief = make_key();
  X509_REQ_sign(forged.get(), thief.get(), EVP_sha256());
  X509_REQ_set_pubkey(forged.get(), key.get());
  EXPECT_NE(refused(forged.get()).find("signature does not verify"), std::string::npos);
  // And the intermediate signer refuses a CSR for another trust domain.
  auto foreign = make_csr(key.get(), "x", "spiffe://evil.consul", "", true);
  EXPECT_THROW(sign_intermediate(r.as_signer(), foreign.get(), td, 8760h, t0), signing_refused);
}

TEST(certificate_factory, never_issues_beyond_its_signer) {
  const auto r = root();
  authority short_lived;
  short_lived.cert = make_root(short_lived.key.get(), td, "short", 2h, t0);
  const auto leaf = leaf_for(short_lived, "web", 72h);
  EXPECT_LE(not_after_of(leaf.get()), not_after_of(short_lived.cert.get()));
}

}  // namespace
}  // namespace meshgate::ca
