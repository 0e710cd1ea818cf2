#!/usr/bin/env bash
# Runs the tests of the scripts the cluster runs (gitops/components/*/scripts/) with pytest, in a
# virtual environment made from tests/python/requirements.txt (kept under target/, rebuilt when
# the requirements change). Needs python3 >= 3.10 with the venv module; on Debian/Ubuntu, where
# python3 comes without ensurepip, it installs python3-venv when run as root, else says how.
# Network is needed for the pip install only; the tests themselves run on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="$root/target/python-venv"
reqs="$here/requirements.txt"

if ! command -v "$python" >/dev/null; then
  echo "tests/python: $python not found; install Python 3.10 or later (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "tests/python: $("$python" --version 2>&1) is too old; Python 3.10 or later is needed (set PYTHON=...)" >&2
  exit 1
fi

make_venv() { rm -rf "$venv" && "$python" -m venv "$venv" >/dev/null 2>&1; }

stamp="$venv/.requirements.sha256"
want="$(sha256sum "$reqs" | cut -d' ' -f1)-$("$python" --version 2>&1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! make_venv; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      ver="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      echo "tests/python: python3 has no venv/ensurepip; installing python3-venv with apt-get" >&2
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" >/dev/null 2>&1 ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      make_venv || { echo "tests/python: cannot create a venv with $python even after installing python3-venv" >&2; exit 1; }
    else
      echo "tests/python: '$python -m venv' failed (no venv/ensurepip); install python3-venv (Debian: sudo apt-get install python3-venv) and re-run" >&2
      exit 1
    fi
  fi
  echo "tests/python: installing $(grep -cv '^\s*\(#\|$\)' "$reqs") pinned packages into target/python-venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$reqs"
  echo "$want" > "$stamp"
fi

cd "$here"
export PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=0 HF_HUB_DISABLE_TELEMETRY=1
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@"
