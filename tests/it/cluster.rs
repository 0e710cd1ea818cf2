//! The cluster layer against the simulated API server over HTTP: apply ordering, conflicts,
//! dry-run diff, waits with failure evidence, teardown, status, lease contention and injected
//! API faults.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use democtl::cluster::apply::{ApplyOptions, ApplyResult, apply};
use democtl::cluster::diff::{self, DiffTag};
use democtl::cluster::inventory::{self, LABEL_PART_OF, LABEL_STAGE, NAMESPACE};
use democtl::cluster::state::{self, PatchedObject, StageStatus};
use democtl::cluster::teardown::{self, TeardownOptions};
use democtl::cluster::wait::WaitOutcome;
use democtl::cluster::{Cluster, ClusterError, ObjectKey, lease, status};
use democtl::sim::{FaultConfig, FaultKinds, ServerConfig, SimClock, SimServer};
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::time::Instant;

/// A simulator with a fast clock and a `Cluster` on it.
async fn sim_with(config: ServerConfig) -> (SimServer, Cluster) {
    let server = SimServer::start(config).await.unwrap();
    let clock = server.clock().clone();
    let cluster = Cluster::from_client(server.client().unwrap(), server.url())
        .with_clock(Arc::new(move || clock.now()));
    (server, cluster)
}

async fn sim() -> (SimServer, Cluster) {
    sim_with(ServerConfig {
        clock: SimClock::new(1000.0),
        crd_establish_delay: Duration::from_secs(2),
        ..ServerConfig::default()
    })
    .await
}

/// Collects progress lines.
#[derive(Default, Clone)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn sink(&self) -> impl Fn(String) + Send + Sync + use<> {
        let lines = self.0.clone();
        move |l| lines.lock().unwrap().push(l)
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}}}]}
    })
}

fn ns(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn cm(namespace: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"democtl.io/component": "base"}},
        "data": data})
}

fn widget(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace, "labels": {"democtl.io/component": "widgets"}},
        "spec": {"size": 3}})
}

async fn get(cluster: &Cluster, key: &ObjectKey) -> Option<Value> {
    let r = cluster
        .resolve(&key.api_version, &key.kind)
        .await
        .unwrap()?;
    let api = cluster.api(&r.resource, key.namespace.as_deref());
    api.get_opt(&key.name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(&o).unwrap())
}

fn key(av: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectKey {
    ObjectKey::new(av, kind, ns, name)
}

#[tokio::test]
async fn crd_and_its_custom_resource_apply_in_one_set() {
    let (_server, cluster) = sim().await;
    let lines = Lines::default();
    // Deliberately in the wrong order: the CR first, its CRD last.
    let objects = vec![
        widget("demo", "w1"),
        cm("demo", "settings", json!({"a": "1"})),
        ns("demo"),
        crd(),
    ];
    let report = apply(
        &cluster,
        &objects,
        &ApplyOptions::new("stage1"),
        &lines.sink(),
    )
    .await
    .unwrap();
    let results: Vec<(String, ApplyResult)> = report
        .objects
        .iter()
        .map(|o| (o.key.to_string(), o.result))
        .collect();
    assert_eq!(
        results,
        vec![
            ("Widget/demo/w1".to_string(), ApplyResult::Created),
            ("ConfigMap/demo/settings".to_string(), ApplyResult::Created),
            ("Namespace/demo".to_string(), ApplyResult::Created),
            (
                "CustomResourceDefinition/widgets.example.com".to_string(),
                ApplyResult::Created
            ),
        ]
    );
    assert!(
        lines.all().iter().any(|l| l.contains("waiting for 1 CRDs")),
        "{:?}",
        lines.all()
    );

    // Ownership labels and ApplySet membership.
    let w = get(
        &cluster,
        &key("example.com/v1", "Widget", Some("demo"), "w1"),
    )
    .await
    .unwrap();
    assert_eq!(
        w["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "democtl"
    );
    assert_eq!(w["metadata"]["labels"][LABEL_STAGE], "stage1");
    assert_eq!(w["metadata"]["labels"]["democtl.io/component"], "widgets");
    assert_eq!(
        w["metadata"]["labels"][LABEL_PART_OF],
        inventory::stage_applyset_id("stage1")
    );
    let parent = get(
        &cluster,
        &key("v1", "Secret", Some(NAMESPACE), "applyset-stage1"),
    )
    .await
    .unwrap();
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        inventory::stage_applyset_id("stage1")
    );
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Namespace,Widget.example.com"
    );
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/additional-namespaces"],
        "demo"
    );
    assert!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/tooling"]
            .as_str()
            .unwrap()
            .starts_with("democtl/")
    );
    let st = state::load(&cluster, "stage1").await.unwrap().unwrap();
    assert_eq!(st.inventory.len(), 4);
    assert!(st.inventory.iter().all(|e| e.uid.is_some()));

    // Re-applying changes nothing.
    let again = apply(
        &cluster,
        &objects,
        &ApplyOptions::new("stage1"),
        &lines.sink(),
    )
    .await
    .unwrap();
    assert!(
        again
            .objects
            .iter()
            .all(|o| o.result == ApplyResult::Unchanged),
        "{:?}",
        again.counts()
    );
}

#[tokio::test]
async fn a_custom_resource_without_its_crd_names_the_operator() {
    let (_server, cluster) = sim().await;
    let isvc = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "mistral", "namespace": "default"}, "spec": {}});
    let err = apply(&cluster, &[isvc], &ApplyOptions::new("stage1"), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "kind `InferenceService` of `InferenceService/mistral` in `default` is not served by the cluster (`serving.kserve.io/v1beta1`)"
    );
    assert_eq!(
        err.hint().unwrap(),
        "install the Red Hat OpenShift AI (KServe) operator, then run again"
    );
    assert!(!err.is_transient());
    // A dry run cannot know whether an earlier step installs the operator: it plans the
    // object and says the server could not validate it.
    let mut dry = ApplyOptions::new("stage1");
    dry.dry_run = true;
    let isvc = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "mistral", "namespace": "default"}, "spec": {}});
    let plan = apply(&cluster, &[isvc], &dry, &|_| {}).await.unwrap();
    assert_eq!(plan.objects[0].result, ApplyResult::Created);
    assert_eq!(
        plan.objects[0].note.as_deref(),
        Some(
            "CRD not installed yet: Red Hat OpenShift AI (KServe) must provide it; not validated by the server"
        )
    );
}

