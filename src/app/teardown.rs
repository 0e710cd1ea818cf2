//! `democtl teardown --stage N | --all`: converge the cluster to stage N-1 (or to nothing),
//! newest stage first. Shows what will go and asks (unless `--yes`); `--dry-run` only shows.
//! The removal runs through the runner like a deploy: spinners, run log, Ctrl-C, exit codes.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::session;
use super::target::Target;
use super::{AppError, Ctx, print_stdout, render};
use serde::Serialize;

use crate::cli::{OutputFormat, TeardownArgs};
use crate::cluster::teardown::{self, TeardownOptions, TeardownPlan};
use crate::cluster::{Cluster, ObjectKey, lease};
use crate::runner::event::Outcome;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::runner::{
    Disposition, NoState, PlannedStage, PlannedStepRun, RetryPolicy, RunConfig, RunPlan,
};
use crate::stage::LoadedStage;
use crate::stage::params::{RestartPods, StepParams};
use crate::steps::{get_object, restart};

pub async fn run(ctx: &Ctx, args: TeardownArgs) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let stages = ctx.stages(&project)?;
    let from_number = match &args.stage {
        Some(name) => {
            stages
                .resolve(name)
                .map_err(AppError::UnknownStage)?
                .stage
                .number
        }
        None => 0,
    };
    // Newest first; the stage that remains (if any) declares what must stay.
    let mut removed: Vec<&LoadedStage> = stages
        .stages()
        .iter()
        .filter(|s| s.stage.number >= from_number)
        .collect();
    removed.reverse();
    let remaining = stages
        .stages()
        .iter()
        .rfind(|s| s.stage.number < from_number);
    let keep: Vec<ObjectKey> = match remaining {
        Some(s) => render::stage_objects(&project, s)?
            .iter()
            .filter_map(ObjectKey::from_value)
            .collect(),
        None => Vec::new(),
    };
    // The data the removed stages declare (`democtl.io/data`): kept unless `--delete-data`.
    let mut data = Vec::new();
    for s in &removed {
        data.extend(
            render::stage_objects(&project, s)?
                .iter()
                .filter_map(DataObject::of),
        );
    }
    let target = Target::connect(ctx, Some(&project)).await?;
    let result = teardown(ctx, &args, &removed, keep, &data, &target).await;
    let closed = target.close().await;
    let code = result?;
    closed?;
    Ok(code)
}

