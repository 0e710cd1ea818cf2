//! The kind-independent part of kstatus: field accessors, conditions, the observedGeneration
//! check, Reconciling/Stalled, the `Ready` condition and the no-status grace. Never looks at a
//! specific kind except DaemonSet's stricter generation rule.

use jiff::Timestamp;
use serde_json::Value;

use super::{Eval, GroupKind, Status, timestamp_at};

/// A string field by JSON pointer.
pub(crate) fn str_at<'v>(obj: &'v Value, pointer: &str) -> Option<&'v str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// An integer field by JSON pointer; anything that is not an integer counts as absent (as
/// kstatus' `GetIntField`).
pub(crate) fn int_at(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// An integer field with a default.
pub(crate) fn int_or(obj: &Value, pointer: &str, default: i64) -> i64 {
    int_at(obj, pointer).unwrap_or(default)
}

/// `metadata.name`, or `?`.
pub(crate) fn name_of(obj: &Value) -> &str {
    str_at(obj, "/metadata/name").unwrap_or("?")
}

/// One entry of a `conditions` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition<'v> {
    pub(crate) type_: &'v str,
    pub(crate) status: &'v str,
    pub(crate) reason: Option<&'v str>,
    pub(crate) message: Option<&'v str>,
    pub(crate) last_transition: Option<Timestamp>,
    pub(crate) observed_generation: Option<i64>,
}

impl Condition<'_> {
    pub(crate) fn is_true(&self) -> bool {
        self.status == "True"
    }

    pub(crate) fn is_false(&self) -> bool {
        self.status == "False"
    }

    /// "reason: message", either part when the other is missing, or the fallback.
    pub(crate) fn explain(&self, fallback: &str) -> String {
        let reason = self.reason.filter(|r| !r.is_empty());
        let message = self.message.map(str::trim).filter(|m| !m.is_empty());
        match (reason, message) {
            (Some(r), Some(m)) => format!("{r}: {m}"),
            (Some(r), None) => r.to_string(),
            (None, Some(m)) => m.to_string(),
            (None, None) => fallback.to_string(),
        }
    }
}

/// The conditions in a list value (skipping malformed entries).
pub(crate) fn conditions_in(list: Option<&Value>) -> Vec<Condition<'_>> {
    let Some(items) = list.and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|c| {
            Some(Condition {
                type_: c.get("type")?.as_str()?,
                status: c.get("status").and_then(Value::as_str).unwrap_or(""),
                reason: c.get("reason").and_then(Value::as_str),
                message: c.get("message").and_then(Value::as_str),
                last_transition: timestamp_at(c, "/lastTransitionTime"),
                observed_generation: c.get("observedGeneration").and_then(Value::as_i64),
            })
        })
        .collect()
}

/// `status.conditions`.
pub(crate) fn conditions(obj: &Value) -> Vec<Condition<'_>> {
    conditions_in(obj.pointer("/status/conditions"))
}

/// The first condition of a type.
pub(crate) fn condition<'v>(conds: &[Condition<'v>], type_: &str) -> Option<Condition<'v>> {
    conds.iter().find(|c| c.type_ == type_).cloned()
}

/// Condition types where True is bad news (`Degraded`, `MemoryPressure`, `ReplicaFailure`, …):
/// False is their healthy state.
pub(crate) fn is_negative(type_: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "Degraded",
        "Failed",
        "Failure",
        "Pressure",
        "Unavailable",
        "Unhealthy",
        "Pending",
        "Remaining",
        "Error",
        "Stalled",
        "Reconciling",
        "Progressing",
        "Updating",
        "Deprecated",
        "Suspended",
    ];
    SUFFIXES.iter().any(|s| type_.ends_with(s))
}

