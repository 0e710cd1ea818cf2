//! `democtl status` and readiness reaction time against the simulator (issue #16's last two
//! targets):
//!
//! - **status**: stage 3's render applied into a fresh simulated API server (HTTPS, in this
//!   process) with its state record, then `democtl --kubeconfig … status -o json` run as a
//!   process (start, kubeconfig, discovery, every list) — median of [`STATUS_RUNS`]; and
//!   `cluster::status::collect` alone on a new `Cluster` (cold discovery), for the split.
//! - **readiness reaction**: a Deployment waited for with `wait_ready` (the watch the wait
//!   steps use); the bench writes its ready status and measures from just before that write to
//!   the wait's return — p50/p95 of [`REACTIONS`].
//!
//! Run: `cargo bench --bench status`.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use democtl::cluster::apply::{ApplyOptions, apply};
use democtl::cluster::state::{self, StageStatus};
use democtl::cluster::{Cluster, ObjectKey, status};
use democtl::sim::{ServerConfig, SimClock, SimServer};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

#[path = "apply.rs"]
#[allow(dead_code)]
mod apply_bench;

const STATUS_RUNS: usize = 15;
const REACTIONS: usize = 40;

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn server() -> SimServer {
    SimServer::start(ServerConfig {
        tls: true,
        clock: SimClock::new(1000.0),
        crd_establish_delay: Duration::from_millis(100),
        ..ServerConfig::default()
    })
    .await
    .unwrap()
}

async fn status_bench(project: &Path) {
    let objects = apply_bench::render(project);
    let server = server().await;
    let cluster = Cluster::from_client(server.client().unwrap(), server.url());
    apply_bench::install_crds(&cluster, &objects).await;
    state::stage_started(&cluster, "stage3", "run-bench", None)
        .await
        .unwrap();
    apply(&cluster, &objects, &ApplyOptions::new("stage3"), &|_| {})
        .await
        .unwrap();
    state::stage_finished(&cluster, "stage3", StageStatus::Deployed)
        .await
        .unwrap();
    let stages: Vec<String> = ["stage1", "stage2", "stage3"].map(String::from).to_vec();

    let mut collect = Vec::new();
    for _ in 0..STATUS_RUNS {
        let fresh = Cluster::from_client(server.client().unwrap(), server.url());
        let t = Instant::now();
        let report = status::collect(&fresh, &stages).await.unwrap();
        collect.push(t.elapsed());
        assert_eq!(report.stages.len(), 3);
    }

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_democtl"));
    let mut process = Vec::new();
    for _ in 0..STATUS_RUNS {
        let (bin, kubeconfig, project) = (bin.clone(), kubeconfig.clone(), project.to_path_buf());
        let took = tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let out = Command::new(&bin)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["status", "-o", "json"])
                .current_dir(&project)
                .env("HOME", project.join("target"))
                .output()
                .unwrap();
            let took = t.elapsed();
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 4 | 5)),
                "status failed ({code:?}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
        .await
        .unwrap();
        process.push(took);
    }
    println!(
        "status of 3 stages ({} objects in stage 3's record), {STATUS_RUNS} runs",
        objects.len()
    );
    println!(
        "  `democtl --kubeconfig … status -o json` (a process): median {:.1} ms (target < 100 ms)",
        ms(percentile(process, 0.5))
    );
    println!(
        "  status::collect on a new Cluster:                    median {:.1} ms",
        ms(percentile(collect, 0.5))
    );
}

async fn reaction_bench() {
    let server = server().await;
    let cluster = Cluster::from_client(server.client().unwrap(), server.url());
    let r = cluster.resolve("v1", "Namespace").await.unwrap().unwrap();
    cluster
        .api(&r.resource, None)
        .patch(
            "bench",
            &PatchParams::apply("bench"),
            &Patch::Apply(
                &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}),
            ),
        )
        .await
        .unwrap();
    let d = cluster
        .resolve("apps/v1", "Deployment")
        .await
        .unwrap()
        .unwrap();
    let api = cluster.api(&d.resource, Some("bench"));
    let mut reactions = Vec::new();
    for i in 0..REACTIONS {
        let name = format!("d{i}");
        let deployment: Value = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "bench"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]}}}
        });
        api.create(
            &PostParams::default(),
            &serde_json::from_value(deployment).unwrap(),
        )
        .await
        .unwrap();
        let key = ObjectKey::new("apps/v1", "Deployment", Some("bench"), name.clone());
        let wait = async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            cluster.wait_ready(&[key], deadline, &|_| {}).await.unwrap();
            Instant::now()
        };
        let write = async {
            // Let the wait's watch start and see the not-ready object first (a bench, not a
            // step: a fixed pause is fine here).
            tokio::time::sleep(Duration::from_millis(150)).await;
            let status = json!({"status": {
            "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
            "availableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.",
                 "lastTransitionTime": "2026-01-01T00:00:00Z", "lastUpdateTime": "2026-01-01T00:00:00Z"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": "ReplicaSet has successfully progressed.",
                 "lastTransitionTime": "2026-01-01T00:00:00Z", "lastUpdateTime": "2026-01-01T00:00:00Z"}
            ]}});
            let written = Instant::now();
            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                .await
                .unwrap();
            written
        };
        let (seen, written) = tokio::join!(wait, write);
        reactions.push(seen.saturating_duration_since(written));
    }
    println!(
        "readiness reaction (ready status written → wait_ready returns), {REACTIONS} Deployments: p50 {:.1} ms, p95 {:.1} ms (target p95 < 200 ms)",
        ms(percentile(reactions.clone(), 0.5)),
        ms(percentile(reactions, 0.95))
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let project = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    status_bench(&project).await;
    reaction_bench().await;
}
