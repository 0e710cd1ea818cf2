//! The world model through kube-rs over HTTP: a SimServer with a fast simulated clock, seeded with
//! a scenario, with the controllers running. Every wait watches until a condition holds; the
//! timeout is only a safety net.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, LogParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use democtl::sim::clock::SimClock;
use democtl::sim::scenario::Scenario;
use democtl::sim::{SimServer, world};

/// Simulated seconds per real second in these tests.
const SPEED: f64 = 2000.0;
/// Safety net for every wait (real time).
const TIMEOUT: Duration = Duration::from_secs(60);

struct World {
    _server: SimServer,
    client: Client,
    cancel: CancellationToken,
    /// Stops the controllers when the test ends.
    _stop: tokio_util::sync::DropGuard,
    scenario: Scenario,
    state_file: Option<std::path::PathBuf>,
    speed: f64,
    writes: world::WriteLog,
    controllers: Option<tokio::task::JoinHandle<()>>,
}

impl World {
    async fn start(scenario: Scenario) -> World {
        World::start_with(scenario, None, SPEED, true).await
    }

    /// A server (persisted to `state_file` when given) with the world's controllers running;
    /// seeded when `seed`.
    async fn start_with(
        scenario: Scenario,
        state_file: Option<std::path::PathBuf>,
        speed: f64,
        seed: bool,
    ) -> World {
        let mut w = World::server_only(scenario, state_file, speed, vec![]).await;
        if seed {
            world::seed(w.client.clone(), &w.scenario).await.unwrap();
        }
        w.run_controllers();
        w
    }

    /// The server alone (the controllers start with `run_controllers`).
    async fn server_only(
        scenario: Scenario,
        state_file: Option<std::path::PathBuf>,
        speed: f64,
        denied: Vec<democtl::sim::PermissionRule>,
    ) -> World {
        let mut config = scenario.server_config();
        config.clock = SimClock::new(speed);
        config.denied = denied;
        config.state_file = state_file.clone();
        let server = SimServer::start(config).await.unwrap();
        let client = server.client().unwrap();
        let cancel = CancellationToken::new();
        World {
            _server: server,
            client,
            _stop: cancel.clone().drop_guard(),
            cancel,
            scenario,
            state_file,
            speed,
            writes: world::WriteLog::default(),
            controllers: None,
        }
    }

    fn run_controllers(&mut self) {
        let (c, s, clock, k, w) = (
            self.client.clone(),
            self.scenario.clone(),
            self._server.clock().clone(),
            self.cancel.clone(),
            self.writes.clone(),
        );
        self.controllers = Some(tokio::spawn(async move {
            world::run_recorded(c, &s, clock, k, w).await.unwrap();
        }));
    }

    /// Stops the controllers and the server (which saves its state), then starts the server
    /// again from the saved state, as `democtl sim stop` + `sim start` do; the controllers start
    /// with `run_controllers`.
    async fn restart(self) -> World {
        self.restart_denying(vec![]).await
    }

    /// [`World::restart`], the client denied `denied`.
    async fn restart_denying(self, denied: Vec<democtl::sim::PermissionRule>) -> World {
        let World {
            _server: server,
            cancel,
            scenario,
            state_file,
            speed,
            controllers,
            _stop,
            ..
        } = self;
        drop(_stop);
        cancel.cancel();
        if let Some(c) = controllers {
            c.await.unwrap();
        }
        server.shutdown().await.unwrap();
        World::server_only(scenario, state_file, speed, denied).await
    }

    /// The writes of the controllers the server refused.
    fn rejected(&self) -> Vec<String> {
        self.writes
            .rejected()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    async fn named(name: &str) -> World {
        World::start(Scenario::builtin(name).unwrap()).await
    }

    fn api(&self, ar: &ApiResource, ns: Option<&str>) -> Api<DynamicObject> {
        match ns {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, ar),
            None => Api::all_with(self.client.clone(), ar),
        }
    }

    async fn create(&self, ar: &ApiResource, ns: Option<&str>, obj: Value) {
        let obj: DynamicObject = serde_json::from_value(obj).unwrap();
        self.api(ar, ns)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap();
    }

    async fn get(&self, ar: &ApiResource, ns: Option<&str>, name: &str) -> Value {
        serde_json::to_value(self.api(ar, ns).get(name).await.unwrap()).unwrap()
    }

    /// Watches the objects of `ar` (in `ns`) until `cond` holds for the whole set; returns it.
    async fn wait_all(
        &self,
        ar: &ApiResource,
        ns: Option<&str>,
        what: &str,
        cond: impl Fn(&BTreeMap<String, Value>) -> bool,
    ) -> BTreeMap<String, Value> {
        let mut objects: BTreeMap<String, Value> = BTreeMap::new();
        let mut init: BTreeMap<String, Value> = BTreeMap::new();
        let stream = watcher::watcher(self.api(ar, ns), watcher::Config::default());
        let mut stream = std::pin::pin!(stream);
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let ev = match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(ev)) => ev,
                _ => panic!(
                    "timed out waiting for {what}; last seen:\n{}",
                    serde_json::to_string_pretty(&objects).unwrap()
                ),
            };
            let key = |o: &DynamicObject| {
                format!(
                    "{}/{}",
                    o.metadata.namespace.clone().unwrap_or_default(),
                    o.metadata.name.clone().unwrap_or_default()
                )
            };
            match ev {
                Ok(watcher::Event::Init) => init.clear(),
                Ok(watcher::Event::InitApply(o)) => {
                    init.insert(key(&o), serde_json::to_value(&o).unwrap());
                }
                Ok(watcher::Event::InitDone) => objects = std::mem::take(&mut init),
                Ok(watcher::Event::Apply(o)) => {
                    objects.insert(key(&o), serde_json::to_value(&o).unwrap());
                }
                Ok(watcher::Event::Delete(o)) => {
                    objects.remove(&key(&o));
                }
                Err(_) => continue,
            }
            if cond(&objects) {
                return objects;
            }
        }
    }

    /// Watches one object until `cond` holds; returns it.
    async fn wait(
        &self,
        ar: &ApiResource,
        ns: Option<&str>,
        name: &str,
        cond: impl Fn(&Value) -> bool,
    ) -> Value {
        let key = format!("{}/{name}", ns.unwrap_or_default());
        let what = format!("{}/{key}", ar.kind);
        let all = self
            .wait_all(ar, ns, &what, |m| m.get(&key).is_some_and(&cond))
            .await;
        all[&key].clone()
    }

    async fn log(&self, ns: &str, pod: &str) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        pods.logs(pod, &LogParams::default()).await.unwrap()
    }

    /// Clones the first worker MachineSet into a GPU MachineSet (what the demo's GPU step does).
    async fn gpu_machine_set(&self, name: &str, instance_type: &str) {
        let mut ms = self
            .get(
                &machine_set(),
                Some("openshift-machine-api"),
                "demo-x7k2p-worker-us-east-2a",
            )
            .await;
        for f in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
        ] {
            ms["metadata"].as_object_mut().unwrap().remove(f);
        }
        ms.as_object_mut().unwrap().remove("status");
        ms["metadata"]["name"] = json!(name);
        ms["spec"]["replicas"] = json!(1);
        ms["spec"]["selector"]["matchLabels"]["machine.openshift.io/cluster-api-machineset"] =
            json!(name);
        ms["spec"]["template"]["metadata"]["labels"]["machine.openshift.io/cluster-api-machineset"] =
            json!(name);
        ms["spec"]["template"]["spec"]["providerSpec"]["value"]["instanceType"] =
            json!(instance_type);
        ms["spec"]["template"]["spec"]["metadata"] =
            json!({"labels": {"node-role.kubernetes.io/gpu": ""}});
        ms["spec"]["template"]["spec"]["taints"] =
            json!([{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]);
        self.create(&machine_set(), Some("openshift-machine-api"), ms)
            .await;
    }

    /// Waits until the node of MachineSet `ms` has `gpus` allocatable GPUs; returns the node.
    async fn gpu_node(&self, ms: &str, gpus: u64) -> Value {
        let machine = self
            .wait_all(
                &machine(),
                Some("openshift-machine-api"),
                "a Running machine",
                |m| {
                    m.values().any(|m| {
                        label(m, "machine.openshift.io/cluster-api-machineset") == Some(ms)
                            && m["status"]["phase"] == "Running"
                    })
                },
            )
            .await;
        let machine = machine
            .values()
            .find(|m| label(m, "machine.openshift.io/cluster-api-machineset") == Some(ms))
            .unwrap()
            .clone();
        let node = machine["status"]["nodeRef"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let want = gpus.to_string();
        self.wait(
            &ar::<k8s_openapi::api::core::v1::Node>(),
            None,
            &node,
            |n| n["status"]["allocatable"]["nvidia.com/gpu"].as_str() == Some(want.as_str()),
        )
        .await
    }
}

