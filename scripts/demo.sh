#!/usr/bin/env bash
# The main job: builds meshgate (installing what it needs) and runs `meshgate dev` — two
# federated datacenters on loopback, a mesh gateway in each, web's sidecar in dc1 calling
# api's sidecar in dc2 through both gateways. It prints what runs where and a curl line to
# try; Ctrl-C stops everything.
#   scripts/demo.sh          # run until Ctrl-C
#   scripts/demo.sh --once   # show one request crossing both gateways, then stop
# The gateway on its own, fed by a routes file: scripts/gateway_demo.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" dev meshgate >/dev/null
exec "$root/build/dev/bin/meshgate" dev "$@"
