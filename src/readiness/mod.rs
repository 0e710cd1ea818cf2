//! Readiness rules, kstatus-compatible, plus the rules kstatus lacks (failed Jobs, image pull
//! failures, WaitForFirstConsumer PVCs, OpenShift AI kinds). Pure: takes an object (and related
//! objects as evidence), returns a [`Status`] with a reason. No network, no tokio, no clock: the
//! caller passes `now` in the [`AssessContext`].
//!
//! Order of evaluation for one object (kstatus `Compute`, then democtl's additions):
//! 1. `metadata.deletionTimestamp` → [`Status::Terminating`];
//! 2. `status.observedGeneration` ≠ `metadata.generation` → InProgress;
//! 3. first `Reconciling=True` (InProgress) or `Stalled=True` (Failed) condition;
//! 4. the kind's own rule: core kinds have functions (`rules::workloads`, `batch`, `storage`,
//!    `core`), custom kinds are data (`rules::custom::RULES`);
//! 5. a `Ready` condition (True → Current, otherwise InProgress);
//! 6. no status at all → InProgress for a short grace after creation, then Current;
//!    anything else → Current.
//!
//! An object that is not ready yet is then combined with its pods (`AssessContext::pods`): a
//! pod failing past its grace fails the object, otherwise the first pod's waiting reason is
//! appended. `evidence` turns pods/events/logs into lines for people; `related` tells the caller
//! which pods to list.

pub mod evidence;
mod generic;
pub mod related;
mod rules;

#[cfg(test)]
mod testutil;

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use rules::custom::{
    Act, CONFIGURATION_KINDS, Cond, CondSource, Count, CustomRule, Field, Present, RULES, Step,
    is_configuration_kind, rule_for,
};
pub use rules::storage::{DEFAULT_CLASS_ANNOTATION, SELECTED_NODE_ANNOTATION, binding_mode};

/// Where an object stands. Never a bool: "not ready" must say whether it is coming or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Reconciled and ready.
    Current {
        reason: Option<String>,
    },
    /// Still converging; the reason says on what.
    InProgress {
        reason: String,
    },
    /// Will not converge without a change (Job Failed, ImagePullBackOff past its grace).
    Failed {
        reason: String,
    },
    /// Has a deletionTimestamp.
    Terminating {
        reason: Option<String>,
    },
    NotFound,
}

impl Status {
    /// `Current` with a reason.
    pub fn current(reason: impl Into<String>) -> Self {
        Status::Current {
            reason: Some(reason.into()),
        }
    }

    /// `InProgress` with a reason.
    pub fn in_progress(reason: impl Into<String>) -> Self {
        Status::InProgress {
            reason: reason.into(),
        }
    }

    /// `Failed` with a reason.
    pub fn failed(reason: impl Into<String>) -> Self {
        Status::Failed {
            reason: reason.into(),
        }
    }

    /// True when the object is reconciled and ready.
    pub fn is_current(&self) -> bool {
        matches!(self, Status::Current { .. })
    }

    /// True when the object will not converge without a change.
    pub fn is_failed(&self) -> bool {
        matches!(self, Status::Failed { .. })
    }

    /// True for Current and Failed: a wait for readiness can stop here.
    pub fn is_settled(&self) -> bool {
        self.is_current() || self.is_failed()
    }

    /// Short name of the state (`Current`, `InProgress`, …), as kstatus spells it.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Current { .. } => "Current",
            Status::InProgress { .. } => "InProgress",
            Status::Failed { .. } => "Failed",
            Status::Terminating { .. } => "Terminating",
            Status::NotFound => "NotFound",
        }
    }

    /// The reason text, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Status::Current { reason } | Status::Terminating { reason } => reason.as_deref(),
            Status::InProgress { reason } | Status::Failed { reason } => Some(reason),
            Status::NotFound => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(reason) if !reason.is_empty() => write!(f, "{}: {reason}", self.label()),
            _ => f.write_str(self.label()),
        }
    }
}