fn ar<K: kube::Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

fn crd_ar(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn machine_set() -> ApiResource {
    crd_ar(
        "machine.openshift.io",
        "v1beta1",
        "MachineSet",
        "machinesets",
    )
}

fn machine() -> ApiResource {
    crd_ar("machine.openshift.io", "v1beta1", "Machine", "machines")
}

fn label<'a>(o: &'a Value, k: &str) -> Option<&'a str> {
    o["metadata"]["labels"][k].as_str()
}

fn cond<'a>(o: &'a Value, t: &str) -> Option<&'a Value> {
    o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)
}

fn cond_is(o: &Value, t: &str, status: &str) -> bool {
    cond(o, t).is_some_and(|c| c["status"] == status)
}

const NS: &str = "private-ai-demo";

async fn namespace(w: &World) {
    let ns = ar::<k8s_openapi::api::core::v1::Namespace>();
    w.create(
        &ns,
        None,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    )
    .await;
}

fn pvc(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": NS},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "80Gi"}}}})
}

fn download_job(name: &str, claim: &str, backoff_limit: u32) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
        "spec": {"backoffLimit": backoff_limit, "template": {"metadata": {"labels": {"app": "model-loader"}}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "download", "image": "python:3.11-slim",
                "env": [{"name": "MODEL_ID", "value": "mistralai/Mistral-Small-24B-Instruct-2501"}],
                "volumeMounts": [{"name": "models", "mountPath": "/models"}]}],
            "volumes": [{"name": "models", "persistentVolumeClaim": {"claimName": claim}}]}}}})
}

async fn pods_of_job(w: &World, job: &str) -> Vec<Value> {
    let pods: Api<DynamicObject> = w.api(&ar::<Pod>(), Some(NS));
    let list = pods
        .list(&kube::api::ListParams::default().labels(&format!("job-name={job}")))
        .await
        .unwrap();
    list.items
        .iter()
        .map(|p| serde_json::to_value(p).unwrap())
        .collect()
}

// ------------------------------------------------------------------ seed

#[tokio::test]
async fn healthy_seed_is_an_openshift_ai_cluster_on_aws() {
    let w = World::named("healthy").await;
    let infra = w
        .get(
            &crd_ar(
                "config.openshift.io",
                "v1",
                "Infrastructure",
                "infrastructures",
            ),
            None,
            "cluster",
        )
        .await;
    assert_eq!(infra["status"]["infrastructureName"], "demo-x7k2p");
    assert_eq!(infra["status"]["platformStatus"]["type"], "AWS");
    assert_eq!(
        infra["status"]["platformStatus"]["aws"]["region"],
        "us-east-2"
    );
    let ingress = w
        .get(
            &crd_ar("config.openshift.io", "v1", "Ingress", "ingresses"),
            None,
            "cluster",
        )
        .await;
    assert_eq!(
        ingress["spec"]["domain"],
        "apps.demo-x7k2p.sandbox.opentlc.example.com"
    );
    let cv = w
        .get(
            &crd_ar(
                "config.openshift.io",
                "v1",
                "ClusterVersion",
                "clusterversions",
            ),
            None,
            "version",
        )
        .await;
    assert_eq!(cv["status"]["desired"]["version"], "4.19.9");

    let nodes = w
        .wait_all(
            &ar::<k8s_openapi::api::core::v1::Node>(),
            None,
            "6 Ready nodes",
            |m| m.len() == 6 && m.values().all(|n| cond_is(n, "Ready", "True")),
        )
        .await;
    let workers = nodes
        .values()
        .filter(|n| label(n, "node-role.kubernetes.io/worker").is_some())
        .count();
    assert_eq!(workers, 3);

    let sets = w
        .api(&machine_set(), Some("openshift-machine-api"))
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(sets.items.len(), 3);
    let ms = serde_json::to_value(&sets.items[0]).unwrap();
    let pv = &ms["spec"]["template"]["spec"]["providerSpec"]["value"];
    assert_eq!(pv["kind"], "AWSMachineProviderConfig");
    assert_eq!(pv["placement"]["region"], "us-east-2");
    assert!(pv["ami"]["id"].as_str().unwrap().starts_with("ami-0"));
    assert_eq!(pv["iamInstanceProfile"]["id"], "demo-x7k2p-worker-profile");

    let sc = w
        .get(
            &ar::<k8s_openapi::api::storage::v1::StorageClass>(),
            None,
            "gp3-csi",
        )
        .await;
    assert_eq!(
        sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    assert_eq!(sc["volumeBindingMode"], "WaitForFirstConsumer");

    let csv = crd_ar(
        "operators.coreos.com",
        "v1alpha1",
        "ClusterServiceVersion",
        "clusterserviceversions",
    );
    let gpu = w
        .get(
            &csv,
            Some("nvidia-gpu-operator"),
            "gpu-operator-certified.v25.3.2",
        )
        .await;
    assert_eq!(gpu["status"]["phase"], "Succeeded");

    let dsc = w
        .get(
            &crd_ar(
                "datasciencecluster.opendatahub.io",
                "v1",
                "DataScienceCluster",
                "datascienceclusters",
            ),
            None,
            "default-dsc",
        )
        .await;
    assert_eq!(dsc["status"]["phase"], "Ready");
    assert_eq!(
        dsc["spec"]["components"]["modelregistry"]["managementState"],
        "Removed"
    );
    assert!(cond_is(&dsc, "KserveReady", "True"));

    let route = w
        .get(
            &crd_ar("route.openshift.io", "v1", "Route", "routes"),
            Some("redhat-ods-applications"),
            "rhods-dashboard",
        )
        .await;
    assert_eq!(
        route["spec"]["host"],
        "rhods-dashboard-redhat-ods-applications.apps.demo-x7k2p.sandbox.opentlc.example.com"
    );
    let route = w
        .wait(
            &crd_ar("route.openshift.io", "v1", "Route", "routes"),
            Some("redhat-ods-applications"),
            "rhods-dashboard",
            |r| r["status"]["ingress"][0]["conditions"][0]["type"] == "Admitted",
        )
        .await;
    assert_eq!(
        route["status"]["ingress"][0]["routerCanonicalHostname"],
        "router-default.apps.demo-x7k2p.sandbox.opentlc.example.com"
    );

    // Kinds are served with the right group/version/scope.
    let discovery = kube::Discovery::new(w.client.clone()).run().await.unwrap();
    let (isvc, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk(
            "serving.kserve.io",
            "v1beta1",
            "InferenceService",
        ))
        .unwrap();
    assert_eq!(isvc.plural, "inferenceservices");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "modelregistry.opendatahub.io",
                "v1beta1",
                "ModelRegistry"
            ))
            .is_none()
    );
    w.cancel.cancel();
}

// ------------------------------------------------------------------ machines and GPUs

