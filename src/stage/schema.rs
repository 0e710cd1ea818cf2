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

/// Separates a message from its hint inside serde's string-only custom errors; the loader
/// splits them again so hints stay data.
pub(crate) const HINT_SEPARATOR: &str = " ~hint~ ";

/// Prefixes a custom error with the key it is about (`kind~field~unknown step kind …`), for
/// errors raised after the value was read, when the parser's location is the enclosing mapping.
pub(crate) const FIELD_SEPARATOR: &str = "~field~";

/// One stage file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stage {
    pub id: String,
    pub number: u8,
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub requires: Vec<String>,
    pub overlay: String,
    #[serde(with = "humantime_serde_compat")]
    pub expected_duration: Duration,
    #[serde(default)]
    pub switches: Vec<Switch>,
    pub steps: Vec<StepSpec>,
}

/// A feature switch (`--benchmarks` / `--no-benchmarks`) replacing one of the old scripts' prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Switch {
    pub name: String,
    pub default: bool,
    #[serde(default)]
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
    FreeGpus,
    WaitJobs,
    RunJob,
    Benchmark,
    LmEval,
    Collections,
    Patch,
    Secret,
    Summary,
}

impl StepKind {
    pub const ALL: [StepKind; 14] = [
        StepKind::Prereq,
        StepKind::Apply,
        StepKind::WaitReady,
        StepKind::GpuMachinesets,
        StepKind::WaitGpu,
        StepKind::FreeGpus,
        StepKind::WaitJobs,
        StepKind::RunJob,
        StepKind::Benchmark,
        StepKind::LmEval,
        StepKind::Collections,
        StepKind::Patch,
        StepKind::Secret,
        StepKind::Summary,
    ];

    /// Parses a kind as written in a stage file.
    pub fn parse(text: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Prereq => "prereq",
            StepKind::Apply => "apply",
            StepKind::WaitReady => "wait-ready",
            StepKind::GpuMachinesets => "gpu-machinesets",
            StepKind::WaitGpu => "wait-gpu",
            StepKind::FreeGpus => "free-gpus",
            StepKind::WaitJobs => "wait-jobs",
            StepKind::RunJob => "run-job",
            StepKind::Benchmark => "benchmark",
            StepKind::LmEval => "lm-eval",
            StepKind::Collections => "collections",
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
        humantime::parse_duration(&text).map_err(|e| invalid_duration(&text, &e))
    }

    fn invalid_duration<E: serde::de::Error>(text: &str, error: &humantime::DurationError) -> E {
        E::custom(format!(
            "invalid duration `{text}`{}write it like `90s`, `5m` or `1h 30m` ({error})",
            super::HINT_SEPARATOR
        ))
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
                Some(text) => humantime::parse_duration(&text)
                    .map(Some)
                    .map_err(|e| super::invalid_duration(&text, &e)),
            }
        }
    }
}

impl std::fmt::Display for StepKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The keys a step accepts, in the order they are usually written.
pub const STEP_FIELDS: &[&str] = &[
    "id",
    "kind",
    "title",
    "narration",
    "timeout",
    "retry",
    "switch",
    "optional",
    "with",
];

/// Hand-written so that `with:` is typed by the `kind` read before it: errors inside `with:`
/// keep their own line and column (no `untagged`/`flatten`; style rule 26).
impl<'de> Deserialize<'de> for StepSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(step_de::StepVisitor)
    }
}

mod step_de {
    use std::fmt;
    use std::time::Duration;

    use serde::Deserialize;
    use serde::de::{DeserializeSeed, Deserializer, Error, IntoDeserializer, MapAccess, Visitor};

    use super::super::params::*;
    use super::{FIELD_SEPARATOR, HINT_SEPARATOR, RetrySpec, STEP_FIELDS, StepKind, StepSpec};

    pub(super) struct StepVisitor;

    /// A humantime duration as a value of its own, for `next_value`.
    struct HumanDuration(Duration);