/// Grace periods: how long a bad-looking state is tolerated before it counts as Failed (or, for a
/// CR without status, before "no conditions" counts as ready).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graces {
    /// Pod waiting reasons that rarely fix themselves (ImagePullBackOff, ErrImagePull,
    /// CreateContainerConfigError, InvalidImageName, CrashLoopBackOff incl. init containers):
    /// Failed once the pod has been unready this long.
    pub pod_failure: Duration,
    /// CrashLoopBackOff also needs this many restarts before it counts as failing, so a server
    /// that crashed once after a long model load gets another try (kstatus fails on the first).
    pub crash_restarts: u32,
    /// A custom resource without any `status`: InProgress this long after creation, then Current
    /// (kluctl uses 15 s; controllers that never write status must not block forever).
    pub no_status: Duration,
    /// An Unschedulable pod is InProgress with the scheduler's message (GPU nodes may still be
    /// coming); set this to fail after that long instead (kstatus fails after 15 s).
    pub unschedulable: Option<Duration>,
    /// Conditions and phases that operators set and often clear again (Degraded,
    /// CatalogSourcesUnhealthy, CSV phase Failed, Knative Ready=False): Failed only once they have
    /// lasted this long (kapp's "failing for N seconds", carvel-dev/kapp#983).
    pub flapping_failure: Duration,
}

impl Default for Graces {
    fn default() -> Self {
        Graces {
            pod_failure: Duration::from_secs(60),
            crash_restarts: 3,
            no_status: Duration::from_secs(15),
            unschedulable: None,
            flapping_failure: Duration::from_secs(60),
        }
    }
}

/// Everything [`assess`] may use besides the object itself. Related objects are optional
/// evidence: with none, rules fall back to the object's own status.
#[derive(Debug, Clone)]
pub struct AssessContext<'a> {
    /// The time to measure grace periods against (the cluster's clock: for the simulator, its
    /// simulated time).
    pub now: Timestamp,
    /// Grace periods.
    pub grace: Graces,
    /// Pods that belong to the object (the caller selects them: by the workload's selector or the
    /// Job's `job-name` label). Used to fail Deployments/Jobs on pod-level failures and to say
    /// what a workload is waiting for.
    pub pods: &'a [Value],
    /// Events about the object and its pods (core/v1 or events.k8s.io/v1 shape).
    pub events: &'a [Value],
    /// StorageClasses (at least the PVC's class, and the default class if the PVC names none):
    /// a Pending PVC whose class binds `WaitForFirstConsumer` does not block.
    pub storage_classes: &'a [Value],
    /// Whether the kind has a status at all (e.g. from the CRD's status subresource). `Some(false)`
    /// skips the no-status grace; `None` means unknown.
    pub status_expected: Option<bool>,
    /// A `LoadBalancer` Service is InProgress until `status.loadBalancer.ingress` is set (Helm,
    /// Argo CD); false gives kstatus' laxer rule (a cluster IP is enough).
    pub wait_for_load_balancer: bool,
}

impl<'a> AssessContext<'a> {
    /// A context at `now` with default graces and no related objects.
    pub fn new(now: Timestamp) -> Self {
        AssessContext {
            now,
            grace: Graces::default(),
            pods: &[],
            events: &[],
            storage_classes: &[],
            status_expected: None,
            wait_for_load_balancer: true,
        }
    }

    /// The object's pods.
    pub fn with_pods(mut self, pods: &'a [Value]) -> Self {
        self.pods = pods;
        self
    }

    /// Events about the object and its pods.
    pub fn with_events(mut self, events: &'a [Value]) -> Self {
        self.events = events;
        self
    }

    /// StorageClasses known to the caller.
    pub fn with_storage_classes(mut self, classes: &'a [Value]) -> Self {
        self.storage_classes = classes;
        self
    }

    /// Replace the grace periods.
    pub fn with_grace(mut self, grace: Graces) -> Self {
        self.grace = grace;
        self
    }
}

/// The result of [`evaluate`]: the status plus when it may change on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The status now.
    pub status: Status,
    /// A grace period in the verdict ends at this time: re-assess then even if no watch event
    /// arrives (kstatus' watcher schedules the same re-check for unschedulable pods).
    pub recheck_at: Option<Timestamp>,
}

