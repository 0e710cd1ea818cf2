//! Scheduler and kubelet for pods. The scheduler binds pending pods to Ready nodes that tolerate
//! their taints, match nodeSelector/required node affinity, have enough allocatable `nvidia.com/gpu`
//! and can reach their volumes; otherwise it sets PodScheduled=False/Unschedulable with the
//! kube-scheduler message ("0/6 nodes are available: 3 Insufficient nvidia.com/gpu, …").
//! The kubelet pulls images (or stays in ErrImagePull/ImagePullBackOff for images named in
//! `failures.image_pull_backoff`), starts containers, turns pods Ready, and plays each pod's
//! behaviour, writing its log to the `sim.democtl.io/log` annotation:
//! - `model-download`: prints per-file download progress, then succeeds (or fails as injected);
//! - `benchmark`: prints GuideLLM-style progress and a one-line JSON results document last;
//! - `run`: any other Job pod, succeeds after `delays.job`;
//! - `serve`: long-running; a KServe predictor crash-loops until its model's download Job is
//!   Complete, then loads the model for `delays.model_load` and becomes Ready.

use serde_json::{Value, json};

use super::informer::{CONFIG_MAP, ISVC, JOB, NODE, POD, PVC, SECRET, STORAGE_CLASS};
use super::{BEHAVIOUR_LABEL, Ctx, Wake, obj};

/// What a pod does once its containers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    /// Downloads a model, printing progress.
    ModelDownload,
    /// Runs a GuideLLM-style benchmark, printing a JSON document last.
    Benchmark,
    /// Runs to completion after `delays.job`.
    Run,
    /// Runs until deleted.
    Serve,
}

impl Behaviour {
    /// The behaviour of a pod: the `democtl.io/sim-behaviour` label, else a heuristic on the Job
    /// name, pod name and images (`download`/`huggingface` → model-download, `guidellm`/`benchmark`
    /// → benchmark), else `serve` for restartPolicy Always and `run` otherwise.
    pub(super) fn of(pod: &Value) -> Behaviour {
        match obj::label(pod, BEHAVIOUR_LABEL) {
            Some("model-download") => return Behaviour::ModelDownload,
            Some("benchmark") => return Behaviour::Benchmark,
            Some("run") => return Behaviour::Run,
            Some("serve") => return Behaviour::Serve,
            _ => {}
        }
        let restart = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always");
        if restart == "Always" {
            return Behaviour::Serve;
        }
        let mut text = format!(
            "{} {}",
            obj::label(pod, "job-name").unwrap_or_default(),
            obj::name(pod)
        );
        for c in containers(pod) {
            text.push(' ');
            text.push_str(c["image"].as_str().unwrap_or_default());
        }
        let text = text.to_ascii_lowercase();
        let name = obj::label(pod, "job-name")
            .unwrap_or(obj::name(pod))
            .to_ascii_lowercase();
        // `copy-benchmark-results` is a copy job, not a benchmark.
        let benchmark_name = name.contains("benchmark") && !name.contains("result");
        if text.contains("guidellm") || benchmark_name {
            Behaviour::Benchmark
        } else if text.contains("download") || text.contains("huggingface") {
            Behaviour::ModelDownload
        } else {
            Behaviour::Run
        }
    }
}

fn containers(pod: &Value) -> Vec<&Value> {
    pod["spec"]["containers"]
        .as_array()
        .map(|c| c.iter().collect())
        .unwrap_or_default()
}

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    let pods = ctx.caches.list(POD);
    for pod in pods.values() {
        if obj::is_deleting(pod) {
            // The kubelet has stopped the containers: remove the pod for good.
            let no_finalizers = pod["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty());
            if no_finalizers {
                let r = ctx
                    .delete_now(POD, obj::namespace(pod), obj::name(pod))
                    .await;
                ctx.note(r, wake);
            }
            continue;
        }
        let phase = pod["status"]["phase"].as_str().unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        if pod["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            schedule(ctx, pod, &pods, wake).await;
        } else {
            kubelet(ctx, pod, wake).await;
        }
    }
}

