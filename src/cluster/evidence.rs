//! Evidence for "why is it not ready": the object's pods (waiting reasons, scheduler messages,
//! failed containers), recent Warning events, and the last log lines of the relevant container.
//! Read-only; failures to collect evidence are swallowed (evidence is best effort).

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;

use super::client::Cluster;
use super::object::{ObjectKey, str_at};
use crate::readiness::{self, AssessContext};

/// How many log lines to show.
pub const LOG_LINES: i64 = 10;
/// How many Warning events to show.
pub const EVENTS: usize = 5;

/// Objects related to one waited-on object, passed to `readiness::evaluate`.
#[derive(Debug, Clone, Default)]
pub struct Related {
    pub pods: Vec<Value>,
    pub events: Vec<Value>,
    pub storage_classes: Vec<Value>,
}

impl Related {
    /// Fetches the pods (by the object's selector), their and the object's Warning events, and
    /// StorageClasses for PVCs.
    pub async fn fetch(cluster: &Cluster, obj: &Value) -> Related {
        let Some(key) = ObjectKey::from_value(obj) else {
            return Related::default();
        };
        let mut related = Related::default();
        if key.kind == "PersistentVolumeClaim" {
            related.storage_classes =
                list(cluster, "storage.k8s.io/v1", "StorageClass", None, None).await;
        }
        if let (Some(selector), Some(ns)) = (
            readiness::related::pod_selector(obj),
            key.namespace.as_deref(),
        ) {
            related.pods = list(cluster, "v1", "Pod", Some(ns), Some(&selector)).await;
        }
        if let Some(ns) = key.namespace.as_deref() {
            let mut names: Vec<String> = vec![key.name.clone()];
            names.extend(
                related
                    .pods
                    .iter()
                    .filter_map(|p| str_at(p, "/metadata/name").map(str::to_string)),
            );
            related.events = warning_events(cluster, ns, &names).await;
        }
        related
    }
}

/// True when readiness of this object depends on its pods, events or storage classes.
pub fn needs_pods(obj: &Value) -> bool {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    kind == "PersistentVolumeClaim" || readiness::related::pod_selector(obj).is_some()
}

async fn list(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Vec<Value> {
    let Ok(Some(r)) = cluster.resolve(api_version, kind).await else {
        return Vec::new();
    };
    let mut lp = ListParams::default();
    if let Some(s) = selector {
        lp = lp.labels(s);
    }
    let ns = if r.namespaced { namespace } else { None };
    cluster
        .list_values(&r.resource, ns, &lp, || format!("`{kind}`"))
        .await
        .unwrap_or_default()
}

async fn warning_events(cluster: &Cluster, ns: &str, names: &[String]) -> Vec<Value> {
    let Ok(Some(r)) = cluster.resolve("v1", "Event").await else {
        return Vec::new();
    };
    let lp = ListParams::default().fields("type=Warning");
    let Ok(list) = cluster
        .list_values(&r.resource, Some(ns), &lp, || format!("`Event` in `{ns}`"))
        .await
    else {
        return Vec::new();
    };
    let mut events: Vec<Value> = list
        .into_iter()
        .filter(|e| {
            str_at(e, "/type").is_none_or(|t| t == "Warning")
                && str_at(e, "/involvedObject/name").is_some_and(|n| names.iter().any(|x| x == n))
        })
        .collect();
    events.sort_by(|a, b| event_time(a).cmp(event_time(b)));
    events
}

fn event_time(e: &Value) -> &str {
    str_at(e, "/lastTimestamp")
        .or_else(|| str_at(e, "/eventTime"))
        .or_else(|| str_at(e, "/metadata/creationTimestamp"))
        .unwrap_or("")
}

/// Human evidence lines for one object: pod problems, Warning events, last log lines.
pub async fn collect(cluster: &Cluster, key: &ObjectKey) -> Vec<String> {
    let Ok(Some(r)) = cluster.resolve(&key.api_version, &key.kind).await else {
        return Vec::new();
    };
    let obj = match cluster
        .get_value(&r.resource, key.namespace.as_deref(), &key.name, || {
            key.describe()
        })
        .await
    {
        Ok(Some(o)) => o,
        _ => return Vec::new(),
    };
    let related = Related::fetch(cluster, &obj).await;
    let ctx = AssessContext::new(cluster.now())
        .with_pods(&related.pods)
        .with_events(&related.events);
    let mut lines = readiness::evidence::lines(&obj, &ctx, EVENTS);
    lines.extend(failed_children(cluster, &obj, key.namespace.as_deref()).await);
    if let (Some(ns), Some((pod, container))) =
        (key.namespace.as_deref(), log_target(&related.pods))
    {
        let pods: Api<Pod> = Api::namespaced(cluster.client().clone(), ns);
        let lp = LogParams {
            container: Some(container.clone()),
            tail_lines: Some(LOG_LINES),
            ..LogParams::default()
        };
        if let Ok(text) = cluster
            .call(
                "read logs of",
                || format!("`Pod/{pod}` in `{ns}`"),
                || pods.logs(&pod, &lp),
            )
            .await
        {
            for line in readiness::evidence::log_tail(&text, LOG_LINES as usize) {
                lines.push(format!("log {pod}/{container}: {line}"));
            }
        }
    }
    lines
}

/// The failed children a Tekton PipelineRun lists in `status.childReferences` (its TaskRuns): the
/// PipelineRun's own condition only counts them ("Failed: 1"), while the reason — e.g. the
/// server's refusal of the TaskRun's pod, `PodCreationFailed` — is on the child.
async fn failed_children(cluster: &Cluster, obj: &Value, ns: Option<&str>) -> Vec<String> {
    let Some(children) = obj
        .pointer("/status/childReferences")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for child in children {
        let (Some(api_version), Some(kind), Some(name)) = (
            str_at(child, "/apiVersion"),
            str_at(child, "/kind"),
            str_at(child, "/name"),
        ) else {
            continue;
        };
        let Ok(Some(r)) = cluster.resolve(api_version, kind).await else {
            continue;
        };
        let ns = if r.namespaced { ns } else { None };
        let Ok(Some(child_obj)) = cluster
            .get_value(&r.resource, ns, name, || format!("`{kind}/{name}`"))
            .await
        else {
            continue;
        };
        let failed = child_obj
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| {
                str_at(c, "/type") == Some("Succeeded") && str_at(c, "/status") == Some("False")
            });
        if let Some(c) = failed {
            let task = str_at(child, "/pipelineTaskName")
                .map(|t| format!(" (task {t})"))
                .unwrap_or_default();
            lines.push(format!(
                "{kind}/{name}{task}: {}: {}",
                str_at(c, "/reason").unwrap_or("Failed"),
                str_at(c, "/message").unwrap_or("")
            ));
        }
    }
    lines
}

