//! Signals and the cluster lock, through the real binary against a simulated cluster in its own
//! process (`sim serve --ephemeral`, so a test can stop it): SIGTERM and SIGHUP during a deploy,
//! SIGTERM during a teardown, a double Ctrl-C while the cluster hangs, a holder killed with SIGKILL, and a deploy stopped (SIGSTOP)
//! for longer than its Lease while a second deploy takes it.
//!
//! The project is one stage whose `server-ready` step waits for a Deployment the scenario takes
//! 20 simulated (= real) seconds to start: signals land while that step runs.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;

use super::harness::{Demo, Run};

const STAGE: &str = "\
id: stage1
number: 1
slug: basics
title: Basics
overlay: gitops/overlays/stage1
expectedDuration: 1m
steps:
  - id: settings
    kind: apply
    title: Apply the settings
    with: { components: [settings] }
  - id: server
    kind: apply
    title: Apply the slow server
    with: { components: [server] }
  - id: server-ready
    kind: wait-ready
    title: Wait for the slow server
    timeout: 10m
    with: { components: [server] }
  - id: extras
    kind: apply
    title: Apply the extras
    with: { components: [extras] }
";

const OBJECTS: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    democtl.io/component: settings
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
  labels:
    democtl.io/component: settings
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: server
  namespace: demo
  labels:
    democtl.io/component: server
spec:
  replicas: 1
  selector:
    matchLabels: { app: server }
  template:
    metadata:
      labels: { app: server }
    spec:
      containers:
        - name: server
          image: registry.example.com/server:1
---
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

/// Pods take 20 s to pull their image: long enough to signal a deploy in `server-ready`.
const SCENARIO: &str = "\
name: slow-pods
extends: healthy
delays: { image_pull: 20, pod_ready: 1 }
";

/// How long any awaited condition may take before the test gives up (a loaded machine).
const PATIENCE: Duration = Duration::from_secs(180);

const WAITING: &str = "stage1/server-ready: Wait for the slow server";

fn project() -> Demo {
    Demo::empty()
        .file("stages/stage1.yaml", STAGE)
        .file(
            "gitops/overlays/stage1/kustomization.yaml",
            "resources:\n  - objects.yaml\n",
        )
        .file("gitops/overlays/stage1/objects.yaml", OBJECTS)
}

/// A throwaway simulated cluster in a child process (continued and interrupted on drop).
struct Sim {
    child: Child,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    rt: tokio::runtime::Runtime,
}

impl Sim {
    fn start() -> Sim {
        Sim::start_with(SCENARIO)
    }

