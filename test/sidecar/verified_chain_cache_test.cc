// The verified-chain cache on its own: keys bound to the exact chain, the validity window
// checked at every lookup, and the bound.

#include "sidecar/verified_chain_cache.h"

#include <gtest/gtest.h>

#include "ca/certificate_factory.h"
#include "x509/pem.h"

namespace meshgate::sidecar {
namespace {

using namespace std::chrono_literals;
const std::string td = "11111111-2222-3333-4444-555555555555.consul";

struct fixture {
  x509::pkey_ptr root_key = ca::make_key();
  x509::cert_ptr root = ca::make_root(root_key.get(), td, "test CA", 87600h, std::chrono::system_clock::now());
  x509::cert_ptr leaf(const std::string& service, std::chrono::seconds ttl) {
    auto key = ca::make_key();
    const auto id = x509::service_identity(td, "default", "dc1", service);
    auto csr = ca::make_csr(key.get(), service, id.to_string(), "", false);
    return x509::certificate_from_pem(
        ca::sign_leaf({root.get(), root_key.get()}, csr.get(), {id, service, ttl}, std::chrono::system_clock::now()).pem);
  }
};

void free_stack(STACK_OF(X509) * p) noexcept { sk_X509_free(p); }

struct stack {
  explicit stack(std::initializer_list<X509*> certs) {
    for (X509* c : certs) sk_X509_push(s.get(), c);
  }
  // Does not own the certificates: the test does.
  std::unique_ptr<STACK_OF(X509), x509::openssl_deleter<free_stack>> s{sk_X509_new_null()};
};

TEST(verified_chain_cache, keys_name_the_exact_chain) {
  fixture f;
  const auto a = f.leaf("api", 1h);
  const auto b = f.leaf("api", 1h);  // same service, another certificate
  const auto ka = verified_chain_cache::key_of(stack{a.get()}.s.get());
  ASSERT_TRUE(ka);
  EXPECT_EQ(ka, verified_chain_cache::key_of(stack{a.get()}.s.get()));
  EXPECT_NE(ka, verified_chain_cache::key_of(stack{b.get()}.s.get()));
  EXPECT_NE(ka, verified_chain_cache::key_of(stack{a.get(), f.root.get()}.s.get()));
  EXPECT_FALSE(verified_chain_cache::key_of(stack{}.s.get()));
}

TEST(verified_chain_cache, a_hit_holds_only_inside_the_chains_validity) {
  fixture f;
  const auto leaf = f.leaf("api", 1h);
  verified_chain_cache cache;
  const auto key = *verified_chain_cache::key_of(stack{leaf.get()}.s.get());
  const auto now = std::time(nullptr);
  EXPECT_FALSE(cache.find(key, now));
  cache.remember(key, stack{leaf.get(), f.root.get()}.s.get(), "spiffe://x/ns/default/dc/dc1/svc/api");
  EXPECT_EQ(cache.find(key, now), "spiffe://x/ns/default/dc/dc1/svc/api");
  EXPECT_FALSE(cache.find(key, now + 2 * 3600)) << "past the leaf's notAfter";
  EXPECT_FALSE(cache.find(key, now - 600)) << "before the leaf's notBefore (backdated one minute)";
}

TEST(verified_chain_cache, stays_within_its_bound) {
  fixture f;
  verified_chain_cache cache(2);
  for (int i = 0; i < 5; ++i) {
    const auto leaf = f.leaf("api", 1h);
    cache.remember(*verified_chain_cache::key_of(stack{leaf.get()}.s.get()), stack{leaf.get()}.s.get(), "id");
    EXPECT_LE(cache.size(), 2u);
  }
}

}  // namespace
}  // namespace meshgate::sidecar
