//! `democtl deploy <stage>`: render, connect, take the cluster lock, decide which earlier stages
//! must run first (those not deployed and healthy, shown up front), build every step, run them
//! through the runner with the terminal and run-log reporters, record progress in the cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::secrets::Secrets;
use super::session::{self, Selection};
use super::state::{ClusterState, RunShape};
use super::target::Target;
use super::{AppError, Ctx, env_file::EnvFile, inputs, render};
use crate::cli::DeployArgs;
use crate::cluster::state::{StageState, StageStatus};
use crate::cluster::{lease, state, status};
use crate::project::Project;
use crate::report::Mode;
use crate::runner::event::Outcome;
use crate::runner::{
    Disposition, NoState, PlannedStage, PlannedStepRun, RetryPolicy, RunConfig, RunPlan, StateStore,
};
use crate::stage::{LoadedStage, StageSet};
use crate::steps::{self, StepEnv};

/// Everything decided before connecting.
pub struct Prepared<'s> {
    pub project: Project,
    pub target: &'s LoadedStage,
    /// The target and every stage it requires, in deploy order.
    pub chain: Vec<&'s LoadedStage>,
    pub renders: BTreeMap<String, Arc<Vec<Value>>>,
    pub switches: BTreeMap<String, bool>,
    pub selection: Selection,
}

/// Resolves the stage, steps and switches, and renders every overlay of the chain (offline).
pub fn prepare<'s>(
    project: Project,
    stages: &'s StageSet,
    stage: &str,
    from: Option<&str>,
    only: Option<&str>,
    flags: &BTreeMap<String, bool>,
    set: &[(String, bool)],
) -> Result<Prepared<'s>, AppError> {
    let target = stages.resolve(stage).map_err(AppError::UnknownStage)?;
    let selection = Selection::new(target, from, only)?;
    let switches = session::switches(stages, flags, set)?;
    let chain = stages.with_prerequisites(target);
    let mut renders = BTreeMap::new();
    let mut problems = Vec::new();
    for s in &chain {
        let objects = render::stage_objects(&project, s)?;
        problems.extend(stages.check_components(s, &render::components(&objects)));
        renders.insert(s.stage.id.clone(), Arc::new(objects));
    }
    if !problems.is_empty() {
        return Err(AppError::Stages(crate::stage::LoadError { problems }));
    }
    Ok(Prepared {
        project,
        target,
        chain,
        renders,
        switches,
        selection,
    })
}

pub async fn run(ctx: &Ctx, args: DeployArgs) -> Result<u8, AppError> {
    if args.present {
        super::replay::needs_a_terminal(ctx)?;
    }
    let project = ctx.project()?;
    let stages = ctx.stages(&project)?;
    let prepared = prepare(
        project.clone(),
        &stages,
        &args.stage,
        args.from.as_deref(),
        args.only.as_deref(),
        &args.switches,
        &args.set_switch,
    )?;
    let target = Target::connect(ctx, Some(&project)).await?;
    let result = deploy(ctx, &args, &stages, &prepared, &target).await;
    let closed = target.close().await;
    let code = result?;
    closed?;
    Ok(code)
}

async fn deploy(
    ctx: &Ctx,
    args: &DeployArgs,
    stages: &StageSet,
    prepared: &Prepared<'_>,
    target: &Target,
) -> Result<u8, AppError> {
    let cluster = target.cluster.clone();
    let target_id = prepared.target.stage.id.clone();
    let command = format!("deploy {target_id}");
    // Before the lock: from here no signal ends the process with the lock held.
    let cancel = session::cancel_on_signals();
    let guard = if args.dry_run {
        None
    } else {
        let holder = lease::default_holder(&target.identity.user);
        let taken = tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            taken = lease::acquire(&cluster, &holder, &command) => Some(taken),
        };
        match taken {
            Some(Ok(guard)) => {
                if let Some(note) = guard.took_over()
                    && super::chatty(&ctx.output)
                {
                    super::print_stderr(&format!("{note}\n"));
                }
                Some(guard)
            }
            Some(Err(e)) => return Err(AppError::cluster(e)),
            None => {
                // Interrupted while taking it: it may have been written.
                let _ = lease::release_held(lease::QUICK_RELEASE_TIMEOUT).await;
                return Err(AppError::Interrupted);
            }
        }
    };
    let hold = guard.as_ref().map(lease::LeaseGuard::hold);
    let result = deploy_locked(ctx, args, stages, prepared, target, cancel, hold).await;
    if let Some(guard) = guard {
        // The lease expires on its own if this fails; the run's result matters more.
        if let Err(e) = guard.release(&target.cluster).await {
            super::print_stderr(&lease::release_warning(&e));
        }
    }
    result
}

