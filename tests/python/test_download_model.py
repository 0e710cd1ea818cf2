"""download_model.py against a local hub: the files land, progress lines follow the contract
shared with democtl and the simulated cluster, and a second run downloads nothing."""

from __future__ import annotations

import json

from conftest import run_script, script
from hf_stub import HubStub

REPO = "RedHatAI/tiny-model"
FILES = {
    "config.json": b'{"model_type": "mistral"}',
    "model-00001-of-00002.safetensors": b"\x01" * 3000,
    "model-00002-of-00002.safetensors": b"\x02" * 2000,
    "tokenizer.json": b"{}",
    "README.md": b"# not downloaded",
}
WANTED = {k: v for k, v in FILES.items() if k != "README.md"}
PROGRESS_KEYS = {"democtl", "file", "file_bytes", "file_total", "bytes_done", "bytes_total", "files_done", "files_total"}


def download(hub: HubStub, target, token: str = "hf_secret"):
    env = {"MODEL": REPO, "TARGET": str(target), "HF_TOKEN": token, "HF_ENDPOINT": hub.url,
           "HF_HOME": str(target.parent / "hf-home"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    return run_script(script("model-loader", "download_model.py"), env)


def contract_lines(stdout: str) -> list[dict]:
    out = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            if doc.get("democtl"):
                out.append(doc)
    return out


def test_downloads_the_model_files_with_progress_lines(tmp_path):
    target = tmp_path / "models" / "tiny"
    with HubStub(REPO, FILES, token="hf_secret") as hub:
        result = download(hub, target)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, data in WANTED.items():
        assert (target / name).read_bytes() == data
    assert not (target / "README.md").exists()
    lines = contract_lines(result.stdout)
    progress = [d for d in lines if d["democtl"] == "progress"]
    assert all(set(d) == PROGRESS_KEYS for d in progress)
    total = sum(len(v) for v in WANTED.values())
    assert {d["bytes_total"] for d in progress} == {total}
    assert {d["files_total"] for d in progress} == {len(WANTED)}
    done_counts = [d["bytes_done"] for d in progress]
    assert done_counts == sorted(done_counts) and done_counts[-1] == total
    assert progress[-1]["files_done"] == len(WANTED)
    assert lines[-1] == {"democtl": "done", "bytes_total": total, "files_total": len(WANTED)}
    assert "hf_secret" not in result.stdout + result.stderr


def test_a_second_run_keeps_the_complete_copy(tmp_path):
    target = tmp_path / "models" / "tiny"
    with HubStub(REPO, FILES) as hub:
        assert download(hub, target).returncode == 0
        hub.fetched.clear()
        again = download(hub, target)
    assert again.returncode == 0, again.stderr
    assert hub.fetched == []
    assert "already present" in again.stdout
    assert contract_lines(again.stdout)[-1]["democtl"] == "done"


def test_a_refused_token_fails_with_a_hint(tmp_path):
    with HubStub(REPO, FILES, token="hf_secret") as hub:
        result = download(hub, tmp_path / "t", token="hf_wrong")
    assert result.returncode == 2
    assert "token is missing or invalid" in result.stderr
