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
# The HTML report's browser test renders it in headless chromium.
bash tests/browser/install.sh
bash tests/python/run.sh
# Most integration tests wait on simulated clusters rather than compute: four at a time keep
# two cores busy (CI has two). `RUST_TEST_THREADS` set by the caller wins.
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-4}
cargo test --locked "$@"