async fn deploy_locked(
    ctx: &Ctx,
    args: &DeployArgs,
    stages: &StageSet,
    prepared: &Prepared<'_>,
    target: &Target,
    cancel: tokio_util::sync::CancellationToken,
    hold: Option<Arc<dyn crate::runner::Hold>>,
) -> Result<u8, AppError> {
    let cluster = target.cluster.clone();
    let target_id = prepared.target.stage.id.clone();
    let states: BTreeMap<String, StageState> = until_cancelled(&cancel, state::load_all(&cluster))
        .await?
        .map_err(AppError::cluster)?
        .into_iter()
        .map(|s| (s.stage.clone(), s))
        .collect();
    // Which earlier stages are deployed and healthy (skipped), and which must run first.
    let earlier: Vec<String> = prepared
        .chain
        .iter()
        .filter(|s| s.stage.id != target_id)
        .map(|s| s.stage.id.clone())
        .collect();
    let scope = prepared.selection.flag();
    if let Some(flag) = &scope {
        check_scoped_prerequisites(ctx, flag, &target_id, &earlier, &states)?;
    }
    let healthy = until_cancelled(&cancel, healthy_stages(&cluster, &earlier, &states)).await??;
    let mut notes = Vec::new();
    let mut running: Vec<&LoadedStage> = Vec::new();
    for s in &prepared.chain {
        let id = &s.stage.id;
        if *id != target_id && (healthy.contains(id) || scope.is_some()) {
            let run = states
                .get(id)
                .map(|st| format!(" (run {})", st.run_id))
                .unwrap_or_default();
            let how = if healthy.contains(id) {
                "deployed and healthy"
            } else {
                "deployed but not healthy"
            };
            let why = scope
                .as_ref()
                .map(|flag| format!(" ({flag} acts on {target_id} alone)"))
                .unwrap_or_default();
            notes.push(format!("{id} is {how}{run}: not run again{why}"));
        } else {
            if *id != target_id {
                let why = match states.get(id).map(|st| st.status) {
                    None => "is not deployed",
                    Some(StageStatus::Deployed) => "is deployed but not healthy",
                    Some(StageStatus::InProgress) => "is unfinished",
                    Some(StageStatus::Failed) => "failed last time",
                };
                notes.push(format!("{id} {why}: deployed first"));
            }
            running.push(s);
        }
    }
    // Values derived by earlier runs of every stage (later stages read stage-1 URLs).
    let mut values: BTreeMap<String, Value> = BTreeMap::new();
    for st in states.values() {
        values.extend(st.values.clone());
    }
    let reporters = session::reporters(ctx, "deploy", Some(&target_id))?;
    let artifacts_dir = reporters.log_path.with_extension("");
    let can_prompt = ctx.output.interactive && !ctx.global.yes;
    let env_path = prepared.project.env_file();
    let env_file = match std::fs::read_to_string(&env_path) {
        Ok(text) => EnvFile::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => EnvFile::default(),
        Err(e) => return Err(AppError::io(&env_path, e)),
    };
    let mut input_problems = inputs::env_file_problems(&env_file);
    let mut warnings: Vec<String> = env_file.warnings.clone();
    warnings.extend(env_file.unknown_keys(&secret_keys(stages)));
    let secrets_store = Arc::new(
        Secrets::new(env_file, can_prompt, reporters.progress.clone()).cancel_with(cancel.clone()),
    );
    let secrets: Arc<dyn steps::SecretProvider> = secrets_store.clone();
    let mut secret_steps = Vec::new();
    let mut plan = RunPlan { stages: Vec::new() };
    for s in &running {
        let is_target = s.stage.id == target_id;
        let completed: BTreeSet<String> = if args.resume {
            states
                .get(&s.stage.id)
                .map(|st| st.completed_steps.iter().cloned().collect())
                .unwrap_or_default()
        } else {
            BTreeSet::new()
        };
        let env = StepEnv {
            cluster: cluster.clone(),
            stage: s.stage.clone(),
            objects: prepared
                .renders
                .get(&s.stage.id)
                .cloned()
                .unwrap_or_default(),
            secrets: secrets.clone(),
            project_dir: prepared.project.root().to_path_buf(),
            artifacts_dir: artifacts_dir.clone(),
            switches: prepared.switches.clone(),
            adopt: args.adopt,
            earlier_in_run: running
                .iter()
                .take_while(|r| r.stage.id != s.stage.id)
                .map(|r| r.stage.id.clone())
                .collect(),
            rerun: if is_target {
                prepared.selection.only.as_ref().map(|(_, id)| id.clone())
            } else {
                None
            },
        };
        let mut steps_run = Vec::new();
        for (i, spec) in s.stage.steps.iter().enumerate() {
            let disposition = session::disposition(
                s,
                i,
                is_target,
                &prepared.selection,
                &prepared.switches,
                &completed,
            );
            if disposition == crate::runner::Disposition::Run
                && matches!(spec.with, crate::stage::params::StepParams::Secret(_))
            {
                secret_steps.push(inputs::SecretStep {
                    stage: &s.stage.id,
                    step: spec,
                });
            }
            let step = match disposition {
                crate::runner::Disposition::Run => {
                    Some(steps::build(spec, &env).map_err(|e| AppError::Other {
                        message: format!(
                            "cannot prepare step `{}` of `{}`",
                            spec.id,
                            s.file.display()
                        ),
                        hint: e.hint(),
                        source: Some(Box::new(e)),
                        code: crate::exit::USAGE,
                    })?)
                }
                crate::runner::Disposition::Skip(_) => None,
            };
            let mut planned = planned_step(spec, disposition, step);
            if let Some(speed) = target.sim_speed() {
                planned.timeout = planned.timeout.map(|t| sim_timeout(t, speed));
            }
            steps_run.push(planned);
        }
        plan.stages.push(PlannedStage {
            id: s.stage.id.clone(),
            title: s.stage.title.clone(),
            steps: steps_run,
        });
    }
    // Every input the run needs, before anything changes.
    let checked = inputs::check_secrets(&cluster, &secret_steps, &secrets_store).await;
    let stop = match checked {
        Ok(problems) => {
            input_problems.extend(problems);
            if !input_problems.is_empty() {
                Some(AppError::Inputs(input_problems))
            } else if cancel.is_cancelled() {
                Some(AppError::Interrupted)
            } else {
                None
            }
        }
        Err(e) => Some(e),
    };
    if let Some(error) = stop {
        // Nothing ran: no run log either.
        let _ = std::fs::remove_file(&reporters.log_path);
        return Err(error);
    }
    if super::chatty(&ctx.output) && ctx.output.mode != Mode::Quiet {
        let mut text = String::new();
        for note in notes.iter().chain(warnings.iter()) {
            text.push_str(note);
            text.push('\n');
        }
        super::print_stderr(&text);
    }
    let mut header = session::header(
        ctx,
        "deploy",
        Some(cluster.server().to_owned()),
        cluster.context().map(str::to_owned),
        Some(target.identity.user.clone()),
    );
    header.simulated = target.simulated();
    let config = RunConfig {
        header,
        dry_run: args.dry_run,
        values,
        resume_command: Some(session::resume_command(
            ctx,
            stages,
            &target_id,
            &prepared.switches,
            args.dry_run,
        )),
        jitter_seed: None,
        hold,
    };
    let cluster_state = ClusterState {
        cluster: cluster.clone(),
        user: Some(target.identity.user.clone()),
        run: Some(RunShape {
            target: target_id.clone(),
            switches: prepared.switches.clone(),
            steps: plan
                .stages
                .iter()
                .map(|s| {
                    let run = s.steps.iter().filter(|p| p.disposition == Disposition::Run);
                    (s.id.clone(), run.map(|p| p.id.clone()).collect())
                })
                .collect(),
        }),
    };
    let store: &dyn StateStore = if args.dry_run {
        &NoState
    } else {
        &cluster_state
    };
    let mut fanout = reporters.fanout;
    if args.present {
        // The full-screen view takes the terminal reporter's place; the run log stays.
        fanout.0[0] = Box::new(super::replay::presenter(
            ctx,
            &reporters.log_path,
            cancel.clone(),
            args.pause,
            narrations(&plan),
        ));
    }
    let result = crate::runner::run(plan, config, &mut fanout, store, cancel).await;
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

/// The plan's narrations, for the presenter to show while it waits before a step.
fn narrations(plan: &RunPlan) -> std::collections::HashMap<(String, String), String> {
    plan.stages
        .iter()
        .flat_map(|stage| {
            stage.steps.iter().filter_map(|s| {
                s.narration
                    .clone()
                    .map(|n| ((stage.id.clone(), s.id.clone()), n))
            })
        })
        .collect()
}

/// `future`, unless a signal comes first (the start-up before the run stops at once).
async fn until_cancelled<T>(
    cancel: &tokio_util::sync::CancellationToken,
    future: impl std::future::Future<Output = T>,
) -> Result<T, AppError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(AppError::Interrupted),
        value = future => Ok(value),
    }
}

