#!/bin/sh
# Loads the ACME equipment schema and sample data (init-schema.sql, idempotent) into PostgreSQL
# once it accepts connections, then checks that table `equipment` has rows. Run by Job
# load-acme-schema from ConfigMap acme-schema (mounted at /schema); tested by
# tests/python/test_load_schema.py with fake pg_isready/psql.
# Environment: PGDATABASE, PGUSER, PGPASSWORD (required; Secret postgresql-credentials),
# PGHOST (default postgresql), PGPORT (default 5432), SCHEMA_FILE (default: init-schema.sql
# beside this script), WAIT_INTERVAL seconds between readiness probes (default 3),
# WAIT_ATTEMPTS probes before giving up (default 100). An empty setting takes the default.
# Variables are written $VAR, never with braces (the gitops tree's no-template rule), so no set -u.
set -e

fail() {
  echo "load_schema: $*" >&2
  exit 1
}
is_number() {
  case "$1" in '' | *[!0-9]*) return 1 ;; esac
}
required() {
  [ -n "$2" ] || fail "$1 is not set or empty; the Job takes it from Secret postgresql-credentials (key $3)"
}

or_default() {
  if [ -n "$1" ]; then printf '%s' "$1"; else printf '%s' "$2"; fi
}

required PGDATABASE "$PGDATABASE" database-name
required PGUSER "$PGUSER" database-user
required PGPASSWORD "$PGPASSWORD" database-password
host=$(or_default "$PGHOST" postgresql)
port=$(or_default "$PGPORT" 5432)
interval=$(or_default "$WAIT_INTERVAL" 3)
attempts=$(or_default "$WAIT_ATTEMPTS" 100)
schema=$(or_default "$SCHEMA_FILE" "$(dirname "$0")/init-schema.sql")
if ! is_number "$port" || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  fail "PGPORT must be a port number (1-65535), got '$port'"
fi
is_number "$interval" || fail "WAIT_INTERVAL must be a whole number of seconds, got '$interval'"
if ! is_number "$attempts" || [ "$attempts" -lt 1 ]; then
  fail "WAIT_ATTEMPTS must be a positive whole number, got '$attempts'"
fi
[ -r "$schema" ] || fail "schema file $schema not found or not readable (SCHEMA_FILE)"
for tool in pg_isready psql; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found on PATH (run it in a PostgreSQL client image)"
done

n=1
until pg_isready -h "$host" -p "$port" -q; do
  [ "$n" -lt "$attempts" ] || fail "postgresql at $host:$port not ready after $attempts attempts"
  echo "waiting for postgresql at $host:$port"
  n=$((n + 1))
  sleep "$interval"
done

echo "loading $schema into database $PGDATABASE at $host:$port"
psql -v ON_ERROR_STOP=1 -h "$host" -p "$port" -f "$schema" || fail "loading $schema failed (psql exit $?)"
count=$(psql -v ON_ERROR_STOP=1 -h "$host" -p "$port" -tAc 'SELECT COUNT(*) FROM equipment') ||
  fail "counting the rows of table equipment failed (psql exit $?)"
count=$(printf '%s' "$count" | tr -d '[:space:]')
is_number "$count" || fail "psql answered '$count' for the row count of table equipment"
echo "equipment rows: $count"
[ "$count" -gt 0 ] || fail "table equipment is empty after loading $schema"
