// The CA's costs per certificate: signing a leaf from a CSR, verifying a peer's chain.

#include <benchmark/benchmark.h>

#include "ca/certificate_factory.h"
#include "x509/peer_verifier.h"
#include "x509/pem.h"

namespace {

using namespace meshgate;
using namespace std::chrono_literals;
const std::string td = "11111111-2222-3333-4444-555555555555.consul";

struct fixture {
  x509::pkey_ptr root_key = ca::make_key();
  x509::cert_ptr root = ca::make_root(root_key.get(), td, "bench root", 87600h, std::chrono::system_clock::now());
  x509::pkey_ptr inter_key = ca::make_key();
  x509::cert_ptr inter;
  x509::pkey_ptr leaf_key = ca::make_key();
  x509::spiffe_id id = x509::service_identity(td, "default", "dc1", "web");
  x509::csr_ptr csr = ca::make_csr(leaf_key.get(), "web", id.to_string(), "", false);
  fixture() {
    auto icsr = ca::make_csr(inter_key.get(), "i", x509::trust_domain_identity(td).to_string(), "", true);
    inter = ca::sign_intermediate({root.get(), root_key.get()}, icsr.get(), td, 8760h, std::chrono::system_clock::now());
  }
};

void sign_leaf_from_csr(benchmark::State& state) {
  fixture f;
  for (auto _ : state) {
    auto leaf = ca::sign_leaf({f.root.get(), f.root_key.get()}, f.csr.get(), {f.id, "web", 72h}, std::chrono::system_clock::now());
    benchmark::DoNotOptimize(leaf.pem.data());
  }
}
BENCHMARK(sign_leaf_from_csr)->Unit(benchmark::kMicrosecond);

void verify_peer_chain_via_intermediate(benchmark::State& state) {
  fixture f;
  auto leaf = x509::certificate_from_pem(
      ca::sign_leaf({f.inter.get(), f.inter_key.get()}, f.csr.get(), {f.id, "web", 72h}, std::chrono::system_clock::now()).pem);
  const x509::trust_bundle roots({x509::to_pem(f.root.get())});
  const auto now = std::time(nullptr);
  for (auto _ : state) {
    auto r = x509::verify_peer(roots, leaf.get(), {f.inter.get()}, f.id, x509::peer_role::server, now);
    if (!r.ok) state.SkipWithError(r.error.c_str());
  }
}
BENCHMARK(verify_peer_chain_via_intermediate)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
