// Nanoseconds per ClientHello parsed and per route looked up: the gateway's only
// per-connection work in user space besides system calls.

#include <benchmark/benchmark.h>

#include "gateway/gateway_snapshot.h"
#include "gateway/sni_router.h"
#include "support/client_hello_builder.h"
#include "tls/client_hello_parser.h"

namespace {

using meshgate::tls::client_hello_parser;

void parse(benchmark::State& state, const meshgate::test::bytes& wire) {
  for (auto _ : state) {
    client_hello_parser parser;
    benchmark::DoNotOptimize(parser.parse(wire));
    benchmark::DoNotOptimize(parser.server_name().data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
}

void parse_curl_hello(benchmark::State& state) {
  parse(state, meshgate::test::read_capture("curl.bin"));
}
BENCHMARK(parse_curl_hello);

void parse_chromium_sized_hello(benchmark::State& state) {
  auto spec = meshgate::test::hello_for("api.default.dc1.internal.example.consul");
  spec.padding = 1500;  // an X25519MLKEM768 key share makes hellos of ~2 KB
  parse(state, meshgate::test::frame_records(meshgate::test::build_client_hello(spec), 16384));
}
BENCHMARK(parse_chromium_sized_hello);

// The worst legal delivery: one byte per read, 1-byte records.
void parse_hello_byte_by_byte_in_one_byte_records(benchmark::State& state) {
  const auto wire = meshgate::test::frame_records(
      meshgate::test::handshake_of(meshgate::test::read_capture("curl.bin")), 1);
  for (auto _ : state) {
    client_hello_parser parser;
    for (std::size_t n = 1; n <= wire.size(); ++n) {
      benchmark::DoNotOptimize(parser.parse(std::span(wire).first(n)));
    }
  }
}
BENCHMARK(parse_hello_byte_by_byte_in_one_byte_records);

meshgate::gateway::sni_router make_router(int services) {
  meshgate::gateway::sni_router router;
  for (int i = 0; i < services; ++i) {
    router.add("svc" + std::to_string(i) + ".default.dc1.internal.example.consul", i);
  }
  for (int dc = 2; dc < 10; ++dc) {
    router.add("*.dc" + std::to_string(dc) + ".internal.example.consul", services + dc);
  }
  return router;
}

void route_exact(benchmark::State& state) {
  const auto router = make_router(static_cast<int>(state.range(0)));
  const std::string name = "svc7.default.dc1.internal.example.consul";
  for (auto _ : state) benchmark::DoNotOptimize(router.find(name));
}
BENCHMARK(route_exact)->Arg(10)->Arg(10000);

void route_wildcard(benchmark::State& state) {
  const auto router = make_router(static_cast<int>(state.range(0)));
  const std::string name = "api.default.dc7.internal.example.consul";
  for (auto _ : state) benchmark::DoNotOptimize(router.find(name));
}
BENCHMARK(route_wildcard)->Arg(10)->Arg(10000);

void route_unknown(benchmark::State& state) {
  const auto router = make_router(static_cast<int>(state.range(0)));
  const std::string name = "api.default.dc1.internal.other.consul";
  for (auto _ : state) benchmark::DoNotOptimize(router.find(name));
}
BENCHMARK(route_unknown)->Arg(10)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
