#!/usr/bin/env bash
# The labelled evaluation: generate records, mask them with piimask, score
# piimask (and Presidio's recognizers unless --no-presidio) on them.
#   bench/eval/run.sh [--records N] [--seed S] [--no-presidio]
# Exits non-zero when piimask is below the issue's thresholds
# (email recall 0.999, phone recall 0.99, precision 0.995).
set -euo pipefail
cd "$(dirname "$0")/../.."
records=4000 seed=2026 presidio=--presidio
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-presidio) presidio=; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
python3 -c "import faker, phonenumbers" 2>/dev/null || pip install --quiet faker phonenumbers
if [ -n "$presidio" ]; then
  python3 -c "import presidio_analyzer" 2>/dev/null || pip install --quiet presidio-analyzer
fi
dir=target/eval
mkdir -p "$dir"
python3 bench/eval/gen.py --records "$records" --seed "$seed" --out "$dir"
cargo build --release --quiet
start=$(date +%s.%N)
target/release/piimask mask --content-type ndjson "$dir/records.ndjson" > "$dir/masked.ndjson"
end=$(date +%s.%N)
python3 bench/eval/score.py --dir "$dir" $presidio --piimask-seconds "$(echo "$end - $start" | bc)" \
  --min-email-recall 0.999 --min-phone-recall 0.99 --min-precision 0.995
