//! The project's simulated cluster as a background process (`democtl sim start|stop|status|
//! kubeconfig|reset`, `democtl --sim …`), through the real binary, its kubeconfig and kube's
//! client (and kubectl when installed). Every test owns a [`Cluster`] guard that stops the
//! background process on drop (SIGKILL if it must) and checks that nothing serves the project
//! any more: no test leaves a process behind.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use democtl::runner::event::RunEventKind;
use democtl::sim::background::{self, Liveness, Record};
use democtl::sim::embedded;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, ListParams, PostParams};

use super::harness::{Demo, KillOnDrop, Run};

const TOKEN: &str = "hf_sim_cluster_4711";

/// The project's background cluster, stopped (and proven gone) on drop.
struct Cluster {
    demo: Arc<Demo>,
}

impl Cluster {
    fn new(demo: Demo) -> Cluster {
        Cluster {
            demo: Arc::new(demo),
        }
    }

    fn dir(&self) -> PathBuf {
        self.demo.path().join(".democtl/sim")
    }

    fn run(&self, args: &[&str]) -> Run {
        self.demo.run(args)
    }

    /// Runs off the async runtime.
    async fn run_async(&self, args: &[&str]) -> Run {
        let demo = self.demo.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            demo.run(&refs)
        })
        .await
        .unwrap()
    }

    fn record(&self) -> Record {
        match background::liveness(&self.dir()).unwrap() {
            Liveness::Running(r) => r,
            other => panic!("the simulated cluster is not running: {other:?}"),
        }
    }

    async fn client(&self) -> kube::Client {
        let path = self.dir().join(embedded::KUBECONFIG_FILE);
        let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        super::harness::stop_sim(&self.demo);
    }
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn process_exists(pid: u32) -> bool {
    // A zombie is gone for our purposes.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn start_status_stop_and_a_crash_are_told_apart() {
    let sim = Cluster::new(Demo::repo());
    let run = sim.run(&["sim", "status"]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("not running; no state yet"),
        "{}",
        run.stdout
    );
    let run = sim.run(&["sim", "kubeconfig"]);
    run.expect_code(0);
    let kubeconfig = sim.dir().join("kubeconfig");
    assert_eq!(run.stdout.trim(), kubeconfig.display().to_string());

    let run = sim.run(&["sim", "start", "--sim-speed", "500"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("simulated cluster is running at https://127.0.0.1:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("kubeconfig: .democtl/sim/kubeconfig"),
        "{}",
        run.stdout
    );
    let first = sim.record();
    assert!(process_exists(first.pid));
    assert!(kubeconfig.exists());

    let run = sim.run(&["sim", "start"]);
    run.expect_code(0);
    assert!(run.stdout.contains("is already running"), "{}", run.stdout);
    assert_eq!(sim.record().pid, first.pid);

    // Another speed for the running cluster is an error with the way to change it.
    let run = sim.run(&["--sim", "--sim-speed", "60", "status"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains("the simulated cluster runs at 500×, not 60×"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("democtl sim stop && democtl sim start --sim-speed 60"),
        "{}",
        run.stderr
    );
    let run = sim.run(&["--sim", "--sim-scenario", "not-aws", "status"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("was created from scenario `healthy`"),
        "{}",
        run.stderr
    );

    // A `--sim` command is a client of the same cluster, and says it is simulated.
    let run = sim.run(&["--sim", "status"]);
    run.expect_code(5);
    assert!(
        run.stdout
            .starts_with("cluster: simulated (scenario healthy, 500×)\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&first.url), "{}", run.stdout);
    assert!(!run.stderr.contains("starting"), "{}", run.stderr);

    let run = sim.run(&["sim", "status"]);
    run.expect_code(0);
    for want in [
        format!("simulated cluster: running (pid {})", first.pid),
        format!("address     {}", first.url),
        "scenario    healthy".to_string(),
        "speed       500×".to_string(),
        "sim time    ".to_string(),
        "objects     ".to_string(),
        "state       saved to .democtl/sim/state.json".to_string(),
    ] {
        assert!(run.stdout.contains(&want), "{want}\n{}", run.stdout);
    }

    // Stop: exactly that process, state kept; start again: same speed, same objects.
    let run = sim.run(&["sim", "stop"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains(&format!("simulated cluster stopped (pid {})", first.pid)),
        "{}",
        run.stdout
    );
    wait_until("the process to go", Duration::from_secs(10), || {
        !process_exists(first.pid)
    });
    assert!(!sim.dir().join(background::RECORD_FILE).exists());
    let run = sim.run(&["sim", "status"]);
    run.expect_code(3);
    assert!(
        run.stdout
            .contains("its state is kept in .democtl/sim/state.json"),
        "{}",
        run.stdout
    );
    sim.run(&["sim", "stop"]).expect_code(0);

    sim.run(&["sim", "start"]).expect_code(0);
    let second = sim.record();
    assert_ne!(second.pid, first.pid);
    assert_eq!(second.speed, 500.0, "a restart keeps the speed");
    assert!(second.objects >= first.objects);

    // A crash: the next `--sim` command says so and offers the fix instead of a connection error.
    Command::new("kill")
        .arg("-9")
        .arg(second.pid.to_string())
        .status()
        .unwrap();
    wait_until("the lock to be released", Duration::from_secs(10), || {
        !embedded::is_served(&sim.dir()).unwrap()
    });
    let run = sim.run(&["--sim", "status"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(&format!(
            "the simulated cluster stopped unexpectedly (pid {}",
            second.pid
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`democtl sim start`"), "{}", run.stderr);
    let run = sim.run(&["sim", "status"]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("stopped unexpectedly"),
        "{}",
        run.stdout
    );
    let run = sim.run(&["sim", "start"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("had stopped unexpectedly"),
        "{}",
        run.stderr
    );

    // Reset: stopped and forgotten; the next `--sim` command starts a new one, saying so.
    let third = sim.record();
    let run = sim.run(&["sim", "reset"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("is stopped and reset"),
        "{}",
        run.stdout
    );
    assert!(!process_exists(third.pid));
    assert!(!sim.dir().join("state.json").exists());
    let run = sim.run(&["--sim", "--sim-speed", "700", "status"]);
    run.expect_code(5);
    assert!(
        run.stderr.starts_with(
            "starting the simulated cluster (scenario healthy, 700×) in the background"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn invalid_speeds_exit_2_with_a_message_and_start_nothing() {
    let demo = Demo::repo();
    for bad in ["0", "NaN", "-5", "inf", "1e400", "fast"] {
        for args in [
            vec![
                "--sim".to_string(),
                format!("--sim-speed={bad}"),
                "status".into(),
            ],
            vec!["sim".into(), "start".into(), format!("--sim-speed={bad}")],
        ] {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = demo.run(&refs);
            run.expect_code(2);
            assert!(
                run.stderr.contains("--sim-speed") && run.stderr.contains(bad),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    assert!(!demo.path().join(".democtl").exists());
}

#[test]
fn stop_signals_only_the_process_that_serves_the_cluster() {
    let sim = Cluster::new(Demo::repo());
    sim.run(&["sim", "start", "--sim-speed", "100"])
        .expect_code(0);
    let real = sim.record();
    // The record now names another process (as after a pid was reused): stop refuses to signal.
    let path = sim.dir().join(background::RECORD_FILE);
    let mut sleeper = KillOnDrop::new(Command::new("sleep").arg("30").spawn().unwrap());
    let mut forged = real.clone();
    forged.pid = sleeper.id();
    std::fs::write(&path, serde_json::to_vec(&forged).unwrap()).unwrap();
    let run = sim.run(&["sim", "stop"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains(&format!(
            "process {} is not the simulated cluster",
            sleeper.id()
        )),
        "{}",
        run.stderr
    );
    assert!(process_exists(sleeper.id()), "the other process lives");
    assert!(process_exists(real.pid), "the cluster lives");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    std::fs::write(&path, serde_json::to_vec(&real).unwrap()).unwrap();
    sim.run(&["sim", "stop"]).expect_code(0);
    // `stop` returns once the process has released its memory (its cmdline is gone); the
    // kernel may need a moment more before /proc shows it as a zombie.
    wait_until(
        "the stopped cluster to exit",
        Duration::from_secs(10),
        || !process_exists(real.pid),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_is_refused_while_the_cluster_lock_is_held() {
    let sim = Cluster::new(Demo::repo());
    sim.run_async(&["sim", "start", "--sim-speed", "100"])
        .await
        .expect_code(0);
    let client = sim.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("democtl".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let now = MicroTime(jiff::Timestamp::now());
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("democtl-lock".into()),
            namespace: Some("democtl".into()),
            annotations: Some(BTreeMap::from([(
                "democtl.io/command".to_string(),
                "deploy stage3".to_string(),
            )])),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("alice@laptop pid 4242".into()),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_duration_seconds: Some(30),
            ..Default::default()
        }),
    };
    let leases: Api<Lease> = Api::namespaced(client, "democtl");
    leases.create(&PostParams::default(), &lease).await.unwrap();
    let run = sim.run_async(&["sim", "reset"]).await;
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("refusing to reset the simulated cluster")
            && run
                .stderr
                .contains("`alice@laptop pid 4242` running `deploy stage3`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(sim.dir().join("state.json").exists());
    sim.record();
    let run = sim.run_async(&["sim", "reset", "--force"]).await;
    run.expect_code(0);
    assert!(!sim.dir().join("state.json").exists());
}

/// Whether a directory set to mode 0555 refuses new files to this process (not so for root
/// with CAP_DAC_OVERRIDE).
fn read_only_dirs_are_enforced(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o555)).unwrap();
    let refused = std::fs::write(probe.join("x"), "x").is_err();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(&probe).unwrap();
    refused
}

/// Starts the background cluster so that a read-only directory stops its saves: as root, without
/// the capability that ignores directory permissions. False (after saying SKIPPED) when that
/// cannot be done here.
async fn start_unprivileged(sim: &Cluster, start: &[&str]) -> bool {
    if read_only_dirs_are_enforced(sim.demo.path()) {
        sim.run_async(start).await.expect_code(0);
        return true;
    }
    let setpriv = Command::new("setpriv")
        .arg("--bounding-set=-dac_override,-dac_read_search,-fowner")
        .arg(assert_cmd::cargo::cargo_bin("democtl"))
        .args(start)
        .current_dir(sim.demo.path())
        .env("HOME", sim.demo.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match setpriv {
        Ok(s) if s.success() => true,
        other => {
            eprintln!(
                "SKIPPED: running as root without setpriv ({other:?}); a read-only directory cannot be tested"
            );
            false
        }
    }
}

/// The cluster's state directory made read-only (its saves fail) until dropped.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn new(dir: PathBuf) -> ReadOnly {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        ReadOnly(dir)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_save_is_reported_and_the_last_good_state_stays() {
    use std::os::unix::fs::PermissionsExt;
    let demo = Demo::repo();
    let sim = Cluster::new(demo);
    if !start_unprivileged(&sim, &["sim", "start", "--sim-speed", "100"]).await {
        return;
    }
    let client = sim.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let cm = |name: &str| ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm("saved"))
        .await
        .unwrap();
    let state = sim.dir().join("state.json");
    let contains = |name: &str| {
        std::fs::read_to_string(&state)
            .unwrap_or_default()
            .contains(&format!("\"name\":\"{name}\""))
    };
    wait_until("the first save", Duration::from_secs(20), || {
        contains("saved")
    });

    std::fs::set_permissions(sim.dir(), std::fs::Permissions::from_mode(0o555)).unwrap();
    cms.create(&PostParams::default(), &cm("unsaved"))
        .await
        .unwrap();
    wait_until(
        "the failure to be recorded",
        Duration::from_secs(20),
        || {
            background::read_record(&sim.dir())
                .ok()
                .flatten()
                .is_some_and(|r| r.save_error.is_some())
        },
    );
    let good = std::fs::read(&state).unwrap();
    let run = sim.run_async(&["sim", "status"]).await;
    run.expect_code(1);
    assert!(run.stdout.contains("NOT SAVED"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("error: the simulated cluster cannot save its state")
            && run.stderr.contains("Permission denied"),
        "{}",
        run.stderr
    );
    let run = sim.run_async(&["--sim", "status"]).await;
    assert!(
        run.stderr
            .contains("warning: the simulated cluster cannot save its state"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        good,
        "the last good state stays"
    );
    assert!(contains("saved") && !contains("unsaved"));
    let temp: Vec<String> = std::fs::read_dir(sim.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(temp.is_empty(), "temp files left: {temp:?}");

    // Writable again: the server saves on its own and the error clears.
    std::fs::set_permissions(sim.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    wait_until("the save to recover", Duration::from_secs(20), || {
        contains("unsaved")
    });
    wait_until("the error to clear", Duration::from_secs(20), || {
        background::read_record(&sim.dir())
            .ok()
            .flatten()
            .is_some_and(|r| r.save_error.is_none())
    });
    sim.run_async(&["sim", "status"]).await.expect_code(0);
}

/// Pod name → (uid, startTime, restart counts): what must not change when nothing restarts.
async fn pods(client: &kube::Client) -> BTreeMap<String, (String, String, Vec<i32>)> {
    let api: Api<Pod> = Api::all(client.clone());
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| {
            let status = p.status.unwrap_or_default();
            (
                format!(
                    "{}/{}",
                    p.metadata.namespace.unwrap_or_default(),
                    p.metadata.name.unwrap_or_default()
                ),
                (
                    p.metadata.uid.unwrap_or_default(),
                    status
                        .start_time
                        .map(|t| t.0.to_string())
                        .unwrap_or_default(),
                    status
                        .container_statuses
                        .unwrap_or_default()
                        .iter()
                        .map(|c| c.restart_count)
                        .collect(),
                ),
            )
        })
        .collect()
}

fn kubectl_present() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The "must show" at one speed: the README's command leaves a running cluster that a
/// second pane can watch with kubectl; `sim reset` is refused during the deploy, naming it;
/// afterwards 20 `--sim status` in a row are healthy, a second deploy runs no earlier stage and
/// changes nothing, and `sim stop` + `sim start` restarts no pod.
async fn deploy_stage3_then_everything_stays(speed: &str) {
    let _one = super::e2e::ONE_AT_A_TIME.lock().await;
    let sim = Cluster::new(Demo::repo().env("HF_TOKEN", TOKEN));
    let bin = assert_cmd::cargo::cargo_bin("democtl");
    let deploy = KillOnDrop::new(
        Command::new(&bin)
            .args(["--sim", "--sim-speed", speed, "deploy", "stage3", "--yes"])
            .current_dir(sim.demo.path())
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "1")
            .env("HOME", sim.demo.path())
            .env("HF_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deploy_pid = deploy.id();
    wait_until("the cluster to start", Duration::from_secs(120), || {
        matches!(background::liveness(&sim.dir()), Ok(Liveness::Running(_)))
    });
    let kubeconfig = sim.run(&["sim", "kubeconfig"]).stdout.trim().to_string();
    let watch = kubectl_present().then(|| {
        KillOnDrop::new(
            Command::new("kubectl")
                .args(["--kubeconfig", &kubeconfig, "get", "pods", "-A", "-w"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    });
    let client = sim.client().await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "democtl");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if leases
            .get_opt("democtl-lock")
            .await
            .ok()
            .flatten()
            .is_some()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the deploy never took the lock");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = sim.run_async(&["sim", "reset"]).await;
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("refusing to reset the simulated cluster")
            && run.stderr.contains(&format!("pid {deploy_pid}"))
            && run.stderr.contains("running `deploy stage3`"),
        "{}",
        run.stderr
    );
    let output = tokio::task::spawn_blocking(move || deploy.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "starting the simulated cluster (scenario healthy, {speed}×) in the background"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("cluster: simulated (scenario healthy, {speed}×)")),
        "{stderr}"
    );

    if let Some(watch) = watch {
        let out = watch.kill_with_output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout).into_owned();
        for pod in ["download-mistral-24b-", "acme-agent-"] {
            assert!(
                out.lines()
                    .any(|l| l.contains(pod) && l.starts_with("private-ai-demo")
                        || l.contains(pod) && l.starts_with("acme-calibration-ops")),
                "kubectl -w did not show {pod}:\n{out}"
            );
        }
        let isvc = Command::new("kubectl")
            .args([
                "--kubeconfig",
                &kubeconfig,
                "get",
                "inferenceservices",
                "-n",
                "private-ai-demo",
            ])
            .output()
            .unwrap();
        let isvc = String::from_utf8_lossy(&isvc.stdout).into_owned();
        // READY is the CRD's `[?(@.type=='Ready')]` column, evaluated by the server.
        for name in ["mistral-24b ", "mistral-24b-quantized "] {
            let row: Vec<&str> = isvc
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l.split_whitespace().collect())
                .unwrap_or_default();
            assert_eq!(row.get(2), Some(&"True"), "{name}: {isvc}");
        }
    } else {
        eprintln!("SKIPPED (part): kubectl is not installed; `kubectl get pods -A -w` not checked");
    }

    // Issue #9: a whole deploy of stage 3 makes no controller write that the server (which
    // validates against the real schemas) refuses; the background server logs each refusal.
    let log = std::fs::read_to_string(sim.dir().join(background::LOG_FILE)).unwrap();
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("refused a controller write"))
        .collect();
    assert!(
        refused.is_empty(),
        "the server refused {} controller writes:\n{}",
        refused.len(),
        refused.join("\n")
    );

    for i in 0..20 {
        let run = sim.run_async(&["--sim", "status"]).await;
        assert_eq!(run.code, 0, "status #{i}:\n{}\n{}", run.stdout, run.stderr);
    }
    let before = pods(&client).await;
    let run = sim.run_async(&["--sim", "deploy", "stage3", "--yes"]).await;
    run.expect_code(0);
    for stage in ["stage1", "stage2"] {
        assert!(
            run.stderr.lines().any(
                |l| l.starts_with(&format!("{stage} is deployed and healthy"))
                    && l.ends_with("not run again")
            ),
            "{stage}:\n{}",
            run.stderr
        );
    }
    let changed: Vec<String> = sim
        .demo
        .last_events()
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::ObjectApplied { object, .. } if object.result != "unchanged" => {
                Some(format!("{}/{} {}", object.kind, object.name, object.result))
            }
            _ => None,
        })
        .collect();
    assert!(changed.is_empty(), "a second deploy changed {changed:?}");
    assert_eq!(
        pods(&client).await,
        before,
        "a second deploy restarted pods"
    );

    sim.run_async(&["sim", "stop"]).await.expect_code(0);
    sim.run_async(&["sim", "start"]).await.expect_code(0);
    let client = sim.client().await;
    assert_eq!(pods(&client).await, before, "a restart restarted pods");
    for i in 0..3 {
        let run = sim.run_async(&["--sim", "status"]).await;
        assert_eq!(
            run.code, 0,
            "status #{i} after restart:\n{}\n{}",
            run.stdout, run.stderr
        );
    }
    assert_eq!(
        pods(&client).await,
        before,
        "pods restarted after a restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_at_1000x_then_everything_stays() {
    deploy_stage3_then_everything_stays("1000").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_at_60x_then_everything_stays() {
    deploy_stage3_then_everything_stays("60").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_at_200x_then_everything_stays() {
    deploy_stage3_then_everything_stays("200").await;
}

/// `sim serve` in a project, as a child process of the test (killed on drop).
struct Served(KillOnDrop);

impl Served {
    fn start(demo: &Demo) -> Served {
        let child = Command::new(assert_cmd::cargo::cargo_bin("democtl"))
            .current_dir(demo.path())
            .args(["sim", "serve", "--sim-speed", "200"])
            .env_remove("KUBECONFIG")
            .env_remove("DEMOCTL_PROJECT_DIR")
            .env("NO_COLOR", "1")
            .env("HOME", demo.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Served(KillOnDrop::new(child))
    }
}

#[test]
fn sim_serve_is_the_projects_cluster_in_the_foreground() {
    let sim = Cluster::new(Demo::repo());
    let mut served = Served::start(&sim.demo);
    let pid = served.0.id();
    wait_until("`sim serve` to answer", Duration::from_secs(60), || {
        matches!(background::liveness(&sim.dir()), Ok(Liveness::Running(_)))
    });
    let record = sim.record();
    assert_eq!(record.pid, pid);
    assert!(record.foreground);

    // The same cluster for every other command: status names it, `--sim` uses it (no second
    // process), a second `sim serve` is refused.
    let run = sim.run(&["sim", "status"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("in the foreground: democtl sim serve"),
        "{}",
        run.stdout
    );
    let run = sim.run(&["--sim", "status"]);
    assert!(
        !run.stderr.contains("starting the simulated cluster"),
        "{}",
        run.stderr
    );
    assert_eq!(sim.record().pid, pid, "`--sim` started another cluster");
    let run = sim.run(&["sim", "serve"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .contains(&format!("the simulated cluster already runs (pid {pid}")),
        "{}",
        run.stderr
    );

    // Something to keep: a ConfigMap written through its kubeconfig.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cms: Api<ConfigMap> = Api::namespaced(sim.client().await, "default");
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some("kept-by-serve".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        cms.create(&PostParams::default(), &cm).await.unwrap();
    });

    // Ctrl-C stops it cleanly (exit 0, record gone, state saved)…
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let status = served.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "sim serve exit");
    assert_eq!(background::liveness(&sim.dir()).unwrap(), Liveness::Stopped);
    let mut out = String::new();
    use std::io::Read;
    served
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.contains("in the foreground"), "{out}");
    assert!(out.contains("kubeconfig: .democtl/sim/kubeconfig"), "{out}");

    // …and `sim start` resumes what it served.
    sim.run(&["sim", "start"]).expect_code(0);
    assert!(!sim.record().foreground);
    rt.block_on(async {
        let cms: Api<ConfigMap> = Api::namespaced(sim.client().await, "default");
        cms.get("kept-by-serve").await.unwrap();
    });
    sim.run(&["sim", "stop"]).expect_code(0);

    // `sim stop` stops a foreground server too (it is named by its start time, not a nonce).
    let mut served = Served::start(&sim.demo);
    wait_until(
        "`sim serve` to answer again",
        Duration::from_secs(60),
        || matches!(background::liveness(&sim.dir()), Ok(Liveness::Running(_))),
    );
    sim.run(&["sim", "stop"]).expect_code(0);
    assert_eq!(served.0.wait().unwrap().code(), Some(0));
}

#[test]
fn sim_serve_outside_a_project_needs_ephemeral() {
    let demo = Demo::empty();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = demo.run_in(elsewhere.path(), &["sim", "serve"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--ephemeral"), "{}", run.stderr);
    let run = demo.run_in(elsewhere.path(), &["sim", "serve", "--ephemeral"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--kubeconfig-out"), "{}", run.stderr);
}

#[test]
fn commands_that_start_the_cluster_at_once_share_one() {
    let sim = Cluster::new(Demo::repo());
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| sim.run(&["sim", "start", "--sim-speed", "100"])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        run.expect_code(0);
    }
    let pid = sim.record().pid;
    for run in &runs {
        assert!(run.stdout.contains(&format!("pid {pid}")), "{}", run.stdout);
    }
}

/// Issue #10/#11: the fault seed of a scenario with injected faults is shown by `sim start` and
/// `sim status` (a random one when the scenario names none), so a failing rehearsal can be
/// replayed with `api.seed`.
#[test]
fn sim_start_and_status_show_the_injected_faults_and_their_seed() {
    let demo = Demo::repo().file(
        "faulty.yaml",
        "name: faulty\nextends: healthy\napi:\n  fault_rate: 0.05\n  after_execute: 0.5\n  seed: 4711\n",
    );
    let sim = Cluster::new(demo);
    let run = sim.run(&["sim", "start", "--scenario", "faulty.yaml"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("faults: 5% of requests fail") && run.stdout.contains("seed 4711"),
        "{}",
        run.stdout
    );
    let run = sim.run(&["sim", "status"]);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("faults") && l.ends_with("seed 4711")),
        "{}",
        run.stdout
    );
    sim.run(&["sim", "stop"]).expect_code(0);

    // Without a seed in the scenario: a random one, shown, and the same in the server's log.
    sim.run(&["sim", "reset"]).expect_code(0);
    let demo_seedless = "name: faulty\nextends: healthy\napi:\n  fault_rate: 0.05\n";
    std::fs::write(sim.demo.path().join("faulty.yaml"), demo_seedless).unwrap();
    let run = sim.run(&["sim", "start", "--scenario", "faulty.yaml"]);
    run.expect_code(0);
    let seed = run
        .stdout
        .split("seed ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_else(|| panic!("no seed shown: {}", run.stdout))
        .to_string();
    assert!(!seed.is_empty(), "{}", run.stdout);
    let log = std::fs::read_to_string(sim.dir().join(background::LOG_FILE)).unwrap();
    assert!(log.contains(&format!("seed {seed}")), "{log}");
}

/// Downloads take 2000 simulated seconds: at 60× half a minute, long enough to stop the cluster
/// in the middle; at 200× the 2 s it is stopped would be 400 simulated seconds (20 %) of it.
const SLOW_DOWNLOADS: &str = "\
name: slow-downloads
extends: healthy
delays: { model_download: 2000 }
";

const DOWNLOAD_S: f64 = 2000.0;

/// The download's progress in a pod log: (bytes done, bytes total).
fn download_progress(log: &str) -> (u64, u64) {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["bytes_done"].as_u64()?, v["bytes_total"].as_u64()?)))
        .max()
        .unwrap_or((0, 0))
}

/// Issue #10: the cluster's clock stands still while the cluster is stopped. A download stopped
/// half-way and started again (after 2 s, at another speed) resumes where it was: its progress
/// did not jump by the stopped time nor get rescaled by the new speed, and the cluster's clock
/// neither jumped nor went backwards. Bounds are in terms of what the test measured itself (the
/// real time from `sim start` to the reads), never fixed timings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_stopped_half_way_resumes_where_it_was() {
    let _one = super::e2e::ONE_AT_A_TIME.lock().await;
    let sim = Cluster::new(Demo::repo().file("slow-downloads.yaml", SLOW_DOWNLOADS));
    let scenario = sim.demo.path().join("slow-downloads.yaml");
    let scenario = scenario.to_str().unwrap();
    sim.run_async(&["sim", "start", "--scenario", scenario, "--sim-speed", "60"])
        .await
        .expect_code(0);
    let client = sim.client().await;
    let ns = "downloads";
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap(),
    )
    .await
    .unwrap();
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), ns);
    let job = serde_json::json!({
        "metadata": {"name": "download-mistral-24b", "namespace": ns},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"labels": {"democtl.io/sim-behaviour": "model-download"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "download",
                "image": "python:3.11-slim",
                "env": [{"name": "MODEL_ID", "value": "mistralai/Mistral-Small-24B-Instruct-2501"}]}]}}}});
    jobs.create(
        &PostParams::default(),
        &serde_json::from_value(job).unwrap(),
    )
    .await
    .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(120);
    let pod = loop {
        let list = pods.list(&ListParams::default()).await.unwrap();
        let mut found = None;
        for p in list.items {
            let name = p.metadata.name.clone().unwrap_or_default();
            let log = pods
                .logs(&name, &Default::default())
                .await
                .unwrap_or_default();
            if download_progress(&log).0 > 0 {
                found = Some(name);
            }
        }
        if let Some(name) = found {
            break name;
        }
        assert!(Instant::now() < deadline, "the download never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    sim.run_async(&["sim", "stop"]).await.expect_code(0);
    // What the stopped cluster holds: the clock's reading and the pod's log at the stop.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sim.dir().join("state.json")).unwrap()).unwrap();
    let stopped_at: jiff::Timestamp = state["time"].as_str().unwrap().parse().unwrap();
    let saved_pod = state["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["object"])
        .find(|o| o["kind"] == "Pod" && o["metadata"]["name"] == pod.as_str())
        .unwrap();
    let saved_log = saved_pod["metadata"]["annotations"][democtl::sim::world::LOG_ANNOTATION]
        .as_str()
        .unwrap_or_default();
    let (at_stop, total) = download_progress(saved_log);
    assert!(at_stop > 0 && at_stop < total, "{at_stop} of {total}");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    sim.run_async(&["sim", "start", "--sim-speed", "200"])
        .await
        .expect_code(0);
    let client = sim.client().await;
    let pods: Api<Pod> = Api::namespaced(client, ns);
    // Until the restarted controllers have written the pod's log again (it moves on).
    let deadline = Instant::now() + Duration::from_secs(120);
    let (resumed, ran) = loop {
        let log = pods.logs(&pod, &Default::default()).await.unwrap();
        let ran = started.elapsed().as_secs_f64();
        let (done, _) = download_progress(&log);
        if done != at_stop {
            break (done, ran);
        }
        assert!(
            Instant::now() < deadline,
            "the download never moved on after the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let clock = sim.record().cluster_now();
    let ran_clock = started.elapsed().as_secs_f64();

    // The clock: on from the stop, by at most the time the cluster has run since (not by the
    // 2 s it was stopped).
    let moved = clock.duration_since(stopped_at).as_secs_f64();
    assert!(moved >= 0.0, "the cluster's clock went back {moved}s");
    assert!(
        moved <= ran_clock + 0.5,
        "the cluster's clock moved {moved:.2}s while the cluster ran {ran_clock:.2}s since its start"
    );
    let status = sim.run_async(&["sim", "status"]).await;
    status.expect_code(0);
    assert!(
        status.stdout.contains("behind the wall clock"),
        "{}",
        status.stdout
    );
    // The download: not back, and on by at most what 200× gives the time it has run since
    // (plus one step of the log, a tenth of a file, and whole simulated seconds' rounding). The
    // 2 s it was stopped would add 20 %.
    assert!(
        resumed >= at_stop,
        "the download went back from {at_stop} to {resumed} bytes"
    );
    let total_f = total as f64;
    let allowed = (ran * 200.0 + 2.0) / DOWNLOAD_S * total_f + total_f * 0.05;
    assert!(
        (resumed - at_stop) as f64 <= allowed,
        "the download moved from {at_stop} to {resumed} of {total} bytes while the cluster ran {ran:.2}s"
    );
}

/// A stage with a custom resource no controller ever reports a status for.
const WIDGET_STAGE: &str = "\
id: stage1
number: 1
slug: widgets
title: Widgets
overlay: gitops/overlays/stage1
expectedDuration: 1m
steps:
  - id: widget
    kind: apply
    title: Apply the widget
    with: { components: [widget] }
  - id: widget-ready
    kind: wait-ready
    title: Wait for the widget
    timeout: 10m
    with: { components: [widget] }
";

const WIDGET_OBJECTS: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
  labels:
    democtl.io/component: widget
spec:
  group: example.com
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
---
apiVersion: v1
kind: Namespace
metadata:
  name: widgets
  labels:
    democtl.io/component: widget
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: gadget
  namespace: widgets
  labels:
    democtl.io/component: widget
spec:
  size: 3
";

/// Issue #10: democtl measures readiness graces with the cluster's clock, the one the server
/// stamps `creationTimestamp` with. A custom resource without status, created just now on a
/// cluster that just started at 60×, is "waiting for the controller to report status" — not
/// past its 15 s grace because a clock running 60× ahead made it look a minute old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_custom_resource_without_status_is_in_progress_at_60x() {
    let _one = super::e2e::ONE_AT_A_TIME.lock().await;
    let sim = Cluster::new(
        Demo::empty()
            .file("stages/stage1.yaml", WIDGET_STAGE)
            .file(
                "gitops/overlays/stage1/kustomization.yaml",
                "resources:\n  - objects.yaml\n",
            )
            .file("gitops/overlays/stage1/objects.yaml", WIDGET_OBJECTS),
    );
    let run = sim
        .run_async(&[
            "--sim",
            "--sim-speed",
            "60",
            "deploy",
            "stage1",
            "--yes",
            "-v",
        ])
        .await;
    run.expect_code(0);
    let waited: Vec<String> = sim
        .demo
        .last_events()
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::StepProgressed { step, message, .. } if step == "widget-ready" => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect();
    assert!(
        waited.iter().any(|m| m.contains("Widget/gadget")
            && m.contains("waiting for the controller to report status")),
        "the fresh Widget was never in progress: {waited:?}\n{}",
        run.stderr
    );
}

/// Issue #11: saves that start failing while a `--sim` command runs are reported at its end, with
/// the warning the start of a command prints — not a silent exit 0. The deploy waits for a Widget
/// the test holds not ready (at 0.1× its no-status grace is 150 s), so the saves fail while it
/// runs, whatever the machine's speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_that_fail_during_a_deploy_are_reported_at_its_end() {
    use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
    let _one = super::e2e::ONE_AT_A_TIME.lock().await;
    let sim = Cluster::new(
        Demo::empty()
            .file("stages/stage1.yaml", WIDGET_STAGE)
            .file(
                "gitops/overlays/stage1/kustomization.yaml",
                "resources:\n  - objects.yaml\n",
            )
            .file("gitops/overlays/stage1/objects.yaml", WIDGET_OBJECTS),
    );
    if !start_unprivileged(&sim, &["sim", "start", "--sim-speed", "0.1"]).await {
        return;
    }
    let client = sim.client().await;
    let mut cmd = sim
        .demo
        .command_in(sim.demo.path(), assert_cmd::cargo::cargo_bin("democtl"));
    cmd.args(["--sim", "deploy", "stage1", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let deploy = KillOnDrop::new(cmd.spawn().unwrap());
    let ar = ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let widgets: Api<DynamicObject> = Api::namespaced_with(client, "widgets", &ar);
    let deadline = Instant::now() + Duration::from_secs(120);
    while widgets.get_opt("gadget").await.ok().flatten().is_none() {
        assert!(
            Instant::now() < deadline,
            "the deploy never created the Widget"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = |status: &str| {
        Patch::Merge(serde_json::json!({"status": {"conditions": [{
            "type": "Ready", "status": status, "reason": "HeldByTheTest", "message": "held by the test"
        }]}}))
    };
    widgets
        .patch_status("gadget", &PatchParams::default(), &ready("False"))
        .await
        .unwrap();

    let read_only = ReadOnly::new(sim.dir());
    wait_until(
        "the failure to be recorded",
        Duration::from_secs(20),
        || {
            background::read_record(&sim.dir())
                .ok()
                .flatten()
                .is_some_and(|r| r.save_error.is_some())
        },
    );
    widgets
        .patch_status("gadget", &PatchParams::default(), &ready("True"))
        .await
        .unwrap();
    let output = tokio::task::spawn_blocking(move || deploy.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    drop(read_only);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let warning = "warning: the simulated cluster cannot save its state (";
    assert_eq!(
        stderr.matches(warning).count(),
        1,
        "the failed saves are not reported once:\n{stderr}"
    );
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(warning)
            && last.ends_with("keeps the last good state — see `democtl sim status`"),
        "the warning is not the deploy's last line:\n{stderr}"
    );
}

/// Issue #10: a simulated cluster that hangs (SIGSTOP) is reported by the next `--sim` command,
/// exit 3, with the fix; once it runs again (SIGCONT) commands work again.
#[test]
fn a_hung_cluster_is_reported_with_the_fix_and_works_again_once_resumed() {
    /// SIGSTOPs a process; SIGCONTs it on drop, pass or fail.
    struct Stopped(u32);
    impl Stopped {
        fn new(pid: u32) -> Stopped {
            let ok = Command::new("kill")
                .args(["-STOP", &pid.to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
            Stopped(pid)
        }
    }
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-CONT", &self.0.to_string()])
                .status();
        }
    }

    let sim = Cluster::new(Demo::repo());
    sim.run(&["sim", "start", "--sim-speed", "100"])
        .expect_code(0);
    let record = sim.record();
    let stopped = Stopped::new(record.pid);
    let run = sim.run(&["--sim", "status"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(&format!(
            "the simulated cluster (pid {}) does not answer at {} within 10s",
            record.pid, record.url
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("`democtl sim stop && democtl sim start` restarts it (its state is kept)"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("cluster: simulated"), "{}", run.stdout);

    drop(stopped);
    let run = sim.run(&["--sim", "status"]);
    run.expect_code(5);
    assert!(
        run.stdout
            .starts_with("cluster: simulated (scenario healthy, 100×)\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("does not answer"), "{}", run.stderr);
    sim.run(&["sim", "status"]).expect_code(0);
    assert_eq!(sim.record().pid, record.pid, "the same process answers");
}

/// Issue #10: the simulated-cluster banner appears exactly once in what a `--sim deploy` and a
/// `--sim teardown` print.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_and_teardown_show_the_simulated_banner_once() {
    let _one = super::e2e::ONE_AT_A_TIME.lock().await;
    let sim = Cluster::new(Demo::repo().env("HF_TOKEN", TOKEN));
    let banner = "cluster: simulated (scenario healthy, 600×)";
    let once = |what: &str, run: &Run| {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert_eq!(
            all.matches(banner).count(),
            1,
            "{what}: the banner is not shown once\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(
            all.matches("cluster: simulated").count(),
            1,
            "{what}: another banner\n{all}"
        );
    };
    let run = sim
        .run_async(&[
            "--sim",
            "--sim-speed",
            "600",
            "deploy",
            "stage1",
            "--yes",
            "--no-eval",
            "--no-benchmarks",
            "--no-model-registry",
        ])
        .await;
    run.expect_code(0);
    once("deploy", &run);
    let run = sim
        .run_async(&["--sim", "-y", "teardown", "--stage", "stage1"])
        .await;
    run.expect_code(0);
    once("teardown", &run);
}
