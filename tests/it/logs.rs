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
    assert!(
        run.stdout.contains("✓ stage1 deployed in"),
        "{}",
        run.stdout
    );
    // Results on stdout, progress on stderr (`deploy > out.txt` keeps the result).
    assert!(
        !run.stderr.contains("✓ stage1 deployed in"),
        "{}",
        run.stderr
    );
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
    // `-q`: the verdict only; the table: ages and health words (kstatus's in JSON).
    let quiet = demo.run(&["--kubeconfig", &kubeconfig, "-q", "status"]);
    quiet.expect_code(0);
    assert_eq!(quiet.stdout, "healthy\n");
    let table = demo.run(&["--kubeconfig", &kubeconfig, "status"]);
    assert!(table.stdout.contains("just now"), "{}", table.stdout);
    assert!(table.stdout.contains("Healthy"), "{}", table.stdout);
    assert!(!table.stdout.contains("Current"), "{}", table.stdout);
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

const APP: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: demo
  labels:
    democtl.io/component: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: registry.example/app:1
";

/// `STAGE` plus a Deployment nobody makes ready (no controllers run): its wait times out.
pub(crate) async fn failing() -> (Demo, SimServer, String) {
    let (demo, server, kubeconfig) = simulated().await;
    let stage = STAGE.replace(
        "  - id: extras\n",
        "  - id: app\n    kind: apply\n    title: Apply the app\n    with: { components: [app] }\n  - id: wait-app\n    kind: wait-ready\n    title: Wait for the app\n    timeout: 2s\n    with: { components: [app] }\n  - id: extras\n",
    );
    let demo = demo
        .file("stages/stage1.yaml", &stage)
        .file(
            "gitops/overlays/stage1/kustomization.yaml",
            &format!("{KUSTOMIZATION}  - app.yaml\n"),
        )
        .file("gitops/overlays/stage1/app.yaml", APP);
    (demo, server, kubeconfig)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_prints_the_resume_command_and_resume_skips_completed_steps() {
    let (demo, server, kubeconfig) = failing().await;
    let run = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
    ]);
    run.expect_code(1);
    let resume = format!(
        "to resume: democtl --kubeconfig {kubeconfig} deploy stage1 --from wait-app --no-extras"
    );
    assert!(run.stderr.contains(&resume), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("caused by: timed out waiting for `Deployment/app` in `demo`"),
        "{}",
        run.stderr
    );
    let events = demo.last_events();
    assert_eq!(
        finished(&events),
        [
            ("settings".to_owned(), "ok"),
            ("settings-ready".to_owned(), "ok"),
            ("app".to_owned(), "ok"),
            ("wait-app".to_owned(), "failed"),
            ("extras".to_owned(), "skipped"),
        ]
    );
    // `--resume` skips what the failed run completed, from the state recorded in the cluster.
    let run = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
        "--resume",
    ]);
    run.expect_code(1);
    let events = demo.last_events();
    let planned: Vec<(String, String)> = events
        .iter()
        .find_map(|e| match &e.kind {
            RunEventKind::StageStarted { steps, .. } => Some(
                steps
                    .iter()
                    .map(|s| (s.id.clone(), s.disposition.clone()))
                    .collect(),
            ),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        planned,
        [
            (
                "settings".to_owned(),
                "skipped: done in an earlier run (--resume)".to_owned()
            ),
            (
                "settings-ready".to_owned(),
                "skipped: done in an earlier run (--resume)".to_owned()
            ),
            (
                "app".to_owned(),
                "skipped: done in an earlier run (--resume)".to_owned()
            ),
            ("wait-app".to_owned(), "run".to_owned()),
            ("extras".to_owned(), "skipped: --no-extras".to_owned()),
        ]
    );
    // `logs --last` tells the same story from the log.
    let logs = demo.run(&["logs", "--last"]);
    logs.expect_code(0);
    assert!(
        logs.stdout.contains("stage1/wait-app: failed"),
        "{}",
        logs.stdout
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lease_stops_a_second_run_and_names_its_holder() {
    let (demo, server, kubeconfig) = simulated().await;
    let cluster = democtl::cluster::Cluster::from_client(server.client().unwrap(), server.url());
    demo.run(&["--kubeconfig", &kubeconfig, "deploy", "stage1"])
        .expect_code(0);
    let guard = democtl::cluster::lease::acquire(&cluster, "alice@laptop pid 42", "deploy stage2")
        .await
        .unwrap();
    let run = demo.run(&["--kubeconfig", &kubeconfig, "deploy", "stage1"]);
    run.expect_code(1);
    assert!(run.stderr.contains("alice@laptop pid 42"), "{}", run.stderr);
    assert!(
        run.stderr.contains("wait for the other run to finish"),
        "{}",
        run.stderr
    );
    let run = demo.run(&["--kubeconfig", &kubeconfig, "teardown", "--all", "--yes"]);
    run.expect_code(1);
    assert!(run.stderr.contains("alice@laptop pid 42"), "{}", run.stderr);
    // A dry run takes no lock.
    demo.run(&["--kubeconfig", &kubeconfig, "deploy", "stage1", "--dry-run"])
        .expect_code(0);
    guard.release(&cluster).await.unwrap();
    demo.run(&["--kubeconfig", &kubeconfig, "deploy", "stage1"])
        .expect_code(0);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_asks_shows_and_removes() {
    let (demo, server, kubeconfig) = simulated().await;
    demo.run(&["--kubeconfig", &kubeconfig, "deploy", "stage1"])
        .expect_code(0);
    let status = demo.run(&["--kubeconfig", &kubeconfig, "status"]);
    status.expect_code(0);
    assert!(status.stdout.contains("healthy"), "{}", status.stdout);
    let dry = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "teardown",
        "--stage",
        "1",
        "--dry-run",
    ]);
    dry.expect_code(0);
    assert!(
        dry.stdout.contains("delete   ConfigMap/demo/settings"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("delete   ConfigMap/demo/extras"),
        "{}",
        dry.stdout
    );
    // Issue #13: the plan names the cluster and user, ends with one total line, and is data
    // with `-o json` (only with --dry-run).
    assert!(dry.stdout.starts_with("teardown on http"), "{}", dry.stdout);
    assert!(
        dry.stdout.lines().last().unwrap().starts_with("delete ")
            && dry.stdout.contains(", in demo"),
        "{}",
        dry.stdout
    );
    let json = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "teardown",
        "--stage",
        "1",
        "--dry-run",
        "-o",
        "json",
    ]);
    json.expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan["stages"][0]["stage"], "stage1");
    assert!(plan["delete"].as_u64().unwrap() >= 2, "{plan}");
    assert!(
        plan["stages"][0]["delete"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "settings" && k["kind"] == "ConfigMap"),
        "{plan}"
    );
    assert!(
        plan["user"].is_string() && plan["cluster"].is_string(),
        "{plan}"
    );
    demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "teardown",
        "--all",
        "-o",
        "json",
    ])
    .expect_code(2);

    let unconfirmed = demo.run(&["--kubeconfig", &kubeconfig, "teardown", "--all"]);
    unconfirmed.expect_code(2);
    assert!(
        unconfirmed
            .stderr
            .contains("error: teardown needs confirmation"),
        "{}",
        unconfirmed.stderr
    );
    assert!(
        unconfirmed.stderr.contains("teardown on http")
            && unconfirmed.stderr.contains("  delete   demo: ")
            && unconfirmed.stderr.contains("ConfigMap ×"),
        "the confirmation counts objects per namespace and kind: {}",
        unconfirmed.stderr
    );
    // Answering `n` at the prompt (on a terminal: `script` gives the run a pty) removes
    // nothing and exits 6.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok()
    {
        let mut cmd = demo.command_in(demo.path(), "script");
        let line = format!(
            "{} --kubeconfig {kubeconfig} teardown --all",
            assert_cmd::cargo::cargo_bin("democtl").display()
        );
        cmd.args(["-qec", &line, "/dev/null"]);
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"n\n").unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(6), "{text}");
        assert!(
            text.contains("remove all of this? [y/N]") && text.contains("nothing removed"),
            "{text}"
        );
        let status = demo.run(&["--kubeconfig", &kubeconfig, "status"]);
        status.expect_code(0);
    }
    demo.run(&["--kubeconfig", &kubeconfig, "teardown", "--all", "--yes"])
        .expect_code(0);
    let status = demo.run(&["--kubeconfig", &kubeconfig, "status"]);
    status.expect_code(5);
    let again = demo.run(&["--kubeconfig", &kubeconfig, "teardown", "--all", "--yes"]);
    again.expect_code(0);
    assert!(
        again.stdout.contains("nothing to remove"),
        "{}",
        again.stdout
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_shows_steps_and_switches_offline() {
    let (demo, server, _) = simulated().await;
    server.shutdown().await.unwrap();
    let run = demo.run(&["plan", "1", "--no-extras"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "\
plan: deploy stage1 · Basics (expected 1m)
switches: extras=off

▸ stage1 · Basics — 3 objects, expected 1m
  #  STEP            KIND        TIMEOUT  RUNS                  WHAT
  1  settings        apply       -        run                   2 objects of settings
  2  settings-ready  wait-ready  30s      run                   ready: 2 objects of settings
  3  extras          apply       -        skipped: --no-extras  1 object of extras
"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_logs_print_data_with_output_json_or_yaml() {
    let (demo, server, kubeconfig) = simulated().await;
    let run = demo.run(&["plan", "1", "--no-extras", "-o", "json"]);
    run.expect_code(0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["stage"], "stage1");
    assert_eq!(plan["switches"]["extras"], false);
    assert_eq!(plan["stages"][0]["objects"], 3);
    let steps = &plan["stages"][0]["steps"];
    assert_eq!(steps[1]["id"], "settings-ready");
    assert_eq!(steps[1]["timeout_seconds"], 30);
    assert_eq!(steps[2]["runs"], "skipped: --no-extras");
    let run = demo.run(&["plan", "1", "-o", "yaml"]);
    run.expect_code(0);
    assert!(run.stdout.contains("stage: stage1"), "{}", run.stdout);

    demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
    ])
    .expect_code(0);
    let run = demo.run(&["logs", "-o", "json"]);
    run.expect_code(0);
    let runs: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{}", run.stdout);
    assert_eq!(runs[0]["result"], "ok", "{}", run.stdout);
    assert!(
        runs[0]["command"]
            .as_str()
            .unwrap()
            .ends_with("deploy stage1 --no-extras")
    );
    let run = demo.run(&["logs", "--last", "-o", "json"]);
    run.expect_code(0);
    let one: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(one["finished"], true);
    // The events as the log holds them: the same count as its lines.
    assert_eq!(
        one["events"].as_array().unwrap().len(),
        demo.last_events().len()
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_at_vv_carry_no_colour_codes_into_a_pipe() {
    let (demo, server, kubeconfig) = simulated().await;
    // NO_COLOR unset (the harness sets it): only "stderr is a pipe" keeps colours out.
    let demo = demo.env("NO_COLOR", "");
    let run = demo.run(&["-vv", "--kubeconfig", &kubeconfig, "status"]);
    assert!(run.stderr.contains("DEBUG"), "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_run_left_in_progress_without_the_lock_as_interrupted() {
    let (demo, server, kubeconfig) = simulated().await;
    demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
    ])
    .expect_code(0);
    // What a killed run leaves: its record in progress, the lock free (released or expired).
    let records: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(server.client().unwrap(), "democtl");
    let patch = serde_json::json!({"data": {"status": "in-progress"}});
    records
        .patch(
            "democtl-stage-stage1",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let run = demo.run(&["--kubeconfig", &kubeconfig, "status"]);
    assert!(run.stdout.contains("interrupted"), "{}", run.stdout);
    // The run's own flags: every step it ran is done, so the same deploy again.
    let resume = format!("democtl --kubeconfig {kubeconfig} deploy stage1 --no-extras");
    assert!(
        run.stdout.contains(&format!("; to resume: {resume}\n")),
        "{}",
        run.stdout
    );
    let run = demo.run(&["--kubeconfig", &kubeconfig, "status", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let stage = &report["stages"][0];
    assert_eq!(stage["stage"], "stage1");
    assert_eq!(stage["state"], "in-progress");
    assert_eq!(stage["interrupted"], true);
    assert_eq!(stage["resume"], resume.as_str());
    server.shutdown().await.unwrap();
}

/// Issue #13: `status` after an interrupted run printed `democtl deploy stage1`, without the
/// run's `--from <step>` and switch flags. A run stopped at `wait-app` (what a killed run
/// leaves: the record in progress at that step, the lock free) resumes there, with its flags,
/// exactly as the deploy's own `to resume:` line says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_resumes_an_interrupted_run_at_its_step_with_its_flags() {
    let (demo, server, kubeconfig) = failing().await;
    let run = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
    ]);
    run.expect_code(1);
    let resume =
        format!("democtl --kubeconfig {kubeconfig} deploy stage1 --from wait-app --no-extras");
    assert!(
        run.stderr.contains(&format!("to resume: {resume}\n")),
        "{}",
        run.stderr
    );
    // The record stopped at `wait-app`; left in progress, as a kill leaves it.
    let records: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(server.client().unwrap(), "democtl");
    let patch = serde_json::json!({"data": {"status": "in-progress"}});
    records
        .patch(
            "democtl-stage-stage1",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let run = demo.run(&["--kubeconfig", &kubeconfig, "status"]);
    assert!(
        run.stdout.contains(&format!("; to resume: {resume}\n")),
        "{}",
        run.stdout
    );
    let run = demo.run(&["--kubeconfig", &kubeconfig, "status", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["stages"][0]["interrupted"], true);
    assert_eq!(report["stages"][0]["resume"], resume.as_str());
    server.shutdown().await.unwrap();
}

/// Issue #13: a degraded run printed no next step. An optional step that fails degrades the
/// run; the last line resumes at it, with the run's flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_degraded_run_ends_with_the_command_that_resumes_at_the_degraded_step() {
    let (demo, server, kubeconfig) = failing().await;
    let path = demo.path().join("stages/stage1.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let optional = text.replacen(
        "    timeout: 2s\n",
        "    timeout: 2s\n    optional: true\n",
        1,
    );
    assert_ne!(optional, text);
    std::fs::write(&path, optional).unwrap();
    let run = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
    ]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("stage1 deployed with problems"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr.lines().last(),
        Some(
            format!(
                "to resume: democtl --kubeconfig {kubeconfig} deploy stage1 --from wait-app --no-extras"
            )
            .as_str()
        ),
        "{}",
        run.stderr
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_plays_the_recorded_run_in_order_marked_as_a_replay() {
    let (demo, server, kubeconfig) = simulated().await;
    let live = demo.run(&[
        "--kubeconfig",
        &kubeconfig,
        "deploy",
        "stage1",
        "--no-extras",
    ]);
    live.expect_code(0);
    server.shutdown().await.unwrap();
    // No cluster needed: the run log is the record.
    let replay = demo.run(&["replay", "--last", "--speed", "20"]);
    replay.expect_code(0);
    let lines: Vec<&str> = replay.stderr.lines().collect();
    assert!(
        lines[0].starts_with("▶ REPLAY — recorded run ") && lines[0].ends_with("20× speed"),
        "{}",
        replay.stderr
    );
    assert_eq!(
        lines.last().copied(),
        Some("▶ end of replay (recorded run, not a live cluster)")
    );
    // The whole body between the banner and the end line is what the live run printed, line
    // for line: a replay that dropped or reordered events would differ.
    let live_lines: Vec<&str> = live.stderr.lines().collect();
    assert_eq!(
        &lines[1..lines.len() - 1],
        &live_lines[..],
        "the replay is not the live run's output:\n--- replay:\n{}\n--- live:\n{}",
        replay.stderr,
        live.stderr
    );
    // The same verdict (the live run then names its run log and report; a replay has none).
    assert_eq!(
        replay.stdout.lines().next(),
        live.stdout.lines().next(),
        "the replay's verdict differs"
    );
    assert!(lines.len() > 5, "{}", replay.stderr);
    assert!(
        replay.stdout.contains("✓ stage1 deployed in"),
        "{}",
        replay.stdout
    );
    // Bad input: a clear error, exit 2.
    let run = demo.run(&["replay", "--last", "--speed", "0"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("finite number above 0"),
        "{}",
        run.stderr
    );
    let run = demo.run(&["replay", "nope"]);
    run.expect_code(2);
    assert!(run.stderr.contains("no run `nope`"), "{}", run.stderr);
}
