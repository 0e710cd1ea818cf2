//! Running and watching one-shot workloads: batch Jobs and Tekton PipelineRuns.
//!
//! Shared by `run-job`, `wait-jobs` and `benchmark`. A run is watched until it succeeds or
//! fails — whichever comes first, so a failed Job is reported at once with its last log lines,
//! not after the timeout. While it runs, its pods' log tails give the progress, and a pod that
//! cannot start (missing Secret, bad image) fails the wait with the reason.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;
use tokio::time::Instant;

use super::job_state::{self, RunState};
use super::{StepEnv, cluster_failure, delete_and_wait};
use crate::cluster::operators::Decision;
use crate::cluster::{Cluster, ClusterError, ObjectKey};
use crate::runner::event::DownloadProgress;
use crate::runner::step::{StepCtx, StepError};
use crate::stage::params::RunKind;

/// How often a running Job's pods and log tail are looked at (logs cannot be watched).
pub const LOG_POLL: Duration = Duration::from_secs(2);
/// Annotation holding a digest of the rendered spec a run was created from: a run that
/// succeeded from the same spec is kept instead of run again (a second deploy changes nothing).
pub const SPEC_HASH_ANNOTATION: &str = "democtl.io/spec-hash";
/// Log lines shown when a run fails.
pub const FAILURE_LOG_LINES: usize = 10;

/// One run of the stage's render: the rendered object and its key.
#[derive(Debug, Clone)]
pub struct RunTarget {
    pub kind: RunKind,
    pub key: ObjectKey,
    pub object: Value,
}

impl RunTarget {
    /// Finds a Job/PipelineRun of the render by name and namespace.
    pub fn from_render(
        objects: &[Value],
        kind: RunKind,
        namespace: &str,
        name: &str,
    ) -> Option<RunTarget> {
        let k = match kind {
            RunKind::Job => "Job",
            RunKind::PipelineRun => "PipelineRun",
        };
        let mut object = super::selection::find(objects, k, name, Some(namespace))?.clone();
        let key = ObjectKey::from_value(&object)?;
        let hash = run_hash(&object, objects, namespace);
        let meta = object.get_mut("metadata")?.as_object_mut()?;
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        annotations
            .as_object_mut()?
            .insert(SPEC_HASH_ANNOTATION.into(), Value::String(hash));
        Some(RunTarget { kind, key, object })
    }

    /// The digest recorded on the run.
    pub fn hash(&self) -> Option<&str> {
        self.object
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(SPEC_HASH_ANNOTATION))
            .and_then(Value::as_str)
    }

    /// `Job/name` or `PipelineRun/name`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.key.kind, self.key.name)
    }
}

/// The end of a run that succeeded.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// Full log of the pod that succeeded (Jobs only).
    pub log: String,
}

/// Deletes the run if it exists (waiting until it is gone), then creates it from the render.
pub async fn recreate(env: &StepEnv, ctx: &StepCtx, target: &RunTarget) -> Result<(), StepError> {
    if ctx.dry_run {
        super::apply_objects(env, ctx, std::slice::from_ref(&target.object))
            .await
            .map_err(|e| {
                cluster_failure(format!("failed to dry-run {}", target.key.describe()), e)
            })?;
        return Ok(());
    }
    if env.adopt {
        keep_a_copy_of_theirs(env, ctx, target).await?;
    }
    let progress = |m: String| ctx.progress(m);
    let deleted = delete_and_wait(
        &env.cluster,
        &target.key,
        env.adopt,
        super::deadline_of(ctx),
        &progress,
    )
    .await
    .map_err(|e| {
        cluster_failure(
            format!("failed to delete the previous {}", target.key.describe()),
            e,
        )
    })?;
    if deleted {
        ctx.progress(format!("previous {} deleted", target.label()));
    }
    super::apply_objects(env, ctx, std::slice::from_ref(&target.object))
        .await
        .map_err(|e| cluster_failure(format!("failed to create {}", target.key.describe()), e))?;
    Ok(())
}

