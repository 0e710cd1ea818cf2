//! Static tables of the simulated OpenShift world: the CustomResourceDefinitions of the OpenShift and
//! operator kinds (group, versions, scope, subresources), the simulated OLM catalog (package → namespace,
//! CSV, CRDs), the DataScienceCluster components (component → CRDs) and the EC2 instance types (CPU,
//! memory, GPUs). Pure data; never talks to a cluster.

use serde_json::{Value, json};

/// One CustomResourceDefinition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrdDef {
    /// API group.
    pub group: &'static str,
    /// Served versions; the first one is the storage version.
    pub versions: &'static [&'static str],
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Short names (`kubectl get isvc`).
    pub short_names: &'static [&'static str],
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// Whether the kind has a `status` subresource.
    pub status: bool,
    /// Whether the kind has a `scale` subresource (spec.replicas/status.replicas).
    pub scale: bool,
}

impl CrdDef {
    /// `<plural>.<group>`, the CRD's name.
    pub fn name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// The storage version.
    pub fn version(&self) -> &'static str {
        self.versions[0]
    }

    /// `group/version` of the storage version.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version())
    }

    /// The CustomResourceDefinition object (apiextensions.k8s.io/v1): the real one when the
    /// schema data carries it (`crate::sim::schema::data`), else a schemaless stand-in.
    pub fn to_object(&self) -> Value {
        if let Some(real) = crate::sim::schema::data::real_crd(&self.name()) {
            let mut crd = real.clone();
            crd["metadata"]["labels"]["sim.democtl.io/seeded"] = json!("true");
            return crd;
        }
        let versions: Vec<Value> = self
            .versions
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut subresources = serde_json::Map::new();
                if self.status {
                    subresources.insert("status".into(), json!({}));
                }
                if self.scale {
                    subresources.insert(
                        "scale".into(),
                        json!({
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas",
                            "labelSelectorPath": ".status.labelSelector"
                        }),
                    );
                }
                json!({
                    "name": v,
                    "served": true,
                    "storage": i == 0,
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": true
                    }},
                    "subresources": subresources
                })
            })
            .collect();
        let singular = self.kind.to_ascii_lowercase();
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": self.name(), "labels": {"sim.democtl.io/seeded": "true"}},
            "spec": {
                "group": self.group,
                "names": {
                    "kind": self.kind,
                    "listKind": format!("{}List", self.kind),
                    "plural": self.plural,
                    "singular": singular,
                    "shortNames": self.short_names,
                },
                "scope": if self.namespaced { "Namespaced" } else { "Cluster" },
                "versions": versions
            }
        })
    }
}

const fn crd(
    group: &'static str,
    versions: &'static [&'static str],
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    namespaced: bool,
    status: bool,
) -> CrdDef {
    CrdDef {
        group,
        versions,
        kind,
        plural,
        short_names,
        namespaced,
        status,
        scale: false,
    }
}

