//! `teardown --stage N`: converge the cluster to stage N-1.
//!
//! Deletes what stage N's inventory (state record + ApplySet members) owns and stage N-1 does
//! not declare, in reverse tiers (custom resources → workloads → operators → config →
//! namespaces/cluster roles → CRDs), restores objects stage N patched, and waits for deletion
//! with progress. Safety rules:
//! - never delete an object without democtl's `managed-by` label, of another stage, or whose uid
//!   changed since democtl applied it;
//! - never delete a Namespace that still holds objects a lower stage declares;
//! - a kind that is not served (CRD gone) means there is nothing to delete;
//! - stuck finalizers are named (Namespace `NamespaceContentRemaining` /
//!   `NamespaceFinalizersRemaining`); they are removed only with `force`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PropagationPolicy};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::apply::{Tier, tier_of};
use super::client::Cluster;
use super::error::ClusterError;
use super::inventory::{self, LABEL_STAGE, NAMESPACE};
use super::object::{ObjectKey, label, str_at, typed_value};
use super::state::{self, PatchedObject};
use super::wait::{Progress, WaitError, WaitOutcome, Waited, deletion_blockers};
use crate::readiness::Status;

/// How to tear a stage down.
#[derive(Debug, Clone)]
pub struct TeardownOptions {
    /// The stage to remove (`stage3`).
    pub stage: String,
    /// Objects the stage below still declares (its render) and so must stay.
    pub keep: Vec<ObjectKey>,
    /// Remove stuck finalizers after the timeout instead of failing.
    pub force: bool,
    /// Bound on the whole teardown.
    pub timeout: Duration,
    /// Deletes issued at once.
    pub concurrency: usize,
}

impl TeardownOptions {
    pub fn new(stage: impl Into<String>) -> Self {
        TeardownOptions {
            stage: stage.into(),
            keep: Vec::new(),
            force: false,
            timeout: Duration::from_secs(600),
            concurrency: 8,
        }
    }
}

/// One object teardown will delete.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedDelete {
    pub key: ObjectKey,
    pub uid: Option<String>,
    /// Order group (deleted in reverse apply order).
    pub phase: usize,
}

/// One object teardown leaves alone, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub key: ObjectKey,
    pub reason: String,
    /// A namespace democtl created kept because it holds these objects democtl does not own (a
    /// colleague's ConfigMap): deleting the namespace would delete them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ObjectKey>,
}

/// What teardown will do (the `--dry-run` output).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TeardownPlan {
    pub stage: String,
    pub delete: Vec<PlannedDelete>,
    pub skipped: Vec<Skipped>,
    /// Objects the stage patched, restored to their previous values.
    pub restore: Vec<PatchedObject>,
    /// Objects to delete that the state record does not list, found by their ApplySet labels
    /// (a record left short by an interrupted or failed write). Shown, so nothing is deleted
    /// unannounced.
    pub unrecorded: Vec<ObjectKey>,
    /// Whether the stage had a state record at all (without one, everything is unrecorded).
    pub has_record: bool,
}

impl TeardownPlan {
    /// The objects to delete that the state record does not list.
    pub fn unrecorded_deletes(&self) -> Vec<&ObjectKey> {
        self.delete
            .iter()
            .map(|d| &d.key)
            .filter(|k| self.unrecorded.contains(k))
            .collect()
    }

    /// Says where the objects to delete came from when the state record did not list them all:
    /// `3 of 18 objects to delete are not in the state record (found by their ApplySet labels)`.
    pub fn record_note(&self) -> Option<String> {
        let n = self.unrecorded_deletes().len();
        if n == 0 {
            return None;
        }
        let total = self.delete.len();
        Some(if self.has_record {
            format!(
                "{n} of {total} objects to delete are not in the state record of `{}` (it is short, e.g. after an interrupted write): found by their ApplySet labels",
                self.stage
            )
        } else {
            format!(
                "`{}` has no state record: its {n} objects to delete were found by their ApplySet labels",
                self.stage
            )
        })
    }
}

/// What teardown did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TeardownReport {
    pub deleted: Vec<ObjectKey>,
    pub restored: Vec<ObjectKey>,
    /// Objects whose finalizers were removed (`force`).
    pub finalizers_removed: Vec<ObjectKey>,
    pub skipped: Vec<Skipped>,
}

/// Deletion phase: custom resources first, CRDs last.
fn phase_of(key: &ObjectKey) -> usize {
    match tier_of(key) {
        Tier::CustomResources => 0,
        Tier::Workloads => 1,
        Tier::Operators => 2,
        Tier::Config => 3,
        Tier::Foundation if key.kind == "CustomResourceDefinition" => 5,
        Tier::Foundation => 4,
    }
}