#[tokio::test]
async fn conflicts_are_reported_then_taken_over() {
    let (_server, cluster) = sim().await;
    let ours = cm("default", "settings", json!({"mode": "demo"}));
    apply(
        &cluster,
        std::slice::from_ref(&ours),
        &ApplyOptions::new("stage1"),
        &|_| {},
    )
    .await
    .unwrap();
    // Then someone edited democtl's ConfigMap with kubectl.
    let r = cluster.resolve("v1", "ConfigMap").await.unwrap().unwrap();
    let api = cluster.api(&r.resource, Some("default"));
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"}, "data": {"mode": "manual"}});
    api.patch(
        "settings",
        &PatchParams::apply("kubectl-edit").force(),
        &Patch::Apply(&theirs),
    )
    .await
    .unwrap();
    let lines = Lines::default();
    let report = apply(
        &cluster,
        std::slice::from_ref(&ours),
        &ApplyOptions::new("stage1"),
        &lines.sink(),
    )
    .await
    .unwrap();
    assert_eq!(report.conflicts.len(), 1);
    let c = &report.conflicts[0];
    assert_eq!(c.managers, vec!["kubectl-edit".to_string()]);
    assert_eq!(c.fields, vec![".data.mode".to_string()]);
    assert!(c.taken_over);
    assert!(
        lines.all().iter().any(|l| l
            == "taking over .data.mode from kubectl-edit on `ConfigMap/settings` in `default`"),
        "{:?}",
        lines.all()
    );
    let live = get(
        &cluster,
        &key("v1", "ConfigMap", Some("default"), "settings"),
    )
    .await
    .unwrap();
    assert_eq!(live["data"]["mode"], "demo");

    // Without force the conflict fails the apply.
    api.patch(
        "settings",
        &PatchParams::apply("kubectl-edit").force(),
        &Patch::Apply(&theirs),
    )
    .await
    .unwrap();
    let mut opts = ApplyOptions::new("stage1");
    opts.force_conflicts = false;
    let err = apply(&cluster, &[ours], &opts, &|_| {}).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
}

#[tokio::test]
async fn dry_run_diffs_live_against_would_be_and_changes_nothing() {
    let (_server, cluster) = sim().await;
    apply(
        &cluster,
        &[cm("default", "settings", json!({"a": "1", "b": "2"}))],
        &ApplyOptions::new("stage1"),
        &|_| {},
    )
    .await
    .unwrap();
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "hf-token", "namespace": "default"}, "stringData": {"HF_TOKEN": "hf_supersecret"}});
    let mut opts = ApplyOptions::new("stage1");
    opts.dry_run = true;
    let objects = vec![
        cm("default", "settings", json!({"a": "1", "b": "3"})),
        secret,
        widget("default", "w1"),
        crd(),
    ];
    let report = apply(&cluster, &objects, &opts, &|_| {}).await.unwrap();
    assert!(report.dry_run);
    let ops: Vec<(String, &str)> = report
        .objects
        .iter()
        .map(|o| (o.key.kind.clone(), o.result.as_str(true)))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("ConfigMap".to_string(), "update"),
            ("Secret".to_string(), "create"),
            ("Widget".to_string(), "create"),
            ("CustomResourceDefinition".to_string(), "create"),
        ]
    );
    let cm_diff = diff::to_text(&report.objects[0].diff);
    assert!(
        cm_diff.contains("-  b: '2'")
            || cm_diff.contains("-  b: \"2\"")
            || cm_diff.contains("-  b: 2"),
        "{cm_diff}"
    );
    assert!(
        report.objects[0]
            .diff
            .iter()
            .any(|l| l.tag == DiffTag::Added && l.text.contains("b:"))
    );
    let secret_diff = diff::to_text(&report.objects[1].diff);
    assert!(!secret_diff.contains("hf_supersecret"), "{secret_diff}");
    assert!(
        !secret_diff.contains("aGZfc3VwZXJzZWNyZXQ"),
        "{secret_diff}"
    );
    assert!(
        report.objects[2]
            .note
            .as_deref()
            .unwrap()
            .contains("CRD is created by this apply")
    );
    let rows = diff::plan_rows(&report, &[key("v1", "ConfigMap", Some("default"), "old")]);
    assert_eq!(rows.last().unwrap().op, "prune");
    assert_eq!(rows[3].wait_to, "established");
    // Nothing changed on the server.
    let live = get(
        &cluster,
        &key("v1", "ConfigMap", Some("default"), "settings"),
    )
    .await
    .unwrap();
    assert_eq!(live["data"]["b"], "2");
    assert!(
        get(&cluster, &key("v1", "Secret", Some("default"), "hf-token"))
            .await
            .is_none()
    );
    assert!(
        get(
            &cluster,
            &key(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                "widgets.example.com"
            )
        )
        .await
        .is_none()
    );
}

/// `deploy --dry-run` on a fresh cluster: the namespace is only dry-run created, so the server
/// cannot check the objects inside it. They are planned as creates with a note, not failures.
#[tokio::test]
async fn dry_run_into_a_namespace_created_by_the_same_deploy_is_planned_with_a_note() {
    let (_server, cluster) = sim().await;
    let mut opts = ApplyOptions::new("stage1");
    opts.dry_run = true;
    let objects = vec![ns("fresh"), cm("fresh", "settings", json!({"a": "1"}))];
    let report = apply(&cluster, &objects, &opts, &|_| {}).await.unwrap();
    let ops: Vec<(String, &str, Option<String>)> = report
        .objects
        .iter()
        .map(|o| (o.key.kind.clone(), o.result.as_str(true), o.note.clone()))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("Namespace".to_string(), "create", None),
            (
                "ConfigMap".to_string(),
                "create",
                Some("not checked by the server: namespace `fresh` does not exist yet".to_string())
            ),
        ]
    );
    assert!(
        get(&cluster, &key("v1", "Namespace", None, "fresh"))
            .await
            .is_none()
    );
}

async fn create(cluster: &Cluster, obj: Value) -> Value {
    let k = ObjectKey::from_value(&obj).unwrap();
    let r = cluster
        .resolve(&k.api_version, &k.kind)
        .await
        .unwrap()
        .unwrap();
    let api = cluster.api(&r.resource, k.namespace.as_deref());
    let o: DynamicObject = serde_json::from_value(obj).unwrap();
    serde_json::to_value(api.create(&PostParams::default(), &o).await.unwrap()).unwrap()
}

async fn set_status(cluster: &Cluster, k: &ObjectKey, status: Value) {
    let r = cluster
        .resolve(&k.api_version, &k.kind)
        .await
        .unwrap()
        .unwrap();
    let api = cluster.api(&r.resource, k.namespace.as_deref());
    api.patch_status(
        &k.name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": status})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_failed_job_ends_the_wait_at_once_with_evidence() {
    let (_server, cluster) = sim().await;
    let created = create(
        &cluster,
        json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "download", "namespace": "default"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "dl", "image": "quay.io/x/dl:1"}]}}}}),
    )
    .await;
    // The pod carries the labels of the Job's generated selector, as the Job controller's do.
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "download-abc", "namespace": "default", "labels": {
            "job-name": "download", "batch.kubernetes.io/job-name": "download",
            "controller-uid": uid, "batch.kubernetes.io/controller-uid": uid}},
        "spec": {"containers": [{"name": "dl", "image": "quay.io/x/dl:1"}]}});
    create(&cluster, pod).await;
    let pod_key = key("v1", "Pod", Some("default"), "download-abc");
    set_status(&cluster, &pod_key, json!({"phase": "Pending", "containerStatuses": [{"name": "dl", "ready": false,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"quay.io/x/dl:1\""}}}]}))
    .await;
    let job = key("batch/v1", "Job", Some("default"), "download");
    set_status(
        &cluster,
        &job,
        json!({"failed": 1, "startTime": "2026-01-01T00:00:00Z",
        "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit"}]}),
    )
    .await;
    let lines = Lines::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let err = cluster
        .wait_ready(&[job], deadline, &lines.sink())
        .await
        .unwrap_err();
    let ClusterError::Wait(w) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(w.outcome, WaitOutcome::Failed);
    assert_eq!(w.objects[0].object, "Job/download");
    assert!(
        err.to_string()
            .starts_with("`Job/download` in `default` failed"),
        "{err}"
    );
    assert!(
        w.evidence.iter().any(|l| l.contains("ImagePullBackOff")),
        "{:?}",
        w.evidence
    );
    assert!(err.hint().is_some());
}

