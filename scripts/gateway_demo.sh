#!/usr/bin/env bash
# The gateway alone, fed by a routes file: builds meshgate, starts two TLS backends (openssl s_server,
# each with its own certificate), puts a gateway in front of them with a routes file, and
# sends curl through it to each backend by server name. Then it keeps running so that you
# can try it yourself; Ctrl-C stops everything it started.
#   scripts/gateway_demo.sh          # run until Ctrl-C
#   scripts/gateway_demo.sh --once   # show the routed connections and stop
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
once=0
[ "${1:-}" = "--once" ] && once=1

"$root/scripts/build.sh" dev meshgate >/dev/null
meshgate="$root/build/dev/bin/meshgate"
work=$(mktemp -d /tmp/meshgate-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

api=api.default.dc1.internal.example.consul
web=web.default.dc1.internal.example.consul

wait_for() { # FILE PATTERN -> the first match, within 10 s
  local i
  for i in $(seq 1 200); do
    if grep -qE "$2" "$1" 2>/dev/null; then grep -oE "$2" "$1" | head -1; return 0; fi
    sleep 0.05
  done
  echo "demo: timed out waiting for '$2' in $1" >&2
  cat "${1%.*}.err" >&2 2>/dev/null || true
  exit 1
}

echo "== certificates: a demo CA and one certificate per backend (in $work)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -keyout "$work/ca.key" -out "$work/ca.pem" -subj "/CN=meshgate demo CA" 2>/dev/null
for name in $api $web; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/$name.key" \
    -out "$work/$name.csr" -subj "/CN=$name" 2>/dev/null
  echo "subjectAltName=DNS:$name" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 1 -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
done

echo "== backends: two openssl s_server -www, one per service"
ports=()
for name in $api $web; do
  openssl s_server -accept 127.0.0.1:0 -cert "$work/$name.pem" -key "$work/$name.key" -www \
    >"$work/$name.out" 2>"$work/$name.err" </dev/null &
  pids+=($!)
  port=$(wait_for "$work/$name.out" 'ACCEPT 127.0.0.1:[0-9]+' | sed 's/.*://')
  ports+=("$port")
  echo "   $name -> 127.0.0.1:$port"
done

sed -e "s/API_PORT/${ports[0]}/" -e "s/WEB_PORT/${ports[1]}/" \
  "$root/examples/demo-routes.json" >"$work/routes.json"
echo "== gateway: meshgate gateway -routes-file routes.json (listener on any free port)"
"$meshgate" gateway -routes-file "$work/routes.json" -admin-addr 127.0.0.1:0 \
  -admin-addr-file "$work/admin.addr" -workers 1 >"$work/gateway.out" 2>"$work/gateway.err" &
pids+=($!)
wait_for "$work/admin.addr" '[0-9.]+:[0-9]+' >/dev/null
admin=$(cat "$work/admin.addr")
gateway=$(wait_for "$work/gateway.err" 'listener wan: listening on [0-9.]+:[0-9]+' | sed 's/.* on //')
port=${gateway##*:}
echo "   listening on $gateway, admin on http://$admin"

for name in $api $web; do
  echo
  echo "== curl https://$name:$port/ through the gateway (trusting only the demo CA)"
  curl --silent --show-error --cacert "$work/ca.pem" --resolve "$name:$port:127.0.0.1" \
    --write-out '   -> HTTP %{http_code}, certificate verified for the name asked (curl: %{ssl_verify_result} = ok)\n' \
    --output "$work/page.html" "https://$name:$port/"
  # Which backend answered: the certificate it presented, seen through the gateway.
  openssl s_client -connect "$gateway" -servername "$name" -CAfile "$work/ca.pem" -brief \
    </dev/null 2>&1 | grep -E '^(Peer certificate|Verification)' | sed 's/^/   /'
done

echo
echo "== what the gateway counted (http://$admin/stats/prometheus):"
curl --silent "http://$admin/stats/prometheus" |
  grep -E '^meshgate_gateway_(route_connections_total|connections_closed_total\{reason="finished"\})' |
  sed 's/^/   /'

if [ "$once" = 1 ]; then exit 0; fi
cat <<TXT

The gateway keeps running. Try:
  curl --cacert $work/ca.pem --resolve $api:$port:127.0.0.1 https://$api:$port/
  openssl s_client -connect $gateway -servername nobody.example </dev/null   # refused, counted
  curl http://$admin/stats/prometheus
  kill -HUP ${pids[-1]}      # reload $work/routes.json
Ctrl-C stops the gateway and the backends.
TXT
wait "${pids[-1]}"
