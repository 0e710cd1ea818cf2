//! Workload controllers: Deployment → ReplicaSet (`<name>-<pod-template-hash>`) → Pods, StatefulSet →
//! Pods `<name>-<ordinal>` (+ PVCs from volumeClaimTemplates), Job → Pods with backoffLimit; each
//! with the status fields and conditions of the real controllers (observedGeneration, replicas,
//! readyReplicas, availableReplicas, Available/Progressing with NewReplicaSetAvailable,
//! Complete/SuccessCriteriaMet or Failed/FailureTarget with BackoffLimitExceeded, startTime,
//! completionTime). Pod names are deterministic so repeated reconciles never duplicate pods.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::informer::{DEPLOYMENT, JOB, POD, PVC, REPLICA_SET, STATEFUL_SET};
use super::{Ctx, Wake, obj};

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    let pods = ctx.caches.list(POD);
    deployments(ctx, wake).await;
    replica_sets(ctx, &pods, wake).await;
    stateful_sets(ctx, &pods, wake).await;
    jobs(ctx, &pods, wake).await;
}

fn owned<'a>(pods: &'a BTreeMap<String, Value>, owner: &Value) -> Vec<&'a Value> {
    pods.values()
        .filter(|p| {
            obj::namespace(p) == obj::namespace(owner) && obj::is_owned_by(p, obj::uid(owner))
        })
        .collect()
}

fn is_ready(pod: &Value) -> bool {
    !obj::is_deleting(pod) && obj::condition_true(pod, "Ready")
}

fn pod_from_template(owner: &Value, name: &str, template: &Value, extra_labels: Value) -> Value {
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    if let Some(extra) = extra_labels.as_object() {
        for (k, v) in extra {
            labels[k] = v.clone();
        }
    }
    let mut spec = template["spec"].clone();
    if spec["restartPolicy"].is_null() {
        spec["restartPolicy"] = json!("Always");
    }
    json!({
        "metadata": {
            "name": name,
            "namespace": obj::namespace(owner),
            "labels": labels,
            "annotations": template["metadata"]["annotations"].clone(),
            "ownerReferences": [obj::controller_ref(owner)],
        },
        "spec": spec,
    })
}

/// A pod of `rs` that cannot make progress without a change: waiting for a reason other than
/// container creation, or not schedulable.
fn has_stuck_pod(ctx: &Ctx, rs: &Value) -> bool {
    let uid = obj::uid(rs);
    ctx.caches.list(POD).values().any(|p| {
        if !obj::is_owned_by(p, uid) {
            return false;
        }
        let unschedulable =
            obj::condition(p, "PodScheduled").is_some_and(|c| c["status"] == "False");
        let statuses = ["initContainerStatuses", "containerStatuses"];
        let waiting_stuck = statuses.iter().any(|key| {
            p["status"][key].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["state"]["waiting"]["reason"]
                        .as_str()
                        .is_some_and(|r| r != "ContainerCreating" && r != "PodInitializing")
                })
            })
        });
        unschedulable || waiting_stuck
    })
}

