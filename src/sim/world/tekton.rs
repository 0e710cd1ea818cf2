//! Tekton Pipelines (OpenShift Pipelines): the PipelineRun reconciler creates one TaskRun per
//! pipeline task in DAG order (`runAfter`), the TaskRun reconciler builds the Task's pod — params,
//! context variables and workspace paths substituted, workspaces turned into volumes, Tekton's
//! implicit volumes, init container, labels and owner references — and creates it through the API
//! server like every other write, so the server's validation decides. The pod then runs on the
//! simulated scheduler and kubelet; TaskRun and PipelineRun status follow with Tekton's reasons
//! and messages (`Tasks Completed: N (Failed: F, Cancelled C), Skipped: S`). A pod the server
//! refuses fails its TaskRun with `PodCreationFailed` and the server's message, as Tekton's
//! `handlePodCreationError` does.
//!
//! Not simulated: `finally` tasks, `when` expressions, results, retries, timeouts, matrix,
//! sidecars' own lifecycle, the affinity assistant, volumeClaimTemplate workspaces.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::informer::{CONFIG_MAP, PIPELINE, PIPELINE_RUN, POD, TASK, TASK_RUN};
use super::{BEHAVIOUR_LABEL, Ctx, Wake, WorldError, obj};

/// Label keys Tekton puts on TaskRuns and their pods.
const PIPELINE_LABEL: &str = "tekton.dev/pipeline";
const PIPELINE_RUN_LABEL: &str = "tekton.dev/pipelineRun";
const PIPELINE_RUN_UID_LABEL: &str = "tekton.dev/pipelineRunUID";
const PIPELINE_TASK_LABEL: &str = "tekton.dev/pipelineTask";
const TASK_LABEL: &str = "tekton.dev/task";
const TASK_RUN_LABEL: &str = "tekton.dev/taskRun";
const TASK_RUN_UID_LABEL: &str = "tekton.dev/taskRunUID";
const MEMBER_OF_LABEL: &str = "tekton.dev/memberOf";
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "tekton-pipelines");

/// The entrypoint image of OpenShift Pipelines 1.19 (the `prepare` init container).
const ENTRYPOINT_IMAGE: &str =
    "registry.redhat.io/openshift-pipelines/pipelines-entrypoint-rhel9:v1.19.1";

/// Default TaskRun timeout (Tekton's `default-timeout-minutes: 60`).
const DEFAULT_TIMEOUT_SECS: u64 = 3600;

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    pipeline_runs(ctx, wake).await;
    task_runs(ctx, wake).await;
}

/// A `Succeeded` condition keeping its `lastTransitionTime` while its status does not change.
fn succeeded(prev: &Value, status: &str, reason: &str, message: &str, now: &str) -> Value {
    let ltt = obj::condition(prev, "Succeeded")
        .filter(|c| c["status"] == status && c["lastTransitionTime"].is_string())
        .map_or_else(|| json!(now), |c| c["lastTransitionTime"].clone());
    json!({"type": "Succeeded", "status": status, "reason": reason, "message": message,
           "lastTransitionTime": ltt})
}

fn is_done(o: &Value) -> bool {
    obj::condition(o, "Succeeded").is_some_and(|c| c["status"] == "True" || c["status"] == "False")
}

/// A Pipeline or Task by name: from the watch cache, else read from the server (the cache may
/// not have seen an object applied together with the run). `Ok(None)` when it does not exist.
async fn lookup(
    ctx: &Ctx,
    kind: super::informer::Kind,
    ns: &str,
    name: &str,
) -> Result<Option<Value>, WorldError> {
    if let Some(o) = ctx.caches.get(kind, ns, name) {
        return Ok(Some(o));
    }
    match ctx.get(kind, ns, name).await {
        Ok(o) => Ok(Some(o)),
        Err(WorldError::Api {
            source: kube::Error::Api(s),
            ..
        }) if s.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// `name: value` of a params list (`[{name, value}]`).
fn param_values(params: &Value) -> BTreeMap<String, Value> {
    params
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["name"].as_str()?.to_string(), p["value"].clone())))
        .collect()
}

/// The values of a spec's declared params: given values, else defaults. Returns the names of
/// declared params that have neither.
fn resolve_params(
    declared: &Value,
    given: &BTreeMap<String, Value>,
) -> (BTreeMap<String, Value>, Vec<String>) {
    let mut values = given.clone();
    let mut missing = Vec::new();
    for p in declared.as_array().into_iter().flatten() {
        let Some(name) = p["name"].as_str() else {
            continue;
        };
        if values.contains_key(name) {
            continue;
        }
        if p.get("default").is_some_and(|d| !d.is_null()) {
            values.insert(name.to_string(), p["default"].clone());
        } else {
            missing.push(name.to_string());
        }
    }
    (values, missing)
}

/// Replacements for `$(params.x)` (also `$(params['x'])` and `$(params["x"])`) of string params.
fn param_replacements(values: &BTreeMap<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in values {
        let Some(v) = value.as_str() else { continue };
        for pattern in [
            format!("$(params.{name})"),
            format!("$(params['{name}'])"),
            format!("$(params[\"{name}\"])"),
        ] {
            out.push((pattern, v.to_string()));
        }
    }
    out
}

/// Replaces every `$(…)` reference of `repl` in every string of `v`.
fn substitute(v: &mut Value, repl: &[(String, String)]) {
    match v {
        Value::String(s) if s.contains("$(") => {
            for (from, to) in repl {
                if s.contains(from.as_str()) {
                    *s = s.replace(from.as_str(), to);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, repl)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, repl)),
        _ => {}
    }
}

/// Tekton's `kmeta.ChildName`: `parent-suffix`, shortened with a hash to fit 63 characters.
fn child_name(parent: &str, suffix: &str) -> String {
    let name = format!("{parent}-{suffix}");
    if name.len() <= 63 {
        return name;
    }
    let hash = obj::hash_chars(&name, 32);
    let keep = 63 - hash.len();
    format!("{}{hash}", &name[..keep.min(name.len())])
}

