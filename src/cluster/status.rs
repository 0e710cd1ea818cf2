//! `democtl status`: one fast, read-only collection (lists run in parallel): cluster and user,
//! per stage deployed/when/by which run, per component readiness with the reason, GPU nodes,
//! InferenceService URLs and the last benchmark results. Serialisable for `-o json|yaml`; the
//! app renders it and maps [`Health`] to exit codes.

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;
use kube::api::ListParams;
use serde::Serialize;
use serde_json::Value;

use super::client::{Cluster, Identity};
use super::error::ClusterError;
use super::inventory::{self, LABEL_COMPONENT};
use super::object::{ObjectKey, condition, label, str_at};
use super::state::{self, StageState, StageStatus};
use super::wait::status_reason;
use crate::readiness::{self, AssessContext, Status};

/// Overall verdict, mapped to exit codes by the app (0 healthy, 4 degraded, 5 not deployed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    Healthy,
    Degraded,
    NotDeployed,
}

/// Readiness of one component of a stage (objects labelled `democtl.io/component`).
#[derive(Debug, Clone, Serialize)]
pub struct ComponentStatus {
    pub name: String,
    /// Worst status of its objects (`Current`, `InProgress`, `Failed`, …).
    pub status: String,
    /// Why, when not Current: the first not-ready object and its reason.
    pub reason: Option<String>,
    pub ready: usize,
    pub total: usize,
}

/// One stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub stage: String,
    /// `deployed`, `in-progress`, `failed`, or `not-deployed`.
    pub state: String,
    pub run_id: Option<String>,
    pub user: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub completed_steps: Vec<String>,
    pub components: Vec<ComponentStatus>,
    pub benchmarks: Option<Value>,
    /// The endpoints the stage's last run found (its `summary` step), by slug
    /// (`openshift-ai-dashboard` → URL), in the stage record's order.
    #[serde(default)]
    pub endpoints: Vec<RecordedEndpoint>,
    /// The LM-Eval scores the stage's last run recorded (`<stage>.lm-eval.results`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<Value>,
    /// Objects that carry the stage's ApplySet labels but are not in its state record (a
    /// record left short by an interrupted write, or none at all): `Kind/name`, counted in
    /// `components` when there is a record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecorded: Vec<String>,
    /// The vector-store collections its ingestion runs filled (`<stage>.collection.<name>`),
    /// by name: provider, documents, chunks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub collections: BTreeMap<String, Value>,
}

impl StageReport {
    /// Stage `stage` in `state`, with nothing else known yet.
    pub fn new(stage: &str, state: &str) -> StageReport {
        StageReport {
            stage: stage.to_string(),
            state: state.to_string(),
            run_id: None,
            user: None,
            started_at: None,
            finished_at: None,
            completed_steps: Vec::new(),
            components: Vec::new(),
            benchmarks: None,
            endpoints: Vec::new(),
            evaluation: None,
            unrecorded: Vec::new(),
            collections: BTreeMap::new(),
        }
    }
}

/// An endpoint a deploy recorded (`<stage>.endpoint.<slug>`).
#[derive(Debug, Clone, Serialize)]
pub struct RecordedEndpoint {
    pub slug: String,
    /// The stage file's label for it (filled in by the caller, which has the stage files).
    pub label: Option<String>,
    pub url: String,
}

/// The endpoints recorded in a stage's values.
fn recorded_endpoints(st: &StageState) -> Vec<RecordedEndpoint> {
    let prefix = format!("{}.endpoint.", st.stage);
    st.values
        .iter()
        .filter_map(|(k, v)| {
            Some(RecordedEndpoint {
                slug: k.strip_prefix(&prefix)?.to_string(),
                label: None,
                url: v.as_str()?.to_string(),
            })
        })
        .collect()
}

/// A GPU node.
#[derive(Debug, Clone, Serialize)]
pub struct GpuNode {
    pub name: String,
    pub ready: bool,
    pub instance_type: Option<String>,
    pub gpus: u64,
}

/// An InferenceService endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub namespace: String,
    pub name: String,
    pub url: Option<String>,
    pub ready: bool,
}

