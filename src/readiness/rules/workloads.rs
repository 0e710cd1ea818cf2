//! apps/v1 workloads: Deployment, StatefulSet, DaemonSet, ReplicaSet. The replica arithmetic is
//! kstatus' (same order of checks, same messages); on top, an unready workload looks at its pods
//! (`AssessContext::pods`) to fail on pod-level failures and to say what it is waiting for.

use serde_json::Value;

use super::super::generic::{conditions, int_or, str_at};
use super::super::{Eval, Status};
use super::pod::with_pods;

/// Deployment: Failed on `ProgressDeadlineExceeded`; InProgress until the new ReplicaSet's
/// replicas are all updated, available and ready and the `Available` condition holds.
pub(crate) fn deployment(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    // Without progressDeadlineSeconds the controller never sets Progressing, so it counts as
    // progressing (the API server defaults the field to 600, so normally it is set).
    let mut progressing = obj.pointer("/spec/progressDeadlineSeconds").is_none();
    let mut available = false;
    let conds = conditions(obj);
    for c in &conds {
        match c.type_ {
            "Progressing" => {
                if c.reason == Some("ProgressDeadlineExceeded") {
                    let status = Status::failed(format!(
                        "Progress deadline exceeded: {}",
                        c.explain("ProgressDeadlineExceeded")
                    ));
                    return with_pods_failure_detail(status, ev);
                }
                if c.is_true() && c.reason == Some("NewReplicaSetAvailable") {
                    progressing = true;
                }
            }
            "Available" if c.is_true() => available = true,
            _ => {}
        }
    }
    let spec = int_or(obj, "/spec/replicas", 1);
    let replicas = int_or(obj, "/status/replicas", 0);
    let updated = int_or(obj, "/status/updatedReplicas", 0);
    let ready = int_or(obj, "/status/readyReplicas", 0);
    let avail = int_or(obj, "/status/availableReplicas", 0);
    let own = if spec > replicas {
        Status::in_progress(format!("Replicas: {replicas}/{spec}"))
    } else if spec > updated {
        Status::in_progress(format!("Updated: {updated}/{spec}"))
    } else if replicas > spec {
        Status::in_progress(format!("Pending termination: {}", replicas - spec))
    } else if updated > avail {
        Status::in_progress(format!("Available: {avail}/{updated}"))
    } else if spec > ready {
        Status::in_progress(format!("Ready: {ready}/{spec}"))
    } else if !progressing {
        Status::in_progress("ReplicaSet not Available")
    } else if !available {
        Status::in_progress("Deployment not Available")
    } else {
        return Status::current(format!("Deployment is available. Replicas: {replicas}"));
    };
    // The ReplicaSet cannot create pods (SCC or quota denial): nothing pod-level to show, and
    // only the progress deadline (10 min) would end the wait; fail after the flapping grace.
    if let Some(c) = conds
        .iter()
        .find(|c| c.type_ == "ReplicaFailure" && c.is_true())
    {
        let text = format!(
            "{}; ReplicaFailure: {}",
            own.reason().unwrap_or_default(),
            c.explain("cannot create pods")
        );
        return if ev.grace_over(c.last_transition, ev.ctx.grace.flapping_failure) {
            Status::failed(text)
        } else {
            Status::in_progress(text)
        };
    }
    with_pods(own, ev)
}

/// A Failed workload keeps its own reason; the first stuck pod is added as detail.
fn with_pods_failure_detail(status: Status, ev: &Eval<'_, '_>) -> Status {
    match (status, super::pod::pods_rollup(ev)) {
        (Status::Failed { reason }, Some(pods)) => {
            Status::failed(format!("{reason}; {}", pods.reason().unwrap_or_default()))
        }
        (status, _) => status,
    }
}

