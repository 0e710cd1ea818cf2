"""register_models.py and publish_benchmarks.py against a Model Registry held to its OpenAPI
contract (mr_stub)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import COMPONENTS, run_script, script
from mr_stub import Stub

MODELS = json.loads((COMPONENTS / "model-registry" / "scripts" / "models.json").read_text())
TOKEN = "sa-token-123"
# ConfigMap benchmark-results exactly as democtl writes it (src/steps/benchmark.rs checks it).
CONTRACT = json.loads((Path(__file__).parent / "contracts" / "benchmark-results.json").read_text())["configMap"]


def run(mr: Stub, token_file, name: str, **env: str):
    full = {"REGISTRY_URL": mr.url, "TOKEN_FILE": str(token_file), **env}
    result = run_script(script("model-registry", name), full)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_registration_creates_each_model_version_and_artifact_once(token_file):
    with Stub(token=TOKEN) as mr:
        run(mr, token_file, "register_models.py")
        for m in MODELS:
            (version,) = mr.versions_of(m["name"])
            assert version["name"] == m["version"]
            (artifact,) = mr.artifacts_of(version["id"])
            assert artifact["uri"] == m["uri"]
            assert artifact["artifactType"] == "model-artifact"
            assert artifact["modelFormatName"] == "vLLM"
        before = json.dumps([mr.registry.store.versions, mr.registry.store.artifacts], sort_keys=True)
        again = run(mr, token_file, "register_models.py")
        assert "already registered; kept" in again.stdout
        assert json.dumps([mr.registry.store.versions, mr.registry.store.artifacts], sort_keys=True) == before
        assert mr.violations == []


def test_registration_needs_the_token(tmp_path):
    wrong = tmp_path / "token"
    wrong.write_text("not-the-token")
    with Stub(token=TOKEN) as mr:
        result = run_script(
            script("model-registry", "register_models.py"),
            {"REGISTRY_URL": mr.url, "TOKEN_FILE": str(wrong), "CONNECT_ATTEMPTS": "1"},
        )
        assert result.returncode != 0
        assert "not usable after 1 attempts" in result.stderr


def test_benchmark_results_become_custom_properties_of_each_version(token_file, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    rows = [
        {"load": "1", "ttft_p50_ms": 41.5, "ttft_p95_ms": 60.0, "itl_p50_ms": 12.25, "itl_p95_ms": 15.0,
         "output_tokens_per_second": 80.0, "requests_per_second": 0.3},
        {"load": "25", "ttft_p50_ms": 300.0, "ttft_p95_ms": None, "itl_p50_ms": 30.0, "itl_p95_ms": 45.0,
         "output_tokens_per_second": 900.0, "requests_per_second": 3.5},
    ]
    (results / "guidellm-benchmark-quantized.json").write_text(
        json.dumps({"model": "mistral-24b-quantized", "rows": rows, "finished": "2026-12-03T08:00:00Z"}))
    with Stub(token=TOKEN) as mr:
        run(mr, token_file, "register_models.py")
        for _ in range(2):  # publishing twice replaces the values
            out = run(mr, token_file, "publish_benchmarks.py", RESULTS_DIR=str(results))
            assert "mistral-24b-quantized version w4a16: 12 benchmark properties published" in out.stdout
        (version,) = mr.versions_of("mistral-24b-quantized")
        props = version["customProperties"]
        assert props["guidellm.c1.ttft_p50_ms"] == {"metadataType": "MetadataDoubleValue", "double_value": 41.5}
        assert props["guidellm.c25.output_tokens_per_second"]["double_value"] == 900.0
        assert "guidellm.c25.ttft_p95_ms" not in props  # no value, no property
        assert props["guidellm.finished"]["string_value"] == "2026-12-03T08:00:00Z"
        assert props["source"]["string_value"] == "RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16"
        (full,) = mr.versions_of("mistral-24b")
        assert not any(k.startswith("guidellm.") for k in full["customProperties"])
        assert mr.violations == []


def test_publishing_without_results_is_a_clear_no_op(token_file, tmp_path):
    with Stub(token=TOKEN) as mr:
        out = run(mr, token_file, "publish_benchmarks.py", RESULTS_DIR=str(tmp_path / "none"))
        assert "nothing to publish" in out.stdout
        assert mr.requests == []


def mount_config_map(config_map: dict, target: Path) -> Path:
    """A ConfigMap volume as the kubelet writes it: the keys in a timestamped directory,
    `..data` pointing at it, and one symlink per key (`<key> -> ..data/<key>`)."""
    target.mkdir()
    stamp = target / "..2026_12_08_01_00_00.000000001"
    stamp.mkdir()
    for key, value in config_map["data"].items():
        (stamp / key).write_text(value)
    os.symlink(stamp.name, target / "..data")
    for key in config_map["data"]:
        os.symlink(f"..data/{key}", target / key)
    return target


def test_the_benchmark_results_config_map_democtl_writes_is_published(token_file, tmp_path):
    results = mount_config_map(CONTRACT, tmp_path / "results")
    with Stub(token=TOKEN) as mr:
        run(mr, token_file, "register_models.py")
        out = run(mr, token_file, "publish_benchmarks.py", RESULTS_DIR=str(results))
        # one line per key (the `..` entries of the mount are not results)
        assert out.stdout.count("benchmark properties published") == 2, out.stdout
        assert "mistral-24b-quantized version w4a16: 11 benchmark properties published" in out.stdout
        assert "mistral-24b version " in out.stdout
        for job, value in CONTRACT["data"].items():
            summary = json.loads(value)
            (version,) = mr.versions_of(summary["model"])
            props = version["customProperties"]
            assert props["guidellm.finished"]["string_value"] == summary["finished"], job
            for row in summary["rows"]:
                assert props[f"guidellm.c{row['load']}.ttft_p50_ms"]["double_value"] == row["ttft_p50_ms"]
                assert f"guidellm.c{row['load']}.itl_p95_ms" not in props  # null: no property
        assert mr.violations == []
