//! A flaky API server: `deploy stage3` against simulated clusters that inject faults (429, 500,
//! 503, dropped connections; two thirds of the 500/503/resets strike after the request executed
//! — half of all faults, as 429 is always refused before executing — so the change is made and
//! the response lost), each with its own seed. The deploy must converge
//! and leave exactly the objects a fault-free deploy leaves (kinds, names, specs: its
//! inventories, every object labelled managed-by democtl and their namespaces), with complete
//! state records, and no run may leave the cluster lock (`democtl/democtl-lock`) behind.
//!
//! Cost: every seed is a whole stage-3 deploy at 1000× with democtl's retry delays scaled down
//! (`DEMOCTL_RETRY_DELAY_SCALE`), about 40 s on 2 cores, so the suite plays one seed per test;
//! `DEMOCTL_FAULT_SEEDS=10` plays the issue's "10 out of 10" (two seeds at once).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use democtl::cluster::Cluster;
use democtl::cluster::inventory::{LABEL_MANAGED_BY, MANAGED_BY};
use democtl::cluster::lease::LEASE_NAME;
use democtl::cluster::state::{self, StageStatus};
use democtl::sim::{Embedded, EmbeddedOptions};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};

use super::harness::{Demo, Run};

const SPEED: f64 = 1000.0;
/// Seeds played at once (2 cores).
const PARALLEL: usize = 2;

/// `DEMOCTL_FAULT_SEEDS` seeds from `first` (default 1: the suite's budget; the issue's must-show
/// is `DEMOCTL_FAULT_SEEDS=10`).
fn seeds(first: u64) -> Vec<u64> {
    let n = std::env::var("DEMOCTL_FAULT_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1);
    (first..first + n).collect()
}

/// A project with the repository's stages and a simulated cluster of `scenario` (a file in the
/// project, or a shipped name).
struct Sim {
    demo: Arc<Demo>,
    embedded: Embedded,
    kubeconfig: String,
}

impl Sim {
    async fn start(demo: Demo, scenario: &str) -> Sim {
        let demo = Arc::new(demo);
        let options = EmbeddedOptions {
            scenario: Some(scenario.to_string()),
            speed: Some(SPEED),
            tls: false,
        };
        let embedded = Embedded::start_with(&demo.path().join("sim-state"), &options)
            .await
            .unwrap();
        let kubeconfig = embedded.kubeconfig_path().display().to_string();
        Sim {
            demo,
            embedded,
            kubeconfig,
        }
    }

    async fn deploy(&self) -> Run {
        let demo = self.demo.clone();
        let kubeconfig = self.kubeconfig.clone();
        tokio::task::spawn_blocking(move || {
            demo.run(&["--kubeconfig", &kubeconfig, "-y", "deploy", "stage3"])
        })
        .await
        .unwrap()
    }

    async fn stop(self) {
        self.embedded.shutdown().await.unwrap();
    }
}

fn demo() -> Demo {
    Demo::repo()
        .env("HF_TOKEN", "hf_faults_token_1234")
        .env("DEMOCTL_RETRY_DELAY_SCALE", "0.02")
}

/// A project whose cluster fails `rate` of the requests with the four kinds of faults, half of
/// all faults after execution (two thirds of the 500/503/resets: a 429 never executes), from
/// `seed`.
fn faulty(rate: f64, seed: u64) -> (Demo, String) {
    let file = format!("faults-{seed}.yaml");
    let demo = demo().file(
        &file,
        &format!(
            "name: faults\nextends: healthy\napi: {{fault_rate: {rate}, after_execute: 0.6667, seed: {seed}}}\n"
        ),
    );
    let path = demo.path().join(&file).display().to_string();
    (demo, path)
}

/// What a deploy leaves: every object of every stage's inventory (kind, namespace, name → its
/// spec, or data for ConfigMaps; Secret data by key only, since generated passwords differ),
/// each stage's status and completed steps, every object of any kind labelled managed-by
/// democtl (inventory or not: a duplicate or a stray left by a retried write shows here) and
/// the namespaces all these live in (their labels).
async fn final_objects(embedded: &Embedded) -> BTreeMap<String, Value> {
    let client = embedded.client().unwrap();
    let cluster = Cluster::from_client(client.clone(), embedded.url());
    let mut out = BTreeMap::new();
    let mut namespaces = std::collections::BTreeSet::new();
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let managed = ListParams::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY}"));
    for group in discovery.groups() {
        // One version per group (the preferred one): the same objects are served by all.
        for (ar, caps) in group.recommended_resources() {
            if !caps.supports_operation(kube::discovery::verbs::LIST) {
                continue;
            }
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let list = api.list(&managed).await.unwrap();
            for o in list.items {
                let ns = o.metadata.namespace.clone();
                let name = o.metadata.name.clone().unwrap_or_default();
                // The state records are compared above (their data holds run ids and times).
                if ar.kind == "ConfigMap" && name.starts_with("democtl-stage-") {
                    continue;
                }
                let v = serde_json::to_value(&o).unwrap();
                if ar.kind == "Namespace" {
                    namespaces.insert(name.clone());
                }
                if let Some(ns) = &ns {
                    namespaces.insert(ns.clone());
                }
                out.insert(
                    format!(
                        "managed {} {}{name}",
                        ar.kind,
                        ns.map(|n| format!("{n}/")).unwrap_or_default()
                    ),
                    shape(&ar.kind, &v),
                );
            }
        }
    }
    for st in state::load_all(&cluster).await.unwrap() {
        let mut steps = st.completed_steps.clone();
        steps.sort();
        out.insert(
            format!("record {}", st.stage),
            json!({"status": st.status == StageStatus::Deployed, "steps": steps,
                   "inventory": st.inventory.len()}),
        );
        for entry in &st.inventory {
            let k = &entry.key;
            let r = cluster
                .resolve(&k.api_version, &k.kind)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{} is not served", k.describe()));
            let live = cluster
                .get_value(&r.resource, k.namespace.as_deref(), &k.name, || {
                    k.describe()
                })
                .await
                .unwrap();
            let shape = match live {
                None => json!("missing"),
                Some(v) => shape(&k.kind, &v),
            };
            out.insert(format!("{} {}", st.stage, k.describe()), shape);
            if let Some(ns) = &k.namespace {
                namespaces.insert(ns.clone());
            }
        }
    }
    let nss: Api<Namespace> = Api::all(client);
    for name in namespaces {
        let labels = nss
            .get_opt(&name)
            .await
            .unwrap()
            .map(|n| json!(n.metadata.labels.unwrap_or_default()))
            .unwrap_or_else(|| json!("missing"));
        out.insert(format!("namespace {name}"), json!({"labels": labels}));
    }
    out
}

