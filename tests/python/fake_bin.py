"""Fake executables for the shell scripts' tests: small sh scripts put first on PATH, logging
their arguments to `<dir>/<name>.log` and answering as the environment (FAKE_*) says."""

from __future__ import annotations

import os
from pathlib import Path


def install(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    f = bin_dir / name
    f.write_text(f'#!/bin/sh\necho "$*" >> "{bin_dir}/{name}.log"\n{body}')
    f.chmod(0o755)


def calls(bin_dir: Path, name: str) -> list[str]:
    log = bin_dir / f"{name}.log"
    return log.read_text().splitlines() if log.exists() else []


def path_with(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