/// Before `--adopt` replaces a run of another manager (a Job's template cannot change in place,
/// so adopting it means deleting it): saves its manifest beside the run log and warns, naming
/// it, its manager and the file, so nothing of theirs is lost.
async fn keep_a_copy_of_theirs(
    env: &StepEnv,
    ctx: &StepCtx,
    target: &RunTarget,
) -> Result<(), StepError> {
    let describe = || target.key.describe();
    let read = async {
        let Some(r) = env
            .cluster
            .resolve(&target.key.api_version, &target.key.kind)
            .await?
        else {
            return Ok(None);
        };
        env.cluster
            .get_value(
                &r.resource,
                target.key.namespace.as_deref(),
                &target.key.name,
                describe,
            )
            .await
    };
    let live = read
        .await
        .map_err(|e| cluster_failure(format!("failed to read {}", describe()), e))?;
    let Some(live) = live.filter(|l| !crate::cluster::inventory::is_owned(l)) else {
        return Ok(());
    };
    let manager = crate::cluster::inventory::manager_of(&live);
    let file = env.artifacts_dir.join(format!(
        "replaced-{}-{}-{}.json",
        target.key.kind,
        target.key.namespace.as_deref().unwrap_or("cluster"),
        target.key.name
    ));
    let saved = std::fs::create_dir_all(&env.artifacts_dir).and_then(|()| {
        serde_json::to_vec_pretty(&live)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&file, bytes))
    });
    match saved {
        Ok(()) => {
            ctx.warn(format!(
                "replacing {} of another manager (`{manager}`) as --adopt asks: a run cannot be changed in place; its manifest is saved in `{}`",
                describe(),
                file.display()
            ));
            Ok(())
        }
        Err(e) => Err(StepError::new(format!(
            "could not save {} of `{manager}` before replacing it: {e}",
            describe()
        ))
        .with_hint(format!(
            "make `{}` writable, or remove or rename their object yourself",
            env.artifacts_dir.display()
        ))),
    }
}

/// sha256 of the rendered `spec` (first 16 hex digits).
pub fn spec_hash(object: &Value) -> String {
    use sha2::Digest;
    let text = serde_json::to_string(&object["spec"]).unwrap_or_default();
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The digest that decides whether a finished run is kept: its `spec`, and the data of the
/// ConfigMaps of the render its pod template mounts (the scripts a Job runs live there, so an
/// edited script runs again). Without such ConfigMaps it is [`spec_hash`].
fn run_hash(object: &Value, objects: &[Value], namespace: &str) -> String {
    use sha2::Digest;
    let mut names: Vec<&str> = Vec::new();
    for volume in object
        .pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        names.extend(volume.pointer("/configMap/name").and_then(Value::as_str));
        for source in volume
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            names.extend(source.pointer("/configMap/name").and_then(Value::as_str));
        }
    }
    names.sort_unstable();
    names.dedup();
    let mounted: Vec<&Value> = names
        .iter()
        .filter_map(|n| super::selection::find(objects, "ConfigMap", n, Some(namespace)))
        .collect();
    if mounted.is_empty() {
        return spec_hash(object);
    }
    let mut text = serde_json::to_string(&object["spec"]).unwrap_or_default();
    for cm in mounted {
        text.push_str(&serde_json::to_string(&cm["data"]).unwrap_or_default());
        text.push_str(&serde_json::to_string(&cm["binaryData"]).unwrap_or_default());
    }
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Whether the run already succeeded from the same rendered spec (then it is kept).
pub async fn already_done(cluster: &Cluster, target: &RunTarget) -> Result<bool, ClusterError> {
    let Some(live) = super::get_object(cluster, &target.key).await? else {
        return Ok(false);
    };
    let same = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SPEC_HASH_ANNOTATION))
        .and_then(Value::as_str)
        .is_some_and(|h| Some(h) == target.hash());
    Ok(same && job_state::run_state(&live, cluster.now()) == RunState::Succeeded)
}

/// Current state of a run in the cluster (None when it does not exist).
pub async fn current_state(
    cluster: &Cluster,
    target: &RunTarget,
) -> Result<Option<RunState>, ClusterError> {
    let obj = super::get_object(cluster, &target.key).await?;
    Ok(obj.map(|o| job_state::run_state(&o, cluster.now())))
}