/// The pod and container whose log explains the most: a failed/crashing container first, then
/// the newest pod's first container that ran.
fn log_target(pods: &[Value]) -> Option<(String, String)> {
    let mut best: Option<(u8, &str, String, String)> = None;
    for pod in pods {
        let name = str_at(pod, "/metadata/name")?.to_string();
        let created = str_at(pod, "/metadata/creationTimestamp").unwrap_or("");
        for list in ["initContainerStatuses", "containerStatuses"] {
            let Some(statuses) = pod
                .pointer(&format!("/status/{list}"))
                .and_then(Value::as_array)
            else {
                continue;
            };
            for cs in statuses {
                let cname = str_at(cs, "/name").unwrap_or("").to_string();
                let failed = cs
                    .pointer("/state/terminated/exitCode")
                    .and_then(Value::as_i64)
                    .is_some_and(|c| c != 0)
                    || cs
                        .pointer("/lastState/terminated/exitCode")
                        .and_then(Value::as_i64)
                        .is_some_and(|c| c != 0)
                    || str_at(cs, "/state/waiting/reason") == Some("CrashLoopBackOff");
                let ran = cs.pointer("/state/running").is_some()
                    || cs.pointer("/state/terminated").is_some();
                let score = if failed {
                    2
                } else if ran {
                    1
                } else {
                    0
                };
                if score == 0 {
                    continue;
                }
                let better = match &best {
                    None => true,
                    Some((s, c, _, _)) => score > *s || (score == *s && created > *c),
                };
                if better {
                    best = Some((score, created, name.clone(), cname));
                }
            }
        }
    }
    best.map(|(_, _, p, c)| (p, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_are_listed_for_workloads_jobs_and_claims_only() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"selector": {"matchLabels": {"app": "x", "tier": "web"}}}});
        assert!(needs_pods(&d));
        let j = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "dl"}});
        assert!(needs_pods(&j));
        let pvc =
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "m"}});
        assert!(needs_pods(&pvc));
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(!needs_pods(&cm));
    }

    #[test]
    fn log_target_prefers_failed_containers() {
        let pod = json!({"metadata": {"name": "p"}, "status": {
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/6 nodes are available: 6 Insufficient nvidia.com/gpu."}],
        "containerStatuses": [
            {"name": "c", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}},
            {"name": "d", "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}
        ]}});
        assert_eq!(log_target(&[pod]), Some(("p".into(), "d".into())));
    }
}