/// A failure line when the cluster lock is still held after a run (each run must release it,
/// whatever the faults made it go through).
async fn lease_left(embedded: &Embedded, run: &Run) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(embedded.client().unwrap(), "democtl");
    let lease = leases.get_opt(LEASE_NAME).await.unwrap()?;
    Some(format!(
        "the cluster lock `democtl/{LEASE_NAME}` is left after a run (exit {}, holder {:?}):\n{}",
        run.code,
        lease.spec.and_then(|s| s.holder_identity),
        run.stderr
            .lines()
            .filter(|l| l.starts_with("error") || l.starts_with("warning"))
            .take(12)
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

/// The part of an object that must not depend on faults.
fn shape(kind: &str, v: &Value) -> Value {
    match kind {
        "Secret" => {
            let keys: Vec<&String> = v["data"]
                .as_object()
                .map(|d| d.keys().collect())
                .unwrap_or_default();
            json!({"keys": keys})
        }
        // Times of day written into data differ between runs (the benchmark results record
        // when each Job finished): compare them as `<time>`.
        "ConfigMap" => {
            let times = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z").unwrap();
            let data = times
                .replace_all(&v["data"].to_string(), "<time>")
                .into_owned();
            json!({"data": serde_json::from_str::<Value>(&data).unwrap()})
        }
        _ => {
            let mut spec = v["spec"].clone();
            // Assigned by the server per object: Job selectors and template labels, the
            // PersistentVolume a claim is bound to, a Service's cluster IPs (random, as kube's
            // allocator).
            strip(
                &mut spec,
                &[
                    "controller-uid",
                    "batch.kubernetes.io/controller-uid",
                    "volumeName",
                    "clusterIP",
                    "clusterIPs",
                ],
            );
            json!({"spec": spec})
        }
    }
}

fn strip(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(m) => {
            for k in keys {
                m.remove(*k);
            }
            // null and absent are the same to the API (`creationTimestamp: null` in an embedded
            // template is written by some clients and dropped by others).
            m.retain(|_, v| !v.is_null());
            for child in m.values_mut() {
                strip(child, keys);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| strip(c, keys)),
        _ => {}
    }
}

/// The objects of one fault-free deploy, shared by the tests of this file.
static REFERENCE: tokio::sync::OnceCell<BTreeMap<String, Value>> =
    tokio::sync::OnceCell::const_new();

async fn reference() -> &'static BTreeMap<String, Value> {
    REFERENCE
        .get_or_init(|| async {
            let sim = Sim::start(demo(), "healthy").await;
            let run = sim.deploy().await;
            run.expect_code(0);
            if let Some(left) = lease_left(&sim.embedded, &run).await {
                panic!("fault-free deploy: {left}");
            }
            let objects = final_objects(&sim.embedded).await;
            sim.stop().await;
            assert!(objects.len() > 40, "{objects:#?}");
            // The comparison covers more than the inventories.
            assert!(
                objects.keys().any(|k| k.starts_with("managed Deployment "))
                    && objects.contains_key("namespace private-ai-demo"),
                "{:#?}",
                objects.keys().collect::<Vec<_>>()
            );
            objects
        })
        .await
}

/// Keys whose values differ between two snapshots (missing on one side included).
fn differences(want: &BTreeMap<String, Value>, got: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            None => out.push(format!("missing: {k}")),
            Some(g) if g != v => out.push(format!("differs: {k}\n  want {v}\n  got  {g}")),
            Some(_) => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        out.push(format!("extra: {k}"));
    }
    out
}

