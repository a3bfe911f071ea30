// The sidecar's peer checks, through whole TLS handshakes over an in-memory BIO pair with
// certificates from the real CA code: who is admitted inbound, who is refused outbound, and
// the reason each refusal is counted under.

#include "sidecar/tls_context.h"

#include <openssl/err.h>

#include <gtest/gtest.h>

#include "ca/certificate_factory.h"
#include "x509/pem.h"

namespace meshgate::sidecar {
namespace {

using namespace std::chrono_literals;
const std::string td = "11111111-2222-3333-4444-555555555555.consul";

struct authority {
  x509::pkey_ptr key = ca::make_key();
  x509::cert_ptr cert;
  std::string pem;
};

authority make_authority(const std::string& trust_domain = td) {
  authority a;
  a.cert = ca::make_root(a.key.get(), trust_domain, "test CA", 87600h, std::chrono::system_clock::now());
  a.pem = x509::to_pem(a.cert.get());
  return a;
}

certificate_chain leaf_for(const authority& signer, const std::string& service,
                           const std::string& trust_domain = td) {
  auto key = ca::make_key();
  const auto id = x509::service_identity(trust_domain, "default", "dc1", service);
  auto csr = ca::make_csr(key.get(), service, id.to_string(), "", false);
  const auto leaf = ca::sign_leaf({signer.cert.get(), signer.key.get()}, csr.get(), {id, service, 72h},
                                  std::chrono::system_clock::now());
  return {leaf.pem, x509::private_key_to_pem(key.get())};
}

std::string identity_of(const std::string& service) {
  return x509::service_identity(td, "default", "dc1", service).to_string();
}

/// Both sides of one handshake, driven over a BIO pair until neither makes progress.
struct handshake_result {
  bool client_done = false;
  bool server_done = false;
  handshake_check client;
  handshake_check server;
};

void run_handshake(const tls_context& client_ctx, const tls_context& server_ctx, const std::string& expected,
                   handshake_result& r) {
  r.client.expected_identity = &expected;
  auto client = client_ctx.new_outbound(r.client, "api.default.dc1.internal." + td);
  auto server = server_ctx.new_inbound(r.server);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  bool client_failed = false;
  bool server_failed = false;
  for (int round = 0; round < 20 && !(r.client_done && r.server_done); ++round) {
    if (!r.client_done && !client_failed) {
      const int rc = SSL_do_handshake(client.get());
      r.client_done = rc == 1;
      client_failed = rc <= 0 && SSL_get_error(client.get(), rc) != SSL_ERROR_WANT_READ;
    }
    if (!r.server_done && !server_failed) {
      const int rc = SSL_do_handshake(server.get());
      r.server_done = rc == 1;
      server_failed = rc <= 0 && SSL_get_error(server.get(), rc) != SSL_ERROR_WANT_READ;
    }
    if (client_failed && server_failed) break;
  }
  // TLS 1.3: the server learns of the client's certificate after the client thinks it is
  // done; a refusal there reaches the client as an alert on its first read.
  if (r.client_done && !r.server_done) r.client_done = false;
  ERR_clear_error();
}

TEST(tls_context, admits_a_mesh_service_and_learns_its_identity_both_ways) {
  const auto ca = make_authority();
  const tls_context web(leaf_for(ca, "web"), {ca.pem}, td, inbound_peers::service_identity);
  const tls_context api(leaf_for(ca, "api"), {ca.pem}, td, inbound_peers::service_identity);
  handshake_result r;
  run_handshake(web, api, identity_of("api"), r);
  EXPECT_TRUE(r.client_done);
  EXPECT_TRUE(r.server_done);
  EXPECT_EQ(r.client.refusal, peer_refusal::none) << r.client.detail;
  EXPECT_EQ(r.server.refusal, peer_refusal::none) << r.server.detail;
  EXPECT_EQ(r.client.peer_identity, identity_of("api"));
  EXPECT_EQ(r.server.peer_identity, identity_of("web"));
  EXPECT_EQ(api.identity(), identity_of("api"));
  EXPECT_FALSE(api.serial().empty());
  EXPECT_LT(api.not_before(), std::chrono::system_clock::now());
  EXPECT_GT(api.not_after(), std::chrono::system_clock::now() + 71h);
}

TEST(tls_context, outbound_refuses_a_valid_mesh_certificate_for_another_service) {
  const auto ca = make_authority();
  const tls_context web(leaf_for(ca, "web"), {ca.pem}, td, inbound_peers::service_identity);
  const tls_context billing(leaf_for(ca, "billing"), {ca.pem}, td, inbound_peers::service_identity);
  handshake_result r;
  run_handshake(web, billing, identity_of("api"), r);  // dialled api, billing answered
  EXPECT_FALSE(r.client_done);
  EXPECT_EQ(r.client.refusal, peer_refusal::identity_mismatch);
  EXPECT_NE(r.client.detail.find("/svc/billing"), std::string::npos) << r.client.detail;
}

TEST(tls_context, outbound_refuses_a_server_from_another_ca) {
  const auto ca = make_authority();
  const auto other = make_authority();
  const tls_context web(leaf_for(ca, "web"), {ca.pem}, td, inbound_peers::service_identity);
  const tls_context impostor(leaf_for(other, "api"), {other.pem}, td, inbound_peers::service_identity);
  handshake_result r;
  run_handshake(web, impostor, identity_of("api"), r);
  EXPECT_FALSE(r.client_done);
  EXPECT_EQ(r.client.refusal, peer_refusal::untrusted);
}

TEST(tls_context, inbound_refuses_a_client_from_another_ca) {
  const auto ca = make_authority();
  const auto other = make_authority();
  const tls_context api(leaf_for(ca, "api"), {ca.pem}, td, inbound_peers::service_identity);
  // The impostor trusts our root, so only the inbound side's check can stop it.
  const tls_context impostor(leaf_for(other, "web"), {ca.pem}, td, inbound_peers::service_identity);
  handshake_result r;
  run_handshake(impostor, api, identity_of("api"), r);
  EXPECT_FALSE(r.server_done);
  EXPECT_EQ(r.server.refusal, peer_refusal::untrusted);
}

TEST(tls_context, inbound_refuses_an_identity_of_another_trust_domain_even_from_a_trusted_root) {
  // A root we trust that signs identities of a different trust domain (a misconfigured
  // bundle): the chain verifies, the identity does not belong to our mesh.
  const std::string foreign = "99999999-2222-3333-4444-555555555555.consul";
  const auto ca = make_authority();
  const auto foreign_ca = make_authority(foreign);
  const tls_context api(leaf_for(ca, "api"), {ca.pem, foreign_ca.pem}, td, inbound_peers::service_identity);
  const tls_context stranger(leaf_for(foreign_ca, "web", foreign), {ca.pem}, foreign,
                             inbound_peers::service_identity);
  handshake_result r;
  run_handshake(stranger, api, identity_of("api"), r);
  EXPECT_FALSE(r.server_done);
  EXPECT_EQ(r.server.refusal, peer_refusal::identity_mismatch);
}

TEST(tls_context, remembers_a_verified_chain_but_judges_the_identity_of_every_connection) {
  const auto ca = make_authority();
  const tls_context web(leaf_for(ca, "web"), {ca.pem}, td, inbound_peers::service_identity);
  const tls_context api(leaf_for(ca, "api"), {ca.pem}, td, inbound_peers::service_identity);
  for (int i = 0; i < 3; ++i) {
    handshake_result r;
    run_handshake(web, api, identity_of("api"), r);
    EXPECT_TRUE(r.client_done && r.server_done) << i;
    EXPECT_EQ(r.client.peer_identity, identity_of("api")) << i;
    EXPECT_EQ(r.server.peer_identity, identity_of("web")) << i;
  }
  // One chain each way, remembered once however many times it was seen.
  EXPECT_EQ(web.verified_chains(), 1u);
  EXPECT_EQ(api.verified_chains(), 1u);
  // The same remembered chain, dialled as another service: refused on the hit.
  handshake_result wrong;
  run_handshake(web, api, identity_of("billing"), wrong);
  EXPECT_FALSE(wrong.client_done);
  EXPECT_EQ(wrong.client.refusal, peer_refusal::identity_mismatch);
  EXPECT_EQ(wrong.client.detail, identity_of("api"));
}

TEST(tls_context, never_remembers_a_chain_that_failed) {
  const auto ca = make_authority();
  const auto other = make_authority();
  const tls_context web(leaf_for(ca, "web"), {ca.pem}, td, inbound_peers::service_identity);
  const tls_context impostor(leaf_for(other, "api"), {other.pem}, td, inbound_peers::service_identity);
  for (int i = 0; i < 2; ++i) {
    handshake_result r;
    run_handshake(web, impostor, identity_of("api"), r);
    EXPECT_EQ(r.client.refusal, peer_refusal::untrusted) << i;
  }
  EXPECT_EQ(web.verified_chains(), 0u);
}

TEST(tls_context, refuses_a_key_that_does_not_match_its_certificate) {
  const auto ca = make_authority();
  auto leaf = leaf_for(ca, "web");
  leaf.key_pem = leaf_for(ca, "web").key_pem;
  EXPECT_THROW(tls_context(leaf, {ca.pem}, td, inbound_peers::service_identity), std::exception);
}

}  // namespace
}  // namespace meshgate::sidecar
