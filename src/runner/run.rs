//! The sequential loop: one step at a time, `select!` over the step, its progress messages, its
//! deadline and cancellation (Ctrl-C), everything turned into `RunEvent`s for the reporter.
//! With a [`Hold`] on the cluster lock, nothing is written (no step attempt, no state record)
//! while the lock may have been lost, and a run that lost it stops.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::event::{
    ErrorReport, Outcome, PlannedStep, ReportError, Reporter, RunEvent, RunEventKind, RunHeader,
    RunSummary, StepSummary,
};
use super::hold::{Hold, LostHold};
use super::plan::{Disposition, PlannedStage, PlannedStepRun, RunPlan};
use super::retry::Backoff;
use super::state::{StateError, StateStore};
use super::step::{StepCtx, StepDone, StepError, StepMessage};

/// Formats the command to run after a step failed or was interrupted: `(stage, step, error) →
/// command line` (the error, when there is one, lets the app point at an earlier step whose
/// inputs the hint asks to change).
pub type ResumeCommand = Arc<dyn Fn(&str, &str, Option<&ErrorReport>) -> String + Send + Sync>;

/// How to run.
pub struct RunConfig {
    /// The run log's first line.
    pub header: RunHeader,
    /// Server-side dry run: steps must not change the cluster.
    pub dry_run: bool,
    /// Values recorded by earlier runs (`stage1.isvc.mistral.url`, …).
    pub values: BTreeMap<String, serde_json::Value>,
    pub resume_command: Option<ResumeCommand>,
    /// Reproducible retry jitter (tests).
    pub jitter_seed: Option<u64>,
    /// The cluster lock the run holds (none for dry runs and tests without a cluster).
    pub hold: Option<Arc<dyn Hold>>,
}

/// How the run ended.
#[derive(Debug)]
pub struct RunResult {
    pub summary: RunSummary,
    /// Ctrl-C (or the caller's cancellation) stopped the run.
    pub interrupted: bool,
    /// The first reporter failure (the run was cancelled because of it).
    pub report_error: Option<ReportError>,
    /// Values derived during the run and before it.
    pub values: BTreeMap<String, serde_json::Value>,
}

/// Runs the plan. Cancelling `cancel` (the app does on Ctrl-C) stops the current step cleanly:
/// its future is dropped, it is reported as cancelled, and the rest are skipped.
pub async fn run(
    plan: RunPlan,
    config: RunConfig,
    reporter: &mut dyn Reporter,
    state: &dyn StateStore,
    cancel: CancellationToken,
) -> RunResult {
    let run_id = config.header.run_id.clone();
    let mut runner = Runner {
        reporter,
        started: Instant::now(),
        report_error: None,
        cancel,
        values: Arc::new(Mutex::new(config.values.clone())),
        config,
        summary: Vec::new(),
        aborted: None,
        lost: None,
    };
    runner.emit(RunEventKind::RunStarted(runner.config.header.clone()));
    for stage in &plan.stages {
        runner.run_stage(stage, &run_id, state).await;
    }
    let interrupted = matches!(runner.aborted, Some(Abort::Cancelled));
    let outcome = runner.run_outcome();
    let cancelled = runner
        .summary
        .iter()
        .find(|s| s.outcome == Outcome::Cancelled)
        .map(|s| (s.stage.clone(), s.step.clone()));
    let next = match &outcome {
        Outcome::Failed { resume_command, .. } | Outcome::TimedOut { resume_command, .. } => {
            resume_command.clone()
        }
        Outcome::Cancelled => cancelled
            .as_ref()
            .and_then(|(stage, step)| runner.resume(stage, step, None)),
        // A degraded step did its work only in part (an optional step failed, an endpoint was
        // not found): run again from the first one once its problem is fixed.
        Outcome::Degraded { .. } => runner
            .summary
            .iter()
            .find(|s| matches!(s.outcome, Outcome::Degraded { .. }))
            .and_then(|s| runner.resume(&s.stage, &s.step, None)),
        Outcome::Succeeded | Outcome::Skipped { .. } => None,
    };
    let summary = RunSummary {
        outcome,
        steps: runner.summary.clone(),
        duration: runner.started.elapsed(),
        next,
    };
    if interrupted {
        let (stage, step) = cancelled
            .map(|(a, b)| (Some(a), Some(b)))
            .unwrap_or_default();
        runner.emit(RunEventKind::RunInterrupted { stage, step });
    }
    runner.emit(RunEventKind::RunFinished(summary.clone()));
    if let Err(e) = runner.reporter.finish() {
        runner.report_error.get_or_insert(e);
    }
    let values = runner.values.lock().map(|v| v.clone()).unwrap_or_default();
    RunResult {
        summary,
        interrupted,
        report_error: runner.report_error,
        values,
    }
}

