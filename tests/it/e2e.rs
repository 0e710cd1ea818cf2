//! End to end: the real `democtl` binary with the repository's stage files and gitops tree
//! against a simulated cluster (`sim::Embedded`: API server, seeded scenario and controllers,
//! in-process, with a fast simulated clock), reached through a kubeconfig like any cluster. The
//! test reads the cluster with its own client to check what democtl left behind.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use democtl::runner::event::{Outcome, RunEvent, RunEventKind};
use democtl::sim::{Embedded, EmbeddedOptions};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::{Value, json};

use super::harness::{Demo, Run};

/// Simulated seconds per real second: stage 1's ~35 simulated minutes take about 15 s. (Much
/// faster and the simulator's own deadlines, e.g. a Deployment's 600 s progress deadline, pass
/// before its controllers get a turn on a loaded 2-core machine.)
const SPEED: f64 = 200.0;
const TOKEN: &str = "hf_e2e_secret_token_4711";

/// The end-to-end tests run one at a time: each plays a whole cluster, and on 2 cores two of
/// them at once starve the simulator's controllers.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A simulated cluster (in-process, persisted under the project) and the project democtl runs
/// in, talking to it through a kubeconfig like to any cluster.
pub(crate) struct Sim {
    demo: Arc<Demo>,
    scenario: String,
    embedded: Option<Embedded>,
    kubeconfig: String,
    _guard: tokio::sync::MutexGuard<'static, ()>,
}

impl Sim {
    pub(crate) async fn start(demo: Demo, scenario: &str) -> Sim {
        Sim::start_with(demo, scenario, false).await
    }

    /// [`Sim::start`] over HTTPS, for kubectl (client-go sends a bearer token only over TLS).
    async fn start_with(demo: Demo, scenario: &str, tls: bool) -> Sim {
        let guard = ONE_AT_A_TIME.lock().await;
        let demo = Arc::new(demo);
        let options = EmbeddedOptions {
            scenario: Some(scenario.to_string()),
            speed: Some(SPEED),
            tls,
        };
        let embedded = Embedded::start_with(&state_dir(&demo), &options)
            .await
            .unwrap();
        let kubeconfig = embedded.kubeconfig_path().display().to_string();
        Sim {
            demo,
            scenario: scenario.to_string(),
            embedded: Some(embedded),
            kubeconfig,
            _guard: guard,
        }
    }

    /// Stops the cluster (state saved) and starts it again: the scenario is read anew.
    async fn restart(&mut self) {
        if let Some(e) = self.embedded.take() {
            e.shutdown().await.unwrap();
        }
        let embedded = Embedded::start(&state_dir(&self.demo), Some(&self.scenario), SPEED)
            .await
            .unwrap();
        self.kubeconfig = embedded.kubeconfig_path().display().to_string();
        self.embedded = Some(embedded);
    }

    pub(crate) fn client(&self) -> kube::Client {
        self.embedded.as_ref().unwrap().client().unwrap()
    }

    /// `democtl --kubeconfig … -y args…`, off the async runtime.
    pub(crate) async fn democtl(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> =
            vec!["--kubeconfig".into(), self.kubeconfig.clone(), "-y".into()];
        all.extend(args.iter().map(|a| a.to_string()));
        let demo = self.demo.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = all.iter().map(String::as_str).collect();
            demo.run(&refs)
        })
        .await
        .unwrap()
    }

    pub(crate) fn events(&self) -> Vec<RunEvent> {
        self.demo.last_events()
    }

    pub(crate) async fn stop(mut self) {
        if let Some(e) = self.embedded.take() {
            e.shutdown().await.unwrap();
        }
    }
}

pub(crate) fn demo() -> Demo {
    Demo::repo().env("HF_TOKEN", TOKEN)
}

fn state_dir(demo: &Demo) -> PathBuf {
    demo.path().join("sim-state")
}

pub(crate) fn ar(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// What the cluster looks like, for "as it was before" comparisons.
#[derive(Debug, PartialEq)]
struct Snapshot {
    namespaces: BTreeSet<String>,
    machinesets: BTreeSet<String>,
    machineconfigpools: BTreeSet<String>,
    dsc_components: Value,
    trustyai_config: Value,
}

pub(crate) async fn list(client: &kube::Client, r: &ApiResource, ns: Option<&str>) -> Vec<Value> {
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, r),
        None => Api::all_with(client.clone(), r),
    };
    api.list(&ListParams::default())
        .await
        .map(|l| {
            l.items
                .iter()
                .map(|o| serde_json::to_value(o).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn names(objs: &[Value]) -> BTreeSet<String> {
    objs.iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .filter(|_| true)
        .collect()
}

async fn snapshot(c: &kube::Client) -> Snapshot {
    {
        let namespaces = names(&list(c, &ar("", "v1", "Namespace", "namespaces"), None).await)
            .into_iter()
            .filter(|n| n != "democtl") // democtl's own state records
            .collect();
        let machinesets = names(
            &list(
                c,
                &ar(
                    "machine.openshift.io",
                    "v1beta1",
                    "MachineSet",
                    "machinesets",
                ),
                Some("openshift-machine-api"),
            )
            .await,
        );
        let machineconfigpools = names(
            &list(
                c,
                &ar(
                    "machineconfiguration.openshift.io",
                    "v1",
                    "MachineConfigPool",
                    "machineconfigpools",
                ),
                None,
            )
            .await,
        );
        let dsc = list(
            c,
            &ar(
                "datasciencecluster.opendatahub.io",
                "v1",
                "DataScienceCluster",
                "datascienceclusters",
            ),
            None,
        )
        .await;
        let dsc_components = dsc[0]["spec"]["components"].clone();
        let cms = list(
            c,
            &ar("", "v1", "ConfigMap", "configmaps"),
            Some("redhat-ods-applications"),
        )
        .await;
        let trustyai = cms
            .into_iter()
            .find(|cm| cm["metadata"]["name"] == "trustyai-service-operator-config")
            .unwrap();
        let trustyai_config = serde_json::json!({
            "data": trustyai["data"],
            "managed": trustyai["metadata"]["annotations"]["opendatahub.io/managed"],
        });
        Snapshot {
            namespaces,
            machinesets,
            machineconfigpools,
            dsc_components,
            trustyai_config,
        }
    }
}

pub(crate) fn derived(events: &[RunEvent]) -> BTreeMap<String, Value> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::ValueDerived { key, value, .. } => Some((key.clone(), value.clone())),
            _ => None,
        })
        .collect()
}