/// The first condition other than `except` that says something is wrong, explained: a positive
/// condition that is False with a reason or message (InferenceService `PredictorReady`, DSC
/// component conditions), or a negative one that is True (`Degraded`). This is what holds the
/// object back.
pub(crate) fn first_problem(conds: &[Condition<'_>], except: &str) -> Option<String> {
    conds
        .iter()
        .filter(|c| c.type_ != except)
        .find(|c| {
            if is_negative(c.type_) {
                c.is_true()
            } else {
                c.is_false()
                    && (c.reason.is_some_and(|r| !r.is_empty())
                        || c.message.is_some_and(|m| !m.trim().is_empty()))
            }
        })
        .map(|c| format!("{}: {}", c.type_, c.explain(c.status)))
}

/// A condition set for an older generation than the object's (condition-level
/// `observedGeneration`, which kstatus ignores).
pub(crate) fn is_stale(obj: &Value, cond: &Condition<'_>) -> bool {
    match (
        cond.observed_generation,
        int_at(obj, "/metadata/generation"),
    ) {
        (Some(seen), Some(generation)) => seen < generation,
        _ => false,
    }
}

/// Step 2: `status.observedGeneration` ≠ `metadata.generation` → InProgress. Lenient when either
/// is missing, except for DaemonSets (their controller always sets both).
pub(crate) fn generation_not_observed(obj: &Value, gk: &GroupKind) -> Option<Status> {
    let generation = int_at(obj, "/metadata/generation");
    let observed = int_at(obj, "/status/observedGeneration");
    let strict = gk.kind == "DaemonSet" && (gk.group == "apps" || gk.group == "extensions");
    match (generation, observed) {
        (Some(g), Some(o)) if g != o => Some(Status::in_progress(format!(
            "{} generation is {g}, but latest observed generation is {o}",
            gk.kind
        ))),
        (None, _) if strict => Some(Status::in_progress(format!(
            "{} metadata.generation not found",
            gk.kind
        ))),
        (Some(_), None) if strict => Some(Status::in_progress(format!(
            "{} status.observedGeneration not found",
            gk.kind
        ))),
        _ => None,
    }
}

/// Step 3: the first `Reconciling=True` (InProgress) or `Stalled=True` (Failed) condition.
pub(crate) fn reconciling_or_stalled(obj: &Value) -> Option<Status> {
    conditions(obj)
        .iter()
        .find_map(|c| match (c.type_, c.is_true()) {
            ("Reconciling", true) => Some(Status::in_progress(c.explain("Reconciling"))),
            ("Stalled", true) => Some(Status::failed(c.explain("Stalled"))),
            _ => None,
        })
}

/// Steps 5–6: the `Ready` condition, else the no-status grace, else Current.
pub(crate) fn fallback(obj: &Value, gk: &GroupKind, ev: &Eval<'_, '_>) -> Status {
    let conds = conditions(obj);
    if let Some(ready) = condition(&conds, "Ready") {
        if is_stale(obj, &ready) {
            return Status::in_progress("Ready condition is from an older generation");
        }
        match ready.status {
            "True" => return Status::current(ready.explain("Ready")),
            "False" | "Unknown" => {
                let why = ready.explain(&format!("Ready={}", ready.status));
                return Status::in_progress(match first_problem(&conds, "Ready") {
                    Some(other) if !why.contains(&other) => format!("{why} ({other})"),
                    _ => why,
                });
            }
            _ => {}
        }
    }
    if has_no_status(obj) && expects_status(gk) && ev.ctx.status_expected != Some(false) {
        let created = timestamp_at(obj, "/metadata/creationTimestamp");
        if !ev.grace_over(created, ev.ctx.grace.no_status) {
            return Status::in_progress("waiting for the controller to report status");
        }
    }
    Status::Current { reason: None }
}

/// `status` absent, null or `{}`.
pub(crate) fn has_no_status(obj: &Value) -> bool {
    match obj.get("status") {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(_) => false,
    }
}

/// Whether a kind without a specific rule is likely to get a status from a controller: custom
/// resources are; built-in API groups (no dot, or `*.k8s.io`) mostly hold plain configuration
/// (RBAC, ConfigMaps, StorageClasses) that never gets one.
fn expects_status(gk: &GroupKind) -> bool {
    gk.group.contains('.') && !gk.group.ends_with(".k8s.io") && gk.group != "k8s.io"
}

/// The generic Terminating reason: the finalizers still holding the object.
pub(crate) fn terminating(obj: &Value) -> Status {
    let finalizers: Vec<&str> = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Status::Terminating {
        reason: (!finalizers.is_empty())
            .then(|| format!("waiting for finalizers: {}", finalizers.join(", "))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::AssessContext;
    use super::super::testutil::{Want, check, ctx_at, now};
    use super::*;

    // kstatus status_compute_test.go TestCRDGenericStatus, TestPDBStatus, TestCronJobStatus.
    const KSTATUS_GENERIC: &[(&str, &str, Want)] = &[
        (
            "crdNoStatus",
            "apiVersion: something/v1\nkind: MyCR\nmetadata:\n  generation: 1\n  name: test\n  namespace: qual\n",
            Want::Current(""),
        ),
        (
            "crdMismatchStatusGeneration",
            "apiVersion: something/v1\nkind: MyCR\nmetadata:\n  name: test\n  namespace: qual\n  generation: 2\nstatus:\n  observedGeneration: 1\n",
            Want::InProgress("generation is 2, but latest observed generation is 1"),
        ),
        (
            "crdReady",
            "apiVersion: something/v1\nkind: MyCR\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  conditions:\n  - type: Ready\n    status: \"True\"\n    message: All looks ok\n    reason: AllOk\n",
            Want::Current(""),
        ),
        (
            "crdNotReady",
            "apiVersion: something/v1\nkind: MyCR\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  observedGeneration: 1\n  conditions:\n  - type: Ready\n    status: \"False\"\n    reason: NotReadyYet\n",
            Want::InProgress("NotReadyYet"),
        ),
        (
            "crdNoCondition",
            "apiVersion: something/v1\nkind: MyCR\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  conditions:\n  - type: SomeCondition\n    status: \"False\"\n",
            Want::Current(""),
        ),
        (
            "pdbNotObserved",
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  generation: 2\n  name: test\nstatus:\n  observedGeneration: 1\n",
            Want::InProgress("latest observed generation is 1"),
        ),
        (
            "pdbObserved",
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  observedGeneration: 1\n",
            Want::Current(""),
        ),
        (
            "cronjobNoStatus",
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: test\n  generation: 1\n",
            Want::Current(""),
        ),
        (
            "cronjobWithStatus",
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: test\n  generation: 1\nstatus:\n",
            Want::Current(""),
        ),
    ];

    #[test]
    fn kstatus_generic_vectors() {
        check(KSTATUS_GENERIC, &ctx_at());
    }

    #[test]
    fn reconciling_stalled_and_ready_details() {
        check(
            &[
                (
                    "reconciling first wins",
                    "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\nstatus:\n  conditions:\n  - {type: Reconciling, status: \"True\", reason: Progressing, message: applying revision 3}\n  - {type: Stalled, status: \"True\", reason: Broken}\n",
                    Want::InProgress("applying revision 3"),
                ),
                (
                    "stalled first wins",
                    "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\nstatus:\n  conditions:\n  - {type: Stalled, status: \"True\", reason: InvalidSpec, message: bad field}\n  - {type: Reconciling, status: \"True\"}\n",
                    Want::Failed("InvalidSpec: bad field"),
                ),
                (
                    "reconciling false is ignored",
                    "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\nstatus:\n  conditions:\n  - {type: Reconciling, status: \"False\"}\n  - {type: Ready, status: \"True\"}\n",
                    Want::Current(""),
                ),
                (
                    "ready unknown",
                    "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\nstatus:\n  conditions:\n  - {type: Ready, status: Unknown}\n",
                    Want::InProgress("Ready=Unknown"),
                ),
                (
                    "ready false names the failing sub-condition",
                    "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\nstatus:\n  conditions:\n  - {type: BackendReady, status: \"False\", reason: NoEndpoints, message: 0 endpoints}\n  - {type: Ready, status: \"False\", reason: NotReady}\n",
                    Want::InProgress("NotReady (BackendReady: NoEndpoints: 0 endpoints)"),
                ),
                (
                    "stale ready condition",
                    "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\n  generation: 3\nstatus:\n  conditions:\n  - {type: Ready, status: \"True\", observedGeneration: 2}\n",
                    Want::InProgress("older generation"),
                ),
                (
                    "status with fields but no conditions is current",
                    "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\n  creationTimestamp: '2026-01-01T00:09:59Z'\nstatus:\n  foo: bar\n",
                    Want::Current(""),
                ),
            ],
            &ctx_at(),
        );
    }

    #[test]
    fn no_status_grace_applies_to_custom_resources_only() {
        let cases: &[(&str, &str, Want)] = &[
            (
                "fresh CR without status",
                "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\n  creationTimestamp: '2026-01-01T00:09:55Z'\n",
                Want::InProgress("waiting for the controller"),
            ),
            (
                "old CR without status",
                "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\n  creationTimestamp: '2026-01-01T00:09:00Z'\n",
                Want::Current(""),
            ),
            (
                "fresh CR with empty status",
                "apiVersion: x.io/v1\nkind: A\nmetadata:\n  name: a\n  creationTimestamp: '2026-01-01T00:09:55Z'\nstatus: {}\n",
                Want::InProgress("waiting for the controller"),
            ),
            (
                "fresh ConfigMap",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  creationTimestamp: '2026-01-01T00:09:59Z'\n",
                Want::Current(""),
            ),
            (
                "fresh ClusterRole",
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: a\n  creationTimestamp: '2026-01-01T00:09:59Z'\n",
                Want::Current(""),
            ),
        ];
        check(cases, &ctx_at());
        let mut ctx = AssessContext::new(now());
        ctx.status_expected = Some(false);
        check(&[(cases[0].0, cases[0].1, Want::Current(""))], &ctx);
    }

    // kstatus util_test.go TestGetIntField / TestGetStringField.
    #[test]
    fn field_accessors_match_kstatus() {
        let obj = super::super::testutil::obj(
            "f1:\n  f2:\n    i32: 32\n    i64: 64\n    float: 64.02\n    big: 9007199254740993\n    text: '7'\nride: dragon\n",
        );
        assert_eq!(int_or(&obj, "/f1/f2/i32", -1), 32);
        assert_eq!(int_or(&obj, "/f1/f2/wrongname", -1), -1);
        assert_eq!(int_or(&obj, "/f1/f2/i64", -1), 64);
        assert_eq!(int_or(&obj, "/f1/f2/float", -1), -1);
        assert_eq!(int_or(&obj, "/f1/f2/text", -1), -1);
        assert_eq!(int_or(&obj, "/f1/f2/big", -1), 9007199254740993);
        assert_eq!(str_at(&obj, "/ride").unwrap_or("horse"), "dragon");
        assert_eq!(str_at(&obj, "/destination").unwrap_or("north"), "north");
    }

    #[test]
    fn condition_accessors() {
        let obj = super::super::testutil::obj(
            "status:\n  conditions:\n  - {type: A, status: \"True\", lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 4}\n  - {status: \"True\"}\n  - {type: B, status: \"False\", message: '  m  '}\n",
        );
        let conds = conditions(&obj);
        assert_eq!(conds.len(), 2);
        assert_eq!(conds[0].observed_generation, Some(4));
        assert!(conds[0].last_transition.is_some());
        assert_eq!(conds[1].explain("x"), "m");
        assert_eq!(first_problem(&conds, "A").unwrap(), "B: m");
        assert_eq!(first_problem(&conds, "B"), None);
        let mcp = super::super::testutil::obj(
            "status:\n  conditions:\n  - {type: RenderDegraded, status: 'False', reason: ''}\n  - {type: Progressing, status: 'False', reason: Done}\n  - {type: Updated, status: 'False'}\n  - {type: NodeDegraded, status: 'True', reason: Drain, message: failed to drain}\n",
        );
        assert_eq!(
            first_problem(&conditions(&mcp), "Updated").unwrap(),
            "NodeDegraded: Drain: failed to drain"
        );
    }
}