// ---------------------------------------------------------------- scheduler

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

fn claim_names(pod: &Value) -> Vec<String> {
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

async fn schedule(
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
                    None => super::storage::default_class(ctx),
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
        let patch = json!({"spec": {"nodeName": node_name}});
        ctx.note(ctx.patch(POD, pod, patch).await, wake);
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

fn qos_class(pod: &Value) -> &'static str {
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

// ---------------------------------------------------------------- kubelet

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Scheduled,
    Started,
    Ready,
    Completed,
}

fn pod_conditions(pod: &Value, now: &str, stage: Stage) -> Value {
    let c = |t: &str, s: bool, reason: &str, msg: &str| {
        obj::make_condition(pod, t, s, reason, msg, now)
    };
    let names: Vec<&str> = containers(pod)
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let not_ready = format!("containers with unready status: [{}]", names.join(" "));
    let (started, ready) = match stage {
        Stage::Scheduled => (false, false),
        Stage::Started => (true, false),
        Stage::Ready => (true, true),
        Stage::Completed => (false, false),
    };
    let (ready_reason, ready_msg) = match stage {
        Stage::Completed => ("PodCompleted", ""),
        _ if ready => ("", ""),
        _ => ("ContainersNotReady", not_ready.as_str()),
    };
    json!([
        c(
            "PodReadyToStartContainers",
            started || stage == Stage::Completed,
            "",
            ""
        ),
        c(
            "Initialized",
            true,
            if stage == Stage::Completed {
                "PodCompleted"
            } else {
                ""
            },
            ""
        ),
        c("Ready", ready, ready_reason, ready_msg),
        c("ContainersReady", ready, ready_reason, ready_msg),
        c("PodScheduled", true, "", ""),
    ])
}

struct Waiting {
    reason: String,
    message: String,
}

impl Waiting {
    fn reason(reason: &str, message: &str) -> Waiting {
        Waiting {
            reason: reason.into(),
            message: message.into(),
        }
    }
}

fn container_statuses(pod: &Value, waiting: &Waiting, _now: &str) -> Value {
    let statuses: Vec<Value> = containers(pod)
        .iter()
        .map(|c| {
            let mut w = json!({"reason": waiting.reason});
            if !waiting.message.is_empty() {
                w["message"] = json!(waiting.message);
            }
            json!({
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": false,
                "started": false,
                "restartCount": 0,
                "state": {"waiting": w},
                "lastState": {},
            })
        })
        .collect();
    json!(statuses)
}

fn image_id(image: &str) -> String {
    let repo = image.split('@').next().unwrap_or(image);
    let repo = match repo.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => repo,
    };
    format!(
        "{repo}@sha256:{}",
        obj::hash_chars(image, 64).replace(|c: char| !c.is_ascii_hexdigit(), "a")
    )
}

fn running_statuses(pod: &Value, started_at: &str, ready: bool) -> Value {
    let statuses: Vec<Value> = containers(pod)
        .iter()
        .map(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            json!({
                "name": c["name"],
                "image": image,
                "imageID": image_id(image),
                "containerID": format!("cri-o://{}", obj::hash_chars(&format!("{}/{}", obj::uid(pod), c["name"]), 64)),
                "ready": ready,
                "started": true,
                "restartCount": 0,
                "state": {"running": {"startedAt": started_at}},
                "lastState": {},
            })
        })
        .collect();
    json!(statuses)
}

fn terminated_statuses(pod: &Value, started_at: &str, now: &str, exit_code: i64) -> Value {
    let statuses: Vec<Value> = containers(pod)
        .iter()
        .map(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            let cid = format!(
                "cri-o://{}",
                obj::hash_chars(&format!("{}/{}", obj::uid(pod), c["name"]), 64)
            );
            json!({
                "name": c["name"],
                "image": image,
                "imageID": image_id(image),
                "containerID": cid,
                "ready": false,
                "started": false,
                "restartCount": 0,
                "state": {"terminated": {
                    "exitCode": exit_code,
                    "reason": if exit_code == 0 { "Completed" } else { "Error" },
                    "startedAt": started_at,
                    "finishedAt": now,
                    "containerID": cid,
                }},
                "lastState": {},
            })
        })
        .collect();
    json!(statuses)
}