/// Everything `democtl status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub server: String,
    pub context: Option<String>,
    pub user: Option<String>,
    pub health: Health,
    pub stages: Vec<StageReport>,
    pub gpu_nodes: Vec<GpuNode>,
    pub inference_services: Vec<Endpoint>,
}

/// Collects the status of `stages` (stage ids in order, e.g. `["stage1", "stage2", "stage3"]`).
/// Fails only when the cluster cannot be read at all (unreachable, unauthorised).
pub async fn collect(cluster: &Cluster, stages: &[String]) -> Result<StatusReport, ClusterError> {
    let (identity, states, nodes, isvcs) = tokio::join!(
        cluster.identity(),
        state::load_all(cluster),
        list_all(cluster, "v1", "Node", Some("nvidia.com/gpu.present=true")),
        list_all(
            cluster,
            "serving.kserve.io/v1beta1",
            "InferenceService",
            None
        ),
    );
    let identity: Identity = identity?;
    let states = states?;
    let by_stage: HashMap<&str, &StageState> =
        states.iter().map(|s| (s.stage.as_str(), s)).collect();
    let reports = join_all(
        stages
            .iter()
            .map(|id| stage_report(cluster, id, by_stage.get(id.as_str()).copied())),
    )
    .await;
    let mut stage_reports = Vec::new();
    for r in reports {
        stage_reports.push(r?);
    }
    let health = health_of(&stage_reports);
    Ok(StatusReport {
        server: cluster.server().to_string(),
        context: cluster.context().map(str::to_string),
        user: Some(identity.user),
        health,
        stages: stage_reports,
        gpu_nodes: nodes?.iter().map(gpu_node).collect(),
        inference_services: isvcs?.iter().map(endpoint).collect(),
    })
}

fn health_of(stages: &[StageReport]) -> Health {
    let deployed: Vec<&StageReport> = stages
        .iter()
        .filter(|s| s.state != "not-deployed")
        .collect();
    if deployed.is_empty() {
        return Health::NotDeployed;
    }
    let bad = deployed.iter().any(|s| {
        s.state != StageStatus::Deployed.as_str()
            || s.components.iter().any(|c| c.status != "Current")
    });
    if bad {
        Health::Degraded
    } else {
        Health::Healthy
    }
}

