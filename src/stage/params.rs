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
    WaitJobs(WaitJobsParams),
    RunJob(RunJobParams),
    Benchmark(BenchmarkParams),
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
    /// Wait for what was applied to be ready before finishing.
    #[serde(default)]
    pub wait: bool,
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

/// `wait-jobs`: wait for Jobs concurrently, progress from their pod logs, fail at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitJobsParams {
    pub namespace: String,
    pub jobs: Vec<String>,
}

/// `run-job`: delete-then-create a Job of the stage render with a fixed name, wait, collect output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunJobParams {
    pub namespace: String,
    pub job: String,
}

/// `benchmark`: run benchmark Jobs, parse the results documents from their logs, show a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BenchmarkParams {
    pub namespace: String,
    pub jobs: Vec<String>,
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
}

/// `secret`: create a Secret from the environment, a `.env` file or a hidden prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretParams {
    pub namespace: String,
    pub name: String,
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
    /// Printed after the URL (a sample request).
    #[serde(default)]
    pub example: Option<String>,
}