    impl<'de> Deserialize<'de> for HumanDuration {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            super::humantime_serde_compat::deserialize(d).map(HumanDuration)
        }
    }

    fn with_hint<E: Error>(message: impl fmt::Display, hint: impl fmt::Display) -> E {
        E::custom(format!("{message}{HINT_SEPARATOR}{hint}"))
    }

    impl<'de> Visitor<'de> for StepVisitor {
        type Value = StepSpec;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a step (a mapping with `id`, `kind`, `title` and `with`)")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StepSpec, A::Error> {
            let mut id: Option<String> = None;
            let mut kind: Option<StepKind> = None;
            let mut title: Option<String> = None;
            let mut narration: Option<String> = None;
            let mut timeout: Option<Duration> = None;
            let mut retry: Option<RetrySpec> = None;
            let mut switch: Option<String> = None;
            let mut optional = false;
            let mut with: Option<StepParams> = None;
            while let Some(key) = map.next_key::<String>()? {
                match key.as_str() {
                    "id" => id = Some(map.next_value()?),
                    "kind" => {
                        let text: String = map.next_value()?;
                        let parsed = StepKind::parse(&text).ok_or_else(|| {
                            let names: Vec<&str> =
                                StepKind::ALL.iter().map(|k| k.as_str()).collect();
                            let hint = match crate::stage::suggest::closest(
                                &text,
                                names.iter().copied(),
                            ) {
                                Some(best) => format!("did you mean `{best}`?"),
                                None => {
                                    format!("known kinds: {}", crate::stage::suggest::list(&names))
                                }
                            };
                            with_hint::<A::Error>(
                                format_args!("kind{FIELD_SEPARATOR}unknown step kind `{text}`"),
                                hint,
                            )
                        })?;
                        kind = Some(parsed);
                    }
                    "title" => title = Some(map.next_value()?),
                    "narration" => narration = map.next_value()?,
                    "timeout" => timeout = map.next_value::<Option<HumanDuration>>()?.map(|d| d.0),
                    "retry" => retry = map.next_value()?,
                    "switch" => switch = map.next_value()?,
                    "optional" => optional = map.next_value()?,
                    "with" => {
                        let Some(kind) = kind else {
                            return Err(with_hint(
                                format_args!("with{FIELD_SEPARATOR}`with` comes before `kind`"),
                                "write `kind:` before `with:` so the parameters can be checked for that kind",
                            ));
                        };
                        with = Some(map.next_value_seed(ParamsSeed(kind))?);
                    }
                    other => return Err(A::Error::unknown_field(other, STEP_FIELDS)),
                }
            }
            let id = id.ok_or_else(|| A::Error::missing_field("id"))?;
            let kind = kind.ok_or_else(|| A::Error::missing_field("kind"))?;
            let title = title.ok_or_else(|| A::Error::missing_field("title"))?;
            let with = match with {
                Some(with) => with,
                None => default_params(kind).map_err(|e| {
                    with_hint::<A::Error>(
                        format_args!("step `{id}` of kind `{kind}` needs `with:`"),
                        format_args!("its parameters are required ({e})"),
                    )
                })?,
            };
            Ok(StepSpec {
                id,
                kind,
                title,
                narration,
                timeout,
                retry,
                switch,
                optional,
                with,
            })
        }
    }

    /// `with:` left out: the parameters of kinds whose fields all have defaults.
    fn default_params(kind: StepKind) -> Result<StepParams, serde::de::value::Error> {
        let empty: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        ParamsSeed(kind).deserialize(empty.into_deserializer())
    }

    /// Deserializes `with:` as the parameter type of one kind.
    struct ParamsSeed(StepKind);

    impl<'de> DeserializeSeed<'de> for ParamsSeed {
        type Value = StepParams;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StepParams, D::Error> {
            Ok(match self.0 {
                StepKind::Prereq => StepParams::Prereq(PrereqParams::deserialize(d)?),
                StepKind::Apply => StepParams::Apply(ApplyParams::deserialize(d)?),
                StepKind::WaitReady => StepParams::WaitReady(WaitReadyParams::deserialize(d)?),
                StepKind::GpuMachinesets => {
                    StepParams::GpuMachinesets(GpuMachinesetsParams::deserialize(d)?)
                }
                StepKind::WaitGpu => StepParams::WaitGpu(WaitGpuParams::deserialize(d)?),
                StepKind::FreeGpus => StepParams::FreeGpus(FreeGpusParams::deserialize(d)?),
                StepKind::WaitJobs => StepParams::WaitJobs(WaitJobsParams::deserialize(d)?),
                StepKind::RunJob => StepParams::RunJob(RunJobParams::deserialize(d)?),
                StepKind::Benchmark => StepParams::Benchmark(BenchmarkParams::deserialize(d)?),
                StepKind::LmEval => StepParams::LmEval(LmEvalParams::deserialize(d)?),
                StepKind::Collections => {
                    StepParams::Collections(CollectionsParams::deserialize(d)?)
                }
                StepKind::Patch => StepParams::Patch(PatchParams::deserialize(d)?),
                StepKind::Secret => StepParams::Secret(SecretParams::deserialize(d)?),
                StepKind::Summary => StepParams::Summary(SummaryParams::deserialize(d)?),
            })
        }
    }
}
