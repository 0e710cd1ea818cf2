#!/usr/bin/env bash
# The project's one test command (README, .ci/run): the tests of the scripts the cluster runs
# (pytest in a venv made from tests/python/requirements.txt), then the Rust suite.
# Needs the Rust toolchain and python3 (>= 3.10); see tests/python/run.sh for what it installs.
# Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/python/run.sh
cargo test --locked "$@"
