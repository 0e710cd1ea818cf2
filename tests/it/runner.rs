//! The runner with fake steps, a recording reporter and paused tokio time: retries, timeouts,
//! cancellation, skips, degraded optional steps, state recording and resume commands.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use democtl::runner::event::{Outcome, ReportError, Reporter, RunEvent, RunEventKind, RunHeader};
use democtl::runner::step::{Step, StepCtx, StepDone, StepError};
use democtl::runner::{
    Disposition, PlannedStage, PlannedStepRun, RetryPolicy, RunConfig, RunPlan, RunResult,
    StateError, StateStore,
};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

/// What a fake step does on each attempt.
#[derive(Clone)]
pub(crate) enum Act {
    Succeed,
    /// Fails transiently this many times, then succeeds.
    Flaky {
        failures: u32,
        retry_after: Option<Duration>,
    },
    Fail,
    /// Fails transiently forever.
    AlwaysTransient,
    Sleep(Duration),
    Hang,
}

pub(crate) struct Fake {
    act: Act,
    attempts: Arc<AtomicU32>,
}

impl Step for Fake {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        Box::pin(async move {
            let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
            ctx.progress(format!("attempt {attempt}"));
            match &self.act {
                Act::Succeed => Ok(StepDone::Succeeded),
                Act::Flaky {
                    failures,
                    retry_after,
                } if attempt <= *failures => {
                    Err(StepError::new("503 Service Unavailable from `/apis`")
                        .transient(*retry_after))
                }
                Act::Flaky { .. } => Ok(StepDone::Succeeded),
                Act::Fail => Err(StepError::new("job `download-mistral` failed")
                    .with_hint("check the Hugging Face token")
                    .with_evidence(vec!["401 Unauthorized".into()])
                    .with_source(std::io::Error::other("pod exited with code 1"))),
                Act::AlwaysTransient => Err(StepError::new("connection refused").transient(None)),
                Act::Sleep(d) => {
                    tokio::time::sleep(*d).await;
                    Ok(StepDone::Succeeded)
                }
                Act::Hang => {
                    ctx.cancel.cancelled().await;
                    Ok(StepDone::Succeeded)
                }
            }
        })
    }
}

pub(crate) fn step(id: &str, act: Act) -> (PlannedStepRun, Arc<AtomicU32>) {
    let attempts = Arc::new(AtomicU32::new(0));
    let planned = PlannedStepRun {
        id: id.into(),
        title: format!("Step {id}"),
        kind: "fake".into(),
        narration: None,
        timeout: None,
        retry: RetryPolicy {
            attempts: 6,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(30),
        },
        optional: false,
        disposition: Disposition::Run,
        step: Some(Box::new(Fake {
            act,
            attempts: attempts.clone(),
        })),
    };
    (planned, attempts)
}

#[derive(Clone, Default)]
pub(crate) struct Recorder {
    pub(crate) events: Arc<Mutex<Vec<RunEvent>>>,
    fail_after: Option<usize>,
}

impl Reporter for Recorder {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        let mut events = self.events.lock().unwrap();
        events.push(event.clone());
        if self.fail_after.is_some_and(|n| events.len() > n) {
            return Err(ReportError {
                reporter: "test",
                source: std::io::Error::other("disk full"),
            });
        }
        Ok(())
    }
}

impl Recorder {
    fn kinds(&self) -> Vec<RunEventKind> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.clone())
            .collect()
    }

    /// `type:step` for each event, e.g. `step-finished:b=skipped`.
    fn trace(&self) -> Vec<String> {
        self.kinds()
            .iter()
            .map(|k| match k {
                RunEventKind::StepStarted { step, .. } => format!("started:{step}"),
                RunEventKind::StepProgressed { step, message, .. } => {
                    format!("progress:{step}:{message}")
                }
                RunEventKind::StepRetrying {
                    step,
                    attempt,
                    max_attempts,
                    ..
                } => {
                    format!("retry:{step}:{attempt}/{max_attempts}")
                }
                RunEventKind::StepFinished { step, outcome, .. } => {
                    format!("finished:{step}={}", word(outcome))
                }
                RunEventKind::StageStarted { stage, .. } => format!("stage:{stage}"),
                RunEventKind::StageFinished { stage, outcome, .. } => {
                    format!("stage-finished:{stage}={}", word(outcome))
                }
                RunEventKind::RunStarted(_) => "run-started".into(),
                RunEventKind::RunInterrupted { step, .. } => {
                    format!("interrupted:{}", step.clone().unwrap_or_default())
                }
                RunEventKind::RunFinished(s) => format!("run-finished={}", word(&s.outcome)),
                RunEventKind::Warned { message, .. } => format!("warned:{message}"),
                other => format!("{other:?}"),
            })
            .collect()
    }
}