/// StatefulSet: `OnDelete` is always Current; a partitioned rollout is done when the pods above
/// the partition are updated; otherwise all replicas current and `currentRevision ==
/// updateRevision`. The controller sets no conditions, so failures come only from the pods.
pub(crate) fn statefulset(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    if str_at(obj, "/spec/updateStrategy/type") == Some("OnDelete") {
        return Status::current("StatefulSet is using the OnDelete update strategy");
    }
    let spec = int_or(obj, "/spec/replicas", 1);
    let ready = int_or(obj, "/status/readyReplicas", 0);
    let current = int_or(obj, "/status/currentReplicas", 0);
    let updated = int_or(obj, "/status/updatedReplicas", 0);
    let replicas = int_or(obj, "/status/replicas", 0);
    let partition =
        super::super::generic::int_at(obj, "/spec/updateStrategy/rollingUpdate/partition");
    let own = if spec > replicas {
        Status::in_progress(format!("Replicas: {replicas}/{spec}"))
    } else if spec > ready {
        Status::in_progress(format!("Ready: {ready}/{spec}"))
    } else if replicas > spec {
        Status::in_progress(format!("Pending termination: {}", replicas - spec))
    } else if let Some(partition) = partition {
        if updated < spec - partition {
            Status::in_progress(format!(
                "Partition rollout: updated {updated}/{}",
                spec - partition
            ))
        } else {
            return Status::current(format!("Partition rollout complete. updated: {updated}"));
        }
    } else if spec > current {
        Status::in_progress(format!("current: {current}/{spec}"))
    } else if str_at(obj, "/status/currentRevision") != str_at(obj, "/status/updateRevision") {
        Status::in_progress("Waiting for updated revision to match current")
    } else {
        return Status::current(format!(
            "All replicas scheduled as expected. Replicas: {replicas}"
        ));
    };
    with_pods(own, ev)
}

/// DaemonSet: generation and observedGeneration must both be set (checked generically);
/// desired = 0 (e.g. no GPU nodes yet) is Current.
pub(crate) fn daemonset(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    let Some(desired) = super::super::generic::int_at(obj, "/status/desiredNumberScheduled") else {
        return Status::in_progress("Missing .status.desiredNumberScheduled");
    };
    let current = int_or(obj, "/status/currentNumberScheduled", 0);
    let updated = int_or(obj, "/status/updatedNumberScheduled", 0);
    let available = int_or(obj, "/status/numberAvailable", 0);
    let ready = int_or(obj, "/status/numberReady", 0);
    let own = if desired > current {
        Status::in_progress(format!("Current: {current}/{desired}"))
    } else if desired > updated {
        Status::in_progress(format!("Updated: {updated}/{desired}"))
    } else if desired > available {
        Status::in_progress(format!("Available: {available}/{desired}"))
    } else if desired > ready {
        Status::in_progress(format!("Ready: {ready}/{desired}"))
    } else {
        return Status::current(format!(
            "All replicas scheduled as expected. Replicas: {desired}"
        ));
    };
    with_pods(own, ev)
}