/// Assess one object (a full API object as JSON: `apiVersion`, `kind`, `metadata`, `spec`,
/// `status`). `Value::Null` means the object does not exist → [`Status::NotFound`].
pub fn assess(obj: &Value, ctx: &AssessContext<'_>) -> Status {
    evaluate(obj, ctx).status
}

/// [`assess`], also returning when a grace period in the verdict runs out.
pub fn evaluate(obj: &Value, ctx: &AssessContext<'_>) -> Assessment {
    let eval = Eval::new(ctx);
    let status = compute(obj, &eval);
    Assessment {
        status,
        recheck_at: eval.recheck.get(),
    }
}

fn compute(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    if !obj.is_object() {
        return Status::NotFound;
    }
    let gk = GroupKind::of(obj);
    if obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        return rules::terminating(&gk, obj);
    }
    if let Some(status) = generic::generation_not_observed(obj, &gk) {
        return status;
    }
    if let Some(status) = generic::reconciling_or_stalled(obj) {
        return status;
    }
    if let Some(status) = rules::assess_kind(&gk, obj, ev) {
        return status;
    }
    rules::pod::with_pods(generic::fallback(obj, &gk, ev), ev)
}

/// The status of a set of objects (kstatus `AggregateStatus`, with Current as the desired
/// state): any Failed → the first Failed; else any not Current → the first of those (Terminating
/// and NotFound included, since the set is not ready); else Current. An empty set is Current.
pub fn aggregate<'s>(statuses: impl IntoIterator<Item = &'s Status>) -> Status {
    let mut first_pending: Option<&Status> = None;
    for status in statuses {
        match status {
            Status::Failed { .. } => return status.clone(),
            Status::Current { .. } => {}
            other => {
                first_pending.get_or_insert(other);
            }
        }
    }
    first_pending
        .cloned()
        .unwrap_or(Status::Current { reason: None })
}

/// Group and kind of an object; the API version is ignored (as in kstatus).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupKind {
    pub(crate) group: String,
    pub(crate) kind: String,
}

impl GroupKind {
    pub(crate) fn of(obj: &Value) -> Self {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let group = match api_version.split_once('/') {
            Some((group, _)) => group.to_string(),
            None => String::new(),
        };
        let kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        GroupKind { group, kind }
    }

    pub(crate) fn is(&self, group: &str, kind: &str) -> bool {
        self.group == group && self.kind == kind
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}/{}", self.group, self.kind)
        }
    }
}

/// One evaluation: the context plus the earliest time a grace period in the verdict ends.
pub(crate) struct Eval<'c, 'a> {
    pub(crate) ctx: &'c AssessContext<'a>,
    recheck: Cell<Option<Timestamp>>,
}

impl<'c, 'a> Eval<'c, 'a> {
    pub(crate) fn new(ctx: &'c AssessContext<'a>) -> Self {
        Eval {
            ctx,
            recheck: Cell::new(None),
        }
    }

    /// Whether `grace` has passed since `start`. An unknown start counts as long ago (the state
    /// cannot be dated, so waiting would only delay the verdict). While the grace runs, records
    /// its end as a re-check time.
    pub(crate) fn grace_over(&self, start: Option<Timestamp>, grace: Duration) -> bool {
        let Some(start) = start else {
            return true;
        };
        let Some(end) = jiff::SignedDuration::try_from(grace)
            .ok()
            .and_then(|g| start.checked_add(g).ok())
        else {
            return false;
        };
        if self.ctx.now >= end {
            return true;
        }
        let earliest = match self.recheck.get() {
            Some(t) if t <= end => t,
            _ => end,
        };
        self.recheck.set(Some(earliest));
        false
    }
}

