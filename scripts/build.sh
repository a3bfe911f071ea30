#!/usr/bin/env bash
# Builds one preset (default: dev) after making sure the dependencies are installed.
#   scripts/build.sh [dev|release|sanitize|fuzz] [target...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-dev}
shift || true
"$root/scripts/setup.sh"
cd "$root"
if [ ! -f "build/$preset/build.ninja" ]; then
  cmake --preset "$preset" >/dev/null
fi
if [ $# -gt 0 ]; then
  cmake --build --preset "$preset" --target "$@"
else
  cmake --build --preset "$preset"
fi