/// OpenShift platform kinds present on every simulated cluster (served as CRDs here).
pub const PLATFORM_CRDS: &[CrdDef] = &[
    crd(
        "route.openshift.io",
        &["v1"],
        "Route",
        "routes",
        &[],
        true,
        true,
    ),
    CrdDef {
        group: "machine.openshift.io",
        versions: &["v1beta1"],
        kind: "MachineSet",
        plural: "machinesets",
        short_names: &[],
        namespaced: true,
        status: true,
        scale: true,
    },
    crd(
        "machine.openshift.io",
        &["v1beta1"],
        "Machine",
        "machines",
        &[],
        true,
        true,
    ),
    crd(
        "machineconfiguration.openshift.io",
        &["v1"],
        "MachineConfig",
        "machineconfigs",
        &["mc"],
        false,
        false,
    ),
    crd(
        "machineconfiguration.openshift.io",
        &["v1"],
        "MachineConfigPool",
        "machineconfigpools",
        &["mcp"],
        false,
        true,
    ),
    crd(
        "config.openshift.io",
        &["v1"],
        "Infrastructure",
        "infrastructures",
        &[],
        false,
        true,
    ),
    crd(
        "config.openshift.io",
        &["v1"],
        "ClusterVersion",
        "clusterversions",
        &[],
        false,
        true,
    ),
    crd(
        "config.openshift.io",
        &["v1"],
        "Ingress",
        "ingresses",
        &[],
        false,
        true,
    ),
    crd(
        "operators.coreos.com",
        &["v1alpha1"],
        "ClusterServiceVersion",
        "clusterserviceversions",
        &["csv", "csvs"],
        true,
        true,
    ),
    crd(
        "operators.coreos.com",
        &["v1alpha1"],
        "Subscription",
        "subscriptions",
        &["sub", "subs"],
        true,
        true,
    ),
    crd(
        "operators.coreos.com",
        &["v1alpha1"],
        "InstallPlan",
        "installplans",
        &["ip"],
        true,
        true,
    ),
    crd(
        "operators.coreos.com",
        &["v1alpha1"],
        "CatalogSource",
        "catalogsources",
        &["catsrc"],
        true,
        true,
    ),
    crd(
        "operators.coreos.com",
        &["v1", "v1alpha2"],
        "OperatorGroup",
        "operatorgroups",
        &["og"],
        true,
        true,
    ),
    crd(
        "build.openshift.io",
        &["v1"],
        "BuildConfig",
        "buildconfigs",
        &["bc"],
        true,
        true,
    ),
    crd(
        "build.openshift.io",
        &["v1"],
        "Build",
        "builds",
        &[],
        true,
        true,
    ),
    crd(
        "image.openshift.io",
        &["v1"],
        "ImageStream",
        "imagestreams",
        &["is"],
        true,
        true,
    ),
    crd(
        "monitoring.coreos.com",
        &["v1"],
        "ServiceMonitor",
        "servicemonitors",
        &["smon"],
        true,
        false,
    ),
    crd(
        "monitoring.coreos.com",
        &["v1"],
        "PodMonitor",
        "podmonitors",
        &["pmon"],
        true,
        false,
    ),
];

/// A package of the simulated OLM catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Package {
    /// Package name (Subscription spec.name).
    pub name: &'static str,
    /// Namespace it installs into.
    pub namespace: &'static str,
    /// Default CSV version.
    pub version: &'static str,
    /// Display name of the CSV.
    pub display_name: &'static str,
    /// Default channel.
    pub channel: &'static str,
    /// CRDs it owns.
    pub crds: &'static [CrdDef],
}

impl Package {
    /// CSV name for a version (`<package>.v<version>`).
    pub fn csv_name(&self, version: &str) -> String {
        format!("{}.v{}", self.name, version.trim_start_matches('v'))
    }
}

