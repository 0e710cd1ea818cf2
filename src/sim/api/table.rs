//! `meta.k8s.io/v1` Table responses for `kubectl get`: NAME, the columns kubectl shows for the
//! common built-in kinds (node status/roles/version, pod ready/status/restarts, deployment
//! ready/up-to-date/available, …) or a CRD's `additionalPrinterColumns`, and AGE on the
//! simulated clock. Presentation only.

use serde_json::{Value, json};

use super::json_response;
use super::jsonpath::{self, JsonPath};
use super::read::{age, human_age, human_duration};
use crate::sim::resources::{KindInfo, PrinterColumn};
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

/// kube's Job STATUS: the first of its conditions that is true, in kube's order.
fn job_status(v: &Value) -> String {
    let has = |t: &str| condition(v, t).as_deref() == Some("True");
    if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if v.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else if has("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    }
    .into()
}

/// kube's Job COMPLETIONS: succeeded of completions (`of N` for parallel Jobs without a count).
fn job_completions(v: &Value) -> String {
    let succeeded = n(v, "/status/succeeded");
    match (
        v.pointer("/spec/completions").and_then(Value::as_i64),
        v.pointer("/spec/parallelism").and_then(Value::as_i64),
    ) {
        (Some(want), _) => format!("{succeeded}/{want}"),
        (None, Some(p)) if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    }
}

/// kube's Job DURATION: start to completion, or start to now while it runs.
fn job_duration(v: &Value, now: jiff::Timestamp) -> String {
    let time = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .and_then(crate::sim::clock::parse_rfc3339)
    };
    match (time("/status/startTime"), time("/status/completionTime")) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now.duration_since(start).as_secs()),
        (Some(start), Some(end)) => human_duration(end.duration_since(start).as_secs()),
    }
}