/// `--only`/`--from` keep the run inside the target stage: every earlier stage must already be
/// deployed, or the run stops before anything changes and says which and how.
fn check_scoped_prerequisites(
    ctx: &Ctx,
    flag: &str,
    target: &str,
    earlier: &[String],
    states: &BTreeMap<String, StageState>,
) -> Result<(), AppError> {
    let gaps: Vec<String> = earlier
        .iter()
        .filter_map(|id| {
            let why = match states.get(id).map(|st| st.status) {
                Some(StageStatus::Deployed) => return None,
                None => "is not deployed",
                Some(StageStatus::InProgress) => "is unfinished",
                Some(StageStatus::Failed) => "failed last time",
            };
            Some(format!("{id} {why}"))
        })
        .collect();
    let Some(last) = earlier
        .iter()
        .rev()
        .find(|id| states.get(*id).map(|st| st.status) != Some(StageStatus::Deployed))
    else {
        return Ok(());
    };
    let prefix = session::command_prefix(ctx);
    Err(AppError::usage(
        format!(
            "`{flag}` acts on {target} alone, but {}",
            gaps.join(" and ")
        ),
        Some(format!(
            "deploy the earlier stages first with `{prefix} deploy {last}` (it deploys what {last} requires too), then run this again; or run `{prefix} deploy {target}` without `{flag}`"
        )),
    ))
}

