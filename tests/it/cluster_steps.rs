//! The cluster-facing step kinds (`prereq`, `patch`, `apply`, `wait-ready`) run against the
//! simulated API server, built from a stage file like the runner builds them.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use democtl::cluster::state;
use democtl::cluster::teardown::{self, TeardownOptions};
use democtl::cluster::{Cluster, ObjectKey};
use democtl::runner::step::{StepCtx, StepDone, StepMessage};
use democtl::sim::{PermissionRule, ServerConfig, SimClock, SimServer};
use democtl::stage::LoadedStage;
use democtl::steps::{SecretProvider, SecretValue, StepEnv};
use futures::future::BoxFuture;
use kube::api::{DynamicObject, PostParams};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Secrets(Vec<&'static str>);

impl SecretProvider for Secrets {
    fn lookup(&self, key: &str) -> Option<SecretValue> {
        self.0.contains(&key).then(|| SecretValue::new("x"))
    }
    fn prompt<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Option<SecretValue>> {
        Box::pin(async { None })
    }
}

async fn sim(denied: Vec<PermissionRule>) -> (SimServer, Arc<Cluster>) {
    let server = SimServer::start(ServerConfig {
        clock: SimClock::new(1000.0),
        crd_establish_delay: Duration::from_secs(2),
        denied,
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let clock = server.clock().clone();
    let cluster = Cluster::from_client(server.client().unwrap(), server.url())
        .with_clock(Arc::new(move || clock.now()));
    (server, Arc::new(cluster))
}

fn env(cluster: &Arc<Cluster>, stage_yaml: &str, objects: Vec<Value>) -> StepEnv {
    let loaded = LoadedStage::parse("stages/test.yaml", stage_yaml).unwrap();
    StepEnv {
        cluster: cluster.clone(),
        stage: loaded.stage.clone(),
        objects: Arc::new(objects),
        secrets: Arc::new(Secrets(vec!["HF_TOKEN"])),
        project_dir: std::env::temp_dir(),
        artifacts_dir: std::env::temp_dir(),
        switches: BTreeMap::new(),
        adopt: false,
        earlier_in_run: Vec::new(),
        rerun: None,
    }
}

/// Runs step `index` of the env's stage; returns its result and the messages it sent.
async fn run(
    env: &StepEnv,
    index: usize,
    dry_run: bool,
) -> (
    Result<StepDone, democtl::runner::step::StepError>,
    Vec<StepMessage>,
) {
    let spec = env.stage.steps[index].clone();
    let step = democtl::steps::build(&spec, env).unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ctx = StepCtx::new(
        env.stage.id.clone(),
        spec.id.clone(),
        tx,
        CancellationToken::new(),
        Some(tokio::time::Instant::now() + Duration::from_secs(60)),
        Arc::new(Mutex::new(BTreeMap::new())),
        dry_run,
    );
    let result = step.run(&ctx).await;
    drop(ctx);
    let mut messages = Vec::new();
    while let Some(m) = rx.recv().await {
        messages.push(m);
    }
    (result, messages)
}

async fn create(cluster: &Cluster, obj: Value) {
    let k = ObjectKey::from_value(&obj).unwrap();
    let r = cluster
        .resolve(&k.api_version, &k.kind)
        .await
        .unwrap()
        .unwrap();
    let api = cluster.api(&r.resource, k.namespace.as_deref());
    let o: DynamicObject = serde_json::from_value(obj).unwrap();
    api.create(&PostParams::default(), &o).await.unwrap();
}

fn crd(group: &str, kind: &str, plural: &str, scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}}}]}
    })
}

async fn install(cluster: &Cluster, crd_obj: Value) {
    let name = crd_obj["metadata"]["name"].as_str().unwrap().to_string();
    create(cluster, crd_obj).await;
    let key = ObjectKey::new(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        name,
    );
    cluster
        .wait_ready(
            &[key],
            tokio::time::Instant::now() + Duration::from_secs(30),
            &|_| {},
        )
        .await
        .unwrap();
    cluster.discovery().refresh();
}

const PREREQ: &str = r#"
id: stage1
number: 1
slug: sovereign-ai
title: Test
overlay: gitops/overlays/stage1
expectedDuration: 5m
steps:
  - id: preflight
    kind: prereq
    title: Check
    timeout: 1m
    with:
      checks:
        - check: api-reachable
        - check: authenticated
        - check: openshift-version
          value: "4.16"
        - check: platform
          value: AWS
        - check: crd
          name: inferenceservices.serving.kserve.io
          hint: install Red Hat OpenShift AI
        - check: operator
          name: rhods-operator
          namespace: redhat-ods-operator
        - check: can-i
          verb: create
          resource: machinesets
          group: machine.openshift.io
          namespace: openshift-machine-api
        - check: default-storage-class
        - check: env
          name: HF_TOKEN
        - check: env
          name: SLACK_WEBHOOK
        - check: stage-deployed
          name: stage0