async fn stage_report(
    cluster: &Cluster,
    id: &str,
    st: Option<&StageState>,
) -> Result<StageReport, ClusterError> {
    let Some(st) = st.filter(|s| !s.run_id.is_empty()) else {
        let members = inventory::member_objects(cluster, id).await?;
        return Ok(StageReport {
            unrecorded: members.iter().map(describe).collect(),
            ..StageReport::new(id, "not-deployed")
        });
    };
    // The ApplySet's members carry (almost) every recorded object: the inventory's own
    // lists, one per (apiVersion, kind, namespace) in parallel, are made only for recorded
    // objects the members lack (unlabelled by hand, or gone). StorageClasses are read beside
    // them: a Pending claim of a WaitForFirstConsumer class is not "in progress".
    let (members, classes) = tokio::join!(
        inventory::member_objects(cluster, id),
        list_all(cluster, "storage.k8s.io/v1", "StorageClass", None)
    );
    let (members, classes) = (members?, classes.unwrap_or_default());
    // Matched by group, kind, namespace and name: a member read at another version of its
    // kind is the same object.
    let identity = |k: &ObjectKey| (k.group_kind(), k.namespace.clone(), k.name.clone());
    let member_at: HashMap<_, usize> = members
        .iter()
        .enumerate()
        .filter_map(|(i, o)| Some((identity(&ObjectKey::from_value(o)?), i)))
        .collect();
    let live_member = |k: &ObjectKey| member_at.get(&identity(k)).map(|&i| &members[i]);
    let mut uncovered: BTreeMap<(String, String, Option<String>), Vec<&ObjectKey>> =
        BTreeMap::new();
    for e in st
        .inventory
        .iter()
        .filter(|e| live_member(&e.key).is_none())
    {
        uncovered
            .entry((
                e.key.api_version.clone(),
                e.key.kind.clone(),
                e.key.namespace.clone(),
            ))
            .or_default()
            .push(&e.key);
    }
    let lists = join_all(uncovered.iter().map(|((av, kind, ns), keys)| async move {
        let live = list_scoped(cluster, av, kind, ns.as_deref()).await;
        (keys, live)
    }))
    .await;
    let mut live_recorded: HashMap<&ObjectKey, Value> = HashMap::new();
    for (keys, live) in lists {
        let live = live?;
        for key in keys.iter() {
            if let Some(obj) = live
                .iter()
                .find(|o| str_at(o, "/metadata/name") == Some(key.name.as_str()))
            {
                live_recorded.insert(key, obj.clone());
            }
        }
    }
    // Members the record does not list: assessed as well, and said.
    let recorded: std::collections::HashSet<_> =
        st.inventory.iter().map(|e| identity(&e.key)).collect();
    let unrecorded: Vec<&Value> = members
        .iter()
        .filter(|o| ObjectKey::from_value(o).is_some_and(|k| !recorded.contains(&identity(&k))))
        .collect();
    let now = cluster.now();
    let ctx = AssessContext::new(now).with_storage_classes(&classes);
    let mut per_component: BTreeMap<String, Vec<(String, Status)>> = BTreeMap::new();
    for e in &st.inventory {
        let key = &e.key;
        let obj = live_member(key)
            .or_else(|| live_recorded.get(key))
            .cloned()
            .unwrap_or(Value::Null);
        let component = label(&obj, LABEL_COMPONENT).unwrap_or("other").to_string();
        let status = readiness::assess(&obj, &ctx);
        per_component
            .entry(component)
            .or_default()
            .push((format!("{}/{}", key.kind, key.name), status));
    }
    for obj in &unrecorded {
        let component = label(obj, LABEL_COMPONENT).unwrap_or("other").to_string();
        let status = readiness::assess(obj, &ctx);
        per_component
            .entry(component)
            .or_default()
            .push((describe(obj), status));
    }
    let components = per_component
        .into_iter()
        .map(|(name, objs)| {
            let total = objs.len();
            let ready = objs.iter().filter(|(_, s)| s.is_current()).count();
            let worst = objs.iter().max_by_key(|(_, s)| severity(s));
            let (status, reason) = match worst {
                Some((obj, s)) if !s.is_current() => (
                    label_of(s).to_string(),
                    Some(format!("{obj}: {}", status_reason(s))),
                ),
                _ => ("Current".to_string(), None),
            };
            ComponentStatus {
                name,
                status,
                reason,
                ready,
                total,
            }
        })
        .collect();
    Ok(StageReport {
        stage: id.to_string(),
        state: st.status.as_str().to_string(),
        run_id: Some(st.run_id.clone()),
        user: st.user.clone(),
        started_at: Some(st.started_at.clone()).filter(|s| !s.is_empty()),
        finished_at: st.finished_at.clone(),
        completed_steps: st.completed_steps.clone(),
        components,
        benchmarks: st.benchmarks.clone(),
        endpoints: recorded_endpoints(st),
        unrecorded: unrecorded.iter().map(|o| describe(o)).collect(),
        evaluation: st
            .values
            .get(&format!("{id}.{}", crate::steps::lm_eval::RESULTS_KEY))
            .cloned(),
        collections: {
            let prefix = format!("{id}.{}.", crate::steps::ingest_report::COLLECTION_KEY);
            st.values
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
                .collect()
        },
    })
}

/// `Kind/name` of an object.
fn describe(obj: &Value) -> String {
    format!(
        "{}/{}",
        str_at(obj, "/kind").unwrap_or("?"),
        str_at(obj, "/metadata/name").unwrap_or("?")
    )
}

fn severity(s: &Status) -> u8 {
    match s {
        Status::Current { .. } => 0,
        Status::InProgress { .. } => 1,
        Status::Terminating { .. } => 2,
        Status::NotFound => 3,
        Status::Failed { .. } => 4,
    }
}

fn label_of(s: &Status) -> &'static str {
    match s {
        Status::Current { .. } => "Current",
        Status::InProgress { .. } => "InProgress",
        Status::Failed { .. } => "Failed",
        Status::Terminating { .. } => "Terminating",
        Status::NotFound => "NotFound",
    }
}