fn string_map(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// PipelineRuns
// ---------------------------------------------------------------------------------------------

/// What became of one pipeline task of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskState {
    NotStarted,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

fn task_state(tr: Option<&Value>) -> TaskState {
    let Some(tr) = tr else {
        return TaskState::NotStarted;
    };
    match obj::condition(tr, "Succeeded") {
        Some(c) if c["status"] == "True" => TaskState::Succeeded,
        Some(c) if c["status"] == "False" && c["reason"] == "TaskRunCancelled" => {
            TaskState::Cancelled
        }
        Some(c) if c["status"] == "False" => TaskState::Failed,
        _ => TaskState::Running,
    }
}

async fn pipeline_runs(ctx: &Ctx, wake: &mut Wake) {
    for pr in ctx.caches.list(PIPELINE_RUN).values() {
        if obj::is_deleting(pr) || is_done(pr) {
            continue;
        }
        let r = pipeline_run(ctx, pr, wake).await;
        ctx.note(r, wake);
    }
}

async fn fail_run(ctx: &Ctx, pr: &Value, reason: &str, message: &str) -> Result<(), WorldError> {
    let now = ctx.now_s();
    let status = json!({
        "startTime": pr["status"]["startTime"].as_str().unwrap_or(&now),
        "completionTime": now,
        "conditions": [succeeded(pr, "False", reason, message, &now)],
    });
    ctx.patch_status(PIPELINE_RUN, pr, status).await?;
    ctx.event(pr, "Warning", "Failed", message, "PipelineRun")
        .await
}

async fn pipeline_run(ctx: &Ctx, pr: &Value, wake: &mut Wake) -> Result<(), WorldError> {
    let now = ctx.now_s();
    let (ns, name) = (obj::namespace(pr), obj::name(pr));
    let (spec, pipeline_name) = if pr["spec"]["pipelineSpec"].is_object() {
        (pr["spec"]["pipelineSpec"].clone(), None)
    } else {
        let Some(p) = pr["spec"]["pipelineRef"]["name"].as_str() else {
            return fail_run(
                ctx,
                pr,
                "PipelineRunValidationFailed",
                &format!("PipelineRun {ns}/{name} has neither pipelineRef.name nor pipelineSpec"),
            )
            .await;
        };
        match lookup(ctx, PIPELINE, ns, p).await? {
            Some(pipeline) => (pipeline["spec"].clone(), Some(p.to_string())),
            None => {
                let msg = format!(
                    "Error retrieving pipeline for pipelinerun {ns}/{name}: pipelines.tekton.dev \"{p}\" not found"
                );
                return fail_run(ctx, pr, "CouldntGetPipeline", &msg).await;
            }
        }
    };
    let cancelled = pr["spec"]["status"].as_str().is_some_and(|s| {
        matches!(
            s,
            "Cancelled" | "CancelledRunFinally" | "StoppedRunFinally" | "PipelineRunCancelled"
        )
    });
    let (params, missing) = resolve_params(&spec["params"], &param_values(&pr["spec"]["params"]));
    if !missing.is_empty() {
        let msg = format!(
            "PipelineRun {ns}/{name} parameters is missing some parameters required by Pipeline {}'s parameters: pipelineRun missing parameters: [{}]",
            pipeline_name.as_deref().unwrap_or(name),
            missing.join(" ")
        );
        return fail_run(ctx, pr, "ParameterMissing", &msg).await;
    }
    let mut repl = param_replacements(&params);
    for (k, v) in [
        ("context.pipelineRun.name", name),
        ("context.pipelineRun.namespace", ns),
        ("context.pipelineRun.uid", obj::uid(pr)),
        (
            "context.pipeline.name",
            pipeline_name.as_deref().unwrap_or(name),
        ),
    ] {
        repl.push((format!("$({k})"), v.to_string()));
    }
    let tasks: Vec<Value> = spec["tasks"].as_array().cloned().unwrap_or_default();
    let bindings: BTreeMap<String, Value> = pr["spec"]["workspaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| Some((w["name"].as_str()?.to_string(), w.clone())))
        .collect();

    // The state of every task, from its TaskRun (one of this run: a TaskRun left by a deleted
    // run of the same name is not ours).
    let mut states: BTreeMap<String, TaskState> = BTreeMap::new();
    let mut children = Vec::new();
    for t in &tasks {
        let tname = t["name"].as_str().unwrap_or_default();
        let tr_name = child_name(name, tname);
        let tr = ctx
            .caches
            .get(TASK_RUN, ns, &tr_name)
            .filter(|tr| obj::is_owned_by(tr, obj::uid(pr)));
        if tr.is_some() {
            children.push(json!({"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
                                 "name": tr_name, "pipelineTaskName": tname}));
        }
        states.insert(tname.to_string(), task_state(tr.as_ref()));
    }
    let count = |states: &BTreeMap<String, TaskState>, s: TaskState| {
        states.values().filter(|x| **x == s).count()
    };
    let stopping = cancelled
        || count(&states, TaskState::Failed) > 0
        || count(&states, TaskState::Cancelled) > 0;

    // Start every task whose runAfter tasks succeeded, unless the run is stopping.
    if !stopping {
        for t in &tasks {
            let tname = t["name"].as_str().unwrap_or_default();
            if states.get(tname) != Some(&TaskState::NotStarted) {
                continue;
            }
            let ready = t["runAfter"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .all(|dep| states.get(dep) == Some(&TaskState::Succeeded));
            if !ready {
                continue;
            }
            let tr = task_run_for(pr, pipeline_name.as_deref(), t, &repl, &bindings);
            ctx.create(TASK_RUN, tr).await?;
            states.insert(tname.to_string(), TaskState::Running);
            children.push(json!({"apiVersion": "tekton.dev/v1", "kind": "TaskRun",
                                 "name": child_name(name, tname), "pipelineTaskName": tname}));
        }
    } else if cancelled {
        for t in &tasks {
            let tname = t["name"].as_str().unwrap_or_default();
            if states.get(tname) != Some(&TaskState::Running) {
                continue;
            }
            if let Some(tr) = ctx.caches.get(TASK_RUN, ns, &child_name(name, tname)) {
                let patch = json!({"spec": {"status": "TaskRunCancelled",
                                            "statusMessage": "TaskRun cancelled as the PipelineRun it belongs to has been cancelled."}});
                ctx.patch(TASK_RUN, &tr, patch).await?;
            }
        }
    }

    let (succeeded_n, failed, cancelled_n, running) = (
        count(&states, TaskState::Succeeded),
        count(&states, TaskState::Failed),
        count(&states, TaskState::Cancelled),
        count(&states, TaskState::Running),
    );
    let not_started = count(&states, TaskState::NotStarted);
    // Tasks that will never start (a task failed, or the run was cancelled) count as skipped.
    let skipped = if stopping { not_started } else { 0 };
    let incomplete = running + if stopping { 0 } else { not_started };
    let completed = succeeded_n + failed + cancelled_n;
    let start = pr["status"]["startTime"]
        .as_str()
        .unwrap_or(&now)
        .to_string();
    let mut status = json!({
        "startTime": start,
        "childReferences": children,
        "pipelineSpec": spec,
    });
    let mut finished = None;
    let condition = if incomplete == 0 {
        let message = format!(
            "Tasks Completed: {completed} (Failed: {failed}, Cancelled {cancelled_n}), Skipped: {skipped}"
        );
        let (st, reason, message) = if failed > 0 {
            ("False", "Failed", message)
        } else if cancelled {
            (
                "False",
                "Cancelled",
                format!("PipelineRun \"{name}\" was cancelled"),
            )
        } else if cancelled_n > 0 {
            ("False", "Cancelled", message)
        } else if skipped > 0 {
            ("True", "Completed", message)
        } else {
            ("True", "Succeeded", message)
        };
        finished = Some((st == "True", message.clone()));
        status["completionTime"] = json!(now);
        succeeded(pr, st, reason, &message, &now)
    } else {
        let reason = if stopping { "Stopping" } else { "Running" };
        let message = format!(
            "Tasks Completed: {completed} (Failed: {failed}, Cancelled {cancelled_n}), Incomplete: {incomplete}, Skipped: {skipped}"
        );
        succeeded(pr, "Unknown", reason, &message, &now)
    };
    let unchanged = obj::condition(pr, "Succeeded").is_some_and(|c| {
        c["status"] == condition["status"]
            && c["reason"] == condition["reason"]
            && c["message"] == condition["message"]
    }) && pr["status"]["childReferences"] == status["childReferences"];
    if unchanged {
        return Ok(());
    }
    status["conditions"] = json!([condition]);
    ctx.patch_status(PIPELINE_RUN, pr, status).await?;
    let _ = wake;
    match finished {
        Some((true, message)) => {
            ctx.event(pr, "Normal", "Succeeded", &message, "PipelineRun")
                .await
        }
        Some((false, message)) => {
            ctx.event(pr, "Warning", "Failed", &message, "PipelineRun")
                .await
        }
        None => Ok(()),
    }
}

/// The TaskRun of pipeline task `t` of `pr` (what Tekton's `createTaskRun` builds).
fn task_run_for(
    pr: &Value,
    pipeline_name: Option<&str>,
    t: &Value,
    repl: &[(String, String)],
    bindings: &BTreeMap<String, Value>,
) -> Value {
    let (ns, name) = (obj::namespace(pr), obj::name(pr));
    let tname = t["name"].as_str().unwrap_or_default();
    let mut labels = string_map(&pr["metadata"]["labels"]);
    if let Some(p) = pipeline_name {
        labels.insert(PIPELINE_LABEL.into(), json!(p));
    }
    labels.insert(PIPELINE_RUN_LABEL.into(), json!(name));
    labels.insert(PIPELINE_RUN_UID_LABEL.into(), json!(obj::uid(pr)));
    labels.insert(PIPELINE_TASK_LABEL.into(), json!(tname));
    labels.insert(MEMBER_OF_LABEL.into(), json!("tasks"));
    labels.insert(MANAGED_BY.0.into(), json!(MANAGED_BY.1));
    let mut annotations = string_map(&pr["metadata"]["annotations"]);
    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    let mut params = t["params"].clone();
    substitute(&mut params, repl);
    let workspaces: Vec<Value> = t["workspaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| {
            let task_ws = w["name"].as_str()?;
            let from = w["workspace"].as_str().unwrap_or(task_ws);
            let mut b = bindings.get(from)?.clone();
            b["name"] = json!(task_ws);
            if let Some(sub) = w["subPath"].as_str() {
                let joined = match b["subPath"].as_str() {
                    Some(outer) => format!("{outer}/{sub}"),
                    None => sub.to_string(),
                };
                b["subPath"] = json!(joined);
            }
            Some(b)
        })
        .collect();
    let mut spec = json!({"params": params, "workspaces": workspaces});
    if t["taskSpec"].is_object() {
        let mut ts = t["taskSpec"].clone();
        substitute(&mut ts, repl);
        spec["taskSpec"] = ts;
    } else {
        spec["taskRef"] = json!({"kind": t["taskRef"]["kind"].as_str().unwrap_or("Task"),
                                 "name": t["taskRef"]["name"]});
    }
    let template = &pr["spec"]["taskRunTemplate"];
    if let Some(sa) = template["serviceAccountName"].as_str() {
        spec["serviceAccountName"] = json!(sa);
    }
    if template["podTemplate"].is_object() {
        spec["podTemplate"] = template["podTemplate"].clone();
    }
    if let Some(timeout) = t["timeout"].as_str() {
        spec["timeout"] = json!(timeout);
    }
    if params.as_array().is_none_or(Vec::is_empty) {
        spec.as_object_mut().map(|m| m.remove("params"));
    }
    json!({
        "metadata": {"name": child_name(name, tname), "namespace": ns, "labels": labels,
                     "annotations": annotations, "ownerReferences": [obj::controller_ref(pr)]},
        "spec": spec,
    })
}

// ---------------------------------------------------------------------------------------------
// TaskRuns
// ---------------------------------------------------------------------------------------------

async fn task_runs(ctx: &Ctx, wake: &mut Wake) {
    for tr in ctx.caches.list(TASK_RUN).values() {
        if obj::is_deleting(tr) || is_done(tr) {
            continue;
        }
        let r = task_run(ctx, tr).await;
        ctx.note(r, wake);
    }
}

/// Writes a TaskRun's status (podName is required by the CRD), with an Event when it finished.
async fn set_task_run_status(
    ctx: &Ctx,
    tr: &Value,
    mut status: Value,
    condition: Value,
) -> Result<(), WorldError> {
    let unchanged = obj::condition(tr, "Succeeded").is_some_and(|c| {
        c["status"] == condition["status"]
            && c["reason"] == condition["reason"]
            && c["message"] == condition["message"]
    }) && tr["status"]["podName"] == status["podName"]
        && tr["status"]["steps"] == status["steps"];
    if unchanged {
        return Ok(());
    }
    let done = condition["status"] != "Unknown";
    if done {
        status["completionTime"] = json!(ctx.now_s());
    }
    let (st, message) = (
        condition["status"].as_str().unwrap_or_default().to_string(),
        condition["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    status["conditions"] = json!([condition]);
    ctx.patch_status(TASK_RUN, tr, status).await?;
    match st.as_str() {
        "True" => {
            ctx.event(tr, "Normal", "Succeeded", &message, "TaskRun")
                .await
        }
        "False" => {
            ctx.event(tr, "Warning", "Failed", &message, "TaskRun")
                .await
        }
        _ => Ok(()),
    }
}

async fn task_run(ctx: &Ctx, tr: &Value) -> Result<(), WorldError> {
    let now = ctx.now_s();
    let (ns, name) = (obj::namespace(tr), obj::name(tr));
    let start = tr["status"]["startTime"]
        .as_str()
        .unwrap_or(&now)
        .to_string();
    let pod_name = child_name(name, "pod");
    let mut status =
        json!({"podName": tr["status"]["podName"].as_str().unwrap_or(""), "startTime": start});
    let fail = |reason: &str, message: &str| succeeded(tr, "False", reason, message, &now);

    let (task_spec, task_name) = if tr["spec"]["taskSpec"].is_object() {
        (tr["spec"]["taskSpec"].clone(), None)
    } else {
        let t = tr["spec"]["taskRef"]["name"].as_str().unwrap_or_default();
        match lookup(ctx, TASK, ns, t).await? {
            Some(task) => (task["spec"].clone(), Some(t.to_string())),
            None => {
                let msg = format!(
                    "Error retrieving task for taskrun {ns}/{name}: tasks.tekton.dev \"{t}\" not found"
                );
                return set_task_run_status(ctx, tr, status, fail("CouldntGetTask", &msg)).await;
            }
        }
    };
    status["taskSpec"] = task_spec.clone();

    if tr["spec"]["status"] == "TaskRunCancelled" {
        ctx.delete(POD, ns, &pod_name).await?;
        let msg = format!(
            "TaskRun \"{name}\" was cancelled. {}",
            tr["spec"]["statusMessage"].as_str().unwrap_or("")
        );
        return set_task_run_status(ctx, tr, status, fail("TaskRunCancelled", msg.trim_end()))
            .await;
    }

    let pod = ctx
        .caches
        .get(POD, ns, &pod_name)
        .filter(|p| obj::is_owned_by(p, obj::uid(tr)));
    let Some(pod) = pod else {
        if !status["podName"].as_str().unwrap_or_default().is_empty() {
            // Created before: the cache has not seen it yet (or it was deleted).
            return Ok(());
        }
        let pod = match build_pod(tr, &task_spec, task_name.as_deref(), &pod_name) {
            Ok(pod) => pod,
            Err(message) => {
                return set_task_run_status(
                    ctx,
                    tr,
                    status,
                    fail("TaskRunValidationFailed", &message),
                )
                .await;
            }
        };
        let pod = with_ingest_output(ctx, tr, pod);
        match ctx.create_only(POD, pod).await {
            Ok(()) => {
                status["podName"] = json!(pod_name);
                let c = succeeded(tr, "Unknown", "Pending", "Pending", &now);
                return set_task_run_status(ctx, tr, status, c).await;
            }
            Err(WorldError::Api {
                source: kube::Error::Api(s),
                ..
            }) if (400..500).contains(&s.code) && s.code != 429 && s.code != 409 => {
                // Tekton's handlePodCreationError (default branch).
                let maybe = match &task_name {
                    Some(t) => format!("missing or invalid Task {ns}/{t}"),
                    None => "invalid TaskSpec".to_string(),
                };
                let msg = format!(
                    "failed to create task run pod \"{name}\": {}. Maybe {maybe}",
                    s.message
                );
                return set_task_run_status(ctx, tr, status, fail("PodCreationFailed", &msg)).await;
            }
            Err(e) => return Err(e),
        }
    };
    status["podName"] = json!(pod_name);
    status["steps"] = json!(step_states(&pod));
    let condition = match pod["status"]["phase"].as_str().unwrap_or("Pending") {
        "Succeeded" => succeeded(
            tr,
            "True",
            "Succeeded",
            "All Steps have completed executing",
            &now,
        ),
        "Failed" => {
            let failed_step = pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| {
                    c["state"]["terminated"]["exitCode"]
                        .as_i64()
                        .is_some_and(|e| e != 0)
                });
            let msg = match failed_step {
                Some(c) => format!(
                    "\"{}\" exited with code {}",
                    c["name"].as_str().unwrap_or_default(),
                    c["state"]["terminated"]["exitCode"].as_i64().unwrap_or(1)
                ),
                None => pod["status"]["message"]
                    .as_str()
                    .unwrap_or("the pod failed")
                    .to_string(),
            };
            fail("Failed", &msg)
        }
        "Running" => succeeded(
            tr,
            "Unknown",
            "Running",
            "Not all Steps in the Task have finished executing",
            &now,
        ),
        _ => {
            let msg = pending_message(&pod);
            succeeded(tr, "Unknown", "Pending", &msg, &now)
        }
    };
    set_task_run_status(ctx, tr, status, condition).await
}

/// Tekton's message for a pending pod: the scheduler's condition, else a waiting step.
fn pending_message(pod: &Value) -> String {
    if let Some(c) = obj::condition(pod, "PodScheduled").filter(|c| c["status"] == "False") {
        return format!(
            "pod status \"PodScheduled\":\"False\"; message: \"{}\"",
            c["message"].as_str().unwrap_or_default()
        );
    }
    let waiting = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["state"]["waiting"]["reason"].is_string());
    match waiting {
        Some(c) => {
            let w = &c["state"]["waiting"];
            let detail = w["message"]
                .as_str()
                .unwrap_or_else(|| w["reason"].as_str().unwrap_or_default());
            format!(
                "build step \"{}\" is pending with reason \"{}\"",
                c["name"].as_str().unwrap_or_default(),
                detail
            )
        }
        None => "Pending".to_string(),
    }
}

/// `status.steps` of a TaskRun: each step container's state.
fn step_states(pod: &Value) -> Vec<Value> {
    pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let container = c["name"].as_str()?;
            let step = container.strip_prefix("step-")?;
            let mut s = json!({"name": step, "container": container});
            for k in ["running", "waiting", "terminated"] {
                if c["state"][k].is_object() {
                    s[k] = c["state"][k].clone();
                }
            }
            if let Some(id) = c["imageID"].as_str() {
                s["imageID"] = json!(id);
            }
            Some(s)
        })
        .collect()
}

