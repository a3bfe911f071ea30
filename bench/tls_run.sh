#!/usr/bin/env bash
# The sidecar's mTLS against HAProxy and nginx with the shared harness
# (../shared/bench/tls): inbound (TLS in, plain out) and outbound (plain in, TLS out),
# bulk throughput and full handshakes per second, one worker each, same run.
#
#   bench/tls_run.sh                                  # everything, ~6 min
#   RUNS=1 DUR=2 bench/tls_run.sh                      # a quick look
#   PEERS="haproxy meshgate" MODES=handshakes bench/tls_run.sh
# Results: $BENCH_WORK/results/<timestamp>/report.md (default /tmp/meshgate-bench/tls).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${TLS_HARNESS:-$root/../shared/bench/tls}
[ -x "$harness/run_tls_peers.sh" ] || { echo "bench: no harness at $harness (set TLS_HARNESS)" >&2; exit 1; }
"$root/scripts/build.sh" release meshgate >/dev/null
export MESHGATE_BIN="$root/build/release/bin/meshgate"
export EXTRA_TLS_PROXIES="$root/bench/tls/meshgate_tls.sh"
export PEERS="${PEERS:-direct haproxy nginx meshgate}"
exec "$harness/run_tls_peers.sh"
