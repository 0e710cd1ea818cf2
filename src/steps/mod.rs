//! The step kinds of the stage files: [`build`] maps a `StepSpec` to a `Box<dyn Step>` in one
//! match over `StepKind`. One file per kind; pure helpers (selection, MachineSet cloning, job
//! states, benchmark reports) live in their own files and are unit-tested without a cluster.
//!
//! Steps talk to the screen only through `StepCtx` (progress, derive, output, warn) and to the
//! cluster only through `crate::cluster`. They never print, never read the environment or
//! `.env` (secrets come from [`SecretProvider`], implemented by `crate::app`) and never put a
//! secret value in a message, an output or a derived value.
//!
//! Convention for a step file: `pub fn build(spec, params, env) -> Result<Box<dyn Step>,
//! BuildError>`; everything that can be checked before the run (objects named in the stage's
//! render, parameters that fit) is checked there, so a bad stage fails before step 1.

pub mod apply;
pub mod benchmark;
pub mod benchmark_report;
pub mod collections;
pub mod gpu_machinesets;
pub mod gpu_release;
pub mod gpu_state;
pub mod ingest_report;
pub mod job_run;
pub mod job_state;
pub mod lm_eval;
pub mod lm_eval_report;
pub mod machineset;
pub mod patch;
pub mod prereq;
pub mod restart;
pub mod run_job;
pub mod secret;
pub mod selection;
pub mod summary;
pub mod wait_gpu;
pub mod wait_jobs;
pub mod wait_ready;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use tokio::time::Instant;

use crate::cluster::apply::{ApplyOptions, ApplyReport};
use crate::cluster::{Cluster, ClusterError, ObjectKey};
use crate::runner::event::ObjectRecord;
use crate::runner::step::{Step, StepCtx, StepError};
use crate::stage::params::StepParams;
use crate::stage::schema::{Stage, StepKind, StepSpec};

pub use selection::{SelectionError, select_objects};

/// Everything a step needs besides the `StepCtx` of its run.
#[derive(Clone)]
pub struct StepEnv {
    pub cluster: Arc<Cluster>,
    /// The stage the step belongs to.
    pub stage: Arc<Stage>,
    /// The stage's rendered overlay (`kustomize::build`), in render order.
    pub objects: Arc<Vec<Value>>,
    pub secrets: Arc<dyn SecretProvider>,
    /// Project root (holds `stages/` and `gitops/`).
    pub project_dir: PathBuf,
    /// Beside the run log: benchmark results and other files a run produces.
    pub artifacts_dir: PathBuf,
    /// Switch values of this run (`benchmarks` → true, …).
    pub switches: BTreeMap<String, bool>,
    /// `--adopt`: objects that exist without democtl's ownership may be taken over (applied,
    /// their previous values recorded for teardown) or, for runs, deleted and recreated.
    pub adopt: bool,
    /// The stages this invocation runs before this one (`deploy stage3` on an empty cluster:
    /// stage1, stage2). In a dry run they are only planned, so `stage-deployed` checks of them
    /// pass as "planned by this dry run".
    pub earlier_in_run: Vec<String>,
    /// The step `--only` named in this stage: a step that keeps runs which already succeeded
    /// (benchmarks) runs them again when asked for by name.
    pub rerun: Option<String>,
}

/// A secret value. `Debug` never shows it; read it with [`SecretValue::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        // Registered so every reporter masks it, even if an API error echoes it.
        let _ = crate::runner::step::Sensitive::new(value.as_str());
        SecretValue(value)
    }

    /// The value itself: only for writing it into the cluster.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// Where secret values come from. Implemented by `crate::app`: the environment, then `.env`
/// (parsed as `KEY=VALUE` data, never as shell), then a hidden prompt.
pub trait SecretProvider: Send + Sync {
    /// The value of `key` from the environment or `.env`; None when unset or empty.
    fn lookup(&self, key: &str) -> Option<SecretValue>;

    /// Asks for `key` with `prompt` (input hidden). None when prompting is not possible
    /// (`--yes`, no terminal) or the user gave nothing. The app pauses spinners around it.
    fn prompt<'a>(&'a self, key: &'a str, prompt: &'a str) -> BoxFuture<'a, Option<SecretValue>>;
}

