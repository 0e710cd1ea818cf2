#!/bin/sh
# Health of the stage-3 chain, checked from inside the cluster (no egress from the laptop):
# both MCP servers (the database MCP checks PostgreSQL), Llama Stack and the agent report
# healthy. Every endpoint is checked, one line each; exit 1 when any failed (an HTTP error
# status counts: curl -f). Run by Job stage3-health-check from ConfigMap acme-agent-scripts;
# tested by tests/python/test_health_check.py with a fake curl.
# Environment: CHECK_TIMEOUT seconds per request (default 10, also when empty).
# Variables are written $VAR, never with braces (the gitops tree's no-template rule).

timeout=$CHECK_TIMEOUT
[ -n "$timeout" ] || timeout=10
case "$timeout" in
  '' | *[!0-9]* | 0)
    echo "health_check: CHECK_TIMEOUT must be a positive whole number of seconds, got '$timeout'" >&2
    exit 1
    ;;
esac
if ! command -v curl >/dev/null 2>&1; then
  echo "health_check: curl not found on PATH" >&2
  exit 1
fi

failed=0
check() {
  if curl -fsS -m "$timeout" -o /dev/null "$2"; then echo "ok      $1 ($2)"; else echo "FAILED  $1 ($2)"; failed=1; fi
}
check "database MCP" http://database-mcp.private-ai-demo.svc.cluster.local:8080/health
check "Slack MCP" http://slack-mcp.private-ai-demo.svc.cluster.local:8080/health
check "Llama Stack" http://llama-stack-service.private-ai-demo.svc.cluster.local:8321/v1/health
check "ACME agent" http://acme-agent.acme-calibration-ops.svc.cluster.local:8080/q/health/ready
exit $failed
