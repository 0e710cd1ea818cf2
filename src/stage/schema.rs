//! The stage-file schema. YAML keys are camelCase like Kubernetes manifests; step kinds are
//! kebab-case. Unknown keys are rejected everywhere.
//!
//! ```yaml
//! id: stage1
//! number: 1
//! slug: sovereign-ai
//! title: Sovereign AI
//! description: GPU nodes, vLLM, benchmarks, Model Registry
//! requires: []                       # stage ids that must be deployed and healthy first
//! overlay: gitops/overlays/stage1    # relative to the project root
//! expectedDuration: 40m
//! switches:
//!   - name: benchmarks               # becomes --benchmarks / --no-benchmarks
//!     default: true
//!     description: Run the GuideLLM benchmarks
//! steps:
//!   - id: wait-models
//!     kind: wait-jobs                # `kind` comes before `with`
//!     title: Wait for model downloads
//!     narration: The weights stream from Hugging Face into PVCs inside our cluster.
//!     timeout: 60m
//!     retry: { attempts: 5, base: 2s, cap: 30s }
//!     switch: benchmarks             # runs only when the switch is on
//!     optional: false                # failure of an optional step = degraded, not failed
//!     with: { jobs: [download-mistral-24b] }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::params::StepParams;

/// One stage file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub id: String,
    pub number: u8,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub requires: Vec<String>,
    pub overlay: String,
    #[serde(with = "humantime_serde_compat")]
    pub expected_duration: Duration,
    pub switches: Vec<Switch>,
    pub steps: Vec<StepSpec>,
}

/// A feature switch (`--benchmarks` / `--no-benchmarks`) replacing one of the old scripts' prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Switch {
    pub name: String,
    pub default: bool,
    pub description: String,
}

/// One step of a stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepSpec {
    pub id: String,
    pub kind: StepKind,
    pub title: String,
    pub narration: Option<String>,
    #[serde(with = "humantime_serde_compat::option")]
    pub timeout: Option<Duration>,
    pub retry: Option<RetrySpec>,
    pub switch: Option<String>,
    pub optional: bool,
    pub with: StepParams,
}

/// Step kinds (kebab-case in YAML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Prereq,
    Apply,
    WaitReady,
    GpuMachinesets,
    WaitGpu,
    WaitJobs,
    RunJob,
    Benchmark,
    Patch,
    Secret,
    Summary,
}

impl StepKind {
    pub const ALL: [StepKind; 11] = [
        StepKind::Prereq,
        StepKind::Apply,
        StepKind::WaitReady,
        StepKind::GpuMachinesets,
        StepKind::WaitGpu,
        StepKind::WaitJobs,
        StepKind::RunJob,
        StepKind::Benchmark,
        StepKind::Patch,
        StepKind::Secret,
        StepKind::Summary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Prereq => "prereq",
            StepKind::Apply => "apply",
            StepKind::WaitReady => "wait-ready",
            StepKind::GpuMachinesets => "gpu-machinesets",
            StepKind::WaitGpu => "wait-gpu",
            StepKind::WaitJobs => "wait-jobs",
            StepKind::RunJob => "run-job",
            StepKind::Benchmark => "benchmark",
            StepKind::Patch => "patch",
            StepKind::Secret => "secret",
            StepKind::Summary => "summary",
        }
    }
}

/// Retry policy for transient errors: `attempts` in total, exponential backoff from `base`
/// doubling up to `cap`, with jitter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrySpec {
    pub attempts: u32,
    #[serde(with = "humantime_serde_compat")]
    pub base: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub cap: Duration,
}

/// Durations are written like `90s`, `5m`, `1h 30m` (humantime).
pub mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration `{text}` ({e}); write it like `90s`, `5m` or `1h 30m`"
            ))
        })
    }

    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&humantime::format_duration(*d).to_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            match Option::<String>::deserialize(d)? {
                None => Ok(None),
                Some(text) => humantime::parse_duration(&text).map(Some).map_err(|e| {
                    serde::de::Error::custom(format!(
                        "invalid duration `{text}` ({e}); write it like `90s`, `5m` or `1h 30m`"
                    ))
                }),
            }
        }
    }
}
