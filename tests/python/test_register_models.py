"""register_models.py against a Model Registry held to its OpenAPI contract (mr_stub)."""

from __future__ import annotations

import json

import pytest

from conftest import COMPONENTS, run_script, script
from mr_stub import Stub

MODELS = json.loads((COMPONENTS / "model-registry" / "scripts" / "models.json").read_text()) if (
    COMPONENTS / "model-registry" / "scripts" / "models.json"
).is_file() else [
    {"name": "mistral-24b-quantized", "version": "w4a16", "description": "INT4", "uri": "pvc://a/b",
     "source": "RedHatAI/x", "gpus": "1"},
    {"name": "mistral-24b", "version": "bf16", "description": "full", "uri": "pvc://c/d",
     "source": "mistralai/y", "gpus": "4"},
]


def register(mr: Stub, token_file) -> "subprocess.CompletedProcess":
    env = {
        "REGISTRY_URL": mr.url,
        "TOKEN_FILE": str(token_file),
        "MODELS": json.dumps(MODELS),
    }
    return run_script(script("model-registry", "register_models.py"), env)


def test_registers_every_model_with_one_version_and_its_artifact(token_file):
    with Stub(token="sa-token-123") as mr:
        result = register(mr, token_file)
        assert result.returncode == 0, result.stdout + result.stderr
        assert mr.violations == []
        for m in MODELS:
            versions = mr.versions_of(m["name"])
            assert [v["name"] for v in versions] == [m["version"]]
            artifacts = mr.artifacts_of(versions[0]["id"])
            assert [a["uri"] for a in artifacts] == [m["uri"]]
            assert artifacts[0]["artifactType"] == "model-artifact"


def test_a_second_run_changes_nothing(token_file):
    with Stub(token="sa-token-123") as mr:
        first = register(mr, token_file)
        assert first.returncode == 0, first.stdout + first.stderr
        before = json.dumps(mr.registry.store.versions, sort_keys=True)
        second = register(mr, token_file)
        assert second.returncode == 0, second.stdout + second.stderr
        assert json.dumps(mr.registry.store.versions, sort_keys=True) == before
        for m in MODELS:
            (v,) = mr.versions_of(m["name"])
            assert len(mr.artifacts_of(v["id"])) == 1
        assert mr.violations == []
