# Sourced by the proxy benchmarks (bench/proxy/run.sh, instructions.sh,
# bench/soak.sh):
# checks the tools, makes a scratch folder removed on exit with every
# process in `pids`, builds the release binary (unless the caller set
# `binary`), writes a dev PKI, and
# starts nginx serving the JSON corpus (1k.json, 64k.json) on $upstream.
#   needs: bench_name, root, and the tools to check in "$@"; `binary`, if
#          set, is the piimask to run.
#   gives: work, pids, piimask, allowed, upstream, free_port, tls (oha/curl
#          flags), proxy_args (`piimask run` flags for the upstream, the PKI
#          and the allowed peer; the caller adds --listen and the rest)
for tool in nginx "$@"; do
  command -v "$tool" >/dev/null || { echo "$bench_name: needs $tool (see the header of this script)" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${binary:-}" ]; then
  piimask=$binary # the caller's --binary: nothing to build
else
  (cd "$root" && cargo build --release -q)
  piimask=${CARGO_TARGET_DIR:-$root/target}/release/piimask
fi
"$piimask" certs dev --out "$work/pki" >/dev/null
allowed=spiffe://piimask.dev/ns/billing/sa/billing
tls=(--cacert "$work/pki/ca.crt" --cert "$work/pki/client.crt" --key "$work/pki/client.key")
mkdir -p "$work/www"
chmod 755 "$work" "$work/www" # nginx's workers do not run as the owner
python3 "$root/bench/proxy/corpus.py" "$work/www"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
upstream=$(free_port)
sed -e "s|@DIR@|$work|g" -e "s|@UPSTREAM@|$upstream|g" "$root/bench/proxy/nginx.conf.in" > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
proxy_args=(--upstream "http://127.0.0.1:$upstream" --cert "$work/pki/server.crt" --key "$work/pki/server.key"
  --client-ca "$work/pki/ca.crt" --allow-peer "$allowed")
