//! The machine's kubectl (v1.32) against the simulated API server over HTTPS with a kubeconfig:
//! `api-resources`, `apply --server-side`, client-side `apply`, `get -o json`, `wait`,
//! `delete`, `kubectl kustomize DIR | kubectl apply -f -`, the client-side → server-side apply
//! upgrade, `diff`, `auth can-i`/`whoami` with `--as`. Skipped (with a printed reason) only
//! when kubectl is not installed.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use democtl::sim::{ServerConfig, SimClock, SimServer};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

struct Kubectl {
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    cache: PathBuf,
    srv: SimServer,
}

#[allow(clippy::print_stderr)]
async fn kubectl() -> Option<Kubectl> {
    let present = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    if !present {
        eprintln!("SKIPPED: kubectl is not installed; the kubectl compatibility tests did not run");
        return None;
    }
    let cfg = ServerConfig {
        tls: true,
        clock: SimClock::new(1000.0),
        crd_establish_delay: Duration::from_secs(1),
        ..Default::default()
    };
    let srv = SimServer::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    srv.write_kubeconfig(&kubeconfig).unwrap();
    let cache = dir.path().join("cache");
    Some(Kubectl {
        _dir: dir,
        kubeconfig,
        cache,
        srv,
    })
}

impl Kubectl {
    /// Runs kubectl; returns (exit ok, stdout, stderr).
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut cmd = Command::new("kubectl");
        cmd.args(args)
            .arg("--cache-dir")
            .arg(&self.cache)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).await.unwrap();
            drop(pipe);
        }
        let out = child.wait_with_output().await.unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args, None).await;
        assert!(ok, "kubectl {args:?} failed: {err}\n{out}");
        out
    }
}

const MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: demo
data:
  a: "1"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_resources_lists_kinds_with_short_names() {
    let Some(k) = kubectl().await else { return };
    let out = k.ok(&["api-resources"]).await;
    let rows: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.contains(&vec![
            "deployments",
            "deploy",
            "apps/v1",
            "true",
            "Deployment"
        ]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["namespaces", "ns", "v1", "false", "Namespace"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec![
            "customresourcedefinitions",
            "crd,crds",
            "apiextensions.k8s.io/v1",
            "false",
            "CustomResourceDefinition"
        ]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["secrets", "v1", "true", "Secret"]),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_get_wait_and_delete() {
    let Some(k) = kubectl().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "m.yaml", MANIFEST);
    let file = file.to_str().unwrap();
    let out = k.ok(&["apply", "--server-side", "-f", file]).await;
    assert_eq!(
        out,
        "namespace/demo serverside-applied\nconfigmap/cfg serverside-applied\ndeployment.apps/web serverside-applied\n"
    );
    // Re-applying is idempotent: same resourceVersion.
    let before: Value = serde_json::from_str(
        &k.ok(&["get", "cm", "cfg", "-n", "demo", "-o", "json"])
            .await,
    )
    .unwrap();
    k.ok(&["apply", "--server-side", "-f", file]).await;
    let cm: Value = serde_json::from_str(
        &k.ok(&[
            "get",
            "cm",
            "cfg",
            "-n",
            "demo",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await,
    )
    .unwrap();
    assert_eq!(
        cm["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    assert_eq!(cm["data"]["a"], "1");
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(cm["metadata"]["managedFields"][0]["operation"], "Apply");

    // A conflicting server-side apply by another manager fails naming the owner.
    let other = write(
        dir.path(),
        "o.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: demo\ndata:\n  a: \"2\"\n",
    );
    let (ok, _, err) = k
        .run(
            &[
                "apply",
                "--server-side",
                "--field-manager",
                "someone",
                "-f",
                other.to_str().unwrap(),
            ],
            None,
        )
        .await;
    assert!(!ok);
    assert!(err.contains("conflict with \"kubectl\""), "{err}");

    // kubectl wait on a condition set through the status subresource by "a controller".
    let client = k.srv.client().unwrap();
    let waiter = {
        let kc = k.kubeconfig.clone();
        let cache = k.cache.clone();
        tokio::spawn(async move {
            Command::new("kubectl")
                .args([
                    "wait",
                    "--for=condition=Available",
                    "deployment/web",
                    "-n",
                    "demo",
                    "--timeout=30s",
                ])
                .arg("--cache-dir")
                .arg(cache)
                .env("KUBECONFIG", kc)
                .output()
                .await
                .unwrap()
        })
    };
    let deploys: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client, "demo");
    deploys
        .patch_status(
            "web",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(serde_json::json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}})),
        )
        .await
        .unwrap();
    let waited = waiter.await.unwrap();
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&waited.stdout),
        "deployment.apps/web condition met\n"
    );

    let out = k.ok(&["delete", "deployment", "web", "-n", "demo"]).await;
    assert_eq!(out, "deployment.apps \"web\" deleted\n");
    let (ok, _, err) = k
        .run(&["get", "deployment", "web", "-n", "demo"], None)
        .await;
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "Error from server (NotFound): deployments.apps \"web\" not found"
    );
    let out = k.ok(&["delete", "namespace", "demo"]).await;
    assert_eq!(out, "namespace \"demo\" deleted\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_output_pipes_into_client_side_apply() {
    let Some(k) = kubectl().await else { return };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", MANIFEST);
    write(
        dir.path(),
        "kustomization.yaml",
        "resources:\n- m.yaml\ncommonLabels:\n  team: demo\n",
    );
    let rendered = k.ok(&["kustomize", dir.path().to_str().unwrap()]).await;
    let (ok, out, err) = k.run(&["apply", "-f", "-"], Some(&rendered)).await;
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "namespace/demo created\nconfigmap/cfg created\ndeployment.apps/web created\n"
    );
    let d: Value = serde_json::from_str(
        &k.ok(&["get", "deploy", "web", "-n", "demo", "-o", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(d["metadata"]["labels"]["team"], "demo");
    assert!(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    // Applying again changes nothing.
    let (ok, out, _) = k.run(&["apply", "-f", "-"], Some(&rendered)).await;
    assert!(ok);
    assert_eq!(
        out,
        "namespace/demo unchanged\nconfigmap/cfg unchanged\ndeployment.apps/web unchanged\n"
    );
}

/// kubectl's typed generators send protobuf bodies (`application/vnd.kubernetes.protobuf`).
#[tokio::test]
async fn create_generators_send_protobuf_bodies() {
    let Some(k) = kubectl().await else { return };
    k.ok(&["create", "namespace", "pb"]).await;
    k.ok(&[
        "-n",
        "pb",
        "create",
        "configmap",
        "c1",
        "--from-literal=a=1",
        "--from-literal=b=two",
    ])
    .await;
    k.ok(&[
        "-n",
        "pb",
        "create",
        "secret",
        "generic",
        "s1",
        "--from-literal=k=v",
    ])
    .await;
    k.ok(&[
        "-n",
        "pb",
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
    ])
    .await;
    let cm: Value = serde_json::from_str(
        &k.ok(&["-n", "pb", "get", "configmap", "c1", "-o", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(cm["data"], serde_json::json!({"a": "1", "b": "two"}));
    let s: Value = serde_json::from_str(
        &k.ok(&["-n", "pb", "get", "secret", "s1", "-o", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(
        (s["type"].as_str(), s["data"]["k"].as_str()),
        (Some("Opaque"), Some("dg=="))
    );
    let d: Value = serde_json::from_str(
        &k.ok(&["-n", "pb", "get", "deploy", "web", "-o", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(
        k.ok(&["auth", "can-i", "create", "pods"]).await.trim(),
        "yes"
    );
}

fn managers(obj: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(obj).unwrap();
    v["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["manager"].as_str().unwrap().to_string(),
                e["operation"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn csa_cm(v: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: csa, namespace: default}}\ndata: {{a: \"{v}\"}}\n"
    )
}

/// `kubectl apply` then `kubectl apply --server-side`: the server lets `kubectl` take over the
/// fields client-side apply recorded in the last-applied annotation (no conflict), and kubectl
/// then moves the annotation to `kubectl-last-applied` and folds `kubectl-client-side-apply`
/// into `kubectl` — as kube-apiserver v1.36 answers the same sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_upgrades_to_server_side_apply() {
    let Some(k) = kubectl().await else { return };
    let (ok, _, err) = k.run(&["apply", "-f", "-"], Some(&csa_cm("1"))).await;
    assert!(ok, "{err}");
    let (ok, out, err) = k.run(&["apply", "-f", "-"], Some(&csa_cm("2"))).await;
    assert!(ok, "{err}");
    assert_eq!(out, "configmap/csa configured\n");
    let get = [
        "get",
        "cm",
        "csa",
        "-n",
        "default",
        "-o",
        "json",
        "--show-managed-fields",
    ];
    let got = k.ok(&get).await;
    assert_eq!(
        managers(&got),
        [("kubectl-client-side-apply".into(), "Update".into())]
    );
    let (ok, out, err) = k
        .run(&["apply", "--server-side", "-f", "-"], Some(&csa_cm("3")))
        .await;
    assert!(ok, "{err}");
    assert_eq!(out, "configmap/csa serverside-applied\n");
    let got = k.ok(&get).await;
    assert_eq!(
        managers(&got),
        [
            ("kubectl-last-applied".to_string(), "Apply".to_string()),
            ("kubectl".to_string(), "Apply".to_string())
        ]
    );
    let v: Value = serde_json::from_str(&got).unwrap();
    assert_eq!(v["data"]["a"], "3");
    // The server keeps the annotation in step with what kubectl applied.
    let last = v["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap();
    assert_eq!(
        last,
        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"3\"},\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"csa\",\"namespace\":\"default\"}}\n"
    );
    // Another manager still conflicts on the field.
    let (ok, _, err) = k
        .run(
            &[
                "apply",
                "--server-side",
                "--field-manager",
                "other",
                "-f",
                "-",
            ],
            Some(&csa_cm("4")),
        )
        .await;
    assert!(!ok);
    assert!(err.contains("conflict with \"kubectl\""), "{err}");
}

/// `kubectl diff` of an object just created from the same manifest shows nothing: the dry-run
/// patch's `annotations: {}` is not kept (kube drops empty metadata maps), so LIVE and MERGED
/// are equal and diff exits 0; a changed value exits 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_an_unchanged_object_is_empty() {
    let Some(k) = kubectl().await else { return };
    let cm = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: d, namespace: default}}\ndata: {{a: \"{v}\"}}\n"
        )
    };
    let (ok, _, err) = k.run(&["create", "-f", "-"], Some(&cm("1"))).await;
    assert!(ok, "{err}");
    let (ok, out, err) = k.run(&["diff", "-f", "-"], Some(&cm("1"))).await;
    assert!(ok, "diff reported a change: {out}{err}");
    assert_eq!(out, "");
    let (ok, out, _) = k.run(&["diff", "-f", "-"], Some(&cm("2"))).await;
    assert!(!ok);
    let changed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("- ") || l.starts_with("+ "))
        .collect();
    assert_eq!(changed, ["-  a: \"1\"", "+  a: \"2\""]);
    // The stored object has no empty annotations either.
    let got: Value = serde_json::from_str(
        &k.ok(&["get", "cm", "d", "-n", "default", "-o", "json"])
            .await,
    )
    .unwrap();
    assert!(got["metadata"].get("annotations").is_none(), "{got}");
}

/// `kubectl auth` with impersonation: a service account without bindings may not list secrets
/// (kube's `no`, exit 1, and the 403 of a real request), the admin may; `--list` shows the
/// bootstrap rules every authenticated user has; `whoami --as` reports the impersonated user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_can_i_and_whoami_with_impersonation() {
    let Some(k) = kubectl().await else { return };
    let nobody = "--as=system:serviceaccount:default:nobody";
    let (ok, out, _) = k
        .run(
            &[
                "auth",
                "can-i",
                "list",
                "secrets",
                "-n",
                "kube-system",
                nobody,
            ],
            None,
        )
        .await;
    assert!(!ok);
    assert_eq!(out, "no\n");
    let (ok, out, _) = k
        .run(
            &["auth", "can-i", "list", "secrets", "-n", "kube-system"],
            None,
        )
        .await;
    assert!(ok);
    assert_eq!(out, "yes\n");
    let (ok, _, err) = k
        .run(&["get", "secrets", "-n", "kube-system", nobody], None)
        .await;
    assert!(!ok);
    assert!(
        err.contains("User \"system:serviceaccount:default:nobody\" cannot list resource \"secrets\" in API group \"\" in the namespace \"kube-system\""),
        "{err}"
    );
    let rules = k.ok(&["auth", "can-i", "--list", nobody]).await;
    assert!(
        rules.contains("selfsubjectaccessreviews.authorization.k8s.io"),
        "{rules}"
    );
    assert!(!rules.contains("*.*"), "{rules}");
    let who: Value =
        serde_json::from_str(&k.ok(&["auth", "whoami", "-o", "json", nobody]).await).unwrap();
    assert_eq!(
        who["status"]["userInfo"]["username"],
        "system:serviceaccount:default:nobody"
    );
    assert_eq!(
        who["status"]["userInfo"]["groups"],
        serde_json::json!([
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ])
    );
}

const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    additionalPrinterColumns:
    - {name: Ready, type: string, jsonPath: ".status.conditions[?(@.type==\"Ready\")].status"}
    - {name: Latest, type: integer, jsonPath: ".status.traffic[?(@.latestRevision==true)].percent"}
    - {name: Formats, type: string, jsonPath: ".spec.formats[*].name"}
    - {name: Missing, type: string, jsonPath: ".status.nothing.here"}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    - {name: Started, type: date, priority: 1, jsonPath: .status.startTime}
    - {name: Reason, type: string, priority: 1, jsonPath: ".status.conditions[?(@.type=='Ready')].reason"}
"#;

const WIDGET: &str = r#"apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: default}
spec:
  formats: [{name: vLLM}, {name: pt}]
status:
  startTime: "2020-01-01T00:00:00Z"
  conditions:
  - {type: Progressing, status: "True"}
  - {type: Ready, status: "False", reason: Starting}
  traffic:
  - {tag: prev, percent: 10}
  - {latestRevision: true, percent: 90}
"#;

/// A custom resource's columns are evaluated as kube-apiserver does: client-go JSONPath with
/// filters (checked against kubectl's own JSONPath on the same object), typed cells, priority
/// columns only with `-o wide`, dates as ages; CRDs themselves list NAME and CREATED AT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resource_columns_follow_their_json_paths_and_priorities() {
    let Some(k) = kubectl().await else { return };
    let (ok, _, err) = k.run(&["create", "-f", "-"], Some(WIDGET_CRD)).await;
    assert!(ok, "{err}");
    k.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=30s",
    ])
    .await;
    let mut created = false;
    for _ in 0..50 {
        if k.run(&["create", "-f", "-"], Some(WIDGET)).await.0 {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(created, "the Widget could not be created");

    let table = k.ok(&["get", "widgets", "-n", "default"]).await;
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["NAME", "READY", "LATEST", "FORMATS", "MISSING", "AGE"],
        "{table}"
    );
    // The first value a path selects; nothing selected is an empty cell.
    assert_eq!(rows[1][..4], ["w", "False", "90", "vLLM"], "{table}");
    assert_eq!(rows[1].len(), 5, "MISSING is empty: {table}");
    assert!(
        rows[1][4].ends_with('s') || rows[1][4].ends_with('m'),
        "{table}"
    );

    let wide = k
        .ok(&["get", "widgets", "-n", "default", "-o", "wide"])
        .await;
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "READY", "LATEST", "FORMATS", "MISSING", "AGE", "STARTED", "REASON"
        ],
        "{wide}"
    );
    let row: Vec<&str> = wide.lines().nth(1).unwrap().split_whitespace().collect();
    // A date long past reads in years and days, as kube's HumanDuration writes it.
    assert!(row[5].contains('y'), "{wide}");
    assert_eq!(row[6], "Starting", "{wide}");

    // kubectl's own client-go JSONPath on the same object agrees with the server's cells.
    for (path, cell) in [
        (".status.conditions[?(@.type==\"Ready\")].status", "False"),
        (".status.traffic[?(@.latestRevision==true)].percent", "90"),
        (".status.conditions[?(@.type=='Ready')].reason", "Starting"),
    ] {
        let out = k
            .ok(&[
                "get",
                "widget",
                "w",
                "-n",
                "default",
                "-o",
                &format!("jsonpath={{{path}}}"),
            ])
            .await;
        assert_eq!(out, cell, "{path}");
    }

    let crds = k.ok(&["get", "crd", "widgets.example.com"]).await;
    let header: Vec<&str> = crds.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "CREATED", "AT"], "{crds}");
    assert!(crds.contains("widgets.example.com   20"), "{crds}");
}

/// kube-apiserver's `DefaultStorageClass` admission and the storage and Job tables: a claim
/// without a class gets the default one (`""` asks for none), `kubectl get sc` marks the
/// default, PVC/PV/Job tables have kube's columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_get_the_default_storage_class_and_tables_have_kubes_columns() {
    let Some(k) = kubectl().await else { return };
    let classes = r#"apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: slow}
provisioner: example.com/slow
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: example.com/fast
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: slow
  hostPath: {path: /tmp/pv1}
"#;
    let (ok, _, err) = k.run(&["create", "-f", "-"], Some(classes)).await;
    assert!(ok, "{err}");
    let claims = r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: plain, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: none, namespace: default}
spec: {storageClassName: "", accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: default}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: x}]}}}
"#;
    let (ok, _, err) = k.run(&["create", "-f", "-"], Some(claims)).await;
    assert!(ok, "{err}");
    let class_of = |name: &'static str| {
        let k = &k;
        async move {
            k.ok(&[
                "get",
                "pvc",
                name,
                "-n",
                "default",
                "-o",
                "jsonpath={.spec.storageClassName}",
            ])
            .await
        }
    };
    assert_eq!(class_of("plain").await, "fast");
    assert_eq!(class_of("none").await, "");

    let sc = k.ok(&["get", "sc"]).await;
    let rows: Vec<Vec<&str>> = sc.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows[0],
        [
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE"
        ],
        "{sc}"
    );
    assert!(
        rows.iter().any(|r| r[..6]
            == [
                "fast",
                "(default)",
                "example.com/fast",
                "Delete",
                "WaitForFirstConsumer",
                "true"
            ]),
        "{sc}"
    );
    assert!(
        rows.iter()
            .any(|r| r[..5] == ["slow", "example.com/slow", "Delete", "Immediate", "false"]),
        "{sc}"
    );

    let pvc = k.ok(&["get", "pvc", "-n", "default"]).await;
    let header: Vec<&str> = pvc.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE"
        ],
        "{pvc}"
    );
    let jobs = k.ok(&["get", "jobs", "-n", "default"]).await;
    let header: Vec<&str> = jobs.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        "{jobs}"
    );
    let pv = k.ok(&["get", "pv"]).await;
    let rows: Vec<Vec<&str>> = pv.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows[0],
        [
            "NAME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "RECLAIM",
            "POLICY",
            "STATUS",
            "CLAIM",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "REASON",
            "AGE"
        ],
        "{pv}"
    );
    assert_eq!(rows[1][..4], ["pv1", "2Gi", "RWO,RWX", "Retain"], "{pv}");
}