fn pod_ip(pod: &Value) -> String {
    let n = obj::hash_num(obj::uid(pod), 1 << 16);
    format!(
        "10.{}.{}.{}",
        128 + (n >> 14) % 4,
        (n >> 6) % 250,
        2 + (n % 64) * 3
    )
}

fn bad_image(ctx: &Ctx, pod: &Value) -> Option<String> {
    containers(pod).iter().find_map(|c| {
        let image = c["image"].as_str().unwrap_or_default();
        ctx.scenario
            .failures
            .image_pull_backoff
            .iter()
            .any(|f| image.contains(f.as_str()))
            .then(|| image.to_string())
    })
}

/// A Secret or ConfigMap the pod needs and the namespace does not have.
enum Missing {
    /// Referenced from env/envFrom: `secret "x" not found`.
    Env(String),
    /// A volume source: (volume name, `secret "x" not found`).
    Volume(String, String),
}

fn missing_reference(ctx: &Ctx, pod: &Value) -> Option<Missing> {
    let ns = obj::namespace(pod);
    let exists = |kind, name: &str| ctx.caches.get(kind, ns, name).is_some();
    // Only decide on absence once the caches hold the full lists.
    if !ctx.caches.is_synced(SECRET) || !ctx.caches.is_synced(CONFIG_MAP) {
        return None;
    }
    for c in containers(pod) {
        for e in c["env"].as_array().into_iter().flatten() {
            let from = &e["valueFrom"];
            for (key, kind, word) in [
                ("secretKeyRef", SECRET, "secret"),
                ("configMapKeyRef", CONFIG_MAP, "configmap"),
            ] {
                let r = &from[key];
                if let Some(name) = r["name"].as_str()
                    && r["optional"] != true
                {
                    match ctx.caches.get(kind, ns, name) {
                        None => return Some(Missing::Env(format!("{word} \"{name}\" not found"))),
                        Some(o) => {
                            let k = r["key"].as_str().unwrap_or_default();
                            if o["data"][k].is_null() && o["stringData"][k].is_null() {
                                return Some(Missing::Env(format!(
                                    "couldn't find key {k} in {} {ns}/{name}",
                                    if word == "secret" {
                                        "Secret"
                                    } else {
                                        "ConfigMap"
                                    }
                                )));
                            }
                        }
                    }
                }
            }
        }
        for e in c["envFrom"].as_array().into_iter().flatten() {
            for (key, kind, word) in [
                ("secretRef", SECRET, "secret"),
                ("configMapRef", CONFIG_MAP, "configmap"),
            ] {
                if let Some(name) = e[key]["name"].as_str()
                    && e[key]["optional"] != true
                    && !exists(kind, name)
                {
                    return Some(Missing::Env(format!("{word} \"{name}\" not found")));
                }
            }
        }
    }
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let vname = v["name"].as_str().unwrap_or_default().to_string();
        if let Some(name) = v["secret"]["secretName"].as_str()
            && v["secret"]["optional"] != true
            && !exists(SECRET, name)
        {
            return Some(Missing::Volume(
                vname,
                format!("secret \"{name}\" not found"),
            ));
        }
        if let Some(name) = v["configMap"]["name"].as_str()
            && v["configMap"]["optional"] != true
            && !exists(CONFIG_MAP, name)
        {
            return Some(Missing::Volume(
                vname,
                format!("configmap \"{name}\" not found"),
            ));
        }
    }
    None
}

fn volumes_bound(ctx: &Ctx, pod: &Value) -> bool {
    claim_names(pod).iter().all(|c| {
        ctx.caches
            .get(PVC, obj::namespace(pod), c)
            .is_some_and(|p| p["status"]["phase"] == "Bound")
    })
}