fn word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "ok",
        Outcome::Degraded { .. } => "degraded",
        Outcome::Failed { .. } => "failed",
        Outcome::Skipped { .. } => "skipped",
        Outcome::TimedOut { .. } => "timed-out",
        Outcome::Cancelled => "cancelled",
    }
}

#[derive(Default)]
pub(crate) struct MemoryState {
    calls: Mutex<Vec<String>>,
    /// Recording the completion of this step fails (the cluster did not take the record).
    refuse_step: Option<String>,
}

impl StateStore for MemoryState {
    fn stage_started<'a>(
        &'a self,
        stage: &'a str,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("started {stage} {run_id}"));
        Box::pin(async { Ok(()) })
    }

    fn step_completed<'a>(
        &'a self,
        stage: &'a str,
        step: &'a str,
        _: &'a BTreeMap<String, serde_json::Value>,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("completed {stage} {step}"));
        let refused = self.refuse_step.as_deref() == Some(step);
        Box::pin(async move {
            if refused {
                return Err(StateError {
                    stage: stage.to_owned(),
                    source: "503 ServiceUnavailable after 8 attempts".into(),
                });
            }
            Ok(())
        })
    }

    fn stage_finished<'a>(
        &'a self,
        stage: &'a str,
        outcome: &'a Outcome,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("finished {stage} {}", word(outcome)));
        Box::pin(async { Ok(()) })
    }
}

pub(crate) fn config() -> RunConfig {
    RunConfig {
        header: RunHeader {
            format_version: 1,
            run_id: "run-1".into(),
            democtl_version: "test".into(),
            command_line: vec!["democtl".into(), "deploy".into(), "stage1".into()],
            command: "deploy".into(),
            cluster_server: None,
            context: None,
            user: None,
            simulated: None,
        },
        dry_run: false,
        values: BTreeMap::new(),
        resume_command: Some(Arc::new(|stage, step, _| {
            format!("democtl deploy {stage} --from {step}")
        })),
        jitter_seed: Some(42),
        hold: None,
    }
}

async fn run_steps(
    steps: Vec<PlannedStepRun>,
    recorder: &mut Recorder,
    state: &MemoryState,
) -> RunResult {
    let plan = RunPlan {
        stages: vec![PlannedStage {
            id: "stage1".into(),
            title: "Stage 1".into(),
            steps,
        }],
    };
    democtl::runner::run(plan, config(), recorder, state, CancellationToken::new()).await
}

