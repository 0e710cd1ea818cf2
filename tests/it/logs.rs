//! Real runs of the binary against the simulated API server (in this process, over HTTP):
//! deploy, its run log, resume after a failure, status, the lease and exit codes.
#![allow(clippy::unwrap_used)]

use democtl::runner::event::{Outcome, RunEventKind};
use democtl::sim::{ServerConfig, SimServer};

use crate::harness::Demo;

pub(crate) const STAGE: &str = "\
id: stage1
number: 1
slug: basics
title: Basics
overlay: gitops/overlays/stage1
expectedDuration: 1m
switches:
  - name: extras
    default: true
    description: Apply the extras
steps:
  - id: settings
    kind: apply
    title: Apply the settings
    narration: Settings first.
    with: { components: [settings] }
  - id: settings-ready
    kind: wait-ready
    title: Wait for the settings
    timeout: 30s
    with: { components: [settings] }
  - id: extras
    kind: apply
    title: Apply the extras
    switch: extras
    with: { components: [extras] }
";

const KUSTOMIZATION: &str = "\
resources:
  - namespace.yaml
  - settings.yaml
  - extras.yaml
";

const NAMESPACE: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    democtl.io/component: settings
";

const SETTINGS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
  labels:
    democtl.io/component: settings
data:
  greeting: hello
";

const EXTRAS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: extras
  namespace: demo
  labels:
    democtl.io/component: extras
data:
  more: yes please
";

/// A project with one stage of ConfigMaps, and a simulated API server with its kubeconfig.
pub(crate) async fn simulated() -> (Demo, SimServer, String) {
    let demo = Demo::empty()
        .file("stages/stage1.yaml", STAGE)
        .file("gitops/overlays/stage1/kustomization.yaml", KUSTOMIZATION)
        .file("gitops/overlays/stage1/namespace.yaml", NAMESPACE)
        .file("gitops/overlays/stage1/settings.yaml", SETTINGS)
        .file("gitops/overlays/stage1/extras.yaml", EXTRAS);
    let server = SimServer::start(ServerConfig::default()).await.unwrap();
    let kubeconfig = demo.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    (demo, server, kubeconfig.display().to_string())
}

fn finished(events: &[democtl::runner::event::RunEvent]) -> Vec<(String, &'static str)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::StepFinished { step, outcome, .. } => Some((step.clone(), word(outcome))),
            _ => None,
        })
        .collect()
}

fn word(outcome: &Outcome) -> &'static str {
    democtl::report::render::outcome_word(outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_writes_a_run_log_and_records_state() {
    let (demo, server, kubeconfig) = simulated().await;
    let run = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
    ]);
    run.expect_code(0);
    let events = demo.last_events();
    let RunEventKind::RunStarted(header) = &events[0].kind else {
        panic!("{:?}", events[0])
    };
    assert_eq!(header.format_version, 1);
    assert_eq!(
        header.cluster_server.as_deref(),
        Some(server.url().trim_end_matches('/'))
    );
    assert_eq!(header.user.as_deref(), Some("kube:admin"));
    assert_eq!(
        header.command_line[1..],
        [
            "--kubeconfig",
            &kubeconfig,
            "deploy",
            "stage1",
            "--no-extras"
        ]
    );
    assert!(matches!(
        events.last().unwrap().kind,
        RunEventKind::RunFinished(_)
    ));
    assert_eq!(
        finished(&events),
        [
            ("settings".to_owned(), "ok"),
            ("settings-ready".to_owned(), "ok"),
            ("extras".to_owned(), "skipped")
        ]
    );
    let applied: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::ObjectApplied { object, .. } => {
                Some(format!("{}/{}", object.kind, object.name))
            }
            _ => None,
        })
        .collect();
    assert!(
        applied.contains(&"ConfigMap/settings".to_owned()),
        "{applied:?}"
    );
    assert!(
        !applied.contains(&"ConfigMap/extras".to_owned()),
        "{applied:?}"
    );
    // The plain terminal output names each step and ends with the summary.
    assert!(
        run.stderr
            .contains("stage1/settings: ok: Apply the settings"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("done in"), "{}", run.stderr);
    // Recorded in the cluster: `status` sees it from any machine.
    let status = demo.run(&["--kubeconfig", &kubeconfig, "status", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        report["stages"][0]["state"], "deployed",
        "{}",
        status.stdout
    );
    assert_eq!(
        report["stages"][0]["completed_steps"],
        serde_json::json!(["settings", "settings-ready"])
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_steps_and_switches_are_usage_errors() {
    let (demo, server, kubeconfig) = simulated().await;
    let run = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "1",
        "--from",
        "setings",
    ]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: stage `stage1` has no step `setings`\n  hint: did you mean `settings`?\n"
    );
    let run = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "1",
        "--set-switch",
        "extra=false",
    ]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: unknown switch `extra`\n  hint: did you mean `extras`?\n"
    );
    let run = demo.run(&["--kubeconfig", &kubeconfig, "deploy", "stage9"]);
    run.expect_code(2);
    assert_eq!(
        run.stderr,
        "error: no stage `stage9`\n  hint: did you mean `stage1`?\n"
    );
    assert!(demo.logs().is_empty(), "nothing ran, nothing logged");
    server.shutdown().await.unwrap();
}

#[test]
fn an_unreachable_cluster_exits_three() {
    let demo = Demo::empty()
        .file("stages/stage1.yaml", STAGE)
        .file("gitops/overlays/stage1/kustomization.yaml", KUSTOMIZATION)
        .file("gitops/overlays/stage1/namespace.yaml", NAMESPACE)
        .file("gitops/overlays/stage1/settings.yaml", SETTINGS)
        .file("gitops/overlays/stage1/extras.yaml", EXTRAS)
        .file(
            "kubeconfig",
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: abcdefgh}\n",
        );
    let run = demo.run(&["--kubeconfig", "kubeconfig", "deploy", "1"]);
    run.expect_code(3);
    let run = demo.run(&["--kubeconfig", "kubeconfig", "status"]);
    run.expect_code(3);
}