#[tokio::test]
async fn waits_follow_watch_events_until_ready() {
    let (_server, cluster) = sim().await;
    create(&cluster, crd()).await;
    // The CRD establishes on the simulated clock.
    let crd_key = key(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "widgets.example.com",
    );
    cluster
        .wait_ready(
            std::slice::from_ref(&crd_key),
            Instant::now() + Duration::from_secs(30),
            &|_| {},
        )
        .await
        .unwrap();
    cluster.discovery().refresh();
    create(&cluster, widget("default", "w1")).await;
    let w = key("example.com/v1", "Widget", Some("default"), "w1");
    let lines = Lines::default();
    let waiter = {
        let w = w.clone();
        let sink = lines.sink();
        let cluster = &cluster;
        async move {
            cluster
                .wait_ready(&[w], Instant::now() + Duration::from_secs(60), &sink)
                .await
        }
    };
    let updater = async {
        set_status(&cluster, &w, json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Provisioning", "message": "creating"}]})).await;
        set_status(
            &cluster,
            &w,
            json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Done"}]}),
        )
        .await;
    };
    let (result, ()) = tokio::join!(waiter, updater);
    let objs = result.unwrap();
    assert_eq!(objs[0]["status"]["conditions"][0]["status"], "True");
}

#[tokio::test]
async fn a_timed_out_wait_returns_the_last_status() {
    let (_server, cluster) = sim().await;
    create(&cluster, json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 1},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}))
    .await;
    let d = key("apps/v1", "Deployment", Some("default"), "web");
    set_status(&cluster, &d, json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 1, "availableReplicas": 1})).await;
    let err = cluster
        .wait_ready(&[d], Instant::now() + Duration::from_millis(300), &|_| {})
        .await
        .unwrap_err();
    let ClusterError::Wait(w) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(w.outcome, WaitOutcome::TimedOut);
    assert!(!w.objects[0].status.is_current());
    assert!(
        err.to_string()
            .starts_with("timed out waiting for `Deployment/web` in `default`"),
        "{err}"
    );
}

#[tokio::test]
async fn teardown_removes_only_what_the_stage_owns_and_restores_patches() {
    let (_server, cluster) = sim().await;
    let stage1 = vec![ns("base"), cm("base", "shared", json!({"a": "1"}))];
    let stage2 = vec![
        cm("base", "extra", json!({"b": "1"})),
        ns("rag"),
        cm("rag", "rag-settings", json!({"c": "1"})),
        crd(),
        widget("rag", "w1"),
    ];
    apply(&cluster, &stage1, &ApplyOptions::new("stage1"), &|_| {})
        .await
        .unwrap();
    apply(&cluster, &stage2, &ApplyOptions::new("stage2"), &|_| {})
        .await
        .unwrap();
    // Something stage 2 patched but does not own.
    create(
        &cluster,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "operator-config", "namespace": "base"}, "data": {"mode": "patched"}}),
    )
    .await;
    state::record_patch(
        &cluster,
        "stage2",
        PatchedObject {
            target: key("v1", "ConfigMap", Some("base"), "operator-config"),
            restore: json!({"data": {"mode": "original"}}),
            step: "enable".into(),
        },
    )
    .await
    .unwrap();
    // An object in the inventory that someone else now owns (label removed) must stay.
    let r = cluster.resolve("v1", "ConfigMap").await.unwrap().unwrap();
    let api = cluster.api(&r.resource, Some("base"));
    api.patch(
        "extra",
        &PatchParams::default(),
        &Patch::Merge(
            &json!({"metadata": {"labels": {"app.kubernetes.io/managed-by": "someone"}}}),
        ),
    )
    .await
    .unwrap();

    let mut opts = TeardownOptions::new("stage2");
    opts.keep = stage1.iter().filter_map(ObjectKey::from_value).collect();
    opts.timeout = Duration::from_secs(60);
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    let deletes: Vec<String> = plan.delete.iter().map(|d| d.key.to_string()).collect();
    assert_eq!(
        deletes,
        vec![
            "Widget/rag/w1".to_string(),
            "ConfigMap/rag/rag-settings".to_string(),
            "Namespace/rag".to_string(),
            "CustomResourceDefinition/widgets.example.com".to_string(),
        ]
    );
    assert!(
        plan.skipped
            .iter()
            .any(|s| s.key.name == "extra" && s.reason == "not managed by democtl")
    );
    assert_eq!(plan.restore.len(), 1);

    let lines = Lines::default();
    let report = teardown::execute(&cluster, &plan, &opts, &lines.sink())
        .await
        .unwrap();
    assert_eq!(report.deleted.len(), 4);
    assert!(
        get(&cluster, &key("v1", "Namespace", None, "rag"))
            .await
            .is_none()
    );
    assert!(
        get(&cluster, &key("v1", "ConfigMap", Some("base"), "shared"))
            .await
            .is_some()
    );
    assert!(
        get(&cluster, &key("v1", "ConfigMap", Some("base"), "extra"))
            .await
            .is_some()
    );
    let restored = get(
        &cluster,
        &key("v1", "ConfigMap", Some("base"), "operator-config"),
    )
    .await
    .unwrap();
    assert_eq!(restored["data"]["mode"], "original");
    assert!(state::load(&cluster, "stage2").await.unwrap().is_none());
    assert!(
        get(
            &cluster,
            &key("v1", "Secret", Some(NAMESPACE), "applyset-stage2")
        )
        .await
        .is_none()
    );
    // Stage 1 is untouched and its record remains.
    assert!(state::load(&cluster, "stage1").await.unwrap().is_some());
    // The CRD is gone, so a second plan has nothing to delete.
    let again = teardown::plan(&cluster, &opts).await.unwrap();
    assert!(again.delete.is_empty(), "{:?}", again.delete);
}

