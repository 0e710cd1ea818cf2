"""health_check.sh with a fake curl first on PATH: every endpoint of the stage-3 chain is
checked (one line each, a failure does not stop the others), an HTTP error status counts as a
failure (curl -f), and the script fails when any check failed."""

from __future__ import annotations

import pytest

import fake_bin
from conftest import run_script, script

CHECK = script("acme-agent", "health_check.sh")
NAMES = ["database MCP", "Slack MCP", "Llama Stack", "ACME agent"]

# Like curl: an URL containing a word of FAKE_DOWN answers 503, which fails (exit 22) only with
# -f/--fail; one containing a word of FAKE_UNREACHABLE cannot connect (exit 7).
CURL = """for url; do :; done
for w in $FAKE_UNREACHABLE; do case "$url" in *"$w"*) echo "curl: (7) Failed to connect" >&2; exit 7 ;; esac; done
for w in $FAKE_DOWN; do case "$url" in *"$w"*)
  case " $* " in *" -f"*|*" --fail "*) echo "curl: (22) The requested URL returned error: 503" >&2; exit 22 ;; esac
  exit 0 ;; esac; done
exit 0
"""


@pytest.fixture
def fakes(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_bin.install(bin_dir, "curl", CURL)
    return bin_dir


def check(fakes, down="", unreachable="", **env):
    full = {"PATH": fake_bin.path_with(fakes), "FAKE_DOWN": down, "FAKE_UNREACHABLE": unreachable}
    full.update(env)
    return run_script(CHECK, full)


def test_all_healthy(fakes):
    result = check(fakes)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("(")[0].split(None, 1)[1].strip() for line in lines] == NAMES
    assert all(line.startswith("ok      ") for line in lines)
    calls = fake_bin.calls(fakes, "curl")
    assert len(calls) == 4
    assert all(c.startswith("-fsS -m 10 -o /dev/null http://") for c in calls)


@pytest.mark.parametrize("down, unreachable, failed", [
    ("llama-stack-service", "", "Llama Stack"),
    ("", "database-mcp", "database MCP"),
    ("q/health/ready", "", "ACME agent"),
])
def test_one_failure_fails_the_check_and_the_others_still_run(fakes, down, unreachable, failed):
    result = check(fakes, down=down, unreachable=unreachable)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and len(fake_bin.calls(fakes, "curl")) == 4
    for name, line in zip(NAMES, lines):
        assert line.startswith("FAILED  " if name == failed else "ok      "), line


def test_everything_down(fakes):
    result = check(fakes, down="svc.cluster.local")
    assert result.returncode == 1
    assert all(line.startswith("FAILED") for line in result.stdout.splitlines())


def test_timeout_from_the_environment(fakes):
    result = check(fakes, CHECK_TIMEOUT="3")
    assert result.returncode == 0
    assert all(" -m 3 " in c for c in fake_bin.calls(fakes, "curl"))


@pytest.mark.parametrize("value", ["0", "ten", "-5"])
def test_bad_timeout_is_an_error(fakes, value):
    result = check(fakes, CHECK_TIMEOUT=value)
    assert result.returncode == 1
    assert "CHECK_TIMEOUT" in result.stderr
    assert fake_bin.calls(fakes, "curl") == []


def test_missing_curl_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_script(CHECK, {"PATH": str(empty)})
    assert result.returncode == 1
    assert "curl not found" in result.stderr
