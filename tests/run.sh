#!/usr/bin/env bash
# The project's one test command (README, .ci/run): the tests of the scripts the cluster runs
# (pytest in a venv made from tests/python/requirements.txt), then the Rust suite.
# Needs the Rust toolchain and python3 (>= 3.10); see tests/python/run.sh for what it installs.
# Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The fidelity cases (tests/fidelity/) drive curl and jq beside kubectl.
if command -v kubectl >/dev/null && ! { command -v curl >/dev/null && command -v jq >/dev/null; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "tests: installing curl and jq with apt-get (for tests/fidelity)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl jq >/dev/null
  else
    echo "tests: tests/fidelity needs curl and jq (Debian: sudo apt-get install curl jq)" >&2
  fi
fi
bash tests/python/run.sh
cargo test --locked "$@"
