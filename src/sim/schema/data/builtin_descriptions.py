#!/usr/bin/env python3
"""Regenerates builtin/descriptions.json: the `description` strings that were stripped from
builtin/*.json, restored from the Kubernetes v1.36.0 OpenAPI definitions that the PyPI package
kubernetes-validate 1.37.0 ships (kubernetes_validate/kubernetes-json-schema/v1.36.0-local/
_definitions.json, generated from kubernetes/kubernetes api/openapi-spec, Apache-2.0).

    pip download --no-deps kubernetes-validate==1.37.0 && unzip kubernetes_validate-1.37.0-*.whl
    python3 builtin_descriptions.py kubernetes_validate/kubernetes-json-schema/v1.36.0-local/_definitions.json

Output: {component: {"": schema description, property: property description}} for every
component of builtin/*.json. Fails if a component or a property set differs from the source.
"""
import glob
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
defs = json.load(open(sys.argv[1]))["$defs"]
out = {}
for path in sorted(glob.glob(os.path.join(here, "builtin", "*_v*.json"))):
    for name, schema in json.load(open(path))["components"]["schemas"].items():
        src = defs[name]
        ours, theirs = set(schema.get("properties") or {}), set(src.get("properties") or {})
        if ours != theirs:
            sys.exit(f"{name}: properties differ: {sorted(ours ^ theirs)}")
        entry = {}
        if "description" in src:
            entry[""] = src["description"]
        for prop, ps in (src.get("properties") or {}).items():
            if "description" in ps:
                entry[prop] = ps["description"]
        if entry:
            out[name] = entry
with open(os.path.join(here, "builtin", "descriptions.json"), "w") as f:
    json.dump(out, f, sort_keys=True, separators=(",", ":"))
    f.write("\n")
print(f"{len(out)} components")
