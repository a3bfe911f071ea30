#!/usr/bin/env bash
# Builds and runs every test, in this order (each step must pass):
#   1. unit and end-to-end tests, dev build (real gateway processes, curl, openssl);
#   2. every fuzz target for FUZZ_SECONDS (default 60) from its seed corpus;
#   3. the whole suite again under ASan + UBSan (the sanitize build).
# Set SKIP_FUZZ=1 or SKIP_SANITIZE=1 to leave a step out while iterating.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
step() { printf '\n=== %s\n' "$*"; }

step "dev build: unit and end-to-end tests"
scripts/build.sh dev
ctest --preset dev -j "$jobs"

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz: ${FUZZ_SECONDS:=60} s per target"
  scripts/build.sh fuzz
  for fuzzer in build/fuzz/bin/*_fuzzer; do
    name=$(basename "$fuzzer" _fuzzer)
    work=$(mktemp -d)
    cp "fuzz/corpus/$name"/* "$work/"
    # A crash, leak or sanitizer report fails the run; the reproducer lands in build/fuzz.
    "$fuzzer" "$work" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
      -artifact_prefix="build/fuzz/$name-" 2>&1 | grep -E "^(Done|stat::)"
    rm -rf "$work"
  done
fi

if [ "${SKIP_SANITIZE:-0}" != 1 ]; then
  step "sanitize build (ASan + UBSan): unit and end-to-end tests"
  scripts/build.sh sanitize
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --preset sanitize -j "$jobs"
fi
step "all tests passed"