/// Waits until the run finishes. `report` receives short progress text for this run
/// (`42%`, `Tasks Completed: 1 …`); the caller combines several runs into one line.
pub async fn wait_finished(
    cluster: &Cluster,
    target: &RunTarget,
    deadline: Instant,
    report: &(dyn Fn(String) + Send + Sync),
) -> Result<Finished, RunFailure> {
    wait_finished_measured(cluster, target, deadline, report, &|_| {}).await
}

/// [`wait_finished`], also handing over the download progress lines of a Job's log
/// (`{"democtl":"progress",…}`) as they appear.
pub async fn wait_finished_measured(
    cluster: &Cluster,
    target: &RunTarget,
    deadline: Instant,
    report: &(dyn Fn(String) + Send + Sync),
    measure: &(dyn Fn(DownloadProgress) + Send + Sync),
) -> Result<Finished, RunFailure> {
    let kind = target.kind;
    let mut seen = false;
    let decide = move |obj: Option<&Value>| -> Decision<()> {
        let Some(obj) = obj else {
            return if seen {
                Decision::Failed("it was deleted while democtl waited for it".into())
            } else {
                Decision::Pending("not created yet".into())
            };
        };
        seen = true;
        match job_state::run_state(obj, cluster.now()) {
            RunState::Succeeded => Decision::Done(()),
            RunState::Failed { reason } => Decision::Failed(reason),
            RunState::Running => Decision::Pending(match kind {
                RunKind::PipelineRun => {
                    job_state::pipelinerun_progress(obj).unwrap_or_else(|| "running".into())
                }
                RunKind::Job => "running".into(),
            }),
        }
    };
    let forward = |m: String| {
        if kind == RunKind::PipelineRun || m != "running" {
            report(m);
        }
    };
    let watch = cluster.wait_until(&target.key, deadline, &forward, decide);
    let result = match kind {
        RunKind::PipelineRun => watch.await.map_err(RunFailure::from_cluster),
        RunKind::Job => {
            let pods = watch_pods(cluster, target, report, measure);
            tokio::select! {
                r = watch => r.map_err(RunFailure::from_cluster),
                blocked = pods => Err(RunFailure::Blocked { reason: blocked }),
            }
        }
    };
    match result {
        Ok(()) => {
            let log = match kind {
                RunKind::Job => job_log(cluster, target, None).await.unwrap_or_default(),
                RunKind::PipelineRun => String::new(),
            };
            Ok(Finished { log })
        }
        Err(f) => Err(f),
    }
}

/// Why a run did not succeed.
#[derive(Debug)]
pub enum RunFailure {
    /// The Job (or PipelineRun) reported failure.
    Failed { reason: String },
    /// A pod cannot start (missing Secret, bad image).
    Blocked { reason: String },
    /// The deadline passed while it was still running.
    TimedOut { last: String },
    /// The cluster did not answer.
    Cluster(ClusterError),
}

impl RunFailure {
    fn from_cluster(e: ClusterError) -> RunFailure {
        match &e {
            ClusterError::Wait(w) => {
                let reason = w
                    .objects
                    .first()
                    .map(|o| crate::cluster::wait::status_reason(&o.status))
                    .unwrap_or_default();
                match w.outcome {
                    crate::cluster::wait::WaitOutcome::Failed => RunFailure::Failed { reason },
                    crate::cluster::wait::WaitOutcome::TimedOut => {
                        RunFailure::TimedOut { last: reason }
                    }
                }
            }
            _ => RunFailure::Cluster(e),
        }
    }

