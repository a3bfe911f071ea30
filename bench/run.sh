#!/usr/bin/env bash
# meshgate's own benchmark: the gateway against HAProxy (and a direct connection, the
# limit) on this machine, same run, same load, with meshgate-load (bench/load/).
#
#   bench/run.sh                                 # 3 runs of 5 s per cell
#   RUNS=1 DUR=2 MODES="throughput" bench/run.sh # a quick look
#   SETUP_PEERS=1 bench/run.sh                   # apt-get install haproxy first
#   MESHGATE_FLAGS="-relay-chunk-bytes 65536" PROXIES=meshgate bench/run.sh
#   FLAGS_meshgate_16k="-relay-chunk-bytes 16384" PROXIES="meshgate meshgate_16k" bench/run.sh
#
# Layout on 2 CPUs: the proxy under test on CPU 1 with one worker, load and backends on
# CPU 0 (the same-CPU latency mode puts everything on CPU 0: it shows the proxy's own cost
# without the cross-CPU wake-up). Each figure is the median of RUNS runs, runs of the
# proxies interleaved so that a drift of the machine favours nobody. Ratios are
# meshgate / HAProxy from the same run. Everything goes to $BENCH_OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNS:=3}" "${DUR:=5}" "${WARM:=1}"
: "${MODES:=throughput connrate latency1cpu idle}"
: "${PROXIES:=direct haproxy meshgate}"
: "${IDLE_CONNS:=9000}"
: "${PROXY_CPU:=1}" "${LOAD_CPU:=0}"
: "${BENCH_OUT:=/tmp/meshgate-bench-own/$(date +%Y%m%d-%H%M%S)}"
SNI=bench.dc1.internal.example.consul
HELLO="$root/test/data/clienthellos/curl.bin"
LISTEN=31000
declare -A BPORT=([throughput]=30001 [connrate]=30002 [latency1cpu]=30003 [idle]=30001)
declare -A BMODE=([30001]=sink [30002]=reply1 [30003]=echo)

"$root/scripts/build.sh" dev meshgate meshgate-load >/dev/null
if [ "${SETUP_PEERS:-0}" = 1 ]; then apt-get install -y -qq haproxy >/dev/null; fi
if ! command -v haproxy >/dev/null; then
  echo "bench: haproxy is not installed (SETUP_PEERS=1 installs it); measuring without it" >&2
  PROXIES=${PROXIES//haproxy/}
fi
mg="$root/build/dev/bin/meshgate"
load="$root/build/dev/bin/meshgate-load"
mkdir -p "$BENCH_OUT"
raw="$BENCH_OUT/raw.tsv"
: >"$raw"
ulimit -n "$(ulimit -Hn)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
# "busy idle" jiffies of one CPU: busy is user, nice, system, irq and softirq; idle
# includes iowait; time stolen by the hypervisor is neither.
cpu_jiffies() { awk -v c="cpu$1" '$1==c {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
per_cpu_second() { # RESULT-LINE "BUSY IDLE" "BUSY IDLE" -> proxy_cpu_busy=F cps_per_cpu_s=N
  awk -v line="$1" -v a="$2" -v b="$3" 'BEGIN {
    split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; all = busy + y[2] - x[2]
    match(line, /cps=[0-9.]+/); cps = substr(line, RSTART + 4, RLENGTH - 4)
    if (all <= 0 || busy <= 0) { print "proxy_cpu_busy=- cps_per_cpu_s=-"; exit }
    printf "proxy_cpu_busy=%.2f cps_per_cpu_s=%.0f", busy / all, cps * all / busy }'
}

for port in 30001 30002 30003; do
  taskset -c "$LOAD_CPU" "$load" backend --listen "127.0.0.1:$port" --mode "${BMODE[$port]}" \
    --stats "/dev/shm/meshgate-bench-$port" --max-seconds 7200 2>"$BENCH_OUT/backend-$port.log" &
  pids+=($!)
  wait_port "$port"
done

start_proxy() { # NAME CPU BACKEND_PORT -> PID on stdout
  local dir="$BENCH_OUT/$1"
  mkdir -p "$dir"
  case "$1" in
    meshgate*)  # meshgate_X: a variant with the flags in $FLAGS_meshgate_X
      local variant_flags="FLAGS_$1"
      cat >"$dir/routes.json" <<JSON
{"listeners": [{"name": "bench", "address": "127.0.0.1", "port": $LISTEN}],
 "routes": [{"sni": "$SNI", "cluster": "bench"}],
 "clusters": {"bench": {"endpoints": ["127.0.0.1:$3"]}}}
JSON
      taskset -c "$2" "$mg" gateway -routes-file "$dir/routes.json" -admin-addr "" -workers 1 ${MESHGATE_FLAGS:-} ${!variant_flags:-} \
        >"$dir/out.log" 2>"$dir/err.log" </dev/null &
      ;;
    haproxy)
      cat >"$dir/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn $((IDLE_CONNS + 400))
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:$LISTEN
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend be if { req.ssl_sni -i $SNI }
backend be
    server s1 127.0.0.1:$3
CFG
      taskset -c "$2" haproxy -db -f "$dir/haproxy.cfg" >"$dir/out.log" 2>"$dir/err.log" </dev/null &
      ;;
  esac
  echo $!
}

