//! Table-driven test helpers for readiness rules: YAML fixtures in, expected status out.
#![allow(clippy::unwrap_used)]

use jiff::Timestamp;
use serde_json::Value;

use super::{AssessContext, Status, assess};

/// "Now" in every fixture: fixtures date their objects relative to this.
pub(crate) const NOW: &str = "2026-01-01T00:10:00Z";

pub(crate) fn now() -> Timestamp {
    NOW.parse().unwrap()
}

pub(crate) fn ctx_at() -> AssessContext<'static> {
    AssessContext::new(now())
}

/// Parse one YAML document into JSON.
pub(crate) fn obj(yaml: &str) -> Value {
    serde_saphyr::from_str::<Value>(yaml).unwrap_or_else(|e| panic!("bad fixture: {e}\n{yaml}"))
}

/// Parse a YAML list of objects.
pub(crate) fn objs(yaml: &str) -> Vec<Value> {
    match obj(yaml) {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// Expected outcome; the string must occur in the reason (empty = any reason).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Want {
    Current(&'static str),
    InProgress(&'static str),
    Failed(&'static str),
    Terminating(&'static str),
}

pub(crate) fn matches(got: &Status, want: Want) -> bool {
    let (ok, needle) = match (got, want) {
        (Status::Current { .. }, Want::Current(n))
        | (Status::InProgress { .. }, Want::InProgress(n))
        | (Status::Failed { .. }, Want::Failed(n))
        | (Status::Terminating { .. }, Want::Terminating(n)) => (true, n),
        _ => (false, ""),
    };
    ok && (needle.is_empty() || got.reason().unwrap_or("").contains(needle))
}

/// Run a table of `(name, yaml, want)` cases against one context; reports every mismatch.
pub(crate) fn check(cases: &[(&str, &str, Want)], ctx: &AssessContext<'_>) {
    let mut failures = Vec::new();
    for (name, yaml, want) in cases {
        let got = assess(&obj(yaml), ctx);
        if !matches(&got, *want) {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
