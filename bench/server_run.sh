#!/usr/bin/env bash
# The control plane's benchmark: durable registrations per second with 64 concurrent
# clients, blocking-query fan-out to 10,000 watchers (time to the last answer, server
# memory per watcher), and leaf signatures per second through the CSR call. The server
# is pinned to CPU 1 with one API thread, the load to CPU 0. The CA's per-certificate costs
# (signing, verifying a chain) are in build/dev/bin/meshgate_ca_bench.
#   bench/server_run.sh                       # RUNS=3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNS:=3}" "${CLIENTS:=64}" "${WATCHERS:=10000}" "${DUR:=5}"
"$root/scripts/build.sh" dev meshgate meshgate-server-bench meshgate_ca_bench >/dev/null
mg="$root/build/dev/bin/meshgate"
bench="$root/build/dev/bin/meshgate-server-bench"
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/meshgate-server-bench-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
echo "disk: $(df -h "$work" | tail -1 | awk '{print $1}'); fsync per commit is what bounds durable writes" >&2
for run in $(seq 1 "$RUNS"); do
  rm -rf "$work/data" "$work/addr"
  taskset -c 1 "$mg" server -data-dir "$work/data" -http-addr 127.0.0.1:0 -http-addr-file "$work/addr" \
    -threads 1 -log-level warn 2>"$work/server.log" &
  pid=$!
  for _ in $(seq 1 200); do [ -s "$work/addr" ] && break; sleep 0.05; done
  addr=$(cat "$work/addr")
  taskset -c 0 "$bench" registrations --target "$addr" --clients "$CLIENTS" --seconds "$DUR"
  taskset -c 0 "$bench" fanout --target "$addr" --watchers "$WATCHERS" --server-pid "$pid"
  taskset -c 0 "$bench" sign --target "$addr" --clients 8 --seconds "$DUR"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=""
done
"$root/build/dev/bin/meshgate_ca_bench"