/// The simulated catalog (`redhat-operators`, `certified-operators`, `community-operators`).
pub const PACKAGES: &[Package] = &[
    Package {
        name: "rhods-operator",
        namespace: "redhat-ods-operator",
        version: "2.22.1",
        display_name: "Red Hat OpenShift AI",
        channel: "stable",
        crds: &[
            crd(
                "datasciencecluster.opendatahub.io",
                &["v1"],
                "DataScienceCluster",
                "datascienceclusters",
                &["dsc"],
                false,
                true,
            ),
            crd(
                "dscinitialization.opendatahub.io",
                &["v1"],
                "DSCInitialization",
                "dscinitializations",
                &["dsci"],
                false,
                true,
            ),
        ],
    },
    Package {
        name: "gpu-operator-certified",
        namespace: "nvidia-gpu-operator",
        version: "25.3.2",
        display_name: "NVIDIA GPU Operator",
        channel: "v25.3",
        crds: &[
            crd(
                "nvidia.com",
                &["v1"],
                "ClusterPolicy",
                "clusterpolicies",
                &[],
                false,
                true,
            ),
            crd(
                "nvidia.com",
                &["v1alpha1"],
                "NVIDIADriver",
                "nvidiadrivers",
                &["nvd"],
                false,
                true,
            ),
        ],
    },
    Package {
        name: "nfd",
        namespace: "openshift-nfd",
        version: "4.19.0-202508121138",
        display_name: "Node Feature Discovery Operator",
        channel: "stable",
        crds: &[
            crd(
                "nfd.openshift.io",
                &["v1"],
                "NodeFeatureDiscovery",
                "nodefeaturediscoveries",
                &[],
                true,
                true,
            ),
            crd(
                "nfd.openshift.io",
                &["v1alpha1"],
                "NodeFeatureRule",
                "nodefeaturerules",
                &[],
                false,
                false,
            ),
        ],
    },
    Package {
        name: "serverless-operator",
        namespace: "openshift-serverless",
        version: "1.36.0",
        display_name: "Red Hat OpenShift Serverless",
        channel: "stable",
        crds: &[
            crd(
                "operator.knative.dev",
                &["v1beta1"],
                "KnativeServing",
                "knativeservings",
                &["ks"],
                true,
                true,
            ),
            crd(
                "serving.knative.dev",
                &["v1"],
                "Service",
                "services",
                &["ksvc", "ksvcs"],
                true,
                true,
            ),
            crd(
                "serving.knative.dev",
                &["v1"],
                "Revision",
                "revisions",
                &["rev"],
                true,
                true,
            ),
            crd(
                "serving.knative.dev",
                &["v1"],
                "Configuration",
                "configurations",
                &["config", "cfg"],
                true,
                true,
            ),
        ],
    },
    Package {
        name: "servicemeshoperator",
        namespace: "openshift-operators",
        version: "2.6.9",
        display_name: "Red Hat OpenShift Service Mesh 2",
        channel: "stable",
        crds: &[
            crd(
                "maistra.io",
                &["v2"],
                "ServiceMeshControlPlane",
                "servicemeshcontrolplanes",
                &["smcp"],
                true,
                true,
            ),
            crd(
                "maistra.io",
                &["v1"],
                "ServiceMeshMember",
                "servicemeshmembers",
                &["smm"],
                true,
                true,
            ),
            crd(
                "maistra.io",
                &["v1"],
                "ServiceMeshMemberRoll",
                "servicemeshmemberrolls",
                &["smmr"],
                true,
                true,
            ),
            crd(
                "security.istio.io",
                &["v1beta1"],
                "PeerAuthentication",
                "peerauthentications",
                &["pa"],
                true,
                true,
            ),
        ],
    },
    Package {
        name: "openshift-pipelines-operator-rh",
        namespace: "openshift-operators",
        version: "1.19.1",
        display_name: "Red Hat OpenShift Pipelines",
        channel: "latest",
        crds: &[
            crd(
                "tekton.dev",
                &["v1", "v1beta1"],
                "Task",
                "tasks",
                &[],
                true,
                false,
            ),
            crd(
                "tekton.dev",
                &["v1", "v1beta1"],
                "Pipeline",
                "pipelines",
                &[],
                true,
                false,
            ),
            crd(
                "tekton.dev",
                &["v1", "v1beta1"],
                "PipelineRun",
                "pipelineruns",
                &["pr", "prs"],
                true,
                true,
            ),
            crd(
                "tekton.dev",
                &["v1", "v1beta1"],
                "TaskRun",
                "taskruns",
                &["tr", "trs"],
                true,
                true,
            ),
            crd(
                "operator.tekton.dev",
                &["v1alpha1"],
                "TektonConfig",
                "tektonconfigs",
                &[],
                false,
                true,
            ),
        ],
    },
    Package {
        name: "openshift-gitops-operator",
        namespace: "openshift-gitops-operator",
        version: "1.16.2",
        display_name: "Red Hat OpenShift GitOps",
        channel: "latest",
        crds: &[
            crd(
                "argoproj.io",
                &["v1alpha1"],
                "Application",
                "applications",
                &["app", "apps"],
                true,
                true,
            ),
            crd(
                "argoproj.io",
                &["v1beta1"],
                "ArgoCD",
                "argocds",
                &[],
                true,
                true,
            ),
        ],
    },
    Package {
        name: "grafana-operator",
        namespace: "openshift-operators",
        version: "5.18.0",
        display_name: "Grafana Operator",
        channel: "v5",
        crds: &[
            crd(
                "grafana.integreatly.org",
                &["v1beta1"],
                "Grafana",
                "grafanas",
                &[],
                true,
                true,
            ),
            crd(
                "grafana.integreatly.org",
                &["v1beta1"],
                "GrafanaDatasource",
                "grafanadatasources",
                &[],
                true,
                true,
            ),
            crd(
                "grafana.integreatly.org",
                &["v1beta1"],
                "GrafanaDashboard",
                "grafanadashboards",
                &[],
                true,
                true,
            ),
        ],
    },
    Package {
        name: "opentelemetry-product",
        namespace: "openshift-opentelemetry-operator",
        version: "0.127.0-1",
        display_name: "Red Hat build of OpenTelemetry",
        channel: "stable",
        crds: &[crd(
            "opentelemetry.io",
            &["v1beta1", "v1alpha1"],
            "OpenTelemetryCollector",
            "opentelemetrycollectors",
            &["otelcol"],
            true,
            true,
        )],
    },
    Package {
        name: "docling-operator",
        namespace: "openshift-operators",
        version: "0.2.0",
        display_name: "Docling Operator",
        channel: "alpha",
        crds: &[crd(
            "docling.github.io",
            &["v1alpha1"],
            "DoclingServe",
            "doclingserves",
            &[],
            true,
            true,
        )],
    },
];

