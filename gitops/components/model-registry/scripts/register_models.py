"""Registers the demo's models in the Model Registry (run by Job `register-models`).

Each model of models.json gets one registered model, one version and one model artifact
(PVC URI, vLLM format). Idempotent: a model or version that exists is kept, its artifact's
URI corrected if it changed; nothing is ever created twice.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_client import connect  # noqa: E402

MODELS_FILE = Path(os.environ.get("MODELS_FILE", Path(__file__).resolve().parent / "models.json"))


def register(registry, m: dict) -> str:
    """Registers one model; returns what was done."""
    rm = registry.get_registered_model(m["name"])
    mv = registry.get_model_version(m["name"], m["version"]) if rm else None
    if mv is None:
        registry.register_model(
            m["name"],
            m["uri"],
            version=m["version"],
            model_format_name="vLLM",
            model_format_version="1",
            description=m["description"],
            metadata={"source": m["source"], "gpus": m["gpus"]},
        )
        return "registered"
    artifact = registry.get_model_artifact(m["name"], m["version"])
    if artifact is not None and artifact.uri != m["uri"]:
        artifact.uri = m["uri"]
        registry.update(artifact)
        return "kept; artifact URI updated"
    return "already registered; kept"


def main() -> int:
    models = json.loads(MODELS_FILE.read_text())
    registry = connect()
    for m in models:
        done = register(registry, m)
        mv = registry.get_model_version(m["name"], m["version"])
        print(f"{m['name']} version {m['version']}: {done} (version id {mv.id})", flush=True)
    print(f"{len(models)} models in the registry", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
