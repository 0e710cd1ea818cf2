//! Informers: one kube-runtime `watcher` per watched resource, feeding a local cache of JSON objects
//! and waking the controller loop on every event. Kinds whose CRD does not exist yet are retried with
//! a short backoff, so controllers pick them up soon after an operator installs them.
//! Never writes to the API.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, ExponentialBackoff};
use kube::runtime::{WatchStreamExt, watcher::Event};
use kube::{Api, Client};
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A resource the world watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural.
    pub plural: &'static str,
    /// Namespaced.
    pub namespaced: bool,
}

impl Kind {
    /// The kube `ApiResource`.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(self.group, self.version, self.kind),
            self.plural,
        )
    }

    /// `apiVersion` string.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

macro_rules! kinds {
    ($($name:ident = ($g:expr, $v:expr, $k:expr, $p:expr, $ns:expr);)*) => {
        $(
            #[doc = concat!("`", $k, "` (", $g, "/", $v, ").")]
            pub const $name: Kind = Kind { group: $g, version: $v, kind: $k, plural: $p, namespaced: $ns };
        )*
        /// Every watched kind.
        pub const ALL: &[Kind] = &[$($name),*];
    };
}

kinds! {
    NODE = ("", "v1", "Node", "nodes", false);
    POD = ("", "v1", "Pod", "pods", true);
    PVC = ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true);
    PV = ("", "v1", "PersistentVolume", "persistentvolumes", false);
    SECRET = ("", "v1", "Secret", "secrets", true);
    CONFIG_MAP = ("", "v1", "ConfigMap", "configmaps", true);
    STORAGE_CLASS = ("storage.k8s.io", "v1", "StorageClass", "storageclasses", false);
    DEPLOYMENT = ("apps", "v1", "Deployment", "deployments", true);
    REPLICA_SET = ("apps", "v1", "ReplicaSet", "replicasets", true);
    STATEFUL_SET = ("apps", "v1", "StatefulSet", "statefulsets", true);
    JOB = ("batch", "v1", "Job", "jobs", true);
    MACHINE_SET = ("machine.openshift.io", "v1beta1", "MachineSet", "machinesets", true);
    MACHINE = ("machine.openshift.io", "v1beta1", "Machine", "machines", true);
    MCP = ("machineconfiguration.openshift.io", "v1", "MachineConfigPool", "machineconfigpools", false);
    INGRESS_CONFIG = ("config.openshift.io", "v1", "Ingress", "ingresses", false);
    ROUTE = ("route.openshift.io", "v1", "Route", "routes", true);
    SUBSCRIPTION = ("operators.coreos.com", "v1alpha1", "Subscription", "subscriptions", true);
    CSV = ("operators.coreos.com", "v1alpha1", "ClusterServiceVersion", "clusterserviceversions", true);
    DSC = ("datasciencecluster.opendatahub.io", "v1", "DataScienceCluster", "datascienceclusters", false);
    ISVC = ("serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices", true);
    SERVING_RUNTIME = ("serving.kserve.io", "v1alpha1", "ServingRuntime", "servingruntimes", true);
    MODEL_REGISTRY = ("modelregistry.opendatahub.io", "v1beta1", "ModelRegistry", "modelregistries", true);
    LLAMA_STACK = ("llamastack.io", "v1alpha1", "LlamaStackDistribution", "llamastackdistributions", true);
    NOTEBOOK = ("kubeflow.org", "v1", "Notebook", "notebooks", true);
    PIPELINE_RUN = ("tekton.dev", "v1", "PipelineRun", "pipelineruns", true);
    PIPELINE = ("tekton.dev", "v1", "Pipeline", "pipelines", true);
    TASK = ("tekton.dev", "v1", "Task", "tasks", true);
    TASK_RUN = ("tekton.dev", "v1", "TaskRun", "taskruns", true);
    LM_EVAL_JOB = ("trustyai.opendatahub.io", "v1alpha1", "LMEvalJob", "lmevaljobs", true);
    CLUSTER_POLICY = ("nvidia.com", "v1", "ClusterPolicy", "clusterpolicies", false);
    NFD = ("nfd.openshift.io", "v1", "NodeFeatureDiscovery", "nodefeaturediscoveries", true);
    KNATIVE_SERVICE = ("serving.knative.dev", "v1", "Service", "services", true);
    SMCP = ("maistra.io", "v2", "ServiceMeshControlPlane", "servicemeshcontrolplanes", true);
    SMM = ("maistra.io", "v1", "ServiceMeshMember", "servicemeshmembers", true);
}

/// Kinds that are not watched but written (created or deleted) by controllers.
pub mod written {
    use super::Kind;
    /// Namespace.
    pub const NAMESPACE: Kind = Kind {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        namespaced: false,
    };
    /// Service.
    pub const SERVICE: Kind = Kind {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        namespaced: true,
    };
    /// CustomResourceDefinition.
    pub const CRD: Kind = Kind {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        namespaced: false,
    };
    /// Event.
    pub const EVENT: Kind = Kind {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        namespaced: true,
    };
    /// InstallPlan.
    pub const INSTALL_PLAN: Kind = Kind {
        group: "operators.coreos.com",
        version: "v1alpha1",
        kind: "InstallPlan",
        plural: "installplans",
        namespaced: true,
    };
}