/// Lists the objects of a kind in one namespace (or cluster-wide); an unserved
/// kind lists as empty.
async fn list_scoped(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    ns: Option<&str>,
) -> Result<Vec<Value>, ClusterError> {
    let Some(r) = cluster.resolve(api_version, kind).await? else {
        return Ok(Vec::new());
    };
    // No label selector: objects democtl configured but does not own (adopted) count too.
    let lp = ListParams::default();
    let ns = if r.namespaced { ns } else { None };
    match cluster
        .list_values(&r.resource, ns, &lp, || format!("`{kind}`"))
        .await
    {
        Ok(items) => Ok(items),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

async fn list_all(
    cluster: &Cluster,
    api_version: &str,
    kind: &str,
    selector: Option<&str>,
) -> Result<Vec<Value>, ClusterError> {
    let Some(r) = cluster.resolve(api_version, kind).await? else {
        return Ok(Vec::new());
    };
    let mut lp = ListParams::default();
    if let Some(s) = selector {
        lp = lp.labels(s);
    }
    match cluster
        .list_values(&r.resource, None, &lp, || format!("`{kind}`"))
        .await
    {
        Ok(items) => Ok(items),
        Err(e) if e.is_not_found() || e.code() == 403 => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn gpu_node(n: &Value) -> GpuNode {
    let gpus = n
        .pointer("/status/allocatable/nvidia.com~1gpu")
        .and_then(|v| {
            v.as_str()
                .and_then(|s| s.parse().ok())
                .or_else(|| v.as_u64())
        })
        .unwrap_or(0);
    GpuNode {
        name: str_at(n, "/metadata/name").unwrap_or("").to_string(),
        ready: condition(n, "Ready")
            .and_then(|c| c.get("status"))
            .and_then(Value::as_str)
            == Some("True"),
        instance_type: label(n, "node.kubernetes.io/instance-type").map(str::to_string),
        gpus,
    }
}

fn endpoint(i: &Value) -> Endpoint {
    Endpoint {
        namespace: str_at(i, "/metadata/namespace").unwrap_or("").to_string(),
        name: str_at(i, "/metadata/name").unwrap_or("").to_string(),
        url: str_at(i, "/status/url").map(str::to_string),
        ready: condition(i, "Ready")
            .and_then(|c| c.get("status"))
            .and_then(Value::as_str)
            == Some("True"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stage(state: &str, comp_status: &str) -> StageReport {
        StageReport {
            components: vec![ComponentStatus {
                name: "c".into(),
                status: comp_status.into(),
                reason: None,
                ready: 0,
                total: 1,
            }],
            ..StageReport::new("stage1", state)
        }
    }

    #[test]
    fn health_verdicts() {
        assert_eq!(health_of(&[]), Health::NotDeployed);
        assert_eq!(
            health_of(&[stage("not-deployed", "Current")]),
            Health::NotDeployed
        );
        assert_eq!(health_of(&[stage("deployed", "Current")]), Health::Healthy);
        assert_eq!(
            health_of(&[stage("deployed", "InProgress")]),
            Health::Degraded
        );
        assert_eq!(health_of(&[stage("failed", "Current")]), Health::Degraded);
    }

    #[test]
    fn gpu_nodes_and_endpoints() {
        let n = json!({"metadata": {"name": "n1", "labels": {"node.kubernetes.io/instance-type": "g6.12xlarge"}},
            "status": {"allocatable": {"nvidia.com/gpu": "4"}, "conditions": [{"type": "Ready", "status": "True"}]}});
        let g = gpu_node(&n);
        assert_eq!(
            (g.gpus, g.ready, g.instance_type.as_deref()),
            (4, true, Some("g6.12xlarge"))
        );
        let i = json!({"metadata": {"name": "m", "namespace": "d"}, "status": {"url": "https://m", "conditions": [{"type": "Ready", "status": "False"}]}});
        let e = endpoint(&i);
        assert_eq!((e.url.as_deref(), e.ready), (Some("https://m"), false));
    }
}
