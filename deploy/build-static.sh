#!/usr/bin/env bash
# Builds the static piimask binary the container image ships (glibc with
# +crt-static: no dynamic loader, no libraries) into OUT (default
# target/image), with the CA roots beside it, as the image lays them out:
#   OUT/piimask, OUT/etc/ssl/certs/ca-certificates.crt
# The Dockerfile runs this script; CI runs it too and then runs the binary
# with an empty environment, since no container engine runs here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/image}
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_DEBUG=false \
  cargo build --release --locked --quiet --target "$target" --target-dir target/static
mkdir -p "$out/etc/ssl/certs"
cp "target/static/$target/release/piimask" "$out/piimask"
strip "$out/piimask"
cp /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"
