#!/usr/bin/env python3
"""Validates the cert-manager objects (Certificate, ClusterIssuer, Issuer)
in the given manifest files against cert-manager's own CRD schemas
(deploy/crds/cert-manager/), strictly: a field the schema does not name is
an error, as kubernetes-validate --strict makes it for the core kinds.
Other kinds are left to kubernetes-validate. Exits 1 on any error; checks
first that it can fail (an unknown field, a missing required one).
"""
import copy
import pathlib
import sys

import jsonschema
import yaml

CRDS = pathlib.Path(__file__).resolve().parent / "crds" / "cert-manager"
# What the API server keeps of an object's metadata for these kinds.
METADATA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "generateName": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "ownerReferences": {"type": "array"},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


def strict(schema):
    """Objects with named properties take no others, unless the schema
    keeps unknown fields on purpose."""
    if isinstance(schema, dict):
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for value in schema:
            strict(value)
    return schema


def schemas():
    found = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
            schema["properties"]["metadata"] = METADATA
            schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
            found[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return found


def errors(validators, obj):
    validator = validators.get((obj.get("apiVersion"), obj.get("kind")))
    if validator is None:
        return [f"{obj.get('apiVersion')} {obj.get('kind')}: no cert-manager schema for it"]
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    ]


def self_test(validators):
    good = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "c", "namespace": "n"},
        "spec": {"secretName": "s", "issuerRef": {"name": "ca", "kind": "ClusterIssuer"}, "dnsNames": ["a"]},
    }
    assert not errors(validators, good), errors(validators, good)
    unknown = copy.deepcopy(good)
    unknown["spec"]["secretname"] = "typo"
    assert errors(validators, unknown), "an unknown field must be refused"
    missing = copy.deepcopy(good)
    del missing["spec"]["secretName"]
    assert errors(validators, missing), "a missing required field must be refused"
    issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "i"},
              "spec": {"ca": {"secretName": "s", "bogus": True}}}
    assert errors(validators, issuer), "an unknown field deep in an issuer must be refused"


def main(files):
    validators = schemas()
    self_test(validators)
    checked, failed = 0, 0
    for name in files:
        for i, obj in enumerate(yaml.safe_load_all(pathlib.Path(name).read_text()), start=1):
            if not isinstance(obj, dict) or not str(obj.get("apiVersion", "")).startswith("cert-manager.io/"):
                continue
            checked += 1
            for e in errors(validators, obj):
                failed += 1
                print(f"ERROR {name} document {i} ({obj.get('kind')} {obj.get('metadata', {}).get('name')}): {e}")
    if failed:
        sys.exit(1)
    print(f"deploy/validate-crds.py: {checked} cert-manager objects valid against cert-manager's CRDs")


if __name__ == "__main__":
    main(sys.argv[1:])
