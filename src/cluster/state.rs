//! Per-stage state recorded in the cluster: ConfigMap `democtl-stage-<stage>` in namespace
//! `democtl` (status, completed steps, run id, democtl version, timestamps, derived values,
//! last benchmark results, the stage's inventory and the previous values of objects the stage
//! patched). `status`, resume and stage prerequisites read it from any machine.
//!
//! Three groups of keys are written with server-side apply under separate field managers, so
//! the runner's progress writes, apply's inventory writes and patch records never clobber each
//! other.

use std::collections::BTreeMap;

use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::Cluster;
use super::error::ClusterError;
use super::inventory::{self, FIELD_MANAGER, LABEL_MANAGED_BY, LABEL_STAGE, MANAGED_BY, NAMESPACE};
use super::object::ObjectKey;

const MANAGER_INVENTORY: &str = "democtl-inventory";
const MANAGER_PATCHES: &str = "democtl-patches";
const MANAGER_BENCHMARKS: &str = "democtl-benchmarks";

/// Name of a stage's state ConfigMap.
pub fn config_map_name(stage: &str) -> String {
    format!("democtl-stage-{stage}")
}

/// Where a stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    InProgress,
    Deployed,
    Failed,
}

impl StageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::InProgress => "in-progress",
            StageStatus::Deployed => "deployed",
            StageStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in-progress" => StageStatus::InProgress,
            "deployed" => StageStatus::Deployed,
            "failed" => StageStatus::Failed,
            _ => return None,
        })
    }
}

/// One object the stage applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryEntry {
    #[serde(flatten)]
    pub key: ObjectKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// An object the stage merge-patched but does not own, and how to undo it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchedObject {
    pub target: ObjectKey,
    /// JSON merge patch that restores the previous values (`null` = the field did not exist).
    pub restore: Value,
    /// Which step patched it.
    pub step: String,
}

/// A stage's record in the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageState {
    pub stage: String,
    pub status: StageStatus,
    pub run_id: String,
    pub democtl_version: String,
    /// RFC 3339.
    pub started_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    /// Who ran it (SelfSubjectReview user).
    pub user: Option<String>,
    pub completed_steps: Vec<String>,
    pub values: BTreeMap<String, Value>,
    #[serde(default)]
    pub inventory: Vec<InventoryEntry>,
    #[serde(default)]
    pub patched: Vec<PatchedObject>,
    /// Last benchmark results document, if any.
    #[serde(default)]
    pub benchmarks: Option<Value>,
    /// Where the run that wrote the record would go on, should it stop (`status` prints the
    /// command that resumes an interrupted run from it).
    #[serde(default)]
    pub resume: Option<ResumePoint>,
}

/// Where a run of a stage was: the step it was at (the next one to run; `None` once the
/// stage's steps all ran), the stage it was deploying and its switch values.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumePoint {
    pub target: String,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    pub switches: BTreeMap<String, bool>,
}

impl StageState {
    /// A fresh in-progress record for a run starting now.
    pub fn start(
        stage: impl Into<String>,
        run_id: impl Into<String>,
        user: Option<String>,
    ) -> Self {
        let now = jiff::Timestamp::now().to_string();
        StageState {
            stage: stage.into(),
            status: StageStatus::InProgress,
            run_id: run_id.into(),
            democtl_version: env!("CARGO_PKG_VERSION").into(),
            started_at: now.clone(),
            updated_at: now,
            finished_at: None,
            user,
            completed_steps: Vec::new(),
            values: BTreeMap::new(),
            inventory: Vec::new(),
            patched: Vec::new(),
            benchmarks: None,
            resume: None,
        }
    }
}

/// Applies namespace `democtl` (idempotent).
pub async fn ensure_namespace(cluster: &Cluster) -> Result<(), ClusterError> {
    let key = ObjectKey::new("v1", "Namespace", None, NAMESPACE);
    let r = cluster.resolve_or_missing(&key).await?;
    let api = cluster.api(&r.resource, None);
    let ns_object = inventory::namespace_object();
    let namespace = Patch::Apply(&ns_object);
    let params = PatchParams::apply(FIELD_MANAGER)
        .force()
        .validation_strict();
    cluster
        .call(
            "apply",
            || key.describe(),
            || api.patch(NAMESPACE, &params, &namespace),
        )
        .await?;
    Ok(())
}