#[tokio::test]
async fn gpu_machineset_grows_a_gpu_node_and_deleting_it_removes_machine_and_node() {
    let w = World::named("healthy").await;
    w.gpu_machine_set("demo-x7k2p-g6-12xlarge-gpu", "g6.12xlarge")
        .await;
    let node = w.gpu_node("demo-x7k2p-g6-12xlarge-gpu", 4).await;
    assert_eq!(label(&node, "nvidia.com/gpu.present"), Some("true"));
    assert_eq!(label(&node, "nvidia.com/gpu.product"), Some("NVIDIA-L4"));
    assert_eq!(label(&node, "node-role.kubernetes.io/gpu"), Some(""));
    assert_eq!(
        label(&node, "node.kubernetes.io/instance-type"),
        Some("g6.12xlarge")
    );
    assert_eq!(node["status"]["capacity"]["nvidia.com/gpu"], "4");
    assert!(
        node["spec"]["taints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "nvidia.com/gpu")
    );
    assert!(cond_is(&node, "Ready", "True"));
    let node_name = node["metadata"]["name"].as_str().unwrap().to_string();
    let machines = w
        .api(&machine(), Some("openshift-machine-api"))
        .list(
            &kube::api::ListParams::default()
                .labels("machine.openshift.io/cluster-api-machineset=demo-x7k2p-g6-12xlarge-gpu"),
        )
        .await
        .unwrap();
    let m = serde_json::to_value(&machines.items[0]).unwrap();
    assert!(
        m["spec"]["providerID"]
            .as_str()
            .unwrap()
            .starts_with("aws:///us-east-2a/i-0")
    );
    assert_eq!(m["status"]["addresses"][1]["type"], "InternalDNS");
    assert_eq!(m["status"]["nodeRef"]["name"], node_name.as_str());
    let ms = w
        .wait(
            &machine_set(),
            Some("openshift-machine-api"),
            "demo-x7k2p-g6-12xlarge-gpu",
            |s| s["status"]["readyReplicas"] == 1,
        )
        .await;
    assert_eq!(ms["status"]["availableReplicas"], 1);

    w.api(&machine_set(), Some("openshift-machine-api"))
        .delete("demo-x7k2p-g6-12xlarge-gpu", &Default::default())
        .await
        .unwrap();
    w.wait_all(
        &machine(),
        Some("openshift-machine-api"),
        "the GPU machine gone",
        |m| {
            m.len() == 6
                && !m.values().any(|m| {
                    label(m, "machine.openshift.io/cluster-api-machineset")
                        == Some("demo-x7k2p-g6-12xlarge-gpu")
                })
        },
    )
    .await;
    w.wait_all(
        &ar::<k8s_openapi::api::core::v1::Node>(),
        None,
        "the GPU node gone",
        |n| n.len() == 6 && !n.contains_key(&format!("/{node_name}")),
    )
    .await;
}

#[tokio::test]
async fn machine_config_pool_for_gpu_workers_becomes_updated() {
    let w = World::named("healthy").await;
    let mcp = crd_ar(
        "machineconfiguration.openshift.io",
        "v1",
        "MachineConfigPool",
        "machineconfigpools",
    );
    w.create(&mcp, None, json!({"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfigPool",
        "metadata": {"name": "worker-gpu"},
        "spec": {"machineConfigSelector": {"matchExpressions": [{"key": "machineconfiguration.openshift.io/role", "operator": "In", "values": ["worker", "worker-gpu"]}]},
                 "nodeSelector": {"matchLabels": {"node-role.kubernetes.io/gpu": ""}}}})).await;
    let pool = w
        .wait(&mcp, None, "worker-gpu", |p| cond_is(p, "Updated", "True"))
        .await;
    assert!(cond_is(&pool, "Updating", "False"));
    assert!(cond_is(&pool, "Degraded", "False"));
    assert_eq!(pool["status"]["machineCount"], 0);
    w.gpu_machine_set("gpu-a", "g6.4xlarge").await;
    w.gpu_node("gpu-a", 1).await;
    let pool = w
        .wait(&mcp, None, "worker-gpu", |p| {
            p["status"]["machineCount"] == 1 && cond_is(p, "Updated", "True")
        })
        .await;
    assert_eq!(pool["status"]["updatedMachineCount"], 1);
}

#[tokio::test]
async fn gpu_never_arrives_for_the_blocked_instance_type() {
    let w = World::named("gpu-never-arrives").await;
    w.gpu_machine_set("gpu-big", "g6.12xlarge").await;
    w.gpu_machine_set("gpu-small", "g6.4xlarge").await;
    // Both nodes were created together: once the small one has its GPU, the big one's time has passed too.
    w.gpu_node("gpu-small", 1).await;
    let nodes = w
        .api(&ar::<k8s_openapi::api::core::v1::Node>(), None)
        .list(&Default::default())
        .await
        .unwrap();
    let big: Vec<Value> = nodes
        .items
        .iter()
        .map(|n| serde_json::to_value(n).unwrap())
        .filter(|n| label(n, "node.kubernetes.io/instance-type") == Some("g6.12xlarge"))
        .collect();
    assert_eq!(big.len(), 1);
    assert!(cond_is(&big[0], "Ready", "True"));
    assert_eq!(label(&big[0], "nvidia.com/gpu.present"), None);
    assert!(big[0]["status"]["allocatable"]["nvidia.com/gpu"].is_null());
}

#[tokio::test]
async fn missing_gpu_operator_has_no_gpu_kinds_and_gpu_nodes_get_no_gpus() {
    let mut s = Scenario::builtin("missing-gpu-operator").unwrap();
    s.delays.job = s.delays.node_ready + s.delays.gpu_operator + 100;
    let w = World::start(s).await;
    let discovery = kube::Discovery::new(w.client.clone()).run().await.unwrap();
    assert!(
        discovery
            .groups()
            .all(|g| g.name() != "nvidia.com" && g.name() != "nfd.openshift.io")
    );
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(w.client.clone());
    assert!(nss.get_opt("nvidia-gpu-operator").await.unwrap().is_none());
    w.gpu_machine_set("gpu-a", "g6.4xlarge").await;
    namespace(&w).await;
    // A Job that runs longer than node-ready + GPU-operator delays is the clock for "never".
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "clock", "namespace": NS},
        "spec": {"template": {"metadata": {"labels": {"democtl.io/sim-behaviour": "run"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}});
    let machine_running = w
        .wait_all(
            &machine(),
            Some("openshift-machine-api"),
            "GPU machine Running",
            |m| {
                m.values().any(|m| {
                    label(m, "machine.openshift.io/cluster-api-machineset") == Some("gpu-a")
                        && m["status"]["phase"] == "Running"
                })
            },
        )
        .await;
    w.create(&ar::<k8s_openapi::api::batch::v1::Job>(), Some(NS), job)
        .await;
    w.wait(
        &ar::<k8s_openapi::api::batch::v1::Job>(),
        Some(NS),
        "clock",
        |j| cond_is(j, "Complete", "True"),
    )
    .await;
    let m = machine_running
        .values()
        .find(|m| label(m, "machine.openshift.io/cluster-api-machineset") == Some("gpu-a"))
        .unwrap();
    let node = w
        .get(
            &ar::<k8s_openapi::api::core::v1::Node>(),
            None,
            m["status"]["nodeRef"]["name"].as_str().unwrap(),
        )
        .await;
    assert!(cond_is(&node, "Ready", "True"));
    assert_eq!(label(&node, "nvidia.com/gpu.present"), None);
    assert_eq!(
        label(&node, "feature.node.kubernetes.io/pci-10de.present"),
        None
    );
}

// ------------------------------------------------------------------ workloads

#[tokio::test]
async fn deployment_becomes_available_with_real_conditions() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    let deploy = ar::<k8s_openapi::api::apps::v1::Deployment>();
    w.create(&deploy, Some(NS), json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})).await;
    let d = w
        .wait(&deploy, Some(NS), "web", |d| {
            cond(d, "Progressing").is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
        })
        .await;
    assert_eq!(d["status"]["readyReplicas"], 2);
    assert_eq!(d["status"]["availableReplicas"], 2);
    assert_eq!(d["status"]["updatedReplicas"], 2);
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    let available = cond(&d, "Available").unwrap();
    assert_eq!(available["status"], "True");
    assert_eq!(available["reason"], "MinimumReplicasAvailable");
    let progressing = cond(&d, "Progressing").unwrap();
    assert!(
        progressing["message"]
            .as_str()
            .unwrap()
            .starts_with("ReplicaSet \"web-")
    );
    assert!(
        progressing["message"]
            .as_str()
            .unwrap()
            .ends_with("\" has successfully progressed.")
    );
    let pods = w
        .api(&ar::<Pod>(), Some(NS))
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 2);
    let p = serde_json::to_value(&pods.items[0]).unwrap();
    assert_eq!(p["status"]["phase"], "Running");
    assert!(cond_is(&p, "Ready", "True"));
    assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
    assert!(p["metadata"]["labels"]["pod-template-hash"].is_string());
}

#[tokio::test]
async fn statefulset_pods_are_created_in_order_and_become_ready() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    let sts = ar::<k8s_openapi::api::apps::v1::StatefulSet>();
    w.create(&sts, Some(NS), json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "milvus", "namespace": NS},
        "spec": {"replicas": 2, "serviceName": "milvus", "selector": {"matchLabels": {"app": "milvus"}},
                 "template": {"metadata": {"labels": {"app": "milvus"}}, "spec": {"containers": [{"name": "m", "image": "milvusdb/milvus:v2.5"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}}]}})).await;
    let s = w
        .wait(&sts, Some(NS), "milvus", |s| {
            s["status"]["readyReplicas"] == 2
        })
        .await;
    assert_eq!(s["status"]["observedGeneration"], 1);
    let pvc = w
        .wait(
            &ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(),
            Some(NS),
            "data-milvus-1",
            |p| p["status"]["phase"] == "Bound",
        )
        .await;
    assert_eq!(pvc["spec"]["storageClassName"], "gp3-csi");
    assert!(w.get(&ar::<Pod>(), Some(NS), "milvus-0").await["status"]["phase"] == "Running");
}

