#!/usr/bin/env bash
# piimask masking a body against the fastest JSON parsers of Rust merely
# parsing it, in one process, alternated round by round (see src/main.rs):
# how fast a JSON-aware masker is against the cost of reading JSON at all.
#
#   bench/parsers/run.sh [--rounds 21]
#
# Built for this CPU (-C target-cpu=native): sonic-rs and simd-json pick
# their SIMD kernels when they are compiled, so without it they would run
# their SSE2 fallbacks. piimask picks its AVX2 loop at run time either way.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The proxy benchmark's 64 KB order response, as bench/proxy/run.sh serves it.
python3 "$here/../proxy/corpus.py" "$work" 2>/dev/null
RUSTFLAGS="-C target-cpu=native" cargo run --quiet --release --locked --manifest-path "$here/Cargo.toml" \
  -- "$work/64k.json" "$@"
