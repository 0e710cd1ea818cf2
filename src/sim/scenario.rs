//! Scenario files: the simulated cluster's starting state and behaviour knobs.
//!
//! A scenario is YAML (`deny_unknown_fields` everywhere, so a typo is an error naming the field). It says
//! what the cluster looks like when it is first seeded (OpenShift version, infrastructure, platform,
//! worker MachineSets, installed operators, StorageClasses, ingress domain, the user's permissions),
//! how long simulated things take (`delays`, in simulated seconds) and which failures to inject.
//! Shipped scenarios live in `src/sim/scenarios/*.yaml` and are embedded in the binary.
//!
//! This module only parses and validates; it never touches a cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The shipped scenarios, by name, embedded with `include_str!`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("healthy", include_str!("scenarios/healthy.yaml")),
    (
        "model-download-fails",
        include_str!("scenarios/model-download-fails.yaml"),
    ),
    (
        "gpu-never-arrives",
        include_str!("scenarios/gpu-never-arrives.yaml"),
    ),
    (
        "image-pull-backoff",
        include_str!("scenarios/image-pull-backoff.yaml"),
    ),
    ("flaky-api", include_str!("scenarios/flaky-api.yaml")),
    (
        "missing-gpu-operator",
        include_str!("scenarios/missing-gpu-operator.yaml"),
    ),
    ("rbac-denied", include_str!("scenarios/rbac-denied.yaml")),
    ("not-aws", include_str!("scenarios/not-aws.yaml")),
    (
        "missing-service-mesh",
        include_str!("scenarios/missing-service-mesh.yaml"),
    ),
    (
        "openshift-ai-3",
        include_str!("scenarios/openshift-ai-3.yaml"),
    ),
];

/// Errors loading a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// No shipped scenario has this name.
    #[error("unknown scenario `{name}`")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The scenario file could not be read.
    #[error("cannot read scenario file `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not match the scenario format.
    #[error("invalid scenario `{origin}`")]
    Parse {
        /// File path or builtin name.
        origin: String,
        /// The YAML error, with line and column.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// The scenario, overlaid on the one it extends, does not match the scenario format.
    #[error("invalid scenario `{origin}`")]
    Merged {
        /// File path or builtin name.
        origin: String,
        /// What serde found (names the field).
        #[source]
        source: serde_json::Error,
    },
    /// The scenario parsed but a value is inconsistent.
    #[error("invalid scenario `{origin}`: field `{field}` {problem}")]
    Invalid {
        /// File path or builtin name.
        origin: String,
        /// Dotted path of the field.
        field: String,
        /// What is wrong (a lowercase fragment).
        problem: String,
    },
}

impl ScenarioError {
    /// A hint for the user, if there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ScenarioError::Unknown { .. } => Some(format!(
                "shipped scenarios: {}; or pass a path to a scenario YAML file",
                builtin_names().join(", ")
            )),
            ScenarioError::Parse { .. } | ScenarioError::Merged { .. } => {
                Some("see `Scenario file format` in docs/sim-world.md".to_string())
            }
            ScenarioError::Read { source, .. } => Some(match source.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "no such file; the shipped scenarios are given by name: {}",
                    builtin_names().join(", ")
                ),
                _ => "check that the file is readable UTF-8 YAML".to_string(),
            }),
            _ => None,
        }
    }
}

/// Names of the shipped scenarios.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// A simulated cluster: starting state plus behaviour knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (shown by `democtl --sim status` and in logs).
    pub name: String,
    /// A shipped scenario this one starts from: its fields are overlaid (JSON merge: maps merge,
    /// lists and values replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// One paragraph for humans.
    #[serde(default)]
    pub description: String,
    /// The starting cluster.
    pub cluster: ClusterSpec,
    /// How long simulated things take, in simulated seconds.
    #[serde(default)]
    pub delays: Delays,
    /// Failures to inject into the world.
    #[serde(default)]
    pub failures: Failures,
    /// API server knobs (faults, latency, CRD establish delay).
    #[serde(default)]
    pub api: ApiKnobs,
}

