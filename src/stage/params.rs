//! Kind-specific step parameters (the `with:` block). One struct per step kind, unknown keys
//! rejected. The step implementations in `crate::steps` consume these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `with:` block of a step, typed by the step's `kind`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StepParams {
    Prereq(PrereqParams),
    Apply(ApplyParams),
    WaitReady(WaitReadyParams),
    GpuMachinesets(GpuMachinesetsParams),
    WaitGpu(WaitGpuParams),
    FreeGpus(FreeGpusParams),
    WaitJobs(WaitJobsParams),
    RunJob(RunJobParams),
    Benchmark(BenchmarkParams),
    LmEval(LmEvalParams),
    Collections(CollectionsParams),
    Patch(PatchParams),
    Secret(SecretParams),
    Summary(SummaryParams),
}

/// `prereq`: every check runs; all failures are listed at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrereqParams {
    pub checks: Vec<Check>,
}

/// One preflight check. `check` says which; the other fields are its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    pub check: CheckKind,
    /// CRD name, operator/CSV name prefix, secret name, env var name, stage id.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// can-i: verb, resource, group.
    #[serde(default)]
    pub verb: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    /// openshift-version: minimum version (`4.16`); platform: expected platform (`AWS`).
    #[serde(default)]
    pub value: Option<String>,
    /// Shown when the check fails (which operator to install, which command to run).
    #[serde(default)]
    pub hint: Option<String>,
    /// Only run when this switch is on.
    #[serde(default)]
    pub switch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    ApiReachable,
    Authenticated,
    OpenshiftVersion,
    Platform,
    Crd,
    Operator,
    CanI,
    DefaultStorageClass,
    Secret,
    Env,
    StageDeployed,
    /// A Service Mesh control plane (`name` in `namespace`) exists and is Ready.
    ServiceMesh,
    /// The OpenShift AI release (CSV `name` in `namespace`) serves the DSC components, API
    /// versions and KServe modes the stage uses.
    OpenshiftAiRelease,
}

/// `apply`: server-side apply of the stage's rendered objects for the named components
/// (label `democtl.io/component`); empty = every object of the stage overlay not applied by
/// another apply step of the stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyParams {
    #[serde(default)]
    pub components: Vec<String>,
    /// Only these kinds from the components (e.g. `[PersistentVolumeClaim, Job]`).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Never these kinds from the components (e.g. `[Job]` when a `run-job` step runs them).
    #[serde(default)]
    pub exclude_kinds: Vec<String>,
    /// Values wired in at run time (see [`SetValue`]); applied to the selected objects before
    /// they are sent. `crate::steps::select_objects` does the selection and the wiring.
    #[serde(default)]
    pub set: Vec<SetValue>,
    /// Wait for what was applied to be ready before finishing.
    #[serde(default)]
    pub wait: bool,
}

/// Sets one field of a rendered object from values derived earlier (ISVC URLs, …): `value` is
/// a string in which `{{key}}` is replaced by the derived value `key`; a missing key is an
/// error naming it. No other templating exists: manifests never contain placeholders.
///
/// ```yaml
/// set:
///   - kind: ConfigMap
///     name: llama-stack-endpoints
///     pointer: /data/VLLM_URL
///     value: "{{stage1.isvc.mistral-24b-quantized.url}}/v1"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetValue {
    pub kind: String,
    pub name: String,
    /// JSON pointer (RFC 6901) of the field; missing parent objects are created.
    pub pointer: String,
    pub value: String,
}

/// An object reference in a stage file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectRefSpec {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `wait-ready`: wait for objects (listed, or everything applied for the components) to be
/// Current per the readiness rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitReadyParams {
    #[serde(default)]
    pub objects: Vec<ObjectRefSpec>,
    #[serde(default)]
    pub components: Vec<String>,
    /// Derive values from the ready objects: key → JSON pointer (`/status/url`) per object name,
    /// written as `name: {key: pointer}`.
    #[serde(default)]
    pub capture: BTreeMap<String, BTreeMap<String, String>>,
}

/// `gpu-machinesets`: clone the cluster's worker MachineSet into GPU MachineSets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GpuMachinesetsParams {
    pub machinesets: Vec<GpuMachineSetSpec>,
    /// Worker MachineSet to clone; default: the first (by name) worker MachineSet of
    /// `openshift-machine-api` that democtl did not create.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GpuMachineSetSpec {
    /// Suffix of the MachineSet name: `<infraName>-<suffix>-<zone>`.
    pub suffix: String,
    pub instance_type: String,
    pub gpus: u32,
    #[serde(default = "one")]
    pub replicas: u32,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<TaintSpec>,
    /// Root volume size in GiB (model images and caches need more than a worker's default).
    #[serde(default)]
    pub root_volume_gib: Option<u32>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaintSpec {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    pub effect: String,
}

/// `wait-gpu`: per GPU MachineSet of the stage: Machine Running → Node Ready →
/// `nvidia.com/gpu.present` → allocatable `nvidia.com/gpu` ≥ the MachineSet's `gpus`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitGpuParams {
    /// Suffixes from the `gpu-machinesets` step; empty = all of them.
    #[serde(default)]
    pub machinesets: Vec<String>,
}

/// `free-gpus`: before the InferenceServices of `components` are applied, delete those whose
/// spec changed and whose pods hold GPUs (their new revision would wait for them forever).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreeGpusParams {
    /// Components whose InferenceServices the next apply step applies.
    pub components: Vec<String>,
}

