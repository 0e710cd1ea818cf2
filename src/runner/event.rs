//! The contract between the runner and the reporters: one serialisable event type.
//!
//! The terminal UI, the plain reporter and the JSON-lines run log are all reporters of these
//! events; `democtl logs` deserialises them back. Events are named in the past tense.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One thing that happened during a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunEvent {
    /// Wall-clock time (RFC 3339, UTC).
    pub at: String,
    /// Time since the run started.
    #[serde(with = "duration_ms")]
    pub elapsed: Duration,
    pub kind: RunEventKind,
}

/// What happened. Open-ended: readers must tolerate unknown variants in newer logs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RunEventKind {
    RunStarted(RunHeader),
    StageStarted {
        stage: String,
        title: String,
        steps: Vec<PlannedStep>,
    },
    StepStarted {
        stage: String,
        step: String,
        title: String,
        narration: Option<String>,
        #[serde(with = "duration_ms_opt", default)]
        timeout: Option<Duration>,
    },
    StepProgressed {
        stage: String,
        step: String,
        message: String,
    },
    /// Structured progress of a long wait (a download's bytes, a GPU MachineSet's phase),
    /// drawn as bars and rows; the text of `StepProgressed` stays the plain form.
    StepMeasured {
        stage: String,
        step: String,
        measure: Measure,
    },
    StepRetrying {
        stage: String,
        step: String,
        attempt: u32,
        max_attempts: u32,
        #[serde(with = "duration_ms")]
        delay: Duration,
        error: ErrorReport,
    },
    ObjectApplied {
        stage: String,
        step: String,
        object: ObjectRecord,
    },
    ValueDerived {
        stage: String,
        step: String,
        key: String,
        value: serde_json::Value,
    },
    OutputProduced {
        stage: String,
        step: String,
        output: StepOutput,
    },
    /// The endpoints a summary step found (the result screen lists them).
    EndpointsFound {
        stage: String,
        step: String,
        title: String,
        endpoints: Vec<Endpoint>,
    },
    /// The numbers behind a benchmark step's table (charts read these, not the table's cells).
    BenchmarksMeasured {
        stage: String,
        step: String,
        results: Vec<BenchmarkPoint>,
    },
    Warned {
        stage: String,
        step: Option<String>,
        message: String,
    },
    StepFinished {
        stage: String,
        step: String,
        outcome: Outcome,
        #[serde(with = "duration_ms")]
        duration: Duration,
    },
    StageFinished {
        stage: String,
        outcome: Outcome,
        #[serde(with = "duration_ms")]
        duration: Duration,
    },
    RunInterrupted {
        stage: Option<String>,
        step: Option<String>,
    },
    RunFinished(RunSummary),
}

/// The first line of every run log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunHeader {
    pub format_version: u32,
    pub run_id: String,
    pub democtl_version: String,
    pub command_line: Vec<String>,
    pub command: String,
    pub cluster_server: Option<String>,
    pub context: Option<String>,
    pub user: Option<String>,
    /// Set when the cluster is the simulated one (`--sim`): the banner says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<SimulatedCluster>,
}

/// The simulated cluster a run talks to (`cluster: simulated (scenario healthy, 60×)`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimulatedCluster {
    /// The scenario it was seeded with (shipped name or file).
    pub scenario: String,
    /// Simulated seconds per real second.
    pub speed: f64,
}

/// A step as planned, shown up front.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlannedStep {
    pub id: String,
    pub title: String,
    pub kind: String,
    /// `run`, or why the step will not run (`skipped: --no-benchmarks`, `done in run X`).
    pub disposition: String,
}

/// How a step, stage or run ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Outcome {
    Succeeded,
    /// Finished, but something the presenter should know is not right (never shown as success).
    Degraded {
        reason: String,
    },
    Failed {
        error: ErrorReport,
        resume_command: Option<String>,
    },
    Skipped {
        reason: String,
    },
    TimedOut {
        error: ErrorReport,
        resume_command: Option<String>,
    },
    Cancelled,
}

/// An error as reporters show it: the message, its cause chain, a hint and evidence.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorReport {
    pub message: String,
    pub chain: Vec<String>,
    pub hint: Option<String>,
    /// Pod waiting reasons, Warning events, last log lines: what explains the failure.
    pub evidence: Vec<String>,
    pub transient: bool,
}

impl ErrorReport {
    /// The cause chain of `error` as people read it: each source's first line, without the
    /// message itself, repeats, or wrappers that only embed their source's text (kube's
    /// `ServiceError: client error (Connect)` around `client error (Connect)`).
    pub fn chain_of(error: &(dyn std::error::Error + 'static), message: &str) -> Vec<String> {
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            causes.push(
                text.lines()
                    .next()
                    .unwrap_or_default()
                    .trim_end()
                    .to_owned(),
            );
            source = cause.source();
        }
        let mut chain: Vec<String> = Vec::new();
        for (i, text) in causes.iter().enumerate() {
            let repeats_next = causes
                .get(i + 1)
                .is_some_and(|next| !next.is_empty() && text.contains(next.as_str()));
            if !text.is_empty() && chain.last() != Some(text) && text != message && !repeats_next {
                chain.push(text.clone());
            }
        }
        chain
    }
}