fn managed() -> String {
    "Managed".to_string()
}

/// The starting cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// OpenShift version reported by ClusterVersion `version` (e.g. `4.19.9`).
    pub openshift_version: String,
    /// Infrastructure `cluster` status.infrastructureName (the cluster id prefix of machine names).
    pub infrastructure_name: String,
    /// Platform: `AWS`, `None` (bare metal/UPI), `VSphere`, ….
    pub platform: String,
    /// Cloud region (AWS only; empty otherwise).
    #[serde(default)]
    pub region: String,
    /// Base domain; the ingress domain is `apps.<base_domain>` unless `ingress_domain` is set.
    pub base_domain: String,
    /// Ingress `cluster` spec.domain; defaults to `apps.<base_domain>`.
    #[serde(default)]
    pub ingress_domain: Option<String>,
    /// Control-plane nodes (masters), created as Machines (AWS) or plain Nodes.
    #[serde(default)]
    pub control_plane: ControlPlane,
    /// Worker MachineSets in `openshift-machine-api` (platforms with a Machine API).
    #[serde(default)]
    pub machine_sets: Vec<MachineSetSpec>,
    /// Worker nodes without a Machine API (e.g. platform `None`).
    #[serde(default)]
    pub static_nodes: Vec<StaticNodes>,
    /// StorageClasses; at most one may be `default`.
    #[serde(default)]
    pub storage_classes: Vec<StorageClassSpec>,
    /// Operators installed through OLM before the demo starts (package names of the simulated catalog).
    #[serde(default)]
    pub operators: Vec<OperatorSpec>,
    /// The DataScienceCluster `default-dsc` components and their management states
    /// (only when the `rhods-operator` is installed).
    #[serde(default)]
    pub dsc_components: BTreeMap<String, String>,
    /// The DSCInitialization's `spec.serviceMesh.managementState`: `Managed` (default) makes
    /// OpenShift AI's ServiceMeshControlPlane `data-science-smcp` in `istio-system` (needs the
    /// `servicemeshoperator`), `Removed`/`Unmanaged` leaves none.
    #[serde(default = "managed")]
    pub service_mesh: String,
    /// The user the kubeconfig authenticates as, and what they may not do.
    #[serde(default)]
    pub user: UserSpec,
}

impl ClusterSpec {
    /// The ingress domain (`apps.<base_domain>` unless set).
    pub fn ingress_domain(&self) -> String {
        self.ingress_domain
            .clone()
            .unwrap_or_else(|| format!("apps.{}", self.base_domain))
    }

    /// Whether the platform is AWS (Machine API with AWS provider specs).
    pub fn is_aws(&self) -> bool {
        self.platform.eq_ignore_ascii_case("aws")
    }
}

/// Control-plane nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlane {
    /// How many (usually 3).
    pub count: u32,
    /// Instance type of the masters.
    pub instance_type: String,
}

impl Default for ControlPlane {
    fn default() -> Self {
        ControlPlane {
            count: 3,
            instance_type: "m6i.xlarge".to_string(),
        }
    }
}

/// A worker MachineSet that exists when the cluster is seeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSetSpec {
    /// Availability zone (e.g. `us-east-2a`); the MachineSet is named `<infra>-worker-<zone>`.
    pub zone: String,
    /// EC2 instance type (e.g. `m6i.2xlarge`).
    pub instance_type: String,
    /// Replicas (its Machines and Nodes exist and are Running/Ready at seed time).
    pub replicas: u32,
}

/// Worker nodes that are not backed by Machines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticNodes {
    /// Node name prefix; nodes are `<prefix>-0`, `<prefix>-1`, ….
    pub name_prefix: String,
    /// How many.
    pub count: u32,
    /// Instance type used for capacity (and GPUs) from the instance table.
    pub instance_type: String,
}