async fn teardown(
    ctx: &Ctx,
    args: &TeardownArgs,
    removed: &[&LoadedStage],
    keep: Vec<ObjectKey>,
    data: &[DataObject],
    target: &Target,
) -> Result<u8, AppError> {
    let cluster = target.cluster.clone();
    let mut plans = Vec::new();
    for s in removed {
        let mut opts = TeardownOptions::new(s.stage.id.clone());
        opts.keep = keep.clone();
        opts.force = args.force;
        let plan = teardown::plan(&cluster, &opts)
            .await
            .map_err(AppError::cluster)?;
        plans.push((*s, opts, plan));
    }
    if !args.delete_data {
        keep_data(&cluster, &mut plans, data)
            .await
            .map_err(AppError::cluster)?;
    }
    let data = PlanData::new(target, &plans);
    let nothing = plans
        .iter()
        .all(|(_, _, p)| p.delete.is_empty() && p.restore.is_empty());
    if args.output != OutputFormat::Table {
        if !args.dry_run {
            return Err(AppError::usage(
                "`teardown -o json|yaml` prints the plan and needs `--dry-run`",
                Some("add `--dry-run`; the removal itself is recorded in the run log (`democtl logs --last -o json`)".into()),
            ));
        }
        print_stdout(&super::structured(args.output, &data))?;
        return Ok(crate::exit::OK);
    }
    let text = format!("{}{}", data.header(), describe(&plans));
    if args.dry_run || nothing {
        print_stdout(&text)?;
        print_stdout(&if nothing {
            "nothing to remove\n".to_string()
        } else {
            format!("{}\n", data.total_line())
        })?;
        return Ok(crate::exit::OK);
    }
    if !ctx.global.yes {
        let text = format!("{}{}{}\n", data.header(), data.compact(), data.total_line());
        if !ctx.output.interactive {
            super::print_stderr(&text);
            return Err(AppError::usage(
                "teardown needs confirmation",
                Some(
                    "pass `--yes` to confirm when not on a terminal; `--dry-run` shows the plan"
                        .into(),
                ),
            ));
        }
        super::print_stderr(&text);
        let confirmed = tokio::task::spawn_blocking(|| {
            let term = console::Term::stderr();
            let _ = term.write_str("remove all of this? [y/N] ");
            term.read_line()
                .map(|l| matches!(l.trim(), "y" | "Y" | "yes"))
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if !confirmed {
            super::print_stderr("nothing removed\n");
            return Ok(crate::exit::DECLINED);
        }
    }
    let what = match &args.stage {
        Some(_) => removed
            .last()
            .map(|s| s.stage.id.clone())
            .unwrap_or_default(),
        None => "all".to_owned(),
    };
    let holder = lease::default_holder(&target.identity.user);
    // Before the lock (after the confirmation, where Ctrl-C simply ends the process).
    let cancel = session::cancel_on_signals();
    let command = format!("teardown {what}");
    let taken = tokio::select! {
        biased;
        () = cancel.cancelled() => None,
        taken = lease::acquire(&cluster, &holder, &command) => Some(taken),
    };
    let guard = match taken {
        Some(taken) => taken.map_err(AppError::cluster)?,
        None => {
            let _ = lease::release_held(lease::QUICK_RELEASE_TIMEOUT).await;
            return Err(AppError::Interrupted);
        }
    };
    if let Some(note) = guard.took_over()
        && super::chatty(&ctx.output)
    {
        super::print_stderr(&format!("{note}\n"));
    }
    let result = run_plans(ctx, plans, &what, target, cancel, guard.hold()).await;
    if let Err(e) = guard.release(&target.cluster).await {
        super::print_stderr(&lease::release_warning(&e));
    }
    result
}

async fn run_plans(
    ctx: &Ctx,
    plans: Vec<(&LoadedStage, TeardownOptions, TeardownPlan)>,
    what: &str,
    target: &Target,
    cancel: tokio_util::sync::CancellationToken,
    hold: std::sync::Arc<dyn crate::runner::Hold>,
) -> Result<u8, AppError> {
    let steps = plans
        .into_iter()
        .map(|(s, opts, plan)| {
            let count = plan.delete.len();
            PlannedStepRun {
                id: format!("remove-{}", s.stage.id),
                title: format!(
                    "Remove {} · {} ({count} objects)",
                    s.stage.id, s.stage.title
                ),
                kind: "teardown".into(),
                narration: None,
                timeout: Some(opts.timeout + std::time::Duration::from_secs(60)),
                retry: RetryPolicy::default(),
                optional: false,
                disposition: Disposition::Run,
                step: Some(Box::new(Remove {
                    cluster: target.cluster.clone(),
                    restarts: restarts_after_restore(s, &plan),
                    plan,
                    opts,
                })),
            }
        })
        .collect();
    let run_plan = RunPlan {
        stages: vec![PlannedStage {
            id: "teardown".into(),
            title: format!("Teardown {what}"),
            steps,
        }],
    };
    let reporters = session::reporters(ctx, "teardown", Some(what))?;
    let mut header = session::header(
        ctx,
        "teardown",
        Some(target.cluster.server().to_owned()),
        target.cluster.context().map(str::to_owned),
        Some(target.identity.user.clone()),
    );
    header.simulated = target.simulated();
    let config = RunConfig {
        header,
        dry_run: false,
        values: Default::default(),
        resume_command: None,
        jitter_seed: None,
        hold: Some(hold),
    };
    let mut fanout = reporters.fanout;
    let result = crate::runner::run(run_plan, config, &mut fanout, &NoState, cancel).await;
    if let Some(e) = result.report_error {
        return Err(AppError::Report(e));
    }
    if result.interrupted {
        return Err(AppError::Interrupted);
    }
    match result.summary.outcome {
        Outcome::Failed { .. } | Outcome::TimedOut { .. } | Outcome::Cancelled => {
            Err(AppError::RunFailed)
        }
        _ => Ok(crate::exit::OK),
    }
}

/// An object that holds the demo's data (annotation `democtl.io/data: <what it is>`).
#[derive(Debug, Clone)]
struct DataObject {
    key: ObjectKey,
    what: String,
}

/// Annotation naming the data an object holds; teardown keeps it unless `--delete-data`.
const DATA_ANNOTATION: &str = "democtl.io/data";

impl DataObject {
    fn of(obj: &serde_json::Value) -> Option<DataObject> {
        let what = obj
            .pointer("/metadata/annotations")?
            .get(DATA_ANNOTATION)?
            .as_str()?;
        Some(DataObject {
            key: ObjectKey::from_value(obj)?,
            what: what.to_string(),
        })
    }
}

/// Takes the data objects out of the plans' deletes, and keeps every namespace this teardown
/// would delete while it holds data (a deleted namespace takes its claims with it) — the ones
/// the removed stages declare and, found live, those an earlier teardown kept.
async fn keep_data(
    cluster: &Cluster,
    plans: &mut [(&LoadedStage, TeardownOptions, TeardownPlan)],
    declared: &[DataObject],
) -> Result<(), crate::cluster::ClusterError> {
    let reason = |d: &DataObject| format!("{} — kept; `--delete-data` deletes it", d.what);
    // Only data that exists: declared objects a plan would delete, and live claims.
    let mut held: Vec<DataObject> = declared
        .iter()
        .filter(|d| {
            plans
                .iter()
                .any(|(_, _, p)| p.delete.iter().any(|x| x.key == d.key))
        })
        .cloned()
        .collect();
    for (_, _, plan) in plans.iter() {
        for d in plan.delete.iter().filter(|d| is_namespace(&d.key)) {
            let claims = crate::steps::list_objects(
                cluster,
                "v1",
                "PersistentVolumeClaim",
                Some(&d.key.name),
                None,
            )
            .await?;
            held.extend(claims.iter().filter_map(DataObject::of));
        }
    }
    for (_, _, plan) in plans.iter_mut() {
        let mut kept = Vec::new();
        plan.delete.retain(|d| {
            let data = held.iter().find(|h| h.key == d.key);
            let holder = is_namespace(&d.key)
                .then(|| {
                    held.iter()
                        .find(|h| h.key.namespace.as_deref() == Some(d.key.name.as_str()))
                })
                .flatten();
            match (data, holder) {
                (Some(h), _) => kept.push(teardown::Skipped {
                    key: d.key.clone(),
                    reason: reason(h),
                    foreign: Vec::new(),
                }),
                (None, Some(h)) => kept.push(teardown::Skipped {
                    key: d.key.clone(),
                    reason: format!("holds {}: {}", h.key, reason(h)),
                    foreign: Vec::new(),
                }),
                (None, None) => return true,
            }
            false
        });
        plan.skipped.extend(kept);
    }
    Ok(())
}

fn is_namespace(key: &ObjectKey) -> bool {
    key.kind == "Namespace" && key.group().is_empty()
}

/// Whether a kept object is kept for the demo's data (the prompt says so).
fn is_kept_data(k: &teardown::Skipped) -> bool {
    k.reason.contains("`--delete-data`")
}

/// Objects a plan restores, each once (two `patch` steps may change one DataScienceCluster).
fn restored(plan: &TeardownPlan) -> Vec<&ObjectKey> {
    let mut keys: Vec<&ObjectKey> = plan.restore.iter().map(|r| &r.target).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// What teardown will do, object by object (`--dry-run`).
fn describe(plans: &[(&LoadedStage, TeardownOptions, TeardownPlan)]) -> String {
    let mut out = String::new();
    for (s, _, plan) in plans {
        let restore = restored(plan);
        out.push_str(&format!(
            "{} · {}: delete {} objects, restore {}\n",
            s.stage.id,
            s.stage.title,
            plan.delete.len(),
            restore.len()
        ));
        if let Some(note) = plan.record_note() {
            out.push_str(&format!("  note     {note}\n"));
        }
        for d in &plan.delete {
            let mark = if plan.unrecorded.contains(&d.key) {
                "  (not in the state record)"
            } else {
                ""
            };
            out.push_str(&format!("  delete   {}{mark}\n", d.key));
        }
        for r in restore {
            out.push_str(&format!("  restore  {r}\n"));
        }
        for k in &plan.skipped {
            out.push_str(&format!("  keep     {} ({})\n", k.key, k.reason));
        }
    }
    out
}

/// The teardown plan as data (`--dry-run -o json|yaml`), and the confirmation's summary.
#[derive(Debug, Serialize)]
struct PlanData {
    cluster: String,
    context: Option<String>,
    user: String,
    stages: Vec<StagePlan>,
    /// Objects deleted in all.
    delete: usize,
    /// Objects restored in all.
    restore: usize,
    /// Namespaces the deleted objects are in (or that are deleted).
    namespaces: Vec<String>,
}

#[derive(Debug, Serialize)]
struct StagePlan {
    stage: String,
    title: String,
    delete: Vec<ObjectKey>,
    restore: Vec<ObjectKey>,
    keep: Vec<teardown::Skipped>,
    /// Objects to delete that the state record did not list (found by their ApplySet labels).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unrecorded: Vec<ObjectKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl PlanData {
    fn new(target: &Target, plans: &[(&LoadedStage, TeardownOptions, TeardownPlan)]) -> PlanData {
        let stages: Vec<StagePlan> = plans
            .iter()
            .map(|(s, _, plan)| StagePlan {
                stage: s.stage.id.clone(),
                title: s.stage.title.clone(),
                delete: plan.delete.iter().map(|d| d.key.clone()).collect(),
                restore: restored(plan).into_iter().cloned().collect(),
                keep: plan.skipped.clone(),
                unrecorded: plan.unrecorded_deletes().into_iter().cloned().collect(),
                note: plan.record_note(),
            })
            .collect();
        let mut namespaces = std::collections::BTreeSet::new();
        for key in stages.iter().flat_map(|s| &s.delete) {
            match &key.namespace {
                Some(ns) => namespaces.insert(ns.clone()),
                None if key.kind == "Namespace" && key.group().is_empty() => {
                    namespaces.insert(key.name.clone())
                }
                None => false,
            };
        }
        PlanData {
            cluster: target.identity.server.clone(),
            context: target.cluster.context().map(str::to_string),
            user: target.identity.user.clone(),
            delete: stages.iter().map(|s| s.delete.len()).sum(),
            restore: stages.iter().map(|s| s.restore.len()).sum(),
            stages,
            namespaces: namespaces.into_iter().collect(),
        }
    }

    /// `teardown on https://api… (context c) as user u`.
    fn header(&self) -> String {
        let context = self
            .context
            .as_deref()
            .map(|c| format!(" (context {c})"))
            .unwrap_or_default();
        format!("teardown on {}{context} as {}\n", self.cluster, self.user)
    }

    /// `delete 38 objects, restore 2, in private-ai-demo and 3 other namespaces`.
    fn total_line(&self) -> String {
        let place = match self.namespaces.as_slice() {
            [] => String::new(),
            [one] => format!(", in {one}"),
            [first, rest @ ..] => format!(
                ", in {first} and {} other namespace{}",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            ),
        };
        format!(
            "delete {} objects, restore {}{place}",
            self.delete, self.restore
        )
    }

    /// Per stage, the deletes counted per namespace and kind (fits a screen; `--dry-run` lists
    /// every object), the restores, and the namespaces kept for someone else's objects.
    fn compact(&self) -> String {
        let mut out = String::new();
        for s in &self.stages {
            out.push_str(&format!(
                "{} · {}: delete {}, restore {}\n",
                s.stage,
                s.title,
                s.delete.len(),
                s.restore.len()
            ));
            if let Some(note) = &s.note {
                out.push_str(&format!("  note     {note}\n"));
            }
            let mut by_ns: std::collections::BTreeMap<
                &str,
                std::collections::BTreeMap<&str, usize>,
            > = std::collections::BTreeMap::new();
            for k in &s.delete {
                let ns = k.namespace.as_deref().unwrap_or("(cluster-wide)");
                *by_ns
                    .entry(ns)
                    .or_default()
                    .entry(k.kind.as_str())
                    .or_default() += 1;
            }
            for (ns, kinds) in by_ns {
                let n: usize = kinds.values().sum();
                let kinds: Vec<String> = kinds.iter().map(|(k, c)| format!("{k} ×{c}")).collect();
                out.push_str(&format!("  delete   {ns}: {n} ({})\n", kinds.join(", ")));
            }
            for r in &s.restore {
                out.push_str(&format!("  restore  {r}\n"));
            }
            for k in s
                .keep
                .iter()
                .filter(|k| !k.foreign.is_empty() || is_kept_data(k))
            {
                out.push_str(&format!("  keep     {} ({})\n", k.key, k.reason));
            }
        }
        out
    }
}

/// One stage's removal as a runner step.
struct Remove {
    cluster: Arc<Cluster>,
    plan: TeardownPlan,
    opts: TeardownOptions,
    /// Operators to restart once their configuration is restored (the `patch` step that
    /// changed it restarted them too: they read it only when they start).
    restarts: Vec<(ObjectKey, RestartPods)>,
}

/// For each object the plan restores, the `restartPods` of the `patch` step that changed it.
fn restarts_after_restore(
    stage: &LoadedStage,
    plan: &TeardownPlan,
) -> Vec<(ObjectKey, RestartPods)> {
    let mut out: Vec<(ObjectKey, RestartPods)> = Vec::new();
    for p in &plan.restore {
        let step = stage.stage.steps.iter().find(|s| s.id == p.step);
        if let Some(StepParams::Patch(params)) = step.map(|s| &s.with)
            && let Some(r) = &params.restart_pods
            && !out.iter().any(|(k, o)| k == &p.target && o == r)
        {
            out.push((p.target.clone(), r.clone()));
        }
    }
    out
}

impl Step for Remove {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        Box::pin(async move {
            if let Some(note) = self.plan.record_note() {
                ctx.progress(note);
            }
            let progress = |message: String| ctx.progress(message);
            match teardown::execute(&self.cluster, &self.plan, &self.opts, &progress).await {
                Ok(report) => {
                    ctx.progress(format!(
                        "deleted {} objects, restored {}",
                        report.deleted.len(),
                        report.restored.len()
                    ));
                    for (target, r) in &self.restarts {
                        if !report.restored.contains(target) {
                            continue;
                        }
                        // The restored object's last write is the change the pods must see.
                        let live = get_object(&self.cluster, target).await.map_err(|e| {
                            StepError::new(format!("failed to read {target} after restoring it"))
                                .with_source(e)
                        })?;
                        if let Some(changed) = live.as_ref().and_then(restart::last_changed) {
                            let deadline = tokio::time::Instant::now() + self.opts.timeout;
                            restart::restart(&self.cluster, ctx, r, changed, deadline).await?;
                        }
                    }
                    let kept: Vec<String> = self
                        .plan
                        .skipped
                        .iter()
                        .filter(|k| !k.foreign.is_empty())
                        .map(|k| format!("kept {}: it {}", k.key, k.reason))
                        .collect();
                    if kept.is_empty() {
                        Ok(StepDone::Succeeded)
                    } else {
                        Ok(StepDone::Degraded(format!(
                            "{}; delete or move them, then run the same teardown again",
                            kept.join("; ")
                        )))
                    }
                }
                Err(e) => {
                    let mut error =
                        StepError::new(format!("failed to remove stage `{}`", self.plan.stage));
                    if let Some(hint) = e.hint() {
                        error = error.with_hint(hint);
                    }
                    if e.is_transient() {
                        error = error.transient(e.retry_after());
                    }
                    Err(error.with_source(e))
                }
            }
        })
    }
}