    /// The step error for this failure of `target`, with the run's last log lines as evidence.
    pub async fn into_step_error(self, cluster: &Cluster, target: &RunTarget) -> StepError {
        let what = target.key.describe();
        let (message, reason) = match self {
            RunFailure::Cluster(e) => {
                return cluster_failure(format!("failed to watch {what}"), e);
            }
            RunFailure::Failed { reason } => (format!("{what} failed"), reason),
            RunFailure::Blocked { reason } => (format!("{what} cannot start its pod"), reason),
            RunFailure::TimedOut { last } => (format!("{what} did not finish in time"), last),
        };
        let mut evidence = Vec::new();
        if !reason.is_empty() {
            evidence.push(reason);
        }
        if target.kind == RunKind::Job
            && let Some(log) = job_log(cluster, target, Some(FAILURE_LOG_LINES)).await
        {
            for line in job_state::last_lines(&log, FAILURE_LOG_LINES) {
                evidence.push(format!("log: {line}"));
            }
        }
        if target.kind == RunKind::PipelineRun {
            // The reason is on the failed TaskRun or its pod, not on the PipelineRun.
            for line in crate::cluster::evidence::collect(cluster, &target.key).await {
                if !evidence.contains(&line) {
                    evidence.push(line);
                }
            }
        }
        StepError::new(message)
            .with_evidence(evidence)
            .with_hint(format!(
                "fix the cause, then run the same command again: democtl deletes and recreates {}",
                target.label()
            ))
    }
}

/// Watches a Job's pods for progress and for pods that cannot start. Returns only when a pod
/// is blocked (the reason); otherwise runs until dropped.
async fn watch_pods(
    cluster: &Cluster,
    target: &RunTarget,
    report: &(dyn Fn(String) + Send + Sync),
    measure: &(dyn Fn(DownloadProgress) + Send + Sync),
) -> String {
    let mut tick = tokio::time::interval(LOG_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = String::new();
    loop {
        tick.tick().await;
        let Ok(pods) = job_pods(cluster, target).await else {
            continue;
        };
        let Some(pod) = pods.last() else {
            continue;
        };
        if let Some(reason) = job_state::pod_blocked(pod) {
            return reason;
        }
        let Some(log) = job_log(cluster, target, Some(5)).await else {
            continue;
        };
        let download = job_state::download_progress(&log, &target.key.name);
        let text = match &download {
            Some(d) if d.done => Some("downloaded".to_owned()),
            Some(d) => Some(format!(
                "{}/{} files {}%",
                d.files_done,
                d.files_total,
                d.bytes_done.saturating_mul(100) / d.bytes_total.max(1)
            )),
            None => job_state::progress_from_log(&log),
        };
        if let Some(d) = download {
            measure(d);
        }
        if let Some(p) = text
            && p != last
        {
            report(p.clone());
            last = p;
        }
    }
}

/// The Job's pods, oldest first.
async fn job_pods(cluster: &Cluster, target: &RunTarget) -> Result<Vec<Value>, ClusterError> {
    let ns = target.key.namespace.as_deref().unwrap_or("default");
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), ns);
    let mut items = Vec::new();
    for selector in [
        format!("batch.kubernetes.io/job-name={}", target.key.name),
        format!("job-name={}", target.key.name),
    ] {
        let lp = ListParams::default().labels(&selector);
        let list = cluster
            .call(
                "list",
                || format!("pods of {}", target.key.describe()),
                || api.list(&lp),
            )
            .await?;
        if !list.items.is_empty() {
            items = list.items;
            break;
        }
    }
    let mut pods: Vec<Value> = items
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect();
    pods.sort_by(|a, b| {
        let t = |v: &Value| {
            v.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        t(a).cmp(&t(b))
    });
    Ok(pods)
}

/// Log of the Job's newest pod (its first container), optionally only the last lines.
pub async fn job_log(cluster: &Cluster, target: &RunTarget, tail: Option<usize>) -> Option<String> {
    let pods = job_pods(cluster, target).await.ok()?;
    let pod = pods.last()?;
    let name = pod.pointer("/metadata/name")?.as_str()?.to_string();
    let container = pod
        .pointer("/spec/containers/0/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let ns = target.key.namespace.as_deref().unwrap_or("default");
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), ns);
    let lp = LogParams {
        container,
        tail_lines: tail.and_then(|t| i64::try_from(t).ok()),
        ..LogParams::default()
    };
    cluster
        .call(
            "read the log of",
            || format!("`Pod/{name}` in `{ns}`"),
            || api.logs(&name, &lp),
        )
        .await
        .ok()
}