/// One object written to the cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ObjectRecord {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
    /// `created`, `configured`, `unchanged`, `deleted`, `recreated`, `dry-run`, …
    pub result: String,
}

/// Something a step produced for the presenter: a table (benchmark results) or key/value lines
/// (endpoints). Reporters decide how to draw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepOutput {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The last line of every run log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    pub outcome: Outcome,
    pub steps: Vec<StepSummary>,
    #[serde(with = "duration_ms")]
    pub duration: Duration,
    /// After every non-success outcome: the exact command line to run next (computed by the
    /// app from what failed; reporters print it last).
    #[serde(default)]
    pub next: Option<String>,
}

impl RunSummary {
    /// The command to run next: [`RunSummary::next`], else the failed step's resume command
    /// (logs written before `next` existed).
    pub fn next_command(&self) -> Option<&str> {
        self.next.as_deref().or(match &self.outcome {
            Outcome::Failed { resume_command, .. } | Outcome::TimedOut { resume_command, .. } => {
                resume_command.as_deref()
            }
            _ => None,
        })
    }
}

/// Structured progress of one part of a long wait.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "measure", rename_all = "kebab-case")]
pub enum Measure {
    /// One download Job, from its `{"democtl":"progress",…}` log lines.
    Download(DownloadProgress),
    /// One GPU MachineSet on its way to allocatable GPUs.
    GpuNodes(GpuProgress),
}

/// Bytes and files of one download Job.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DownloadProgress {
    /// The Job (`download-mistral-24b`).
    pub job: String,
    /// The file being downloaded, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub files_total: u64,
    /// The Job printed its `done` line.
    #[serde(default)]
    pub done: bool,
}

/// Where one GPU MachineSet stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GpuProgress {
    /// The stage file's name for the set (`gpu-4x`).
    pub pool: String,
    pub machineset: String,
    pub phase: GpuPhase,
    pub gpus_allocatable: u32,
    pub gpus_wanted: u32,
}

/// The path of a GPU MachineSet, in order.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum GpuPhase {
    /// No Machine yet, or a Machine not Running.
    Provisioning,
    /// Machine Running, its node not Ready yet.
    Running,
    /// Node Ready, GPUs not (all) allocatable yet.
    NodeReady,
    /// Every GPU allocatable.
    GpusAllocatable,
}

impl GpuPhase {
    pub const ALL: [GpuPhase; 4] = [
        GpuPhase::Provisioning,
        GpuPhase::Running,
        GpuPhase::NodeReady,
        GpuPhase::GpusAllocatable,
    ];

    pub fn label(self) -> &'static str {
        match self {
            GpuPhase::Provisioning => "Provisioning",
            GpuPhase::Running => "Running",
            GpuPhase::NodeReady => "Node Ready",
            GpuPhase::GpusAllocatable => "GPUs",
        }
    }
}

/// One endpoint for the presenter to open.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Endpoint {
    pub label: String,
    /// None when the object or its field is missing.
    pub url: Option<String>,
    /// A command to try it (`curl …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// One GuideLLM benchmark of one model at one load level.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BenchmarkPoint {
    pub model: String,
    /// Concurrent streams (or `2.5 req/s` for rate-based strategies), as shown.
    pub load: String,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    pub itl_p50_ms: Option<f64>,
    pub itl_p95_ms: Option<f64>,
    pub output_tokens_per_second: Option<f64>,
    pub requests_per_second: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepSummary {
    pub stage: String,
    pub step: String,
    pub title: String,
    pub outcome: Outcome,
    #[serde(with = "duration_ms")]
    pub duration: Duration,
}

/// Consumes events. Reporters are called synchronously, in order, by the runner.
pub trait Reporter: Send {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError>;
    /// The run's clock while a step runs, about once a second: not an event (nothing is
    /// logged), so views that show elapsed time keep it moving between events.
    fn tick(&mut self, _elapsed: Duration) -> Result<(), ReportError> {
        Ok(())
    }
    /// Called once at the end (flush files, clear spinners).
    fn finish(&mut self) -> Result<(), ReportError> {
        Ok(())
    }
}

/// A reporter could not write (disk full, broken pipe).
#[derive(Debug, thiserror::Error)]
#[error("failed to write the {reporter} report")]
pub struct ReportError {
    pub reporter: &'static str,
    #[source]
    pub source: std::io::Error,
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod duration_ms_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