/// Parse an RFC 3339 timestamp field.
pub(crate) fn timestamp_at(obj: &Value, pointer: &str) -> Option<Timestamp> {
    obj.pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::testutil::{Want, check, ctx_at};
    use super::*;

    #[test]
    fn null_is_not_found_and_deletion_is_terminating() {
        let ctx = ctx_at();
        assert_eq!(assess(&Value::Null, &ctx), Status::NotFound);
        check(
            &[
                (
                    "terminating with finalizers",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  deletionTimestamp: '2026-01-01T00:00:00Z'\n  finalizers: [example.com/keep]\n",
                    Want::Terminating("example.com/keep"),
                ),
                (
                    "terminating plain",
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n  deletionTimestamp: '2026-01-01T00:00:00Z'\n",
                    Want::Terminating(""),
                ),
            ],
            &ctx,
        );
    }

    const KINDS: &[(&str, &str)] = &[
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ReplicaSet"),
        ("v1", "Pod"),
        ("batch/v1", "Job"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "Service"),
        ("v1", "Namespace"),
        ("v1", "Node"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ("example.com/v1", "Thing"),
        ("serving.kserve.io/v1beta1", "InferenceService"),
        ("route.openshift.io/v1", "Route"),
        ("operators.coreos.com/v1alpha1", "Subscription"),
        ("kubeflow.org/v1", "Notebook"),
        ("machine.openshift.io/v1beta1", "MachineSet"),
        ("tekton.dev/v1", "PipelineRun"),
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Objects come from the network: no shape of `spec`/`status`/pods may panic.
        #[test]
        fn assess_never_panics(
            kind in 0..KINDS.len(),
            spec in testutil::arb_json(),
            status in testutil::arb_json(),
            pod_status in testutil::arb_json(),
        ) {
            let (api_version, kind) = KINDS[kind];
            let obj = serde_json::json!({
                "apiVersion": api_version, "kind": kind,
                "metadata": {"name": "x", "generation": 1, "creationTimestamp": "2026-01-01T00:09:59Z"},
                "spec": spec, "status": status,
            });
            let pods = vec![serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": pod_status})];
            let events = vec![pod_status_event(&pods[0])];
            let ctx = ctx_at().with_pods(&pods).with_events(&events);
            let _ = evaluate(&obj, &ctx);
            let _ = evidence::lines(&obj, &ctx, 3);
            let _ = related::pod_selector(&obj);
        }
    }

    fn pod_status_event(pod: &Value) -> Value {
        serde_json::json!({"type": "Warning", "reason": pod.pointer("/status/reason"), "message": pod.pointer("/status/message"),
            "involvedObject": {"kind": "Pod", "name": "p"}, "count": pod.pointer("/status/replicas")})
    }

    #[test]
    fn aggregate_prefers_failures_then_pending() {
        let cur = Status::current("ok");
        let wait = Status::in_progress("Ready: 0/1");
        let fail = Status::failed("boom");
        assert_eq!(aggregate([]), Status::Current { reason: None });
        assert_eq!(aggregate([&cur, &cur]), Status::Current { reason: None });
        assert_eq!(aggregate([&cur, &wait, &Status::NotFound]), wait);
        assert_eq!(aggregate([&wait, &fail, &cur]), fail);
        assert_eq!(aggregate([&Status::NotFound, &wait]), Status::NotFound);
    }

    #[test]
    fn display_and_helpers() {
        let s = Status::in_progress("Ready: 1/2");
        assert_eq!(s.to_string(), "InProgress: Ready: 1/2");
        assert!(!s.is_settled());
        assert!(Status::failed("x").is_settled());
        assert_eq!(Status::Current { reason: None }.to_string(), "Current");
        assert_eq!(Status::NotFound.reason(), None);
        let json = serde_json::to_value(Status::failed("boom")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "failed", "reason": "boom"})
        );
    }

    #[test]
    fn recheck_is_reported_while_a_grace_runs() {
        let ctx = ctx_at();
        let pod = testutil::obj(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  creationTimestamp: '2026-01-01T00:09:30Z'\nstatus:\n  phase: Pending\n  containerStatuses:\n  - name: c\n    state:\n      waiting:\n        reason: ImagePullBackOff\n        message: Back-off pulling image \"x\"\n",
        );
        let a = evaluate(&pod, &ctx);
        assert!(
            matches!(a.status, Status::InProgress { .. }),
            "{:?}",
            a.status
        );
        assert_eq!(
            a.recheck_at,
            Some("2026-01-01T00:10:30Z".parse::<Timestamp>().unwrap())
        );
    }
}