fn mount(name: &str, path: &str, read_only: bool) -> Value {
    let mut m = json!({"name": name, "mountPath": path});
    if read_only {
        m["readOnly"] = json!(true);
    }
    m
}

fn empty_dir(name: &str) -> Value {
    json!({"name": name, "emptyDir": {}})
}

/// The pod Tekton's pod builder makes for `tr` running `task_spec` (pkg/pod/pod.go `Build`,
/// after `workspace.Apply` and parameter/context substitution): the volumes in Tekton's order —
/// the implicit `tekton-internal-*` ones, the entrypoint binary, the downward API, per step its
/// creds-init home and run directory, then the Task's own volumes, then the workspaces'. An
/// error is a validation failure of the TaskRun (missing params or workspaces).
/// The ingest script's output for a pod that runs it (a step with `VECTOR_DB` in its env, see
/// `docling-pipeline/scripts/ingest_documents.py`): it registers the collection and prints
/// what it stored, ending with `{"democtl":"ingested",…}`. The documents are the ones the run
/// fetched — the files of the ConfigMaps of documents only (`.md`, `.html`, …) its pods mount —
/// chunked as the script does (HTML reduced to its text, as Docling would convert it).
fn with_ingest_output(ctx: &Ctx, tr: &Value, mut pod: Value) -> Value {
    let env: BTreeMap<String, String> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    let Some(db) = env.get("VECTOR_DB") else {
        return pod;
    };
    let provider = env
        .get("PROVIDER_ID")
        .map_or("milvus-remote", String::as_str);
    let max_words = env
        .get("CHUNK_SIZE")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(256)
        .max(1);
    let ns = obj::namespace(tr);
    let run = obj::label(tr, PIPELINE_RUN_LABEL);
    let mut docs: BTreeMap<String, String> = BTreeMap::new();
    for sibling in ctx.caches.list(POD).values() {
        if obj::namespace(sibling) != ns
            || run.is_none()
            || obj::label(sibling, PIPELINE_RUN_LABEL) != run
        {
            continue;
        }
        for v in sibling["spec"]["volumes"].as_array().into_iter().flatten() {
            let Some(cm) = v["configMap"]["name"]
                .as_str()
                .and_then(|n| ctx.caches.get(CONFIG_MAP, ns, n))
            else {
                continue;
            };
            // A documents ConfigMap holds documents only (the scripts' one holds code too).
            let data = cm["data"].as_object().cloned().unwrap_or_default();
            let is_doc = |f: &str| {
                [".md", ".html", ".htm", ".txt"]
                    .iter()
                    .any(|e| f.ends_with(e))
            };
            if data.is_empty() || !data.keys().all(|f| is_doc(f)) {
                continue;
            }
            for (file, text) in &data {
                if let Some(text) = text.as_str() {
                    docs.insert(file.clone(), text.to_string());
                }
            }
        }
    }
    let mut lines = vec![format!("vector db {db} registered on provider {provider}")];
    let mut total = 0;
    for (i, (file, text)) in docs.iter().enumerate() {
        let markdown = if file.ends_with(".md") || file.ends_with(".txt") {
            text.clone()
        } else {
            html_text(text)
        };
        let n = chunk_count(&markdown, max_words);
        total += n;
        let stem = file.rsplit_once('.').map_or(file.as_str(), |(s, _)| s);
        lines.push(format!(
            "[{}/{}] {stem}.md: {n} chunks inserted into {db}",
            i + 1,
            docs.len()
        ));
    }
    if docs.is_empty() {
        // The script's own failure: nothing was converted.
        return pod;
    }
    lines.push(
        json!({"democtl": "ingested", "vector_db": db, "provider_id": provider,
               "documents": docs.len(), "chunks": total})
        .to_string(),
    );
    pod["metadata"]["annotations"][super::EXIT_LOG_ANNOTATION] = json!(lines.join("\n"));
    pod
}