    fn start_with(scenario_text: &str) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("scenario.yaml");
        std::fs::write(&scenario, scenario_text).unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let child = Command::new(assert_cmd::cargo::cargo_bin("democtl"))
            .current_dir(dir.path())
            .args(["sim", "serve", "--ephemeral", "--scenario"])
            .arg(&scenario)
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .env_remove("KUBECONFIG")
            .env_remove("DEMOCTL_PROJECT_DIR")
            .env("NO_COLOR", "1")
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let sim = Sim {
            child,
            _dir: dir,
            kubeconfig,
            rt,
        };
        wait_until("the simulated cluster to answer", || {
            sim.kubeconfig.exists()
                && sim.rt.block_on(async {
                    let Ok(client) = sim.try_client().await else {
                        return false;
                    };
                    let ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
                    ns.get_opt("default").await.is_ok_and(|n| n.is_some())
                })
        });
        sim
    }

    fn kubeconfig(&self) -> String {
        self.kubeconfig.display().to_string()
    }

    async fn try_client(&self) -> Result<kube::Client, Box<dyn std::error::Error>> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
        Ok(kube::Client::try_from(config)?)
    }

    fn lease(&self) -> Option<Lease> {
        self.rt.block_on(async {
            let api: Api<Lease> = Api::namespaced(self.try_client().await.unwrap(), "democtl");
            api.get_opt("democtl-lock").await.unwrap()
        })
    }

    fn holder(&self) -> Option<String> {
        self.lease()
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity)
    }

    /// The stage's state record: `data.status`.
    fn stage_status(&self) -> Option<String> {
        self.rt.block_on(async {
            let api: Api<ConfigMap> = Api::namespaced(self.try_client().await.unwrap(), "democtl");
            api.get_opt("democtl-stage-stage1")
                .await
                .unwrap()
                .and_then(|cm| cm.data)
                .and_then(|d| d.get("status").cloned())
        })
    }

    fn signal(&self, signal: &str) {
        send(self.child.id(), signal);
    }

    /// Sets the finalizers of ConfigMap `name` in namespace `demo` (as another controller would).
    fn set_finalizers(&self, name: &str, finalizers: &[&str]) {
        self.rt.block_on(async {
            let api: Api<ConfigMap> = Api::namespaced(self.try_client().await.unwrap(), "demo");
            let patch = serde_json::json!({"metadata": {"finalizers": finalizers}});
            api.patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .unwrap();
        });
    }

    /// Whether ConfigMap `name` in namespace `demo` is being deleted.
    fn deleting(&self, name: &str) -> bool {
        self.rt.block_on(async {
            let api: Api<ConfigMap> = Api::namespaced(self.try_client().await.unwrap(), "demo");
            api.get_opt(name)
                .await
                .ok()
                .flatten()
                .is_some_and(|c| c.metadata.deletion_timestamp.is_some())
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        send(self.child.id(), "CONT");
        send(self.child.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `democtl` run in the background, its output collected as it comes.
struct Background {
    child: Option<Child>,
    pid: u32,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Background {
    fn spawn(demo: &Demo, env: &[(&str, &str)], args: &[&str]) -> Background {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("democtl"));
        cmd.current_dir(demo.path())
            .args(args)
            .env_remove("KUBECONFIG")
            .env_remove("DEMOCTL_PROJECT_DIR")
            .env_remove("HF_TOKEN")
            .env("NO_COLOR", "1")
            .env("HOME", demo.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Background {
            pid: child.id(),
            child: Some(child),
            stdout,
            stderr,
            readers,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_for(&self, text: &str) {
        wait_until(&format!("`{text}` on stderr"), || {
            self.stderr().contains(text)
        });
    }

    fn signal(&self, signal: &str) {
        send(self.pid, signal);
    }

    /// Waits for the exit; what it printed.
    fn finish(mut self) -> Run {
        let status = self.child.take().unwrap().wait().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let code = status.code().unwrap_or(-1);
        Run {
            code,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            send(self.pid, "CONT");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn collect(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

fn send(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn deploy_args(sim: &Sim) -> Vec<String> {
    ["--kubeconfig", &sim.kubeconfig(), "-y", "deploy", "stage1"]
        .map(String::from)
        .to_vec()
}

fn spawn_deploy(demo: &Demo, sim: &Sim, env: &[(&str, &str)]) -> Background {
    let args = deploy_args(sim);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Background::spawn(demo, env, &refs)
}

fn deploy(demo: &Demo, sim: &Sim) -> Run {
    let args = deploy_args(sim);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    demo.run(&refs)
}

fn pid_of(holder: &str) -> Option<u32> {
    holder
        .rsplit_once(" pid ")
        .and_then(|(_, p)| p.parse().ok())
}

fn process_state(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().next().map(str::to_string)
}

fn events_of(path: &Path) -> Vec<democtl::runner::event::RunEvent> {
    democtl::report::replay::RunLog::read(path).unwrap().events
}

/// The newest run log records the interruption (at `step`, when given).
fn assert_interrupt_recorded(demo: &Demo, step: Option<&str>) {
    let log = demo.logs().pop().unwrap();
    assert!(
        events_of(&log).iter().any(|e| matches!(
            &e.kind,
            democtl::runner::event::RunEventKind::RunInterrupted { step: at, .. }
                if step.is_none() || at.as_deref() == step
        )),
        "no interrupt{} in {}",
        step.map(|s| format!(" at {s}")).unwrap_or_default(),
        log.display()
    );
}

#[test]
fn sigterm_during_a_deploy_stops_it_cleanly_with_143() {
    let demo = project();
    let sim = Sim::start();
    let first = spawn_deploy(&demo, &sim, &[]);
    first.wait_for(WAITING);

    // While it runs, a second deploy is refused: who, what, since when, and when it expires.
    let refused = deploy(&demo, &sim);
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    for want in [
        "another democtl run holds the cluster lock (`".to_string(),
        format!(" pid {}` running `deploy stage1` since ", first.pid),
        "; it expires in ".to_string(),
        ", unless its holder renews it".to_string(),
    ] {
        assert!(refused.stderr.contains(&want), "{want}\n{}", refused.stderr);
    }
    let at = refused
        .stderr
        .split(", at ")
        .nth(1)
        .map(|rest| rest.chars().take(8).collect::<String>())
        .unwrap_or_default();
    assert!(
        at.len() == 8 && at.chars().filter(|c| *c == ':').count() == 2,
        "no HH:MM:SS in {}",
        refused.stderr
    );

    first.signal("TERM");
    let run = first.finish();
    run.expect_code(143);
    assert!(
        run.stderr
            .contains("SIGTERM: stopping at a safe point (SIGTERM again to stop at once)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("stage1/server-ready: interrupted"),
        "{}",
        run.stderr
    );
    // The interrupt record: the run log says interrupted, the stage record in progress.
    assert_interrupt_recorded(&demo, Some("server-ready"));
    assert_eq!(sim.stage_status().as_deref(), Some("in-progress"));
    assert_eq!(
        sim.lease().map(|l| l.spec),
        None,
        "the Lease is still there"
    );
    let status = demo.run(&["--kubeconfig", &sim.kubeconfig(), "status"]);
    assert!(status.stdout.contains("interrupted"), "{}", status.stdout);

    // The re-run is not refused and converges.
    let rerun = deploy(&demo, &sim);
    rerun.expect_code(0);
    assert!(!rerun.stderr.contains("took over"), "{}", rerun.stderr);
    assert_eq!(sim.stage_status().as_deref(), Some("deployed"));
    assert_eq!(sim.lease().map(|l| l.spec), None);
}

/// SIGHUP (the terminal closed, an ssh session dropped) stops a deploy like SIGTERM: 129, the
/// interrupt recorded, no Lease left.
#[test]
fn sighup_during_a_deploy_stops_it_cleanly_with_129() {
    let demo = project();
    let sim = Sim::start();
    let first = spawn_deploy(&demo, &sim, &[]);
    first.wait_for(WAITING);
    first.signal("HUP");
    let run = first.finish();
    run.expect_code(129);
    assert!(
        run.stderr.contains("stage1/server-ready: interrupted"),
        "{}",
        run.stderr
    );
    assert_interrupt_recorded(&demo, None);
    assert_eq!(sim.stage_status().as_deref(), Some("in-progress"));
    assert_eq!(
        sim.lease().map(|l| l.spec),
        None,
        "the Lease is still there"
    );
}

/// SIGTERM during a teardown that waits for a deletion (an object held by a finalizer): 143,
/// the interrupt recorded, no Lease left; once the finalizer is gone the re-run converges.
#[test]
fn sigterm_during_a_teardown_stops_it_cleanly_and_the_rerun_converges() {
    let demo = project();
    let sim = Sim::start();
    deploy(&demo, &sim).expect_code(0);
    sim.set_finalizers("extras", &["example.com/hold"]);
    let args = [
        "--kubeconfig",
        &sim.kubeconfig(),
        "-y",
        "teardown",
        "--stage",
        "1",
    ];
    let teardown = Background::spawn(&demo, &[], &args);
    wait_until("the teardown to delete ConfigMap extras", || {
        sim.deleting("extras")
    });
    // Still held by the finalizer: the teardown is waiting for it.
    std::thread::sleep(Duration::from_millis(500));
    teardown.signal("TERM");
    let run = teardown.finish();
    run.expect_code(143);
    assert!(run.stderr.contains("SIGTERM"), "{}", run.stderr);
    assert_interrupt_recorded(&demo, None);
    assert_eq!(
        sim.lease().map(|l| l.spec),
        None,
        "the Lease is still there"
    );

    sim.set_finalizers("extras", &[]);
    demo.run(&args).expect_code(0);
    assert_eq!(sim.stage_status(), None, "the stage record is gone");
    assert_eq!(sim.lease().map(|l| l.spec), None);
}

#[test]
fn a_second_ctrl_c_releases_the_lease_and_exits_130_while_the_cluster_hangs() {
    let demo = project();
    let sim = Sim::start();
    let first = spawn_deploy(&demo, &sim, &[]);
    first.wait_for(WAITING);

    // The cluster hangs: the first Ctrl-C's wind-down (recording the interrupt) cannot finish.
    sim.signal("STOP");
    first.signal("INT");
    first.wait_for("Ctrl-C: stopping at a safe point (Ctrl-C again to stop at once)");
    first.signal("INT");
    first.wait_for("Ctrl-C: stopping at once, releasing the cluster lock first");
    // The cluster comes back within the release's bounded wait.
    sim.signal("CONT");
    let run = first.finish();
    run.expect_code(130);
    assert!(
        !run.stderr.contains("warning: could not release"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sim.lease().map(|l| l.spec),
        None,
        "the Lease is still there"
    );

    // The immediate re-run is not refused (nor needs to take anything over) and converges.
    let rerun = deploy(&demo, &sim);
    rerun.expect_code(0);
    assert!(
        !rerun.stderr.contains("holds the cluster lock"),
        "{}",
        rerun.stderr
    );
    assert!(!rerun.stderr.contains("took over"), "{}", rerun.stderr);
    assert_eq!(sim.stage_status().as_deref(), Some("deployed"));
}

#[test]
fn a_lease_held_by_a_dead_process_of_this_user_and_host_is_taken_over_at_once() {
    let demo = project();
    let sim = Sim::start();
    // A Lease that would stay valid for ten minutes: only the holder's death frees it.
    let env = [("DEMOCTL_LEASE_SECONDS", "600")];
    let first = spawn_deploy(&demo, &sim, &env);
    first.wait_for(WAITING);
    let holder = sim.holder().unwrap();
    assert_eq!(pid_of(&holder), Some(first.pid), "{holder}");
    first.signal("KILL");
    // Not reaped: a zombie (as under a container's PID 1 that never reaps) has ended too.
    wait_until("the killed deploy to be a zombie", || {
        process_state(first.pid).as_deref() == Some("Z")
    });

    let demo = demo.env("DEMOCTL_LEASE_SECONDS", "600");
    let rerun = deploy(&demo, &sim);
    rerun.expect_code(0);
    assert!(
        rerun.stderr.contains(&format!(
            "took over the cluster lock from `{holder}` (`deploy stage1` since "
        )) && rerun.stderr.contains("): that process has ended"),
        "{}",
        rerun.stderr
    );
    assert_eq!(sim.stage_status().as_deref(), Some("deployed"));
    assert_eq!(sim.lease().map(|l| l.spec), None);
    drop(first.finish());
}

#[test]
fn a_deploy_stopped_past_its_lease_stops_before_its_next_write_when_another_took_it() {
    let demo = project();
    let sim = Sim::start();
    let env = [("DEMOCTL_LEASE_SECONDS", "2")];
    let first = spawn_deploy(&demo, &sim, &env);
    first.wait_for(WAITING);
    first.signal("STOP");
    // Its Lease expires unrenewed (by the Lease's own times)…
    wait_until("the stopped deploy's Lease to expire", || {
        let Some(spec) = sim.lease().and_then(|l| l.spec) else {
            return true;
        };
        let renewed = spec.renew_time.map(|t| t.0).unwrap();
        let expiry = renewed
            .checked_add(jiff::SignedDuration::from_secs(i64::from(
                spec.lease_duration_seconds.unwrap(),
            )))
            .unwrap();
        expiry < jiff::Timestamp::now()
    });
    // …a second deploy takes it and runs…
    let second = spawn_deploy(&demo, &sim, &env);
    wait_until("the second deploy to hold the Lease", || {
        sim.holder().and_then(|h| pid_of(&h)) == Some(second.pid)
    });
    assert!(
        second.stderr().contains("it expired unrenewed"),
        "{}",
        second.stderr()
    );
    // …and the first, continued, stops with an error naming the holder now.
    first.signal("CONT");
    let run = first.finish();
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("lost the cluster lock (`Lease/democtl-lock` in `democtl`): `"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            " pid {}` holds it now, running `deploy stage1` since ",
            second.pid
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("stage1/extras: skipped: Apply the extras (an earlier step failed)"),
        "{}",
        run.stderr
    );
    let done = second.finish();
    done.expect_code(0);
    assert_eq!(sim.stage_status().as_deref(), Some("deployed"));
    assert_eq!(sim.lease().map(|l| l.spec), None);
}

#[test]
fn a_deploy_stopped_past_its_lease_that_nobody_took_carries_on() {
    let demo = project();
    let sim = Sim::start();
    let env = [("DEMOCTL_LEASE_SECONDS", "2")];
    let first = spawn_deploy(&demo, &sim, &env);
    first.wait_for(WAITING);
    first.signal("STOP");
    wait_until("the stopped deploy's Lease to expire", || {
        let spec = sim.lease().and_then(|l| l.spec).unwrap();
        let renewed = spec.renew_time.map(|t| t.0).unwrap();
        let expiry = renewed
            .checked_add(jiff::SignedDuration::from_secs(i64::from(
                spec.lease_duration_seconds.unwrap(),
            )))
            .unwrap();
        expiry < jiff::Timestamp::now()
    });
    // Nobody wrote the Lease meanwhile: its conditional renewal succeeds and the run goes on.
    first.signal("CONT");
    let run = first.finish();
    run.expect_code(0);
    assert!(
        !run.stderr.contains("lost the cluster lock"),
        "{}",
        run.stderr
    );
    assert_eq!(sim.stage_status().as_deref(), Some("deployed"));
    assert_eq!(sim.lease().map(|l| l.spec), None);
}

#[test]
fn a_signal_during_start_up_still_releases_the_lease() {
    let demo = project();
    // Every request takes 100 ms more: the start-up after taking the Lease (state records,
    // inputs) lasts long enough for the signal to land in it most of the time; wherever it
    // lands, the Lease must be released (before, the handler came later and SIGTERM killed).
    let sim = Sim::start_with(
        "name: laggy\nextends: healthy\ndelays: { image_pull: 20, pod_ready: 1 }\napi: { latency_ms: 100 }\n",
    );
    let first = spawn_deploy(&demo, &sim, &[]);
    wait_until("the deploy to hold the Lease", || {
        sim.holder().and_then(|h| pid_of(&h)) == Some(first.pid)
    });
    first.signal("TERM");
    let run = first.finish();
    run.expect_code(143);
    assert!(
        run.stderr.contains("SIGTERM: stopping at a safe point"),
        "{}",
        run.stderr
    );
    assert_eq!(
        sim.lease().map(|l| l.spec),
        None,
        "the Lease is still there"
    );
}

/// Issue #13: after Ctrl-C the verdict counted the interrupted step as "1 failed", and the
/// resume line was not the last word. A real SIGINT to a plain `deploy` (no presenter view, a
/// switch turned off): exit 130, the verdict says interrupted, the last stderr line is the
/// resume command (the interrupted step, the run's flags), and `status` prints the same one.
#[test]
fn ctrl_c_during_a_plain_deploy_exits_130_and_ends_with_the_resume_command() {
    let stage = STAGE
        .replace(
            "steps:\n",
            "switches:\n  - name: extras\n    default: true\n    description: Apply the extras\nsteps:\n",
        )
        .replace(
            "    title: Apply the extras\n",
            "    title: Apply the extras\n    switch: extras\n",
        );
    let demo = project().file("stages/stage1.yaml", &stage);
    let sim = Sim::start();
    let kubeconfig = sim.kubeconfig();
    let first = Background::spawn(
        &demo,
        &[],
        &[
            "--kubeconfig",
            &kubeconfig,
            "-y",
            "deploy",
            "stage1",
            "--no-extras",
        ],
    );
    first.wait_for(WAITING);
    first.signal("INT");
    let run = first.finish();
    run.expect_code(130);
    let resume =
        format!("democtl --kubeconfig {kubeconfig} deploy stage1 --from server-ready --no-extras");
    assert_eq!(
        run.stderr.lines().last(),
        Some(format!("to resume: {resume}").as_str()),
        "{}",
        run.stderr
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    let verdict = all
        .lines()
        .find(|l| l.contains("stage1 interrupted after"))
        .unwrap_or_else(|| panic!("no verdict in {all}"));
    assert!(verdict.contains("1 interrupted"), "{verdict}");
    assert!(!verdict.contains("failed"), "{verdict}");
    // `status` resumes the same way.
    let status = demo.run(&["--kubeconfig", &kubeconfig, "status", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        report["stages"][0]["interrupted"], true,
        "{}",
        status.stdout
    );
    assert_eq!(report["stages"][0]["resume"], resume.as_str());
    let status = demo.run(&["--kubeconfig", &kubeconfig, "status"]);
    assert!(
        status.stdout.contains(&format!("; to resume: {resume}\n")),
        "{}",
        status.stdout
    );
}
