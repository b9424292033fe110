"""Turns the Kubernetes JSON schemas bundled by PyPI's kubernetes-validate into files kubeconform can read offline.

kubernetes-validate's schemas carry an https `$id` and refer to `/api/_definitions.json`, which its own resolver
maps to the bundled file; a generic validator would resolve that against the `$id` and go to the network. This
drops the `$id`s and makes the references relative, so each schema resolves `_definitions.json` beside it.

Usage: python prepare_schemas.py <out dir> <kubernetes version>...   (e.g. 1.30.0)
"""
import json
import pathlib
import sys

import kubernetes_validate


def localise(node):
    if isinstance(node, dict):
        node.pop("$id", None)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("/api/"):
            node["$ref"] = ref[len("/api/"):]
        for value in node.values():
            localise(value)
    elif isinstance(node, list):
        for value in node:
            localise(value)
    return node


def main(out, versions):
    bundled = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    for version in versions:
        source = bundled / f"v{version}-local-strict"
        if not source.is_dir():
            available = sorted(p.name for p in bundled.iterdir() if p.name.endswith("-local-strict"))
            sys.exit(f"kubernetes-validate has no schemas for Kubernetes {version}; it has {', '.join(available)}")
        target = pathlib.Path(out) / f"v{version}-local-strict"
        target.mkdir(parents=True, exist_ok=True)
        for schema in source.glob("*.json"):
            (target / schema.name).write_text(json.dumps(localise(json.loads(schema.read_text()))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