"#;

#[tokio::test]
async fn prereq_runs_every_check_and_lists_all_failures_at_once() {
    let (_server, cluster) = sim(vec![PermissionRule {
        verbs: vec!["create".into()],
        api_groups: vec!["machine.openshift.io".into()],
        resources: vec!["machinesets".into()],
        namespaces: vec![],
    }])
    .await;
    install(
        &cluster,
        crd(
            "config.openshift.io",
            "ClusterVersion",
            "clusterversions",
            "Cluster",
        ),
    )
    .await;
    install(
        &cluster,
        crd(
            "config.openshift.io",
            "Infrastructure",
            "infrastructures",
            "Cluster",
        ),
    )
    .await;
    create(&cluster, json!({"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion", "metadata": {"name": "version"}})).await;
    democtl_set_status(
        &cluster,
        "config.openshift.io/v1",
        "ClusterVersion",
        "version",
        json!({"desired": {"version": "4.15.9"}}),
    )
    .await;
    create(&cluster, json!({"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure", "metadata": {"name": "cluster"}})).await;
    democtl_set_status(
        &cluster,
        "config.openshift.io/v1",
        "Infrastructure",
        "cluster",
        json!({"platformStatus": {"type": "AWS"}}),
    )
    .await;
    let env = env(&cluster, PREREQ, Vec::new());
    let (result, messages) = run(&env, 0, false).await;
    let err = result.unwrap_err();
    assert_eq!(err.message, "7 of 11 preflight checks failed");
    let evidence = err.evidence.join("\n");
    for want in [
        "openshift-version: OpenShift 4.15.9 is older than 4.16",
        "crd: CRD `inferenceservices.serving.kserve.io` is not installed — install Red Hat OpenShift AI",
        "operator: operator `rhods-operator` is not installed in `redhat-ods-operator`",
        "can-i: cannot create machinesets.machine.openshift.io in `openshift-machine-api`",
        "default-storage-class: no default StorageClass among 0 classes",
        "env: `SLACK_WEBHOOK` is not set (environment or .env)",
        "stage-deployed: stage `stage0` is not deployed",
    ] {
        assert!(evidence.contains(want), "missing `{want}` in:\n{evidence}");
    }
    let progress: Vec<String> = messages
        .into_iter()
        .filter_map(|m| match m {
            StepMessage::Progress(p) => Some(p),
            _ => None,
        })
        .collect();
    assert!(
        progress.iter().any(|p| p == "✓ platform AWS"),
        "{progress:?}"
    );
    assert!(
        progress.iter().any(|p| p == "✓ logged in as `kube:admin`"),
        "{progress:?}"
    );
    assert!(
        progress.iter().any(|p| p == "✓ `HF_TOKEN` is set"),
        "{progress:?}"
    );
    assert!(!evidence.contains("HF_TOKEN"));
}

async fn democtl_set_status(cluster: &Cluster, av: &str, kind: &str, name: &str, status: Value) {
    let r = cluster.resolve(av, kind).await.unwrap().unwrap();
    let api = cluster.api(&r.resource, None);
    api.patch_status(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&json!({"status": status})),
    )
    .await
    .unwrap();
}

const PATCH: &str = r#"
id: stage2
number: 2
slug: rag
title: Test
overlay: gitops/overlays/stage2
expectedDuration: 5m
steps:
  - id: enable
    kind: patch
    title: Enable the component
    timeout: 1m
    with:
      target:
        apiVersion: v1
        kind: ConfigMap
        name: operator-config
        namespace: default
      patch:
        metadata:
          annotations:
            opendatahub.io/managed: "false"
        data:
          allow-online: "true"
      waitForCrds:
        - widgets.example.com
"#;