async fn deployments(ctx: &Ctx, wake: &mut Wake) {
    let sets = ctx.caches.list(REPLICA_SET);
    for d in ctx.caches.list(DEPLOYMENT).values() {
        if obj::is_deleting(d) {
            continue;
        }
        let now = ctx.now_s();
        let ns = obj::namespace(d);
        let want = d["spec"]["replicas"].as_u64().unwrap_or(1);
        let template = &d["spec"]["template"];
        let hash = obj::hash_chars(&template.to_string(), 10);
        let rs_name = format!("{}-{hash}", obj::name(d));
        let mine: Vec<&Value> = sets
            .values()
            .filter(|r| obj::namespace(r) == ns && obj::is_owned_by(r, obj::uid(d)))
            .collect();
        let current = mine.iter().find(|r| obj::name(r) == rs_name);
        if current.is_none() {
            let mut tpl = template.clone();
            tpl["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let rs = json!({
                "metadata": {
                    "name": rs_name,
                    "namespace": ns,
                    "labels": tpl["metadata"]["labels"].clone(),
                    "annotations": {"deployment.kubernetes.io/revision": (mine.len() + 1).to_string(),
                                    "deployment.kubernetes.io/desired-replicas": want.to_string()},
                    "ownerReferences": [obj::controller_ref(d)],
                },
                "spec": {"replicas": want, "selector": selector, "template": tpl},
            });
            ctx.note(ctx.create(REPLICA_SET, rs).await, wake);
        } else if let Some(rs) = current
            && rs["spec"]["replicas"].as_u64() != Some(want)
        {
            ctx.note(
                ctx.patch(REPLICA_SET, rs, json!({"spec": {"replicas": want}}))
                    .await,
                wake,
            );
        }
        // Old ReplicaSets are scaled down once the new one is fully available (Recreate-ish).
        let new_available = current.map_or(0, |r| {
            r["status"]["availableReplicas"].as_u64().unwrap_or(0)
        });
        for old in mine.iter().filter(|r| obj::name(r) != rs_name) {
            if (new_available >= want || d["spec"]["strategy"]["type"] == "Recreate")
                && old["spec"]["replicas"].as_u64() != Some(0)
            {
                ctx.note(
                    ctx.patch(REPLICA_SET, old, json!({"spec": {"replicas": 0}}))
                        .await,
                    wake,
                );
            }
        }
        let sum = |f: &str| {
            mine.iter()
                .map(|r| r["status"][f].as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        let (replicas, ready, available) = (
            sum("replicas"),
            sum("readyReplicas"),
            sum("availableReplicas"),
        );
        let updated = current.map_or(0, |r| r["status"]["replicas"].as_u64().unwrap_or(0));
        let complete = current.is_some() && new_available >= want && replicas == want;
        let progressing = if complete {
            obj::make_condition(
                d,
                "Progressing",
                true,
                "NewReplicaSetAvailable",
                &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                &now,
            )
        } else {
            let last = obj::condition(d, "Progressing");
            let deadline = d["spec"]["progressDeadlineSeconds"].as_u64().unwrap_or(600);
            let since = last
                .filter(|c| c["reason"] != "NewReplicaSetAvailable")
                .and_then(|c| c["lastTransitionTime"].as_str())
                .map(str::to_string);
            // kube's deadline measures "no progress". Here a pod that is merely slow (the
            // simulator's kubelet lagging behind a fast clock on a loaded machine) is progress;
            // only a pod that is stuck (image pull, crash loop, config error, unschedulable)
            // lets the deadline pass, so a high --sim-speed cannot fail a healthy Deployment.
            let stuck = current.is_some_and(|rs| has_stuck_pod(ctx, rs));
            if stuck && since.is_some() && ctx.due(since.as_deref(), deadline, wake) {
                obj::make_condition(
                    d,
                    "Progressing",
                    false,
                    "ProgressDeadlineExceeded",
                    &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                    &now,
                )
            } else {
                let mut c = obj::make_condition(
                    d,
                    "Progressing",
                    true,
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{rs_name}\" is progressing."),
                    &now,
                );
                if last.is_some_and(|l| {
                    l["status"] == "True" && l["reason"] == "NewReplicaSetAvailable"
                }) {
                    c["lastTransitionTime"] = json!(now);
                }
                c
            }
        };
        let min_available = available >= want;
        let available_c = if min_available {
            obj::make_condition(
                d,
                "Available",
                true,
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                &now,
            )
        } else {
            obj::make_condition(
                d,
                "Available",
                false,
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                &now,
            )
        };
        let mut conditions = vec![available_c, progressing];
        for c in &mut conditions {
            c["lastUpdateTime"] = c["lastTransitionTime"].clone();
        }
        let mut status = json!({
            "observedGeneration": obj::generation(d),
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": conditions,
        });
        if replicas > available {
            status["unavailableReplicas"] = json!(replicas - available);
        } else {
            status["unavailableReplicas"] = Value::Null;
        }
        ctx.note(ctx.patch_status(DEPLOYMENT, d, status).await, wake);
    }
}

