#!/usr/bin/env bash
# Validates every Kubernetes manifest piimask ships or writes against the
# official schemas of a pinned Kubernetes version (kubernetes-validate from
# PyPI, strict: unknown fields are errors): what `piimask netpol generate`,
# `inject` and `install` write, the manifests in deploy/ and tests/data.
# (cert-manager's kinds have no official schema: warned about, not checked.)
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.31.0
python3 -c "import kubernetes_validate" 2>/dev/null || pip install --quiet kubernetes-validate
cargo build --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/debug/piimask netpol generate --config tests/data/netpol/generate/piimask.yaml \
  --workload app/customers --selector app=customers > "$work/generated-networkpolicies.yaml"
target/debug/piimask inject -f tests/data/inject/input.yaml > "$work/injected.yaml"
target/debug/piimask inject --legacy-sidecar -f tests/data/inject/kinds.yaml > "$work/injected-legacy.yaml"
target/debug/piimask install --values deploy/install-values.yaml \
  --gateway deploy/examples/legacy-gateway/piimask.yaml > "$work/install-with-gateway.yaml"
files=("$work/generated-networkpolicies.yaml" "$work/injected.yaml" "$work/injected-legacy.yaml" "$work/install-with-gateway.yaml")
files+=(deploy/install.yaml)
while IFS= read -r f; do files+=("$f"); done < <(find tests/data/netpol tests/data/inject deploy/examples -name '*.yaml' ! -name 'piimask.yaml' ! -name 'values.yaml' | sort)
kubernetes-validate --strict --quiet -k "$version" "${files[@]}"
echo "deploy/validate.sh: ${#files[@]} files valid against Kubernetes $version"