/// A package by name.
pub fn package(name: &str) -> Option<&'static Package> {
    PACKAGES.iter().find(|p| p.name == name)
}

/// All package names.
pub fn package_names() -> Vec<&'static str> {
    PACKAGES.iter().map(|p| p.name).collect()
}

/// A DataScienceCluster component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// Key under spec.components (e.g. `modelregistry`).
    pub key: &'static str,
    /// Condition type prefix (`ModelRegistryReady`).
    pub condition: &'static str,
    /// CRDs that appear when it is Managed.
    pub crds: &'static [CrdDef],
}

/// The components of the DataScienceCluster (OpenShift AI 2.2x).
pub const COMPONENTS: &[Component] = &[
    Component {
        key: "dashboard",
        condition: "DashboardReady",
        crds: &[
            crd(
                "opendatahub.io",
                &["v1alpha"],
                "OdhDashboardConfig",
                "odhdashboardconfigs",
                &[],
                true,
                false,
            ),
            crd(
                "dashboard.opendatahub.io",
                &["v1"],
                "AcceleratorProfile",
                "acceleratorprofiles",
                &[],
                true,
                false,
            ),
        ],
    },
    Component {
        key: "workbenches",
        condition: "WorkbenchesReady",
        crds: &[crd(
            "kubeflow.org",
            &["v1", "v1beta1"],
            "Notebook",
            "notebooks",
            &[],
            true,
            true,
        )],
    },
    Component {
        key: "datasciencepipelines",
        condition: "DataSciencePipelinesReady",
        crds: &[crd(
            "datasciencepipelinesapplications.opendatahub.io",
            &["v1"],
            "DataSciencePipelinesApplication",
            "datasciencepipelinesapplications",
            &["dspa"],
            true,
            true,
        )],
    },
    Component {
        key: "kserve",
        condition: "KserveReady",
        crds: &[
            crd(
                "serving.kserve.io",
                &["v1beta1"],
                "InferenceService",
                "inferenceservices",
                &["isvc"],
                true,
                true,
            ),
            crd(
                "serving.kserve.io",
                &["v1alpha1"],
                "ServingRuntime",
                "servingruntimes",
                &[],
                true,
                true,
            ),
            crd(
                "serving.kserve.io",
                &["v1alpha1"],
                "ClusterServingRuntime",
                "clusterservingruntimes",
                &[],
                false,
                true,
            ),
            crd(
                "serving.kserve.io",
                &["v1alpha1"],
                "InferenceGraph",
                "inferencegraphs",
                &["ig"],
                true,
                true,
            ),
        ],
    },
    Component {
        key: "modelmeshserving",
        condition: "ModelMeshServingReady",
        crds: &[],
    },
    Component {
        key: "kueue",
        condition: "KueueReady",
        crds: &[
            crd(
                "kueue.x-k8s.io",
                &["v1beta1"],
                "ClusterQueue",
                "clusterqueues",
                &["cq"],
                false,
                true,
            ),
            crd(
                "kueue.x-k8s.io",
                &["v1beta1"],
                "LocalQueue",
                "localqueues",
                &["lq"],
                true,
                true,
            ),
        ],
    },
    Component {
        key: "codeflare",
        condition: "CodeFlareReady",
        crds: &[crd(
            "workload.codeflare.dev",
            &["v1beta2"],
            "AppWrapper",
            "appwrappers",
            &["aw"],
            true,
            true,
        )],
    },
    Component {
        key: "ray",
        condition: "RayReady",
        crds: &[crd(
            "ray.io",
            &["v1"],
            "RayCluster",
            "rayclusters",
            &[],
            true,
            true,
        )],
    },
    Component {
        key: "trustyai",
        condition: "TrustyAIReady",
        crds: &[
            crd(
                "trustyai.opendatahub.io",
                &["v1alpha1"],
                "LMEvalJob",
                "lmevaljobs",
                &[],
                true,
                true,
            ),
            crd(
                "trustyai.opendatahub.io",
                &["v1", "v1alpha1"],
                "TrustyAIService",
                "trustyaiservices",
                &[],
                true,
                true,
            ),
            crd(
                "trustyai.opendatahub.io",
                &["v1alpha1"],
                "GuardrailsOrchestrator",
                "guardrailsorchestrators",
                &[],
                true,
                true,
            ),
        ],
    },
    Component {
        key: "modelregistry",
        condition: "ModelRegistryReady",
        crds: &[crd(
            "modelregistry.opendatahub.io",
            &["v1beta1", "v1alpha1"],
            "ModelRegistry",
            "modelregistries",
            &["mr"],
            true,
            true,
        )],
    },
    Component {
        key: "trainingoperator",
        condition: "TrainingOperatorReady",
        crds: &[crd(
            "kubeflow.org",
            &["v1"],
            "PyTorchJob",
            "pytorchjobs",
            &[],
            true,
            true,
        )],
    },
    Component {
        key: "feastoperator",
        condition: "FeastOperatorReady",
        crds: &[crd(
            "feast.dev",
            &["v1alpha1"],
            "FeatureStore",
            "featurestores",
            &["feast"],
            true,
            true,
        )],
    },
    Component {
        key: "llamastackoperator",
        condition: "LlamaStackOperatorReady",
        crds: &[crd(
            "llamastack.io",
            &["v1alpha1"],
            "LlamaStackDistribution",
            "llamastackdistributions",
            &["llsd"],
            true,
            true,
        )],
    },
];