fn cm_key(stage: &str) -> ObjectKey {
    ObjectKey::new("v1", "ConfigMap", Some(NAMESPACE), config_map_name(stage))
}

async fn cm_api(cluster: &Cluster) -> Result<kube::Api<kube::api::DynamicObject>, ClusterError> {
    let r = cluster
        .resolve_or_missing(&ObjectKey::new("v1", "ConfigMap", Some(NAMESPACE), ""))
        .await?;
    Ok(cluster.api(&r.resource, Some(NAMESPACE)))
}

fn json_key<T: serde::de::DeserializeOwned + Default>(
    data: &serde_json::Map<String, Value>,
    key: &str,
    object: &ObjectKey,
) -> Result<T, ClusterError> {
    match data.get(key).and_then(Value::as_str) {
        None | Some("") => Ok(T::default()),
        Some(text) => serde_json::from_str(text).map_err(|source| ClusterError::State {
            object: object.describe(),
            source,
        }),
    }
}

fn parse(cm: &Value, stage: &str) -> Result<Option<StageState>, ClusterError> {
    let key = cm_key(stage);
    let empty = serde_json::Map::new();
    let data = cm.get("data").and_then(Value::as_object).unwrap_or(&empty);
    let s = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(status) = s("status").as_deref().and_then(StageStatus::parse) else {
        // Only inventory/patch records so far (an apply outside a run): not a deployed stage.
        if data.contains_key("inventory") || data.contains_key("patched") {
            let mut st = StageState::start(stage, "", None);
            st.status = StageStatus::InProgress;
            st.started_at = String::new();
            st.updated_at = String::new();
            st.inventory = json_key(data, "inventory", &key)?;
            st.patched = json_key(data, "patched", &key)?;
            return Ok(Some(st));
        }
        return Ok(None);
    };
    Ok(Some(StageState {
        stage: stage.to_string(),
        status,
        run_id: s("runId").unwrap_or_default(),
        democtl_version: s("democtlVersion").unwrap_or_default(),
        started_at: s("startedAt").unwrap_or_default(),
        updated_at: s("updatedAt").unwrap_or_default(),
        finished_at: s("finishedAt").filter(|v| !v.is_empty()),
        user: s("user").filter(|v| !v.is_empty()),
        completed_steps: json_key(data, "completedSteps", &key)?,
        values: json_key(data, "values", &key)?,
        inventory: json_key(data, "inventory", &key)?,
        patched: json_key(data, "patched", &key)?,
        resume: json_key(data, "resume", &key)?,
        benchmarks: match data.get("benchmarks").and_then(Value::as_str) {
            None | Some("") => None,
            Some(t) => Some(
                serde_json::from_str(t).map_err(|source| ClusterError::State {
                    object: key.describe(),
                    source,
                })?,
            ),
        },
    }))
}

/// Reads a stage's state; `None` when the stage was never deployed (or democtl's namespace
/// does not exist).
pub async fn load(cluster: &Cluster, stage: &str) -> Result<Option<StageState>, ClusterError> {
    Ok(load_versioned(cluster, stage).await?.0)
}

/// [`load`], with the record's resourceVersion (for an optimistic-concurrency write).
async fn load_versioned(
    cluster: &Cluster,
    stage: &str,
) -> Result<(Option<StageState>, Option<String>), ClusterError> {
    let key = cm_key(stage);
    let api = cm_api(cluster).await?;
    let Some(cm) = cluster
        .call("get", || key.describe(), || api.get_opt(&key.name))
        .await?
    else {
        return Ok((None, None));
    };
    let version = cm.metadata.resource_version.clone();
    let value = serde_json::to_value(&cm).unwrap_or(Value::Null);
    Ok((parse(&value, stage)?, version))
}

/// How often a read-modify-write of a record is redone after another writer (or our own write
/// whose response was lost) changed the record in between.
const UPDATE_ATTEMPTS: u32 = 6;