fn derived_of(events: &[RunEvent], key: &str) -> String {
    derived(events)
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no derived value `{key}`"))
        .to_string()
}

/// Step id → outcome of the last run.
pub(crate) fn outcomes(events: &[RunEvent]) -> BTreeMap<(String, String), Outcome> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::StepFinished {
                stage,
                step,
                outcome,
                ..
            } => Some(((stage.clone(), step.clone()), outcome.clone())),
            _ => None,
        })
        .collect()
}

pub(crate) fn status_json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("status -o json: {e}\n{}", run.stdout))
}

pub(crate) fn stage_state<'a>(status: &'a Value, stage: &str) -> &'a Value {
    status["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage} in {status}"))
}

#[track_caller]
fn assert_stage_ready(status: &Value, stage: &str) {
    let s = stage_state(status, stage);
    assert_eq!(s["state"], "deployed", "{stage}: {s}");
    for c in s["components"].as_array().unwrap() {
        assert_eq!(c["status"], "Current", "{stage}: component {c}");
    }
}

#[track_caller]
fn assert_no_secret_leaked(demo: &Demo, run: &Run) {
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token was printed"
    );
    for log in demo.logs() {
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            !text.contains(TOKEN),
            "the token is in the run log {}",
            log.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_deploy_in_turn_redeploy_changes_nothing_and_teardown_restores_the_cluster() {
    let sim = Sim::start(demo(), "healthy").await;
    let before = snapshot(&sim.client()).await;
    let pvs = ar("", "v1", "PersistentVolume", "persistentvolumes");
    let pvs_before = names(&list(&sim.client(), &pvs, None).await);
    sim.democtl(&["status"]).await.expect_code(5);

    // Stage 1: every step succeeds; benchmarks shown and saved; the token stays secret.
    let run = sim.democtl(&["deploy", "stage1"]).await;
    run.expect_code(0);
    assert_no_secret_leaked(&sim.demo, &run);
    let events = sim.events();
    for ((stage, step), outcome) in outcomes(&events) {
        assert!(
            matches!(outcome, Outcome::Succeeded),
            "{stage}/{step}: {outcome:?}"
        );
    }
    let tables: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::OutputProduced { step, output, .. } if step == "benchmarks" => {
                Some(output.clone())
            }
            _ => None,
        })
        .collect();
    // The benchmark table, then what the Model Registry publisher printed (issue #12).
    assert_eq!(tables.len(), 2, "{tables:?}");
    assert_eq!(tables[1].title, "Output of Job/publish-benchmarks");
    assert_eq!(
        tables[0].rows.len(),
        8,
        "4 concurrencies × 2 models: {:?}",
        tables[0].rows
    );
    let derived = derived(&events);
    assert_eq!(derived["stage1.cluster.infrastructure-name"], "demo-x7k2p");

    // Issue #13: on the deployed stage a dry run plans no change — the GPU MachineSets are
    // compared semantically — and re-applying them leaves them untouched.
    let changes = |events: &[RunEvent]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match &e.kind {
                RunEventKind::ObjectApplied { object, .. } if object.result != "unchanged" => {
                    Some(format!("{}/{} {}", object.kind, object.name, object.result))
                }
                _ => None,
            })
            .collect()
    };
    sim.democtl(&["deploy", "stage1", "--dry-run"])
        .await
        .expect_code(0);
    let planned = changes(&sim.events());
    assert!(
        planned.is_empty(),
        "a dry run of the deployed stage plans {planned:?}"
    );
    sim.democtl(&["deploy", "stage1", "--only", "gpu-machinesets"])
        .await
        .expect_code(0);
    let changed = changes(&sim.events());
    assert!(
        changed.is_empty(),
        "re-applying the GPU MachineSets changed {changed:?}"
    );
    assert!(
        derived["stage1.gpu.gpu-4x.machineset"]
            .as_str()
            .unwrap()
            .starts_with("demo-x7k2p-gpu-4x-")
    );
    assert!(
        derived["stage1.isvc.mistral-24b-quantized.url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let file = derived["stage1.benchmarks.file"].as_str().unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(
        saved["guidellm-benchmark-full"]["rows"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // The GPU MachineSets are clones of the worker set, and the token reached the cluster.
    let c = sim.client();
    let sets = list(
        &c,
        &ar(
            "machine.openshift.io",
            "v1beta1",
            "MachineSet",
            "machinesets",
        ),
        Some("openshift-machine-api"),
    )
    .await;
    let g4 = sets
        .iter()
        .find(|s| s["metadata"]["name"].as_str().unwrap().contains("-gpu-4x-"))
        .unwrap();
    assert_eq!(
        g4["spec"]["template"]["spec"]["providerSpec"]["value"]["instanceType"],
        "g6.12xlarge"
    );
    assert_eq!(
        g4["spec"]["template"]["spec"]["taints"][0]["key"],
        "nvidia.com/gpu"
    );
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(c.clone(), "private-ai-demo");
    let token = secrets
        .get("huggingface-token")
        .await
        .unwrap()
        .data
        .unwrap()["HF_TOKEN"]
        .0
        .clone();
    assert_eq!(String::from_utf8(token).unwrap(), TOKEN);

    // Stage 2 is wired to the model URL stage 1 derived.
    sim.democtl(&["deploy", "stage2"]).await.expect_code(0);
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(c.clone(), "private-ai-demo");
    let endpoints = cms
        .get("llama-stack-endpoints")
        .await
        .unwrap()
        .data
        .unwrap();
    assert_eq!(
        endpoints["VLLM_URL"],
        format!(
            "{}/v1",
            derived["stage1.isvc.mistral-24b-quantized.internal-url"]
                .as_str()
                .unwrap()
        )
    );

    let run = sim.democtl(&["deploy", "stage3"]).await;
    run.expect_code(0);
    let agent = derived_of(&sim.events(), "stage3.endpoint.acme-agent");
    assert!(
        agent.starts_with("https://acme-agent-acme-calibration-ops."),
        "{agent}"
    );

    let status = sim.democtl(&["status", "-o", "json"]).await;
    status.expect_code(0);
    let status = status_json(&status);
    for s in ["stage1", "stage2", "stage3"] {
        assert_stage_ready(&status, s);
    }

    // Deploying stage 3 again changes nothing.
    sim.democtl(&["deploy", "stage3"]).await.expect_code(0);
    let changed: Vec<String> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::ObjectApplied { object, .. } if object.result != "unchanged" => {
                Some(format!("{}/{} {}", object.kind, object.name, object.result))
            }
            _ => None,
        })
        .collect();
    assert!(changed.is_empty(), "a second deploy changed {changed:?}");

    // Teardown of stage 3 keeps stage 2 ready.
    sim.democtl(&["teardown", "--stage", "3"])
        .await
        .expect_code(0);
    let status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    assert_eq!(stage_state(&status, "stage3")["state"], "not-deployed");
    assert_stage_ready(&status, "stage2");
    assert_stage_ready(&status, "stage1");
    let namespaces = names(&list(&c, &ar("", "v1", "Namespace", "namespaces"), None).await);
    assert!(
        !namespaces.contains("acme-calibration-ops"),
        "stage 3's namespace is gone"
    );

    sim.democtl(&["teardown", "--stage", "2"])
        .await
        .expect_code(0);
    let status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    assert_eq!(stage_state(&status, "stage2")["state"], "not-deployed");
    assert_stage_ready(&status, "stage1");
    let dsc = list(
        &c,
        &ar(
            "datasciencecluster.opendatahub.io",
            "v1",
            "DataScienceCluster",
            "datascienceclusters",
        ),
        None,
    )
    .await;
    assert_eq!(
        dsc[0]["spec"]["components"]["llamastackoperator"],
        before.dsc_components["llamastackoperator"],
        "stage 2's DSC change is undone, stage 1's kept"
    );
    assert_eq!(
        dsc[0]["spec"]["components"]["modelregistry"]["managementState"],
        "Managed"
    );

    let pvs_deployed = names(&list(&sim.client(), &pvs, None).await);
    assert!(
        pvs_deployed.len() > pvs_before.len(),
        "the demo's claims are bound to PVs: {pvs_deployed:?}"
    );
    // `--delete-data`: stage 3's teardown kept PostgreSQL's claim (issue #12), which would keep
    // its namespace too.
    sim.democtl(&["teardown", "--stage", "1", "--delete-data"])
        .await
        .expect_code(0);
    sim.democtl(&["status"]).await.expect_code(5);
    // Issue #11: the PVs of the deleted claims go with them (reclaim policy Delete), so a
    // deploy/teardown cycle leaves no PV behind. The PV controller acts after the claim is gone:
    // wait for it (a generous deadline, not a timing assertion).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let now = names(&list(&sim.client(), &pvs, None).await);
        if now == pvs_before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "PVs left after teardown: {:?}",
            now.difference(&pvs_before).collect::<Vec<_>>()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let mut after = snapshot(&sim.client()).await;
    // The OpenShift AI operator created its registries namespace when stage 1 enabled the Model
    // Registry; it owns it and keeps it (democtl never deletes what it does not own) — but
    // nothing of democtl's is left in it.
    assert!(after.namespaces.remove("rhoai-model-registries"));
    for (kind, plural) in [("Deployment", "deployments"), ("Service", "services")] {
        let group = if kind == "Deployment" { "apps" } else { "" };
        let left = list(
            &c,
            &ar(group, "v1", kind, plural),
            Some("rhoai-model-registries"),
        )
        .await;
        assert!(
            left.iter()
                .all(|o| o["metadata"]["labels"]["app.kubernetes.io/managed-by"] != "democtl"),
            "democtl's {kind}s are gone from rhoai-model-registries"
        );
    }
    for (kind, plural) in [
        ("Secret", "secrets"),
        ("PersistentVolumeClaim", "persistentvolumeclaims"),
    ] {
        let left = list(
            &c,
            &ar("", "v1", kind, plural),
            Some("rhoai-model-registries"),
        )
        .await;
        assert!(
            left.is_empty(),
            "{kind}s left in rhoai-model-registries: {}",
            names(&left).into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    assert_eq!(
        after, before,
        "teardown of every stage leaves the cluster as it was"
    );

    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploying_stage3_on_an_empty_cluster_deploys_stages_1_2_3_in_order() {
    let sim = Sim::start(demo(), "healthy").await;
    sim.democtl(&[
        "deploy",
        "stage3",
        "--no-eval",
        "--no-benchmarks",
        "--scenarios",
    ])
    .await
    .expect_code(0);
    let order: Vec<String> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::StageStarted { stage, .. } => Some(stage.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["stage1", "stage2", "stage3"]);
    // `--scenarios`: the three ingestion PipelineRuns ran to success.
    let out = outcomes(&sim.events());
    for step in ["ingest-redhat", "ingest-eu-ai-act", "ingest-acme"] {
        let outcome = out.get(&("stage2".to_string(), step.to_string()));
        assert!(
            matches!(outcome, Some(Outcome::Succeeded)),
            "{step}: {outcome:?}"
        );
    }
    let status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    for s in ["stage1", "stage2", "stage3"] {
        assert_stage_ready(&status, s);
    }
    // Issue #13: `status` lists every endpoint the stages recorded, not only the models'.
    let table = sim.democtl(&["status"]).await;
    table.expect_code(0);
    for label in [
        "OpenShift AI dashboard",
        "Model Registry",
        "Llama Stack",
        "ACME agent",
        "Mistral 24B quantized (1 GPU)",
    ] {
        assert!(
            table
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with(label) && l.contains("https://")),
            "{label}: {}",
            table.stdout
        );
    }
    assert_eq!(
        table
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("Llama Stack "))
            .count(),
        1,
        "each endpoint once: {}",
        table.stdout
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_model_download_fails_at_once_with_its_log_and_resume_after_the_fix_converges() {
    let demo = demo();
    // A scenario file of the test's own, so the cluster can be "fixed" between the two runs.
    let scenario = demo.path().join("scenario.yaml");
    std::fs::write(
        &scenario,
        "name: e2e-download\nextends: healthy\nfailures:\n  model_downloads:\n    - job: download-mistral-24b\n      exclude: quantized\n      at_percent: 40\n      message: \"HfHubHTTPError: 401 Client Error: Unauthorized for url: https://huggingface.co/api/models/mistralai/Mistral-Small-24B-Instruct-2501\"\n",
    )
    .unwrap();
    let mut sim = Sim::start(demo, &scenario.display().to_string()).await;
    let run = sim
        .democtl(&["deploy", "stage1", "--no-eval", "--no-benchmarks"])
        .await;
    run.expect_code(1);
    let events = sim.events();
    let (step, outcome) = outcomes(&events)
        .into_iter()
        .find(|(_, o)| matches!(o, Outcome::Failed { .. }))
        .unwrap();
    assert_eq!(step.1, "wait-downloads");
    let Outcome::Failed {
        error,
        resume_command,
    } = outcome
    else {
        unreachable!()
    };
    assert!(
        error.message.contains("`Job/download-mistral-24b`"),
        "{}",
        error.message
    );
    assert!(
        error
            .evidence
            .iter()
            .any(|l| l.contains("401 Client Error")),
        "the evidence shows the pod's last log lines: {:?}",
        error.evidence
    );
    assert!(error.hint.as_deref().unwrap().contains("HF_TOKEN"));
    assert!(resume_command.is_some());
    // Nothing after the downloads ran: no InferenceService was created.
    assert!(!events.iter().any(|e| matches!(&e.kind,
        RunEventKind::ObjectApplied { object, .. } if object.kind == "InferenceService")));

    // The fix (the cluster stops refusing the download), then the same command converges.
    std::fs::write(&scenario, "name: e2e-download\nextends: healthy\n").unwrap();
    sim.restart().await;
    let run = sim
        .democtl(&["deploy", "stage1", "--no-eval", "--no-benchmarks"])
        .await;
    run.expect_code(0);
    let events = sim.events();
    assert!(
        events.iter().any(|e| matches!(&e.kind,
            RunEventKind::ObjectApplied { object, .. } if object.kind == "Job" && object.name == "download-mistral-24b" && object.result != "unchanged")),
        "the failed download Job was recreated"
    );
    let status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    assert_stage_ready(&status, "stage1");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpus_that_never_become_allocatable_time_out_naming_what_is_missing() {
    let demo = demo();
    // A short budget for the GPU wait (the simulated GPU operator needs ~8 simulated minutes,
    // under 3 s here; the 4-GPU type never gets its GPUs).
    let stage1 = demo.path().join("stages/stage1.yaml");
    let text = std::fs::read_to_string(&stage1).unwrap();
    assert!(text.contains("    timeout: 40m\n"));
    std::fs::write(
        &stage1,
        text.replacen("    timeout: 40m\n", "    timeout: 10s\n", 1),
    )
    .unwrap();
    let sim = Sim::start(demo, "gpu-never-arrives").await;
    sim.democtl(&["deploy", "stage1"]).await.expect_code(1);
    let events = sim.events();
    let (step, outcome) = outcomes(&events)
        .into_iter()
        .find(|(_, o)| matches!(o, Outcome::Failed { .. } | Outcome::TimedOut { .. }))
        .unwrap();
    assert_eq!(step.1, "wait-gpu");
    let error = match outcome {
        Outcome::Failed { error, .. } | Outcome::TimedOut { error, .. } => error,
        _ => unreachable!(),
    };
    assert!(
        error.message.contains("GPUs not allocatable"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("`gpu-4x`"),
        "names the MachineSet: {}",
        error.message
    );
    assert!(
        error.message.contains("nvidia.com/gpu.present"),
        "names what is missing: {}",
        error.message
    );
    assert!(
        !error.message.contains("`gpu-1x`"),
        "the 1-GPU set is fine: {}",
        error.message
    );
    assert!(error.hint.is_some());
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_operator_is_listed_by_preflight_and_nothing_changes() {
    let sim = Sim::start(demo(), "missing-gpu-operator").await;
    let before = snapshot(&sim.client()).await;
    let run = sim.democtl(&["deploy", "stage1"]).await;
    assert_ne!(run.code, 0);
    let events = sim.events();
    let out = outcomes(&events);
    let (step, outcome) = out
        .iter()
        .find(|(_, o)| !matches!(o, Outcome::Succeeded | Outcome::Skipped { .. }))
        .unwrap();
    assert_eq!(step.1, "preflight");
    let Outcome::Failed { error, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let all = format!("{} {:?} {:?}", error.message, error.evidence, error.hint);
    assert!(
        all.contains("gpu-operator-certified"),
        "preflight names the operator: {all}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, RunEventKind::ObjectApplied { .. })),
        "nothing applied"
    );
    assert_eq!(snapshot(&sim.client()).await, before, "nothing changed");
    sim.stop().await;
}

/// Issue #9: a typo in a manifest (`spec.predictor.modle`) is refused by the server's schema
/// (democtl sends `fieldValidation=Strict`): the deploy fails at that object naming the field
/// path, and kubectl's strict server-side apply of the same object gets kube-apiserver's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_typo_fails_the_deploy_at_that_object_naming_the_field_path() {
    let file = "gitops/base/model-serving/isvc-mistral-24b.yaml";
    let good = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap();
    assert!(
        good.contains("\n    model:\n"),
        "the manifest changed: {good}"
    );
    let typo = good.replace("\n    model:\n", "\n    modle:\n");
    let sim = Sim::start_with(demo().file(file, &typo), "healthy", true).await;
    let run = sim.democtl(&["deploy", "stage1"]).await;
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("InferenceService/mistral-24b")
            && run.stderr.contains("spec.predictor.modle"),
        "{}",
        run.stderr
    );
    let applied_typo = sim.events().iter().any(|e| {
        matches!(&e.kind, RunEventKind::ObjectApplied { object, .. }
            if object.kind == "InferenceService" && object.name == "mistral-24b")
    });
    assert!(
        !applied_typo,
        "the object with the typo was reported applied"
    );

    let kubectl = std::process::Command::new("kubectl")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    if kubectl {
        // The same object in a namespace that exists, applied as kubectl does.
        let object = typo.replace("namespace: private-ai-demo", "namespace: default");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("isvc.yaml");
        std::fs::write(&path, object).unwrap();
        let out = std::process::Command::new("kubectl")
            .args(["--kubeconfig", &sim.kubeconfig, "--cache-dir"])
            .arg(dir.path().join("cache"))
            .args(["apply", "--server-side", "--validate=strict", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains(".spec.predictor.modle: field not declared in schema"),
            "{stderr}"
        );
    } else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "SKIPPED (part): kubectl is not installed; the kubectl apply was not checked"
            );
        }
    }
    sim.stop().await;
}

/// Issue #9: the Tekton Task `fetch-documents` with `$(params.configmap)` = `''` builds a pod
/// whose ConfigMap volume has no name; the server refuses it (as a real one does), the TaskRun
/// and the PipelineRun fail with `PodCreationFailed` and the server's message, and democtl
/// fails at that ingestion step showing it. With the manifest fixed, the same command converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingestion_run_without_a_configmap_fails_with_the_servers_message_and_the_fix_converges()
{
    let file = "gitops/components/rag-ingestion/pipelinerun-acme.yaml";
    let good = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap();
    let broken = good.replace("value: documents-acme", "value: ''");
    assert_ne!(broken, good, "the manifest changed: {good}");
    let sim = Sim::start(demo().file(file, &broken), "healthy").await;
    let args = ["deploy", "stage2", "--no-eval", "--no-benchmarks"];
    let run = sim.democtl(&args).await;
    run.expect_code(1);
    let events = sim.events();
    let outcomes = outcomes(&events);
    let (step, outcome) = outcomes
        .iter()
        .find(|(_, o)| matches!(o, Outcome::Failed { .. }))
        .unwrap();
    assert_eq!(step.1, "ingest-acme");
    let Outcome::Failed { error, .. } = outcome else {
        unreachable!()
    };
    let all = format!("{} {:?} {:?}", error.message, error.evidence, error.hint);
    assert!(
        all.contains("configMap.name: Required value"),
        "the failure shows the server's refusal: {all}"
    );
    assert!(all.contains("PipelineRun/ingest-acme"), "{all}");
    // The two runs before it ingested their documents.
    for done in ["ingest-redhat", "ingest-eu-ai-act"] {
        assert!(
            matches!(
                outcomes.get(&("stage2".to_string(), done.to_string())),
                Some(Outcome::Succeeded)
            ),
            "{done}: {:?}",
            outcomes.get(&("stage2".to_string(), done.to_string()))
        );
    }
    let runs = list(
        &sim.client(),
        &ar("tekton.dev", "v1", "PipelineRun", "pipelineruns"),
        Some("private-ai-demo"),
    )
    .await;
    let reason = |name: &str| {
        runs.iter()
            .find(|r| r["metadata"]["name"] == name)
            .and_then(|r| r["status"]["conditions"][0]["reason"].as_str())
            .map(str::to_string)
    };
    assert_eq!(reason("ingest-redhat").as_deref(), Some("Succeeded"));
    assert_eq!(reason("ingest-acme").as_deref(), Some("Failed"));

    // The fix, then the same command converges.
    std::fs::write(sim.demo.path().join(file), &good).unwrap();
    sim.democtl(&args).await.expect_code(0);
    let status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    assert_stage_ready(&status, "stage2");
    sim.stop().await;
}

/// Creates `obj` as another team would (field manager `team-b`, no democtl labels).
pub(crate) async fn create_as_team_b(client: &kube::Client, r: &ApiResource, obj: Value) -> Value {
    let ns = obj["metadata"]["namespace"].as_str().unwrap().to_string();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, r);
    let pp = kube::api::PostParams {
        field_manager: Some("team-b".into()),
        ..Default::default()
    };
    let o: DynamicObject = serde_json::from_value(obj).unwrap();
    serde_json::to_value(api.create(&pp, &o).await.unwrap()).unwrap()
}

pub(crate) async fn get_in(
    client: &kube::Client,
    r: &ApiResource,
    ns: &str,
    name: &str,
) -> Option<Value> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, r);
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

/// Issue #11: what another team created under the demo's names or in its namespace survives.
/// A pre-existing Deployment `postgresql` stops the deploy naming it and its manager (not
/// force-applied); their Job `load-acme-schema` stops it at the step that would delete and
/// recreate it; their ConfigMap keeps the demo namespace from being deleted by teardown, with
/// a warning naming it. With `--adopt` democtl takes over the Job explicitly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_teams_objects_survive_deploy_and_teardown_with_the_error_or_warning_shown() {
    const NS: &str = "private-ai-demo";
    let sim = Sim::start(demo(), "healthy").await;
    let quick = ["--no-eval", "--no-benchmarks"];
    let with = |args: &[&'static str]| -> Vec<&'static str> {
        args.iter().chain(quick.iter()).copied().collect()
    };
    sim.democtl(&with(&["deploy", "stage2"]))
        .await
        .expect_code(0);
    let c = sim.client();
    let deployments = ar("apps", "v1", "Deployment", "deployments");
    let jobs = ar("batch", "v1", "Job", "jobs");
    let config_maps = ar("", "v1", "ConfigMap", "configmaps");
    let labels = json!({"app": "team-b-db"});
    let their_deployment = create_as_team_b(
        &c,
        &deployments,
        json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "postgresql", "namespace": NS, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "db", "image": "quay.io/team-b/postgres:16"}]}}}}),
    )
    .await;
    let their_job = create_as_team_b(
        &c,
        &jobs,
        json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "load-acme-schema", "namespace": NS},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "load", "image": "quay.io/team-b/loader:1"}]}}}}),
    )
    .await;
    let their_notes = create_as_team_b(
        &c,
        &config_maps,
        json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "team-notes", "namespace": NS}, "data": {"owner": "team b"}}),
    )
    .await;

    // 1. Their Deployment: the deploy stops there, naming it, its manager and --adopt.
    let run = sim.democtl(&with(&["deploy", "stage3"])).await;
    run.expect_code(1);
    for needle in [
        "`Deployment/postgresql` in `private-ai-demo`",
        "not democtl's",
        "`team-b`",
        "--adopt",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    let live = get_in(&c, &deployments, NS, "postgresql").await.unwrap();
    assert_eq!(
        live["spec"]["template"],
        their_deployment["spec"]["template"]
    );
    assert_eq!(
        live["metadata"]["labels"],
        their_deployment["metadata"]["labels"]
    );

    // 1b. Tearing down the stage whose names they use (stage 3, partly applied) leaves their
    // Deployment and Job exactly as they were: same object, same spec, never written by democtl.
    sim.democtl(&["teardown", "--stage", "3"])
        .await
        .expect_code(0);
    for (what, r, name, theirs) in [
        ("Deployment", &deployments, "postgresql", &their_deployment),
        ("Job", &jobs, "load-acme-schema", &their_job),
    ] {
        let live = get_in(&c, r, NS, name)
            .await
            .unwrap_or_else(|| panic!("teardown deleted their {what}"));
        assert_eq!(live["metadata"]["uid"], theirs["metadata"]["uid"], "{what}");
        assert_eq!(live["spec"], theirs["spec"], "{what}");
        assert_eq!(
            live["metadata"]["labels"], theirs["metadata"]["labels"],
            "{what}"
        );
        let managers: Vec<&str> = live["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert!(
            managers.iter().all(|m| !m.starts_with("democtl")),
            "democtl wrote their {what}: {managers:?}"
        );
    }

    // 2. They move their Deployment away; now their Job stops the deploy at its step.
    let api: Api<DynamicObject> = Api::namespaced_with(c.clone(), NS, &deployments);
    api.delete("postgresql", &Default::default()).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while get_in(&c, &deployments, NS, "postgresql").await.is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "their Deployment was not deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let run = sim.democtl(&with(&["deploy", "stage3"])).await;
    run.expect_code(1);
    for needle in [
        "`Job/load-acme-schema` in `private-ai-demo`",
        "`team-b`",
        "delete and recreate",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    let job = get_in(&c, &jobs, NS, "load-acme-schema").await.unwrap();
    assert_eq!(
        job["metadata"]["uid"], their_job["metadata"]["uid"],
        "their Job survived"
    );

    // 3. With --adopt, democtl replaces the Job explicitly — saying so and keeping their
    // manifest beside the run log — and the deploy converges.
    let run = sim.democtl(&with(&["deploy", "stage3", "--adopt"])).await;
    run.expect_code(0);
    let job = get_in(&c, &jobs, NS, "load-acme-schema").await.unwrap();
    assert_ne!(job["metadata"]["uid"], their_job["metadata"]["uid"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains(
            "replacing `Job/load-acme-schema` in `private-ai-demo` of another manager (`team-b`)"
        ),
        "{all}"
    );
    let saved = all
        .split("its manifest is saved in `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no saved manifest named: {all}"));
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    assert_eq!(kept["metadata"]["uid"], their_job["metadata"]["uid"]);
    assert_eq!(
        kept["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/team-b/loader:1"
    );

    // 4. Teardown of every stage keeps the namespace that holds their ConfigMap, saying so.
    let run = sim
        .democtl(&["teardown", "--stage", "1", "--dry-run"])
        .await;
    assert!(
        run.stdout.contains("keep     Namespace/private-ai-demo")
            && run.stdout.contains("ConfigMap/team-notes"),
        "{}",
        run.stdout
    );
    let run = sim.democtl(&["teardown", "--stage", "1"]).await;
    run.expect_code(0);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("kept Namespace/private-ai-demo") && all.contains("ConfigMap/team-notes"),
        "{all}"
    );
    let notes = get_in(&c, &config_maps, NS, "team-notes").await.unwrap();
    assert_eq!(notes["metadata"]["uid"], their_notes["metadata"]["uid"]);
    assert_eq!(notes["data"], their_notes["data"]);
    let left: Vec<String> = list(&c, &deployments, Some(NS))
        .await
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(left.is_empty(), "democtl's Deployments are gone: {left:?}");
    sim.stop().await;
}

/// Issue #13: a dry run of stage 3 on an empty cluster plans all three stages — stage 2's
/// "stage 1 deployed" check passes as planned by this dry run, values stage 1 would derive
/// (a model's URL) are placeholders, endpoints are "known after the deploy" — exits 0, says it
/// was a dry run, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_of_stage3_on_an_empty_cluster_plans_all_three_stages_and_changes_nothing() {
    let sim = Sim::start(demo(), "healthy").await;
    let before = snapshot(&sim.client()).await;
    let run = sim.democtl(&["deploy", "stage3", "--dry-run"]).await;
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("stage3 planned (dry run: nothing changed)"),
        "{}",
        run.stdout
    );
    let events = sim.events();
    let outcomes = outcomes(&events);
    for stage in ["stage1", "stage2", "stage3"] {
        assert!(
            outcomes.keys().any(|(s, _)| s == stage),
            "{stage} was planned"
        );
    }
    for ((stage, step), outcome) in &outcomes {
        assert!(
            matches!(outcome, Outcome::Succeeded),
            "{stage}/{step}: {outcome:?}"
        );
    }
    assert!(
        run.stderr
            .contains("stage `stage1` is not deployed yet: planned by this dry run"),
        "{}",
        run.stderr
    );
    // The endpoints a deploy would create, in the docs' words (never "not available").
    let agent = run
        .stdout
        .lines()
        .find(|l| l.contains("ACME agent"))
        .unwrap_or_else(|| panic!("no agent endpoint in {}", run.stdout));
    assert!(agent.ends_with("  known after the deploy"), "{agent}");
    assert!(!run.stdout.contains("not available"), "{}", run.stdout);
    assert_eq!(snapshot(&sim.client()).await, before, "nothing changed");
    sim.democtl(&["status"]).await.expect_code(5);
    sim.stop().await;
}