/// A namespace that does not finish terminating is explained from what the namespace itself
/// says — `spec.finalizers` and its `status.conditions` — while waiting and at the timeout.
#[tokio::test]
async fn a_terminating_namespace_shows_its_finalizers_and_conditions() {
    let (_server, cluster) = sim().await;
    apply(
        &cluster,
        &[ns("held")],
        &ApplyOptions::new("stage3"),
        &|_| {},
    )
    .await
    .unwrap();
    // Content a controller created (owned by a ReplicaSet) and that keeps a finalizer.
    let pods = cluster.resolve("v1", "Pod").await.unwrap().unwrap();
    let pod: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "worker", "namespace": "held", "finalizers": ["example.com/hold"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "worker-1",
                "uid": "0b4c6a43-94b5-4b53-9a3f-2f3c1d8f4a11", "controller": true}]},
        "spec": {"containers": [{"name": "c", "image": "registry.example.com/w:1"}]}}))
    .unwrap();
    cluster
        .api(&pods.resource, Some("held"))
        .create(&PostParams::default(), &pod)
        .await
        .unwrap();
    let mut opts = TeardownOptions::new("stage3");
    opts.timeout = Duration::from_millis(1500);
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    let lines = Lines::default();
    let err = teardown::execute(&cluster, &plan, &opts, &lines.sink())
        .await
        .unwrap_err();
    let ClusterError::Wait(w) = &err else {
        panic!("{err:?}")
    };
    let evidence = w.evidence.join("\n");
    assert!(
        evidence.contains(
            "`Namespace/held`: waits on namespace finalizers (spec.finalizers): kubernetes"
        ),
        "{evidence}"
    );
    assert!(
        evidence.contains(
            "`Namespace/held`: NamespaceContentRemaining: Some resources are remaining: pods"
        ),
        "{evidence}"
    );
    assert!(
        evidence.contains("`Namespace/held`: NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"),
        "{evidence}"
    );
    // While waiting, the progress line already said so.
    assert!(
        lines
            .all()
            .iter()
            .any(|l| l.starts_with("deleting `Namespace/held`: ")
                && l.contains("NamespaceFinalizersRemaining")),
        "{:?}",
        lines.all()
    );
}

