#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60; CI runs a short
# pass). New inputs go to a scratch corpus (fuzz/corpus/, not committed);
# the committed seeds in fuzz/seeds/ are read, never written. A crash
# stops the script and leaves the input in fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh 3600          # an hour each, the longer documented run
#   fuzz/run.sh 60 leak_oracle
#   FUZZ_RUNS=40000 fuzz/run.sh    # CI: a fixed number of runs from a fixed
#                                  # seed, so a pass or a failure repeats
#
# cargo-fuzz drives libFuzzer through nightly-only rustc flags; with the
# stable toolchain they are enabled by RUSTC_BOOTSTRAP=1. AddressSanitizer
# is on (FUZZ_SANITIZER=none turns it off, ~4x the executions): the SIMD
# scans in src/mask/bytes.rs load 16 bytes at a time through raw pointers,
# and an out-of-bounds load would not show as a panic. Debug assertions
# and overflow checks are on too (`-a`): an overflow that wraps silently in
# release is a panic here, and the engine's debug assertions (such as the
# numeric detector's incremental span read against a fresh one) run on
# every input.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(engine_chunking leak_oracle encoding_oracle config_parse k8s_parsers route_target slow_input)
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}
cargo fuzz build -s "$sanitizer" -O -a
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log=$(mktemp)
  # Seeds: the target's own, and the project's example files of its kind.
  seeds=("seeds/$t")
  case "$t" in
    config_parse) seeds+=(../deploy/config ../deploy/examples/pii-service ../deploy/examples/legacy-gateway) ;;
    k8s_parsers) seeds+=(../tests/data/inject ../tests/data/netpol/lint ../deploy/examples/pii-service) ;;
  esac
  if [ -n "${FUZZ_RUNS:-}" ]; then
    budget=(-runs="$FUZZ_RUNS" -seed=1)
  else
    budget=(-max_total_time="$seconds")
  fi
  if ! cargo fuzz run -s "$sanitizer" -O -a "$t" "corpus/$t" "${seeds[@]}" -- \
    "${budget[@]}" -max_len=8192 -print_final_stats=1 > "$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz/run.sh: $t failed; the input is in fuzz/artifacts/$t/"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$')
  echo "fuzz/run.sh: $t: $runs runs, no failure"
  rm -f "$log"
done