/// A StorageClass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageClassSpec {
    /// Name (e.g. `gp3-csi`).
    pub name: String,
    /// Provisioner (e.g. `ebs.csi.aws.com`).
    pub provisioner: String,
    /// `WaitForFirstConsumer` or `Immediate`.
    pub binding_mode: String,
    /// Annotated `storageclass.kubernetes.io/is-default-class: "true"`.
    #[serde(default)]
    pub default: bool,
}

/// An operator installed through OLM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorSpec {
    /// Package name in the simulated catalog (e.g. `rhods-operator`, `gpu-operator-certified`).
    pub package: String,
    /// Version of its ClusterServiceVersion; defaults to the catalog's version.
    #[serde(default)]
    pub version: Option<String>,
}

/// The user of the kubeconfig.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// User name (SelfSubjectReview).
    pub name: String,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Requests this user may not make (403 Forbidden; SelfSubjectAccessReview says no).
    #[serde(default)]
    pub denied: Vec<DeniedRule>,
}

impl Default for UserSpec {
    fn default() -> Self {
        UserSpec {
            name: "kube:admin".to_string(),
            groups: vec![
                "system:cluster-admins".to_string(),
                "system:authenticated".to_string(),
            ],
            denied: Vec::new(),
        }
    }
}

/// A denied request pattern; empty lists match everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeniedRule {
    /// Verbs (`create`, `patch`, `delete`, `get`, `list`, `watch`, `update`); empty = all.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// API group (`""` for core); absent = all groups.
    #[serde(default)]
    pub group: Option<String>,
    /// Resource (plural, e.g. `machinesets`); absent = all resources.
    #[serde(default)]
    pub resource: Option<String>,
    /// Namespace; absent = all namespaces and cluster scope.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// How long simulated things take, in simulated seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delays {
    /// Machine Provisioning → Provisioned (instance launched, providerID and addresses known).
    pub machine_provisioning: u64,
    /// Machine Provisioned → Running (its Node registers, NotReady).
    pub machine_running: u64,
    /// Node registered → Ready.
    pub node_ready: u64,
    /// Node Ready → GPU labels and `nvidia.com/gpu` capacity (NFD + GPU operator driver rollout).
    pub gpu_operator: u64,
    /// Machine deletion → instance terminated (Node removed, finalizer released).
    pub machine_delete: u64,
    /// MachineConfigPool Updating → Updated after its spec or machine count changed.
    pub machine_config_pool: u64,
    /// Pod scheduled → containers started (image pull).
    pub image_pull: u64,
    /// Container started → Ready (readiness probe).
    pub pod_ready: u64,
    /// Run time of a model-download pod.
    pub model_download: u64,
    /// Run time of a benchmark pod.
    pub benchmark: u64,
    /// Run time of any other Job pod.
    pub job: u64,
    /// PVC bind (provisioning of the volume) once it may bind.
    pub volume_provisioning: u64,
    /// DataScienceCluster component set to Managed → its CRDs exist and the component is Ready.
    pub dsc_component: u64,
    /// OLM Subscription → CSV Succeeded (and its CRDs).
    pub operator_install: u64,
    /// Run time of a Tekton TaskRun's pod (a pipeline's tasks run one pod each, in DAG order).
    pub pipeline_run: u64,
    /// LMEvalJob start → Complete.
    pub lm_eval: u64,
    /// vLLM predictor start → model loaded (InferenceService predictor Ready).
    pub model_load: u64,
}

impl Default for Delays {
    fn default() -> Self {
        Delays {
            machine_provisioning: 60,
            machine_running: 120,
            node_ready: 60,
            gpu_operator: 240,
            machine_delete: 30,
            machine_config_pool: 60,
            image_pull: 10,
            pod_ready: 5,
            model_download: 600,
            benchmark: 240,
            job: 20,
            volume_provisioning: 5,
            dsc_component: 45,
            operator_install: 60,
            pipeline_run: 60,
            lm_eval: 300,
            model_load: 90,
        }
    }
}