/// Stages whose record says deployed and whose components are all ready now.
async fn healthy_stages(
    cluster: &crate::cluster::Cluster,
    ids: &[String],
    states: &BTreeMap<String, StageState>,
) -> Result<BTreeSet<String>, AppError> {
    let deployed: Vec<String> = ids
        .iter()
        .filter(|id| {
            states
                .get(*id)
                .is_some_and(|s| s.status == StageStatus::Deployed)
        })
        .cloned()
        .collect();
    if deployed.is_empty() {
        return Ok(BTreeSet::new());
    }
    let report = status::collect(cluster, &deployed)
        .await
        .map_err(AppError::cluster)?;
    Ok(report
        .stages
        .iter()
        .filter(|s| s.state == "deployed" && s.components.iter().all(|c| c.status == "Current"))
        .map(|s| s.stage.clone())
        .collect())
}

/// The environment variables the stages' secret steps read (for `.env` typo warnings).
fn secret_keys(stages: &StageSet) -> Vec<&str> {
    let mut keys = Vec::new();
    for s in stages.stages() {
        for step in &s.stage.steps {
            if let crate::stage::params::StepParams::Secret(p) = &step.with {
                keys.extend(p.data.values().map(|source| source.env.as_str()));
            }
        }
    }
    keys
}

/// Shortest real-time timeout on the simulated cluster: the simulator's controllers run on real
/// CPUs, and a loaded machine must not turn a healthy wait into a timeout.
const SIM_TIMEOUT_FLOOR: Duration = Duration::from_secs(60);

/// On the simulated cluster a step's timeout counts simulated time (`--sim-speed 60`: a 30-minute
/// wait gives up after 30 real seconds), but never less than [`SIM_TIMEOUT_FLOOR`] and never more
/// than the stage file says.
fn sim_timeout(timeout: Duration, speed: f64) -> Duration {
    if !(speed.is_finite() && speed > 1.0) {
        return timeout;
    }
    timeout.div_f64(speed).max(SIM_TIMEOUT_FLOOR).min(timeout)
}

/// A stage-file step as the runner plans it.
pub fn planned_step(
    spec: &crate::stage::StepSpec,
    disposition: crate::runner::Disposition,
    step: Option<Box<dyn crate::runner::step::Step>>,
) -> PlannedStepRun {
    PlannedStepRun {
        id: spec.id.clone(),
        title: spec.title.clone(),
        kind: spec.kind.as_str().to_owned(),
        narration: spec.narration.clone(),
        timeout: spec.timeout,
        retry: spec
            .retry
            .as_ref()
            .map(|r| RetryPolicy {
                attempts: r.attempts,
                base: r.base,
                cap: r.cap,
            })
            .unwrap_or_default(),
        optional: spec.optional,
        disposition,
        step,
    }
}

#[cfg(test)]
mod sim_timeout_tests {
    use super::*;

    #[test]
    fn sim_timeouts_count_simulated_time_within_bounds() {
        let thirty_min = Duration::from_secs(30 * 60);
        // 30 simulated minutes at 60× are 30 real seconds, raised to the one-minute floor.
        assert_eq!(sim_timeout(thirty_min, 60.0), SIM_TIMEOUT_FLOOR);
        // At 10× the scaled value is above the floor and is used as is.
        assert_eq!(sim_timeout(thirty_min, 10.0), Duration::from_secs(180));
        // Never longer than the stage file's own timeout, never changed at real speed.
        assert_eq!(
            sim_timeout(Duration::from_secs(20), 200.0),
            Duration::from_secs(20)
        );
        assert_eq!(sim_timeout(thirty_min, 1.0), thirty_min);
        assert_eq!(sim_timeout(thirty_min, 0.5), thirty_min);
    }
}
