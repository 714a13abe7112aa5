#!/usr/bin/env bash
# Soak: steady mTLS load with masking on one piimask for a set time, in
# windows, reporting per window the requests served, errors, p50/p99 and
# piimask's resident memory and open descriptors. Fails (exit 1) on any
# error, or if memory or descriptors at the end are above the level after
# the first window (warm-up) by more than the slack below: flat means flat.
#
#   bench/soak.sh [--seconds 600] [--window 10] [--connections 16] [--size 1k|64k]
#
# Needs: nginx (apt), oha (cargo install oha). CI runs a short one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=600 window=10 connections=16 size=1k
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
bench_name=bench/soak.sh
# shellcheck source=bench/proxy/setup.sh
. "$here/proxy/setup.sh" oha curl
port=$(free_port)
"$piimask" run --listen "127.0.0.1:$port" "${proxy_args[@]}" 2>"$work/piimask.log" & pids+=($!)
pid=$!
for _ in $(seq 100); do curl -sS "${tls[@]}" "https://localhost:$port/$size.json" >/dev/null 2>&1 && break; sleep 0.1; done
# The masking is real: the response carries a placeholder, not the address.
curl -sS "${tls[@]}" "https://localhost:$port/$size.json" | grep -q '"customer_email":"\[EMAIL\]"' \
  || { echo "bench/soak.sh: the response is not masked" >&2; exit 1; }

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
windows=$(( (seconds + window - 1) / window ))
echo "soak: ${seconds}s as ${windows} windows of ${window}s, ${connections} connections, /$size.json, piimask pid $pid"
echo "start: RSS $(rss_kib) KiB, $(fds) descriptors"
printf '%6s %9s %8s %7s %8s %8s %9s %5s\n' window requests req/s errors p50_ms p99_ms rss_kib fds
for w in $(seq "$windows"); do
  # -w: requests in flight at the deadline finish (and count) rather than
  # being aborted by oha and reported as errors.
  oha -z "${window}s" -w -c "$connections" --no-tui --output-format json "${tls[@]}" \
    "https://localhost:$port/$size.json" > "$work/oha.json"
  python3 - "$work/oha.json" "$w" "$(rss_kib)" "$(fds)" >> "$work/windows.jsonl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
codes = r.get("statusCodeDistribution", {})
ok = codes.get("200", 0)
errors = sum(v for k, v in codes.items() if k != "200") + sum(r.get("errorDistribution", {}).values())
print(json.dumps({"window": int(sys.argv[2]), "requests": ok + errors, "rps": r["summary"]["requestsPerSec"],
                  "errors": errors, "p50_ms": r["latencyPercentiles"]["p50"] * 1000,
                  "p99_ms": r["latencyPercentiles"]["p99"] * 1000,
                  "rss_kib": int(sys.argv[3]), "fds": int(sys.argv[4])}))
PY
  tail -1 "$work/windows.jsonl" | python3 -c '
import json, sys
w = json.loads(sys.stdin.read())
print("%(window)6d %(requests)9d %(rps)8.0f %(errors)7d %(p50_ms)8.2f %(p99_ms)8.2f %(rss_kib)9d %(fds)5d" % w)'
done
kill -0 "$pid" || { echo "bench/soak.sh: piimask died" >&2; exit 1; }
python3 - "$work/windows.jsonl" <<'PY'
import json, sys
ws = [json.loads(l) for l in open(sys.argv[1])]
served = sum(w["requests"] for w in ws)
errors = sum(w["errors"] for w in ws)
warm, end = ws[0], ws[-1]
p99s = sorted(w["p99_ms"] for w in ws)
print(f"served {served} requests, {errors} errors; p99 per window {p99s[0]:.2f}..{p99s[-1]:.2f} ms "
      f"(median {p99s[len(p99s) // 2]:.2f}); RSS {warm['rss_kib']} KiB after the first window, "
      f"{end['rss_kib']} KiB at the end; descriptors {warm['fds']} → {end['fds']}")
# Flat: at most 10% or 4 MiB above the warmed-up level, whichever is
# larger (allocator noise), and no descriptor left over.
rss_ok = end["rss_kib"] <= max(warm["rss_kib"] * 1.10, warm["rss_kib"] + 4096)
fds_ok = end["fds"] <= warm["fds"]
if errors or not rss_ok or not fds_ok:
    sys.exit(f"bench/soak.sh: FAILED (errors {errors}, memory flat {rss_ok}, descriptors flat {fds_ok})")
print("bench/soak.sh: zero errors, memory and descriptors flat")
PY