/// `wait-jobs`: wait for Jobs concurrently, progress from their pod logs, fail at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitJobsParams {
    pub namespace: String,
    pub jobs: Vec<String>,
    /// A Job found Failed when the step starts (an earlier run's failure) is deleted and created
    /// again from the stage render, so a resumed deploy retries it after the fix.
    #[serde(default = "yes")]
    pub recreate_failed: bool,
}

fn yes() -> bool {
    true
}

/// `run-job`: delete-then-create a Job (or a Tekton PipelineRun) of the stage render with a
/// fixed name, wait for it to finish, show its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunJobParams {
    pub namespace: String,
    /// Name of the Job (or PipelineRun) in the stage render.
    pub job: String,
    #[serde(default)]
    pub kind: RunKind,
    /// Last log lines shown as the step's output (0 = none).
    #[serde(default = "ten")]
    pub output_lines: usize,
}

fn ten() -> usize {
    10
}

/// What `run-job` runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunKind {
    #[default]
    Job,
    PipelineRun,
}

/// `benchmark`: run benchmark Jobs, parse the results documents from their logs, show a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BenchmarkParams {
    pub namespace: String,
    pub jobs: Vec<String>,
    /// ConfigMap (in `namespace`) the step writes the parsed results to: one key
    /// `<job>.json` per benchmark Job, `{"model", "rows", "finished"}`.
    #[serde(default)]
    pub results: Option<String>,
    /// A Job of the render (in `namespace`) that reads the `results` ConfigMap, run after the
    /// benchmarks when its switch is on (publishing them to the Model Registry).
    #[serde(default)]
    pub publish: Option<PublishParams>,
}

/// `benchmark.publish`: the Job run once the results ConfigMap is written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishParams {
    /// Name of the Job in the stage render (same namespace as the benchmarks).
    pub job: String,
    /// A switch of the stage that must also be on (the benchmark step's own `switch` already
    /// is): off, the Job is not run and the step says why.
    #[serde(default)]
    pub switch: Option<String>,
}

/// `lm-eval`: wait for TrustyAI LMEvalJobs of the render, read their scores from
/// `status.results`, show them side by side (first job's model vs the second's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LmEvalParams {
    pub namespace: String,
    /// LMEvalJob names, in the table's column order (quantized first).
    pub jobs: Vec<String>,
}

/// `collections`: check that vector-store collections an earlier stage ingested exist (its
/// ingestion runs recorded them with their chunk counts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionsParams {
    /// The stage whose ingestion runs record the collections (`stage2`).
    pub stage: String,
    pub collections: Vec<CollectionRef>,
}

/// A collection and the step of `stage` that ingests it (named in the fix).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionRef {
    pub name: String,
    pub ingested_by: String,
}

/// `patch`: merge-patch an object the stage does not own; the previous values are recorded so
/// teardown restores them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchParams {
    pub target: ObjectRefSpec,
    /// JSON merge patch (RFC 7386).
    pub patch: serde_json::Value,
    /// CRDs the patch makes an operator install; the step waits until they are Established.
    #[serde(default)]
    pub wait_for_crds: Vec<String>,
    /// An operator that reads the patched object only when it starts: its pods are deleted
    /// (their ReplicaSet makes new ones) whenever they started before the object's last
    /// change, and the step waits until new pods are ready.
    #[serde(default)]
    pub restart_pods: Option<RestartPods>,
}

/// Pods to restart after a patch (`oc delete pod -l …` and wait): those of a Deployment (its
/// own `spec.selector`, so no pod label of the operator's release is assumed), or of a label
/// selector; exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartPods {
    pub namespace: String,
    /// The Deployment whose pods these are (`trustyai-service-operator-controller-manager`).
    #[serde(default)]
    pub deployment: Option<String>,
    /// Label selector of the pods (`app=my-operator`).
    #[serde(default)]
    pub selector: Option<String>,
    /// What they are, for messages (`the TrustyAI operator`).
    pub what: String,
}

/// `secret`: create a Secret from the environment, a `.env` file or a hidden prompt.
/// Values are never logged. An existing Secret's values are kept for keys with no new value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretParams {
    pub namespace: String,
    pub name: String,
    /// Component label of the Secret (teardown removes it with the component).
    #[serde(default)]
    pub component: Option<String>,
    /// Secret key → where its value comes from.
    pub data: BTreeMap<String, SecretSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSource {
    /// Environment / `.env` variable name.
    pub env: String,
    /// Prompt text when the variable is unset and a terminal is available.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Generate a random value when unset (database passwords) and keep the existing one.
    #[serde(default)]
    pub generate: bool,
    /// Value when the variable is unset (non-secret settings such as a database name).
    #[serde(default)]
    pub default: Option<String>,
    /// No value anywhere is fine: the key is left out, and a Secret whose keys are all absent
    /// is not created (e.g. no Slack webhook → Slack MCP in demo mode).
    #[serde(default)]
    pub optional: bool,
}

/// `summary`: endpoints discovered from the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SummaryParams {
    pub endpoints: Vec<EndpointSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSpec {
    pub label: String,
    /// Where the URL comes from: an object and a JSON pointer (`/status/url`, `/spec/host`).
    pub object: ObjectRefSpec,
    pub pointer: String,
    /// How to show the value; `{}` is replaced by it (`https://{}` for a Route host).
    #[serde(default)]
    pub format: Option<String>,
    /// Printed after the URL (a sample request); `{}` is replaced by the URL.
    #[serde(default)]
    pub example: Option<String>,
    /// A missing object or value is a warning, not a degraded summary.
    #[serde(default)]
    pub optional: bool,
}