/// Plays `seed` at `rate`: up to `runs` deploys until one exits 0. Returns a failure line, or
/// None when it converged with the reference objects.
async fn play(rate: f64, seed: u64, runs: usize, want: &BTreeMap<String, Value>) -> Option<String> {
    let (demo, scenario) = faulty(rate, seed);
    let sim = Sim::start(demo, &scenario).await;
    let mut last = None;
    let mut lease = None;
    for i in 0..runs {
        let run = sim.deploy().await;
        if lease.is_none() {
            lease = lease_left(&sim.embedded, &run)
                .await
                .map(|l| format!("seed {seed}, run {}: {l}", i + 1));
        }
        if run.code == 0 {
            last = None;
            break;
        }
        last = Some(run);
    }
    let result = match last {
        Some(run) => Some(format!(
            "seed {seed}: no convergence in {runs} run(s), last exit {}:\n{}",
            run.code,
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error") || l.starts_with("  "))
                .take(12)
                .collect::<Vec<_>>()
                .join("\n")
        )),
        None => {
            let diff = differences(want, &final_objects(&sim.embedded).await);
            (!diff.is_empty()).then(|| format!("seed {seed}: objects differ:\n{}", diff.join("\n")))
        }
    };
    sim.stop().await;
    match (lease, result) {
        (Some(l), Some(r)) => Some(format!("{l}\n{r}")),
        (l, r) => l.or(r),
    }
}

async fn converges(rate: f64, runs: usize, first_seed: u64) {
    let _guard = super::e2e::ONE_AT_A_TIME.lock().await;
    let want = reference().await;
    let seeds = seeds(first_seed);
    let failures: Vec<String> = futures::stream::iter(seeds.clone())
        .map(|seed| play(rate, seed, runs, want))
        .buffer_unordered(PARALLEL)
        .filter_map(|r| async move { r })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed at fault rate {rate}:\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_faults_half_after_execution_converge_in_one_run() {
    converges(0.10, 1, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_percent_faults_converge_within_three_runs() {
    converges(0.20, 3, 101).await;
}