measure() { # RUN PROXY MODE
  local run=$1 proxy=$2 mode=$3 bport=${BPORT[$3]} target pid="" cpu=$PROXY_CPU line
  [ "$proxy" = direct ] && { [ "$mode" = idle ] || [ "$mode" = latency1cpu ]; } && [ "$mode" = idle ] && return 0
  [ "$mode" = latency1cpu ] && cpu=$LOAD_CPU
  if [ "$proxy" = direct ]; then
    target=127.0.0.1:$bport
  else
    pid=$(start_proxy "$proxy" "$cpu" "$bport")
    wait_port "$LISTEN" || { echo "bench: $proxy did not start (see $BENCH_OUT/$proxy)" >&2; return 1; }
    target=127.0.0.1:$LISTEN
  fi
  local lg=(taskset -c "$LOAD_CPU" "$load")
  local common=(--target "$target" --hello "$HELLO" --seconds "$DUR" --warmup "$WARM")
  case "$mode" in
    throughput) line=$("${lg[@]}" throughput "${common[@]}" --conns 8 --stats /dev/shm/meshgate-bench-30001) ;;
    connrate)
      # Also how busy the proxy's CPU was while the connections were counted (after the
      # warm-up): connections per proxy CPU-second moves much less with the machine than
      # the rate itself, because the rate also depends on how fast CPU 0 is at the time.
      # A proxy that busy-polls (meshgate by default, -busy-poll-us) counts as busy while
      # it polls, so for it the figure is a lower bound; FLAGS_meshgate_nopoll="-busy-poll-us 0"
      # measures the work alone.
      local log="$BENCH_OUT/connrate-$proxy-$run.log" before after
      "${lg[@]}" connrate "${common[@]}" --concurrency 32 >"$log" &
      local lgpid=$!
      sleep "$WARM"
      before=$(cpu_jiffies "$PROXY_CPU")
      wait "$lgpid"
      after=$(cpu_jiffies "$PROXY_CPU")
      line=$(grep RESULT "$log")
      [ "$proxy" = direct ] || line="$line $(per_cpu_second "$line" "$before" "$after")"
      ;;
    latency1cpu) line=$("${lg[@]}" latency "${common[@]}" --bytes 64) ;;
    idle)
      sleep 0.3  # let the fresh proxy settle before its baseline is read
      local before after ready="$BENCH_OUT/ready-$proxy-$run"
      before=$(rss_kib "$pid")
      "${lg[@]}" idle --target "$target" --hello "$HELLO" --conns "$IDLE_CONNS" --hold 2 \
        --stats /dev/shm/meshgate-bench-30001 --ready-file "$ready" >"$BENCH_OUT/idle-$proxy-$run.log" &
      local lgpid=$!
      for _ in $(seq 1 1200); do [ -s "$ready" ] && break; sleep 0.05; done
      after=$(rss_kib "$pid")
      wait "$lgpid"
      line="$(grep RESULT "$BENCH_OUT/idle-$proxy-$run.log") kib_per_conn=$(awk -v a="$after" -v b="$before" -v n="$(cat "$ready")" 'BEGIN{printf "%.2f", (a-b)/n}')"
      ;;
  esac
  [ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
  [ "$mode" = idle ] && sleep 2  # let the kernel finish closing the idle connections
  echo "  run $run $proxy $mode: ${line#RESULT }" >&2
  for kv in $line; do
    case "$kv" in *=*) printf '%s\t%s\t%s\t%s\n' "$proxy" "$mode" "${kv%%=*}" "${kv#*=}" >>"$raw" ;; esac
  done
}

echo "bench: $RUNS runs x ${DUR}s; proxies: $PROXIES; results in $BENCH_OUT" >&2
for run in $(seq 1 "$RUNS"); do
  for proxy in $PROXIES; do
    for mode in $MODES; do measure "$run" "$proxy" "$mode"; done
  done
done

median() { sort -g | awk '{v[NR]=$1} END{if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
value() { awk -F'\t' -v p="$1" -v m="$2" -v k="$3" '$1==p && $2==m && $3==k {print $4}' "$raw" | median; }
{
  echo "| proxy (1 worker) | throughput Gbit/s | new conn/s | new conn per proxy CPU-second | same-CPU ping-pong p99 µs | KiB RSS per idle conn |"
  echo "|---|---|---|---|---|---|"
  for proxy in $PROXIES; do
    echo "| $proxy | $(value "$proxy" throughput gbps) | $(value "$proxy" connrate cps) | $(value "$proxy" connrate cps_per_cpu_s) | $(value "$proxy" latency1cpu p99_us) | $(value "$proxy" idle kib_per_conn) |"
  done
  if [[ " $PROXIES " == *" haproxy "* && " $PROXIES " == *" meshgate "* ]]; then
    ratio() { awk -v a="$(value meshgate "$1" "$2")" -v b="$(value haproxy "$1" "$2")" 'BEGIN{if (b>0) printf "%.2f", a/b; else print "-"}'; }
    echo "| meshgate / HAProxy | $(ratio throughput gbps)x | $(ratio connrate cps)x | $(ratio connrate cps_per_cpu_s)x | $(ratio latency1cpu p99_us)x | $(ratio idle kib_per_conn)x |"
  fi
} | tee "$BENCH_OUT/table.md"