#[tokio::test]
async fn wait_for_first_consumer_pvc_binds_only_when_a_pod_uses_it() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    let pvcs = ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>();
    w.create(&pvcs, Some(NS), pvc("unused")).await;
    w.create(&pvcs, Some(NS), pvc("models")).await;
    w.create(
        &ar::<k8s_openapi::api::batch::v1::Job>(),
        Some(NS),
        download_job("download-granite", "models", 0),
    )
    .await;
    let bound = w
        .wait(&pvcs, Some(NS), "models", |p| {
            p["status"]["phase"] == "Bound"
        })
        .await;
    let pv_name = bound["spec"]["volumeName"].as_str().unwrap().to_string();
    assert_eq!(
        bound["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"],
        "yes"
    );
    assert!(bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"].is_string());
    let pv = w
        .get(
            &ar::<k8s_openapi::api::core::v1::PersistentVolume>(),
            None,
            &pv_name,
        )
        .await;
    assert_eq!(pv["spec"]["claimRef"]["name"], "models");
    assert_eq!(pv["spec"]["storageClassName"], "gp3-csi");
    assert_eq!(pv["spec"]["csi"]["driver"], "ebs.csi.aws.com");
    // Long after (the download completed), the PVC nobody uses is still Pending.
    w.wait(
        &ar::<k8s_openapi::api::batch::v1::Job>(),
        Some(NS),
        "download-granite",
        |j| cond_is(j, "Complete", "True"),
    )
    .await;
    let unused = w.get(&pvcs, Some(NS), "unused").await;
    assert_eq!(unused["status"]["phase"], "Pending");
    assert!(unused["spec"]["volumeName"].is_null());
    // The claim deleted, its PV (reclaim policy Delete) goes too.
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    w.api(&pvcs, Some(NS))
        .delete("models", &Default::default())
        .await
        .unwrap();
    w.wait_all(
        &ar::<k8s_openapi::api::core::v1::PersistentVolume>(),
        None,
        "the PV of the deleted claim gone",
        |m| !m.contains_key(&format!("/{pv_name}")),
    )
    .await;
    assert!(w.rejected().is_empty(), "{:?}", w.rejected());
}

#[tokio::test]
async fn model_download_job_prints_progress_and_completes() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    w.create(
        &ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(),
        Some(NS),
        pvc("mistral-24b-pvc"),
    )
    .await;
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    w.create(
        &jobs,
        Some(NS),
        download_job("download-mistral-24b", "mistral-24b-pvc", 6),
    )
    .await;
    let job = w
        .wait(&jobs, Some(NS), "download-mistral-24b", |j| {
            cond_is(j, "Complete", "True")
        })
        .await;
    assert!(cond_is(&job, "SuccessCriteriaMet", "True"));
    assert_eq!(
        cond(&job, "Complete").unwrap()["reason"],
        "CompletionsReached"
    );
    assert_eq!(job["status"]["succeeded"], 1);
    assert_eq!(job["status"]["active"], 0);
    assert!(job["status"]["startTime"].is_string());
    assert!(job["status"]["completionTime"].is_string());
    let pods = pods_of_job(&w, "download-mistral-24b").await;
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["status"]["phase"], "Succeeded");
    assert_eq!(
        pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    let log = w
        .log(NS, pods[0]["metadata"]["name"].as_str().unwrap())
        .await;
    assert!(
        log.contains("Downloading mistralai/Mistral-Small-24B-Instruct-2501\n"),
        "{log}"
    );
    // The progress lines of the contract (docs/sim-world.md): one JSON object per chunk.
    let progress: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["democtl"] == "progress")
        .collect();
    assert_eq!(progress.len(), 100, "{log}");
    assert_eq!(
        progress[4]["file"], "model-00001-of-00010.safetensors",
        "{log}"
    );
    let last = progress.last().unwrap();
    assert_eq!(last["file"], "model-00010-of-00010.safetensors");
    assert_eq!(last["files_done"], 10);
    assert_eq!(last["bytes_done"], last["bytes_total"]);
    assert!(
        log.contains(
            "Download complete: mistralai/Mistral-Small-24B-Instruct-2501 (10 safetensors files)\n"
        ),
        "{log}"
    );
    assert!(
        log.ends_with(&format!(
            "{{\"democtl\":\"done\",\"bytes_total\":{},\"files_total\":10}}\n",
            last["bytes_total"]
        )),
        "{log}"
    );
}

#[tokio::test]
async fn model_download_fails_ends_failed_with_backoff_limit_and_error_log() {
    let w = World::named("model-download-fails").await;
    namespace(&w).await;
    let pvcs = ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>();
    w.create(&pvcs, Some(NS), pvc("full")).await;
    w.create(&pvcs, Some(NS), pvc("quantized")).await;
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    w.create(
        &jobs,
        Some(NS),
        download_job("download-mistral-24b", "full", 1),
    )
    .await;
    w.create(
        &jobs,
        Some(NS),
        download_job("download-mistral-24b-quantized", "quantized", 1),
    )
    .await;
    let job = w
        .wait(&jobs, Some(NS), "download-mistral-24b", |j| {
            cond_is(j, "Failed", "True")
        })
        .await;
    let failed = cond(&job, "Failed").unwrap();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(
        failed["message"],
        "Job has reached the specified backoff limit"
    );
    assert_eq!(
        cond(&job, "FailureTarget").unwrap()["reason"],
        "BackoffLimitExceeded"
    );
    assert_eq!(job["status"]["failed"], 2);
    assert!(job["status"]["completionTime"].is_null());
    let pods = pods_of_job(&w, "download-mistral-24b").await;
    assert_eq!(pods.len(), 2);
    for p in &pods {
        assert_eq!(p["status"]["phase"], "Failed");
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
        let log = w.log(NS, p["metadata"]["name"].as_str().unwrap()).await;
        // 40 % of ten shards: three files done, the fourth under way.
        assert!(
            log.contains(r#""file":"model-00004-of-00010.safetensors""#),
            "{log}"
        );
        assert!(log.contains(r#""files_done":3,"#), "{log}");
        assert!(!log.contains("model-00005"), "{log}");
        assert!(log.contains("401 Client Error: Unauthorized"), "{log}");
        assert!(
            log.ends_with("ERROR: download of mistralai/Mistral-Small-24B-Instruct-2501 failed\n"),
            "{log}"
        );
    }
    // The quantized download is not affected.
    w.wait(&jobs, Some(NS), "download-mistral-24b-quantized", |j| {
        cond_is(j, "Complete", "True")
    })
    .await;
}

#[tokio::test]
async fn benchmark_job_prints_a_json_results_document_last() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    w.create(&jobs, Some(NS), json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "guidellm-benchmark-quantized", "namespace": NS},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "guidellm", "image": "ghcr.io/neuralmagic/guidellm:v0.3.0",
            "args": ["benchmark", "--target", "https://mistral-24b-quantized-private-ai-demo.apps.example.com/v1", "--rate-type", "concurrent"]}]}}}})).await;
    w.wait(&jobs, Some(NS), "guidellm-benchmark-quantized", |j| {
        cond_is(j, "Complete", "True")
    })
    .await;
    let pods = pods_of_job(&w, "guidellm-benchmark-quantized").await;
    let log = w
        .log(NS, pods[0]["metadata"]["name"].as_str().unwrap())
        .await;
    let last = log.lines().last().unwrap();
    let doc: Value = serde_json::from_str(last).unwrap();
    assert_eq!(
        doc["target"],
        "https://mistral-24b-quantized-private-ai-demo.apps.example.com/v1"
    );
    let benchmarks = doc["benchmarks"].as_array().unwrap();
    let conc: Vec<u64> = benchmarks
        .iter()
        .map(|b| b["concurrency"].as_u64().unwrap())
        .collect();
    assert_eq!(conc, vec![1, 5, 10, 25]);
    for b in benchmarks {
        assert!(b["ttft_ms"]["p95"].as_f64().unwrap() > b["ttft_ms"]["p50"].as_f64().unwrap());
        assert!(b["itl_ms"]["p50"].as_f64().unwrap() > 0.0);
        assert!(b["output_tokens_per_second"].as_f64().unwrap() > 0.0);
    }
    assert!(log.contains("Benchmark concurrency=25: "), "{log}");
}

#[tokio::test]
async fn gpu_pod_without_gpu_nodes_is_unschedulable_with_the_scheduler_message() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    let pods = ar::<Pod>();
    w.create(&pods, Some(NS), json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vllm", "namespace": NS},
        "spec": {"containers": [{"name": "vllm", "image": "quay.io/modh/vllm:rhoai-2.22-cuda",
            "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}}]}})).await;
    let p = w
        .wait(&pods, Some(NS), "vllm", |p| {
            cond_is(p, "PodScheduled", "False")
        })
        .await;
    let c = cond(&p, "PodScheduled").unwrap();
    assert_eq!(c["reason"], "Unschedulable");
    assert_eq!(
        c["message"],
        "0/6 nodes are available: 3 Insufficient nvidia.com/gpu, 3 node(s) had untolerated taint {node-role.kubernetes.io/master: }. preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling."
    );
    assert_eq!(p["status"]["phase"], "Pending");
}

#[tokio::test]
async fn image_pull_backoff_keeps_the_pod_pending_and_the_deployment_unavailable() {
    let w = World::named("image-pull-backoff").await;
    namespace(&w).await;
    let deploy = ar::<k8s_openapi::api::apps::v1::Deployment>();
    w.create(&deploy, Some(NS), json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "milvus", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "milvus"}},
                 "template": {"metadata": {"labels": {"app": "milvus"}}, "spec": {"containers": [{"name": "milvus", "image": "docker.io/milvusdb/milvus:v2.5.4"}]}}}})).await;
    let all = w
        .wait_all(&ar::<Pod>(), Some(NS), "ImagePullBackOff", |m| {
            m.values().any(|p| {
                p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    == "ImagePullBackOff"
            })
        })
        .await;
    let p = all.values().next().unwrap();
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "Back-off pulling image \"docker.io/milvusdb/milvus:v2.5.4\""
    );
    let d = w
        .wait(&deploy, Some(NS), "milvus", |d| {
            cond(d, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
        })
        .await;
    assert!(cond_is(&d, "Progressing", "False"));
    assert!(
        cond(&d, "Progressing").unwrap()["message"]
            .as_str()
            .unwrap()
            .ends_with("\" has timed out progressing.")
    );
    assert!(cond_is(&d, "Available", "False"));
    assert_eq!(
        cond(&d, "Available").unwrap()["reason"],
        "MinimumReplicasUnavailable"
    );
}

