//! batch/v1 Job with Flux's semantics, not upstream kstatus': a running Job is InProgress
//! (kubernetes-sigs/cli-utils#350), `Failed=True` is Failed at once, `Complete=True` is Current.
//! A Job whose pods cannot start (image pull, bad config, crash-looping init container) never
//! reaches its backoffLimit, so those pod failures fail the Job after the pod grace.

use serde_json::Value;

use super::super::generic::{conditions, int_at, int_or, name_of, str_at};
use super::super::{Eval, Status, timestamp_at};
use super::pod::pods_rollup;

/// The status of one Job.
pub(crate) fn job(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    let parallelism = int_or(obj, "/spec/parallelism", 1);
    let completions = int_at(obj, "/spec/completions").unwrap_or(parallelism);
    let succeeded = int_or(obj, "/status/succeeded", 0);
    let failed = int_or(obj, "/status/failed", 0);
    let active = int_or(obj, "/status/active", 0);
    let conds = conditions(obj);
    for c in &conds {
        if !c.is_true() {
            continue;
        }
        match c.type_ {
            "Complete" => {
                return Status::current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                ));
            }
            // FailureTarget: the controller has decided the Job failed and is terminating pods.
            "Failed" | "FailureTarget" => {
                return Status::failed(format!(
                    "Job failed: {} (succeeded {succeeded}/{completions}, failed {failed})",
                    c.explain("JobFailed")
                ));
            }
            // SuccessCriteriaMet: success is decided; Complete follows once pods are gone.
            "SuccessCriteriaMet" => {
                return Status::current(format!(
                    "Job succeeded: {succeeded}/{completions} (pods terminating)"
                ));
            }
            "Suspended" => return Status::current("Job is suspended"),
            _ => {}
        }
    }
    let own = if obj.pointer("/status/startTime").is_none() {
        Status::in_progress("Job not started")
    } else {
        let mut text =
            format!("Job in progress: succeeded {succeeded}/{completions}, active {active}");
        if failed > 0 {
            let limit = int_or(obj, "/spec/backoffLimit", 6);
            text.push_str(&format!(", failed {failed} (backoffLimit {limit})"));
        }
        Status::in_progress(text)
    };
    match pods_rollup(ev) {
        Some(Status::Failed { reason }) => Status::failed(reason),
        Some(Status::InProgress { reason }) => {
            Status::in_progress(format!("{}; {reason}", own.reason().unwrap_or_default()))
        }
        _ => match last_failed_pod(ev) {
            // Retrying after failures: say why the last attempt failed.
            Some(why) => Status::in_progress(format!(
                "{}; last failure: {why}",
                own.reason().unwrap_or_default()
            )),
            None => own,
        },
    }
}

