//! A flaky API server: `deploy stage3` against simulated clusters that inject faults (429, 500,
//! 503, dropped connections; half of the 500/503/resets strike after the request executed, so
//! the change is made and the response lost), each with its own seed. The deploy must converge
//! and leave exactly the objects a fault-free deploy leaves (kinds, names, specs), with complete
//! state records.
//!
//! Cost: every seed is a whole stage-3 deploy at 1000× with democtl's retry delays scaled down
//! (`DEMOCTL_RETRY_DELAY_SCALE`), about 40 s on 2 cores, so the suite plays one seed per test;
//! `DEMOCTL_FAULT_SEEDS=10` plays the "10 out of 10" (two seeds at once).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use democtl::cluster::Cluster;
use democtl::cluster::state::{self, StageStatus};
use democtl::sim::{Embedded, EmbeddedOptions};
use futures::StreamExt;
use serde_json::{Value, json};

use super::harness::{Demo, Run};

const SPEED: f64 = 1000.0;
/// Seeds played at once (2 cores).
const PARALLEL: usize = 2;

/// `DEMOCTL_FAULT_SEEDS` seeds from `first` (default 1: the suite's budget; the must-show
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
/// the 500/503/resets after execution, from `seed`.
fn faulty(rate: f64, seed: u64) -> (Demo, String) {
    let file = format!("faults-{seed}.yaml");
    let demo = demo().file(
        &file,
        &format!(
            "name: faults\nextends: healthy\napi: {{fault_rate: {rate}, after_execute: 0.5, seed: {seed}}}\n"
        ),
    );
    let path = demo.path().join(&file).display().to_string();
    (demo, path)
}

/// What a deploy leaves: every object of every stage's inventory (kind, namespace, name → its
/// spec, or data for ConfigMaps; Secret data by key only, since generated passwords differ) and
/// each stage's status and completed steps.
async fn final_objects(embedded: &Embedded) -> BTreeMap<String, Value> {
    let cluster = Cluster::from_client(embedded.client().unwrap(), embedded.url());
    let mut out = BTreeMap::new();
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
        }
    }
    out
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
        "ConfigMap" => json!({"data": v["data"]}),
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
            sim.deploy().await.expect_code(0);
            let objects = final_objects(&sim.embedded).await;
            sim.stop().await;
            assert!(objects.len() > 40, "{objects:#?}");
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
    for _ in 0..runs {
        let run = sim.deploy().await;
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
    result
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