/// One kind's objects by `namespace/name`.
pub type Objects = BTreeMap<String, Value>;

/// The local caches of every watched kind.
#[derive(Clone, Default)]
pub struct Caches {
    inner: Arc<RwLock<BTreeMap<Kind, Arc<Objects>>>>,
    synced: Arc<RwLock<std::collections::BTreeSet<Kind>>>,
}

impl Caches {
    /// A snapshot of one kind's objects, sorted by `namespace/name`.
    pub fn list(&self, kind: Kind) -> Arc<BTreeMap<String, Value>> {
        self.inner
            .read()
            .map(|m| m.get(&kind).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// One object by namespace (empty for cluster scope) and name.
    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
        self.list(kind).get(&key(namespace, name)).cloned()
    }

    fn update(&self, kind: Kind, f: impl FnOnce(&mut BTreeMap<String, Value>)) {
        if let Ok(mut m) = self.inner.write() {
            let entry = m.entry(kind).or_default();
            f(Arc::make_mut(entry));
        }
    }

    fn replace(&self, kind: Kind, objects: BTreeMap<String, Value>) {
        if let Ok(mut m) = self.inner.write() {
            m.insert(kind, Arc::new(objects));
        }
        if let Ok(mut s) = self.synced.write() {
            s.insert(kind);
        }
    }

    /// Whether the kind's initial list has arrived. Decisions based on an object's absence (orphan
    /// clean-up) are only safe once it has.
    pub fn is_synced(&self, kind: Kind) -> bool {
        self.synced.read().is_ok_and(|s| s.contains(&kind))
    }

    /// Whether every watched kind has had its initial list, or is known not to be served (no CRD
    /// yet: it has no objects). Controllers must not act before: a Deployment seen before its
    /// ReplicaSets would be reported as 0/1 ready, a ReplicaSet seen before its pods would count
    /// none — which is how a restarted world used to flip every workload to "not ready".
    pub fn all_synced(&self) -> bool {
        self.synced
            .read()
            .is_ok_and(|s| ALL.iter().all(|k| s.contains(k)))
    }
}

/// Cache key of an object.
pub fn key(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

fn object_key(obj: &Value) -> String {
    let md = &obj["metadata"];
    key(
        md["namespace"].as_str().unwrap_or_default(),
        md["name"].as_str().unwrap_or_default(),
    )
}

/// Starts one watcher task per kind in [`ALL`]; every event updates `caches` and notifies `wake`.
pub fn start(client: &Client, caches: &Caches, wake: &Arc<Notify>, cancel: &CancellationToken) {
    for kind in ALL {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &kind.api_resource());
        let caches = caches.clone();
        let wake = wake.clone();
        let cancel = cancel.clone();
        let kind = *kind;
        tokio::spawn(async move {
            // Short backoff: a missing CRD (404) is retried quickly so new kinds are picked up soon.
            let backoff = ExponentialBackoff::from(
                backon::ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(2))
                    .with_factor(2.0)
                    .with_jitter()
                    .without_max_times(),
            );
            let stream = watcher::watcher(api, watcher::Config::default()).backoff(backoff);
            let mut stream = std::pin::pin!(stream);
            let mut buffer: BTreeMap<String, Value> = BTreeMap::new();
            loop {
                let event = tokio::select! {
                    _ = cancel.cancelled() => break,
                    e = stream.next() => e,
                };
                let Some(event) = event else { break };
                match event {
                    Ok(Event::Init) => buffer.clear(),
                    Ok(Event::InitApply(obj)) => {
                        if let Ok(v) = serde_json::to_value(&obj) {
                            buffer.insert(object_key(&v), v);
                        }
                    }
                    Ok(Event::InitDone) => {
                        caches.replace(kind, std::mem::take(&mut buffer));
                        wake.notify_one();
                    }
                    Ok(Event::Apply(obj)) => {
                        if let Ok(v) = serde_json::to_value(&obj) {
                            caches.update(kind, |m| {
                                m.insert(object_key(&v), v);
                            });
                        }
                        wake.notify_one();
                    }
                    Ok(Event::Delete(obj)) => {
                        if let Ok(v) = serde_json::to_value(&obj) {
                            caches.update(kind, |m| {
                                m.remove(&object_key(&v));
                            });
                        }
                        wake.notify_one();
                    }
                    Err(e) => {
                        // A kind that is not served (its CRD is not installed) has no objects;
                        // the watcher keeps retrying and picks the kind up once it is served.
                        if let watcher::Error::InitialListFailed(kube::Error::Api(s)) = &e
                            && s.code == 404
                            && !caches.is_synced(kind)
                        {
                            caches.replace(kind, BTreeMap::new());
                            wake.notify_one();
                        }
                        tracing::debug!(kind = kind.kind, group = kind.group, error = %e, "sim world watch error");
                    }
                }
            }
        });
    }
}