/// Issue #12: changing an InferenceService makes KServe (serverless mode) start a new Knative
/// revision whose predictor needs its own GPUs while the old revision still holds them — the
/// 4 GPUs of the only g6.12xlarge node for the full model. Without help the new pod stays
/// Unschedulable and the wait for the model times out. democtl frees the GPUs first: it deletes
/// the changed InferenceService (it owns it), waits for its pods to be gone and says so, then
/// the apply creates it anew; the unchanged one is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_inference_service_gets_its_gpus_back_from_the_old_revision() {
    let demo = demo();
    // A short budget for the model wait, so a stuck revision shows as a timeout here.
    let stage1 = demo.path().join("stages/stage1.yaml");
    let text = std::fs::read_to_string(&stage1).unwrap();
    assert!(text.contains("    timeout: 45m\n"));
    std::fs::write(
        &stage1,
        text.replacen("    timeout: 45m\n", "    timeout: 40s\n", 1),
    )
    .unwrap();
    let sim = Sim::start(demo, "healthy").await;
    let args = [
        "deploy",
        "stage1",
        "--no-eval",
        "--no-benchmarks",
        "--no-model-registry",
    ];
    sim.democtl(&args).await.expect_code(0);
    let isvcs = ar(
        "serving.kserve.io",
        "v1beta1",
        "InferenceService",
        "inferenceservices",
    );
    let ns = Some("private-ai-demo");
    let uid_of = |objs: &[Value], name: &str| {
        objs.iter()
            .find(|o| o["metadata"]["name"] == name)
            .map(|o| o["metadata"]["uid"].clone())
    };
    let before = list(&sim.client(), &isvcs, ns).await;

    let file = "gitops/base/model-serving/isvc-mistral-24b.yaml";
    let good = std::fs::read_to_string(sim.demo.path().join(file)).unwrap();
    let changed = good.replace("--max-model-len=32768", "--max-model-len=16384");
    assert_ne!(changed, good, "the manifest changed: {good}");
    std::fs::write(sim.demo.path().join(file), &changed).unwrap();
    // A dry run says what it would free, and frees nothing.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    sim.democtl(&dry).await.expect_code(0);
    let planned: Vec<_> = sim
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::OutputProduced { output, .. } if output.title.contains("GPUs") => {
                Some(output.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert!(
        planned[0].title.contains("would free"),
        "{}",
        planned[0].title
    );
    assert_eq!(
        uid_of(&before, "mistral-24b"),
        uid_of(&list(&sim.client(), &isvcs, ns).await, "mistral-24b"),
        "the dry run deleted nothing"
    );
    let run = sim.democtl(&args).await;
    run.expect_code(0);

    let events = sim.events();
    let freed: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::OutputProduced { output, .. } if output.title.contains("GPUs") => {
                Some(output.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(freed.len(), 1, "one table says which GPUs were freed");
    assert_eq!(freed[0].rows.len(), 1, "{:?}", freed[0].rows);
    let row = freed[0].rows[0].join(" ");
    assert!(
        row.contains("mistral-24b") && row.contains('4'),
        "names the InferenceService and its 4 GPUs: {row}"
    );
    let after = list(&sim.client(), &isvcs, ns).await;
    assert_eq!(
        uid_of(&before, "mistral-24b-quantized"),
        uid_of(&after, "mistral-24b-quantized"),
        "the unchanged InferenceService is kept"
    );
    assert_ne!(
        uid_of(&before, "mistral-24b"),
        uid_of(&after, "mistral-24b"),
        "the changed one was recreated"
    );
    // The model runs with the new arguments, in one pod.
    let pods = list(&sim.client(), &ar("", "v1", "Pod", "pods"), ns).await;
    let predictors: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            p["metadata"]["labels"]["serving.kserve.io/inferenceservice"] == "mistral-24b"
                && p["metadata"]["deletionTimestamp"].is_null()
        })
        .collect();
    assert_eq!(predictors.len(), 1, "{predictors:?}");
    let args_of = predictors[0]["spec"]["containers"][0]["args"].to_string();
    assert!(args_of.contains("--max-model-len=16384"), "{args_of}");
    let status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    assert_stage_ready(&status, "stage1");
    sim.stop().await;
}

/// The preflight failure of stage 1 in `scenario`: its evidence, message and hint in one text,
/// after checking that nothing was applied and the cluster did not change.
async fn preflight_failure(scenario: &str) -> String {
    let sim = Sim::start(demo(), scenario).await;
    let before = snapshot(&sim.client()).await;
    let run = sim.democtl(&["deploy", "stage1"]).await;
    assert_ne!(run.code, 0, "{}", run.stderr);
    let events = sim.events();
    let out = outcomes(&events);
    let (step, outcome) = out
        .iter()
        .find(|(_, o)| !matches!(o, Outcome::Succeeded | Outcome::Skipped { .. }))
        .unwrap();
    assert_eq!(step.1, "preflight", "{outcome:?}");
    let Outcome::Failed { error, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let all = format!("{} {:?} {:?}", error.message, error.evidence, error.hint);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, RunEventKind::ObjectApplied { .. })),
        "nothing applied"
    );
    assert_eq!(snapshot(&sim.client()).await, before, "nothing changed");
    sim.stop().await;
    all
}

