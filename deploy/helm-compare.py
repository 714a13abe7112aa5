#!/usr/bin/env python3
"""Renders the Helm chart deploy/helm/piimask with a real Helm engine (the
helm-python-sdk package embeds Helm's Go SDK) and checks, object by
object, that it gives what `piimask install --values FILE` gives for the
same values, for each values file given; and that the chart's
values.yaml is deploy/install-values.yaml. Exits 1 on any difference.

usage: helm-compare.py PIIMASK_BINARY VALUES_FILE...
"""
import json
import pathlib
import subprocess
import sys

import yaml

import helm_python as helm  # helm-python-sdk, installed by .ci/setup

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "piimask"


def objects(text):
    return [d for d in yaml.safe_load_all(text) if d]


def key(o):
    meta = o.get("metadata", {})
    return (o.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


def merged(base, over):
    """Helm's rule: maps merge, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merged(base.get(k), v) if k in base else v
        return out
    return over


def main(binary, files):
    chart_values = (CHART / "values.yaml").read_text()
    if chart_values != (ROOT / "deploy" / "install-values.yaml").read_text():
        sys.exit("deploy/helm/piimask/values.yaml is not deploy/install-values.yaml: copy it")
    chart = helm.Chart.load(str(CHART)) if hasattr(helm.Chart, "load") else helm.Chart(str(CHART))
    defaults = yaml.safe_load(chart_values)
    failed = False
    for name in files:
        values = merged(defaults, yaml.safe_load(pathlib.Path(name).read_text()) or {})
        rendered = chart.render(values, name="piimask", namespace=values["namespace"])
        from_chart = sorted((o for text in rendered.values() for o in objects(text)), key=key)
        out = subprocess.run([binary, "install", "--values", name], check=True, capture_output=True, text=True)
        from_install = sorted(objects(out.stdout), key=key)
        if [key(o) for o in from_chart] != [key(o) for o in from_install]:
            failed = True
            print(f"{name}: the chart renders {[key(o) for o in from_chart]}, install {[key(o) for o in from_install]}")
            continue
        for a, b in zip(from_chart, from_install):
            if a != b:
                failed = True
                print(f"{name}: {key(a)} differs:\n chart:   {json.dumps(a, sort_keys=True)}\n install: {json.dumps(b, sort_keys=True)}")
        if not failed:
            print(f"deploy/helm-compare.py: {name}: the chart renders the {len(from_chart)} objects install does")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
