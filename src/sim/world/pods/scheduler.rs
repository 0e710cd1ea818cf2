//! The scheduler: binds pending pods to feasible nodes or reports why none fits, in
//! kube-scheduler's words.

use serde_json::{Value, json};

use super::super::informer::{NODE, POD, PVC, STORAGE_CLASS};
use super::super::{Ctx, Wake, obj};
use super::containers;
use super::kubelet::{Stage, Waiting, container_statuses, pod_conditions};

fn tolerates(pod: &Value, taint: &Value) -> bool {
    let effect = taint["effect"].as_str().unwrap_or_default();
    if effect == "PreferNoSchedule" {
        return true;
    }
    pod["spec"]["tolerations"].as_array().is_some_and(|ts| {
        ts.iter().any(|t| {
            let key_ok =
                t["key"].is_null() && t["operator"] == "Exists" || t["key"] == taint["key"];
            let value_ok = t["operator"] == "Exists"
                || t["value"] == taint["value"]
                || (t["value"].is_null() && taint["value"].is_null());
            let effect_ok = t["effect"].is_null() || t["effect"] == taint["effect"];
            key_ok && value_ok && effect_ok
        })
    })
}

fn affinity_matches(pod: &Value, labels: &Value) -> bool {
    let terms = &pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"];
    match terms.as_array() {
        None => true,
        Some(terms) => terms.iter().any(|t| {
            obj::selector_matches(
                &json!({"matchExpressions": t["matchExpressions"].clone()}),
                labels,
            )
        }),
    }
}

fn gpus_used(pods: &std::collections::BTreeMap<String, Value>, node: &str) -> u64 {
    pods.values()
        .filter(|p| p["spec"]["nodeName"].as_str() == Some(node))
        .filter(|p| {
            !matches!(
                p["status"]["phase"].as_str(),
                Some("Succeeded") | Some("Failed")
            )
        })
        .map(|p| obj::pod_gpus(&p["spec"]))
        .sum()
}

pub(super) fn claim_names(pod: &Value) -> Vec<String> {
    pod["spec"]["volumes"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn schedule(
    ctx: &Ctx,
    pod: &Value,
    pods: &std::collections::BTreeMap<String, Value>,
    wake: &mut Wake,
) {
    let ns = obj::namespace(pod);
    let now = ctx.now_s();
    let nodes = ctx.caches.list(NODE);
    let total = nodes.len();
    // Volume checks first: they fail the pod on every node alike.
    let mut volume_problem: Option<String> = None;
    let mut zones: Vec<String> = Vec::new();
    for claim in claim_names(pod) {
        match ctx.caches.get(PVC, ns, &claim) {
            None => {
                volume_problem = Some(format!("persistentvolumeclaim \"{claim}\" not found"));
            }
            Some(pvc) if pvc["status"]["phase"] != "Bound" => {
                let sc = match pvc["spec"]["storageClassName"].as_str() {
                    Some(n) => ctx.caches.get(STORAGE_CLASS, "", n),
                    None => super::super::storage::default_class(ctx),
                };
                let wffc = sc
                    .as_ref()
                    .is_some_and(|s| s["volumeBindingMode"] == "WaitForFirstConsumer");
                if !wffc {
                    volume_problem =
                        Some("pod has unbound immediate PersistentVolumeClaims".to_string());
                }
            }
            Some(pvc) => {
                if let Some(z) = obj::annotation(&pvc, "sim.democtl.io/zone") {
                    zones.push(z.to_string());
                }
            }
        }
    }
    let gpus = obj::pod_gpus(&pod["spec"]);
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    let mut chosen: Option<&Value> = None;
    if volume_problem.is_none() {
        for node in nodes.values() {
            let labels = &node["metadata"]["labels"];
            let node_name = obj::name(node);
            let untolerated = node["spec"]["taints"].as_array().and_then(|ts| {
                ts.iter().find(|t| {
                    matches!(t["effect"].as_str(), Some("NoSchedule") | Some("NoExecute"))
                        && !tolerates(pod, t)
                })
            });
            let reason = if node["spec"]["unschedulable"] == true {
                Some("node(s) were unschedulable".to_string())
            } else if let Some(t) = untolerated {
                Some(format!(
                    "node(s) had untolerated taint {{{}: {}}}",
                    t["key"].as_str().unwrap_or_default(),
                    t["value"].as_str().unwrap_or_default()
                ))
            } else if !obj::map_matches(&pod["spec"]["nodeSelector"], labels)
                || !affinity_matches(pod, labels)
            {
                Some("node(s) didn't match Pod's node affinity/selector".to_string())
            } else if gpus > 0 && {
                let alloc = obj::quantity_count(&node["status"]["allocatable"]["nvidia.com/gpu"]);
                alloc < gpus_used(pods, node_name) + gpus
            } {
                Some("Insufficient nvidia.com/gpu".to_string())
            } else if zones
                .iter()
                .any(|z| labels["topology.kubernetes.io/zone"].as_str() != Some(z))
            {
                Some("node(s) had volume node affinity conflict".to_string())
            } else {
                None
            };
            match reason {
                Some(r) => *reasons.entry(r).or_default() += 1,
                None => {
                    if chosen.is_none() {
                        chosen = Some(node);
                    }
                }
            }
        }
    }
    if let Some(node) = chosen {
        let node_name = obj::name(node);
        let bound = ctx.bind(pod, node_name).await;
        if bound.is_err() {
            ctx.note(bound, wake);
            return;
        }
        let msg = format!(
            "Successfully assigned {}/{} to {node_name}",
            obj::namespace(pod),
            obj::name(pod)
        );
        ctx.note(
            ctx.event(pod, "Normal", "Scheduled", &msg, "default-scheduler")
                .await,
            wake,
        );
        let host_ip = node["status"]["addresses"][0]["address"].clone();
        let status = json!({
            "phase": "Pending",
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "startTime": now,
            "qosClass": qos_class(pod),
            "conditions": pod_conditions(pod, &now, Stage::Scheduled),
            "containerStatuses": container_statuses(pod, &Waiting::reason("ContainerCreating", ""), &now),
        });
        ctx.note(ctx.patch_status(POD, pod, status).await, wake);
        return;
    }
    let message = match volume_problem {
        Some(p) => format!(
            "0/{total} nodes are available: {p}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
        ),
        None => {
            let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
            format!(
                "0/{total} nodes are available: {}. preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling.",
                parts.join(", ")
            )
        }
    };
    let status = json!({
        "phase": "Pending",
        "qosClass": qos_class(pod),
        "conditions": [obj::make_condition(pod, "PodScheduled", false, "Unschedulable", &message, &now)],
    });
    if obj::merge_changes(pod, &json!({ "status": status })) {
        let e = ctx.event(
            pod,
            "Warning",
            "FailedScheduling",
            &message,
            "default-scheduler",
        );
        ctx.note(e.await, wake);
    }
    ctx.note(ctx.patch_status(POD, pod, status).await, wake);
}

pub(super) fn qos_class(pod: &Value) -> &'static str {
    let cs = containers(pod);
    let any = cs.iter().any(|c| {
        c["resources"]["requests"]
            .as_object()
            .is_some_and(|r| !r.is_empty())
            || c["resources"]["limits"]
                .as_object()
                .is_some_and(|r| !r.is_empty())
    });
    if any { "Burstable" } else { "BestEffort" }
}
