//! `meta.k8s.io/v1` Table responses for `kubectl get`: NAME, the columns kubectl shows for the
//! common built-in kinds (node status/roles/version, pod ready/status/restarts, deployment
//! ready/up-to-date/available, …) or a CRD's `additionalPrinterColumns`, and AGE on the
//! simulated clock. Presentation only.

use serde_json::{Value, json};

use super::json_response;
use super::read::{age, json_path};
use crate::sim::resources::KindInfo;
use crate::sim::server::Shared;

type Cell = Box<dyn Fn(&Value) -> String>;
/// Named columns.
type Columns = Vec<(String, Cell)>;

fn s(v: &Value, p: &str) -> String {
    match v.pointer(p) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(x) => x.to_string(),
    }
}

fn n(v: &Value, p: &str) -> i64 {
    v.pointer(p).and_then(Value::as_i64).unwrap_or(0)
}

fn condition(v: &Value, t: &str) -> Option<String> {
    v.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)
        .and_then(|c| c["status"].as_str())
        .map(str::to_string)
}

fn node_status(v: &Value) -> String {
    let mut st = match condition(v, "Ready").as_deref() {
        Some("True") => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if v.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        st.push_str(",SchedulingDisabled");
    }
    st
}

fn node_roles(v: &Value) -> String {
    let roles: Vec<&str> = v
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect()
        })
        .unwrap_or_default();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

fn pod_status(v: &Value) -> String {
    if v.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    let statuses = v
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    for c in statuses.into_iter().flatten() {
        for state in ["waiting", "terminated"] {
            if let Some(r) = c
                .pointer(&format!("/state/{state}/reason"))
                .and_then(Value::as_str)
            {
                return r.to_string();
            }
        }
    }
    s(v, "/status/phase")
}

fn pod_ready(v: &Value) -> String {
    let total = v
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let ready = v
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |a| a.iter().filter(|c| c["ready"] == true).count());
    format!("{ready}/{total}")
}

fn job_status(v: &Value) -> String {
    if condition(v, "Complete").as_deref() == Some("True") {
        "Complete".into()
    } else if condition(v, "Failed").as_deref() == Some("True") {
        "Failed".into()
    } else if v.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        "Suspended".into()
    } else {
        "Running".into()
    }
}

/// Columns before AGE and after it, for kinds kubectl prints specially.
fn builtin(kind: &KindInfo) -> (Columns, Columns) {
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "nodes") => (
            vec![
                ("Status".to_string(), Box::new(node_status)),
                ("Roles".to_string(), Box::new(node_roles)),
            ],
            vec![(
                "Version".to_string(),
                Box::new(|v: &Value| s(v, "/status/nodeInfo/kubeletVersion")),
            )],
        ),
        ("", "pods") => (
            vec![
                ("Ready".to_string(), Box::new(pod_ready)),
                ("Status".to_string(), Box::new(pod_status)),
                (
                    "Restarts".to_string(),
                    Box::new(|v: &Value| {
                        let total: i64 = v
                            .pointer("/status/containerStatuses")
                            .and_then(Value::as_array)
                            .map(|a| a.iter().map(|c| n(c, "/restartCount")).sum())
                            .unwrap_or(0);
                        total.to_string()
                    }),
                ),
            ],
            vec![],
        ),
        ("apps", "deployments") => (
            vec![
                (
                    "Ready".to_string(),
                    Box::new(|v: &Value| {
                        format!(
                            "{}/{}",
                            n(v, "/status/readyReplicas"),
                            n(v, "/spec/replicas")
                        )
                    }),
                ),
                (
                    "Up-to-date".to_string(),
                    Box::new(|v: &Value| n(v, "/status/updatedReplicas").to_string()),
                ),
                (
                    "Available".to_string(),
                    Box::new(|v: &Value| n(v, "/status/availableReplicas").to_string()),
                ),
            ],
            vec![],
        ),
        ("apps", "statefulsets") => (
            vec![(
                "Ready".to_string(),
                Box::new(|v: &Value| {
                    format!(
                        "{}/{}",
                        n(v, "/status/readyReplicas"),
                        n(v, "/spec/replicas")
                    )
                }),
            )],
            vec![],
        ),
        ("batch", "jobs") => (
            vec![
                ("Status".to_string(), Box::new(job_status)),
                (
                    "Completions".to_string(),
                    Box::new(|v: &Value| {
                        let want = v
                            .pointer("/spec/completions")
                            .and_then(Value::as_i64)
                            .unwrap_or(1);
                        format!("{}/{want}", n(v, "/status/succeeded"))
                    }),
                ),
            ],
            vec![],
        ),
        ("", "namespaces") => (
            vec![(
                "Status".to_string(),
                Box::new(|v: &Value| s(v, "/status/phase")),
            )],
            vec![],
        ),
        ("", "persistentvolumeclaims") => (
            vec![
                (
                    "Status".to_string(),
                    Box::new(|v: &Value| s(v, "/status/phase")),
                ),
                (
                    "Volume".to_string(),
                    Box::new(|v: &Value| s(v, "/spec/volumeName")),
                ),
                (
                    "Capacity".to_string(),
                    Box::new(|v: &Value| s(v, "/status/capacity/storage")),
                ),
                (
                    "StorageClass".to_string(),
                    Box::new(|v: &Value| s(v, "/spec/storageClassName")),
                ),
            ],
            vec![],
        ),
        ("", "services") => (
            vec![
                (
                    "Type".to_string(),
                    Box::new(|v: &Value| {
                        let t = s(v, "/spec/type");
                        if t.is_empty() { "ClusterIP".into() } else { t }
                    }),
                ),
                (
                    "Cluster-IP".to_string(),
                    Box::new(|v: &Value| s(v, "/spec/clusterIP")),
                ),
            ],
            vec![],
        ),
        _ => (
            kind.printer_columns
                .iter()
                .filter(|(name, _)| name != "Age")
                .map(|(name, path)| {
                    let path = path.clone();
                    (
                        name.clone(),
                        Box::new(move |v: &Value| json_path(v, &path)) as Cell,
                    )
                })
                .collect(),
            vec![],
        ),
    }
}

fn column(name: &str, format: &str) -> Value {
    json!({"name": name, "type": "string", "format": format, "description": name, "priority": 0})
}

/// A Table of `items` (already at the requested version).
pub fn response(
    kind: &KindInfo,
    items: &[Value],
    rv: &str,
    shared: &Shared,
) -> axum::response::Response {
    let (before, after) = builtin(kind);
    let mut columns = vec![column("Name", "name")];
    columns.extend(before.iter().map(|(n, _)| column(n, "")));
    columns.push(column("Age", ""));
    columns.extend(after.iter().map(|(n, _)| column(n, "")));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o.pointer("/metadata/name").cloned().unwrap_or(Value::Null)];
            cells.extend(before.iter().map(|(_, f)| json!(f(o))));
            cells.push(json!(age(shared, o)));
            cells.extend(after.iter().map(|(_, f)| json!(f(o))));
            let partial = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
            });
            json!({"cells": cells, "object": partial})
        })
        .collect();
    let mut meta = json!({});
    if !rv.is_empty() {
        meta["resourceVersion"] = json!(rv);
    }
    json_response(
        200,
        &json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
            "columnDefinitions": columns,
            "rows": rows,
        }),
    )
}
