//! `democtl teardown --stage N | --all`: converge the cluster to stage N-1 (or to nothing),
//! newest stage first. Shows what will go and asks (unless `--yes`); `--dry-run` only shows.
//! The removal runs through the runner like a deploy: spinners, run log, Ctrl-C, exit codes.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::session;
use super::target::Target;
use super::{AppError, Ctx, print_stdout, render};
use crate::cli::TeardownArgs;
use crate::cluster::teardown::{self, TeardownOptions, TeardownPlan};
use crate::cluster::{Cluster, ObjectKey, lease};
use crate::runner::event::Outcome;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::runner::{
    Disposition, NoState, PlannedStage, PlannedStepRun, RetryPolicy, RunConfig, RunPlan,
};
use crate::stage::LoadedStage;

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
    let target = Target::connect(ctx, Some(&project)).await?;
    let result = teardown(ctx, &args, &removed, keep, &target).await;
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
    let text = describe(&plans);
    let nothing = plans
        .iter()
        .all(|(_, _, p)| p.delete.is_empty() && p.restore.is_empty());
    if args.dry_run || nothing {
        print_stdout(&text)?;
        if nothing && !args.dry_run {
            print_stdout("nothing to remove\n")?;
        }
        return Ok(crate::exit::OK);
    }
    if !ctx.global.yes {
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
            return Ok(crate::exit::OK);
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
    let _ = guard.release().await;
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

/// What teardown will do, for the confirmation and `--dry-run`.
fn describe(plans: &[(&LoadedStage, TeardownOptions, TeardownPlan)]) -> String {
    let mut out = String::new();
    for (s, _, plan) in plans {
        out.push_str(&format!(
            "{} · {}: delete {} objects, restore {} patched objects\n",
            s.stage.id,
            s.stage.title,
            plan.delete.len(),
            plan.restore.len()
        ));
        for d in &plan.delete {
            out.push_str(&format!("  delete   {}\n", d.key));
        }
        for r in &plan.restore {
            out.push_str(&format!("  restore  {}\n", r.target));
        }
        for k in &plan.skipped {
            out.push_str(&format!("  keep     {} ({})\n", k.key, k.reason));
        }
    }
    out
}

/// One stage's removal as a runner step.
struct Remove {
    cluster: Arc<Cluster>,
    plan: TeardownPlan,
    opts: TeardownOptions,
}

impl Step for Remove {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        Box::pin(async move {
            let progress = |message: String| ctx.progress(message);
            match teardown::execute(&self.cluster, &self.plan, &self.opts, &progress).await {
                Ok(report) => {
                    ctx.progress(format!(
                        "deleted {} objects, restored {}",
                        report.deleted.len(),
                        report.restored.len()
                    ));
                    Ok(StepDone::Succeeded)
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