/// Failures to inject.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Failures {
    /// Model-download pods whose Job name contains one of these fail (every attempt).
    pub model_downloads: Vec<DownloadFailure>,
    /// GPU nodes of these instance types (or MachineSet names) never get GPUs.
    pub gpus_never_arrive: Vec<String>,
    /// Containers whose image contains one of these strings stay in ImagePullBackOff.
    pub image_pull_backoff: Vec<String>,
}

/// A model download that fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadFailure {
    /// Substring of the Job name (e.g. `download-mistral-24b`; matches the quantized one too).
    pub job: String,
    /// Job names that also contain this substring are not affected (e.g. `quantized`).
    #[serde(default)]
    pub exclude: Option<String>,
    /// Progress (percent) at which the download fails.
    #[serde(default = "default_fail_percent")]
    pub at_percent: u32,
    /// The error line the pod prints last.
    #[serde(default = "default_fail_message")]
    pub message: String,
}

fn default_fail_percent() -> u32 {
    40
}

fn default_fail_message() -> String {
    "huggingface_hub.errors.HfHubHTTPError: 401 Client Error: Unauthorized (Invalid credentials in Authorization header)".to_string()
}

/// API server knobs (mapped onto the server's configuration).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKnobs {
    /// Fraction (0.0–1.0) of requests that fail with one of `faults`.
    pub fault_rate: f64,
    /// Which faults: `429`, `500`, `503`, `reset` (connection reset); all four when empty.
    pub faults: Vec<String>,
    /// Share (0.0–1.0) of the faults that strike after the request executed: the change is
    /// made and the response lost (500, 503 or reset; a 429 always strikes before).
    pub after_execute: f64,
    /// Seed of the fault generator; random when absent (the server logs the seed it uses, so a
    /// failing run can be replayed with `seed:` set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Added latency per request, in real milliseconds.
    pub latency_ms: u64,
    /// Simulated seconds before a new CRD is Established (and served).
    pub crd_establish_delay: u64,
}