/// kube's access-mode abbreviations, in its order.
fn access_modes(v: &Value, pointer: &str) -> String {
    let modes: Vec<&str> = v
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| modes.contains(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// kube's PVC STATUS (`Terminating` while deleted), and the volume fields it shows only once
/// the claim names a volume.
fn pvc_columns() -> Columns {
    let bound = |v: &Value| !s(v, "/spec/volumeName").is_empty();
    vec![
        ("Status".to_string(), Box::new(phase_or_terminating)),
        (
            "Volume".to_string(),
            Box::new(|v: &Value| s(v, "/spec/volumeName")),
        ),
        (
            "Capacity".to_string(),
            Box::new(move |v: &Value| {
                if bound(v) {
                    s(v, "/status/capacity/storage")
                } else {
                    String::new()
                }
            }),
        ),
        (
            "Access Modes".to_string(),
            Box::new(move |v: &Value| {
                if bound(v) {
                    access_modes(v, "/status/accessModes")
                } else {
                    String::new()
                }
            }),
        ),
        (
            "StorageClass".to_string(),
            Box::new(|v: &Value| {
                match s(
                    v,
                    "/metadata/annotations/volume.beta.kubernetes.io~1storage-class",
                ) {
                    beta if !beta.is_empty() => beta,
                    _ => s(v, "/spec/storageClassName"),
                }
            }),
        ),
        (
            "VolumeAttributesClass".to_string(),
            Box::new(|v: &Value| unset_if_empty(s(v, "/spec/volumeAttributesClassName"))),
        ),
    ]
}

/// kube-apiserver's printer columns of a kind: those before AGE, those after it, and the
/// `-o wide` ones (priority 1) at the end.
fn builtin(kind: &KindInfo, now: jiff::Timestamp) -> (Columns, Columns, Columns) {
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
            vec![],
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
            vec![
                (
                    "IP".to_string(),
                    Box::new(|v: &Value| none(s(v, "/status/podIP"))),
                ),
                (
                    "Node".to_string(),
                    Box::new(|v: &Value| none(s(v, "/spec/nodeName"))),
                ),
                (
                    "Nominated Node".to_string(),
                    Box::new(|v: &Value| none(s(v, "/status/nominatedNodeName"))),
                ),
                ("Readiness Gates".to_string(), Box::new(readiness_gates)),
            ],
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
            workload_wide(),
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
            // Containers and Images (kube shows no selector for StatefulSets).
            workload_wide().into_iter().take(2).collect(),
        ),
        ("batch", "jobs") => (
            vec![
                ("Status".to_string(), Box::new(job_status)),
                ("Completions".to_string(), Box::new(job_completions)),
                (
                    "Duration".to_string(),
                    Box::new(move |v: &Value| job_duration(v, now)),
                ),
            ],
            vec![],
            workload_wide(),
        ),
        ("", "namespaces") => (
            vec![(
                "Status".to_string(),
                Box::new(|v: &Value| s(v, "/status/phase")),
            )],
            vec![],
            vec![],
        ),
        ("", "persistentvolumeclaims") => (pvc_columns(), vec![], volume_mode_wide()),
        ("", "persistentvolumes") => (
            vec![
                (
                    "Capacity".to_string(),
                    Box::new(|v: &Value| s(v, "/spec/capacity/storage")),
                ),
                (
                    "Access Modes".to_string(),
                    Box::new(|v: &Value| access_modes(v, "/spec/accessModes")),
                ),
                (
                    "Reclaim Policy".to_string(),
                    Box::new(|v: &Value| s(v, "/spec/persistentVolumeReclaimPolicy")),
                ),
                ("Status".to_string(), Box::new(phase_or_terminating)),
                (
                    "Claim".to_string(),
                    Box::new(|v: &Value| {
                        match (
                            s(v, "/spec/claimRef/namespace"),
                            s(v, "/spec/claimRef/name"),
                        ) {
                            (_, name) if name.is_empty() => String::new(),
                            (ns, name) => format!("{ns}/{name}"),
                        }
                    }),
                ),
                (
                    "StorageClass".to_string(),
                    Box::new(|v: &Value| s(v, "/spec/storageClassName")),
                ),
                (
                    "VolumeAttributesClass".to_string(),
                    Box::new(|v: &Value| unset_if_empty(s(v, "/spec/volumeAttributesClassName"))),
                ),
                (
                    "Reason".to_string(),
                    Box::new(|v: &Value| s(v, "/status/reason")),
                ),
            ],
            vec![],
            volume_mode_wide(),
        ),
        ("storage.k8s.io", "storageclasses") => (
            vec![
                (
                    "Provisioner".to_string(),
                    Box::new(|v: &Value| s(v, "/provisioner")),
                ),
                (
                    "ReclaimPolicy".to_string(),
                    Box::new(|v: &Value| match s(v, "/reclaimPolicy") {
                        p if p.is_empty() => "Delete".into(),
                        p => p,
                    }),
                ),
                (
                    "VolumeBindingMode".to_string(),
                    Box::new(|v: &Value| match s(v, "/volumeBindingMode") {
                        m if m.is_empty() => "Immediate".into(),
                        m => m,
                    }),
                ),
                (
                    "AllowVolumeExpansion".to_string(),
                    Box::new(|v: &Value| {
                        v.pointer("/allowVolumeExpansion")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                            .to_string()
                    }),
                ),
            ],
            vec![],
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
                    Box::new(|v: &Value| none(s(v, "/spec/clusterIP"))),
                ),
                ("External-IP".to_string(), Box::new(external_ip)),
                ("Port(s)".to_string(), Box::new(service_ports)),
            ],
            vec![],
            vec![(
                "Selector".to_string(),
                Box::new(|v: &Value| none(map_text(v.pointer("/spec/selector")))),
            )],
        ),
        ("", "configmaps") => (
            vec![(
                "Data".to_string(),
                Box::new(|v: &Value| (count(v, "/data") + count(v, "/binaryData")).to_string()),
            )],
            vec![],
            vec![],
        ),
        ("", "secrets") => (
            vec![
                ("Type".to_string(), Box::new(|v: &Value| s(v, "/type"))),
                (
                    "Data".to_string(),
                    Box::new(|v: &Value| count(v, "/data").to_string()),
                ),
            ],
            vec![],
            vec![],
        ),
        ("coordination.k8s.io", "leases") => (
            vec![(
                "Holder".to_string(),
                Box::new(|v: &Value| s(v, "/spec/holderIdentity")),
            )],
            vec![],
            vec![],
        ),
        _ => (vec![], vec![], vec![]),
    }
}