/// A step that cannot be built from its stage file and render (checked before the run).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("step `{step}` has parameters for another kind than `{kind}`")]
    ParamsMismatch { step: String, kind: &'static str },
    #[error("step `{step}` names {object}, which the overlay `{overlay}` does not render")]
    NotRendered {
        step: String,
        object: String,
        overlay: String,
    },
    #[error("step `{step}` of kind `{kind}` needs {what}")]
    Invalid {
        step: String,
        kind: &'static str,
        what: String,
    },
}

impl BuildError {
    pub fn hint(&self) -> Option<String> {
        match self {
            BuildError::ParamsMismatch { .. } => {
                Some("the `with:` block must match the step's `kind`".into())
            }
            BuildError::NotRendered { .. } => Some(
                "render the overlay with `democtl render <stage>` and use a name it contains"
                    .into(),
            ),
            BuildError::Invalid { .. } => None,
        }
    }
}

/// Builds the executable step for `spec`. Every step runs in a retry scope
/// ([`crate::cluster::retry`]): its API calls' retries show as its progress and stop at its
/// deadline.
pub fn build(spec: &StepSpec, env: &StepEnv) -> Result<Box<dyn Step>, BuildError> {
    build_kind(spec, env).map(|inner| Box::new(RetryScoped { inner }) as Box<dyn Step>)
}

/// A step whose cluster calls report their retries to the step's progress.
struct RetryScoped {
    inner: Box<dyn Step>,
}

impl Step for RetryScoped {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> BoxFuture<'a, Result<crate::runner::step::StepDone, StepError>> {
        let sink = ctx.clone();
        let scope = crate::cluster::retry::RetryScope {
            notify: std::sync::Arc::new(move |line| sink.progress(line)),
            deadline: ctx.deadline,
        };
        Box::pin(crate::cluster::retry::scoped(scope, self.inner.run(ctx)))
    }
}