#[tokio::test]
async fn stuck_finalizers_are_named_and_removed_only_with_force() {
    let (_server, cluster) = sim().await;
    let mut held = cm("default", "held", json!({}));
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    apply(&cluster, &[held], &ApplyOptions::new("stage3"), &|_| {})
        .await
        .unwrap();
    let mut opts = TeardownOptions::new("stage3");
    opts.timeout = Duration::from_millis(300);
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    let err = teardown::execute(&cluster, &plan, &opts, &|_| {})
        .await
        .unwrap_err();
    let ClusterError::Wait(w) = &err else {
        panic!("{err:?}")
    };
    assert!(
        w.evidence
            .iter()
            .any(|l| l == "`ConfigMap/held` in `default`: waits on finalizers: example.com/hold"),
        "{:?}",
        w.evidence
    );
    opts.force = true;
    let report = teardown::execute(&cluster, &plan, &opts, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.finalizers_removed.len(), 1);
    assert!(
        get(&cluster, &key("v1", "ConfigMap", Some("default"), "held"))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn status_reports_stages_components_and_health() {
    let (_server, cluster) = sim().await;
    let stages = vec!["stage1".to_string(), "stage2".to_string()];
    let before = status::collect(&cluster, &stages).await.unwrap();
    assert_eq!(before.health, status::Health::NotDeployed);
    assert_eq!(before.user.as_deref(), Some("kube:admin"));

    state::stage_started(&cluster, "stage1", "run-1", Some("kube:admin".into()))
        .await
        .unwrap();
    apply(
        &cluster,
        &[ns("demo"), cm("demo", "settings", json!({"a": "1"}))],
        &ApplyOptions::new("stage1"),
        &|_| {},
    )
    .await
    .unwrap();
    state::step_completed(
        &cluster,
        "stage1",
        "apply",
        &[("k".to_string(), json!("v"))].into(),
    )
    .await
    .unwrap();
    state::stage_finished(&cluster, "stage1", StageStatus::Deployed)
        .await
        .unwrap();
    let after = status::collect(&cluster, &stages).await.unwrap();
    assert_eq!(after.health, status::Health::Healthy, "{after:?}");
    let s1 = &after.stages[0];
    assert_eq!(s1.state, "deployed");
    assert_eq!(s1.run_id.as_deref(), Some("run-1"));
    assert_eq!(s1.completed_steps, vec!["apply".to_string()]);
    assert!(
        s1.components
            .iter()
            .any(|c| c.name == "base" && c.status == "Current")
    );
    assert_eq!(after.stages[1].state, "not-deployed");
    let json = serde_json::to_value(&after).unwrap();
    assert_eq!(json["health"], "healthy");
    let st = state::load(&cluster, "stage1").await.unwrap().unwrap();
    assert_eq!(st.values["k"], "v");
}

#[tokio::test]
async fn the_lease_keeps_a_second_run_out_and_names_the_holder() {
    let (_server, cluster) = sim().await;
    let first = lease::acquire(&cluster, "alice@laptop pid 1", "deploy stage1")
        .await
        .unwrap();
    let err = lease::acquire(&cluster, "bob@desk pid 2", "teardown --stage 1")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("another democtl run holds the cluster lock (`alice@laptop pid 1` running `deploy stage1` since "),
        "{msg}"
    );
    first.release(&cluster).await.unwrap();
    let second = lease::acquire(&cluster, "bob@desk pid 2", "teardown --stage 1")
        .await
        .unwrap();
    assert_eq!(second.holder(), "bob@desk pid 2");
    second.release(&cluster).await.unwrap();
}

/// Releasing the Lease goes through the retry policy: with half of the deletes failing (500,
/// half of them after the delete was done), every release still succeeds and leaves no Lease.
#[tokio::test]
async fn the_lease_is_released_through_transient_errors() {
    let (_server, cluster) = sim_with(ServerConfig {
        clock: SimClock::new(1000.0),
        faults: FaultConfig {
            rate: 0.5,
            kinds: FaultKinds {
                too_many_requests: 0,
                internal_error: 1,
                unavailable: 0,
                connection_reset: 0,
            },
            after_execute: 0.5,
            seed: 7,
            verbs: vec!["delete".into()],
            ..FaultConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let r = cluster
        .resolve("coordination.k8s.io/v1", "Lease")
        .await
        .unwrap()
        .unwrap();
    for i in 0..6 {
        let guard = lease::acquire(&cluster, "alice@laptop pid 1", "deploy stage1")
            .await
            .unwrap();
        guard
            .release(&cluster)
            .await
            .unwrap_or_else(|e| panic!("release {i}: {e}"));
        let left = cluster
            .get_value(&r.resource, Some(NAMESPACE), lease::LEASE_NAME, || {
                "lease".into()
            })
            .await
            .unwrap();
        assert!(left.is_none(), "release {i} left the Lease: {left:?}");
    }
}

/// Renewals that fail past the Lease's expiry do not give it up while nobody else took it:
/// the renewal reads the Lease, finds it still ours, and the run goes on holding it (every
/// renewal here fails: the server refuses every update).
#[tokio::test]
async fn a_lease_renewed_in_vain_past_its_expiry_is_kept_while_still_ours() {
    let (_server, cluster) = sim_with(ServerConfig {
        clock: SimClock::new(1000.0),
        faults: FaultConfig {
            rate: 1.0,
            kinds: FaultKinds {
                too_many_requests: 0,
                internal_error: 1,
                unavailable: 0,
                connection_reset: 0,
            },
            verbs: vec!["update".into()],
            ..FaultConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let duration = Duration::from_secs(1);
    let guard = lease::acquire_for(&cluster, "alice@laptop pid 1", "deploy stage1", duration)
        .await
        .unwrap();
    let hold = guard.hold();
    // Past the expiry, with every renewal refused: `doubt` fires, `confirm` reads the Lease.
    tokio::time::timeout(Duration::from_secs(10), hold.doubt())
        .await
        .unwrap();
    tokio::time::sleep(duration).await;
    hold.confirm()
        .await
        .expect("the Lease is still ours: nobody took it over");
    // Another run sees it expired; the holder is still named in it.
    let r = cluster
        .resolve("coordination.k8s.io/v1", "Lease")
        .await
        .unwrap()
        .unwrap();
    let live = cluster
        .get_value(&r.resource, Some(NAMESPACE), lease::LEASE_NAME, || {
            "lease".into()
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(live["spec"]["holderIdentity"], "alice@laptop pid 1");
    guard.release(&cluster).await.unwrap();
}

#[tokio::test]
async fn apply_rides_out_injected_transient_faults() {
    let (_server, cluster) = sim_with(ServerConfig {
        clock: SimClock::new(1000.0),
        faults: FaultConfig {
            rate: 0.2,
            kinds: FaultKinds {
                too_many_requests: 0,
                internal_error: 1,
                unavailable: 1,
                connection_reset: 1,
            },
            seed: 7,
            verbs: vec!["patch".into(), "get".into()],
            ..FaultConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let objects: Vec<Value> = (0..12)
        .map(|i| cm("default", &format!("c{i}"), json!({"i": i.to_string()})))
        .collect();
    let lines = Lines::default();
    let mut opts = ApplyOptions::new("stage1");
    opts.applyset = false;
    let scope = democtl::cluster::retry::RetryScope {
        notify: Arc::new(lines.sink()),
        deadline: None,
    };
    let report = democtl::cluster::retry::scoped(scope, apply(&cluster, &objects, &opts, &|_| {}))
        .await
        .unwrap();
    assert_eq!(report.objects.len(), 12);
    assert!(
        lines.all().iter().any(|l| l.starts_with("retrying ")),
        "{:?}",
        lines.all()
    );
}

#[tokio::test]
async fn throttling_is_transient_and_carries_retry_after() {
    let (_server, cluster) = sim_with(ServerConfig {
        faults: FaultConfig {
            rate: 1.0,
            kinds: FaultKinds {
                too_many_requests: 1,
                internal_error: 0,
                unavailable: 0,
                connection_reset: 0,
            },
            retry_after_seconds: 3,
            ..FaultConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let cluster = cluster.with_retry_policy(democtl::cluster::retry::RetryPolicy::none());
    let err = cluster.identity().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(err.code(), 429);
}

#[tokio::test]
async fn a_rejected_token_is_unauthorised_exit_3() {
    let server = SimServer::start(ServerConfig::default()).await.unwrap();
    let mut cfg = server.kube_config().unwrap();
    cfg.auth_info.token = Some("wrong".to_string().into());
    let cluster = Cluster::from_client(kube::Client::try_from(cfg).unwrap(), server.url());
    let err = cluster.identity().await.unwrap_err();
    assert!(matches!(err, ClusterError::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.exit_code(), democtl::exit::CLUSTER);
    let ok = Cluster::from_client(server.client().unwrap(), server.url())
        .identity()
        .await
        .unwrap();
    assert_eq!(ok.user, "kube:admin");
    assert_eq!(ok.server, server.url());
}

/// Issue #11: an object of another manager is not changed without `--adopt` (the error names it
/// and its manager); adopted, it is configured but never owned, its previous values are
/// recorded, teardown restores them and never deletes it, and a re-run needs no `--adopt`.
#[tokio::test]
async fn objects_of_another_manager_are_changed_only_when_adopted_and_teardown_restores_them() {
    let (_server, cluster) = sim().await;
    let r = cluster.resolve("v1", "ConfigMap").await.unwrap().unwrap();
    let api = cluster.api(&r.resource, Some("default"));
    let theirs: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "platform", "namespace": "default", "labels": {"team": "b"}}, "data": {"x": "1"}}))
    .unwrap();
    let pp = PostParams {
        field_manager: Some("team-b".into()),
        ..PostParams::default()
    };
    api.create(&pp, &theirs).await.unwrap();
    let k = key("v1", "ConfigMap", Some("default"), "platform");
    let before = get(&cluster, &k).await.unwrap();
    let desired = [cm("default", "platform", json!({"x": "2", "y": "3"}))];

    let err = apply(&cluster, &desired, &ApplyOptions::new("stage1"), &|_| {})
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ClusterError::NotOurs { .. })
            && text.contains("`ConfigMap/platform` in `default`")
            && text.contains("`team-b`"),
        "{text}"
    );
    assert!(err.hint().unwrap().contains("--adopt"));
    assert_eq!(
        get(&cluster, &k).await.unwrap()["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"],
        "nothing was written"
    );

    let mut opts = ApplyOptions::new("stage1");
    opts.adopt = true;
    opts.step = "apply-base".into();
    let report = apply(&cluster, &desired, &opts, &|_| {}).await.unwrap();
    assert!(report.objects[0].adopted);
    assert_eq!(report.objects[0].result, ApplyResult::Configured);
    let live = get(&cluster, &k).await.unwrap();
    assert_eq!(live["data"]["x"], "2");
    assert!(
        live["metadata"]["labels"]
            .get("app.kubernetes.io/managed-by")
            .is_none(),
        "{live}"
    );
    // A re-run needs no --adopt: the stage already adopted it.
    apply(&cluster, &desired, &ApplyOptions::new("stage1"), &|_| {})
        .await
        .unwrap();

    let opts = TeardownOptions::new("stage1");
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    assert!(plan.delete.is_empty(), "{:?}", plan.delete);
    assert_eq!(plan.skipped[0].reason, "not managed by democtl");
    assert_eq!(plan.restore.len(), 1, "{:?}", plan.restore);
    teardown::execute(&cluster, &plan, &opts, &|_| {})
        .await
        .unwrap();
    let after = get(&cluster, &k).await.unwrap();
    assert_eq!(after["data"], before["data"], "{after}");
    assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"]);
}

/// Issue #11: a namespace democtl created is kept by teardown while it holds objects democtl does
/// not own (a colleague's ConfigMap), naming them, also in the plan a dry run shows; democtl's
/// own objects in it are deleted.
#[tokio::test]
async fn a_namespace_holding_someone_elses_objects_is_kept_naming_them() {
    let (_server, cluster) = sim().await;
    let stage = vec![ns("rag"), cm("rag", "rag-settings", json!({"c": "1"}))];
    apply(&cluster, &stage, &ApplyOptions::new("stage2"), &|_| {})
        .await
        .unwrap();
    let notes = create(
        &cluster,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "team-notes", "namespace": "rag"}, "data": {"todo": "keep me"}}),
    )
    .await;
    let mut opts = TeardownOptions::new("stage2");
    opts.timeout = Duration::from_secs(60);
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    let deletes: Vec<String> = plan.delete.iter().map(|d| d.key.to_string()).collect();
    assert_eq!(deletes, vec!["ConfigMap/rag/rag-settings".to_string()]);
    let kept = plan
        .skipped
        .iter()
        .find(|s| s.key.kind == "Namespace")
        .unwrap();
    assert_eq!(
        kept.foreign,
        vec![key("v1", "ConfigMap", Some("rag"), "team-notes")]
    );
    assert!(
        kept.reason.contains("ConfigMap/team-notes"),
        "{}",
        kept.reason
    );
    teardown::execute(&cluster, &plan, &opts, &|_| {})
        .await
        .unwrap();
    assert!(
        get(&cluster, &key("v1", "Namespace", None, "rag"))
            .await
            .is_some()
    );
    let left = get(&cluster, &key("v1", "ConfigMap", Some("rag"), "team-notes"))
        .await
        .unwrap();
    assert_eq!(left["metadata"]["uid"], notes["metadata"]["uid"]);
    assert_eq!(left["data"], notes["data"]);
    assert!(
        get(
            &cluster,
            &key("v1", "ConfigMap", Some("rag"), "rag-settings")
        )
        .await
        .is_none()
    );
}

#[tokio::test]
async fn the_lowest_stage_that_applies_an_object_keeps_owning_it() {
    let (_server, cluster) = sim().await;
    let shared = cm("default", "shared", json!({"a": "1"}));
    apply(
        &cluster,
        std::slice::from_ref(&shared),
        &ApplyOptions::new("stage1"),
        &|_| {},
    )
    .await
    .unwrap();
    let stage2 = vec![shared, cm("default", "only2", json!({"b": "1"}))];
    apply(&cluster, &stage2, &ApplyOptions::new("stage2"), &|_| {})
        .await
        .unwrap();
    let live = get(&cluster, &key("v1", "ConfigMap", Some("default"), "shared"))
        .await
        .unwrap();
    assert_eq!(live["metadata"]["labels"][LABEL_STAGE], "stage1");
    assert_eq!(
        live["metadata"]["labels"][LABEL_PART_OF],
        inventory::stage_applyset_id("stage1")
    );
    // Even without a `keep` list, tearing down stage 2 leaves stage 1's object.
    let plan = teardown::plan(&cluster, &TeardownOptions::new("stage2"))
        .await
        .unwrap();
    let deletes: Vec<String> = plan.delete.iter().map(|d| d.key.name.clone()).collect();
    assert_eq!(deletes, vec!["only2".to_string()]);
    assert!(
        plan.skipped
            .iter()
            .any(|s| s.key.name == "shared" && s.reason == "belongs to stage `stage1`")
    );
}

#[tokio::test]
async fn a_job_whose_template_changed_is_recreated() {
    let (_server, cluster) = sim().await;
    let job = |image: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "register-models", "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "r", "image": image}]}}}})
    };
    let first = apply(
        &cluster,
        &[job("quay.io/x/r:1")],
        &ApplyOptions::new("stage1"),
        &|_| {},
    )
    .await
    .unwrap();
    let old_uid = first.objects[0].uid.clone().unwrap();
    // Dry run says what would happen.
    let mut dry = ApplyOptions::new("stage1");
    dry.dry_run = true;
    let plan = apply(&cluster, &[job("quay.io/x/r:2")], &dry, &|_| {})
        .await
        .unwrap();
    assert_eq!(plan.objects[0].result, ApplyResult::Recreated);
    assert!(
        plan.objects[0]
            .note
            .as_deref()
            .unwrap()
            .contains("spec.template"),
        "{:?}",
        plan.objects[0].note
    );
    let lines = Lines::default();
    let second = apply(
        &cluster,
        &[job("quay.io/x/r:2")],
        &ApplyOptions::new("stage1"),
        &lines.sink(),
    )
    .await
    .unwrap();
    assert_eq!(second.objects[0].result, ApplyResult::Recreated);
    assert_ne!(second.objects[0].uid.as_deref(), Some(old_uid.as_str()));
    assert!(
        lines
            .all()
            .iter()
            .any(|l| l.starts_with("recreating `Job/register-models` in `default`")),
        "{:?}",
        lines.all()
    );
    let live = get(
        &cluster,
        &key("batch/v1", "Job", Some("default"), "register-models"),
    )
    .await
    .unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "quay.io/x/r:2"
    );

    // Other kinds are not recreated: the error names the object and the fields.
    let mut no_recreate = ApplyOptions::new("stage1");
    no_recreate.recreate_on_immutable.clear();
    let err = apply(&cluster, &[job("quay.io/x/r:3")], &no_recreate, &|_| {})
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`Job/register-models` in `default` has an immutable field that changed (spec.template)"
    );
    assert!(
        err.hint()
            .unwrap()
            .starts_with("delete `Job/register-models` in `default`")
    );
}

/// kubectl (when installed) understands democtl's ApplySet: it refuses to prune a set another
/// tool manages (KEP-3659), and once the set is handed to it (tooling annotation changed), it
/// finds the parent by the id it computes itself and prunes exactly the member democtl labelled
/// but the manifest no longer has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_recognises_the_stage_applyset() {
    let installed = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        return;
    }
    let server = SimServer::start(ServerConfig {
        tls: true,
        clock: SimClock::new(1000.0),
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let cluster = Cluster::from_client(server.client().unwrap(), server.url());
    // Members in the parent's namespace: kubectl applies one namespace (`-n`) at a time.
    let objects = vec![
        cm(NAMESPACE, "a", json!({"x": "1"})),
        cm(NAMESPACE, "b", json!({"x": "1"})),
    ];
    apply(&cluster, &objects, &ApplyOptions::new("stage1"), &|_| {})
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let manifest = dir.path().join("m.yaml");
    // The manifest without `b`: a prune would remove it.
    std::fs::write(&manifest, serde_saphyr::to_string(&objects[0]).unwrap()).unwrap();
    let run = |kubeconfig: std::path::PathBuf, manifest: std::path::PathBuf| {
        std::process::Command::new("kubectl")
            .env("KUBECTL_APPLYSET", "true")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(kubeconfig.with_extension("cache"))
            .args([
                "apply",
                "--server-side",
                "--force-conflicts",
                "--field-manager",
                "democtl",
                "--validate=false",
                "--prune",
                "--applyset=applyset-stage1",
                "-n",
                "democtl",
                "--dry-run=server",
                "-f",
            ])
            .arg(&manifest)
            .output()
            .unwrap()
    };
    let (k, m) = (kubeconfig.clone(), manifest.clone());
    let out = tokio::task::spawn_blocking(move || run(k, m))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("ApplySet parent object \"secrets./applyset-stage1\" already exists and is managed by tooling \"democtl\""),
        "{stderr}"
    );
    // Hand the set to kubectl: now its own id computation and member lookup must match ours.
    let r = cluster.resolve("v1", "Secret").await.unwrap().unwrap();
    cluster
        .api(&r.resource, Some(NAMESPACE))
        .patch(
            "applyset-stage1",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.32.4"}}})),
        )
        .await
        .unwrap();
    let out = tokio::task::spawn_blocking(move || run(kubeconfig, manifest))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("configmap/b pruned"), "{stdout}\n{stderr}");
    assert!(!stdout.contains("configmap/a pruned"), "{stdout}");
}

/// Every write's response is lost half of the time (the server applied it, then answered 500):
/// the state records still end complete, each step once, the inventory whole — the retried
/// write meets its own change as an optimistic-lock conflict and is redone from a fresh read.
#[tokio::test]
async fn state_records_survive_lost_responses() {
    let (server, cluster) = sim_with(ServerConfig {
        clock: SimClock::new(1000.0),
        faults: FaultConfig {
            rate: 0.5,
            after_execute: 1.0,
            kinds: FaultKinds {
                too_many_requests: 0,
                internal_error: 1,
                unavailable: 1,
                connection_reset: 1,
            },
            seed: 11,
            verbs: vec!["patch".into()],
            ..FaultConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let cluster = cluster.with_retry_policy(democtl::cluster::retry::RetryPolicy {
        max_attempts: 12,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..Default::default()
    });
    state::stage_started(&cluster, "stage1", "run-1", None)
        .await
        .unwrap();
    let steps: Vec<String> = (0..8).map(|i| format!("step-{i}")).collect();
    for (i, step) in steps.iter().enumerate() {
        let values = [(format!("stage1.v{i}"), json!(i))].into_iter().collect();
        state::step_completed(&cluster, "stage1", step, &values)
            .await
            .unwrap();
        let entry = state::InventoryEntry {
            key: key("v1", "ConfigMap", Some("demo"), &format!("cm-{i}")),
            uid: Some(format!("uid-{i}")),
        };
        state::add_inventory(&cluster, "stage1", &[entry])
            .await
            .unwrap();
    }
    state::stage_finished(&cluster, "stage1", StageStatus::Deployed)
        .await
        .unwrap();
    let record = state::load(&cluster, "stage1").await.unwrap().unwrap();
    assert_eq!(record.status, StageStatus::Deployed);
    assert_eq!(record.completed_steps, steps);
    assert_eq!(record.values.len(), 8);
    let names: Vec<&str> = record
        .inventory
        .iter()
        .map(|e| e.key.name.as_str())
        .collect();
    assert_eq!(names, (0..8).map(|i| format!("cm-{i}")).collect::<Vec<_>>());
    drop(server);
}

/// Two writers of one record at once (a run and, say, a second process recording the same
/// stage): each read-modify-write carries the resourceVersion it read, so neither loses the
/// other's step.
#[tokio::test]
async fn concurrent_state_writers_lose_nothing() {
    let (_server, cluster) = sim().await;
    state::stage_started(&cluster, "stage1", "run-1", None)
        .await
        .unwrap();
    let none = Default::default();
    for round in 0..6 {
        let a = format!("a-{round}");
        let b = format!("b-{round}");
        let (ra, rb) = tokio::join!(
            state::step_completed(&cluster, "stage1", &a, &none),
            state::step_completed(&cluster, "stage1", &b, &none),
        );
        ra.unwrap();
        rb.unwrap();
    }
    let record = state::load(&cluster, "stage1").await.unwrap().unwrap();
    let mut steps = record.completed_steps.clone();
    steps.sort();
    let mut want: Vec<String> = (0..6)
        .flat_map(|r| [format!("a-{r}"), format!("b-{r}")])
        .collect();
    want.sort();
    assert_eq!(steps, want);
}

/// Stage 2's objects (a namespace and two ConfigMaps), applied.
async fn apply_stage2(cluster: &Cluster) -> Vec<Value> {
    let objects = vec![
        ns("rag"),
        cm("rag", "one", json!({"a": "1"})),
        cm("rag", "two", json!({"b": "1"})),
    ];
    apply(cluster, &objects, &ApplyOptions::new("stage2"), &|_| {})
        .await
        .unwrap();
    objects
}

/// Stage 2's state record cut short: `ConfigMap/two` left out, as an interrupted write can.
async fn shorten_stage2_record(cluster: &Cluster) {
    let mut st = state::load(cluster, "stage2").await.unwrap().unwrap();
    st.inventory.retain(|e| e.key.name != "two");
    state::set_inventory(cluster, "stage2", &st.inventory)
        .await
        .unwrap();
}

/// A state record left short does not hide objects from `status` either: the ApplySet labels
/// find the missing one, it is assessed with the others, and the report names it; a stage
/// with no record but labelled objects says so too.
#[tokio::test]
async fn status_counts_what_a_short_record_misses_and_names_it() {
    let (_server, cluster) = sim().await;
    state::stage_started(&cluster, "stage2", "run-1", None)
        .await
        .unwrap();
    apply_stage2(&cluster).await;
    let report = status::collect(&cluster, &["stage2".to_string()])
        .await
        .unwrap();
    assert!(report.stages[0].unrecorded.is_empty(), "{report:?}");
    let total: usize = report.stages[0].components.iter().map(|c| c.total).sum();
    assert_eq!(total, 3);

    shorten_stage2_record(&cluster).await;
    let report = status::collect(&cluster, &["stage2".to_string()])
        .await
        .unwrap();
    let stage = &report.stages[0];
    assert_eq!(stage.unrecorded, vec!["ConfigMap/two".to_string()]);
    let total: usize = stage.components.iter().map(|c| c.total).sum();
    assert_eq!(
        total, 3,
        "the unrecorded object is still assessed: {stage:?}"
    );

    // No record at all: still not deployed, and the labelled objects are named.
    state::delete(&cluster, "stage2").await.unwrap();
    let report = status::collect(&cluster, &["stage2".to_string()])
        .await
        .unwrap();
    let stage = &report.stages[0];
    assert_eq!(stage.state, "not-deployed");
    assert_eq!(stage.unrecorded.len(), 3, "{stage:?}");
}

/// `status` reads recorded objects through their ApplySet's member lists; one whose labels
/// were removed by hand is still read (through the record's own list of its kind), and one
/// deleted is reported, not taken for healthy.
#[tokio::test]
async fn status_reads_recorded_objects_that_lost_their_applyset_label() {
    let (_server, cluster) = sim().await;
    state::stage_started(&cluster, "stage2", "run-1", None)
        .await
        .unwrap();
    apply_stage2(&cluster).await;
    state::stage_finished(&cluster, "stage2", StageStatus::Deployed)
        .await
        .unwrap();
    let r = cluster.resolve("v1", "ConfigMap").await.unwrap().unwrap();
    let api = cluster.api(&r.resource, Some("rag"));
    api.patch(
        "one",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"labels": {LABEL_PART_OF: null}}})),
    )
    .await
    .unwrap();
    let report = status::collect(&cluster, &["stage2".to_string()])
        .await
        .unwrap();
    let stage = &report.stages[0];
    let total: usize = stage.components.iter().map(|c| c.total).sum();
    let ready: usize = stage.components.iter().map(|c| c.ready).sum();
    assert_eq!((ready, total), (3, 3), "{stage:?}");
    assert!(stage.unrecorded.is_empty(), "{stage:?}");

    api.delete("one", &Default::default()).await.unwrap();
    let report = status::collect(&cluster, &["stage2".to_string()])
        .await
        .unwrap();
    let stage = &report.stages[0];
    let ready: usize = stage.components.iter().map(|c| c.ready).sum();
    assert_eq!(ready, 2, "{stage:?}");
    assert!(
        stage.components.iter().any(|c| c
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("ConfigMap/one"))),
        "{stage:?}"
    );
}