/// A DSC component by key.
pub fn component(key: &str) -> Option<&'static Component> {
    COMPONENTS.iter().find(|c| c.key == key)
}

/// Every CRD the simulated world knows, with the first match by group and plural.
pub fn find_crd(group: &str, plural: &str) -> Option<&'static CrdDef> {
    PLATFORM_CRDS
        .iter()
        .chain(PACKAGES.iter().flat_map(|p| p.crds.iter()))
        .chain(COMPONENTS.iter().flat_map(|c| c.crds.iter()))
        .find(|c| c.group == group && c.plural == plural)
}

/// An EC2 instance type's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceShape {
    /// vCPUs.
    pub cpu: u32,
    /// Memory in GiB.
    pub memory_gib: u32,
    /// NVIDIA GPUs.
    pub gpus: u32,
    /// GPU product label (`nvidia.com/gpu.product`), empty without GPUs.
    pub gpu_product: &'static str,
    /// GPU memory per GPU in MiB (`nvidia.com/gpu.memory`).
    pub gpu_memory_mib: u32,
}

/// GPU counts per instance type (AWS): (type, GPUs). Types not listed have no GPU.
pub const GPU_INSTANCES: &[(&str, u32)] = &[
    ("g6.xlarge", 1),
    ("g6.2xlarge", 1),
    ("g6.4xlarge", 1),
    ("g6.8xlarge", 1),
    ("g6.16xlarge", 1),
    ("g6.12xlarge", 4),
    ("g6.24xlarge", 4),
    ("g6.48xlarge", 8),
    ("g6e.xlarge", 1),
    ("g6e.2xlarge", 1),
    ("g6e.4xlarge", 1),
    ("g6e.8xlarge", 1),
    ("g6e.16xlarge", 1),
    ("g6e.12xlarge", 4),
    ("g6e.24xlarge", 4),
    ("g6e.48xlarge", 8),
    ("g5.xlarge", 1),
    ("g5.2xlarge", 1),
    ("g5.4xlarge", 1),
    ("g5.8xlarge", 1),
    ("g5.16xlarge", 1),
    ("g5.12xlarge", 4),
    ("g5.24xlarge", 4),
    ("g5.48xlarge", 8),
    ("g4dn.xlarge", 1),
    ("g4dn.2xlarge", 1),
    ("g4dn.4xlarge", 1),
    ("g4dn.8xlarge", 1),
    ("g4dn.16xlarge", 1),
    ("g4dn.12xlarge", 4),
    ("g4dn.metal", 8),
    ("p3.2xlarge", 1),
    ("p3.8xlarge", 4),
    ("p3.16xlarge", 8),
    ("p4d.24xlarge", 8),
    ("p4de.24xlarge", 8),
    ("p5.48xlarge", 8),
];