/// Why the rest of the run is skipped.
#[derive(Debug, Clone, PartialEq)]
enum Abort {
    Failed(Outcome),
    Cancelled,
}

struct Runner<'r> {
    reporter: &'r mut dyn Reporter,
    started: Instant,
    report_error: Option<ReportError>,
    cancel: CancellationToken,
    values: Arc<Mutex<BTreeMap<String, serde_json::Value>>>,
    config: RunConfig,
    summary: Vec<StepSummary>,
    aborted: Option<Abort>,
    /// The cluster lock was lost: nothing more is written, not even the stage's end.
    lost: Option<LostHold>,
}

impl Runner<'_> {
    /// Passes the run's clock to the reporters (see [`Reporter::tick`]).
    fn tick(&mut self) {
        if let Err(e) = self.reporter.tick(self.started.elapsed())
            && self.report_error.is_none()
        {
            self.report_error = Some(e);
            self.cancel.cancel();
        }
    }

    fn emit(&mut self, kind: RunEventKind) {
        let event = RunEvent {
            at: jiff::Timestamp::now().to_string(),
            elapsed: self.started.elapsed(),
            kind,
        };
        if let Err(e) = self.reporter.report(&event)
            && self.report_error.is_none()
        {
            // Like nextest: a reporter that cannot write cancels the run, reporting continues.
            self.report_error = Some(e);
            self.cancel.cancel();
        }
    }

    async fn run_stage(&mut self, stage: &PlannedStage, run_id: &str, state: &dyn StateStore) {
        let started = Instant::now();
        let steps = stage
            .steps
            .iter()
            .map(|s| PlannedStep {
                id: s.id.clone(),
                title: s.title.clone(),
                kind: s.kind.clone(),
                disposition: s.disposition.describe(),
            })
            .collect();
        self.emit(RunEventKind::StageStarted {
            stage: stage.id.clone(),
            title: stage.title.clone(),
            steps,
        });
        let runs_anything = stage
            .steps
            .iter()
            .any(|s| s.disposition == Disposition::Run);
        let mut recording = self.aborted.is_none() && runs_anything && !self.config.dry_run;
        let mut degraded = Vec::new();
        let mut stage_failure = None;
        // A run that lost the cluster lock starts no stage: another run may be changing it.
        if recording && let Err(lost) = self.confirm_hold().await {
            let first = stage
                .steps
                .iter()
                .find(|s| s.disposition == Disposition::Run)
                .map_or("", |s| s.id.as_str());
            let outcome = self.lost_hold(&stage.id, first, &lost);
            self.aborted = Some(Abort::Failed(outcome.clone()));
            stage_failure = Some(outcome);
            recording = false;
        }
        // A stage whose record cannot be written does not run: a run that cannot be resumed
        // or torn down from its record must not change the cluster.
        if recording && let Err(e) = state.stage_started(&stage.id, run_id).await {
            let first = stage
                .steps
                .iter()
                .find(|s| s.disposition == Disposition::Run)
                .map_or("", |s| s.id.as_str());
            let outcome = self.state_failed(&stage.id, first, &e);
            self.aborted = Some(Abort::Failed(outcome.clone()));
            stage_failure = Some(outcome);
            recording = false;
        }
        for planned in &stage.steps {
            let (outcome, duration) = match (&self.aborted, &planned.disposition, &planned.step) {
                (Some(_), _, _) => (
                    Outcome::Skipped {
                        reason: self.skip_reason(),
                    },
                    Duration::ZERO,
                ),
                (None, Disposition::Skip(reason), _) => (
                    Outcome::Skipped {
                        reason: reason.clone(),
                    },
                    Duration::ZERO,
                ),
                (None, Disposition::Run, None) => (
                    Outcome::Skipped {
                        reason: "nothing to run".to_owned(),
                    },
                    Duration::ZERO,
                ),
                (None, Disposition::Run, Some(_)) => self.run_step(&stage.id, planned).await,
            };
            // A step whose completion cannot be recorded failed: the next run would redo it
            // without knowing, or trust values it never stored.
            let outcome = match outcome {
                Outcome::Succeeded | Outcome::Degraded { .. } if recording => {
                    let values = self.values.lock().map(|v| v.clone()).unwrap_or_default();
                    match self.confirm_hold().await {
                        Err(lost) => self.lost_hold(&stage.id, &planned.id, &lost),
                        Ok(()) => match state.step_completed(&stage.id, &planned.id, &values).await
                        {
                            Ok(()) => outcome,
                            Err(e) => self.state_failed(&stage.id, &planned.id, &e),
                        },
                    }
                }
                other => other,
            };
            match &outcome {
                Outcome::Succeeded | Outcome::Degraded { .. } => {
                    if let Outcome::Degraded { .. } = outcome {
                        degraded.push(planned.id.clone());
                    }
                }
                Outcome::Failed { .. } | Outcome::TimedOut { .. } => {
                    if self.aborted.is_none() {
                        self.aborted = Some(Abort::Failed(outcome.clone()));
                        stage_failure = Some(outcome.clone());
                    }
                }
                Outcome::Cancelled => {
                    self.aborted = Some(Abort::Cancelled);
                    stage_failure = Some(Outcome::Cancelled);
                }
                Outcome::Skipped { .. } => {}
            }
            self.summary.push(StepSummary {
                stage: stage.id.clone(),
                step: planned.id.clone(),
                title: planned.title.clone(),
                outcome: outcome.clone(),
                duration,
            });
            self.emit(RunEventKind::StepFinished {
                stage: stage.id.clone(),
                step: planned.id.clone(),
                outcome,
                duration,
            });
        }
        let mut outcome = match stage_failure {
            Some(failure) => failure,
            None if !runs_anything || (self.aborted.is_some() && !recording) => Outcome::Skipped {
                reason: if runs_anything {
                    self.skip_reason()
                } else {
                    "no step to run".into()
                },
            },
            None if !degraded.is_empty() => Outcome::Degraded {
                reason: degraded_reason(&degraded),
            },
            None => Outcome::Succeeded,
        };
        // A run that lost the lock leaves the records to the run that holds it now.
        if recording && self.confirm_hold().await.is_err() {
            recording = false;
        }
        if recording {
            // Bounded: after Ctrl-C the cluster may be what hangs.
            let record = tokio::time::timeout(
                STATE_FINISH_TIMEOUT,
                state.stage_finished(&stage.id, &outcome),
            );
            let failure = match record.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(StateError {
                    stage: stage.id.clone(),
                    source: format!(
                        "no answer within {}",
                        humantime::format_duration(STATE_FINISH_TIMEOUT)
                    )
                    .into(),
                }),
            };
            if let Some(e) = failure {
                // A stage that did its work but could not say so failed (the next run would
                // find it in-progress); a failed or interrupted one keeps its own outcome.
                if matches!(outcome, Outcome::Succeeded | Outcome::Degraded { .. }) {
                    let last = stage
                        .steps
                        .iter()
                        .rev()
                        .find(|s| s.disposition == Disposition::Run)
                        .map_or("", |s| s.id.as_str());
                    outcome = self.state_failed(&stage.id, last, &e);
                    self.aborted = Some(Abort::Failed(outcome.clone()));
                } else {
                    self.warn_state(&stage.id, &e);
                }
            }
        }
        self.emit(RunEventKind::StageFinished {
            stage: stage.id.clone(),
            outcome,
            duration: started.elapsed(),
        });
    }

    /// Whether the run still holds the cluster lock (always, without one).
    async fn confirm_hold(&mut self) -> Result<(), LostHold> {
        if let Some(lost) = &self.lost {
            return Err(lost.clone());
        }
        let Some(hold) = self.config.hold.clone() else {
            return Ok(());
        };
        let confirmed = hold.confirm().await;
        if let Err(lost) = &confirmed {
            self.lost = Some(lost.clone());
        }
        confirmed
    }

    /// The outcome of a step (or stage) stopped because the run lost the cluster lock.
    fn lost_hold(&self, stage: &str, step: &str, lost: &LostHold) -> Outcome {
        let error = ErrorReport {
            message: lost.message.clone(),
            chain: Vec::new(),
            hint: Some(lost.hint.clone()),
            evidence: Vec::new(),
            transient: false,
        };
        Outcome::Failed {
            resume_command: self.resume(stage, step, Some(&error)),
            error,
        }
    }

    /// The outcome of a step (or stage) whose state record could not be written.
    fn state_failed(&self, stage: &str, step: &str, error: &StateError) -> Outcome {
        let message = error.to_string();
        let error = ErrorReport {
            chain: ErrorReport::chain_of(error, &message),
            message,
            hint: Some(
                "the cluster did not take the record after retries; check the API server, then run the same command again"
                    .into(),
            ),
            evidence: Vec::new(),
            transient: true,
        };
        Outcome::Failed {
            resume_command: self.resume(stage, step, Some(&error)),
            error,
        }
    }

    fn warn_state(&mut self, stage: &str, error: &StateError) {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        self.emit(RunEventKind::Warned {
            stage: stage.to_owned(),
            step: None,
            message,
        });
    }

    fn skip_reason(&self) -> String {
        match &self.aborted {
            Some(Abort::Cancelled) => "interrupted".to_owned(),
            _ => "an earlier step failed".to_owned(),
        }
    }

    fn run_outcome(&self) -> Outcome {
        match &self.aborted {
            Some(Abort::Failed(outcome)) => outcome.clone(),
            Some(Abort::Cancelled) => Outcome::Cancelled,
            None => {
                let degraded: Vec<String> = self
                    .summary
                    .iter()
                    .filter(|s| matches!(s.outcome, Outcome::Degraded { .. }))
                    .map(|s| s.step.clone())
                    .collect();
                if degraded.is_empty() {
                    Outcome::Succeeded
                } else {
                    Outcome::Degraded {
                        reason: degraded_reason(&degraded),
                    }
                }
            }
        }
    }

    fn resume(&self, stage: &str, step: &str, error: Option<&ErrorReport>) -> Option<String> {
        self.config
            .resume_command
            .as_ref()
            .map(|f| f(stage, step, error))
    }

    /// Runs one step with retries, its deadline and cancellation.
    async fn run_step(&mut self, stage: &str, planned: &PlannedStepRun) -> (Outcome, Duration) {
        let started = Instant::now();
        let Some(step) = planned.step.as_deref() else {
            return (
                Outcome::Skipped {
                    reason: "nothing to run".into(),
                },
                Duration::ZERO,
            );
        };
        self.emit(RunEventKind::StepStarted {
            stage: stage.to_owned(),
            step: planned.id.clone(),
            title: planned.title.clone(),
            narration: planned.narration.clone(),
            timeout: planned.timeout,
        });
        let deadline = planned.timeout.map(|t| started + t);
        // Steps see `deadline` and give up with their own evidence; the runner stops a step
        // that overruns it by more than the grace.
        let hard_deadline = deadline.map(|d| d + DEADLINE_GRACE);
        let mut backoff = Backoff::new(&planned.retry, self.config.jitter_seed);
        let mut attempt = 1u32;
        let hold = self.config.hold.clone();
        let outcome = loop {
            if let Err(lost) = self.confirm_hold().await {
                break self.lost_hold(stage, &planned.id, &lost);
            }
            let (sender, mut receiver) = mpsc::unbounded_channel();
            let step_cancel = self.cancel.child_token();
            let ctx = StepCtx::new(
                stage,
                planned.id.clone(),
                sender,
                step_cancel.clone(),
                deadline,
                self.values.clone(),
                self.config.dry_run,
            );
            let mut future = step.run(&ctx);
            let mut clock = tokio::time::interval(CLOCK_TICK);
            clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let ended = loop {
                tokio::select! {
                    biased;
                    () = self.cancel.cancelled() => break Ended::Cancelled,
                    () = sleep_until(hard_deadline) => break Ended::TimedOut,
                    // The step is not polled (writes nothing more) until the lock is confirmed.
                    () = doubt(hold.as_deref()) => {
                        if let Err(lost) = self.confirm_hold().await {
                            break Ended::LostHold(lost);
                        }
                    }
                    Some(message) = receiver.recv() => self.forward(stage, &planned.id, message),
                    result = &mut future => break Ended::Done(result),
                    _ = clock.tick() => self.tick(),
                }
            };
            step_cancel.cancel();
            drop(future);
            drop(ctx);
            while let Ok(message) = receiver.try_recv() {
                self.forward(stage, &planned.id, message);
            }
            match ended {
                Ended::Done(Ok(StepDone::Succeeded)) => break Outcome::Succeeded,
                Ended::Done(Ok(StepDone::Degraded(reason))) => break Outcome::Degraded { reason },
                Ended::Cancelled => break Outcome::Cancelled,
                Ended::LostHold(lost) => break self.lost_hold(stage, &planned.id, &lost),
                Ended::TimedOut => break self.timed_out(stage, planned, None),
                Ended::Done(Err(error)) => {
                    let report = error_report(&error);
                    let delay = if error.transient {
                        backoff.next(error.retry_after)
                    } else {
                        None
                    };
                    let Some(delay) = delay else {
                        break self.failed(stage, planned, report);
                    };
                    if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                        break self.timed_out(stage, planned, Some(report));
                    }
                    attempt += 1;
                    self.emit(RunEventKind::StepRetrying {
                        stage: stage.to_owned(),
                        step: planned.id.clone(),
                        attempt,
                        max_attempts: planned.retry.attempts,
                        delay,
                        error: report,
                    });
                    tokio::select! {
                        () = self.cancel.cancelled() => break Outcome::Cancelled,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        };
        (outcome, started.elapsed())
    }

    fn failed(&self, stage: &str, planned: &PlannedStepRun, error: ErrorReport) -> Outcome {
        if planned.optional {
            return Outcome::Degraded {
                reason: format!("optional step failed: {}", error.message),
            };
        }
        Outcome::Failed {
            resume_command: self.resume(stage, &planned.id, Some(&error)),
            error,
        }
    }

    fn timed_out(
        &self,
        stage: &str,
        planned: &PlannedStepRun,
        last: Option<ErrorReport>,
    ) -> Outcome {
        let timeout = planned.timeout.unwrap_or_default();
        let mut error = ErrorReport {
            message: format!(
                "step `{}` did not finish within {}",
                planned.id,
                humantime::format_duration(timeout)
            ),
            hint: Some("the step's `timeout` is set in the stage file".into()),
            ..ErrorReport::default()
        };
        if let Some(last) = last {
            error.chain.push(format!("last error: {}", last.message));
            error.chain.extend(last.chain);
            error.evidence = last.evidence;
            if let Some(hint) = last.hint {
                error.hint = Some(hint);
            }
        }
        if planned.optional {
            return Outcome::Degraded {
                reason: format!("optional step timed out: {}", error.message),
            };
        }
        Outcome::TimedOut {
            resume_command: self.resume(stage, &planned.id, Some(&error)),
            error,
        }
    }

    fn forward(&mut self, stage: &str, step: &str, message: StepMessage) {
        let (stage, step) = (stage.to_owned(), step.to_owned());
        let kind = match message {
            StepMessage::Progress(message) => RunEventKind::StepProgressed {
                stage,
                step,
                message,
            },
            StepMessage::ObjectApplied(object) => RunEventKind::ObjectApplied {
                stage,
                step,
                object,
            },
            StepMessage::ValueDerived { key, value } => RunEventKind::ValueDerived {
                stage,
                step,
                key,
                value,
            },
            StepMessage::Output(output) => RunEventKind::OutputProduced {
                stage,
                step,
                output,
            },
            StepMessage::Measure(measure) => RunEventKind::StepMeasured {
                stage,
                step,
                measure,
            },
            StepMessage::Endpoints {
                title,
                mut endpoints,
            } => {
                // A dry run deploys nothing: an endpoint it cannot find yet is not missing.
                if self.config.dry_run {
                    for e in endpoints.iter_mut().filter(|e| e.url.is_none()) {
                        e.url = Some(DRY_RUN_ENDPOINT.to_owned());
                    }
                }
                RunEventKind::EndpointsFound {
                    stage,
                    step,
                    title,
                    endpoints,
                }
            }
            StepMessage::Benchmarks(results) => RunEventKind::BenchmarksMeasured {
                stage,
                step,
                results,
            },
            StepMessage::Warning(message) => RunEventKind::Warned {
                stage,
                step: Some(step),
                message,
            },
        };
        self.emit(kind);
    }
}

/// What a dry run shows for an endpoint the deploy would create (docs/commands.md, `--dry-run`).
pub const DRY_RUN_ENDPOINT: &str = "known after the deploy";

/// How long past its deadline a step may take to report its own timeout.
pub const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// How often a running step passes the clock to the reporters ([`Reporter::tick`]).
const CLOCK_TICK: Duration = Duration::from_secs(1);
/// How long recording a stage's end may take (the cluster's retries fit in it; after Ctrl-C
/// the cluster may be what hangs).
const STATE_FINISH_TIMEOUT: Duration = Duration::from_secs(30);

enum Ended {
    Done(Result<StepDone, StepError>),
    Cancelled,
    TimedOut,
    LostHold(LostHold),
}

async fn doubt(hold: Option<&dyn Hold>) {
    match hold {
        Some(hold) => hold.doubt().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn degraded_reason(steps: &[String]) -> String {
    let names: Vec<String> = steps.iter().map(|s| format!("`{s}`")).collect();
    if steps.len() == 1 {
        format!("step {} degraded", names.join(", "))
    } else {
        format!("steps {} degraded", names.join(", "))
    }
}

/// A step error as reporters show it: message, cause chain, hint, evidence.
pub fn error_report(error: &StepError) -> ErrorReport {
    let chain = ErrorReport::chain_of(error, &error.message);
    ErrorReport {
        message: error.message.clone(),
        chain,
        hint: error.hint.clone(),
        evidence: error.evidence.clone(),
        transient: error.transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cause with a message and an optional source, like kube's errors.
    #[derive(Debug)]
    struct Cause(&'static str, Option<Box<Cause>>);

    impl std::fmt::Display for Cause {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Cause {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    #[test]
    fn the_chain_drops_causes_that_only_wrap_their_source() {
        let api = Cause(
            "ApiError: namespaces \"demo\" not found: NotFound (Status { code: 404 })",
            Some(Box::new(Cause(
                "namespaces \"demo\" not found: NotFound",
                None,
            ))),
        );
        let error = StepError::new("failed to apply 3 objects").with_source(Cause(
            "failed to apply `ResourceQuota/q` in `demo`",
            Some(Box::new(api)),
        ));
        assert_eq!(
            error_report(&error).chain,
            vec![
                "failed to apply `ResourceQuota/q` in `demo`".to_string(),
                "namespaces \"demo\" not found: NotFound".to_string(),
            ]
        );
    }
}