/// ReplicaSet: `ReplicaFailure=True` is InProgress (kstatus: "check Pods"), with the condition's
/// message (quota exceeded, forbidden) so the user sees why.
pub(crate) fn replicaset(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    if let Some(c) = conditions(obj)
        .into_iter()
        .find(|c| c.type_ == "ReplicaFailure" && c.is_true())
    {
        return with_pods(
            Status::in_progress(format!(
                "Replica Failure condition. Check Pods ({})",
                c.explain("ReplicaFailure")
            )),
            ev,
        );
    }
    let spec = int_or(obj, "/spec/replicas", 1);
    let replicas = int_or(obj, "/status/replicas", 0);
    let ready = int_or(obj, "/status/readyReplicas", 0);
    let available = int_or(obj, "/status/availableReplicas", 0);
    let labelled = int_or(obj, "/status/fullyLabeledReplicas", 0);
    let own = if spec > labelled {
        Status::in_progress(format!("Labelled: {labelled}/{spec}"))
    } else if spec > available {
        Status::in_progress(format!("Available: {available}/{spec}"))
    } else if spec > ready {
        Status::in_progress(format!("Ready: {ready}/{spec}"))
    } else if replicas > spec {
        Status::in_progress(format!("Pending termination: {}", replicas - spec))
    } else {
        return Status::current(format!("ReplicaSet is available. Replicas: {replicas}"));
    };
    with_pods(own, ev)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::testutil::obj;
    use super::super::super::testutil::{Want, check, ctx_at, now, objs};
    use super::super::super::{AssessContext, assess};

    // kstatus status_compute_test.go TestDeploymentStatus.
    const KSTATUS_DEPLOYMENT: &[(&str, &str, Want)] = &[
        (
            "depNoStatus",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\n  generation: 1\n",
            Want::InProgress("Replicas: 0/1"),
        ),
        (
            "depOK",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  observedGeneration: 1\n  updatedReplicas: 1\n  readyReplicas: 1\n  availableReplicas: 1\n  replicas: 1\n  conditions:\n  - type: Progressing\n    status: \"True\"\n    reason: NewReplicaSetAvailable\n  - type: Available\n    status: \"True\"\n",
            Want::Current(""),
        ),
        (
            "depNotProgressing",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\n  generation: 1\nspec:\n  progressDeadlineSeconds: 45\nstatus:\n  observedGeneration: 1\n  updatedReplicas: 1\n  readyReplicas: 1\n  availableReplicas: 1\n  replicas: 1\n  conditions:\n  - type: Progressing\n    status: \"False\"\n    reason: Some reason\n  - type: Available\n    status: \"True\"\n",
            Want::InProgress("ReplicaSet not Available"),
        ),
        (
            "depNoProgressDeadlineSeconds",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  observedGeneration: 1\n  updatedReplicas: 1\n  readyReplicas: 1\n  availableReplicas: 1\n  replicas: 1\n  conditions:\n  - type: Available\n    status: \"True\"\n",
            Want::Current(""),
        ),
        (
            "depNotAvailable",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  observedGeneration: 1\n  updatedReplicas: 1\n  readyReplicas: 1\n  availableReplicas: 1\n  replicas: 1\n  conditions:\n  - type: Progressing\n    status: \"True\"\n    reason: NewReplicaSetAvailable\n  - type: Available\n    status: \"False\"\n",
            Want::InProgress("Deployment not Available"),
        ),
    ];

    fn dep(spec: i64, replicas: i64, updated: i64, ready: i64, available: i64) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, generation: 2}}\nspec: {{replicas: {spec}, progressDeadlineSeconds: 600}}\nstatus:\n  observedGeneration: 2\n  replicas: {replicas}\n  updatedReplicas: {updated}\n  readyReplicas: {ready}\n  availableReplicas: {available}\n  conditions:\n  - {{type: Progressing, status: 'True', reason: NewReplicaSetAvailable}}\n  - {{type: Available, status: 'True'}}\n"
        )
    }

    #[test]
    fn kstatus_deployment_vectors() {
        check(KSTATUS_DEPLOYMENT, &ctx_at());
    }

    #[test]
    fn deployment_replica_arithmetic() {
        let cases = [
            (
                "less replicas",
                dep(3, 2, 2, 2, 2),
                Want::InProgress("Replicas: 2/3"),
            ),
            (
                "less updated",
                dep(3, 3, 1, 3, 3),
                Want::InProgress("Updated: 1/3"),
            ),
            (
                "extra pods",
                dep(2, 3, 2, 2, 2),
                Want::InProgress("Pending termination: 1"),
            ),
            (
                "less available",
                dep(2, 2, 2, 2, 1),
                Want::InProgress("Available: 1/2"),
            ),
            (
                "less ready",
                dep(2, 2, 2, 1, 2),
                Want::InProgress("Ready: 1/2"),
            ),
            ("all good", dep(2, 2, 2, 2, 2), Want::Current("Replicas: 2")),
            ("scaled to zero", dep(0, 0, 0, 0, 0), Want::Current("")),
        ];
        let owned: Vec<(&str, &str, Want)> =
            cases.iter().map(|(n, y, w)| (*n, y.as_str(), *w)).collect();
        check(&owned, &ctx_at());
    }

    #[test]
    fn deployment_replica_failure() {
        let yaml = |since: &str| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d}}\nspec: {{replicas: 1, progressDeadlineSeconds: 600}}\nstatus:\n  conditions:\n  - {{type: Progressing, status: 'True', reason: NewReplicaSetCreated}}\n  - {{type: ReplicaFailure, status: 'True', reason: FailedCreate, message: 'pods \"d-5f-\" is forbidden: unable to validate against any security context constraint', lastTransitionTime: '{since}'}}\n"
            )
        };
        let old = yaml("2026-01-01T00:00:00Z");
        let fresh = yaml("2026-01-01T00:09:30Z");
        check(
            &[
                (
                    "denied for long",
                    old.as_str(),
                    Want::Failed(
                        "Replicas: 0/1; ReplicaFailure: FailedCreate: pods \"d-5f-\" is forbidden",
                    ),
                ),
                (
                    "denied just now",
                    fresh.as_str(),
                    Want::InProgress("ReplicaFailure: FailedCreate"),
                ),
            ],
            &ctx_at(),
        );
    }

    #[test]
    fn deployment_deadline_and_pods() {
        let deadline = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1, progressDeadlineSeconds: 600}\nstatus:\n  replicas: 1\n  conditions:\n  - {type: Progressing, status: 'False', reason: ProgressDeadlineExceeded, message: ReplicaSet \"d-5f\" has timed out progressing.}\n";
        check(
            &[(
                "deadline",
                deadline,
                Want::Failed(
                    "Progress deadline exceeded: ProgressDeadlineExceeded: ReplicaSet \"d-5f\" has timed out progressing.",
                ),
            )],
            &ctx_at(),
        );

        let pods = objs(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: llama-stack-7c9-abcde, creationTimestamp: '2026-01-01T00:00:00Z'}\n  status:\n    phase: Pending\n    containerStatuses:\n    - name: server\n      state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"quay.io/bad:tag\"'}}\n",
        );
        let ctx = AssessContext::new(now()).with_pods(&pods);
        let unready = dep(1, 1, 1, 0, 0);
        let got = assess(&obj(&unready), &ctx);
        assert_eq!(
            got.reason(),
            Some(
                "Available: 0/1; pod llama-stack-7c9-abcde: ImagePullBackOff: Back-off pulling image \"quay.io/bad:tag\""
            )
        );
        assert!(got.is_failed());
        // A ready Deployment ignores its pods.
        assert!(assess(&obj(&dep(1, 1, 1, 1, 1)), &ctx).is_current());
        let got = assess(&obj(deadline), &ctx);
        assert!(
            got.reason()
                .unwrap()
                .contains("; pod llama-stack-7c9-abcde"),
            "{got:?}"
        );
    }

    // kstatus TestStsStatus, plus partition and revision cases.
    const STATEFULSET: &[(&str, &str, Want)] = &[
        (
            "stsNoStatus",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  generation: 1\n  name: test\n",
            Want::InProgress("Replicas: 0/1"),
        ),
        (
            "stsBadStatus",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  observedGeneration: 1\n  currentReplicas: 1\n",
            Want::InProgress("Replicas: 0/1"),
        ),
        (
            "stsOK",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  generation: 1\n  name: test\nspec:\n  replicas: 4\nstatus:\n  observedGeneration: 1\n  currentReplicas: 4\n  readyReplicas: 4\n  replicas: 4\n",
            Want::Current(""),
        ),
        (
            "stsLessReady",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  generation: 1\n  name: test\nspec:\n  replicas: 4\nstatus:\n  observedGeneration: 1\n  currentReplicas: 4\n  readyReplicas: 2\n  replicas: 4\n",
            Want::InProgress("Ready: 2/4"),
        ),
        (
            "stsLessCurrent",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  generation: 1\n  name: test\nspec:\n  replicas: 4\nstatus:\n  observedGeneration: 1\n  currentReplicas: 2\n  readyReplicas: 4\n  replicas: 4\n",
            Want::InProgress("current: 2/4"),
        ),
        (
            "stsExtraPods",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  generation: 1\n  name: test\nspec:\n  replicas: 4\nstatus:\n  observedGeneration: 1\n  currentReplicas: 4\n  readyReplicas: 4\n  replicas: 8\n",
            Want::InProgress("Pending termination: 4"),
        ),
        (
            "onDelete",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: t}\nspec: {replicas: 4, updateStrategy: {type: OnDelete}}\n",
            Want::Current("OnDelete"),
        ),
        (
            "partition rolling",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: t}\nspec: {replicas: 4, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}}\nstatus: {replicas: 4, readyReplicas: 4, currentReplicas: 4, updatedReplicas: 1}\n",
            Want::InProgress("Partition rollout: updated 1/2"),
        ),
        (
            "partition done",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: t}\nspec: {replicas: 4, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}}\nstatus: {replicas: 4, readyReplicas: 4, currentReplicas: 2, updatedReplicas: 2, currentRevision: a, updateRevision: b}\n",
            Want::Current("Partition rollout complete"),
        ),
        (
            "revision mismatch",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: t}\nspec: {replicas: 1}\nstatus: {replicas: 1, readyReplicas: 1, currentReplicas: 1, currentRevision: t-1, updateRevision: t-2}\n",
            Want::InProgress("updated revision"),
        ),
        (
            "revisions equal",
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: t}\nspec: {replicas: 1}\nstatus: {replicas: 1, readyReplicas: 1, currentReplicas: 1, currentRevision: t-2, updateRevision: t-2}\n",
            Want::Current(""),
        ),
    ];

    #[test]
    fn statefulset_vectors() {
        check(STATEFULSET, &ctx_at());
    }

    // kstatus TestDaemonsetStatus.
    const DAEMONSET: &[(&str, &str, Want)] = &[
        (
            "dsNoStatus",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: test\n  generation: 1\n",
            Want::InProgress("observedGeneration not found"),
        ),
        (
            "dsNoGeneration",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: test\nstatus: {observedGeneration: 1}\n",
            Want::InProgress("metadata.generation not found"),
        ),
        (
            "dsBadStatus",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  observedGeneration: 1\n  currentReplicas: 1\n",
            Want::InProgress("Missing .status.desiredNumberScheduled"),
        ),
        (
            "dsOK",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  desiredNumberScheduled: 4\n  currentNumberScheduled: 4\n  updatedNumberScheduled: 4\n  numberAvailable: 4\n  numberReady: 4\n  observedGeneration: 1\n",
            Want::Current(""),
        ),
        (
            "dsDifferentGeneration",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: test\n  generation: 2\nstatus:\n  desiredNumberScheduled: 4\n  currentNumberScheduled: 4\n  updatedNumberScheduled: 4\n  numberAvailable: 4\n  numberReady: 4\n  observedGeneration: 1\n",
            Want::InProgress("latest observed generation is 1"),
        ),
        (
            "dsLessReady",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  observedGeneration: 1\n  desiredNumberScheduled: 4\n  currentNumberScheduled: 4\n  updatedNumberScheduled: 4\n  numberAvailable: 4\n  numberReady: 2\n",
            Want::InProgress("Ready: 2/4"),
        ),
        (
            "dsLessAvailable",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  observedGeneration: 1\n  desiredNumberScheduled: 4\n  currentNumberScheduled: 4\n  updatedNumberScheduled: 4\n  numberAvailable: 2\n  numberReady: 4\n",
            Want::InProgress("Available: 2/4"),
        ),
        (
            "dsLessCurrent",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: t, generation: 1}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 2, currentNumberScheduled: 1}\n",
            Want::InProgress("Current: 1/2"),
        ),
        (
            "dsNoGpuNodesYet",
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: t, generation: 1}\nstatus: {observedGeneration: 1, desiredNumberScheduled: 0}\n",
            Want::Current(""),
        ),
    ];

    #[test]
    fn daemonset_vectors() {
        check(DAEMONSET, &ctx_at());
    }

    // kstatus TestReplicasetStatus.
    const REPLICASET: &[(&str, &str, Want)] = &[
        (
            "rsNoStatus",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: test\n  generation: 1\n",
            Want::InProgress("Labelled: 0/1"),
        ),
        (
            "rsOK1",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: test\n  generation: 1\nspec:\n  replicas: 2\nstatus:\n  observedGeneration: 1\n  replicas: 2\n  readyReplicas: 2\n  availableReplicas: 2\n  fullyLabeledReplicas: 2\n  conditions:\n  - type: ReplicaFailure\n    status: \"False\"\n",
            Want::Current(""),
        ),
        (
            "rsOK2",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: test\n  generation: 1\nspec:\n  replicas: 2\nstatus:\n  observedGeneration: 1\n  fullyLabeledReplicas: 2\n  replicas: 2\n  readyReplicas: 2\n  availableReplicas: 2\n",
            Want::Current(""),
        ),
        (
            "rsLessReady",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: test\n  generation: 1\nspec:\n  replicas: 4\nstatus:\n  observedGeneration: 1\n  replicas: 4\n  readyReplicas: 2\n  availableReplicas: 4\n  fullyLabeledReplicas: 4\n",
            Want::InProgress("Ready: 2/4"),
        ),
        (
            "rsLessAvailable",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: test\n  generation: 1\nspec:\n  replicas: 4\nstatus:\n  observedGeneration: 1\n  replicas: 4\n  readyReplicas: 4\n  availableReplicas: 2\n  fullyLabeledReplicas: 4\n",
            Want::InProgress("Available: 2/4"),
        ),
        (
            "rsReplicaFailure",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: test\n  generation: 1\nspec:\n  replicas: 4\nstatus:\n  observedGeneration: 1\n  replicas: 4\n  readyReplicas: 4\n  fullyLabeledReplicas: 4\n  availableReplicas: 4\n  conditions:\n  - type: ReplicaFailure\n    status: \"True\"\n    reason: FailedCreate\n    message: 'pods \"x\" is forbidden: exceeded quota'\n",
            Want::InProgress(
                "Replica Failure condition. Check Pods (FailedCreate: pods \"x\" is forbidden: exceeded quota)",
            ),
        ),
        (
            "rsExtraPods",
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: t}\nspec: {replicas: 1}\nstatus: {replicas: 2, readyReplicas: 1, availableReplicas: 1, fullyLabeledReplicas: 1}\n",
            Want::InProgress("Pending termination: 1"),
        ),
    ];

    #[test]
    fn replicaset_vectors() {
        check(REPLICASET, &ctx_at());
    }
}