async fn replica_sets(ctx: &Ctx, pods: &BTreeMap<String, Value>, wake: &mut Wake) {
    for rs in ctx.caches.list(REPLICA_SET).values() {
        if obj::is_deleting(rs) {
            continue;
        }
        let want = rs["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let mine: Vec<&Value> = owned(pods, rs)
            .into_iter()
            .filter(|p| !obj::is_deleting(p))
            .collect();
        let alive: Vec<&Value> = mine
            .iter()
            .copied()
            .filter(|p| {
                !matches!(
                    p["status"]["phase"].as_str(),
                    Some("Failed") | Some("Succeeded")
                )
            })
            .collect();
        if alive.len() < want {
            let mut created = alive.len();
            let mut i = 0usize;
            while created < want && i < want + mine.len() + 8 {
                let name = format!(
                    "{}-{}",
                    obj::name(rs),
                    obj::suffix(&format!("{}/{i}", obj::uid(rs)))
                );
                i += 1;
                if mine.iter().any(|p| obj::name(p) == name) {
                    continue;
                }
                let pod = pod_from_template(rs, &name, &rs["spec"]["template"], json!({}));
                ctx.note(ctx.create(POD, pod).await, wake);
                created += 1;
            }
        } else if alive.len() > want {
            for p in alive.iter().rev().take(alive.len() - want) {
                ctx.note(ctx.delete(POD, obj::namespace(p), obj::name(p)).await, wake);
            }
        }
        let ready = alive.iter().filter(|p| is_ready(p)).count();
        let status = json!({
            "observedGeneration": obj::generation(rs),
            "replicas": alive.len().min(want.max(alive.len())),
            "fullyLabeledReplicas": alive.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
        });
        ctx.note(ctx.patch_status(REPLICA_SET, rs, status).await, wake);
    }
}

async fn stateful_sets(ctx: &Ctx, pods: &BTreeMap<String, Value>, wake: &mut Wake) {
    for sts in ctx.caches.list(STATEFUL_SET).values() {
        if obj::is_deleting(sts) {
            continue;
        }
        let (ns, name) = (obj::namespace(sts), obj::name(sts));
        let want = sts["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let revision = format!(
            "{name}-{}",
            obj::hash_chars(&sts["spec"]["template"].to_string(), 10)
        );
        let mine: Vec<&Value> = owned(pods, sts);
        // OrderedReady: create ordinal i only when 0..i are Ready.
        for i in 0..want {
            let pod_name = format!("{name}-{i}");
            match mine.iter().find(|p| obj::name(p) == pod_name) {
                Some(p) if is_ready(p) => continue,
                Some(_) => break,
                None => {
                    for tpl in sts["spec"]["volumeClaimTemplates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        let claim = format!("{}-{pod_name}", obj::name(tpl));
                        let pvc = json!({
                            "metadata": {"name": claim, "namespace": ns,
                                         "labels": sts["spec"]["selector"]["matchLabels"].clone()},
                            "spec": tpl["spec"].clone(),
                        });
                        ctx.note(ctx.create(PVC, pvc).await, wake);
                    }
                    let mut tpl = sts["spec"]["template"].clone();
                    let mut volumes = tpl["spec"]["volumes"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for t in sts["spec"]["volumeClaimTemplates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        let tname = obj::name(t);
                        volumes.push(json!({"name": tname,
                            "persistentVolumeClaim": {"claimName": format!("{tname}-{pod_name}")}}));
                    }
                    if !volumes.is_empty() {
                        tpl["spec"]["volumes"] = json!(volumes);
                    }
                    let labels = json!({
                        "statefulset.kubernetes.io/pod-name": pod_name,
                        "controller-revision-hash": revision,
                        "apps.kubernetes.io/pod-index": i.to_string(),
                    });
                    let mut pod = pod_from_template(sts, &pod_name, &tpl, labels);
                    pod["spec"]["hostname"] = json!(pod_name);
                    if let Some(svc) = sts["spec"]["serviceName"].as_str() {
                        pod["spec"]["subdomain"] = json!(svc);
                    }
                    ctx.note(ctx.create(POD, pod).await, wake);
                    break;
                }
            }
        }
        for p in &mine {
            let ordinal = obj::name(p)
                .rsplit('-')
                .next()
                .and_then(|o| o.parse::<usize>().ok())
                .unwrap_or(0);
            if ordinal >= want && !obj::is_deleting(p) {
                ctx.note(ctx.delete(POD, ns, obj::name(p)).await, wake);
            }
        }
        let live: Vec<&&Value> = mine.iter().filter(|p| !obj::is_deleting(p)).collect();
        let ready = live.iter().filter(|p| is_ready(p)).count();
        let status = json!({
            "observedGeneration": obj::generation(sts),
            "replicas": live.len(),
            "readyReplicas": ready,
            "currentReplicas": live.len(),
            "updatedReplicas": live.len(),
            "availableReplicas": ready,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        });
        ctx.note(ctx.patch_status(STATEFUL_SET, sts, status).await, wake);
    }
}

/// Back-off before the n-th retry of a failed Job pod (10 s doubling, capped at 6 minutes).
fn retry_backoff(failures: u64) -> u64 {
    (10u64 << failures.saturating_sub(1).min(6)).min(360)
}

/// Why a Job has failed, if it has: too many failed pods, or running past activeDeadlineSeconds.
fn failure_reason(
    ctx: &Ctx,
    job: &Value,
    failed: u64,
    backoff_limit: u64,
    start: &str,
    wake: &mut Wake,
) -> Option<(&'static str, &'static str)> {
    if failed > backoff_limit {
        return Some((
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
    }
    let deadline = job["spec"]["activeDeadlineSeconds"].as_u64()?;
    ctx.due(Some(start), deadline, wake).then_some((
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
    ))
}

async fn jobs(ctx: &Ctx, pods: &BTreeMap<String, Value>, wake: &mut Wake) {
    for job in ctx.caches.list(JOB).values() {
        if obj::is_deleting(job) {
            continue;
        }
        let now = ctx.now_s();
        let done = obj::condition_true(job, "Complete") || obj::condition_true(job, "Failed");
        if done {
            continue;
        }
        if job["spec"]["suspend"] == true {
            continue;
        }
        let name = obj::name(job);
        let mine = owned(pods, job);
        let succeeded = mine
            .iter()
            .filter(|p| p["status"]["phase"] == "Succeeded")
            .count() as u64;
        let failed = mine
            .iter()
            .filter(|p| p["status"]["phase"] == "Failed")
            .count() as u64;
        let active: Vec<&&Value> = mine
            .iter()
            .filter(|p| {
                !obj::is_deleting(p)
                    && !matches!(
                        p["status"]["phase"].as_str(),
                        Some("Succeeded") | Some("Failed")
                    )
            })
            .collect();
        let completions = job["spec"]["completions"].as_u64().unwrap_or(1);
        let backoff_limit = job["spec"]["backoffLimit"].as_u64().unwrap_or(6);
        let start = job["status"]["startTime"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| now.clone());
        let ready = active.iter().filter(|p| is_ready(p)).count();
        let mut status = json!({
            "startTime": start,
            "active": active.len(),
            "ready": ready,
            "succeeded": succeeded,
            "failed": failed,
            "terminating": 0,
            "uncountedTerminatedPods": {},
        });
        if succeeded >= completions {
            status["active"] = json!(0);
            status["ready"] = json!(0);
            status["completionTime"] = json!(now);
            status["conditions"] = json!([
                obj::make_condition(
                    job,
                    "SuccessCriteriaMet",
                    true,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    &now
                ),
                obj::make_condition(
                    job,
                    "Complete",
                    true,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    &now
                ),
            ]);
            ctx.note(
                ctx.event(
                    job,
                    "Normal",
                    "Completed",
                    "Job completed",
                    "job-controller",
                )
                .await,
                wake,
            );
        } else if let Some((reason, message)) =
            failure_reason(ctx, job, failed, backoff_limit, &start, wake)
        {
            status["active"] = json!(0);
            status["ready"] = json!(0);
            status["conditions"] = json!([
                obj::make_condition(job, "FailureTarget", true, reason, message, &now),
                obj::make_condition(job, "Failed", true, reason, message, &now),
            ]);
            for p in &active {
                ctx.note(ctx.delete(POD, obj::namespace(p), obj::name(p)).await, wake);
            }
            let e = ctx.event(job, "Warning", reason, message, "job-controller");
            ctx.note(e.await, wake);
        } else if active.is_empty() {
            // Start the next attempt, after the failure back-off.
            let last_finish = mine
                .iter()
                .filter_map(|p| {
                    p["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"]
                        .as_str()
                })
                .max()
                .map(str::to_string);
            let may_start =
                failed == 0 || ctx.due(last_finish.as_deref(), retry_backoff(failed), wake);
            if may_start {
                let attempt = succeeded + failed;
                let pod_name = format!(
                    "{name}-{}",
                    obj::suffix(&format!("{}/{attempt}", obj::uid(job)))
                );
                let uid = obj::uid(job);
                let labels = json!({
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid,
                    "job-name": name,
                });
                let mut pod = pod_from_template(job, &pod_name, &job["spec"]["template"], labels);
                pod["metadata"]["annotations"]["batch.kubernetes.io/job-tracking"] = json!("");
                if pod["spec"]["restartPolicy"] == "Always" {
                    pod["spec"]["restartPolicy"] = json!("Never");
                }
                ctx.note(ctx.create(POD, pod).await, wake);
                let msg = format!("Created pod: {pod_name}");
                let e = ctx.event(job, "Normal", "SuccessfulCreate", &msg, "job-controller");
                ctx.note(e.await, wake);
                status["active"] = json!(1);
            }
        }
        ctx.note(ctx.patch_status(JOB, job, status).await, wake);
    }
}
