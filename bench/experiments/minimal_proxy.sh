# Plug-in for ../shared/bench/run_peers.sh (EXTRA_PROXIES): minimal_proxy.cc as the peer
# "minimal", and "minimal_poll" with a 50 µs busy-poll window like the gateway's default.
# It routes every connection to the backend, whatever the SNI.
MINIMAL_PROXY_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/minimal_proxy.cc
proxy_build_minimal() {
    local bin="${BENCH_WORK:-/tmp/meshgate-bench}/minimal_proxy"
    if [ ! -x "$bin" ] || [ "$MINIMAL_PROXY_SRC" -nt "$bin" ]; then
        mkdir -p "$(dirname "$bin")"
        g++ -O2 -std=c++20 -o "$bin" "$MINIMAL_PROXY_SRC" || return 1
    fi
    echo "$bin"
}
proxy_start_minimal() {
    local dir=$1 port=$2 bport=$3 bin
    bin=$(proxy_build_minimal) || return 1
    taskset -c "$PROXY_CPU" "$bin" "$port" "$bport" ${MINIMAL_POLL_US:-0} >"$dir/out.log" 2>&1 &
    echo $!
}
proxy_start_minimal_poll() { MINIMAL_POLL_US=50 proxy_start_minimal "$@"; }
proxy_version_minimal() { echo "minimal_proxy.cc (bench/experiments)"; }
proxy_version_minimal_poll() { echo "minimal_proxy.cc, 50 us busy poll"; }