#[tokio::test]
async fn patch_records_previous_values_waits_for_crds_and_teardown_restores() {
    let (_server, cluster) = sim(Vec::new()).await;
    create(&cluster, json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "operator-config", "namespace": "default"}, "data": {"allow-online": "false"}}))
    .await;
    let env = env(&cluster, PATCH, Vec::new());
    // The "operator" installs the CRD while the step waits for it.
    let step = run(&env, 0, false);
    let operator = async {
        tokio::task::yield_now().await;
        create(
            &cluster,
            crd("example.com", "Widget", "widgets", "Namespaced"),
        )
        .await;
    };
    let ((result, messages), ()) = tokio::join!(step, operator);
    assert_eq!(result.unwrap(), StepDone::Succeeded);
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, StepMessage::ObjectApplied(o) if o.result == "patched"))
    );
    let r = cluster.resolve("v1", "ConfigMap").await.unwrap().unwrap();
    let api = cluster.api(&r.resource, Some("default"));
    let live = serde_json::to_value(api.get("operator-config").await.unwrap()).unwrap();
    assert_eq!(live["data"]["allow-online"], "true");
    let st = state::load(&cluster, "stage2").await.unwrap().unwrap();
    assert_eq!(st.patched.len(), 1);
    assert_eq!(
        st.patched[0].restore,
        json!({"metadata": {"annotations": {"opendatahub.io/managed": null}}, "data": {"allow-online": "false"}})
    );
    // Running again keeps the original values, not democtl's own.
    let (again, _) = run(&env, 0, false).await;
    assert_eq!(again.unwrap(), StepDone::Succeeded);
    let st = state::load(&cluster, "stage2").await.unwrap().unwrap();
    assert_eq!(st.patched[0].restore["data"]["allow-online"], "false");
    // Teardown of the stage puts the previous values back.
    let opts = TeardownOptions::new("stage2");
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    teardown::execute(&cluster, &plan, &opts, &|_| {})
        .await
        .unwrap();
    let live = serde_json::to_value(api.get("operator-config").await.unwrap()).unwrap();
    assert_eq!(live["data"]["allow-online"], "false");
    assert!(
        live["metadata"]
            .get("annotations")
            .and_then(|a| a.get("opendatahub.io/managed"))
            .is_none(),
        "{live}"
    );
}

const APPLY: &str = r#"
id: stage1
number: 1
slug: sovereign-ai
title: Test
overlay: gitops/overlays/stage1
expectedDuration: 5m
steps:
  - id: base
    kind: apply
    title: Apply the base
    timeout: 1m
    with:
      components: [base]
  - id: rest
    kind: apply
    title: Apply the rest
    timeout: 1m
    with:
      wait: true
  - id: ready
    kind: wait-ready
    title: Wait for the app
    timeout: 1m
    with:
      components: [app]
      capture:
        web:
          stage1.web.replicas: /status/readyReplicas
"#;

fn render() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "default", "labels": {"democtl.io/component": "base"}},
            "data": {"a": "1"}}),
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "default", "labels": {"democtl.io/component": "base"}},
            "stringData": {"password": "hunter2"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": "default", "labels": {"democtl.io/component": "app"}},
            "data": {"b": "1"}}),
    ]
}

#[tokio::test]
async fn apply_steps_split_the_render_and_dry_run_outputs_a_masked_plan() {
    let (_server, cluster) = sim(Vec::new()).await;
    let env = env(&cluster, APPLY, render());
    let (result, messages) = run(&env, 0, true).await;
    assert_eq!(result.unwrap(), StepDone::Succeeded);
    let outputs: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            StepMessage::Output(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(outputs[0].title, "plan of `base`");
    assert_eq!(
        outputs[0].columns,
        vec!["Namespace", "Name", "Kind", "Op", "Wait to", "Note"]
    );
    let names: Vec<&str> = outputs[0].rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, vec!["settings", "creds"]);
    assert!(outputs[0].rows.iter().all(|r| r[3] == "create"));
    let all = format!("{messages:?}");
    assert!(
        !all.contains("hunter2") && !all.contains("aHVudGVyMg"),
        "secret leaked: {all}"
    );
    assert!(
        outputs
            .iter()
            .any(|o| o.title == "diff `Secret/creds` in `default`")
    );

    // For real: the step without components applies what no other apply step names.
    let (result, _) = run(&env, 0, false).await;
    assert_eq!(result.unwrap(), StepDone::Succeeded);
    let (result, messages) = run(&env, 1, false).await;
    assert_eq!(result.unwrap(), StepDone::Succeeded);
    let applied: Vec<String> = messages
        .iter()
        .filter_map(|m| match m {
            StepMessage::ObjectApplied(o) => Some(format!("{}/{} {}", o.kind, o.name, o.result)),
            _ => None,
        })
        .collect();
    assert_eq!(applied, vec!["ConfigMap/app-config created".to_string()]);
}