/// The shape of an instance type (vCPU from the size suffix, memory from the family, GPUs from
/// [`GPU_INSTANCES`]).
pub fn instance_shape(instance_type: &str) -> InstanceShape {
    let (family, size) = instance_type
        .split_once('.')
        .unwrap_or((instance_type, "xlarge"));
    let mut cpu = match size {
        "medium" => 1,
        "large" => 2,
        "xlarge" => 4,
        "metal" => 96,
        s => s
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<u32>().ok())
            .map_or(4, |n| n * 4),
    };
    let per_cpu = match family.chars().next() {
        Some('c') => 2,
        Some('r') | Some('x') => 8,
        _ => 4,
    };
    let mut memory_gib = cpu * per_cpu;
    let gpus = GPU_INSTANCES
        .iter()
        .find(|(t, _)| *t == instance_type)
        .map_or(0, |(_, n)| *n);
    let (gpu_product, gpu_memory_mib) = match family {
        "g6" => ("NVIDIA-L4", 23034),
        "g6e" => ("NVIDIA-L40S", 46068),
        "g5" => ("NVIDIA-A10G", 23028),
        "g4dn" => ("Tesla-T4", 15360),
        "p3" => ("Tesla-V100-SXM2-16GB", 16384),
        "p4d" => ("NVIDIA-A100-SXM4-40GB", 40960),
        "p4de" => ("NVIDIA-A100-SXM4-80GB", 81920),
        "p5" => ("NVIDIA-H100-80GB-HBM3", 81559),
        _ => ("", 0),
    };
    match instance_type {
        "p4d.24xlarge" | "p4de.24xlarge" => {
            cpu = 96;
            memory_gib = 1152;
        }
        "p5.48xlarge" => {
            cpu = 192;
            memory_gib = 2048;
        }
        _ => {}
    }
    InstanceShape {
        cpu,
        memory_gib,
        gpus,
        gpu_product: if gpus > 0 { gpu_product } else { "" },
        gpu_memory_mib: if gpus > 0 { gpu_memory_mib } else { 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_instance_shapes() {
        let s = instance_shape("g6.12xlarge");
        assert_eq!(
            (s.cpu, s.memory_gib, s.gpus, s.gpu_product),
            (48, 192, 4, "NVIDIA-L4")
        );
        let s = instance_shape("g6.4xlarge");
        assert_eq!((s.cpu, s.memory_gib, s.gpus), (16, 64, 1));
        let s = instance_shape("p4d.24xlarge");
        assert_eq!((s.cpu, s.gpus), (96, 8));
        let s = instance_shape("m6i.2xlarge");
        assert_eq!((s.cpu, s.memory_gib, s.gpus, s.gpu_product), (8, 32, 0, ""));
    }

    #[test]
    fn crd_object_has_status_subresource_and_scope() {
        let isvc = find_crd("serving.kserve.io", "inferenceservices").map(|c| c.to_object());
        let isvc = isvc.unwrap_or_default();
        assert_eq!(
            isvc["metadata"]["name"],
            "inferenceservices.serving.kserve.io"
        );
        assert_eq!(isvc["spec"]["scope"], "Namespaced");
        assert_eq!(isvc["spec"]["versions"][0]["name"], "v1beta1");
        assert!(isvc["spec"]["versions"][0]["subresources"]["status"].is_object());
        let dsc = find_crd("datasciencecluster.opendatahub.io", "datascienceclusters");
        assert_eq!(dsc.map(|c| c.namespaced), Some(false));
    }
}