async fn kubelet(ctx: &Ctx, pod: &Value, wake: &mut Wake) {
    let now = ctx.now_s();
    let delays = &ctx.scenario.delays;
    let scheduled_at = obj::condition(pod, "PodScheduled")
        .filter(|c| c["status"] == "True")
        .and_then(|c| c["lastTransitionTime"].as_str())
        .map(str::to_string);
    // The sandbox-ready condition's transition time is when the containers first started; it stays
    // True while a container crash-loops.
    let started_at = obj::condition(pod, "PodReadyToStartContainers")
        .filter(|c| c["status"] == "True")
        .and_then(|c| c["lastTransitionTime"].as_str())
        .map(str::to_string);
    let behaviour = Behaviour::of(pod);
    let Some(started_at) = started_at else {
        // Not started yet: pull images.
        if scheduled_at.is_none() {
            // Bound by someone else (nodeName in the spec): record it as scheduled now.
            let status = json!({
                "phase": "Pending",
                "startTime": now,
                "qosClass": qos_class(pod),
                "conditions": pod_conditions(pod, &now, Stage::Scheduled),
                "containerStatuses": container_statuses(pod, &Waiting::reason("ContainerCreating", ""), &now),
            });
            ctx.note(ctx.patch_status(POD, pod, status).await, wake);
            return;
        }
        if !volumes_bound(ctx, pod) || !ctx.due(scheduled_at.as_deref(), delays.image_pull, wake) {
            return;
        }
        if let Some(missing) = missing_reference(ctx, pod) {
            // Like the kubelet: a missing Secret/ConfigMap in env keeps the container from being
            // created; a missing volume source keeps the pod in ContainerCreating.
            let (waiting, event) = match &missing {
                Missing::Env(what) => (
                    Waiting::reason("CreateContainerConfigError", what),
                    ("Failed", format!("Error: {what}")),
                ),
                Missing::Volume(volume, what) => (
                    Waiting::reason("ContainerCreating", ""),
                    (
                        "FailedMount",
                        format!("MountVolume.SetUp failed for volume \"{volume}\" : {what}"),
                    ),
                ),
            };
            ctx.note(
                ctx.event(pod, "Warning", event.0, &event.1, "kubelet")
                    .await,
                wake,
            );
            let status = json!({
                "containerStatuses": container_statuses(pod, &waiting, &now),
                "conditions": pod_conditions(pod, &now, Stage::Scheduled),
            });
            ctx.note(ctx.patch_status(POD, pod, status).await, wake);
            return;
        }
        if let Some(image) = bad_image(ctx, pod) {
            let (repo, tag) = match image.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
                _ => (image.clone(), "latest".to_string()),
            };
            let back_off = ctx.due(scheduled_at.as_deref(), delays.image_pull * 2, wake);
            let waiting = if back_off {
                Waiting::reason(
                    "ImagePullBackOff",
                    &format!("Back-off pulling image \"{image}\""),
                )
            } else {
                Waiting::reason(
                    "ErrImagePull",
                    &format!(
                        "initializing source docker://{image}: reading manifest {tag} in {repo}: manifest unknown"
                    ),
                )
            };
            let (reason, message) = if back_off {
                ("BackOff", waiting.message.clone())
            } else {
                (
                    "Failed",
                    format!("Failed to pull image \"{image}\": {}", waiting.message),
                )
            };
            ctx.note(
                ctx.event(
                    pod,
                    if back_off { "Normal" } else { "Warning" },
                    reason,
                    &message,
                    "kubelet",
                )
                .await,
                wake,
            );
            let status = json!({
                "containerStatuses": container_statuses(pod, &waiting, &now),
                "conditions": pod_conditions(pod, &now, Stage::Scheduled),
            });
            ctx.note(ctx.patch_status(POD, pod, status).await, wake);
            return;
        }
        let ready = behaviour != Behaviour::Serve;
        let status = json!({
            "phase": "Running",
            "podIP": pod_ip(pod),
            "podIPs": [{"ip": pod_ip(pod)}],
            "conditions": pod_conditions(pod, &now, if ready { Stage::Ready } else { Stage::Started }),
            "containerStatuses": running_statuses(pod, &now, ready),
        });
        ctx.note(ctx.patch_status(POD, pod, status).await, wake);
        let lines = log_lines(ctx, pod, behaviour, 0);
        ctx.note(ctx.set_log(pod, &lines.lines).await, wake);
        return;
    };
    let elapsed = ctx.elapsed(Some(&started_at));
    let out = log_lines(ctx, pod, behaviour, elapsed);
    ctx.note(ctx.set_log(pod, &out.lines).await, wake);
    if let Some(exit_code) = out.exit_code {
        let status = json!({
            "phase": if exit_code == 0 { "Succeeded" } else { "Failed" },
            "conditions": pod_conditions(pod, &now, Stage::Completed),
            "containerStatuses": terminated_statuses(pod, &started_at, &now, exit_code),
        });
        ctx.note(ctx.patch_status(POD, pod, status).await, wake);
        return;
    }
    if let Some(at) = out
        .next_change
        .and_then(|next| Ctx::after(&started_at, next))
    {
        wake.at(at);
    }
    if behaviour == Behaviour::Serve {
        serve(ctx, pod, &started_at, wake).await;
    }
}