#[tokio::test]
async fn wait_ready_captures_values_from_ready_objects() {
    let (_server, cluster) = sim(Vec::new()).await;
    let mut objects = render();
    objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"democtl.io/component": "app"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}));
    let env = env(&cluster, APPLY, objects.clone());
    democtl::cluster::apply(
        &cluster,
        &objects,
        &democtl::cluster::ApplyOptions::new("stage1"),
        &|_| {},
    )
    .await
    .unwrap();
    // No controller runs here: "the controller" reports the Deployment ready.
    let key = ObjectKey::new("apps/v1", "Deployment", Some("default"), "web");
    let r = cluster
        .resolve("apps/v1", "Deployment")
        .await
        .unwrap()
        .unwrap();
    let api = cluster.api(&r.resource, Some("default"));
    let live = serde_json::to_value(api.get("web").await.unwrap()).unwrap();
    let generation = live["metadata"]["generation"].clone();
    api.patch_status(
        &key.name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            &json!({"status": {"observedGeneration": generation, "replicas": 1,
            "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}}),
        ),
    )
    .await
    .unwrap();
    let (result, messages) = run(&env, 2, false).await;
    assert_eq!(result.unwrap(), StepDone::Succeeded);
    assert!(messages.iter().any(|m| matches!(m,
        StepMessage::ValueDerived { key, value } if key == "stage1.web.replicas" && value == &json!(1))));
}

const WAIT_JOBS: &str = r#"
id: stage1
number: 1
slug: sovereign
title: Test
overlay: gitops/overlays/stage1
expectedDuration: 5m
steps:
  - id: wait-downloads
    kind: wait-jobs
    title: Wait for the model downloads
    timeout: 1m
    with:
      namespace: demo
      jobs: [download]
"#;

fn download_job() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "download", "namespace": "demo", "labels": {"democtl.io/component": "models"}},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": "download"}},
            "spec": {"restartPolicy": "Never",
                "containers": [{"name": "download", "image": "registry.example.com/dl:1"}]}}}})
}

async fn set_status(cluster: &Cluster, av: &str, kind: &str, ns: &str, name: &str, status: Value) {
    let r = cluster.resolve(av, kind).await.unwrap().unwrap();
    let api = cluster.api(&r.resource, Some(ns));
    api.patch_status(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&json!({"status": status})),
    )
    .await
    .unwrap();
}

