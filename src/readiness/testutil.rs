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

/// Arbitrary JSON, biased towards the shapes status fields have (strings like "True", small
/// integers, timestamps, nested objects and lists).
pub(crate) fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..5).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("True"),
            Just("False"),
            Just("Unknown"),
            Just("Ready"),
            Just("Running"),
            Just("Pending"),
            Just("Failed"),
            Just("CrashLoopBackOff"),
            Just(""),
            Just("2026-01-01T00:00:00Z"),
            Just("not a time"),
            Just("LoadBalancer"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("type"),
            Just("status"),
            Just("reason"),
            Just("message"),
            Just("phase"),
            Just("state"),
            Just("conditions"),
            Just("replicas"),
            Just("readyReplicas"),
            Just("containerStatuses"),
            Just("initContainerStatuses"),
            Just("waiting"),
            Just("lastState"),
            Just("terminated"),
            Just("ingress"),
            Just("url"),
            Just("lastTransitionTime"),
            Just("observedGeneration"),
            Just("name"),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.prop_map(str::to_string), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