/// "pod x: container c exited with code 1 (Error)" for the newest failed pod of the Job.
fn last_failed_pod(ev: &Eval<'_, '_>) -> Option<String> {
    let pod = ev
        .ctx
        .pods
        .iter()
        .filter(|p| str_at(p, "/status/phase") == Some("Failed"))
        .max_by_key(|p| timestamp_at(p, "/metadata/creationTimestamp"))?;
    let reason = match super::pod::pod(pod, ev) {
        Status::Failed { reason } => reason,
        other => other.to_string(),
    };
    let reason = reason
        .strip_prefix("Pod failed: ")
        .unwrap_or(&reason)
        .to_string();
    Some(format!("pod {}: {reason}", name_of(pod)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::testutil::{Want, check, ctx_at, now, obj, objs};
    use super::super::super::{AssessContext, assess};

    // kstatus status_compute_test.go TestJobStatus and core_test.go TestSuspendedJobConditions
    // (deviation marked).
    const KSTATUS_JOB: &[(&str, &str, Want)] = &[
        (
            "jobNoStatus",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: test\n  generation: 1\n",
            Want::InProgress("Job not started"),
        ),
        (
            "jobComplete",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  succeeded: 1\n  active: 0\n  conditions:\n  - type: Complete\n    status: \"True\"\n",
            Want::Current("succeeded: 1/1"),
        ),
        (
            "jobFailed",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: test\n  generation: 1\nspec:\n  completions: 4\nstatus:\n  succeeded: 3\n  failed: 1\n  conditions:\n  - type: Failed\n    status: \"True\"\n    reason: JobFailed\n",
            Want::Failed("JobFailed (succeeded 3/4, failed 1)"),
        ),
        (
            // Deviation (Flux semantics): kstatus says Current for a started Job.
            "jobInProgress",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: test\n  generation: 1\nspec:\n  completions: 10\n  parallelism: 2\nstatus:\n  startTime: \"2019-06-04T01:17:13Z\"\n  succeeded: 3\n  failed: 1\n  active: 2\n  conditions:\n  - type: Failed\n    status: \"False\"\n  - type: Complete\n    status: \"False\"\n",
            Want::InProgress("succeeded 3/10, active 2, failed 1 (backoffLimit 6)"),
        ),
        (
            "suspendedJob",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  conditions:\n  - type: Suspended\n    status: \"True\"\n    reason: JobSuspended\n",
            Want::Current("suspended"),
        ),
        (
            "inprogressJob (Suspended=False)",
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: test\n  generation: 1\nstatus:\n  conditions:\n  - type: Suspended\n    status: \"False\"\n    reason: JobSuspended\n",
            Want::InProgress(""),
        ),
    ];

    #[test]
    fn kstatus_job_vectors() {
        check(KSTATUS_JOB, &ctx_at());
    }

    #[test]
    fn job_failure_modes() {
        check(
            &[
                (
                    "backoff limit",
                    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: download-mistral-24b}\nstatus:\n  failed: 4\n  conditions:\n  - {type: Failed, status: 'True', reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}\n",
                    Want::Failed(
                        "Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit",
                    ),
                ),
                (
                    "failure target before Failed",
                    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus:\n  conditions:\n  - {type: FailureTarget, status: 'True', reason: DeadlineExceeded, message: Job was active longer than specified deadline}\n",
                    Want::Failed("DeadlineExceeded"),
                ),
                (
                    "success criteria met",
                    "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {completions: 1}\nstatus:\n  succeeded: 1\n  conditions:\n  - {type: SuccessCriteriaMet, status: 'True'}\n",
                    Want::Current("pods terminating"),
                ),
            ],
            &ctx_at(),
        );
    }

    #[test]
    fn job_pods_fail_or_explain() {
        let running = obj(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: download-mistral-24b}\nstatus: {startTime: '2026-01-01T00:00:00Z', active: 1}\n",
        );
        let pull = objs(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: download-mistral-24b-x7k2, creationTimestamp: '2026-01-01T00:00:00Z'}\n  status:\n    phase: Pending\n    containerStatuses:\n    - name: download\n      state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"quay.io/x/downloader:1\"'}}\n",
        );
        let ctx = AssessContext::new(now()).with_pods(&pull);
        assert_eq!(
            assess(&running, &ctx).to_string(),
            "Failed: pod download-mistral-24b-x7k2: ImagePullBackOff: Back-off pulling image \"quay.io/x/downloader:1\""
        );
        let pending = objs(
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: bench-1, creationTimestamp: '2026-01-01T00:00:00Z'}\n  status:\n    phase: Pending\n    conditions:\n    - {type: PodScheduled, status: 'False', reason: Unschedulable, message: '0/6 nodes are available: 6 Insufficient nvidia.com/gpu.'}\n",
        );
        let ctx = AssessContext::new(now()).with_pods(&pending);
        assert_eq!(
            assess(&running, &ctx).to_string(),
            "InProgress: Job in progress: succeeded 0/1, active 1; pod bench-1: Unschedulable: 0/6 nodes are available: 6 Insufficient nvidia.com/gpu."
        );
        // Between retries: the newest failed pod says why.
        let retried = objs(
            "- {apiVersion: v1, kind: Pod, metadata: {name: dl-a, creationTimestamp: '2026-01-01T00:01:00Z'}, status: {phase: Failed, containerStatuses: [{name: dl, state: {terminated: {exitCode: 1, reason: Error}}}]}}\n- {apiVersion: v1, kind: Pod, metadata: {name: dl-b, creationTimestamp: '2026-01-01T00:02:00Z'}, status: {phase: Failed, containerStatuses: [{name: dl, state: {terminated: {exitCode: 3, reason: Error}}}]}}\n- {apiVersion: v1, kind: Pod, metadata: {name: dl-c, creationTimestamp: '2026-01-01T00:03:00Z'}, status: {phase: Running, conditions: [{type: Ready, status: 'True'}]}}\n",
        );
        let ctx = AssessContext::new(now()).with_pods(&retried);
        assert_eq!(
            assess(&running, &ctx).to_string(),
            "InProgress: Job in progress: succeeded 0/1, active 1; last failure: pod dl-b: container dl exited with code 3 (Error)"
        );
        // A completed Job ignores its pods.
        let done = obj(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nstatus: {succeeded: 1, conditions: [{type: Complete, status: 'True'}]}\n",
        );
        assert!(assess(&done, &ctx).is_current());
    }
}
