//! Pods: kstatus' phase rules plus the failures kstatus misses (image pulls, bad container
//! config, init-container crash loops) after a grace, and the scheduler's message for pods that
//! cannot be placed. Also the pod roll-up used by workloads and Jobs ("what are my pods stuck
//! on?").

use jiff::Timestamp;
use serde_json::Value;

use super::super::evidence::container_count;
use super::super::generic::{Condition, condition, conditions, name_of, str_at};
use super::super::{Eval, Status, timestamp_at};

/// Waiting reasons that rarely fix themselves: Failed once the pod has been unready for the
/// `pod_failure` grace.
pub(crate) const FAILING_WAIT_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
    "RunContainerError",
];

/// A container stuck in a waiting state, with what it is waiting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stuck {
    pub(crate) container: String,
    pub(crate) init: bool,
    pub(crate) reason: String,
    pub(crate) detail: String,
    /// The container's `restartCount`, if reported.
    pub(crate) restarts: Option<i64>,
}

impl Stuck {
    /// "ImagePullBackOff: Back-off pulling image …"; names the container when the pod has
    /// several (`multi`) and always for init containers ("init container fetch:
    /// CrashLoopBackOff: back-off 40s (last exit: Error, code 1)").
    pub(crate) fn describe(&self, multi: bool) -> String {
        let mut out = String::new();
        if self.init {
            out.push_str(&format!("init container {}: ", self.container));
        } else if multi {
            out.push_str(&format!("container {}: ", self.container));
        }
        out.push_str(&self.reason);
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        out
    }
}

/// Every container of the pod (init containers first) that is waiting, with the reason.
pub(crate) fn waiting_containers(pod: &Value) -> Vec<Stuck> {
    let mut out = Vec::new();
    for (list, init) in [
        ("/status/initContainerStatuses", true),
        ("/status/containerStatuses", false),
    ] {
        let Some(items) = pod.pointer(list).and_then(Value::as_array) else {
            continue;
        };
        for c in items {
            let Some(reason) = str_at(c, "/state/waiting/reason") else {
                continue;
            };
            let mut detail = str_at(c, "/state/waiting/message")
                .map(|m| shorten(m.trim(), 240))
                .unwrap_or_default();
            if let Some(last) = c.pointer("/lastState/terminated") {
                let why = str_at(last, "/reason").unwrap_or("terminated");
                let code = last.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
                let exit = format!("last exit: {why}, code {code}");
                detail = if detail.is_empty() {
                    exit
                } else {
                    format!("{detail} ({exit})")
                };
            }
            out.push(Stuck {
                container: str_at(c, "/name").unwrap_or("?").to_string(),
                init,
                reason: reason.to_string(),
                detail,
                restarts: c.get("restartCount").and_then(Value::as_i64),
            });
        }
    }
    out
}

/// Cut a message to about `max` characters on a char boundary.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

