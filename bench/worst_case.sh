#!/usr/bin/env bash
# The detectors' worst case, counted: instructions per input byte that
# `piimask mask --content-type text` spends on each adversarial shape of
# bench/corpus.rs (`ADVERSARIAL`), measured by callgrind as the
# difference between a 640 KiB and a 128 KiB body (so start-up and the
# numbering plan's first DFA builds cancel out). Instruction counts
# repeat from run to run on one machine, unlike wall time.
#
#   bench/worst_case.sh           # print the table
#   bench/worst_case.sh --check   # and fail above a shape's ceiling (CI)
#
# The ceilings are the counts measured on an AMD EPYC (family 23) plus
# 15%: a change that makes any shape cost more fails the gate, and one
# that makes it cost less should lower its ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = --check ] && check=true
command -v valgrind >/dev/null || { echo "worst_case.sh: valgrind is needed (apt install valgrind)" >&2; exit 2; }

declare -A ceiling=(
  [digit_runs]=1030
  [digit_groups]=970
  [single_digits]=900
  [dotted_numbers]=450
  [at_runs]=75
  [at_pairs]=110
  [found_digit_groupings]=1470
)

cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo run --quiet --example adversarial_corpus -- "$dir/small" $((128 * 1024))
cargo run --quiet --example adversarial_corpus -- "$dir/large" $((640 * 1024))

instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "${CARGO_TARGET_DIR:-target}/release/piimask" mask --content-type text "$1" 2>&1 >/dev/null |
    awk '/Collected/ { gsub(",", "", $4); print $4 }'
}

failed=0
printf '%-22s %18s %10s\n' shape "instructions/byte" ceiling
for f in "$dir"/large/*.txt; do
  name=$(basename "$f" .txt)
  small="$dir/small/$name.txt"
  per_byte=$(( ($(instructions "$f") - $(instructions "$small")) / ($(stat -c %s "$f") - $(stat -c %s "$small")) ))
  limit=${ceiling[$name]:-}
  [ -n "$limit" ] || { echo "worst_case.sh: no ceiling for shape $name" >&2; exit 2; }
  mark=""
  if [ "$per_byte" -gt "$limit" ]; then mark="  ABOVE THE CEILING"; failed=1; fi
  printf '%-22s %18d %10d%s\n' "$name" "$per_byte" "$limit" "$mark"
done
if $check && [ "$failed" = 1 ]; then
  echo "worst_case.sh: a shape costs more instructions per byte than its ceiling" >&2
  exit 1
fi