async fn serve(ctx: &Ctx, pod: &Value, started_at: &str, wake: &mut Wake) {
    let now = ctx.now_s();
    let delays = &ctx.scenario.delays;
    if let Some(blocker) = model_missing(ctx, pod) {
        // vLLM exits when the weights are missing; the kubelet restarts it with back-off.
        let restarts = (ctx.elapsed(Some(started_at)) / 30).min(20);
        if restarts < 20
            && let Some(at) = Ctx::after(started_at, (restarts + 1) * 30)
        {
            wake.at(at);
        }
        // Stable per restart, so the status only changes when the restart count does.
        let finished = Ctx::after(started_at, restarts * 30 + 5)
            .map(crate::sim::clock::rfc3339)
            .unwrap_or_else(|| now.clone());
        let name = containers(pod)
            .first()
            .and_then(|c| c["name"].as_str())
            .unwrap_or("kserve-container")
            .to_string();
        let statuses: Vec<Value> = containers(pod)
            .iter()
            .map(|c| {
                json!({
                    "name": c["name"],
                    "image": c["image"],
                    "imageID": image_id(c["image"].as_str().unwrap_or_default()),
                    "ready": false,
                    "started": false,
                    "restartCount": restarts,
                    "state": {"waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": format!("back-off 5m0s restarting failed container={name} pod={}_{}({})",
                            obj::name(pod), obj::namespace(pod), obj::uid(pod)),
                    }},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                        "startedAt": started_at, "finishedAt": finished}},
                })
            })
            .collect();
        let status = json!({
            "conditions": pod_conditions(pod, &now, Stage::Started),
            "containerStatuses": statuses,
        });
        ctx.note(ctx.patch_status(POD, pod, status).await, wake);
        let lines = vec![
            "INFO Starting vLLM server".to_string(),
            format!("ERROR Model weights not found in /mnt/models ({blocker})"),
            "OSError: /mnt/models does not appear to have a file named config.json".to_string(),
        ];
        ctx.note(ctx.set_log(pod, &lines).await, wake);
        return;
    }
    let is_predictor = obj::label(pod, "serving.kserve.io/inferenceservice").is_some();
    // A crash-looping predictor restarts when the weights appear: count readiness from then.
    let since = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
        .as_str()
        .map_or_else(|| now.clone(), str::to_string);
    let delay = if is_predictor {
        delays.model_load
    } else {
        delays.pod_ready
    };
    let ready = ctx.due(Some(&since), delay, wake);
    let status = json!({
        "conditions": pod_conditions(pod, &now, if ready { Stage::Ready } else { Stage::Started }),
        "containerStatuses": running_statuses(pod, &since, ready),
    });
    ctx.note(ctx.patch_status(POD, pod, status).await, wake);
}