/// The logs of every step container of a PipelineRun's TaskRun pods (label
/// `tekton.dev/pipelineRun`), one after the other: what its scripts printed. Pods or containers
/// whose log cannot be read add nothing.
pub async fn pipelinerun_logs(cluster: &Cluster, target: &RunTarget) -> String {
    let ns = target.key.namespace.as_deref().unwrap_or("default");
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), ns);
    let lp = ListParams::default().labels(&format!("tekton.dev/pipelineRun={}", target.key.name));
    let Ok(list) = cluster
        .call(
            "list",
            || format!("pods of {}", target.key.describe()),
            || api.list(&lp),
        )
        .await
    else {
        return String::new();
    };
    let mut out = String::new();
    for pod in &list.items {
        let Some(name) = pod.metadata.name.clone() else {
            continue;
        };
        let containers = pod
            .spec
            .as_ref()
            .map(|s| s.containers.clone())
            .unwrap_or_default();
        for c in containers {
            let lp = LogParams {
                container: Some(c.name.clone()),
                ..LogParams::default()
            };
            if let Ok(log) = cluster
                .call(
                    "read the log of",
                    || format!("`Pod/{name}` in `{ns}`"),
                    || api.logs(&name, &lp),
                )
                .await
            {
                out.push_str(&log);
                if !log.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// One progress line for several runs: `a 42% · b 7/12 · c done`.
#[derive(Default)]
pub struct ProgressBoard {
    entries: Mutex<BTreeMap<String, String>>,
}

impl ProgressBoard {
    /// Sets `name`'s part and returns the combined line.
    pub fn set(&self, name: &str, text: impl Into<String>) -> String {
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.insert(name.to_string(), text.into());
        entries
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_edited_script_in_a_mounted_config_map_changes_the_digest() {
        let job = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "load", "namespace": "ns"},
            "spec": {"template": {"spec": {"volumes": [{"name": "s", "configMap": {"name": "scripts"}}]}}}});
        let with = |script: &str| {
            let objects = vec![
                job.clone(),
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "scripts", "namespace": "ns"}, "data": {"run.sh": script}}),
            ];
            RunTarget::from_render(&objects, RunKind::Job, "ns", "load")
                .unwrap()
                .hash()
                .unwrap()
                .to_string()
        };
        assert_eq!(with("echo a"), with("echo a"));
        assert_ne!(with("echo a"), with("echo b"));
        assert_ne!(with("echo a"), spec_hash(&job));
    }

    #[test]
    fn targets_come_from_the_render() {
        let objects = vec![
            json!({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": "register-models", "namespace": "private-ai-demo"}}),
            json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun",
                   "metadata": {"name": "ingest-acme", "namespace": "private-ai-demo"}}),
        ];
        let t =
            RunTarget::from_render(&objects, RunKind::Job, "private-ai-demo", "register-models")
                .unwrap();
        assert_eq!(t.label(), "Job/register-models");
        assert_eq!(t.hash().unwrap(), spec_hash(&objects[0]));
        assert_eq!(t.hash().unwrap().len(), 16);
        assert!(
            RunTarget::from_render(&objects, RunKind::Job, "private-ai-demo", "ingest-acme")
                .is_none()
        );
        assert!(
            RunTarget::from_render(&objects, RunKind::Job, "other", "register-models").is_none()
        );
        let p = RunTarget::from_render(
            &objects,
            RunKind::PipelineRun,
            "private-ai-demo",
            "ingest-acme",
        )
        .unwrap();
        assert_eq!(p.key.api_version, "tekton.dev/v1");
    }

    #[test]
    fn the_board_combines_runs_in_name_order() {
        let b = ProgressBoard::default();
        assert_eq!(b.set("download-b", "10%"), "download-b 10%");
        assert_eq!(
            b.set("download-a", "3/12"),
            "download-a 3/12 · download-b 10%"
        );
        assert_eq!(
            b.set("download-b", "done"),
            "download-a 3/12 · download-b done"
        );
    }
}