/// Issue #12: the demo project joins OpenShift AI's mesh (ServiceMeshMember to
/// `data-science-smcp`); without that control plane the membership can never become Ready.
/// Preflight says so before anything changes, with the way to get one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_service_mesh_control_plane_fails_preflight_naming_it() {
    let all = preflight_failure("missing-service-mesh").await;
    assert!(
        all.contains("ServiceMeshControlPlane `data-science-smcp` in `istio-system`"),
        "names the control plane: {all}"
    );
    assert!(
        all.contains("serviceMesh.managementState: Managed"),
        "says how to get one: {all}"
    );
}

/// Issue #12: the stages are written for OpenShift AI 2.22. A cluster whose rhods-operator CSV
/// is of release 3.0 (KServe without Serverless mode, DSC v2 with renamed components) fails
/// preflight naming the release and what differs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_openshift_ai_release_fails_preflight_naming_the_release_and_the_difference() {
    let all = preflight_failure("openshift-ai-3").await;
    assert!(
        all.contains("OpenShift AI 3.0.0 (`rhods-operator.v3.0.0` in `redhat-ods-operator`)"),
        "names the release: {all}"
    );
    assert!(
        all.contains("no Serverless deployment mode")
            && all.contains("InferenceService/mistral-24b"),
        "names what differs: {all}"
    );
}