// ------------------------------------------------------------------ KServe, OpenShift AI, OLM

fn serving_runtime() -> Value {
    json!({"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime", "metadata": {"name": "vllm-cuda", "namespace": NS},
        "spec": {"supportedModelFormats": [{"name": "vLLM", "autoSelect": true}],
                 "containers": [{"name": "kserve-container", "image": "quay.io/modh/vllm:rhoai-2.22-cuda", "ports": [{"containerPort": 8080}]}]}})
}

fn isvc(name: &str, claim: &str, gpus: u32) -> Value {
    json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": name, "namespace": NS},
        "spec": {"predictor": {
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "model": {"modelFormat": {"name": "vLLM"}, "runtime": "vllm-cuda", "storageUri": format!("pvc://{claim}/model"),
                      "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}, "requests": {"nvidia.com/gpu": gpus.to_string()}}}}}})
}

#[tokio::test]
async fn inference_service_is_ready_only_after_its_download_and_a_gpu_node() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    let isvcs = crd_ar(
        "serving.kserve.io",
        "v1beta1",
        "InferenceService",
        "inferenceservices",
    );
    w.create(
        &ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(),
        Some(NS),
        pvc("mistral-24b-quantized-pvc"),
    )
    .await;
    w.create(
        &crd_ar(
            "serving.kserve.io",
            "v1alpha1",
            "ServingRuntime",
            "servingruntimes",
        ),
        Some(NS),
        serving_runtime(),
    )
    .await;
    w.create(
        &isvcs,
        Some(NS),
        isvc("mistral-24b-quantized", "mistral-24b-quantized-pvc", 1),
    )
    .await;
    // No GPU node yet: not Ready, with the scheduler's reason.
    let i = w
        .wait(&isvcs, Some(NS), "mistral-24b-quantized", |i| {
            cond(i, "Ready").is_some_and(|c| c["reason"] == "Unschedulable")
        })
        .await;
    assert_eq!(cond(&i, "Ready").unwrap()["status"], "False");
    assert!(
        cond(&i, "PredictorReady").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("Insufficient nvidia.com/gpu")
    );
    assert!(i["status"]["url"].is_null());
    // A GPU node and a running download: the predictor crash-loops without weights.
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    // The EBS volume lands in the zone of the download pod's node: keep it in the GPU node's zone
    // (without this the predictor is stuck with "volume node affinity conflict", as on AWS).
    let mut job = download_job(
        "download-mistral-24b-quantized",
        "mistral-24b-quantized-pvc",
        6,
    );
    job["spec"]["template"]["spec"]["nodeSelector"] =
        json!({"topology.kubernetes.io/zone": "us-east-2a"});
    w.create(&jobs, Some(NS), job).await;
    w.gpu_machine_set("gpu-a", "g6.4xlarge").await;
    let i = w
        .wait(&isvcs, Some(NS), "mistral-24b-quantized", |i| {
            cond(i, "Ready").is_some_and(|c| c["reason"] == "CrashLoopBackOff")
                || cond_is(i, "Ready", "True")
        })
        .await;
    // The Job is not read back here: on the fast clock it may finish between the two reads. The
    // InferenceService's own message says what it saw.
    if !cond_is(&i, "Ready", "True") {
        assert_eq!(
            cond(&i, "Ready").unwrap()["message"],
            "Model weights not found in /mnt/models (model download Job `download-mistral-24b-quantized` has not completed)"
        );
    }
    let i = w
        .wait(&isvcs, Some(NS), "mistral-24b-quantized", |i| {
            cond_is(i, "Ready", "True")
        })
        .await;
    let job = w
        .get(&jobs, Some(NS), "download-mistral-24b-quantized")
        .await;
    assert!(cond_is(&job, "Complete", "True"));
    assert_eq!(
        i["status"]["url"],
        "https://mistral-24b-quantized-private-ai-demo.apps.demo-x7k2p.sandbox.opentlc.example.com"
    );
    assert_eq!(
        i["status"]["address"]["url"],
        "http://mistral-24b-quantized-predictor.private-ai-demo.svc.cluster.local"
    );
    assert!(cond_is(&i, "PredictorReady", "True"));
    assert_eq!(
        i["status"]["modelStatus"]["states"]["activeModelState"],
        "Loaded"
    );
    let ksvc = crd_ar("serving.knative.dev", "v1", "Service", "services");
    let k = w
        .wait(&ksvc, Some(NS), "mistral-24b-quantized-predictor", |k| {
            cond_is(k, "Ready", "True")
        })
        .await;
    assert_eq!(
        k["status"]["url"],
        "https://mistral-24b-quantized-predictor-private-ai-demo.apps.demo-x7k2p.sandbox.opentlc.example.com"
    );
    assert_eq!(
        i["status"]["components"]["predictor"]["latestReadyRevision"],
        "mistral-24b-quantized-predictor-00001"
    );

    // Issue #12: a changed InferenceService is a new revision that needs its own GPU, while the
    // old one keeps serving — and keeps the node's only GPU.
    w.api(&isvcs, Some(NS))
        .patch(
            "mistral-24b-quantized",
            &Default::default(),
            &kube::api::Patch::Merge(
                json!({"spec": {"predictor": {"model": {"args": ["--max-model-len=8192"]}}}}),
            ),
        )
        .await
        .unwrap();
    let i = w
        .wait(&isvcs, Some(NS), "mistral-24b-quantized", |i| {
            cond(i, "Ready").is_some_and(|c| c["reason"] == "Unschedulable")
        })
        .await;
    assert!(
        cond(&i, "Ready").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("Insufficient nvidia.com/gpu"),
        "{i}"
    );
    let predictor = &i["status"]["components"]["predictor"];
    assert_eq!(
        predictor["latestCreatedRevision"],
        "mistral-24b-quantized-predictor-00002"
    );
    assert_eq!(
        predictor["latestReadyRevision"],
        "mistral-24b-quantized-predictor-00001"
    );
    assert!(
        i["status"]["url"].is_string(),
        "the old revision still serves: {i}"
    );
    let deployments = ar::<k8s_openapi::api::apps::v1::Deployment>();
    let old = w
        .get(
            &deployments,
            Some(NS),
            "mistral-24b-quantized-predictor-00001-deployment",
        )
        .await;
    assert_eq!(
        old["spec"]["replicas"], 1,
        "the old revision is not scaled down"
    );
}

#[tokio::test]
async fn enabling_model_registry_in_the_dsc_makes_its_crd_appear_then_registry_deploys() {
    let w = World::named("healthy").await;
    let dsc_ar = crd_ar(
        "datasciencecluster.opendatahub.io",
        "v1",
        "DataScienceCluster",
        "datascienceclusters",
    );
    w.api(&dsc_ar, None)
        .patch(
            "default-dsc",
            &Default::default(),
            &kube::api::Patch::Merge(
                json!({"spec": {"components": {"modelregistry": {"managementState": "Managed"}}}}),
            ),
        )
        .await
        .unwrap();
    let dsc = w
        .wait(&dsc_ar, None, "default-dsc", |d| {
            cond(d, "ModelRegistryReady").is_some_and(|c| c["reason"] == "Reconciling")
        })
        .await;
    assert_eq!(dsc["status"]["phase"], "Not Ready");
    let dsc = w
        .wait(&dsc_ar, None, "default-dsc", |d| {
            cond_is(d, "ModelRegistryReady", "True")
        })
        .await;
    assert_eq!(dsc["status"]["phase"], "Ready");
    assert_eq!(dsc["status"]["installedComponents"]["modelregistry"], true);
    let crds = ar::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    w.wait(
        &crds,
        None,
        "modelregistries.modelregistry.opendatahub.io",
        |c| cond_is(c, "Established", "True"),
    )
    .await;
    let mr_ar = crd_ar(
        "modelregistry.opendatahub.io",
        "v1beta1",
        "ModelRegistry",
        "modelregistries",
    );
    let rmr = "rhoai-model-registries";
    w.create(&mr_ar, Some(rmr), json!({"apiVersion": "modelregistry.opendatahub.io/v1beta1", "kind": "ModelRegistry",
        "metadata": {"name": "private-ai-model-registry", "namespace": rmr},
        "spec": {"grpc": {}, "rest": {}, "mysql": {"host": "private-ai-registry-db", "database": "model_registry", "username": "mlmd"}}})).await;
    let mr = w
        .wait(&mr_ar, Some(rmr), "private-ai-model-registry", |m| {
            cond_is(m, "Available", "True")
        })
        .await;
    assert_eq!(
        cond(&mr, "Available").unwrap()["reason"],
        "DeploymentAvailable"
    );
    let svc = w
        .get(
            &ar::<k8s_openapi::api::core::v1::Service>(),
            Some(rmr),
            "private-ai-model-registry",
        )
        .await;
    assert_eq!(svc["spec"]["ports"][1]["port"], 8080);
    let route = w
        .wait(
            &crd_ar("route.openshift.io", "v1", "Route", "routes"),
            Some(rmr),
            "private-ai-model-registry-https",
            |r| r["status"]["ingress"][0]["conditions"][0]["status"] == "True",
        )
        .await;
    assert_eq!(
        route["status"]["ingress"][0]["host"],
        "private-ai-model-registry-https-rhoai-model-registries.apps.demo-x7k2p.sandbox.opentlc.example.com"
    );
}

#[tokio::test]
async fn olm_subscription_installs_csv_and_crds() {
    let w = World::named("missing-gpu-operator").await;
    let ns = ar::<k8s_openapi::api::core::v1::Namespace>();
    w.create(&ns, None, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nvidia-gpu-operator"}})).await;
    let subs = crd_ar(
        "operators.coreos.com",
        "v1alpha1",
        "Subscription",
        "subscriptions",
    );
    w.create(&subs, Some("nvidia-gpu-operator"), json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "gpu-operator-certified", "namespace": "nvidia-gpu-operator"},
        "spec": {"channel": "v25.3", "name": "gpu-operator-certified", "source": "certified-operators", "sourceNamespace": "openshift-marketplace"}})).await;
    w.create(&subs, Some("nvidia-gpu-operator"), json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "nope", "namespace": "nvidia-gpu-operator"},
        "spec": {"channel": "stable", "name": "nope-operator", "source": "redhat-operators", "sourceNamespace": "openshift-marketplace"}})).await;
    let sub = w
        .wait(
            &subs,
            Some("nvidia-gpu-operator"),
            "gpu-operator-certified",
            |s| s["status"]["state"] == "AtLatestKnown",
        )
        .await;
    assert_eq!(
        sub["status"]["installedCSV"],
        "gpu-operator-certified.v25.3.2"
    );
    let csv = w
        .get(
            &crd_ar(
                "operators.coreos.com",
                "v1alpha1",
                "ClusterServiceVersion",
                "clusterserviceversions",
            ),
            Some("nvidia-gpu-operator"),
            "gpu-operator-certified.v25.3.2",
        )
        .await;
    assert_eq!(csv["status"]["phase"], "Succeeded");
    let crds = ar::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    w.wait(&crds, None, "clusterpolicies.nvidia.com", |c| {
        cond_is(c, "Established", "True")
    })
    .await;
    let bad = w
        .wait(&subs, Some("nvidia-gpu-operator"), "nope", |s| {
            cond_is(s, "ResolutionFailed", "True")
        })
        .await;
    assert!(
        cond(&bad, "ResolutionFailed").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("no operators found in package nope-operator")
    );
}