fn build_kind(spec: &StepSpec, env: &StepEnv) -> Result<Box<dyn Step>, BuildError> {
    let mismatch = || BuildError::ParamsMismatch {
        step: spec.id.clone(),
        kind: spec.kind.as_str(),
    };
    match (spec.kind, &spec.with) {
        (StepKind::GpuMachinesets, StepParams::GpuMachinesets(p)) => {
            gpu_machinesets::build(spec, p, env)
        }
        (StepKind::WaitGpu, StepParams::WaitGpu(p)) => wait_gpu::build(spec, p, env),
        (StepKind::FreeGpus, StepParams::FreeGpus(p)) => gpu_release::build(spec, p, env),
        (StepKind::WaitJobs, StepParams::WaitJobs(p)) => wait_jobs::build(spec, p, env),
        (StepKind::RunJob, StepParams::RunJob(p)) => run_job::build(spec, p, env),
        (StepKind::Benchmark, StepParams::Benchmark(p)) => benchmark::build(spec, p, env),
        (StepKind::LmEval, StepParams::LmEval(p)) => lm_eval::build(spec, p, env),
        (StepKind::Collections, StepParams::Collections(p)) => collections::build(spec, p, env),
        (StepKind::Secret, StepParams::Secret(p)) => secret::build(spec, p, env),
        (StepKind::Summary, StepParams::Summary(p)) => summary::build(spec, p, env),
        (StepKind::Prereq, StepParams::Prereq(p)) => prereq::build(spec, p, env),
        (StepKind::Apply, StepParams::Apply(p)) => apply::build(spec, p, env),
        (StepKind::WaitReady, StepParams::WaitReady(p)) => wait_ready::build(spec, p, env),
        (StepKind::Patch, StepParams::Patch(p)) => patch::build(spec, p, env),
        _ => Err(mismatch()),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared by the step files: errors, object access, applying, deadlines.

/// A step error for a failed cluster call: `message` says what failed (naming the object);
/// the cluster error is the source (printed as the chain), its hint and transience carry over.
pub(crate) fn cluster_failure(message: impl Into<String>, err: ClusterError) -> StepError {
    let mut e = StepError::new(message);
    if let Some(h) = err.hint() {
        e = e.with_hint(h);
    }
    if err.is_transient() {
        e = e.transient(err.retry_after());
    }
    if let ClusterError::Wait(w) = &err {
        e = e.with_evidence(w.evidence.clone());
    }
    e.with_source(err)
}

/// Reads one object (None when it does not exist or its kind is not served).
pub(crate) async fn get_object(
    cluster: &Cluster,
    key: &ObjectKey,
) -> Result<Option<Value>, ClusterError> {
    let Some(r) = cluster.resolve(&key.api_version, &key.kind).await? else {
        return Ok(None);
    };
    cluster
        .get_value(&r.resource, key.namespace.as_deref(), &key.name, || {
            key.describe()
        })
        .await
}

/// Lists objects of a kind (in `namespace`, or cluster-wide), optionally by label selector.
/// A kind the cluster does not serve lists as empty.
pub(crate) async fn list_objects(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Value>, ClusterError> {
    let Some(r) = cluster.resolve(api_version, kind).await? else {
        return Ok(Vec::new());
    };
    let mut lp = kube::api::ListParams::default();
    if let Some(s) = selector {
        lp = lp.labels(s);
    }
    let what = || match namespace {
        Some(ns) => format!("`{kind}` objects in `{ns}`"),
        None => format!("`{kind}` objects"),
    };
    cluster.list_values(&r.resource, namespace, &lp, what).await
}

/// Deletes an object (background propagation) and waits until it is gone. Missing = done. An
/// object without democtl's ownership is deleted only with `adopt` (another team's Job of the
/// same name is theirs: an error names it and its manager).
pub(crate) async fn delete_and_wait(
    cluster: &Cluster,
    key: &ObjectKey,
    adopt: bool,
    deadline: Instant,
    progress: crate::cluster::Progress<'_>,
) -> Result<bool, ClusterError> {
    let Some(r) = cluster.resolve(&key.api_version, &key.kind).await? else {
        return Ok(false);
    };
    let api = cluster.api(&r.resource, key.namespace.as_deref());
    let dp = kube::api::DeleteParams::background();
    let existing = cluster
        .call("get", || key.describe(), || api.get_opt(&key.name))
        .await?;
    let Some(existing) = existing else {
        return Ok(false);
    };
    let live = crate::cluster::object::typed_value(existing.clone(), &r.resource);
    if !adopt && !crate::cluster::inventory::is_owned(&live) {
        return Err(ClusterError::NotOurs {
            object: key.describe(),
            manager: crate::cluster::inventory::manager_of(&live),
            action: "delete and recreate",
        });
    }
    let uid = existing.metadata.uid.clone();
    match cluster
        .call("delete", || key.describe(), || api.delete(&key.name, &dp))
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(true),
        Err(e) => return Err(e),
    }
    cluster
        .wait_deleted(key, uid.as_deref(), deadline, progress)
        .await?;
    Ok(true)
}

/// Applies objects with democtl's ownership and reports each as `ObjectApplied`.
pub(crate) async fn apply_objects(
    env: &StepEnv,
    ctx: &StepCtx,
    objects: &[Value],
) -> Result<ApplyReport, ClusterError> {
    let mut opts = ApplyOptions::new(env.stage.id.clone());
    opts.dry_run = ctx.dry_run;
    opts.adopt = env.adopt;
    opts.step = ctx.step.clone();
    let progress = |m: String| ctx.progress(m);
    let report = crate::cluster::apply(&env.cluster, objects, &opts, &progress).await?;
    for o in &report.objects {
        ctx.object_applied(ObjectRecord {
            api_version: o.key.api_version.clone(),
            kind: o.key.kind.clone(),
            namespace: o.key.namespace.clone(),
            name: o.key.name.clone(),
            uid: o.uid.clone(),
            result: o.result.as_str(report.dry_run).to_string(),
        });
    }
    Ok(report)
}

/// The step's deadline, or a long default when the step has none (waits always need one).
pub(crate) fn deadline_of(ctx: &StepCtx) -> Instant {
    ctx.deadline
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(24 * 3600))
}

/// A deadline slightly before the runner's, so a wait can say what is missing before the
/// runner's own timeout cancels it.
pub(crate) fn own_deadline(ctx: &StepCtx) -> Instant {
    let d = deadline_of(ctx);
    let left = d.saturating_duration_since(Instant::now());
    d - (left / 50).min(Duration::from_secs(5))
}

/// The step's label for derived values: `<stage>.<rest>`.
pub(crate) fn value_key(ctx: &StepCtx, rest: &str) -> String {
    format!("{}.{rest}", ctx.stage)
}

/// Turns a `Box<dyn Step>` implementation's async body into the trait's boxed future.
pub(crate) fn boxed<'a, T>(
    fut: impl std::future::Future<Output = T> + Send + 'a,
) -> BoxFuture<'a, T> {
    Box::pin(fut)
}
