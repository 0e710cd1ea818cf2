"""load_schema.sh with fake pg_isready/psql first on PATH: it waits until PostgreSQL is ready,
loads init-schema.sql with ON_ERROR_STOP, and succeeds only when `equipment` has rows; a
missing or bad setting stops it before it connects."""

from __future__ import annotations

import pytest

import fake_bin
from conftest import run_script, script

LOADER = script("postgresql", "load_schema.sh")
SCHEMA = script("postgresql", "init-schema.sql")

# pg_isready: not ready (exit 2) for the first FAKE_NOT_READY calls. psql: `-f` loads (exit
# FAKE_LOAD_RC), `-tAc` prints FAKE_COUNT; real psql reads PGUSER etc. from the environment.
PG_ISREADY = """n=$(cat "$FAKE_DIR/ready.n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/ready.n"
[ "$n" -gt "${FAKE_NOT_READY:-0}" ] || exit 2
"""
PSQL = """[ -n "$PGUSER" ] && [ -n "$PGPASSWORD" ] && [ -n "$PGDATABASE" ] || { echo "psql: no credentials" >&2; exit 2; }
case " $* " in *" -f "*) exit "${FAKE_LOAD_RC:-0}" ;; esac
case " $* " in *" -tAc "*) printf '%s\\n' "$FAKE_COUNT"; exit 0 ;; esac
exit 3
"""
CREDS = {"PGDATABASE": "acme", "PGUSER": "acme", "PGPASSWORD": "s3cret"}


@pytest.fixture
def fakes(tmp_path):
    bin_dir = tmp_path / "bin"
    fake_bin.install(bin_dir, "pg_isready", PG_ISREADY)
    fake_bin.install(bin_dir, "psql", PSQL)
    return bin_dir


def load(fakes, count="3", not_ready="0", **env):
    full = {"PATH": fake_bin.path_with(fakes), "FAKE_DIR": str(fakes), "FAKE_COUNT": count,
            "FAKE_NOT_READY": not_ready, "WAIT_INTERVAL": "0", **CREDS}
    full.update(env)
    return run_script(LOADER, {k: v for k, v in full.items() if v is not None})


def test_waits_for_postgresql_then_loads_and_counts(fakes):
    result = load(fakes, count="3", not_ready="2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("waiting for postgresql at postgresql:5432") == 2
    assert fake_bin.calls(fakes, "pg_isready") == ["-h postgresql -p 5432 -q"] * 3
    assert fake_bin.calls(fakes, "psql") == [
        f"-v ON_ERROR_STOP=1 -h postgresql -p 5432 -f {SCHEMA.parent}/init-schema.sql",
        "-v ON_ERROR_STOP=1 -h postgresql -p 5432 -tAc SELECT COUNT(*) FROM equipment",
    ]
    assert result.stdout.splitlines()[-1] == "equipment rows: 3"
    assert "s3cret" not in result.stdout + result.stderr


def test_host_and_port_come_from_the_environment(fakes):
    result = load(fakes, PGHOST="db.example", PGPORT="5433")
    assert result.returncode == 0, result.stderr
    assert fake_bin.calls(fakes, "pg_isready") == ["-h db.example -p 5433 -q"]


@pytest.mark.parametrize("count", ["0", "", "ERROR:  relation \"equipment\" does not exist"])
def test_fails_when_equipment_has_no_rows(fakes, count):
    result = load(fakes, count=count)
    assert result.returncode != 0
    assert "equipment" in result.stderr


def test_fails_when_loading_fails_and_counts_nothing(fakes):
    result = load(fakes, FAKE_LOAD_RC="3")
    assert result.returncode != 0
    assert "loading" in result.stderr and "psql exit 3" in result.stderr
    assert len(fake_bin.calls(fakes, "psql")) == 1


def test_gives_up_when_postgresql_never_gets_ready(fakes):
    result = load(fakes, not_ready="99", WAIT_ATTEMPTS="3")
    assert result.returncode != 0
    assert "not ready after 3 attempts" in result.stderr
    assert len(fake_bin.calls(fakes, "pg_isready")) == 3
    assert fake_bin.calls(fakes, "psql") == []


@pytest.mark.parametrize("var", ["PGDATABASE", "PGUSER", "PGPASSWORD"])
@pytest.mark.parametrize("value", [None, ""])
def test_missing_credentials_are_an_error(fakes, var, value):
    result = load(fakes, **{var: value})
    assert result.returncode != 0
    assert var in result.stderr and "postgresql-credentials" in result.stderr
    assert fake_bin.calls(fakes, "pg_isready") == []


@pytest.mark.parametrize("env, named", [
    ({"PGPORT": "five"}, "PGPORT"),
    ({"PGPORT": "70000"}, "PGPORT"),
    ({"WAIT_INTERVAL": "soon"}, "WAIT_INTERVAL"),
    ({"WAIT_ATTEMPTS": "0"}, "WAIT_ATTEMPTS"),
    ({"SCHEMA_FILE": "/nonexistent/init-schema.sql"}, "SCHEMA_FILE"),
])
def test_bad_settings_are_an_error(fakes, env, named):
    result = load(fakes, **env)
    assert result.returncode != 0
    assert named in result.stderr
    assert fake_bin.calls(fakes, "pg_isready") == []