/// kube's STATUS of a volume or claim: its phase, or `Terminating` while it is deleted.
fn phase_or_terminating(v: &Value) -> String {
    if v.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating".into()
    } else {
        s(v, "/status/phase")
    }
}

/// The `-o wide` VOLUMEMODE column of volumes and claims.
fn volume_mode_wide() -> Columns {
    vec![(
        "VolumeMode".to_string(),
        Box::new(|v: &Value| unset_if_empty(s(v, "/spec/volumeMode"))),
    )]
}

/// kube's `<unset>` for an optional field that is not set.
fn unset_if_empty(text: String) -> String {
    if text.is_empty() {
        "<unset>".into()
    } else {
        text
    }
}

fn none(text: String) -> String {
    if text.is_empty() {
        "<none>".into()
    } else {
        text
    }
}

fn count(v: &Value, p: &str) -> usize {
    v.pointer(p)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

fn map_text(v: Option<&Value>) -> String {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn readiness_gates(v: &Value) -> String {
    let gates: Vec<&Value> = v
        .pointer("/spec/readinessGates")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if gates.is_empty() {
        return "<none>".into();
    }
    let ready = gates
        .iter()
        .filter(|g| {
            condition(v, g["conditionType"].as_str().unwrap_or("")).as_deref() == Some("True")
        })
        .count();
    format!("{ready}/{}", gates.len())
}

fn external_ip(v: &Value) -> String {
    let mut ips: Vec<String> = v
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if s(v, "/spec/type") == "LoadBalancer" {
        let lb: Vec<String> = v
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| {
                        let ip = s(i, "/ip");
                        if ip.is_empty() { s(i, "/hostname") } else { ip }
                    })
                    .collect()
            })
            .unwrap_or_default();
        if lb.is_empty() && ips.is_empty() {
            return "<pending>".into();
        }
        ips.extend(lb);
    }
    if s(v, "/spec/type") == "ExternalName" {
        return s(v, "/spec/externalName");
    }
    none(ips.join(","))
}