/// In a real list response the items of built-in kinds carry no `kind`/`apiVersion`, and the
/// watchers behind every wait start with a list: readiness must still know a Job is a Job.
/// A Job whose pod is `ContainerCreating` is not done — neither for `wait-jobs` nor for `status`.
#[tokio::test]
async fn typeless_list_items_still_get_the_job_rule_in_wait_jobs_and_status() {
    use democtl::cluster::apply::{ApplyOptions, apply};
    use democtl::cluster::state::StageStatus;
    use democtl::cluster::status::{self, Health};
    let (_server, cluster) = sim(vec![]).await;
    state::stage_started(&cluster, "stage1", "run-1", Some("kube:admin".into()))
        .await
        .unwrap();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}});
    apply(
        &cluster,
        &[ns, download_job()],
        &ApplyOptions::new("stage1"),
        &|_| {},
    )
    .await
    .unwrap();
    state::stage_finished(&cluster, "stage1", StageStatus::Deployed)
        .await
        .unwrap();
    let started = "2026-01-01T00:00:00Z";
    set_status(
        &cluster,
        "batch/v1",
        "Job",
        "demo",
        "download",
        json!({"active": 1, "startTime": started}),
    )
    .await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "download-x1", "namespace": "demo",
            "labels": {"batch.kubernetes.io/job-name": "download", "job-name": "download"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "download", "image": "registry.example.com/dl:1"}]}});
    create(&cluster, pod).await;
    set_status(
        &cluster,
        "v1",
        "Pod",
        "demo",
        "download-x1",
        json!({"phase": "Pending",
        "containerStatuses": [{"name": "download", "ready": false, "restartCount": 0,
            "image": "registry.example.com/dl:1", "imageID": "",
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
    )
    .await;

    // Premise: the list the watchers start from really is typeless on the wire.
    let jobs = cluster.resolve("batch/v1", "Job").await.unwrap().unwrap();
    let listed = cluster
        .api(&jobs.resource, Some("demo"))
        .list(&Default::default())
        .await
        .unwrap();
    let typeless = listed.items[0].types.is_none();

    let stage = env(&cluster, WAIT_JOBS, vec![download_job()]);
    let waited = tokio::time::timeout(Duration::from_secs(3), run(&stage, 0, false)).await;
    assert!(
        waited.is_err(),
        "wait-jobs ended while the Job's pod is ContainerCreating (typeless list items: {typeless}): {:?}",
        waited.map(|(r, _)| r.map(|_| "done").map_err(|e| e.message))
    );
    let report = status::collect(&cluster, &["stage1".to_string()])
        .await
        .unwrap();
    let models = report.stages[0]
        .components
        .iter()
        .find(|c| c.name == "models")
        .unwrap();
    assert_eq!(models.status, "InProgress", "{models:?}");
    assert_eq!(report.health, Health::Degraded);

    // Once the Job completes, both see it.
    set_status(&cluster, "batch/v1", "Job", "demo", "download", json!({"active": 0, "succeeded": 1,
        "startTime": started, "completionTime": "2026-01-01T00:01:00Z",
        "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}))
    .await;
    let (result, _) = tokio::time::timeout(Duration::from_secs(20), run(&stage, 0, false))
        .await
        .unwrap();
    assert!(
        matches!(result, Ok(StepDone::Succeeded)),
        "{:?}",
        result.err()
    );
    let report = status::collect(&cluster, &["stage1".to_string()])
        .await
        .unwrap();
    assert_eq!(report.health, Health::Healthy, "{report:?}");
}

const COLLECTIONS: &str = r#"
id: stage3
number: 3
slug: agents
title: Agents
overlay: gitops/overlays/stage3
expectedDuration: 5m
steps:
  - id: acme-collection
    kind: collections
    title: Check the collection
    timeout: 1m
    with:
      stage: stage2
      collections:
        - name: acme-manufacturing
          ingestedBy: ingest-acme
"#;

/// Issue #12: a stage that needs a collection its earlier stage never ingested fails at once,
/// naming the collection and the command that ingests it.
#[tokio::test]
async fn a_missing_collection_fails_naming_it_and_the_ingest_step() {
    let (_server, cluster) = sim(Vec::new()).await;
    let e = env(&cluster, COLLECTIONS, Vec::new());
    let (result, _) = run(&e, 0, false).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.message,
        "collection `acme-manufacturing` does not exist: it was never ingested (stage2 has no record of it)"
    );
    assert!(
        err.hint
            .as_deref()
            .unwrap()
            .contains("democtl deploy stage2 --only ingest-acme"),
        "{:?}",
        err.hint
    );
    // a dry run that also plans stage 2 cannot know yet
    let mut planned = env(&cluster, COLLECTIONS, Vec::new());
    planned.earlier_in_run = vec!["stage2".into()];
    let (result, _) = run(&planned, 0, true).await;
    assert_eq!(result.unwrap(), StepDone::Succeeded);
}

const PREREQ_OPERATOR: &str = r#"
id: stage9
number: 9
slug: test
title: Test
overlay: gitops/overlays/stage1
expectedDuration: 5m
steps:
  - id: preflight
    kind: prereq
    title: Check the cluster
    timeout: 1m
    with:
      checks:
        - check: operator
          name: rhods-operator
          namespace: redhat-ods-operator
          hint: install Red Hat OpenShift AI from OperatorHub
        - check: env
          name: SLACK_WEBHOOK
"#;

/// A check the cluster would not answer is not reported as failed with the check's fix
/// ("install the operator"): it says it could not ask, and why.
#[tokio::test]
async fn prereq_tells_a_check_it_could_not_ask_from_a_failed_one() {
    let (_server, cluster) = sim(vec![PermissionRule {
        verbs: vec!["list".into()],
        api_groups: vec!["operators.coreos.com".into()],
        resources: vec!["clusterserviceversions".into()],
        namespaces: vec![],
    }])
    .await;
    let mut csv = crd(
        "operators.coreos.com",
        "ClusterServiceVersion",
        "clusterserviceversions",
        "Namespaced",
    );
    csv["spec"]["versions"][0]["name"] = json!("v1alpha1");
    install(&cluster, csv).await;
    let env = env(&cluster, PREREQ_OPERATOR, Vec::new());
    let (result, _) = run(&env, 0, false).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.message,
        "1 of 2 preflight checks failed and 1 could not ask the cluster"
    );
    let evidence = err.evidence.join("\n");
    assert!(
        evidence.contains("operator: could not ask the cluster: ")
            && evidence.contains("forbidden"),
        "{evidence}"
    );
    assert!(
        !evidence.contains("install Red Hat OpenShift AI"),
        "{evidence}"
    );
    assert!(
        evidence.contains("env: `SLACK_WEBHOOK` is not set"),
        "{evidence}"
    );
    let hint = err.hint.clone().unwrap_or_default();
    assert!(hint.contains("could not ask the cluster"), "{hint}");
}