/// Builds the plan: inventory and ApplySet members of the stage, minus what must stay.
pub async fn plan(cluster: &Cluster, opts: &TeardownOptions) -> Result<TeardownPlan, ClusterError> {
    let state = state::load(cluster, &opts.stage).await?;
    let mut candidates: BTreeMap<ObjectKey, Option<String>> = BTreeMap::new();
    let mut restore = Vec::new();
    if let Some(st) = &state {
        for e in &st.inventory {
            candidates.insert(e.key.clone(), e.uid.clone());
        }
        restore = st.patched.clone();
    }
    let mut unrecorded = BTreeSet::new();
    for key in inventory::members(cluster, &opts.stage).await? {
        if let std::collections::btree_map::Entry::Vacant(e) = candidates.entry(key) {
            unrecorded.insert(e.key().clone());
            e.insert(None);
        }
    }
    let keep: HashSet<&ObjectKey> = opts.keep.iter().collect();
    let keep_namespaces: BTreeSet<&str> = opts
        .keep
        .iter()
        .filter_map(|k| k.namespace.as_deref())
        .collect();
    let mut plan = TeardownPlan {
        stage: opts.stage.clone(),
        restore,
        has_record: state.is_some(),
        ..TeardownPlan::default()
    };
    let futs: Vec<_> = candidates
        .into_iter()
        .map(|(key, uid)| async move {
            let verdict = check(cluster, &key, uid.as_deref(), &opts.stage).await;
            (key, verdict)
        })
        .collect();
    let checks = futures::stream::iter(futs)
        .buffer_unordered(opts.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    for (key, verdict) in checks {
        let skip = |reason: &str| Skipped {
            key: key.clone(),
            reason: reason.to_string(),
            foreign: Vec::new(),
        };
        if keep.contains(&key) {
            plan.skipped.push(skip("declared by the stage below"));
            continue;
        }
        if key.kind == "Namespace"
            && key.group().is_empty()
            && keep_namespaces.contains(key.name.as_str())
        {
            plan.skipped.push(skip("holds objects of the stage below"));
            continue;
        }
        if key.kind == "Namespace" && key.name == NAMESPACE {
            plan.skipped.push(skip("democtl's own namespace"));
            continue;
        }
        match verdict? {
            Verdict::Delete(uid) => plan.delete.push(PlannedDelete {
                phase: phase_of(&key),
                key,
                uid,
            }),
            Verdict::Gone => {}
            Verdict::Skip(reason) => plan.skipped.push(skip(&reason)),
        }
    }
    // A namespace is deleted with everything in it: keep one that holds what is not democtl's.
    let mut kept = Vec::new();
    for d in &plan.delete {
        if d.key.kind == "Namespace" && d.key.group().is_empty() {
            let foreign = foreign_objects(cluster, &d.key.name).await?;
            if !foreign.is_empty() {
                kept.push(Skipped {
                    key: d.key.clone(),
                    reason: format!(
                        "holds {} object(s) democtl does not own: {}",
                        foreign.len(),
                        foreign
                            .iter()
                            .map(|k| format!("{}/{}", k.kind, k.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    foreign,
                });
            }
        }
    }
    plan.delete.retain(|d| !kept.iter().any(|k| k.key == d.key));
    plan.skipped.extend(kept);
    plan.delete
        .sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    plan.skipped.sort_by(|a, b| a.key.cmp(&b.key));
    plan.unrecorded = unrecorded.into_iter().collect();
    Ok(plan)
}

/// Kinds a person or another tool creates in a namespace by hand; what controllers derive from
/// democtl's objects (pods of its Deployments, TaskRuns, Endpoints, Events) carries owner
/// references or is the platform's own, and does not count.
const USER_KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Pod"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("tekton.dev/v1", "PipelineRun"),
];

/// Objects in namespace `ns` that democtl does not own and nothing democtl owns created: the
/// things a namespace deletion would take with it that are someone else's.
pub async fn foreign_objects(cluster: &Cluster, ns: &str) -> Result<Vec<ObjectKey>, ClusterError> {
    let mut foreign = Vec::new();
    let mut statefulsets = Vec::new();
    let mut pvcs = Vec::new();
    for &(api_version, kind) in USER_KINDS {
        let Some(r) = cluster.resolve(api_version, kind).await? else {
            continue;
        };
        let items = cluster
            .list_values(&r.resource, Some(ns), &ListParams::default(), || {
                format!("`{kind}` objects in `{ns}`")
            })
            .await?;
        for obj in items {
            let Some(name) = str_at(&obj, "/metadata/name").map(str::to_string) else {
                continue;
            };
            if kind == "StatefulSet" {
                statefulsets.push(name.clone());
            }
            if inventory::is_owned(&obj) || derived_or_platform(kind, &name, &obj) {
                continue;
            }
            let key = ObjectKey::new(api_version, kind, Some(ns), &name);
            if kind == "PersistentVolumeClaim" {
                pvcs.push(key);
            } else {
                foreign.push(key);
            }
        }
    }
    // Claims of a StatefulSet's volumeClaimTemplates (`<template>-<set>-<ordinal>`) carry no
    // owner reference; they belong to the set.
    foreign.extend(pvcs.into_iter().filter(|k| {
        !statefulsets.iter().any(|set| {
            k.name.rsplit_once('-').is_some_and(|(rest, ordinal)| {
                ordinal.chars().all(|c| c.is_ascii_digit()) && rest.ends_with(&format!("-{set}"))
            })
        })
    }));
    foreign.sort();
    Ok(foreign)
}

/// Created by a controller (owner references) or by the platform for every namespace.
fn derived_or_platform(kind: &str, name: &str, obj: &Value) -> bool {
    let owned = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|o| !o.is_empty());
    let platform = match kind {
        "ConfigMap" => matches!(name, "kube-root-ca.crt" | "openshift-service-ca.crt"),
        // Service-account tokens and pull secrets the platform makes for each service account.
        "Secret" => {
            obj.pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .is_some()
                || str_at(obj, "/type") == Some("kubernetes.io/service-account-token")
        }
        _ => false,
    };
    owned || platform
}

enum Verdict {
    Delete(Option<String>),
    Gone,
    Skip(String),
}

async fn check(
    cluster: &Cluster,
    key: &ObjectKey,
    uid: Option<&str>,
    stage: &str,
) -> Result<Verdict, ClusterError> {
    // CRD gone = nothing of that kind left to delete.
    let Some(r) = cluster.resolve(&key.api_version, &key.kind).await? else {
        return Ok(Verdict::Gone);
    };
    let api = cluster.api(
        &r.resource,
        if r.namespaced {
            key.namespace.as_deref()
        } else {
            None
        },
    );
    let Some(live) = cluster
        .call("get", || key.describe(), || api.get_opt(&key.name))
        .await?
    else {
        return Ok(Verdict::Gone);
    };
    let live = typed_value(live, &r.resource);
    if !inventory::is_owned(&live) {
        return Ok(Verdict::Skip("not managed by democtl".into()));
    }
    if let Some(other) = label(&live, LABEL_STAGE)
        && other != stage
    {
        return Ok(Verdict::Skip(format!("belongs to stage `{other}`")));
    }
    let live_uid = str_at(&live, "/metadata/uid").map(str::to_string);
    if let (Some(want), Some(have)) = (uid, live_uid.as_deref())
        && want != have
    {
        return Ok(Verdict::Skip(
            "replaced since democtl applied it (uid changed)".into(),
        ));
    }
    Ok(Verdict::Delete(live_uid))
}

/// Carries out a plan: deletes phase by phase, waiting for each phase to be gone, then restores
/// patched objects and removes the stage's records.
pub async fn execute(
    cluster: &Cluster,
    plan: &TeardownPlan,
    opts: &TeardownOptions,
    progress: Progress<'_>,
) -> Result<TeardownReport, ClusterError> {
    let deadline = Instant::now() + opts.timeout;
    let mut report = TeardownReport {
        skipped: plan.skipped.clone(),
        ..TeardownReport::default()
    };
    let phases: BTreeSet<usize> = plan.delete.iter().map(|d| d.phase).collect();
    for phase in phases {
        let batch: Vec<&PlannedDelete> = plan.delete.iter().filter(|d| d.phase == phase).collect();
        progress(format!(
            "deleting {} objects ({})",
            batch.len(),
            phase_label(phase)
        ));
        let futs: Vec<_> = batch.iter().map(|d| delete_one(cluster, d)).collect();
        let results: Vec<Result<(), ClusterError>> = futures::stream::iter(futs)
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        wait_gone(cluster, &batch, deadline, opts.force, progress, &mut report).await?;
        report.deleted.extend(batch.iter().map(|d| d.key.clone()));
    }
    for p in &plan.restore {
        restore(cluster, p, progress).await?;
        report.restored.push(p.target.clone());
    }
    // The stage is gone: drop its records (its inventory would otherwise name deleted objects).
    delete_parent(cluster, &opts.stage).await?;
    state::delete(cluster, &opts.stage).await?;
    Ok(report)
}

fn phase_label(phase: usize) -> &'static str {
    match phase {
        0 => "custom resources",
        1 => "workloads and services",
        2 => "operator subscriptions",
        3 => "config, accounts and claims",
        4 => "namespaces and cluster roles",
        _ => "CRDs",
    }
}

async fn delete_one(cluster: &Cluster, d: &PlannedDelete) -> Result<(), ClusterError> {
    let Some(r) = cluster.resolve(&d.key.api_version, &d.key.kind).await? else {
        return Ok(());
    };
    let api = cluster.api(
        &r.resource,
        if r.namespaced {
            d.key.namespace.as_deref()
        } else {
            None
        },
    );
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: d.uid.clone().map(|uid| kube::api::Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match cluster
        .call(
            "delete",
            || d.key.describe(),
            || api.delete(&d.key.name, &dp),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Gone already, or replaced (uid precondition): not ours to delete.
        Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Waits for a phase's objects to disappear. At the deadline: with `force`, strips finalizers
/// and waits a little more; otherwise fails naming every stuck object and finalizer.
async fn wait_gone(
    cluster: &Cluster,
    batch: &[&PlannedDelete],
    deadline: Instant,
    force: bool,
    progress: Progress<'_>,
    report: &mut TeardownReport,
) -> Result<(), ClusterError> {
    let waits = batch
        .iter()
        .map(|d| cluster.wait_deleted(&d.key, d.uid.as_deref(), deadline, progress));
    let results = futures::future::join_all(waits).await;
    let mut stuck = Vec::new();
    for (d, r) in batch.iter().zip(results) {
        match r {
            Ok(()) => {}
            Err(ClusterError::Wait(_)) => stuck.push(*d),
            Err(e) => return Err(e),
        }
    }
    if stuck.is_empty() {
        return Ok(());
    }
    let mut evidence = Vec::new();
    for d in &stuck {
        evidence.extend(stuck_reasons(cluster, &d.key).await);
    }
    if !force {
        return Err(ClusterError::Wait(Box::new(WaitError {
            outcome: WaitOutcome::TimedOut,
            objects: stuck
                .iter()
                .map(|d| Waited {
                    object: format!("{}/{}", d.key.kind, d.key.name),
                    namespace: d.key.namespace.clone(),
                    status: Status::Terminating {
                        reason: Some("still terminating (finalizers)".into()),
                    },
                })
                .collect(),
            evidence,
        })));
    }
    for d in &stuck {
        progress(format!(
            "removing finalizers of {} (--force)",
            d.key.describe()
        ));
        remove_finalizers(cluster, &d.key).await?;
        report.finalizers_removed.push(d.key.clone());
    }
    let grace = Instant::now() + Duration::from_secs(30);
    for d in &stuck {
        cluster
            .wait_deleted(&d.key, d.uid.as_deref(), grace, progress)
            .await?;
    }
    Ok(())
}

/// Why an object is still there: its finalizers; for a Namespace, its content/finalizer
/// conditions.
pub async fn stuck_reasons(cluster: &Cluster, key: &ObjectKey) -> Vec<String> {
    let Ok(Some(r)) = cluster.resolve(&key.api_version, &key.kind).await else {
        return Vec::new();
    };
    let api = cluster.api(
        &r.resource,
        if r.namespaced {
            key.namespace.as_deref()
        } else {
            None
        },
    );
    let Ok(Some(live)) = cluster
        .call("get", || key.describe(), || api.get_opt(&key.name))
        .await
    else {
        return Vec::new();
    };
    let live = typed_value(live, &r.resource);
    stuck_lines(key, &live)
}

fn stuck_lines(key: &ObjectKey, live: &Value) -> Vec<String> {
    deletion_blockers(live)
        .into_iter()
        .map(|b| format!("{}: {b}", key.describe()))
        .collect()
}

/// `--force`: removes the finalizers that keep `key`. A Namespace is finalized the way
/// kubectl-savvy users do it: a PUT of `namespaces/{name}/finalize` with `spec.finalizers`
/// emptied (a patch cannot change them); its own `metadata.finalizers` go too.
async fn remove_finalizers(cluster: &Cluster, key: &ObjectKey) -> Result<(), ClusterError> {
    if key.kind == "Namespace" && key.group().is_empty() {
        finalize_namespace(cluster, &key.name).await?;
    }
    let Some(r) = cluster.resolve(&key.api_version, &key.kind).await? else {
        return Ok(());
    };
    let api = cluster.api(
        &r.resource,
        if r.namespaced {
            key.namespace.as_deref()
        } else {
            None
        },
    );
    let patch = json!({"metadata": {"finalizers": null}});
    let patch = Patch::Merge(&patch);
    let params = PatchParams::default().validation_strict();
    cluster
        .call_if_present(
            "remove finalizers of",
            || key.describe(),
            || api.patch(&key.name, &params, &patch),
        )
        .await
        .map(|_| ())
}

/// PUT `namespaces/{name}/finalize` with `spec.finalizers` emptied.
async fn finalize_namespace(cluster: &Cluster, name: &str) -> Result<(), ClusterError> {
    use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec};
    let api: kube::Api<Namespace> = kube::Api::all(cluster.client().clone());
    let what = || format!("`Namespace/{name}`");
    let Some(mut ns) = cluster.call("get", what, || api.get_opt(name)).await? else {
        return Ok(());
    };
    if ns
        .spec
        .as_ref()
        .and_then(|s| s.finalizers.as_ref())
        .is_none_or(|f| f.is_empty())
    {
        return Ok(());
    }
    ns.spec = Some(NamespaceSpec {
        finalizers: Some(Vec::new()),
    });
    cluster
        .call_if_present("finalize", what, || {
            cluster.replace_subresource_strict(&api, "finalize", name, &ns)
        })
        .await
        .map(|_| ())
}

async fn restore(
    cluster: &Cluster,
    p: &PatchedObject,
    progress: Progress<'_>,
) -> Result<(), ClusterError> {
    let Some(r) = cluster
        .resolve(&p.target.api_version, &p.target.kind)
        .await?
    else {
        return Ok(());
    };
    let api = cluster.api(
        &r.resource,
        if r.namespaced {
            p.target.namespace.as_deref()
        } else {
            None
        },
    );
    progress(format!("restoring {}", p.target.describe()));
    let patch = Patch::Merge(&p.restore);
    let params = PatchParams::default().validation_strict();
    cluster
        .call_if_present(
            "restore",
            || p.target.describe(),
            || api.patch(&p.target.name, &params, &patch),
        )
        .await
        .map(|_| ())
}

async fn delete_parent(cluster: &Cluster, stage: &str) -> Result<(), ClusterError> {
    let key = ObjectKey::new(
        "v1",
        "Secret",
        Some(NAMESPACE),
        inventory::parent_name(stage),
    );
    let Some(r) = cluster.resolve("v1", "Secret").await? else {
        return Ok(());
    };
    let api = cluster.api(&r.resource, Some(NAMESPACE));
    let dp = DeleteParams::default();
    cluster
        .call_if_present("delete", || key.describe(), || api.delete(&key.name, &dp))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_tier_phases() {
        let cr = ObjectKey::new(
            "serving.kserve.io/v1beta1",
            "InferenceService",
            Some("d"),
            "m",
        );
        let dep = ObjectKey::new("apps/v1", "Deployment", Some("d"), "x");
        let ns = ObjectKey::new("v1", "Namespace", None, "d");
        let crd = ObjectKey::new(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "x.y",
        );
        assert!(phase_of(&cr) < phase_of(&dep));
        assert!(phase_of(&dep) < phase_of(&ns));
        assert!(phase_of(&ns) < phase_of(&crd));
    }

    #[test]
    fn stuck_namespaces_name_their_conditions() {
        let ns = ObjectKey::new("v1", "Namespace", None, "demo");
        let live = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "demo", "finalizers": ["example.com/hold"]},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Terminating", "conditions": [
            {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "message": "All resources successfully discovered"},
            {"type": "NamespaceContentRemaining", "status": "True", "message": "Some resources are remaining: inferenceservices.serving.kserve.io has 1 resource instances"},
            {"type": "NamespaceFinalizersRemaining", "status": "True", "message": "Some content in the namespace has finalizers remaining: inferenceservice.finalizers in 1 resource instances"}
        ]}});
        let lines = stuck_lines(&ns, &live);
        assert_eq!(
            lines,
            [
                "`Namespace/demo`: waits on finalizers: example.com/hold",
                "`Namespace/demo`: waits on namespace finalizers (spec.finalizers): kubernetes",
                "`Namespace/demo`: NamespaceContentRemaining: Some resources are remaining: inferenceservices.serving.kserve.io has 1 resource instances",
                "`Namespace/demo`: NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: inferenceservice.finalizers in 1 resource instances",
            ]
        );
    }
}