fn service_ports(v: &Value) -> String {
    let ports: Vec<String> = v
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|p| {
                    let proto = match s(p, "/protocol") {
                        x if x.is_empty() => "TCP".to_string(),
                        x => x,
                    };
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(np) => format!("{}:{np}/{proto}", n(p, "/port")),
                        None => format!("{}/{proto}", n(p, "/port")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    none(ports.join(","))
}

/// Containers, Images and Selector of workloads (`-o wide`).
fn workload_wide() -> Columns {
    let containers = |v: &Value, field: &str| {
        v.pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|c| s(c, field)).collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    };
    vec![
        (
            "Containers".to_string(),
            Box::new(move |v: &Value| containers(v, "/name")),
        ),
        (
            "Images".to_string(),
            Box::new(move |v: &Value| containers(v, "/image")),
        ),
        (
            "Selector".to_string(),
            Box::new(|v: &Value| {
                let sel = v.pointer("/spec/selector");
                let mut parts = vec![map_text(sel.and_then(|s| s.get("matchLabels")))];
                parts.retain(|p| !p.is_empty());
                none(parts.join(","))
            }),
        ),
    ]
}

/// The NAME cell: the object's name; a default StorageClass reads `gp3-csi (default)`.
fn name_cell(kind: &KindInfo, o: &Value) -> Value {
    let name = o.pointer("/metadata/name").cloned().unwrap_or(Value::Null);
    let default = super::write::is_default_storage_class(o);
    match name.as_str() {
        Some(n) if kind.group == "storage.k8s.io" && kind.plural == "storageclasses" && default => {
            json!(format!("{n} (default)"))
        }
        _ => name,
    }
}

fn column(name: &str, format: &str, priority: u8) -> Value {
    json!({"name": name, "type": "string", "format": format, "description": name, "priority": priority})
}

/// The `description` kube gives a column of ObjectMeta's field `field` (its API doc).
fn meta_description(field: &str) -> String {
    crate::sim::schema::data::builtin_property_description(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        field,
    )
    .unwrap_or_default()
}

/// A CRD's table, as apiextensions-apiserver's tableconvertor makes it: NAME, then the
/// version's `additionalPrinterColumns` in order (or AGE when it declares none), each cell the
/// first value its JSONPath selects, typed by the column's `type` (`null` when nothing is
/// selected or the path fails).
fn custom_columns(kind: &KindInfo) -> Vec<PrinterColumn> {
    if kind.printer_columns.is_empty() {
        return vec![PrinterColumn {
            name: "Age".into(),
            type_: "date".into(),
            format: String::new(),
            description: meta_description("creationTimestamp"),
            priority: 0,
            json_path: ".metadata.creationTimestamp".into(),
        }];
    }
    kind.printer_columns.clone()
}

fn custom_cell(shared: &Shared, col: &PrinterColumn, path: Option<&JsonPath>, o: &Value) -> Value {
    let Some(value) = path
        .and_then(|p| p.find(o).ok())
        .and_then(|found| found.first().copied())
    else {
        return Value::Null;
    };
    match col.type_.as_str() {
        "string" => json!(jsonpath::print(value)),
        "integer" => match value {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map_or(Value::Null, Value::from),
            _ => Value::Null,
        },
        "number" => value.as_f64().map_or(Value::Null, Value::from),
        "boolean" => value.as_bool().map_or(Value::Null, Value::from),
        "date" => match value.as_str() {
            Some(text) => match crate::sim::clock::parse_rfc3339(text) {
                Some(ts) => json!(human_age(shared, ts)),
                None => json!("<invalid>"),
            },
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

/// A Table of `items` (already at the requested version).
pub fn response(
    kind: &KindInfo,
    items: &[Value],
    rv: &str,
    shared: &Shared,
) -> axum::response::Response {
    let (before, after, wide) = builtin(kind, shared.config.clock.now());
    let custom = if kind.custom {
        custom_columns(kind)
    } else {
        Vec::new()
    };
    let paths: Vec<Option<JsonPath>> = custom
        .iter()
        .map(|c| JsonPath::parse(&c.json_path).ok())
        .collect();
    // Kinds kube-apiserver serves with its default table convertor: NAME and CREATED AT.
    let default_convertor =
        kind.group == "apiextensions.k8s.io" && kind.plural == "customresourcedefinitions";
    let mut columns = vec![column("Name", "name", 0)];
    columns[0]["description"] = json!(meta_description("name"));
    if default_convertor {
        columns.push(json!({"name": "Created At", "type": "date", "format": "",
            "description": meta_description("creationTimestamp"), "priority": 0}));
    } else if kind.custom {
        columns.extend(custom.iter().map(|c| {
            let description = if c.description.is_empty() {
                format!(
                    "Custom resource definition column (in JSONPath format): {}",
                    c.json_path
                )
            } else {
                c.description.clone()
            };
            json!({"name": c.name, "type": c.type_, "format": c.format,
                   "description": description, "priority": c.priority})
        }));
    } else {
        columns.extend(before.iter().map(|(n, _)| column(n, "", 0)));
        let mut age_column = column("Age", "", 0);
        age_column["description"] = json!(meta_description("creationTimestamp"));
        columns.push(age_column);
        columns.extend(after.iter().map(|(n, _)| column(n, "", 0)));
        columns.extend(wide.iter().map(|(n, _)| column(n, "", 1)));
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![name_cell(kind, o)];
            if default_convertor {
                cells.push(
                    o.pointer("/metadata/creationTimestamp")
                        .and_then(Value::as_str)
                        .and_then(crate::sim::clock::parse_rfc3339)
                        .map_or(Value::Null, |ts| json!(crate::sim::clock::rfc3339(ts))),
                );
            } else if kind.custom {
                cells.extend(
                    custom
                        .iter()
                        .zip(&paths)
                        .map(|(c, p)| custom_cell(shared, c, p.as_ref(), o)),
                );
            } else {
                cells.extend(before.iter().map(|(_, f)| json!(f(o))));
                cells.push(json!(age(shared, o)));
                cells.extend(after.iter().map(|(_, f)| json!(f(o))));
                cells.extend(wide.iter().map(|(_, f)| json!(f(o))));
            }
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
