#!/usr/bin/env bash
# What the image would hold, checked without a container engine: the
# binary deploy/build-static.sh builds is static, and `piimask demo` runs
# from it with an empty environment in an empty folder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
deploy/build-static.sh "$out/image"
# A dynamically linked executable names its loader in an INTERP header.
if readelf -l "$out/image/piimask" | grep -q INTERP; then
  echo "deploy/check-image.sh: piimask needs a dynamic loader" >&2
  exit 1
fi
mkdir "$out/empty"
(cd "$out/empty" && env -i "$out/image/piimask" demo > "$out/demo.txt")
grep -q "all three as expected" "$out/demo.txt"
echo "deploy/check-image.sh: static binary ($(du -h "$out/image/piimask" | cut -f1)) runs the demo with an empty environment"
