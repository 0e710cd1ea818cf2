//! What the runner is asked to run: stages of steps, each step with its policy and whether it
//! runs. Built by `crate::app` from the stage files; the runner knows nothing of YAML.

use std::time::Duration;

use super::step::Step;

/// A run: stages in order.
pub struct RunPlan {
    pub stages: Vec<PlannedStage>,
}

/// One stage of a run.
pub struct PlannedStage {
    pub id: String,
    pub title: String,
    pub steps: Vec<PlannedStepRun>,
}

/// One step of a run, ready to execute (or to be shown as skipped).
pub struct PlannedStepRun {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub narration: Option<String>,
    /// Bound on the whole step, retries included.
    pub timeout: Option<Duration>,
    pub retry: RetryPolicy,
    /// A failure degrades the run instead of failing it.
    pub optional: bool,
    pub disposition: Disposition,
    /// The executable step (None when the disposition is `Skip`).
    pub step: Option<Box<dyn Step>>,
}

/// Whether a planned step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    Run,
    /// Not run, and why (`--no-benchmarks`, `done in run …`, `before --from wait-models`).
    Skip(String),
}

impl Disposition {
    /// As shown in the plan (`run`, `skipped: …`).
    pub fn describe(&self) -> String {
        match self {
            Disposition::Run => "run".to_owned(),
            Disposition::Skip(reason) => format!("skipped: {reason}"),
        }
    }
}

/// Retries of transient errors: `attempts` in total, exponential backoff from `base` doubling
/// up to `cap`, with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// Used when a step declares no `retry:`: a few quick retries ride out an API blip.
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(15),
        }
    }
}