/// Read-modify-write of one group of keys of a stage's record, with optimistic concurrency:
/// `change` computes the keys to write from the current record (None = nothing to write) and
/// the write carries the record's resourceVersion. On a conflict the record is read again and
/// `change` applied anew, so `change` must be idempotent (it is redone when the response to a
/// write that succeeded was lost: the retry then meets our own write as a conflict).
async fn update(
    cluster: &Cluster,
    stage: &str,
    manager: &str,
    change: impl Fn(Option<&StageState>) -> Option<Value>,
) -> Result<(), ClusterError> {
    ensure_namespace(cluster).await?;
    let mut attempt = 1;
    loop {
        let (current, version) = load_versioned(cluster, stage).await?;
        let Some(data) = change(current.as_ref()) else {
            return Ok(());
        };
        match apply_cm(cluster, stage, manager, data, version).await {
            Err(e) if e.is_conflict() && attempt < UPDATE_ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

/// Reads every stage's state (one list call), sorted by stage id.
pub async fn load_all(cluster: &Cluster) -> Result<Vec<StageState>, ClusterError> {
    let api = cm_api(cluster).await?;
    let lp =
        ListParams::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_STAGE}"));
    let list = match cluster
        .call(
            "list",
            || format!("`ConfigMap` in `{NAMESPACE}`"),
            || api.list(&lp),
        )
        .await
    {
        Ok(l) => l,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for cm in list.items {
        let v = serde_json::to_value(&cm).unwrap_or(Value::Null);
        let Some(stage) = v
            .pointer("/metadata/labels")
            .and_then(|l| l.get(LABEL_STAGE))
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        if let Some(st) = parse(&v, &stage)? {
            out.push(st);
        }
    }
    out.sort_by(|a, b| a.stage.cmp(&b.stage));
    Ok(out)
}

fn base_cm(stage: &str, data: Value, resource_version: Option<String>) -> Value {
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(stage),
            "namespace": NAMESPACE,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, LABEL_STAGE: stage},
        },
        "data": data,
    });
    // Server-side apply with a resourceVersion is refused (409) when the record changed since
    // it was read: the optimistic lock of `update`.
    if let Some(rv) = resource_version {
        cm["metadata"]["resourceVersion"] = json!(rv);
    }
    cm
}

/// Writes `data` into the record under `manager`; with `resource_version`, only if the record
/// is still at that version (else a 409 conflict).
async fn apply_cm(
    cluster: &Cluster,
    stage: &str,
    manager: &str,
    data: Value,
    resource_version: Option<String>,
) -> Result<(), ClusterError> {
    let key = cm_key(stage);
    let api = cm_api(cluster).await?;
    let params = PatchParams::apply(manager).force().validation_strict();
    let cm = base_cm(stage, data, resource_version);
    let patch = Patch::Apply(&cm);
    cluster
        .call(
            "record state in",
            || key.describe(),
            || api.patch(&key.name, &params, &patch),
        )
        .await?;
    Ok(())
}