#[tokio::test]
async fn operands_llama_stack_notebook_pipelinerun_and_lmeval_complete() {
    let mut s = Scenario::builtin("healthy").unwrap();
    for c in ["workbenches", "llamastackoperator"] {
        s.cluster
            .dsc_components
            .insert(c.to_string(), "Managed".to_string());
    }
    let w = World::start(s).await;
    namespace(&w).await;
    let lsd = crd_ar(
        "llamastack.io",
        "v1alpha1",
        "LlamaStackDistribution",
        "llamastackdistributions",
    );
    w.create(&lsd, Some(NS), json!({"apiVersion": "llamastack.io/v1alpha1", "kind": "LlamaStackDistribution", "metadata": {"name": "llama-stack", "namespace": NS},
        "spec": {"replicas": 1, "server": {"distribution": {"name": "rh-dev"}, "containerSpec": {"port": 8321}}}})).await;
    let nb = crd_ar("kubeflow.org", "v1", "Notebook", "notebooks");
    w.create(&nb, Some(NS), json!({"apiVersion": "kubeflow.org/v1", "kind": "Notebook", "metadata": {"name": "rag-testing", "namespace": NS},
        "spec": {"template": {"spec": {"containers": [{"name": "rag-testing", "image": "quay.io/modh/odh-workbench-jupyter-datascience-cpu-py311-ubi9:2025.1"}]}}}})).await;
    let pr = crd_ar("tekton.dev", "v1", "PipelineRun", "pipelineruns");
    w.create(&pr, Some(NS), json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "ingest-1", "namespace": NS},
        "spec": {"pipelineSpec": {"tasks": [{"name": "fetch", "taskSpec": {"steps": [{"name": "fetch", "image": "registry.access.redhat.com/ubi9/ubi-minimal:9.6", "command": ["true"]}]}}]}}})).await;
    let lm = crd_ar(
        "trustyai.opendatahub.io",
        "v1alpha1",
        "LMEvalJob",
        "lmevaljobs",
    );
    w.create(&lm, Some(NS), json!({"apiVersion": "trustyai.opendatahub.io/v1alpha1", "kind": "LMEvalJob", "metadata": {"name": "eval-mistral-quantized", "namespace": NS},
        "spec": {"model": "local-completions", "taskList": {"taskNames": ["arc_easy", "hellaswag"]}}})).await;

    let l = w
        .wait(&lsd, Some(NS), "llama-stack", |l| {
            l["status"]["phase"] == "Ready"
        })
        .await;
    // RHOAI 2.22's LlamaStackDistribution status has no `serviceURL` (the schema prunes it).
    assert_eq!(l["status"]["serviceURL"], Value::Null);
    assert_eq!(l["status"]["availableReplicas"], 1);
    let n = w
        .wait(&nb, Some(NS), "rag-testing", |n| {
            n["status"]["readyReplicas"] == 1
        })
        .await;
    assert!(n["status"]["containerState"]["running"]["startedAt"].is_string());
    assert_eq!(
        w.get(&ar::<Pod>(), Some(NS), "rag-testing-0").await["status"]["phase"],
        "Running"
    );
    let p = w
        .wait(&pr, Some(NS), "ingest-1", |p| {
            cond_is(p, "Succeeded", "True")
        })
        .await;
    assert_eq!(cond(&p, "Succeeded").unwrap()["reason"], "Succeeded");
    assert!(p["status"]["completionTime"].is_string());
    let e = w
        .wait(&lm, Some(NS), "eval-mistral-quantized", |e| {
            e["status"]["state"] == "Complete"
        })
        .await;
    assert_eq!(e["status"]["reason"], "Succeeded");
    let results: Value = serde_json::from_str(e["status"]["results"].as_str().unwrap()).unwrap();
    assert!(
        results["results"]["hellaswag"]["acc,none"]
            .as_f64()
            .unwrap()
            > 0.5
    );
    // The harness's results file, as democtl reads it (issue #12).
    assert_eq!(results["versions"]["arc_easy"], 1.0);
    let scores =
        democtl::steps::lm_eval_report::scores(e["status"]["results"].as_str().unwrap()).unwrap();
    assert_eq!(
        (scores[0].task.as_str(), scores[0].metric.as_str()),
        ("arc_easy", "acc_norm")
    );
    assert!(scores[0].stderr.is_some());
}

// ------------------------------------------------------------------ scenarios: API, RBAC, platform

#[tokio::test]
async fn flaky_api_still_converges() {
    let w = World::named("flaky-api").await;
    namespace_retrying(&w).await;
    let deploy = ar::<k8s_openapi::api::apps::v1::Deployment>();
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
    let obj: DynamicObject = serde_json::from_value(obj).unwrap();
    let api = w.api(&deploy, Some(NS));
    loop {
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => break,
            Err(kube::Error::Api(s)) if s.code == 409 => break,
            Err(_) => continue,
        }
    }
    w.wait(&deploy, Some(NS), "web", |d| {
        cond_is(d, "Available", "True")
    })
    .await;
}

async fn namespace_retrying(w: &World) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(w.client.clone());
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    loop {
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => break,
            Err(kube::Error::Api(s)) if s.code == 409 => break,
            Err(_) => continue,
        }
    }
}

