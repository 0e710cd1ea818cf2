"""Shared fixtures of the scripts' tests: where the scripts live, and running one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "gitops" / "components"


def script(component: str, name: str) -> Path:
    path = COMPONENTS / component / "scripts" / name
    assert path.is_file(), f"missing script {path}"
    return path


def run_script(path: Path, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs a script as the cluster does (its own process, configured by environment)."""
    full = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
    full.update(env)
    cmd = [sys.executable, str(path), *args] if path.suffix == ".py" else ["/bin/sh", str(path), *args]
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    f = tmp_path / "token"
    f.write_text("sa-token-123\n")
    return f
