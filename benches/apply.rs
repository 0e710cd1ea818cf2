//! Apply throughput of the stage-3 render against the simulator: democtl's tiered server-side
//! apply next to `kubectl apply --server-side` of the same objects, in the same run, each into
//! a fresh simulated cluster (first apply = creates) and again (re-apply = no changes).
//!
//! The operators' CRDs (KServe, Tekton, …) are pre-installed as permissive CRDs so both tools
//! apply the same objects; both talk HTTP to the same kind of server.
//!
//! Run: `cargo bench --bench apply` (needs `kubectl` on PATH for the comparison).

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use democtl::cluster::apply::{ApplyOptions, apply};
use democtl::cluster::operators::{Decision, crd_established};
use democtl::cluster::{Cluster, ObjectKey};
use democtl::sim::{ServerConfig, SimClock, SimServer};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

const OVERLAY: &str = "gitops/overlays/stage3";
const ROUNDS: usize = 3;

pub fn render(project: &Path) -> Vec<Value> {
    democtl::kustomize::build(&project.join(OVERLAY)).expect("render the stage-3 overlay")
}

/// Permissive CRDs for every custom kind of the render that the bare server does not serve.
pub async fn install_crds(cluster: &Cluster, objects: &[Value]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen = BTreeSet::new();
    for o in objects {
        let av = o["apiVersion"].as_str().unwrap_or("");
        let kind = o["kind"].as_str().unwrap_or("");
        let Some((group, version)) = av.rsplit_once('/') else {
            continue;
        };
        if cluster.resolve(av, kind).await.unwrap().is_some() || !seen.insert((group, kind)) {
            continue;
        }
        let plural = format!("{}s", kind.to_lowercase());
        let namespaced = o.pointer("/metadata/namespace").is_some();
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {"group": group, "scope": if namespaced { "Namespaced" } else { "Cluster" },
                "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
                "versions": [{"name": version, "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                    "subresources": {"status": {}}}]}
        });
        let r = cluster
            .resolve("apiextensions.k8s.io/v1", "CustomResourceDefinition")
            .await
            .unwrap()
            .unwrap();
        cluster
            .api(&r.resource, None)
            .patch(
                &format!("{plural}.{group}"),
                &PatchParams::apply("bench").force(),
                &Patch::Apply(&crd),
            )
            .await
            .unwrap();
    }
    // Wait (watching) until every CRD is established.
    for (group, kind) in seen {
        let plural = format!("{}s", kind.to_lowercase());
        let key = ObjectKey::new(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            format!("{plural}.{group}"),
        );
        cluster
            .wait_until(&key, deadline, &|_| {}, |o| match o.map(crd_established) {
                Some(Ok(true)) => Decision::Done(()),
                _ => Decision::Pending(String::new()),
            })
            .await
            .unwrap();
    }
    cluster.discovery().refresh();
    // Namespaces the operators create (not part of the render).
    let declared: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "Namespace")
        .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
    let used: BTreeSet<&str> = objects
        .iter()
        .filter_map(|o| o.pointer("/metadata/namespace").and_then(Value::as_str))
        .collect();
    let r = cluster.resolve("v1", "Namespace").await.unwrap().unwrap();
    for ns in used.difference(&declared) {
        cluster
            .api(&r.resource, None)
            .patch(
                ns,
                &PatchParams::apply("bench"),
                &Patch::Apply(
                    &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                ),
            )
            .await
            .unwrap();
    }
}