#[tokio::test]
async fn rbac_denied_user_cannot_create_machinesets_but_the_world_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sim = democtl::sim::Embedded::start(dir.path(), Some("rbac-denied"), SPEED)
        .await
        .unwrap();
    let client = sim.client().unwrap();
    let review: Api<k8s_openapi::api::authorization::v1::SelfSubjectAccessReview> =
        Api::all(client.clone());
    let ask = |verb: &str| {
        serde_json::from_value::<k8s_openapi::api::authorization::v1::SelfSubjectAccessReview>(json!({
        "spec": {"resourceAttributes": {"verb": verb, "group": "machine.openshift.io", "resource": "machinesets", "namespace": "openshift-machine-api"}}})).unwrap()
    };
    let r = review
        .create(&PostParams::default(), &ask("create"))
        .await
        .unwrap();
    assert!(!r.status.unwrap().allowed);
    let r = review
        .create(&PostParams::default(), &ask("list"))
        .await
        .unwrap();
    assert!(r.status.unwrap().allowed);
    let sets: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "openshift-machine-api", &machine_set());
    assert_eq!(sets.list(&Default::default()).await.unwrap().items.len(), 3);
    let ms: DynamicObject = serde_json::from_value(json!({"apiVersion": "machine.openshift.io/v1beta1", "kind": "MachineSet",
        "metadata": {"name": "gpu", "namespace": "openshift-machine-api"}, "spec": {"replicas": 1}})).unwrap();
    match sets.create(&PostParams::default(), &ms).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403),
        other => panic!("expected 403, got {other:?}"),
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test]
async fn not_aws_has_no_machinesets_and_static_nodes() {
    let w = World::named("not-aws").await;
    let infra = w
        .get(
            &crd_ar(
                "config.openshift.io",
                "v1",
                "Infrastructure",
                "infrastructures",
            ),
            None,
            "cluster",
        )
        .await;
    assert_eq!(infra["status"]["platformStatus"]["type"], "None");
    assert!(infra["status"]["platformStatus"]["aws"].is_null());
    let sets = w
        .api(&machine_set(), Some("openshift-machine-api"))
        .list(&Default::default())
        .await
        .unwrap();
    assert!(sets.items.is_empty());
    let nodes = w
        .api(&ar::<k8s_openapi::api::core::v1::Node>(), None)
        .list(&Default::default())
        .await
        .unwrap();
    let names: Vec<String> = nodes
        .items
        .iter()
        .map(|n| n.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "master-0", "master-1", "master-2", "worker-0", "worker-1", "worker-2"
        ]
    );
    let sc = w
        .get(
            &ar::<k8s_openapi::api::storage::v1::StorageClass>(),
            None,
            "lvms-vg1",
        )
        .await;
    assert_eq!(sc["volumeBindingMode"], "Immediate");
    // Immediate binding: a PVC binds without any consumer.
    namespace(&w).await;
    let pvcs = ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>();
    w.create(&pvcs, Some(NS), pvc("data")).await;
    w.wait(&pvcs, Some(NS), "data", |p| p["status"]["phase"] == "Bound")
        .await;
}

#[tokio::test]
async fn embedded_cluster_persists_and_resumes_a_half_finished_job() {
    let dir = tempfile::tempdir().unwrap();
    let sim = democtl::sim::Embedded::start(dir.path(), None, SPEED)
        .await
        .unwrap();
    assert_eq!(sim.scenario().name, "healthy");
    assert!(sim.kubeconfig_path().exists());
    let client = sim.client().unwrap();
    let w_ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    w_ns.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap(),
    )
    .await
    .unwrap();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), NS);
    jobs.create(
        &PostParams::default(),
        &serde_json::from_value(download_job("download-x", "none", 0)).unwrap(),
    )
    .await
    .ok();
    let job = kube::runtime::wait::await_condition(
        jobs.clone(),
        "download-x",
        |j: Option<&k8s_openapi::api::batch::v1::Job>| {
            j.and_then(|j| j.status.as_ref())
                .and_then(|s| s.start_time.as_ref())
                .is_some()
        },
    );
    let job = tokio::time::timeout(TIMEOUT, job)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let started = job.status.unwrap().start_time.unwrap();
    sim.shutdown().await.unwrap();

    // Same directory, no scenario given: the same cluster comes back, seeded once, the Job keeps its start.
    let sim = democtl::sim::Embedded::start(dir.path(), None, SPEED)
        .await
        .unwrap();
    let client = sim.client().unwrap();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), NS);
    let job = jobs.get("download-x").await.unwrap();
    assert_eq!(job.status.unwrap().start_time.unwrap(), started);
    // One process per cluster.
    match democtl::sim::Embedded::start(dir.path(), None, SPEED).await {
        Err(e) => assert!(
            e.to_string()
                .contains("is in use by another democtl process"),
            "{e}"
        ),
        Ok(_) => panic!("expected the cluster to be busy"),
    }
    sim.shutdown().await.unwrap();
    match democtl::sim::Embedded::start(dir.path(), Some("not-aws"), SPEED).await {
        Err(e) => assert!(
            e.to_string()
                .contains("was created from scenario `healthy`, not `not-aws`"),
            "{e}"
        ),
        Ok(_) => panic!("expected a scenario mismatch"),
    }
    democtl::sim::Embedded::reset(dir.path()).unwrap();
    let sim = democtl::sim::Embedded::start(dir.path(), Some("not-aws"), SPEED)
        .await
        .unwrap();
    assert_eq!(sim.scenario().name, "not-aws");
    sim.shutdown().await.unwrap();
}

/// The global resourceVersion (one counter for every write).
async fn resource_version(w: &World) -> u64 {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(w.client.clone());
    let list = api
        .list_metadata(&kube::api::ListParams::default().limit(1))
        .await
        .unwrap();
    list.metadata.resource_version.unwrap().parse().unwrap()
}

#[tokio::test]
async fn converged_world_does_not_keep_rewriting_objects() {
    let mut s = Scenario::builtin("healthy").unwrap();
    s.delays.job = 3000; // 1.5 s of real time at SPEED: long enough to expose a write loop
    let w = World::start(s).await;
    namespace(&w).await;
    let subs = crd_ar(
        "operators.coreos.com",
        "v1alpha1",
        "Subscription",
        "subscriptions",
    );
    w.create(&subs, Some(NS), json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "grafana-operator", "namespace": NS},
        "spec": {"channel": "v5", "name": "grafana-operator", "source": "community-operators", "sourceNamespace": "openshift-marketplace"}})).await;
    w.wait(&subs, Some(NS), "grafana-operator", |s| {
        s["status"]["state"] == "AtLatestKnown"
    })
    .await;
    let deploy = ar::<k8s_openapi::api::apps::v1::Deployment>();
    w.create(&deploy, Some(NS), json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})).await;
    w.wait(&deploy, Some(NS), "web", |d| {
        cond_is(d, "Available", "True")
    })
    .await;
    let before = resource_version(&w).await;
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    w.create(&jobs, Some(NS), json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "clock", "namespace": NS},
        "spec": {"template": {"metadata": {"labels": {"democtl.io/sim-behaviour": "run"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})).await;
    w.wait(&jobs, Some(NS), "clock", |j| cond_is(j, "Complete", "True"))
        .await;
    let writes = resource_version(&w).await - before;
    // Job + pod creation, scheduling, start, log, completion: a few dozen writes, not thousands.
    assert!(writes < 60, "{writes} writes while one Job ran");
}

#[tokio::test]
async fn scheduling_failures_and_job_outcomes_are_recorded_as_events() {
    let w = World::named("model-download-fails").await;
    namespace(&w).await;
    w.create(
        &ar::<Pod>(),
        Some(NS),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vllm", "namespace": NS},
        "spec": {"containers": [{"name": "vllm", "image": "quay.io/modh/vllm:rhoai-2.22-cuda",
            "resources": {"limits": {"nvidia.com/gpu": "4"}}}]}}),
    )
    .await;
    w.create(
        &ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(),
        Some(NS),
        pvc("full"),
    )
    .await;
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    w.create(
        &jobs,
        Some(NS),
        download_job("download-mistral-24b", "full", 0),
    )
    .await;
    let events = w
        .wait_all(
            &ar::<k8s_openapi::api::core::v1::Event>(),
            Some(NS),
            "events",
            |m| {
                m.values().any(|e| e["reason"] == "FailedScheduling")
                    && m.values().any(|e| e["reason"] == "BackoffLimitExceeded")
            },
        )
        .await;
    let sched = events
        .values()
        .find(|e| e["reason"] == "FailedScheduling")
        .unwrap();
    assert_eq!(sched["type"], "Warning");
    assert_eq!(sched["involvedObject"]["name"], "vllm");
    assert!(
        sched["message"]
            .as_str()
            .unwrap()
            .starts_with("0/6 nodes are available: 3 Insufficient nvidia.com/gpu")
    );
    let failed = events
        .values()
        .find(|e| e["reason"] == "BackoffLimitExceeded")
        .unwrap();
    assert_eq!(failed["involvedObject"]["kind"], "Job");
    assert_eq!(failed["source"]["component"], "job-controller");
    assert!(events.values().any(|e| e["reason"] == "SuccessfulCreate"
        && e["involvedObject"]["name"] == "download-mistral-24b"));
}