#[tokio::test(start_paused = true)]
async fn steps_run_in_order_and_are_recorded() {
    let (a, _) = step("a", Act::Succeed);
    let (b, _) = step("b", Act::Succeed);
    let (mut c, _) = step("c", Act::Succeed);
    c.disposition = Disposition::Skip("--no-benchmarks".into());
    let mut recorder = Recorder::default();
    let state = MemoryState::default();
    let result = run_steps(vec![a, b, c], &mut recorder, &state).await;
    assert_eq!(result.summary.outcome, Outcome::Succeeded);
    assert_eq!(
        recorder.trace(),
        [
            "run-started",
            "stage:stage1",
            "started:a",
            "progress:a:attempt 1",
            "finished:a=ok",
            "started:b",
            "progress:b:attempt 1",
            "finished:b=ok",
            "finished:c=skipped",
            "stage-finished:stage1=ok",
            "run-finished=ok",
        ]
    );
    assert_eq!(
        *state.calls.lock().unwrap(),
        [
            "started stage1 run-1",
            "completed stage1 a",
            "completed stage1 b",
            "finished stage1 ok"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_whose_completion_cannot_be_recorded_fails_and_resumes_there() {
    let (a, _) = step("a", Act::Succeed);
    let (b, _) = step("b", Act::Succeed);
    let (c, _) = step("c", Act::Succeed);
    let mut recorder = Recorder::default();
    let state = MemoryState {
        refuse_step: Some("b".into()),
        ..MemoryState::default()
    };
    let result = run_steps(vec![a, b, c], &mut recorder, &state).await;
    let trace = recorder.trace();
    assert!(
        trace.contains(&"finished:b=failed".to_string()),
        "{trace:?}"
    );
    assert!(
        trace.contains(&"finished:c=skipped".to_string()),
        "{trace:?}"
    );
    assert!(!trace.iter().any(|t| t.starts_with("warned:")), "{trace:?}");
    let Outcome::Failed {
        error,
        resume_command,
    } = &result.summary.outcome
    else {
        panic!("{:?}", result.summary.outcome);
    };
    assert_eq!(
        error.message,
        "failed to record the state of stage `stage1`"
    );
    assert_eq!(error.chain, ["503 ServiceUnavailable after 8 attempts"]);
    assert!(
        error
            .hint
            .as_deref()
            .unwrap()
            .contains("run the same command again")
    );
    assert_eq!(
        resume_command.as_deref(),
        Some("democtl deploy stage1 --from b")
    );
    assert_eq!(
        state.calls.lock().unwrap().last().map(String::as_str),
        Some("finished stage1 failed")
    );
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_with_visible_backoff() {
    let (a, attempts) = step(
        "a",
        Act::Flaky {
            failures: 2,
            retry_after: None,
        },
    );
    let mut recorder = Recorder::default();
    let result = run_steps(vec![a], &mut recorder, &MemoryState::default()).await;
    assert_eq!(result.summary.outcome, Outcome::Succeeded);
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let retries: Vec<(u32, Duration, String)> = recorder
        .kinds()
        .into_iter()
        .filter_map(|k| match k {
            RunEventKind::StepRetrying {
                attempt,
                delay,
                error,
                ..
            } => Some((attempt, delay, error.message)),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2);
    assert_eq!(retries[0].0, 2);
    assert_eq!(retries[1].0, 3);
    assert_eq!(retries[0].2, "503 Service Unavailable from `/apis`");
    // Exponential from 2 s with up to one base of jitter; the second wait is at least 4 s.
    assert!(
        retries[0].1 >= Duration::from_secs(2) && retries[0].1 <= Duration::from_secs(4),
        "{retries:?}"
    );
    assert!(retries[1].1 >= Duration::from_secs(4), "{retries:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let (a, _) = step(
        "a",
        Act::Flaky {
            failures: 1,
            retry_after: Some(Duration::from_secs(45)),
        },
    );
    let mut recorder = Recorder::default();
    let result = run_steps(vec![a], &mut recorder, &MemoryState::default()).await;
    assert_eq!(result.summary.outcome, Outcome::Succeeded);
    let delay = recorder.kinds().into_iter().find_map(|k| match k {
        RunEventKind::StepRetrying { delay, .. } => Some(delay),
        _ => None,
    });
    assert_eq!(delay, Some(Duration::from_secs(45)));
    assert!(result.summary.duration >= Duration::from_secs(45));
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_fail_at_once_and_skip_the_rest() {
    let (a, attempts) = step("wait-models", Act::Fail);
    let (b, b_attempts) = step("deploy-models", Act::Succeed);
    let mut recorder = Recorder::default();
    let state = MemoryState::default();
    let result = run_steps(vec![a, b], &mut recorder, &state).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(b_attempts.load(Ordering::SeqCst), 0);
    let Outcome::Failed {
        error,
        resume_command,
    } = &result.summary.outcome
    else {
        panic!("{:?}", result.summary.outcome)
    };
    assert_eq!(
        resume_command.as_deref(),
        Some("democtl deploy stage1 --from wait-models")
    );
    assert_eq!(error.message, "job `download-mistral` failed");
    assert_eq!(error.chain, ["pod exited with code 1"]);
    assert_eq!(error.hint.as_deref(), Some("check the Hugging Face token"));
    assert_eq!(error.evidence, ["401 Unauthorized"]);
    assert!(!recorder.trace().iter().any(|t| t.starts_with("retry:")));
    assert_eq!(
        result.summary.steps[1].outcome,
        Outcome::Skipped {
            reason: "an earlier step failed".into()
        }
    );
    assert_eq!(
        state.calls.lock().unwrap().last().unwrap(),
        "finished stage1 failed"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_run_out() {
    let (mut a, attempts) = step("a", Act::AlwaysTransient);
    a.retry = RetryPolicy {
        attempts: 3,
        base: Duration::from_secs(1),
        cap: Duration::from_secs(2),
    };
    let mut recorder = Recorder::default();
    let result = run_steps(vec![a], &mut recorder, &MemoryState::default()).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert!(
        matches!(result.summary.outcome, Outcome::Failed { .. }),
        "{:?}",
        result.summary.outcome
    );
    let retries: Vec<String> = recorder
        .trace()
        .into_iter()
        .filter(|t| t.starts_with("retry:"))
        .collect();
    assert_eq!(retries, ["retry:a:2/3", "retry:a:3/3"]);
}

#[tokio::test(start_paused = true)]
async fn a_step_past_its_timeout_times_out() {
    let (mut a, _) = step("wait-gpu", Act::Sleep(Duration::from_secs(3600)));
    a.timeout = Some(Duration::from_secs(60));
    let mut recorder = Recorder::default();
    let result = run_steps(vec![a], &mut recorder, &MemoryState::default()).await;
    let Outcome::TimedOut {
        error,
        resume_command,
    } = &result.summary.outcome
    else {
        panic!("{:?}", result.summary.outcome)
    };
    assert_eq!(error.message, "step `wait-gpu` did not finish within 1m");
    assert_eq!(
        resume_command.as_deref(),
        Some("democtl deploy stage1 --from wait-gpu")
    );
    // The step had its deadline at 60 s and the runner's grace to notice it.
    assert_eq!(
        result.summary.steps[0].duration,
        Duration::from_secs(60) + democtl::runner::run::DEADLINE_GRACE
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_cuts_retries_short() {
    let (mut a, attempts) = step("a", Act::AlwaysTransient);
    a.timeout = Some(Duration::from_secs(10));
    a.retry = RetryPolicy {
        attempts: 10,
        base: Duration::from_secs(4),
        cap: Duration::from_secs(60),
    };
    let mut recorder = Recorder::default();
    let result = run_steps(vec![a], &mut recorder, &MemoryState::default()).await;
    let Outcome::TimedOut { error, .. } = &result.summary.outcome else {
        panic!("{:?}", result.summary.outcome)
    };
    assert_eq!(
        error.chain.first().map(String::as_str),
        Some("last error: connection refused")
    );
    assert!(attempts.load(Ordering::SeqCst) < 10);
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_the_current_step_and_skips_the_rest() {
    let (a, _) = step("a", Act::Succeed);
    let (b, _) = step("wait-models", Act::Hang);
    let (c, c_attempts) = step("c", Act::Succeed);
    let plan = RunPlan {
        stages: vec![PlannedStage {
            id: "stage1".into(),
            title: "Stage 1".into(),
            steps: vec![a, b, c],
        }],
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        trigger.cancel();
    });
    let mut recorder = Recorder::default();
    let state = MemoryState::default();
    let result = democtl::runner::run(plan, config(), &mut recorder, &state, cancel).await;
    assert!(result.interrupted);
    assert_eq!(result.summary.outcome, Outcome::Cancelled);
    assert_eq!(c_attempts.load(Ordering::SeqCst), 0);
    let trace = recorder.trace();
    assert_eq!(
        trace[trace.len() - 5..],
        [
            "finished:wait-models=cancelled",
            "finished:c=skipped",
            "stage-finished:stage1=cancelled",
            "interrupted:wait-models",
            "run-finished=cancelled",
        ]
    );
    // The completed step is recorded, so the next run can resume after it.
    assert_eq!(
        *state.calls.lock().unwrap(),
        [
            "started stage1 run-1",
            "completed stage1 a",
            "finished stage1 cancelled"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn optional_failures_degrade_the_run() {
    let (mut a, _) = step("lm-eval", Act::Fail);
    a.optional = true;
    let (b, b_attempts) = step("summary", Act::Succeed);
    let mut recorder = Recorder::default();
    let result = run_steps(vec![a, b], &mut recorder, &MemoryState::default()).await;
    assert_eq!(b_attempts.load(Ordering::SeqCst), 1);
    assert_eq!(
        result.summary.outcome,
        Outcome::Degraded {
            reason: "step `lm-eval` degraded".into()
        }
    );
    assert_eq!(
        result.summary.steps[0].outcome,
        Outcome::Degraded {
            reason: "optional step failed: job `download-mistral` failed".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_stage_skips_later_stages() {
    let (a, _) = step("a", Act::Fail);
    let (b, b_attempts) = step("b", Act::Succeed);
    let plan = RunPlan {
        stages: vec![
            PlannedStage {
                id: "stage1".into(),
                title: "One".into(),
                steps: vec![a],
            },
            PlannedStage {
                id: "stage2".into(),
                title: "Two".into(),
                steps: vec![b],
            },
        ],
    };
    let mut recorder = Recorder::default();
    let state = MemoryState::default();
    let result = democtl::runner::run(
        plan,
        config(),
        &mut recorder,
        &state,
        CancellationToken::new(),
    )
    .await;
    assert_eq!(b_attempts.load(Ordering::SeqCst), 0);
    assert!(
        recorder
            .trace()
            .contains(&"stage-finished:stage2=skipped".to_owned())
    );
    assert!(matches!(result.summary.outcome, Outcome::Failed { .. }));
    assert!(
        !state
            .calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.contains("stage2"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_reporter_cancels_the_run_but_reporting_continues() {
    let (a, _) = step("a", Act::Succeed);
    let (b, _) = step("b", Act::Hang);
    let mut recorder = Recorder {
        fail_after: Some(3),
        ..Recorder::default()
    };
    let result = run_steps(vec![a, b], &mut recorder, &MemoryState::default()).await;
    assert!(result.report_error.is_some());
    assert_eq!(result.summary.outcome, Outcome::Cancelled);
    assert!(recorder.trace().last().unwrap().starts_with("run-finished"));
}

#[tokio::test(start_paused = true)]
async fn values_flow_between_steps() {
    struct Derive;
    impl Step for Derive {
        fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
            Box::pin(async move {
                let before = ctx.value("stage1.previous").unwrap_or_default();
                ctx.derive(
                    "stage1.url",
                    serde_json::json!(format!("https://x/{}", before.as_str().unwrap_or(""))),
                );
                Ok(StepDone::Succeeded)
            })
        }
    }
    let (mut a, _) = step("a", Act::Succeed);
    a.step = Some(Box::new(Derive));
    let plan = RunPlan {
        stages: vec![PlannedStage {
            id: "stage1".into(),
            title: "One".into(),
            steps: vec![a],
        }],
    };
    let mut cfg = config();
    cfg.values
        .insert("stage1.previous".into(), serde_json::json!("p"));
    let mut recorder = Recorder::default();
    let result = democtl::runner::run(
        plan,
        cfg,
        &mut recorder,
        &MemoryState::default(),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(
        result.values.get("stage1.url"),
        Some(&serde_json::json!("https://x/p"))
    );
    assert!(
        recorder
            .kinds()
            .iter()
            .any(|k| matches!(k, RunEventKind::ValueDerived { key, .. } if key == "stage1.url"))
    );
}
