//! The kubelet: volumes and referenced Secrets/ConfigMaps, image pulls, container start,
//! readiness, completion, crash loops of predictors without model weights, and logs.

use serde_json::{Value, json};

use super::super::informer::{CONFIG_MAP, ISVC, JOB, POD, PVC, SECRET};
use super::super::{Ctx, Wake, obj};
use super::behaviour::{Behaviour, log_lines};
use super::containers;
use super::scheduler::{claim_names, qos_class};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Scheduled,
    Started,
    Ready,
    Completed,
}

pub(super) fn pod_conditions(pod: &Value, now: &str, stage: Stage) -> Value {
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

pub(super) struct Waiting {
    reason: String,
    message: String,
}

impl Waiting {
    pub(super) fn reason(reason: &str, message: &str) -> Waiting {
        Waiting {
            reason: reason.into(),
            message: message.into(),
        }
    }
}

pub(super) fn container_statuses(pod: &Value, waiting: &Waiting, _now: &str) -> Value {
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

pub(super) async fn kubelet(ctx: &Ctx, pod: &Value, wake: &mut Wake) {
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
    let logged = ctx.set_log(pod, &out.lines).await;
    let log_written = logged.is_ok();
    ctx.note(logged, wake);
    // A pod ends only once its whole log is written: a terminated pod is never visited again,
    // so a log write lost to an API fault would leave its output short for good.
    if let Some(exit_code) = out.exit_code.filter(|_| log_written) {
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
        .and_then(|next| ctx.after(&started_at, next))
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
            && let Some(at) = ctx.after(started_at, (restarts + 1) * 30)
        {
            wake.at(at);
        }
        // Stable per restart, so the status only changes when the restart count does.
        let finished = ctx
            .after(started_at, restarts * 30 + 5)
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
fn download_blocker(ctx: &Ctx, ns: &str, pvc: &str) -> Option<String> {
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