#[tokio::test]
async fn missing_secret_blocks_the_container_until_it_exists() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    let pods = ar::<Pod>();
    w.create(&pods, Some(NS), json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dl", "namespace": NS},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "d", "image": "docker.io/kserve/storage-initializer:v0.15.2",
            "env": [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "huggingface-token", "key": "HF_TOKEN"}}}]}]}})).await;
    let p = w
        .wait(&pods, Some(NS), "dl", |p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                == "CreateContainerConfigError"
        })
        .await;
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "secret \"huggingface-token\" not found"
    );
    assert_eq!(p["status"]["phase"], "Pending");
    w.create(&ar::<k8s_openapi::api::core::v1::Secret>(), Some(NS), json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "huggingface-token", "namespace": NS}, "stringData": {"HF_TOKEN": "hf_x"}})).await;
    w.wait(&pods, Some(NS), "dl", |p| {
        p["status"]["phase"] == "Running" || p["status"]["phase"] == "Succeeded"
    })
    .await;
}

#[tokio::test]
async fn job_past_its_active_deadline_fails_with_deadline_exceeded() {
    let w = World::named("healthy").await;
    namespace(&w).await;
    w.create(
        &ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(),
        Some(NS),
        pvc("m"),
    )
    .await;
    let mut job = download_job("download-slow", "m", 6);
    job["spec"]["activeDeadlineSeconds"] = json!(120);
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    w.create(&jobs, Some(NS), job).await;
    let j = w
        .wait(&jobs, Some(NS), "download-slow", |j| {
            cond_is(j, "Failed", "True")
        })
        .await;
    assert_eq!(cond(&j, "Failed").unwrap()["reason"], "DeadlineExceeded");
    assert_eq!(
        cond(&j, "Failed").unwrap()["message"],
        "Job was active longer than specified deadline"
    );
    assert_eq!(j["status"]["active"], 0);
    assert!(pods_of_job(&w, "download-slow").await.is_empty());
}

// ------------------------------------------------------------------ restart: the world resumes

fn web_deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "registry.redhat.io/rhel9/postgresql-15:latest"}]}}}})
}

/// What must not change when the cluster restarts: each pod's identity, start and restarts.
fn pod_lives(pods: &BTreeMap<String, Value>) -> BTreeMap<String, (Value, Value, Value)> {
    pods.iter()
        .map(|(k, p)| {
            (
                k.clone(),
                (
                    p["metadata"]["uid"].clone(),
                    p["status"]["startTime"].clone(),
                    p["status"]["containerStatuses"][0]["restartCount"].clone(),
                ),
            )
        })
        .collect()
}

fn bytes_done(log: &str) -> u64 {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["bytes_done"].as_u64())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_restarted_world_resumes_every_object_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut scenario = Scenario::builtin("healthy").unwrap();
    // Slow enough at this speed that the download is under way across the restart.
    scenario.delays.model_download = 20_000;
    let speed = 200.0;
    let w = World::start_with(scenario, Some(dir.path().join("state.json")), speed, true).await;
    namespace(&w).await;
    let deploy = ar::<k8s_openapi::api::apps::v1::Deployment>();
    let jobs = ar::<k8s_openapi::api::batch::v1::Job>();
    let pvcs = ar::<k8s_openapi::api::core::v1::PersistentVolumeClaim>();
    w.create(&deploy, Some(NS), web_deployment("postgresql"))
        .await;
    w.create(&pvcs, Some(NS), pvc("models")).await;
    w.create(
        &jobs,
        Some(NS),
        download_job("download-mistral-24b", "models", 0),
    )
    .await;
    let mut quick = download_job("init-db", "models", 0);
    quick["spec"]["template"]["metadata"]["labels"]["democtl.io/sim-behaviour"] = json!("run");
    w.create(&jobs, Some(NS), quick).await;
    w.wait(&deploy, Some(NS), "postgresql", |d| {
        d["status"]["readyReplicas"] == 1
    })
    .await;
    let done = w
        .wait(&jobs, Some(NS), "init-db", |j| {
            cond_is(j, "Complete", "True")
        })
        .await;
    let pods = w
        .wait_all(&ar::<Pod>(), Some(NS), "a downloading pod", |m| {
            m.values().any(|p| {
                label(p, "job-name") == Some("download-mistral-24b")
                    && obj_log(p).is_some_and(|l| bytes_done(l) > 0)
            })
        })
        .await;
    let lives = pod_lives(&pods);
    let download_pod = pods
        .values()
        .find(|p| label(p, "job-name") == Some("download-mistral-24b"))
        .unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let before = bytes_done(&w.log(NS, &download_pod).await);
    assert!(w.rejected().is_empty(), "{:?}", w.rejected());

    // Controllers that cannot list pods yet (here: forbidden) must not act on the Deployments
    // and ReplicaSets they do see: counting no pods, they would report 0/1 ready.
    let no_pods = democtl::sim::PermissionRule {
        verbs: vec!["list".into(), "watch".into()],
        api_groups: vec![String::new()],
        resources: vec!["pods".into()],
        namespaces: vec![],
    };
    let mut w = w.restart_denying(vec![no_pods]).await;
    w.run_controllers();
    // No event to wait for (nothing may happen): give the controllers a few passes' time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let d = w.get(&deploy, Some(NS), "postgresql").await;
    assert_eq!(d["status"]["readyReplicas"], 1, "{}", d["status"]);
    let rs = w
        .wait_all(
            &ar::<k8s_openapi::api::apps::v1::ReplicaSet>(),
            Some(NS),
            "the ReplicaSets",
            |m| !m.is_empty(),
        )
        .await;
    for r in rs.values() {
        assert_eq!(r["status"]["readyReplicas"], 1, "{}", r["status"]);
    }

    let mut w = w.restart().await;
    // Every Deployment version from the restored state on is watched; the controllers start
    // once the watch has its initial list.
    let (listed, on_list) = tokio::sync::oneshot::channel();
    let watch = {
        let api: Api<DynamicObject> = w.api(&deploy, Some(NS));
        tokio::spawn(async move {
            let mut seen: Vec<Value> = Vec::new();
            let mut listed = Some(listed);
            let stream = watcher::watcher(api, watcher::Config::default());
            let mut stream = std::pin::pin!(stream);
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        seen.push(serde_json::to_value(&o).unwrap());
                    }
                    Ok(watcher::Event::InitDone) => {
                        if let Some(l) = listed.take() {
                            l.send(()).unwrap();
                        }
                    }
                    _ => {}
                }
                let marker_ready = seen.iter().any(|d| {
                    d["metadata"]["name"] == "marker" && d["status"]["readyReplicas"] == 1
                });
                if marker_ready {
                    break;
                }
            }
            seen
        })
    };
    on_list.await.unwrap();
    w.run_controllers();
    // A new Deployment that becomes ready proves the controllers made full passes meanwhile.
    w.create(&deploy, Some(NS), web_deployment("marker")).await;
    let seen = tokio::time::timeout(TIMEOUT, watch).await.unwrap().unwrap();
    for d in seen
        .iter()
        .filter(|d| d["metadata"]["name"] == "postgresql")
    {
        assert_eq!(
            d["status"]["readyReplicas"], 1,
            "a resumed Deployment must stay ready: {}",
            d["status"]
        );
        assert!(cond_is(d, "Available", "True"), "{}", d["status"]);
    }
    let pods = w
        .wait_all(&ar::<Pod>(), Some(NS), "the pods", |m| {
            m.len() >= lives.len()
        })
        .await;
    let after = pod_lives(&pods);
    for (k, life) in &lives {
        assert_eq!(after.get(k), Some(life), "pod {k} restarted");
    }
    let job = w.get(&jobs, Some(NS), "init-db").await;
    assert_eq!(
        job["status"], done["status"],
        "a finished Job stays finished"
    );
    let resumed = bytes_done(&w.log(NS, &download_pod).await);
    assert!(
        resumed >= before,
        "the download went back from {before} to {resumed} bytes"
    );
    let job = w.get(&jobs, Some(NS), "download-mistral-24b").await;
    assert!(!cond_is(&job, "Complete", "True"), "{}", job["status"]);
    assert!(w.rejected().is_empty(), "{:?}", w.rejected());
}

fn obj_log(p: &Value) -> Option<&str> {
    p["metadata"]["annotations"][world::LOG_ANNOTATION].as_str()
}
