"""Publishes GuideLLM results to the Model Registry (run by Job `publish-benchmarks`).

democtl's benchmark step parses each GuideLLM report and writes one summary per model into
ConfigMap `benchmark-results` (mounted at RESULTS_DIR): {"model": name, "rows": [{"load",
"ttft_p50_ms", "ttft_p95_ms", "itl_p50_ms", "itl_p95_ms", "output_tokens_per_second",
"requests_per_second"}, …], "finished": "<RFC 3339>"}. Each row becomes custom properties of
the model's version (`guidellm.c<load>.<metric>`, numbers), plus `guidellm.finished`: the
registry shows them on the version's page. Re-running replaces the values; nothing else changes.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_client import connect  # noqa: E402

HERE = Path(__file__).resolve().parent
MODELS_FILE = Path(os.environ.get("MODELS_FILE", HERE / "models.json"))
RESULTS_DIR = Path(os.environ.get("RESULTS_DIR", "/results"))
METRICS = ("ttft_p50_ms", "ttft_p95_ms", "itl_p50_ms", "itl_p95_ms", "output_tokens_per_second", "requests_per_second")


def properties(summary: dict) -> dict:
    """The custom properties of one model's results."""
    props: dict = {}
    for row in summary.get("rows", []):
        load = str(row["load"]).replace(" ", "")
        for metric in METRICS:
            value = row.get(metric)
            if isinstance(value, (int, float)):
                props[f"guidellm.c{load}.{metric}"] = round(float(value), 3)
    if summary.get("finished"):
        props["guidellm.finished"] = str(summary["finished"])
    return props


def main() -> int:
    versions = {m["name"]: m["version"] for m in json.loads(MODELS_FILE.read_text())}
    files = sorted(RESULTS_DIR.glob("*.json")) if RESULTS_DIR.is_dir() else []
    if not files:
        print(f"no benchmark results in {RESULTS_DIR}: nothing to publish", flush=True)
        return 0
    registry = connect()
    failed = 0
    for f in files:
        summary = json.loads(f.read_text())
        model = summary["model"]
        if model not in versions:
            print(f"{f.name}: model {model} is not one of the registered models {sorted(versions)}", flush=True)
            failed += 1
            continue
        mv = registry.get_model_version(model, versions[model])
        if mv is None:
            print(f"{model} version {versions[model]} is not registered: run the register-models step first", flush=True)
            failed += 1
            continue
        props = properties(summary)
        mv.custom_properties = {
            **{k: v for k, v in (mv.custom_properties or {}).items() if not k.startswith("guidellm.")},
            **props,
        }
        registry.update(mv)
        print(f"{model} version {versions[model]}: {len(props)} benchmark properties published", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