fn to_json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Writes the run-owned part of the record (status, run id, version, timestamps, steps,
/// values), unconditionally. Inventory, patches and benchmarks are written by their own
/// functions.
pub async fn save(cluster: &Cluster, state: &StageState) -> Result<(), ClusterError> {
    ensure_namespace(cluster).await?;
    apply_cm(cluster, &state.stage, FIELD_MANAGER, run_data(state), None).await
}

/// The run-owned keys of a record.
fn run_data(state: &StageState) -> Value {
    json!({
        "status": state.status.as_str(),
        "runId": state.run_id,
        "democtlVersion": state.democtl_version,
        "startedAt": state.started_at,
        "updatedAt": jiff::Timestamp::now().to_string(),
        "finishedAt": state.finished_at.clone().unwrap_or_default(),
        "user": state.user.clone().unwrap_or_default(),
        "completedSteps": to_json_text(&state.completed_steps),
        "values": to_json_text(&state.values),
        "resume": state.resume.as_ref().map(to_json_text).unwrap_or_default(),
    })
}

/// A run starts (or resumes) a stage: status in-progress under `run_id`. Completed steps and
/// derived values of earlier runs are kept, so the runner can resume after them.
pub async fn stage_started(
    cluster: &Cluster,
    stage: &str,
    run_id: &str,
    user: Option<String>,
) -> Result<StageState, ClusterError> {
    stage_started_at(cluster, stage, run_id, user, None).await
}

/// [`stage_started`], recording where the run is (its first step to run, target, switches).
pub async fn stage_started_at(
    cluster: &Cluster,
    stage: &str,
    run_id: &str,
    user: Option<String>,
    resume: Option<ResumePoint>,
) -> Result<StageState, ClusterError> {
    let mut started = StageState::start(stage, run_id, user);
    started.resume = resume;
    let result = std::sync::Mutex::new(started.clone());
    update(cluster, stage, FIELD_MANAGER, |prev| {
        let mut st = started.clone();
        if let Some(prev) = prev {
            st.completed_steps = prev.completed_steps.clone();
            st.values = prev.values.clone();
        }
        let data = run_data(&st);
        *result
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = st;
        Some(data)
    })
    .await?;
    Ok(result
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// The record of `stage`, which the run must have started.
fn started<'a>(prev: Option<&'a StageState>, stage: &str) -> Result<&'a StageState, ClusterError> {
    prev.filter(|p| !p.run_id.is_empty()).ok_or_else(|| {
        ClusterError::Refused(format!(
            "stage `{stage}` has no state record; the run did not start it"
        ))
    })
}

/// A step finished: add it to the completed steps and store all derived values.
pub async fn step_completed(
    cluster: &Cluster,
    stage: &str,
    step: &str,
    values: &BTreeMap<String, Value>,
) -> Result<(), ClusterError> {
    step_completed_then(cluster, stage, step, values, None).await
}

/// [`step_completed`], recording where the run goes on (`None`: the point is kept).
pub async fn step_completed_then(
    cluster: &Cluster,
    stage: &str,
    step: &str,
    values: &BTreeMap<String, Value>,
    next: Option<&ResumePoint>,
) -> Result<(), ClusterError> {
    let missing = std::sync::Mutex::new(None);
    update(cluster, stage, FIELD_MANAGER, |prev| {
        let mut st = match started(prev, stage) {
            Ok(st) => st.clone(),
            Err(e) => {
                *missing
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                return None;
            }
        };
        if !st.completed_steps.iter().any(|s| s == step) {
            st.completed_steps.push(step.to_string());
        }
        st.values
            .extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(next) = next {
            st.resume = Some(next.clone());
        }
        Some(run_data(&st))
    })
    .await?;
    match missing
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The stage ended: record its status and finish time.
pub async fn stage_finished(
    cluster: &Cluster,
    stage: &str,
    status: StageStatus,
) -> Result<(), ClusterError> {
    let finished_at = jiff::Timestamp::now().to_string();
    update(cluster, stage, FIELD_MANAGER, |prev| {
        let mut st = prev.filter(|p| !p.run_id.is_empty())?.clone();
        st.status = status;
        st.finished_at = Some(finished_at.clone());
        Some(run_data(&st))
    })
    .await
}

/// Adds objects to the stage's inventory (same key = replaced, so uids stay current).
pub async fn add_inventory(
    cluster: &Cluster,
    stage: &str,
    entries: &[InventoryEntry],
) -> Result<(), ClusterError> {
    update(cluster, stage, MANAGER_INVENTORY, |prev| {
        let mut inventory = prev.map(|s| s.inventory.clone()).unwrap_or_default();
        for e in entries {
            match inventory.iter_mut().find(|i| i.key == e.key) {
                Some(existing) => existing.uid = e.uid.clone(),
                None => inventory.push(e.clone()),
            }
        }
        Some(json!({"inventory": to_json_text(&inventory)}))
    })
    .await
}

/// Replaces the stage's inventory (teardown removes what it deleted).
pub async fn set_inventory(
    cluster: &Cluster,
    stage: &str,
    entries: &[InventoryEntry],
) -> Result<(), ClusterError> {
    ensure_namespace(cluster).await?;
    apply_cm(
        cluster,
        stage,
        MANAGER_INVENTORY,
        json!({"inventory": to_json_text(&entries)}),
        None,
    )
    .await
}

/// The merge patch that undoes `patch` on `live`: the same shape, with the live values (or
/// `null` where the field did not exist, which deletes it again). A subtree that did not exist
/// is deleted whole, except under `metadata`, where labels and annotations are shared with
/// other writers and only the patched keys are removed.
pub fn restore_patch(patch: &Value, live: &Value) -> Value {
    restore_at(patch, live, true, false)
}

fn restore_at(patch: &Value, live: &Value, root: bool, shared_maps: bool) -> Value {
    match patch {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (k, v) in fields {
                let prev = live.get(k).unwrap_or(&Value::Null);
                let shared = shared_maps || (root && k == "metadata");
                let r = if v.is_object() && (prev.is_object() || (prev.is_null() && shared)) {
                    restore_at(v, prev, false, shared)
                } else {
                    prev.clone()
                };
                out.insert(k.clone(), r);
            }
            Value::Object(out)
        }
        _ => live.clone(),
    }
}

/// Records how to restore an object the stage patched. The first record for a target wins:
/// re-running a patch must not overwrite the original values with democtl's own.
pub async fn record_patch(
    cluster: &Cluster,
    stage: &str,
    patch: PatchedObject,
) -> Result<(), ClusterError> {
    update(cluster, stage, MANAGER_PATCHES, |prev| {
        let mut patched = prev.map(|s| s.patched.clone()).unwrap_or_default();
        if patched
            .iter()
            .any(|p| p.target == patch.target && p.step == patch.step)
        {
            return None;
        }
        patched.push(patch.clone());
        Some(json!({"patched": to_json_text(&patched)}))
    })
    .await
}

/// Records the stage's latest benchmark results.
pub async fn record_benchmarks(
    cluster: &Cluster,
    stage: &str,
    results: &Value,
) -> Result<(), ClusterError> {
    ensure_namespace(cluster).await?;
    apply_cm(
        cluster,
        stage,
        MANAGER_BENCHMARKS,
        json!({"benchmarks": to_json_text(results)}),
        None,
    )
    .await
}

/// Removes a stage's record (after teardown).
pub async fn delete(cluster: &Cluster, stage: &str) -> Result<(), ClusterError> {
    let key = cm_key(stage);
    let api = cm_api(cluster).await?;
    let dp = DeleteParams::default();
    cluster
        .call_if_present("delete", || key.describe(), || api.delete(&key.name, &dp))
        .await
        .map(|_| ())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_record() {
        let cm = json!({"data": {
            "status": "deployed", "runId": "r1", "democtlVersion": "0.1.0",
            "startedAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:10:00Z",
            "finishedAt": "2026-01-01T00:10:00Z", "user": "kube:admin",
            "completedSteps": "[\"prereq\",\"apply\"]",
            "values": "{\"stage1.isvc.url\":\"https://x\"}",
            "inventory": "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"namespace\":\"d\",\"name\":\"c\",\"uid\":\"u\"}]",
        }});
        let st = parse(&cm, "stage1").unwrap().unwrap();
        assert_eq!(st.status, StageStatus::Deployed);
        assert_eq!(st.completed_steps, vec!["prereq", "apply"]);
        assert_eq!(st.values["stage1.isvc.url"], "https://x");
        assert_eq!(
            st.inventory[0].key,
            ObjectKey::new("v1", "ConfigMap", Some("d"), "c")
        );
        assert_eq!(st.inventory[0].uid.as_deref(), Some("u"));
        assert_eq!(st.user.as_deref(), Some("kube:admin"));
    }

    #[test]
    fn corrupt_records_name_the_config_map() {
        let cm = json!({"data": {"status": "deployed", "completedSteps": "[oops"}});
        let err = parse(&cm, "stage2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the democtl state record `ConfigMap/democtl-stage-stage2` in `democtl` is unreadable"
        );
        assert_eq!(parse(&json!({"data": {}}), "s").unwrap(), None);
    }
}