/// An HTML document's text with its headings as Markdown headings and its blocks as paragraphs.
fn html_text(html: &str) -> String {
    let rules = [
        (r"(?is)<(script|style)[^>]*>.*?</(script|style)>", ""),
        (r"(?i)<h[1-6][^>]*>", "\n\n# "),
        (r"(?i)</(h[1-6]|p|li|tr|div|table|ul|ol)>|<br\s*/?>", "\n\n"),
        (r"<[^>]+>", " "),
    ];
    let mut text = html.to_string();
    for (pattern, with) in rules {
        if let Ok(re) = regex::Regex::new(pattern) {
            text = re.replace_all(&text, with).into_owned();
        }
    }
    text
}

/// How many chunks `ingest_documents.py`'s `chunk()` cuts: Markdown sections, then paragraphs,
/// at most `max_words` words per chunk (a longer paragraph split by words).
fn chunk_count(text: &str, max_words: usize) -> usize {
    let mut sections: Vec<String> = Vec::new();
    for line in text.lines() {
        let heading = line.starts_with('#')
            && line.trim_start_matches('#').starts_with(' ')
            && line.len() - line.trim_start_matches('#').len() <= 6;
        if heading || sections.is_empty() {
            sections.push(String::new());
        }
        if let Some(last) = sections.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    let blank = regex::Regex::new(r"\n\s*\n").ok();
    let mut count = 0;
    for section in sections.iter().filter(|s| !s.trim().is_empty()) {
        let paras: Vec<&str> = match &blank {
            Some(re) => re.split(section).collect(),
            None => vec![section.as_str()],
        };
        let (mut current, mut words_in) = (0usize, 0usize);
        for para in paras {
            let words = para.split_whitespace().count();
            if words == 0 {
                continue;
            }
            if words_in + words > max_words && current > 0 {
                count += 1;
                current = 0;
                words_in = 0;
            }
            if words > max_words {
                count += words.div_ceil(max_words);
                continue;
            }
            current += 1;
            words_in += words;
        }
        if current > 0 {
            count += 1;
        }
    }
    count
}

fn build_pod(
    tr: &Value,
    task_spec: &Value,
    task_name: Option<&str>,
    pod_name: &str,
) -> Result<Value, String> {
    let (ns, name) = (obj::namespace(tr), obj::name(tr));
    let (params, missing) =
        resolve_params(&task_spec["params"], &param_values(&tr["spec"]["params"]));
    if !missing.is_empty() {
        return Err(format!(
            "invalid input params for task {}: missing values for these params which have no default values: [{}]",
            task_name.unwrap_or(name),
            missing.join(" ")
        ));
    }
    let mut repl = param_replacements(&params);
    for (k, v) in [
        ("context.taskRun.name", name),
        ("context.taskRun.namespace", ns),
        ("context.taskRun.uid", obj::uid(tr)),
        ("context.task.name", task_name.unwrap_or(name)),
        ("context.task.retry-count", "0"),
    ] {
        repl.push((format!("$({k})"), v.to_string()));
    }
    // Workspaces: one volume each, mounted into every step at its mountPath.
    let bindings: BTreeMap<String, Value> = tr["spec"]["workspaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| Some((w["name"].as_str()?.to_string(), w.clone())))
        .collect();
    let mut ws_volumes = Vec::new();
    let mut ws_mounts = Vec::new();
    for w in task_spec["workspaces"].as_array().into_iter().flatten() {
        let Some(wname) = w["name"].as_str() else {
            continue;
        };
        let path = w["mountPath"]
            .as_str()
            .map_or_else(|| format!("/workspace/{wname}"), str::to_string);
        let Some(b) = bindings.get(wname) else {
            if w["optional"] == true {
                repl.push((format!("$(workspaces.{wname}.bound)"), "false".into()));
                repl.push((format!("$(workspaces.{wname}.path)"), String::new()));
                continue;
            }
            return Err(format!(
                "declared workspace \"{wname}\" is required but has not been bound"
            ));
        };
        let volume = format!(
            "ws-{}",
            obj::hash_chars(&format!("{}/{wname}", obj::uid(tr)), 5)
        );
        let mut v = json!({"name": volume});
        let mut claim = String::new();
        if let Some(pvc) = b["persistentVolumeClaim"].as_object() {
            claim = pvc
                .get("claimName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            v["persistentVolumeClaim"] = json!(pvc);
        } else if let Some(cm) = b["configMap"].as_object() {
            v["configMap"] = json!(cm);
        } else if let Some(s) = b["secret"].as_object() {
            v["secret"] = json!(s);
        } else if let Some(e) = b["emptyDir"].as_object() {
            v["emptyDir"] = json!(e);
        } else if let Some(p) = b["projected"].as_object() {
            v["projected"] = json!(p);
        } else if let Some(c) = b["csi"].as_object() {
            v["csi"] = json!(c);
        } else {
            return Err(format!(
                "workspace binding \"{wname}\" has no volume source the simulated Tekton supports (persistentVolumeClaim, configMap, secret, emptyDir, projected, csi)"
            ));
        }
        let mut m = mount(&volume, &path, w["readOnly"] == true);
        if let Some(sub) = b["subPath"].as_str() {
            m["subPath"] = json!(sub);
        }
        ws_volumes.push(v);
        ws_mounts.push(m);
        repl.push((format!("$(workspaces.{wname}.path)"), path));
        repl.push((format!("$(workspaces.{wname}.claim)"), claim));
        repl.push((format!("$(workspaces.{wname}.volume)"), volume));
        repl.push((format!("$(workspaces.{wname}.bound)"), "true".into()));
    }
    let mut steps: Vec<Value> = task_spec["steps"].as_array().cloned().unwrap_or_default();
    let mut task_volumes: Vec<Value> = task_spec["volumes"].as_array().cloned().unwrap_or_default();
    let mut template = task_spec["stepTemplate"].clone();
    substitute(&mut template, &repl);
    for s in &mut steps {
        substitute(s, &repl);
    }
    for v in &mut task_volumes {
        substitute(v, &repl);
    }

    let n = steps.len();
    let mut volumes: Vec<Value> = [
        "tekton-internal-workspace",
        "tekton-internal-home",
        "tekton-internal-results",
        "tekton-internal-steps",
    ]
    .iter()
    .map(|v| empty_dir(v))
    .collect();
    volumes.push(empty_dir("tekton-internal-bin"));
    volumes.push(json!({"name": "tekton-internal-downward", "downwardAPI": {"items": [
        {"path": "ready", "fieldRef": {"fieldPath": "metadata.annotations['tekton.dev/ready']"}}]}}));
    for i in 0..n {
        volumes.push(json!({"name": format!("tekton-creds-init-home-{i}"), "emptyDir": {"medium": "Memory"}}));
        volumes.push(empty_dir(&format!("tekton-internal-run-{i}")));
    }
    volumes.extend(task_volumes);
    volumes.extend(ws_volumes);

    let implicit = [
        mount("tekton-internal-bin", "/tekton/bin", true),
        mount("tekton-internal-workspace", "/workspace", false),
        mount("tekton-internal-home", "/tekton/home", false),
        mount("tekton-internal-results", "/tekton/results", false),
        mount("tekton-internal-steps", "/tekton/steps", true),
    ];
    let mut step_names = Vec::new();
    let mut containers = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let mut c = template.as_object().cloned().unwrap_or_default();
        for (k, v) in step.as_object().cloned().unwrap_or_default() {
            c.insert(k, v);
        }
        let mut c = Value::Object(c);
        let sname = step["name"]
            .as_str()
            .map_or_else(|| format!("unnamed-{i}"), str::to_string);
        c["name"] = json!(format!("step-{sname}"));
        step_names.push(format!("step-{sname}"));
        // The entrypoint wraps the step's command, waiting for the previous step.
        let mut command: Vec<Value> = c["command"].as_array().cloned().unwrap_or_default();
        let mut args: Vec<Value> = c["args"].as_array().cloned().unwrap_or_default();
        if let Some(script) = c.as_object_mut().and_then(|m| m.remove("script")) {
            command = vec![json!(format!("/tekton/scripts/script-{i}"))];
            let _ = script;
        }
        let mut ep: Vec<Value> = if i == 0 {
            vec![
                json!("-wait_file"),
                json!("/tekton/downward/ready"),
                json!("-wait_file_content"),
            ]
        } else {
            vec![
                json!("-wait_file"),
                json!(format!("/tekton/run/{}/out", i - 1)),
            ]
        };
        ep.extend([
            json!("-post_file"),
            json!(format!("/tekton/run/{i}/out")),
            json!("-termination_path"),
            json!("/tekton/termination"),
            json!("-step_metadata_dir"),
            json!(format!("/tekton/run/{i}/status")),
        ]);
        if let Some(first) = command.first().cloned() {
            ep.extend([json!("-entrypoint"), first]);
            ep.push(json!("--"));
            ep.extend(command.into_iter().skip(1));
        } else {
            ep.push(json!("--"));
        }
        ep.append(&mut args);
        c["command"] = json!(["/tekton/bin/entrypoint"]);
        c["args"] = json!(ep);
        c["terminationMessagePath"] = json!("/tekton/termination");
        c["terminationMessagePolicy"] = json!("File");
        let mut mounts: Vec<Value> = c["volumeMounts"].as_array().cloned().unwrap_or_default();
        mounts.extend(ws_mounts.iter().cloned());
        mounts.push(mount(
            &format!("tekton-creds-init-home-{i}"),
            "/tekton/creds",
            false,
        ));
        for j in 0..n {
            mounts.push(mount(
                &format!("tekton-internal-run-{j}"),
                &format!("/tekton/run/{j}"),
                i != j,
            ));
        }
        if i == 0 {
            mounts.push(mount("tekton-internal-downward", "/tekton/downward", true));
        }
        let taken: Vec<String> = mounts
            .iter()
            .filter_map(|m| {
                m["mountPath"]
                    .as_str()
                    .map(|p| p.trim_end_matches('/').to_string())
            })
            .collect();
        for m in &implicit {
            if !taken.iter().any(|t| m["mountPath"] == t.as_str()) {
                mounts.push(m.clone());
            }
        }
        c["volumeMounts"] = json!(mounts);
        containers.push(c);
    }
    let prepare = json!({
        "name": "prepare",
        "image": ENTRYPOINT_IMAGE,
        "command": ["/ko-app/entrypoint", "init", "/ko-app/entrypoint", "/tekton/bin/entrypoint"],
        "args": step_names,
        "workingDir": "/",
        "volumeMounts": [mount("tekton-internal-bin", "/tekton/bin", false),
                         mount("tekton-internal-steps", "/tekton/steps", false)],
        "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                            "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
    });

    let mut labels = string_map(&tr["metadata"]["labels"]);
    if let Some(t) = task_name {
        labels.insert(TASK_LABEL.into(), json!(t));
    }
    labels.insert(TASK_RUN_LABEL.into(), json!(name));
    labels.insert(TASK_RUN_UID_LABEL.into(), json!(obj::uid(tr)));
    labels.insert(MANAGED_BY.0.into(), json!(MANAGED_BY.1));
    // The simulated kubelet runs the pod to completion (`delays.pipeline_run`).
    labels.insert(BEHAVIOUR_LABEL.into(), json!("run"));
    let mut annotations = string_map(&tr["metadata"]["annotations"]);
    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    annotations.insert("pipeline.tekton.dev/release".into(), json!("v1.19.1"));
    let timeout = tr["spec"]["timeout"]
        .as_str()
        .and_then(parse_go_duration)
        .unwrap_or(DEFAULT_TIMEOUT_SECS);
    let mut spec = json!({
        "restartPolicy": "Never",
        "initContainers": [prepare],
        "containers": containers,
        "volumes": volumes,
        "activeDeadlineSeconds": if timeout == 0 { i64::from(i32::MAX) as u64 } else { timeout * 3 / 2 },
    });
    if let Some(sa) = tr["spec"]["serviceAccountName"].as_str() {
        spec["serviceAccountName"] = json!(sa);
    }
    let pt = &tr["spec"]["podTemplate"];
    for field in [
        "nodeSelector",
        "tolerations",
        "affinity",
        "securityContext",
        "priorityClassName",
        "imagePullSecrets",
    ] {
        if !pt[field].is_null() {
            spec[field] = pt[field].clone();
        }
    }
    Ok(json!({
        "metadata": {"name": pod_name, "namespace": ns, "labels": labels, "annotations": annotations,
                     "ownerReferences": [obj::controller_ref(tr)]},
        "spec": spec,
    }))
}

/// Seconds of a Go duration (`1h`, `1h30m`, `90s`, `0`); `None` when malformed.
fn parse_go_duration(s: &str) -> Option<u64> {
    if s == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            0.001
        } else {
            match c {
                'h' => 3600.0,
                'm' => 60.0,
                's' => 1.0,
                _ => return None,
            }
        };
        total += num.parse::<f64>().ok()? * unit;
        num.clear();
    }
    num.is_empty().then_some(total as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_counted_as_the_ingest_script_cuts_them() {
        // As the script counts (checked with its `chunk()`): the heading's words count, so
        // "# A one two" (4 words) is cut 3 + 1, "three" is one, "## B w…" (9 words) 3 × 3,
        // "last para" one: 7.
        let md = "# A\none two\n\nthree\n\n## B\nw w w w w w w\n\nlast para\n";
        assert_eq!(chunk_count(md, 3), 7);
        assert_eq!(chunk_count(md, 256), 2);
        let html = "<html><head><style>p {}</style></head><body><h1>Title</h1><p>one two</p><h2>Next</h2><p>three</p></body></html>";
        assert_eq!(chunk_count(&html_text(html), 256), 2);
        assert_eq!(chunk_count("", 256), 0);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h"), Some(3600));
        assert_eq!(parse_go_duration("1h0m0s"), Some(3600));
        assert_eq!(parse_go_duration("90s"), Some(90));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("1x"), None);
    }

    #[test]
    fn child_names_fit_63_characters() {
        assert_eq!(child_name("ingest-redhat", "fetch"), "ingest-redhat-fetch");
        let long = child_name(&"a".repeat(60), "fetch");
        assert_eq!(long.len(), 63);
        assert_ne!(long, child_name(&"a".repeat(61), "fetch"));
    }

    fn fetch_task() -> Value {
        serde_json::from_str(
            r#"{"params": [{"name": "scenario"}, {"name": "configmap"}],
                "workspaces": [{"name": "documents"}],
                "steps": [{"name": "fetch", "image": "ubi", "command": ["/bin/sh", "/scripts/f.sh"],
                           "env": [{"name": "DIR", "value": "$(workspaces.documents.path)/$(params.scenario)/source"}],
                           "volumeMounts": [{"name": "scripts", "mountPath": "/scripts"}, {"name": "documents", "mountPath": "/documents"}]}],
                "volumes": [{"name": "scripts", "configMap": {"name": "docling-pipeline-scripts"}},
                            {"name": "documents", "configMap": {"name": "$(params.configmap)"}}]}"#,
        )
        .unwrap_or_default()
    }

    fn task_run(configmap: &str) -> Value {
        json!({"metadata": {"name": "ingest-redhat-fetch", "namespace": "demo", "uid": "u1"},
               "spec": {"params": [{"name": "scenario", "value": "redhat"}, {"name": "configmap", "value": configmap}],
                        "workspaces": [{"name": "documents", "persistentVolumeClaim": {"claimName": "rag-documents"}}]}})
    }

    #[test]
    fn pod_substitutes_params_and_workspaces_in_tektons_volume_order() {
        let pod = build_pod(
            &task_run("documents-redhat"),
            &fetch_task(),
            Some("fetch-documents"),
            "ingest-redhat-fetch-pod",
        )
        .unwrap_or_default();
        let volumes = pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let names: Vec<&str> = volumes.iter().filter_map(|v| v["name"].as_str()).collect();
        assert_eq!(
            &names[..8],
            &[
                "tekton-internal-workspace",
                "tekton-internal-home",
                "tekton-internal-results",
                "tekton-internal-steps",
                "tekton-internal-bin",
                "tekton-internal-downward",
                "tekton-creds-init-home-0",
                "tekton-internal-run-0"
            ]
        );
        assert_eq!(names[8], "scripts");
        assert_eq!(volumes[9]["configMap"]["name"], "documents-redhat");
        assert!(names[10].starts_with("ws-"));
        assert_eq!(
            volumes[10]["persistentVolumeClaim"]["claimName"],
            "rag-documents"
        );
        let step = &pod["spec"]["containers"][0];
        assert_eq!(step["name"], "step-fetch");
        assert_eq!(
            step["env"][0]["value"],
            "/workspace/documents/redhat/source"
        );
        let mounts: Vec<&str> = step["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        assert!(
            mounts.contains(&"/workspace/documents") && mounts.contains(&"/tekton/bin"),
            "{mounts:?}"
        );
        assert_eq!(
            pod["metadata"]["labels"][TASK_RUN_LABEL],
            "ingest-redhat-fetch"
        );
        assert_eq!(pod["metadata"]["labels"][TASK_LABEL], "fetch-documents");
    }

    #[test]
    fn an_empty_configmap_param_gives_an_empty_volume_name() {
        let pod = build_pod(&task_run(""), &fetch_task(), Some("fetch-documents"), "p")
            .unwrap_or_default();
        assert_eq!(pod["spec"]["volumes"][9]["configMap"]["name"], "");
    }

    #[test]
    fn missing_params_and_workspaces_are_validation_errors() {
        let mut tr = task_run("x");
        tr["spec"]["params"] = json!([{"name": "scenario", "value": "redhat"}]);
        let err = build_pod(&tr, &fetch_task(), Some("fetch-documents"), "p")
            .err()
            .unwrap_or_default();
        assert!(
            err.contains(
                "missing values for these params which have no default values: [configmap]"
            ),
            "{err}"
        );
        let mut tr = task_run("x");
        tr["spec"]["workspaces"] = json!([]);
        let err = build_pod(&tr, &fetch_task(), Some("fetch-documents"), "p")
            .err()
            .unwrap_or_default();
        assert!(err.contains("\"documents\" is required"), "{err}");
    }
}