async fn fresh(objects: &[Value]) -> (SimServer, Cluster) {
    let server = SimServer::start(ServerConfig {
        // kubectl sends tokens only over TLS; democtl uses the same HTTPS server.
        tls: true,
        clock: SimClock::new(1000.0),
        crd_establish_delay: Duration::from_millis(100),
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let cluster = Cluster::from_client(server.client().unwrap(), server.url());
    install_crds(&cluster, objects).await;
    (server, cluster)
}

async fn democtl_round(objects: &[Value], concurrency: usize) -> (Duration, Duration) {
    let (_server, _) = fresh(objects).await;
    // A new Cluster (cold discovery cache), as a new democtl process would have.
    let cluster = Cluster::from_client(_server.client().unwrap(), _server.url());
    let mut opts = ApplyOptions::new("stage3");
    opts.concurrency = concurrency;
    let t = Instant::now();
    apply(&cluster, objects, &opts, &|_| {}).await.unwrap();
    let first = t.elapsed();
    let t = Instant::now();
    apply(&cluster, objects, &opts, &|_| {}).await.unwrap();
    (first, t.elapsed())
}

async fn kubectl_round(objects: &[Value], dir: &Path) -> Option<(Duration, Duration)> {
    let (server, _) = fresh(objects).await;
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let manifest = dir.join("stage3.yaml");
    let text: String = objects
        .iter()
        .map(|o| serde_saphyr::to_string(o).unwrap())
        .collect::<Vec<_>>()
        .join("---\n");
    std::fs::write(&manifest, text).unwrap();
    let run = |manifest: PathBuf, kubeconfig: PathBuf| {
        let t = Instant::now();
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            // A fresh discovery cache per server, like democtl's per-run cache.
            .arg("--cache-dir")
            .arg(kubeconfig.with_extension("cache"))
            .args([
                "apply",
                "--server-side",
                "--force-conflicts",
                "--validate=false",
                "--field-manager",
                "kubectl-bench",
                "-f",
            ])
            .arg(&manifest)
            .output()
            .ok()?;
        if !out.status.success() {
            println!(
                "kubectl failed: {}",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            );
            return None;
        }
        Some(t.elapsed())
    };
    let (m, k) = (manifest.clone(), kubeconfig.clone());
    let first = tokio::task::spawn_blocking(move || run(m, k))
        .await
        .unwrap()?;
    let second = tokio::task::spawn_blocking(move || run(manifest, kubeconfig))
        .await
        .unwrap()?;
    Some((first, second))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn row(tool: &str, n: usize, first: Duration, second: Duration) {
    let rate = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "{tool:<28} {n:>7} {:>10.1} {:>10.0} {:>12.1} {:>10.0}",
        first.as_secs_f64() * 1000.0,
        rate(first),
        second.as_secs_f64() * 1000.0,
        rate(second)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let project = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let objects = render(&project);
    let n = objects.len();
    let dir = tempfile::tempdir().unwrap();
    let mut democtl = (Vec::new(), Vec::new());
    let mut kubectl = (Vec::new(), Vec::new());
    let have_kubectl = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok();
    for _ in 0..ROUNDS {
        let (a, b) = democtl_round(&objects, ApplyOptions::new("").concurrency).await;
        democtl.0.push(a);
        democtl.1.push(b);
        if have_kubectl && let Some((a, b)) = kubectl_round(&objects, dir.path()).await {
            kubectl.0.push(a);
            kubectl.1.push(b);
        }
    }
    println!("apply of `{OVERLAY}` ({n} objects) against the simulator, median of {ROUNDS} rounds");
    println!(
        "{:<28} {:>7} {:>10} {:>10} {:>12} {:>10}",
        "tool", "objects", "create ms", "objects/s", "re-apply ms", "objects/s"
    );
    row(
        &format!(
            "democtl apply (tiers, {}x)",
            ApplyOptions::new("").concurrency
        ),
        n,
        median(democtl.0.clone()),
        median(democtl.1.clone()),
    );
    if kubectl.0.is_empty() {
        println!("kubectl apply --server-side: not measured (kubectl missing or failed)");
        return;
    }
    row(
        "kubectl apply --server-side",
        n,
        median(kubectl.0.clone()),
        median(kubectl.1.clone()),
    );
    // The targets (#16): first apply ≤ 0.5× kubectl, no-op re-apply ≤ 0.3×.
    let ratio = |a: &[Duration], b: &[Duration]| {
        median(a.to_vec()).as_secs_f64() / median(b.to_vec()).as_secs_f64().max(1e-9)
    };
    println!(
        "ratio democtl/kubectl: first apply {:.2}x (target <= 0.5x), no-op re-apply {:.2}x (target <= 0.3x)",
        ratio(&democtl.0, &kubectl.0),
        ratio(&democtl.1, &kubectl.1)
    );
    concurrency_sweep(&objects).await;
}

/// democtl alone at several per-tier concurrencies (the default is chosen from this), rounds
/// interleaved so that a busy spell of the machine hits every setting alike.
async fn concurrency_sweep(objects: &[Value]) {
    const SETTINGS: [usize; 5] = [1, 2, 4, 5, 8];
    const SWEEP_ROUNDS: usize = 5;
    let mut times: Vec<(Vec<Duration>, Vec<Duration>)> =
        SETTINGS.iter().map(|_| (Vec::new(), Vec::new())).collect();
    for _ in 0..SWEEP_ROUNDS {
        for (i, c) in SETTINGS.iter().enumerate() {
            let (a, b) = democtl_round(objects, *c).await;
            times[i].0.push(a);
            times[i].1.push(b);
        }
    }
    println!("democtl per-tier concurrency, median of {SWEEP_ROUNDS} interleaved rounds");
    for (c, (first, second)) in SETTINGS.iter().zip(times) {
        row(
            &format!("democtl apply ({c}x)"),
            objects.len(),
            median(first),
            median(second),
        );
    }
}
