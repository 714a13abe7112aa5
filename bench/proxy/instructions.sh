#!/usr/bin/env bash
# Instructions per request through piimask (valgrind's callgrind), after a
# warm-up: a count that this shared machine's noise does not move, for
# telling small changes to the proxy's per-request work apart (a 2% change
# is lost in req/s or CPU time here). One worker thread, the same mTLS setup
# and nginx upstream as run.sh, a fixed number of requests from oha.
#
#   bench/proxy/instructions.sh [--size 1k|64k] [--requests 2000] [--binary PATH] [--profile-out FILE]
#
# --profile-out keeps the callgrind profile of the measured requests (read
# it with callgrind_annotate). Needs: nginx, oha, valgrind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
size=1k requests=2000 binary="" profile_out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --profile-out) profile_out=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
bench_name=bench/proxy/instructions.sh
# shellcheck source=bench/proxy/setup.sh
. "$here/setup.sh" oha valgrind curl
binary=${binary:-$piimask}
port=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.%p" "$binary" run --listen "127.0.0.1:$port" \
  "${proxy_args[@]}" --threads 1 2>"$work/piimask.log" & pids+=($!)
pid=$!
for _ in $(seq 120); do curl -sS "${tls[@]}" "https://localhost:$port/$size.json" >/dev/null 2>&1 && break; sleep 0.5; done
# Warm-up (connections, pools, caches), then count the measured requests only.
oha -n 300 -c 4 --no-tui "${tls[@]}" "https://localhost:$port/$size.json" > /dev/null
callgrind_control -z "$pid" > /dev/null
oha -n "$requests" -c 4 --no-tui --output-format json "${tls[@]}" "https://localhost:$port/$size.json" > "$work/oha.json"
callgrind_control -d "$pid" > /dev/null
ok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["statusCodeDistribution"].get("200", 0))' "$work/oha.json")
[ "$ok" = "$requests" ] || { echo "$bench_name: only $ok of $requests responses were 200" >&2; exit 1; }
profile=$(ls -t "$work"/callgrind.* | head -1)
total=$(callgrind_annotate "$profile" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "$(basename "$binary") $size: $((total / requests)) instructions per request ($requests requests)"
if [ -n "$profile_out" ]; then cp "$profile" "$profile_out"; fi