/// When the pod's current unready spell began: the latest of its creation and the last
/// transition of a not-True Ready/ContainersReady/Initialized condition.
fn unready_since(pod: &Value, conds: &[Condition<'_>]) -> Option<Timestamp> {
    let created = timestamp_at(pod, "/metadata/creationTimestamp");
    conds
        .iter()
        .filter(|c| matches!(c.type_, "Ready" | "ContainersReady" | "Initialized") && !c.is_true())
        .filter_map(|c| c.last_transition)
        .chain(created)
        .max()
}

/// The status of one Pod.
pub(crate) fn pod(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    let conds = conditions(obj);
    let phase = str_at(obj, "/status/phase").unwrap_or("");
    match phase {
        "Succeeded" => return Status::current("Pod has completed successfully"),
        "Failed" => return Status::failed(failed_pod_reason(obj)),
        _ => {}
    }
    let ready = condition(&conds, "Ready").is_some_and(|c| c.is_true());
    if phase == "Running" && ready {
        return Status::current("Pod is Ready");
    }
    let waiting = waiting_containers(obj);
    let multi = container_count(obj) > 1;
    if let Some(stuck) = waiting
        .iter()
        .find(|s| FAILING_WAIT_REASONS.contains(&s.reason.as_str()))
    {
        let text = stuck.describe(multi);
        // An unknown restart count does not hold the verdict back.
        let restarted_enough = stuck.reason != "CrashLoopBackOff"
            || stuck
                .restarts
                .is_none_or(|n| n >= i64::from(ev.ctx.grace.crash_restarts));
        // Evaluated first so that a running grace always schedules its re-check.
        let grace_over = ev.grace_over(unready_since(obj, &conds), ev.ctx.grace.pod_failure);
        return if restarted_enough && grace_over {
            Status::failed(text)
        } else {
            Status::in_progress(text)
        };
    }
    if let Some(sched) = condition(&conds, "PodScheduled").filter(|c| c.is_false()) {
        let text = sched.explain("not scheduled");
        if sched.reason == Some("Unschedulable")
            && let Some(grace) = ev.ctx.grace.unschedulable
        {
            let since = sched
                .last_transition
                .or_else(|| timestamp_at(obj, "/metadata/creationTimestamp"));
            if ev.grace_over(since, grace) {
                return Status::failed(text);
            }
        }
        return Status::in_progress(text);
    }
    match phase {
        "" => Status::in_progress("Pod phase not available (not yet observed)"),
        "Running" => Status::in_progress(match waiting.first() {
            Some(stuck) => format!("running, not ready: {}", stuck.describe(multi)),
            None => running_not_ready(obj, &conds),
        }),
        "Pending" => Status::in_progress(match waiting.first() {
            Some(stuck) => format!("pending: {}", stuck.describe(multi)),
            None => "pending".to_string(),
        }),
        other => Status::in_progress(format!("phase {other}")),
    }
}

fn running_not_ready(obj: &Value, conds: &[Condition<'_>]) -> String {
    let not_ready: Vec<&str> = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(false))
                .filter_map(|c| str_at(c, "/name"))
                .collect()
        })
        .unwrap_or_default();
    if !not_ready.is_empty() {
        return format!(
            "Pod is running but is not Ready (containers not ready: {})",
            not_ready.join(", ")
        );
    }
    match condition(conds, "Ready").and_then(|c| c.message.map(str::to_string)) {
        Some(m) if !m.is_empty() => format!("Pod is running but is not Ready ({m})"),
        _ => "Pod is running but is not Ready".to_string(),
    }
}

/// Why a pod ended in phase Failed: the pod's reason/message (Evicted, DeadlineExceeded) or the
/// first container that terminated with a non-zero code.
fn failed_pod_reason(obj: &Value) -> String {
    let reason = str_at(obj, "/status/reason");
    let message = str_at(obj, "/status/message");
    if reason.is_some() || message.is_some() {
        let parts: Vec<&str> = [reason, message].into_iter().flatten().collect();
        return format!("Pod failed: {}", parts.join(": "));
    }
    for list in ["/status/initContainerStatuses", "/status/containerStatuses"] {
        let Some(items) = obj.pointer(list).and_then(Value::as_array) else {
            continue;
        };
        for c in items {
            let Some(t) = c.pointer("/state/terminated") else {
                continue;
            };
            let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
            if code != 0 {
                return format!(
                    "Pod failed: container {} exited with code {code} ({})",
                    str_at(c, "/name").unwrap_or("?"),
                    str_at(t, "/reason").unwrap_or("Error")
                );
            }
        }
    }
    "Pod has completed, but not successfully".to_string()
}