/// A user who may list a kind only in the ApplySet's namespaces, not cluster-wide, still gets
/// every member: the cluster-wide list's 403 falls back to one list per namespace.
#[tokio::test]
async fn applyset_members_are_found_by_a_user_limited_to_its_namespaces() {
    let (server, cluster) = sim().await;
    apply_stage2(&cluster).await;
    let admin_sees = inventory::members(&cluster, "stage2").await.unwrap();
    assert_eq!(admin_sees.len(), 3, "{admin_sees:?}");

    let user = "alice";
    let rbac = |kind: &str, ns: Option<&str>, name: &str, body: Value| {
        let mut obj = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}});
        if let Some(ns) = ns {
            obj["metadata"]["namespace"] = json!(ns);
        }
        obj.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        obj
    };
    let mut grants = vec![
        rbac(
            "ClusterRole",
            None,
            "ns-reader",
            json!({"rules": [
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]}]}),
        ),
        rbac(
            "ClusterRoleBinding",
            None,
            "alice-ns-reader",
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ns-reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
        ),
    ];
    for ns in [NAMESPACE, "rag"] {
        grants.push(rbac("Role", Some(ns), "reader", json!({"rules": [
            {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list"]}]})));
        grants.push(rbac(
            "RoleBinding",
            Some(ns),
            "alice-reader",
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
        ));
    }
    let mut opts = ApplyOptions::new("rbac");
    opts.applyset = false;
    apply(&cluster, &grants, &opts, &|_| {}).await.unwrap();

    let mut cfg = server.kube_config().unwrap();
    cfg.auth_info.impersonate = Some(user.to_string());
    let alice = Cluster::from_client(kube::Client::try_from(cfg).unwrap(), server.url());
    let r = alice.resolve("v1", "ConfigMap").await.unwrap().unwrap();
    let everywhere = alice
        .list_values(&r.resource, None, &Default::default(), || {
            "configmaps".into()
        })
        .await
        .unwrap_err();
    assert_eq!(everywhere.code(), 403, "{everywhere}");
    let mut alice_sees = inventory::members(&alice, "stage2").await.unwrap();
    let mut admin_sees = admin_sees;
    alice_sees.sort();
    admin_sees.sort();
    assert_eq!(alice_sees, admin_sees);
}

/// A state record left short (an interrupted write) does not hide objects from teardown: the
/// ApplySet labels find them, and the plan says which ones the record did not list.
#[tokio::test]
async fn teardown_finds_what_a_short_record_misses_and_says_so() {
    let (_server, cluster) = sim().await;
    let objects = apply_stage2(&cluster).await;
    shorten_stage2_record(&cluster).await;

    let mut opts = TeardownOptions::new("stage2");
    opts.timeout = Duration::from_secs(60);
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    assert_eq!(plan.delete.len(), 3, "{:?}", plan.delete);
    assert_eq!(
        plan.unrecorded,
        vec![key("v1", "ConfigMap", Some("rag"), "two")]
    );
    assert_eq!(
        plan.record_note().as_deref(),
        Some(
            "1 of 3 objects to delete are not in the state record of `stage2` (it is short, e.g. after an interrupted write): found by their ApplySet labels"
        )
    );
    teardown::execute(&cluster, &plan, &opts, &|_| {})
        .await
        .unwrap();
    assert!(
        get(&cluster, &key("v1", "ConfigMap", Some("rag"), "two"))
            .await
            .is_none()
    );
    // A complete record needs no note.
    apply(&cluster, &objects, &ApplyOptions::new("stage2"), &|_| {})
        .await
        .unwrap();
    let plan = teardown::plan(&cluster, &opts).await.unwrap();
    assert_eq!(plan.record_note(), None);
}

/// Issue #16: objects of a kind the set has several of in one namespace are read with one list;
/// the decisions of the per-object read still hold: "unchanged" on a re-apply, and an object of
/// another manager among them stops the apply before anything of it is written.
#[tokio::test]
async fn objects_read_through_one_list_keep_unchanged_and_the_not_ours_refusal() {
    let (_server, cluster) = sim().await;
    let ours = vec![
        cm("default", "a", json!({"x": "1"})),
        cm("default", "b", json!({"x": "2"})),
    ];
    let opts = ApplyOptions::new("stage1");
    let first = apply(&cluster, &ours, &opts, &|_| {}).await.unwrap();
    assert!(
        first
            .objects
            .iter()
            .all(|o| o.result == ApplyResult::Created)
    );
    let again = apply(&cluster, &ours, &opts, &|_| {}).await.unwrap();
    let results: Vec<ApplyResult> = again.objects.iter().map(|o| o.result).collect();
    assert_eq!(
        results,
        vec![ApplyResult::Unchanged, ApplyResult::Unchanged]
    );

    let r = cluster.resolve("v1", "ConfigMap").await.unwrap().unwrap();
    let theirs: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "platform", "namespace": "default"}, "data": {"x": "1"}}))
        .unwrap();
    let pp = PostParams {
        field_manager: Some("team-b".into()),
        ..PostParams::default()
    };
    cluster
        .api(&r.resource, Some("default"))
        .create(&pp, &theirs)
        .await
        .unwrap();
    let k = key("v1", "ConfigMap", Some("default"), "platform");
    let before = get(&cluster, &k).await.unwrap();
    let mut with_theirs = ours.clone();
    with_theirs.push(cm("default", "platform", json!({"x": "2"})));
    let err = apply(&cluster, &with_theirs, &opts, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::NotOurs { .. }), "{err}");
    assert_eq!(
        get(&cluster, &k).await.unwrap()["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"],
        "nothing was written"
    );
}