/// Why a KServe predictor pod has no model yet (its download Job is not Complete), if it has none.
fn model_missing(ctx: &Ctx, pod: &Value) -> Option<String> {
    let isvc_name = obj::label(pod, "serving.kserve.io/inferenceservice")?;
    let ns = obj::namespace(pod);
    let isvc = ctx.caches.get(ISVC, ns, isvc_name)?;
    let uri = isvc["spec"]["predictor"]["model"]["storageUri"]
        .as_str()
        .or_else(|| isvc["spec"]["predictor"]["storageUri"].as_str())?;
    let pvc = uri.strip_prefix("pvc://")?.split('/').next()?.to_string();
    download_blocker(ctx, ns, &pvc)
}

/// The first Job in `ns` that writes PVC `pvc` and is not Complete, as "Job `x` has not completed".
pub(super) fn download_blocker(ctx: &Ctx, ns: &str, pvc: &str) -> Option<String> {
    ctx.caches.list(JOB).values().find_map(|job| {
        let writes = job["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .is_some_and(|vs| {
                vs.iter()
                    .any(|v| v["persistentVolumeClaim"]["claimName"] == pvc)
            });
        (obj::namespace(job) == ns && writes && !obj::condition_true(job, "Complete"))
            .then(|| format!("model download Job `{}` has not completed", obj::name(job)))
    })
}

// ---------------------------------------------------------------- logs

struct LogOutput {
    lines: Vec<String>,
    /// Exit code once the container finished.
    exit_code: Option<i64>,
    /// Elapsed seconds at which the log changes next.
    next_change: Option<u64>,
}

fn env_and_args(pod: &Value) -> String {
    let mut s = String::new();
    for c in containers(pod) {
        for part in ["command", "args"] {
            for a in c[part].as_array().into_iter().flatten() {
                s.push_str(a.as_str().unwrap_or_default());
                s.push('\n');
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "{}={}\n",
                e["name"].as_str().unwrap_or_default(),
                e["value"].as_str().unwrap_or_default()
            ));
        }
    }
    s
}