/// The pods of a workload that is not ready yet: Failed if one of them is past its failure
/// grace, otherwise what the first unready pod is waiting for. Terminating pods and pods that
/// already finished are skipped (the workload replaces them).
pub(crate) fn pods_rollup(ev: &Eval<'_, '_>) -> Option<Status> {
    let mut first_waiting = None;
    for p in ev.ctx.pods {
        if p.pointer("/metadata/deletionTimestamp")
            .is_some_and(|v| !v.is_null())
        {
            continue;
        }
        if matches!(str_at(p, "/status/phase"), Some("Succeeded" | "Failed")) {
            continue;
        }
        match pod(p, ev) {
            Status::Failed { reason } => {
                return Some(Status::failed(format!("pod {}: {reason}", name_of(p))));
            }
            Status::InProgress { reason } if first_waiting.is_none() => {
                first_waiting = Some(format!("pod {}: {reason}", name_of(p)));
            }
            _ => {}
        }
    }
    first_waiting.map(Status::in_progress)
}

/// Combine a workload's own InProgress verdict with its pods: pod failures win, pod waiting
/// reasons are appended.
pub(crate) fn with_pods(own: Status, ev: &Eval<'_, '_>) -> Status {
    let Status::InProgress { reason } = own else {
        return own;
    };
    match pods_rollup(ev) {
        Some(Status::Failed { reason: pod_reason }) => {
            Status::failed(format!("{reason}; {pod_reason}"))
        }
        Some(Status::InProgress { reason: pod_reason }) => {
            Status::in_progress(format!("{reason}; {pod_reason}"))
        }
        _ => Status::InProgress { reason },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::super::super::testutil::{Want, check, ctx_at};
    use super::super::super::{AssessContext, Graces};
    use super::*;

    // kstatus status_compute_test.go TestPodStatus (deviations marked).
    const KSTATUS_POD: &[(&str, &str, Want)] = &[
        (
            "podNoStatus",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  generation: 1\n  name: test\n",
            Want::InProgress("not yet observed"),
        ),
        (
            "podReady",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  generation: 1\n  name: test\n  namespace: qual\nstatus:\n  conditions:\n  - type: Ready\n    status: \"True\"\n  phase: Running\n",
            Want::Current(""),
        ),
        (
            "podCompletedSuccessfully",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  phase: Succeeded\n  conditions:\n  - type: Ready\n    status: \"False\"\n    reason: PodCompleted\n",
            Want::Current(""),
        ),
        (
            // Deviation: kstatus says Current ("completed, but not successfully").
            "podCompletedFailed",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  phase: Failed\n  conditions:\n  - type: Ready\n    status: \"False\"\n    reason: PodCompleted\n",
            Want::Failed("not successfully"),
        ),
        (
            "podBeingScheduled",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  creationTimestamp: '2026-01-01T00:10:00Z'\n  generation: 1\n  name: test\nstatus:\n  phase: Pending\n  conditions:\n  - type: PodScheduled\n    status: \"False\"\n    reason: Unschedulable\n",
            Want::InProgress("Unschedulable"),
        ),
        (
            // Deviation by default: Unschedulable stays InProgress (GPU nodes may be coming);
            // `Graces::unschedulable` restores kstatus' Failed (see below).
            "podUnschedulable",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  phase: Pending\n  conditions:\n  - type: PodScheduled\n    status: \"False\"\n    reason: Unschedulable\n",
            Want::InProgress("Unschedulable"),
        ),
        (
            "podCrashLooping",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  phase: Running\n  conditions:\n  - type: PodScheduled\n    status: \"False\"\n    reason: Unschedulable\n  containerStatuses:\n  - name: nginx\n    state:\n      waiting:\n        reason: CrashLoopBackOff\n",
            Want::Failed("CrashLoopBackOff"),
        ),
    ];

    #[test]
    fn kstatus_pod_vectors() {
        check(KSTATUS_POD, &ctx_at());
    }

    #[test]
    fn unschedulable_grace_restores_kstatus_failure() {
        let ctx = ctx_at().with_grace(Graces {
            unschedulable: Some(Duration::from_secs(15)),
            ..Graces::default()
        });
        check(
            &[
                (
                    KSTATUS_POD[5].0,
                    KSTATUS_POD[5].1,
                    Want::Failed("Unschedulable"),
                ),
                (
                    KSTATUS_POD[4].0,
                    KSTATUS_POD[4].1,
                    Want::InProgress("Unschedulable"),
                ),
            ],
            &ctx,
        );
    }

    fn waiting_pod(created: &str, init: bool, reason: &str, message: &str) -> String {
        let list = if init {
            "initContainerStatuses"
        } else {
            "containerStatuses"
        };
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: download-mistral-24b-x7k2\n  creationTimestamp: '{created}'\nstatus:\n  phase: Pending\n  conditions:\n  - {{type: PodScheduled, status: 'True'}}\n  {list}:\n  - name: main\n    ready: false\n    state:\n      waiting:\n        reason: {reason}\n        message: '{message}'\n"
        )
    }

    #[test]
    fn failing_waits_fail_after_the_grace() {
        let old = "2026-01-01T00:08:00Z";
        let fresh = "2026-01-01T00:09:40Z";
        let img = "Back-off pulling image \"quay.io/x/y:1\"";
        let cases = [
            (
                "image pull backoff, old",
                waiting_pod(old, false, "ImagePullBackOff", img),
                Want::Failed("ImagePullBackOff: Back-off pulling image \"quay.io/x/y:1\""),
            ),
            (
                "image pull backoff, fresh",
                waiting_pod(fresh, false, "ImagePullBackOff", img),
                Want::InProgress("ImagePullBackOff"),
            ),
            (
                "err image pull, old",
                waiting_pod(old, false, "ErrImagePull", "not found"),
                Want::Failed("ErrImagePull: not found"),
            ),
            (
                "config error, old",
                waiting_pod(
                    old,
                    false,
                    "CreateContainerConfigError",
                    "secret \"hf-token\" not found",
                ),
                Want::Failed("secret \"hf-token\" not found"),
            ),
            (
                "invalid image name, old",
                waiting_pod(old, false, "InvalidImageName", "bad"),
                Want::Failed("InvalidImageName"),
            ),
            (
                "init crash loop, old",
                waiting_pod(old, true, "CrashLoopBackOff", "back-off 5m0s"),
                Want::Failed("init container main: CrashLoopBackOff"),
            ),
            (
                "init crash loop, fresh",
                waiting_pod(fresh, true, "CrashLoopBackOff", "back-off 10s"),
                Want::InProgress("init container main: CrashLoopBackOff"),
            ),
            (
                "container creating is fine",
                waiting_pod(old, false, "ContainerCreating", ""),
                Want::InProgress("pending: ContainerCreating"),
            ),
            (
                "pod initializing is fine",
                waiting_pod(old, false, "PodInitializing", ""),
                Want::InProgress("PodInitializing"),
            ),
        ];
        let owned: Vec<(&str, &str, Want)> =
            cases.iter().map(|(n, y, w)| (*n, y.as_str(), *w)).collect();
        check(&owned, &ctx_at());
    }

    #[test]
    fn crash_loops_need_a_few_restarts() {
        let pod = |restarts: u32| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: vllm, creationTimestamp: '2026-01-01T00:00:00Z'}}\nstatus:\n  phase: Running\n  containerStatuses:\n  - name: server\n    ready: false\n    restartCount: {restarts}\n    lastState: {{terminated: {{reason: Error, exitCode: 1}}}}\n    state: {{waiting: {{reason: CrashLoopBackOff, message: back-off 10s}}}}\n"
            )
        };
        let (one, three) = (pod(1), pod(3));
        check(
            &[
                (
                    "one crash after a long load",
                    one.as_str(),
                    Want::InProgress("CrashLoopBackOff"),
                ),
                (
                    "third restart",
                    three.as_str(),
                    Want::Failed("CrashLoopBackOff: back-off 10s (last exit: Error, code 1)"),
                ),
            ],
            &ctx_at(),
        );
    }

    #[test]
    fn grace_counts_from_the_last_unready_transition() {
        // Created long ago, but it crashed 20 s ago: still inside the grace.
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  creationTimestamp: '2025-12-01T00:00:00Z'\nstatus:\n  phase: Running\n  conditions:\n  - {type: Ready, status: 'False', lastTransitionTime: '2026-01-01T00:09:40Z'}\n  containerStatuses:\n  - name: server\n    ready: false\n    lastState:\n      terminated: {reason: OOMKilled, exitCode: 137}\n    state:\n      waiting: {reason: CrashLoopBackOff, message: back-off 10s restarting failed container}\n";
        check(
            &[(
                "recent crash",
                yaml,
                Want::InProgress("(last exit: OOMKilled, code 137)"),
            )],
            &ctx_at(),
        );
    }

    #[test]
    fn scheduler_message_and_other_pending_states() {
        check(
            &[
                (
                    "insufficient gpu",
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  creationTimestamp: '2026-01-01T00:00:00Z'\nstatus:\n  phase: Pending\n  conditions:\n  - type: PodScheduled\n    status: 'False'\n    reason: Unschedulable\n    message: '0/6 nodes are available: 6 Insufficient nvidia.com/gpu.'\n",
                    Want::InProgress(
                        "Unschedulable: 0/6 nodes are available: 6 Insufficient nvidia.com/gpu.",
                    ),
                ),
                (
                    "running not ready names containers",
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nstatus:\n  phase: Running\n  conditions:\n  - {type: Ready, status: 'False'}\n  containerStatuses:\n  - {name: a, ready: true, state: {running: {}}}\n  - {name: b, ready: false, state: {running: {}}}\n",
                    Want::InProgress("containers not ready: b"),
                ),
                (
                    "evicted",
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nstatus:\n  phase: Failed\n  reason: Evicted\n  message: 'The node was low on resource: memory.'\n",
                    Want::Failed("Pod failed: Evicted: The node was low on resource: memory."),
                ),
                (
                    "failed with exit code",
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nstatus:\n  phase: Failed\n  containerStatuses:\n  - name: bench\n    state:\n      terminated: {exitCode: 2, reason: Error}\n",
                    Want::Failed("container bench exited with code 2 (Error)"),
                ),
                (
                    "unknown phase",
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nstatus:\n  phase: Unknown\n",
                    Want::InProgress("phase Unknown"),
                ),
            ],
            &ctx_at(),
        );
    }

    #[test]
    fn rollup_prefers_failures_and_skips_finished_pods() {
        let pods = super::super::super::testutil::objs(
            "- {apiVersion: v1, kind: Pod, metadata: {name: done}, status: {phase: Succeeded}}\n- {apiVersion: v1, kind: Pod, metadata: {name: gone, deletionTimestamp: '2026-01-01T00:00:00Z'}, status: {phase: Pending}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: waiting, creationTimestamp: '2026-01-01T00:00:00Z'}\n  status: {phase: Pending, conditions: [{type: PodScheduled, status: 'False', reason: Unschedulable, message: 0/3 nodes}]}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: broken, creationTimestamp: '2026-01-01T00:00:00Z'}\n  status: {phase: Pending, containerStatuses: [{name: c, state: {waiting: {reason: ErrImagePull}}}]}\n",
        );
        let ctx = AssessContext::new(super::super::super::testutil::now()).with_pods(&pods);
        let ev = Eval::new(&ctx);
        assert_eq!(
            pods_rollup(&ev),
            Some(Status::failed("pod broken: ErrImagePull"))
        );
        let only_waiting = &pods[..3];
        let ctx = AssessContext::new(super::super::super::testutil::now()).with_pods(only_waiting);
        let ev = Eval::new(&ctx);
        assert_eq!(
            with_pods(Status::in_progress("Ready: 0/1"), &ev),
            Status::in_progress("Ready: 0/1; pod waiting: Unschedulable: 0/3 nodes")
        );
        assert_eq!(shorten("abcdef", 3), "abc…");
    }
}
