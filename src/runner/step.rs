//! What a step is to the runner, and the only channel a step has to the screen and the log.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::event::{BenchmarkPoint, Endpoint, Measure, ObjectRecord, StepOutput};
pub use super::sensitive::Sensitive;

/// One executable step. Implementations live in `crate::steps`; the runner only sees this trait.
pub trait Step: Send + Sync {
    /// Runs the step once. The runner handles retries (for transient errors), the deadline and
    /// cancellation; a step must be safe to run again after any failure (idempotent).
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>>;
}

/// How a step that returned `Ok` finished.
#[derive(Debug, Clone, PartialEq)]
pub enum StepDone {
    Succeeded,
    /// Finished, but not fully right (e.g. an optional check failed): shown as degraded.
    Degraded(String),
}

/// Messages a step sends while it runs. The runner turns them into `RunEvent`s.
#[derive(Debug, Clone, PartialEq)]
pub enum StepMessage {
    /// Live sub-status for the spinner ("GPU nodes 1/2 — machine … Provisioned").
    Progress(String),
    ObjectApplied(ObjectRecord),
    /// A value derived from the cluster (ISVC URL, infrastructure name), recorded in the run log
    /// and the stage state so later steps and stages can use it.
    ValueDerived {
        key: String,
        value: serde_json::Value,
    },
    Output(StepOutput),
    /// Structured progress (bars and rows on the terminal).
    Measure(Measure),
    Endpoints {
        title: String,
        endpoints: Vec<Endpoint>,
    },
    Benchmarks(Vec<BenchmarkPoint>),
    Warning(String),
}

/// Everything a running step may use that is not the cluster.
#[derive(Clone)]
pub struct StepCtx {
    pub stage: String,
    pub step: String,
    messages: UnboundedSender<StepMessage>,
    /// Cancelled on Ctrl-C or when the step's deadline passes.
    pub cancel: CancellationToken,
    /// When the runner will give up on this step.
    pub deadline: Option<Instant>,
    /// Values derived so far in this run and earlier runs (`stage1.isvc.mistral-24b.url`, …).
    values: Arc<Mutex<BTreeMap<String, serde_json::Value>>>,
    /// Server-side dry run: steps must not change the cluster.
    pub dry_run: bool,
}

impl StepCtx {
    pub fn new(
        stage: impl Into<String>,
        step: impl Into<String>,
        messages: UnboundedSender<StepMessage>,
        cancel: CancellationToken,
        deadline: Option<Instant>,
        values: Arc<Mutex<BTreeMap<String, serde_json::Value>>>,
        dry_run: bool,
    ) -> Self {
        Self {
            stage: stage.into(),
            step: step.into(),
            messages,
            cancel,
            deadline,
            values,
            dry_run,
        }
    }

    /// Updates the spinner's sub-status.
    pub fn progress(&self, message: impl Into<String>) {
        self.send(StepMessage::Progress(message.into()));
    }

    pub fn object_applied(&self, object: ObjectRecord) {
        self.send(StepMessage::ObjectApplied(object));
    }

    pub fn warn(&self, message: impl Into<String>) {
        self.send(StepMessage::Warning(message.into()));
    }

    pub fn output(&self, output: StepOutput) {
        self.send(StepMessage::Output(output));
    }

    /// Structured progress of a long wait, beside the text of [`StepCtx::progress`].
    pub fn measure(&self, measure: Measure) {
        self.send(StepMessage::Measure(measure));
    }

    /// The endpoints found, for the result screen.
    pub fn endpoints(&self, title: impl Into<String>, endpoints: Vec<Endpoint>) {
        self.send(StepMessage::Endpoints {
            title: title.into(),
            endpoints,
        });
    }

    /// The numbers behind a benchmark table, for charts.
    pub fn benchmarks(&self, results: Vec<BenchmarkPoint>) {
        self.send(StepMessage::Benchmarks(results));
    }

    /// Records a derived value for later steps, the run log and the stage state.
    pub fn derive(&self, key: impl Into<String>, value: serde_json::Value) {
        let key = key.into();
        if let Ok(mut values) = self.values.lock() {
            values.insert(key.clone(), value.clone());
        }
        self.send(StepMessage::ValueDerived { key, value });
    }

    /// A value derived earlier in this run or recorded by an earlier run.
    pub fn value(&self, key: &str) -> Option<serde_json::Value> {
        self.values.lock().ok().and_then(|v| v.get(key).cloned())
    }

    /// Time left before the deadline (None = no deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    fn send(&self, message: StepMessage) {
        // The receiver only goes away when the run is over; a late message is not an error.
        let _ = self.messages.send(message);
    }
}

/// A step failed. `transient` errors are retried by the runner; everything else fails at once.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    pub message: String,
    pub hint: Option<String>,
    pub transient: bool,
    /// Server asked us to wait (429 Retry-After).
    pub retry_after: Option<Duration>,
    /// Pod waiting reasons, Warning events, last log lines.
    pub evidence: Vec<String>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StepError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            transient: false,
            retry_after: None,
            evidence: Vec::new(),
            source: None,
        }
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    #[must_use]
    pub fn with_evidence(mut self, evidence: Vec<String>) -> Self {
        self.evidence = evidence;
        self
    }

    #[must_use]
    pub fn transient(mut self, retry_after: Option<Duration>) -> Self {
        self.transient = true;
        self.retry_after = retry_after;
        self
    }
}