impl Scenario {
    /// A shipped scenario by name.
    pub fn builtin(name: &str) -> Result<Scenario, ScenarioError> {
        let (_, text) =
            BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| ScenarioError::Unknown {
                    name: name.to_string(),
                })?;
        Scenario::parse(text, name)
    }

    /// A scenario from a YAML file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// A shipped scenario if `name_or_path` names one, else a file.
    pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if BUILTIN.iter().any(|(n, _)| *n == name_or_path) {
            return Scenario::builtin(name_or_path);
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some() || path.exists() {
            return Scenario::load(path);
        }
        Err(ScenarioError::Unknown {
            name: name_or_path.to_string(),
        })
    }

    /// Parse and validate YAML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let parse_err = |source| ScenarioError::Parse {
            origin: origin.to_string(),
            source: Box::new(source),
        };
        let raw: serde_json::Value = serde_saphyr::from_str(text).map_err(parse_err)?;
        let scenario: Scenario = match raw.get("extends").and_then(|v| v.as_str()) {
            // Without `extends` parse the text itself so errors carry line and column.
            None => serde_saphyr::from_str(text).map_err(parse_err)?,
            Some(base_name) => {
                let (_, base_text) =
                    BUILTIN
                        .iter()
                        .find(|(n, _)| *n == base_name)
                        .ok_or_else(|| ScenarioError::Invalid {
                            origin: origin.to_string(),
                            field: "extends".to_string(),
                            problem: format!(
                                "names no shipped scenario (shipped: {})",
                                builtin_names().join(", ")
                            ),
                        })?;
                let mut merged: serde_json::Value =
                    serde_saphyr::from_str(base_text).map_err(parse_err)?;
                json_merge(&mut merged, &raw);
                serde_json::from_value(merged).map_err(|source| ScenarioError::Merged {
                    origin: origin.to_string(),
                    source,
                })?
            }
        };
        scenario.validate(origin)?;
        Ok(scenario)
    }

    fn validate(&self, origin: &str) -> Result<(), ScenarioError> {
        let invalid = |field: &str, problem: &str| ScenarioError::Invalid {
            origin: origin.to_string(),
            field: field.to_string(),
            problem: problem.to_string(),
        };
        if self
            .cluster
            .storage_classes
            .iter()
            .filter(|s| s.default)
            .count()
            > 1
        {
            return Err(invalid(
                "cluster.storage_classes",
                "has more than one default StorageClass",
            ));
        }
        for (i, sc) in self.cluster.storage_classes.iter().enumerate() {
            if sc.binding_mode != "WaitForFirstConsumer" && sc.binding_mode != "Immediate" {
                return Err(invalid(
                    &format!("cluster.storage_classes[{i}].binding_mode"),
                    "must be `WaitForFirstConsumer` or `Immediate`",
                ));
            }
        }
        if !self.cluster.machine_sets.is_empty() && !self.cluster.is_aws() {
            return Err(invalid(
                "cluster.machine_sets",
                "needs platform `AWS` (use `static_nodes` on other platforms)",
            ));
        }
        if self.cluster.is_aws() && self.cluster.region.is_empty() {
            return Err(invalid("cluster.region", "is required on platform `AWS`"));
        }
        for (i, op) in self.cluster.operators.iter().enumerate() {
            if super::world::catalog::package(&op.package).is_none() {
                return Err(invalid(
                    &format!("cluster.operators[{i}].package"),
                    &format!(
                        "`{}` is not in the simulated catalog ({})",
                        op.package,
                        super::world::catalog::package_names().join(", ")
                    ),
                ));
            }
        }
        for comp in self.cluster.dsc_components.keys() {
            if super::world::catalog::component(comp).is_none() {
                return Err(invalid(
                    &format!("cluster.dsc_components.{comp}"),
                    "is not a DataScienceCluster component",
                ));
            }
        }
        for (comp, state) in &self.cluster.dsc_components {
            if state != "Managed" && state != "Removed" {
                return Err(invalid(
                    &format!("cluster.dsc_components.{comp}"),
                    "must be `Managed` or `Removed`",
                ));
            }
        }
        if !matches!(
            self.cluster.service_mesh.as_str(),
            "Managed" | "Removed" | "Unmanaged"
        ) {
            return Err(invalid(
                "cluster.service_mesh",
                "must be `Managed`, `Removed` or `Unmanaged`",
            ));
        }
        if !(0.0..=1.0).contains(&self.api.fault_rate) {
            return Err(invalid("api.fault_rate", "must be between 0.0 and 1.0"));
        }
        for (i, f) in self.api.faults.iter().enumerate() {
            if !matches!(f.as_str(), "429" | "500" | "503" | "reset") {
                return Err(invalid(
                    &format!("api.faults[{i}]"),
                    "must be one of `429`, `500`, `503`, `reset`",
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.api.after_execute) {
            return Err(invalid("api.after_execute", "must be between 0.0 and 1.0"));
        }
        Ok(())
    }

    /// The API server configuration for this scenario: the user and their denied permissions,
    /// fault injection (rate, kinds, latency), the CRD establish delay and the Kubernetes version
    /// of the OpenShift release. The clock and state file are left at their defaults for the
    /// caller to set.
    pub fn server_config(&self) -> super::ServerConfig {
        let user = &self.cluster.user;
        let denied = user
            .denied
            .iter()
            .map(|d| super::PermissionRule {
                verbs: d.verbs.clone(),
                api_groups: d.group.iter().cloned().collect(),
                resources: d.resource.iter().cloned().collect(),
                namespaces: d.namespace.iter().cloned().collect(),
            })
            .collect();
        let all = self.api.faults.is_empty();
        let has = |f: &str| u32::from(all || self.api.faults.iter().any(|x| x == f));
        let faults = super::FaultConfig {
            rate: self.api.fault_rate,
            after_execute: self.api.after_execute,
            seed: self.api.seed.unwrap_or_else(rand::random),
            kinds: super::FaultKinds {
                too_many_requests: has("429"),
                internal_error: has("500"),
                unavailable: has("503"),
                connection_reset: has("reset"),
            },
            latency: Duration::from_millis(self.api.latency_ms),
            ..super::FaultConfig::default()
        };
        super::ServerConfig {
            user: user.name.clone(),
            groups: user.groups.clone(),
            denied,
            faults,
            crd_establish_delay: Duration::from_secs(self.api.crd_establish_delay),
            kubernetes_version: super::world::kubelet_version(&self.cluster.openshift_version),
            ..super::ServerConfig::default()
        }
    }
}

/// RFC 7386 JSON merge of `patch` into `target` (null deletes; objects merge; the rest replaces).
fn json_merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    json_merge(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_scenario_parses() {
        for name in builtin_names() {
            let s = Scenario::builtin(name).unwrap();
            assert_eq!(s.name, name);
        }
    }

    #[test]
    fn unknown_field_is_an_error_naming_it() {
        let text = BUILTIN[0].1.replace("delays:", "delayz:");
        let err = Scenario::parse(&text, "x.yaml").unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(chain.contains("delayz"), "{chain}");
    }

    #[test]
    fn extends_overlays_the_base() {
        let s = Scenario::builtin("gpu-never-arrives").unwrap();
        assert_eq!(
            s.failures.gpus_never_arrive,
            vec!["g6.12xlarge".to_string()]
        );
        assert_eq!(s.cluster.machine_sets.len(), 3);
        let s = Scenario::parse(
            "name: x\nextends: healthy\nfailures: {gpu_never: [a]}\n",
            "x.yaml",
        );
        let err = s.unwrap_err();
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(chain.contains("gpu_never"), "{chain}");
    }

    #[test]
    fn unknown_builtin_has_a_hint() {
        let err = Scenario::builtin("nope").unwrap_err();
        assert_eq!(err.to_string(), "unknown scenario `nope`");
        assert!(err.hint().unwrap().contains("healthy"));
    }

    #[test]
    fn server_config_maps_api_knobs() {
        let s = Scenario::builtin("flaky-api").unwrap();
        let c = s.server_config();
        assert_eq!(c.faults.rate, 0.05);
        assert_eq!(c.faults.kinds.connection_reset, 1);
        assert_eq!(c.faults.latency, Duration::from_millis(20));
        assert_eq!(c.crd_establish_delay, Duration::from_secs(10));
        assert_eq!(c.kubernetes_version, "v1.32.7");
        let c = Scenario::builtin("rbac-denied").unwrap().server_config();
        assert_eq!(c.user, "developer");
        assert!(c.denied[0].matches(
            "create",
            "machine.openshift.io",
            "machinesets",
            None,
            Some("openshift-machine-api")
        ));
        assert!(!c.denied[0].matches(
            "get",
            "machine.openshift.io",
            "machinesets",
            None,
            Some("openshift-machine-api")
        ));
    }

    #[test]
    fn after_execute_seed_and_default_kinds_come_from_the_api_knobs() {
        let text =
            "name: f\nextends: healthy\napi: {fault_rate: 0.1, after_execute: 0.5, seed: 42}\n";
        let c = Scenario::parse(text, "f.yaml").unwrap().server_config();
        assert_eq!(c.faults.after_execute, 0.5);
        assert_eq!(c.faults.seed, 42);
        let k = &c.faults.kinds;
        assert_eq!(
            (
                k.too_many_requests,
                k.internal_error,
                k.unavailable,
                k.connection_reset
            ),
            (1, 1, 1, 1)
        );
        let bad = "name: f\nextends: healthy\napi: {fault_rate: 0.1, after_execute: 2}\n";
        let err = Scenario::parse(bad, "f.yaml").unwrap_err();
        assert!(err.to_string().contains("api.after_execute"), "{err}");
    }

    #[test]
    fn two_default_storage_classes_are_rejected() {
        let mut s = Scenario::builtin("healthy").unwrap();
        let mut sc = s.cluster.storage_classes[0].clone();
        sc.name = "other".into();
        s.cluster.storage_classes.push(sc);
        let err = s.validate("t").unwrap_err();
        assert!(err.to_string().contains("cluster.storage_classes"), "{err}");
    }
}