/// A Hugging Face repo id mentioned in the pod (env `*MODEL*`/`REPO_ID` or `repo_id="org/name"`).
fn model_id(pod: &Value) -> Option<String> {
    let text = env_and_args(pod);
    let re = regex::Regex::new(r#"(?:repo_id\s*=\s*["']|(?:MODEL[A-Z_]*|REPO_ID|HF_REPO)=)([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"#).ok()?;
    re.captures(&text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

fn benchmark_target(pod: &Value) -> String {
    let text = env_and_args(pod);
    regex::Regex::new(r#"(https?://[^\s"']+)"#)
        .ok()
        .and_then(|re| {
            re.captures(&text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
        .unwrap_or_else(|| "http://localhost:8080/v1".to_string())
}

fn log_lines(ctx: &Ctx, pod: &Value, behaviour: Behaviour, elapsed: u64) -> LogOutput {
    let delays = &ctx.scenario.delays;
    match behaviour {
        Behaviour::ModelDownload => download_log(ctx, pod, elapsed, delays.model_download.max(1)),
        Behaviour::Benchmark => benchmark_log(pod, elapsed, delays.benchmark.max(1)),
        Behaviour::Run => {
            let name = obj::label(pod, "job-name").unwrap_or(obj::name(pod));
            let mut lines = vec![format!("Starting {name}")];
            let done = elapsed >= delays.job;
            if done {
                lines.push(format!("{name} finished successfully"));
            }
            LogOutput {
                lines,
                exit_code: done.then_some(0),
                next_change: (!done).then_some(delays.job),
            }
        }
        Behaviour::Serve => {
            let image = containers(pod)
                .first()
                .and_then(|c| c["image"].as_str())
                .unwrap_or_default()
                .to_string();
            let lines = if image.contains("vllm")
                || obj::label(pod, "serving.kserve.io/inferenceservice").is_some()
            {
                vec![
                    "INFO Starting vLLM server".to_string(),
                    "INFO Loading model weights from /mnt/models".to_string(),
                    "INFO Started server process".to_string(),
                    "INFO Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)"
                        .to_string(),
                ]
            } else {
                vec![format!("Started container from {image}")]
            };
            LogOutput {
                lines,
                exit_code: None,
                next_change: None,
            }
        }
    }
}

const DOWNLOAD_FILES: u64 = 10;

fn download_log(ctx: &Ctx, pod: &Value, elapsed: u64, duration: u64) -> LogOutput {
    let job = obj::label(pod, "job-name")
        .unwrap_or(obj::name(pod))
        .to_string();
    let model = model_id(pod).unwrap_or_else(|| job.trim_start_matches("download-").to_string());
    let failure = ctx.scenario.failures.model_downloads.iter().find(|f| {
        job.contains(f.job.as_str()) && f.exclude.as_ref().is_none_or(|x| !job.contains(x.as_str()))
    });
    let fail_at = failure.map(|f| u64::from(f.at_percent.min(100)));
    let mut lines = vec![
        "Successfully installed huggingface_hub-0.34.4 hf-transfer-0.1.9".to_string(),
        format!("Downloading {model}"),
        format!("Fetching {} files", DOWNLOAD_FILES + 3),
    ];
    // Progress in 5% steps of the whole download; each file is 10% of it.
    let step = duration.div_ceil(20).max(1);
    let percent = ((elapsed / step) * 5).min(100);
    let shown = fail_at.map_or(percent, |f| percent.min(f));
    let mut p = 5;
    while p <= shown {
        let file = ((p - 1) / (100 / DOWNLOAD_FILES)) + 1;
        let file_pct = (p - (file - 1) * (100 / DOWNLOAD_FILES)) * DOWNLOAD_FILES;
        lines.push(format!(
            "Downloading model-{file:05}-of-{DOWNLOAD_FILES:05}.safetensors: {file_pct}%"
        ));
        p += 5;
    }
    if let (Some(f), Some(at)) = (failure, fail_at)
        && percent >= at
    {
        lines.push(f.message.clone());
        lines.push(format!("ERROR: download of {model} failed"));
        return LogOutput {
            lines,
            exit_code: Some(1),
            next_change: None,
        };
    }
    if percent >= 100 {
        lines.push(format!(
            "Download complete: {model} ({DOWNLOAD_FILES} safetensors files)"
        ));
        return LogOutput {
            lines,
            exit_code: Some(0),
            next_change: None,
        };
    }
    LogOutput {
        lines,
        exit_code: None,
        next_change: Some((elapsed / step + 1) * step),
    }
}

const CONCURRENCIES: &[u64] = &[1, 5, 10, 25];

fn benchmark_log(pod: &Value, elapsed: u64, duration: u64) -> LogOutput {
    let target = benchmark_target(pod);
    let job = obj::label(pod, "job-name")
        .unwrap_or(obj::name(pod))
        .to_string();
    let quantized = job.contains("quant") || target.contains("quant");
    let mut lines = vec![
        "GuideLLM 0.3.0".to_string(),
        format!("Target: {target}"),
        format!(
            "Profile: concurrent, rates {:?}, max seconds {}",
            CONCURRENCIES,
            duration / CONCURRENCIES.len() as u64
        ),
    ];
    let per = duration.div_ceil(CONCURRENCIES.len() as u64).max(1);
    let done = (elapsed / per).min(CONCURRENCIES.len() as u64) as usize;
    let mut results = Vec::new();
    for (i, c) in CONCURRENCIES.iter().enumerate() {
        // Deterministic, plausible numbers: a quantized model is faster; latency grows with load.
        let seed = obj::hash_num(&format!("{job}/{c}"), 1000) as f64 / 1000.0;
        let base_ttft = if quantized { 45.0 } else { 85.0 };
        let base_itl = if quantized { 11.0 } else { 21.0 };
        let load = *c as f64;
        let ttft50 = (base_ttft * (1.0 + load * 0.18) * (0.95 + seed * 0.1) * 10.0).round() / 10.0;
        let itl50 = (base_itl * (1.0 + load * 0.06) * (0.95 + seed * 0.1) * 10.0).round() / 10.0;
        let tokens = ((load * 1000.0 / itl50) * 10.0).round() / 10.0;
        let rps = ((tokens / 256.0) * 100.0).round() / 100.0;
        let requests = (rps * per as f64).round() as u64;
        if i < done {
            lines.push(format!(
                "Benchmark concurrency={c}: {requests} requests, 0 errors, {tokens} output tokens/s"
            ));
        }
        results.push(json!({
            "concurrency": c,
            "requests_completed": requests,
            "requests_errored": 0,
            "requests_per_second": rps,
            "output_tokens_per_second": tokens,
            "ttft_ms": {"p50": ttft50, "p95": (ttft50 * 1.8 * 10.0).round() / 10.0},
            "itl_ms": {"p50": itl50, "p95": (itl50 * 1.4 * 10.0).round() / 10.0},
        }));
    }
    if done >= CONCURRENCIES.len() {
        lines.push("Benchmark results saved to /results/benchmarks.json".to_string());
        let doc = json!({"guidellm_version": "0.3.0", "target": target, "benchmarks": results});
        lines.push(doc.to_string());
        return LogOutput {
            lines,
            exit_code: Some(0),
            next_change: None,
        };
    }
    LogOutput {
        lines,
        exit_code: None,
        next_change: Some((done as u64 + 1) * per),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviour_heuristics() {
        let pod = json!({"metadata": {"name": "download-mistral-24b-abcde", "labels": {"job-name": "download-mistral-24b"}},
            "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "d", "image": "python:3.11-slim"}]}});
        assert_eq!(Behaviour::of(&pod), Behaviour::ModelDownload);
        let pod = json!({"metadata": {"name": "x", "labels": {"job-name": "guidellm-benchmark-full"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "d", "image": "quay.io/x/y:1"}]}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Benchmark);
        let pod = json!({"metadata": {"name": "x", "labels": {"job-name": "copy-benchmark-results"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "registry.access.redhat.com/ubi9/ubi-minimal"}]}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Run);
        let pod = json!({"metadata": {"name": "x", "labels": {"democtl.io/sim-behaviour": "run"}},
            "spec": {"containers": []}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Run);
        let pod = json!({"metadata": {"name": "x"}, "spec": {"containers": []}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Serve);
    }

    #[test]
    fn model_id_from_env_or_script() {
        let pod = json!({"spec": {"containers": [{"env": [{"name": "MODEL_ID", "value": "RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16"}]}]}});
        assert_eq!(
            model_id(&pod).as_deref(),
            Some("RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16")
        );
        let pod = json!({"spec": {"containers": [{"args": ["python -c 'snapshot_download(repo_id=\"mistralai/M\", local_dir=x)'"]}]}});
        assert_eq!(model_id(&pod).as_deref(), Some("mistralai/M"));
    }

    #[test]
    fn benchmark_log_ends_with_json() {
        let pod = json!({"metadata": {"name": "b", "labels": {"job-name": "guidellm-benchmark-quantized"}}, "spec": {"containers": []}});
        let out = benchmark_log(&pod, 1000, 240);
        assert_eq!(out.exit_code, Some(0));
        let last: Value = serde_json::from_str(out.lines.last().map(String::as_str).unwrap_or(""))
            .unwrap_or_default();
        assert_eq!(last["benchmarks"].as_array().map(Vec::len), Some(4));
        assert!(
            last["benchmarks"][0]["ttft_ms"]["p95"].as_f64()
                > last["benchmarks"][0]["ttft_ms"]["p50"].as_f64()
        );
    }
}
