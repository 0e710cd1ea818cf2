//! Ordered server-side apply (field manager `democtl`) of rendered objects as DynamicObjects.
//!
//! Tiers (Flux staged apply + kapp's per-CRD gating):
//! 1. CRDs, Namespaces, ClusterRoles → wait CRDs Established + NamesAccepted, refresh discovery;
//! 2. `*Class` kinds, ServiceAccounts, RBAC, ConfigMaps, Secrets, PVCs, quotas;
//! 3. OLM objects (OperatorGroup, Subscription, CatalogSource);
//! 4. workloads, Services and other built-in kinds;
//! 5. custom resources, each gated only on its own CRD.
//!
//! Objects within a tier are applied concurrently (bounded). Conflicts with other field
//! managers are reported, then taken over with force. Immutable-field errors follow a per-kind
//! policy (Jobs are recreated). Every object gets democtl's ownership labels and joins the
//! stage's ApplySet. `dry_run` does it all with `dryRun=All` and returns a diff plan instead.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use kube::Api;
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::client::Cluster;
use super::diff::{self, DiffLine};
use super::discovery::Resolved;
use super::error::ClusterError;
use super::inventory::{self, FIELD_MANAGER, NAMESPACE};
use super::object::{ObjectKey, str_at, typed_value};
use super::operators::{self, Decision, crd_established};
use super::state::{self, PatchedObject};
use super::wait::Progress;

/// Apply order. Objects of a lower tier are applied (and CRDs established) before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    Foundation,
    Config,
    Operators,
    Workloads,
    CustomResources,
}

impl Tier {
    pub const ALL: [Tier; 5] = [
        Tier::Foundation,
        Tier::Config,
        Tier::Operators,
        Tier::Workloads,
        Tier::CustomResources,
    ];
}

/// API groups that every OpenShift cluster serves without an operator install.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "node.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "certificates.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "route.openshift.io",
    "image.openshift.io",
    "build.openshift.io",
    "apps.openshift.io",
    "security.openshift.io",
    "config.openshift.io",
    "template.openshift.io",
    "project.openshift.io",
    "user.openshift.io",
    "oauth.openshift.io",
    "quota.openshift.io",
    "authorization.openshift.io",
    "console.openshift.io",
    "machine.openshift.io",
    "machineconfiguration.openshift.io",
];

/// The tier an object is applied in.
pub fn tier_of(key: &ObjectKey) -> Tier {
    let group = key.group();
    let kind = key.kind.as_str();
    match (group, kind) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") | ("", "Namespace") => {
            Tier::Foundation
        }
        ("rbac.authorization.k8s.io", "ClusterRole") => Tier::Foundation,
        (
            "",
            "ServiceAccount"
            | "ConfigMap"
            | "Secret"
            | "PersistentVolumeClaim"
            | "LimitRange"
            | "ResourceQuota",
        ) => Tier::Config,
        ("rbac.authorization.k8s.io", _) => Tier::Config,
        ("operators.coreos.com", _) => Tier::Operators,
        (g, k) if k.ends_with("Class") && BUILTIN_GROUPS.contains(&g) => Tier::Config,
        (g, _) if BUILTIN_GROUPS.contains(&g) => Tier::Workloads,
        _ => Tier::CustomResources,
    }
}

/// What readiness a kind implies after apply, for the plan table ("what each waits for").
pub fn waits_for(key: &ObjectKey) -> Option<&'static str> {
    Some(match (key.group(), key.kind.as_str()) {
        ("apiextensions.k8s.io", "CustomResourceDefinition") => "established",
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet") => "rollout",
        ("batch", "Job") => "completion",
        ("", "PersistentVolumeClaim") => "bound (or first consumer)",
        ("", "Pod") => "ready",
        ("operators.coreos.com", "Subscription") => "operator installed",
        ("serving.kserve.io", "InferenceService") => "ready (model loaded)",
        ("route.openshift.io", "Route") => "admitted",
        (
            "",
            "ConfigMap" | "Secret" | "ServiceAccount" | "Namespace" | "Service" | "LimitRange"
            | "ResourceQuota",
        ) => {
            return None;
        }
        ("rbac.authorization.k8s.io", _) => return None,
        (g, _) if !BUILTIN_GROUPS.contains(&g) => "ready (conditions)",
        _ => return None,
    })
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Stage id (`stage1`): ownership label and ApplySet.
    pub stage: String,
    /// Server-side dry run: nothing changes; the report carries the diff plan.
    pub dry_run: bool,
    /// Take over fields owned by other managers after reporting them (else a conflict fails).
    pub force_conflicts: bool,
    /// Objects applied at once within a tier.
    pub concurrency: usize,
    /// How long CRDs of the set may take to become Established.
    pub crd_timeout: Duration,
    /// How long an operator install (Subscription → CSV → CRD) may take.
    pub operator_timeout: Duration,
    /// An operator is being installed by an earlier step (DSC component just set Managed):
    /// custom resources whose CRD is missing wait for it instead of failing.
    pub operator_installing: bool,
    /// Kinds recreated (delete, then create) when an immutable field changed.
    pub recreate_on_immutable: Vec<String>,
    /// Record membership in the stage's ApplySet parent and state inventory.
    pub applyset: bool,
    /// The step applying (names the restore record of an adopted object).
    pub step: String,
    /// `--adopt`: an object that exists without democtl's ownership is taken over (its previous
    /// values recorded for teardown) instead of stopping the apply.
    pub adopt: bool,
}

impl ApplyOptions {
    pub fn new(stage: impl Into<String>) -> Self {
        ApplyOptions {
            stage: stage.into(),
            dry_run: false,
            force_conflicts: true,
            concurrency: 4,
            crd_timeout: Duration::from_secs(120),
            operator_timeout: operators::OPERATOR_INSTALL_TIMEOUT,
            operator_installing: false,
            recreate_on_immutable: vec!["Job".into()],
            applyset: true,
            step: String::new(),
            adopt: false,
        }
    }
}

/// What happened to one object (in a dry run: what would happen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyResult {
    Created,
    Configured,
    Unchanged,
    /// Deleted and created again (immutable field changed, per policy).
    Recreated,
}

impl ApplyResult {
    /// `created`, `configured`, … (`create`, `update`, … for a dry run, kapp-style).
    pub fn as_str(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (ApplyResult::Created, false) => "created",
            (ApplyResult::Configured, false) => "configured",
            (ApplyResult::Unchanged, false) => "unchanged",
            (ApplyResult::Recreated, false) => "recreated",
            (ApplyResult::Created, true) => "create",
            (ApplyResult::Configured, true) => "update",
            (ApplyResult::Unchanged, true) => "unchanged",
            (ApplyResult::Recreated, true) => "recreate",
        }
    }
}

/// One applied object.
#[derive(Debug, Clone, Serialize)]
pub struct AppliedObject {
    pub key: ObjectKey,
    pub uid: Option<String>,
    pub result: ApplyResult,
    pub tier: Tier,
    pub waits_for: Option<&'static str>,
    /// Dry run only: live vs would-be, Secret data masked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<DiffLine>,
    /// Dry run only: why the server could not validate it (CRD created in this same apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// It existed before democtl without democtl's labels: configured, not owned.
    pub adopted: bool,
}

/// Fields another field manager owned that democtl took over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub key: ObjectKey,
    pub managers: Vec<String>,
    pub fields: Vec<String>,
    /// False when `force_conflicts` was off (the apply failed instead).
    pub taken_over: bool,
}

/// The result of [`apply`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub dry_run: bool,
    pub objects: Vec<AppliedObject>,
    pub conflicts: Vec<Conflict>,
}

impl ApplyReport {
    /// Count per result (`created` → 3, …).
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for o in &self.objects {
            *m.entry(o.result.as_str(self.dry_run)).or_default() += 1;
        }
        m
    }
}

/// Applies `objects` in tiers. Progress text goes to `progress`. See the module doc.
pub async fn apply(
    cluster: &Cluster,
    objects: &[Value],
    opts: &ApplyOptions,
    progress: Progress<'_>,
) -> Result<ApplyReport, ClusterError> {
    // Objects without a namespace go to the context namespace once their scope is known
    // (kubectl semantics), in `apply_once`.
    let items = prepare(objects, opts)?;
    let keys: Vec<ObjectKey> = items.iter().map(|i| i.key.clone()).collect();
    let crds_in_set: HashSet<(String, String)> = items
        .iter()
        .filter(|i| i.key.kind == "CustomResourceDefinition")
        .filter_map(|i| {
            Some((
                str_at(&i.obj, "/spec/group")?.to_string(),
                str_at(&i.obj, "/spec/names/kind")?.to_string(),
            ))
        })
        .collect();

    if opts.applyset && !opts.dry_run && !items.is_empty() {
        write_applyset_parent(cluster, &opts.stage, &keys).await?;
    }

    let run = Run {
        cluster,
        opts,
        progress,
        crds_in_set,
        conflicts: Mutex::new(Vec::new()),
        subscriptions: items
            .iter()
            .filter(|i| i.key.group() == "operators.coreos.com" && i.key.kind == "Subscription")
            .map(|i| i.key.clone())
            .collect(),
        subscriptions_waited: tokio::sync::OnceCell::new(),
        adopted_before: tokio::sync::OnceCell::new(),
        group_sizes: items.iter().fold(HashMap::new(), |mut sizes, i| {
            let group = (
                i.key.api_version.clone(),
                i.key.kind.clone(),
                i.key.namespace.clone(),
            );
            *sizes.entry(group).or_default() += 1;
            sizes
        }),
        listed: Mutex::new(HashMap::new()),
    };
    let mut report = ApplyReport {
        dry_run: opts.dry_run,
        ..ApplyReport::default()
    };
    for tier in Tier::ALL {
        let batch: Vec<&Item> = items.iter().filter(|i| i.tier == tier).collect();
        if batch.is_empty() {
            continue;
        }
        progress(format!(
            "applying {} ({} objects)",
            tier_label(tier),
            batch.len()
        ));
        // Futures collected first: a lazily mapped stream held across the await trips rustc's
        // higher-ranked Send check in callers.
        let futs: Vec<_> = batch.iter().map(|item| run.apply_one(item)).collect();
        let results: Vec<Result<AppliedObject, ClusterError>> = futures::stream::iter(futs)
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        let mut first_error = None;
        let mut failed = 0;
        for r in results {
            match r {
                Ok(o) => report.objects.push(o),
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            if failed > 1 {
                progress(format!(
                    "{failed} objects failed to apply; showing the first"
                ));
            }
            if opts.applyset && !opts.dry_run {
                // The apply error is the one to show; the objects applied so far are still
                // recorded when the cluster lets us (teardown also finds them by label).
                let _ = record_inventory(cluster, &opts.stage, &report).await;
            }
            return Err(e);
        }
        if tier == Tier::Foundation && !opts.dry_run {
            run.wait_crds(&batch).await?;
        }
    }
    // Stable order for reporting: manifest order.
    let order: BTreeMap<&ObjectKey, usize> = keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    report
        .objects
        .sort_by_key(|o| order.get(&o.key).copied().unwrap_or(usize::MAX));
    report.conflicts = run.conflicts.into_inner().unwrap_or_default();
    if opts.applyset && !opts.dry_run {
        record_inventory(cluster, &opts.stage, &report).await?;
    }
    Ok(report)
}

fn tier_label(t: Tier) -> &'static str {
    match t {
        Tier::Foundation => "CRDs, namespaces and cluster roles",
        Tier::Config => "classes, accounts, RBAC, config and storage claims",
        Tier::Operators => "operator subscriptions",
        Tier::Workloads => "workloads and services",
        Tier::CustomResources => "custom resources",
    }
}

/// One object ready to apply: labelled, with its key and tier.
struct Item {
    key: ObjectKey,
    tier: Tier,
    obj: Value,
}

fn prepare(objects: &[Value], opts: &ApplyOptions) -> Result<Vec<Item>, ClusterError> {
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(objects.len());
    for (index, obj) in objects.iter().enumerate() {
        let Some(key) = ObjectKey::from_value(obj) else {
            return Err(ClusterError::InvalidObject {
                index,
                problem: "it needs `apiVersion`, `kind` and `metadata.name`".into(),
            });
        };
        let mut obj = obj.clone();
        // Remove fields the server owns; they make SSA fail or conflict.
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for f in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "managedFields",
                "generation",
            ] {
                meta.remove(f);
            }
        }
        if let Some(o) = obj.as_object_mut() {
            o.remove("status");
        }
        inventory::label_object(&mut obj, &opts.stage, opts.applyset);
        if !seen.insert(key.clone()) {
            return Err(ClusterError::InvalidObject {
                index,
                problem: format!("{} appears twice", key.describe()),
            });
        }
        items.push(Item {
            tier: tier_of(&key),
            key,
            obj,
        });
    }
    Ok(items)
}

/// Shared state of one apply run.
struct Run<'a> {
    cluster: &'a Cluster,
    opts: &'a ApplyOptions,
    progress: Progress<'a>,
    crds_in_set: HashSet<(String, String)>,
    conflicts: Mutex<Vec<Conflict>>,
    subscriptions: Vec<ObjectKey>,
    subscriptions_waited: tokio::sync::OnceCell<Result<(), String>>,
    /// Objects some stage already adopted (their restore records), read once when needed.
    adopted_before: tokio::sync::OnceCell<HashSet<ObjectKey>>,
    /// How many objects of the set share an (apiVersion, kind, namespace as written).
    group_sizes: HashMap<(String, String, Option<String>), usize>,
    /// Lists read for [`Run::live`], by resource and namespace (`None`: not listable).
    listed: Mutex<HashMap<(String, String), Arc<ListedObjects>>>,
}

/// One list of live objects by name, filled by the first object of its group that asks.
type ListedObjects = tokio::sync::OnceCell<Option<HashMap<String, Value>>>;

/// Objects of one kind in one namespace from which one list replaces their GETs (for a single
/// object a GET reads less).
const LIST_FROM: usize = 2;

impl Run<'_> {
    /// One object; transient failures of its calls are retried by [`Cluster::call`].
    async fn apply_one(&self, item: &Item) -> Result<AppliedObject, ClusterError> {
        self.apply_once(item).await
    }

    async fn apply_once(&self, item: &Item) -> Result<AppliedObject, ClusterError> {
        let cluster = self.cluster;
        let key = &item.key;
        let resolved = match cluster.resolve(&key.api_version, &key.kind).await? {
            Some(r) => Ok(r),
            None => self.gate_on_crd(key).await?,
        };
        let resolved = match resolved {
            Ok(r) => r,
            // Dry run of a CR whose CRD does not exist yet: the server cannot validate it.
            Err(note) => {
                return Ok(AppliedObject {
                    key: key.clone(),
                    uid: None,
                    result: ApplyResult::Created,
                    tier: item.tier,
                    waits_for: waits_for(key),
                    diff: diff::lines(None, Some(&item.obj)),
                    note: Some(note),
                    adopted: false,
                });
            }
        };
        let namespace = if resolved.namespaced {
            Some(
                key.namespace
                    .clone()
                    .unwrap_or_else(|| cluster.client().default_namespace().to_string()),
            )
        } else {
            None
        };
        let mut obj = item.obj.clone();
        let mut key = key.clone();
        key.namespace = namespace.clone();
        if let (Some(ns), Some(meta)) = (
            &namespace,
            obj.get_mut("metadata").and_then(Value::as_object_mut),
        ) {
            meta.insert("namespace".into(), Value::String(ns.clone()));
        }
        if !resolved.namespaced
            && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("namespace");
        }
        let api = cluster.api(&resolved.resource, namespace.as_deref());
        let live = self.live(item, &resolved, &key, &api).await?;
        // An object that existed before democtl is configured but never owned: no ownership
        // labels, so teardown and ApplySet pruning leave it alone, and teardown restores the
        // values democtl changed. Only a Namespace is taken over without `--adopt` (labels only;
        // democtl never deletes a namespace it did not create); anything else of another
        // manager stops the apply, naming it.
        let foreign = live.as_ref().filter(|l| !inventory::is_owned(l));
        let adopted = foreign.is_some();
        if let Some(live) = foreign {
            inventory::unlabel_object(&mut obj);
            self.adopt(&key, live, &obj).await?;
        } else if let Some(owner) = live
            .as_ref()
            .and_then(|l| super::object::label(l, inventory::LABEL_STAGE))
            .filter(|owner| *owner < self.opts.stage.as_str())
        {
            // Stages build on each other: the lowest stage that applies an object owns it, so
            // tearing down a higher stage never leaks or removes a lower stage's object.
            inventory::label_object(&mut obj, owner, self.opts.applyset);
        }
        let mut params = PatchParams::apply(FIELD_MANAGER).validation_strict();
        if self.opts.dry_run {
            params = params.dry_run();
        }
        let patch = Patch::Apply(&obj);
        let first = cluster
            .call(
                "apply",
                || key.describe(),
                || api.patch(&key.name, &params, &patch),
            )
            .await;
        let mut recreated = false;
        let applied = match first {
            Ok(o) => o,
            // Dry run into a namespace that does not exist yet (an earlier step or tier of this
            // deploy creates it, also only as a dry run): the server cannot check the object,
            // so it is planned as a create with a note instead of failing the whole plan.
            Err(e) if self.opts.dry_run && is_missing_namespace(&e) => {
                let ns = namespace.clone().unwrap_or_default();
                return Ok(AppliedObject {
                    key,
                    uid: None,
                    result: ApplyResult::Created,
                    tier: item.tier,
                    waits_for: waits_for(&item.key),
                    diff: diff::lines(None, Some(&obj)),
                    note: Some(format!(
                        "not checked by the server: namespace `{ns}` does not exist yet"
                    )),
                    adopted: false,
                });
            }
            Err(e) if is_field_conflict(&e) => {
                let (managers, fields) = conflict_details(&e);
                let taken_over = self.opts.force_conflicts;
                if let Ok(mut c) = self.conflicts.lock() {
                    c.push(Conflict {
                        key: key.clone(),
                        managers: managers.clone(),
                        fields: fields.clone(),
                        taken_over,
                    });
                }
                if !taken_over {
                    return Err(e);
                }
                (self.progress)(format!(
                    "{} {} from {} on {}",
                    if self.opts.dry_run {
                        "would take over"
                    } else {
                        "taking over"
                    },
                    fields.join(", "),
                    managers.join(", "),
                    key.describe()
                ));
                let forced = params.clone().force();
                cluster
                    .call(
                        "apply",
                        || key.describe(),
                        || api.patch(&key.name, &forced, &patch),
                    )
                    .await?
            }
            Err(e) if is_immutable(&e) => {
                let fields = immutable_fields(&e);
                if !self
                    .opts
                    .recreate_on_immutable
                    .iter()
                    .any(|k| k == &key.kind)
                {
                    let source = match e {
                        ClusterError::Api { source, .. } => source,
                        other => return Err(other),
                    };
                    return Err(ClusterError::Immutable {
                        object: key.describe(),
                        fields,
                        source,
                    });
                }
                recreated = true;
                if self.opts.dry_run {
                    return Ok(AppliedObject {
                        key: key.clone(),
                        uid: None,
                        result: ApplyResult::Recreated,
                        tier: item.tier,
                        waits_for: waits_for(&key),
                        diff: diff::lines(live.as_ref(), Some(&obj)),
                        note: Some(format!(
                            "immutable field changed ({fields}); democtl recreates it"
                        )),
                        adopted,
                    });
                }
                (self.progress)(format!(
                    "recreating {} (immutable {fields})",
                    key.describe()
                ));
                let uid = live
                    .as_ref()
                    .and_then(|l| str_at(l, "/metadata/uid"))
                    .map(str::to_string);
                let dp = DeleteParams {
                    propagation_policy: Some(PropagationPolicy::Background),
                    ..DeleteParams::default()
                };
                match cluster
                    .call("delete", || key.describe(), || api.delete(&key.name, &dp))
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
                let deadline = Instant::now() + self.opts.crd_timeout;
                cluster
                    .wait_deleted(&key, uid.as_deref(), deadline, self.progress)
                    .await?;
                cluster
                    .call(
                        "apply",
                        || key.describe(),
                        || api.patch(&key.name, &params, &patch),
                    )
                    .await?
            }
            Err(e) => return Err(e),
        };
        let applied = typed_value(applied, &resolved.resource);
        let result = if recreated {
            ApplyResult::Recreated
        } else {
            match &live {
                None => ApplyResult::Created,
                Some(l) if self.opts.dry_run => {
                    if diff::differs(l, &applied) {
                        ApplyResult::Configured
                    } else {
                        ApplyResult::Unchanged
                    }
                }
                Some(l)
                    if str_at(l, "/metadata/resourceVersion")
                        == str_at(&applied, "/metadata/resourceVersion") =>
                {
                    ApplyResult::Unchanged
                }
                Some(_) => ApplyResult::Configured,
            }
        };
        Ok(AppliedObject {
            uid: if self.opts.dry_run {
                live.as_ref()
                    .and_then(|l| str_at(l, "/metadata/uid"))
                    .map(str::to_string)
            } else {
                str_at(&applied, "/metadata/uid").map(str::to_string)
            },
            diff: if self.opts.dry_run {
                diff::lines(live.as_ref(), Some(&applied))
            } else {
                Vec::new()
            },
            key,
            result,
            tier: item.tier,
            waits_for: waits_for(&item.key),
            note: adopted.then(|| {
                "existed before democtl: configured, never deleted by teardown".to_string()
            }),
            adopted,
        })
    }

    /// The object as it is now. Objects of a kind the set has several of in one namespace are
    /// read with one list for all of them (a read before each write cost as much as the writes);
    /// any other object, and every object of a kind the user may not list, with one GET.
    /// Cluster-scoped kinds are never listed: a real cluster has many large CRDs and namespaces.
    async fn live(
        &self,
        item: &Item,
        resolved: &Resolved,
        key: &ObjectKey,
        api: &Api<DynamicObject>,
    ) -> Result<Option<Value>, ClusterError> {
        let group = (
            item.key.api_version.clone(),
            item.key.kind.clone(),
            item.key.namespace.clone(),
        );
        let several = self
            .group_sizes
            .get(&group)
            .is_some_and(|n| *n >= LIST_FROM);
        if let (true, Some(ns)) = (several, key.namespace.as_deref())
            && let Some(found) = self.find_listed(resolved, ns, &key.name).await?
        {
            return Ok(found);
        }
        Ok(self
            .cluster
            .call("get", || key.describe(), || api.get_opt(&key.name))
            .await?
            .map(|o| typed_value(o, &resolved.resource)))
    }

    /// `name` in the list of `resolved` objects in `ns` (read once per run and shared):
    /// `Some(None)` when listed and absent, `None` when the list cannot be read (403, 404: the
    /// caller reads the object itself).
    async fn find_listed(
        &self,
        resolved: &Resolved,
        ns: &str,
        name: &str,
    ) -> Result<Option<Option<Value>>, ClusterError> {
        let id = (
            format!(
                "{}/{}",
                resolved.resource.api_version, resolved.resource.plural
            ),
            ns.to_string(),
        );
        let cell = match self.listed.lock() {
            Ok(mut lists) => lists.entry(id).or_default().clone(),
            Err(_) => return Ok(None),
        };
        let listed = cell
            .get_or_try_init(|| async {
                let what = || format!("`{}` in `{ns}`", resolved.resource.kind);
                match self
                    .cluster
                    .list_values(&resolved.resource, Some(ns), &ListParams::default(), what)
                    .await
                {
                    Ok(items) => Ok(Some(
                        items
                            .into_iter()
                            .filter_map(|o| Some((str_at(&o, "/metadata/name")?.to_string(), o)))
                            .collect::<HashMap<String, Value>>(),
                    )),
                    Err(e) if e.is_not_found() || e.code() == 403 => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(listed.as_ref().map(|objects| objects.get(name).cloned()))
    }

    /// Takes over `live` (it exists without democtl's ownership) for `desired`: allowed for a
    /// Namespace, with `--adopt`, or when a stage adopted it before; records (once) the merge
    /// patch that restores its previous values.
    async fn adopt(
        &self,
        key: &ObjectKey,
        live: &Value,
        desired: &Value,
    ) -> Result<(), ClusterError> {
        let cluster = self.cluster;
        let before = self
            .adopted_before
            .get_or_try_init(|| async {
                let states = state::load_all(cluster).await?;
                Ok::<_, ClusterError>(
                    states
                        .iter()
                        .flat_map(|s| s.patched.iter().map(|p| p.target.clone()))
                        .collect(),
                )
            })
            .await?;
        if before.contains(key) {
            return Ok(());
        }
        let namespace = key.kind == "Namespace" && key.group().is_empty();
        if !namespace && !self.opts.adopt {
            return Err(ClusterError::NotOurs {
                object: key.describe(),
                manager: inventory::manager_of(live),
                action: "change",
            });
        }
        if self.opts.dry_run {
            return Ok(());
        }
        let mut changes = desired.clone();
        if let Some(fields) = changes.as_object_mut() {
            fields.remove("apiVersion");
            fields.remove("kind");
        }
        if let Some(meta) = changes.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.retain(|k, _| k == "labels" || k == "annotations");
        }
        state::record_patch(
            cluster,
            &self.opts.stage,
            PatchedObject {
                target: key.clone(),
                restore: state::restore_patch(&changes, live),
                step: self.opts.step.clone(),
            },
        )
        .await
    }

    /// The kind is not served. `Ok(Ok)` once it is; in a dry run `Ok(Err(note))` (the CRD is
    /// created by this apply, or an operator has yet to install it); otherwise an error naming
    /// the operator to install.
    async fn gate_on_crd(
        &self,
        key: &ObjectKey,
    ) -> Result<Result<super::discovery::Resolved, String>, ClusterError> {
        let cluster = self.cluster;
        let gk = (key.group().to_string(), key.kind.clone());
        if self.crds_in_set.contains(&gk) {
            if self.opts.dry_run {
                return Ok(Err(
                    "its CRD is created by this apply; not validated by the server".into(),
                ));
            }
            // Established but discovery lags behind (kube-rs docs): refresh a few times.
            let deadline = Instant::now() + self.opts.crd_timeout;
            let r = (|| async {
                cluster.discovery().refresh();
                match cluster.resolve(&key.api_version, &key.kind).await {
                    Ok(Some(r)) => Ok(r),
                    Ok(None) => Err(None),
                    Err(e) => Err(Some(e)),
                }
            })
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(2))
                    .with_max_times(8),
            )
            .when(|_| Instant::now() < deadline)
            .await;
            return match r {
                Ok(r) => Ok(Ok(r)),
                Err(Some(e)) => Err(e),
                Err(None) => {
                    Err(cluster
                        .resolve_or_missing(key)
                        .await
                        .err()
                        .unwrap_or_else(|| {
                            ClusterError::Refused(format!(
                                "kind of {} is still not served",
                                key.describe()
                            ))
                        }))
                }
            };
        }
        if self.opts.dry_run {
            // An earlier step (a DataScienceCluster patch, a Subscription) may install it when
            // the deploy runs for real; preflight `crd` checks catch a missing operator.
            let operator = operators::operator_for_group(key.group()).unwrap_or("its operator");
            return Ok(Err(format!(
                "CRD not installed yet: {operator} must provide it; not validated by the server"
            )));
        }
        let installing = self.opts.operator_installing || !self.subscriptions.is_empty();
        if !installing {
            return Err(missing(key));
        }
        let deadline = Instant::now() + self.opts.operator_timeout;
        if !self.subscriptions.is_empty() {
            let r = self
                .subscriptions_waited
                .get_or_init(|| async {
                    for sub in &self.subscriptions {
                        if let Err(e) =
                            operators::wait_for_subscription(cluster, sub, deadline, self.progress)
                                .await
                        {
                            return Err(e.to_string());
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(reason) = r {
                return Err(ClusterError::Refused(format!(
                    "cannot apply {}: the operator install failed: {reason}",
                    key.describe()
                )));
            }
        }
        operators::wait_for_crd_of_kind(cluster, key.group(), &key.kind, deadline, self.progress)
            .await?;
        cluster.resolve_or_missing(key).await.map(Ok)
    }

    /// Waits for the set's CRDs to be Established with names accepted, then refreshes discovery.
    async fn wait_crds(&self, batch: &[&Item]) -> Result<(), ClusterError> {
        let crds: Vec<&ObjectKey> = batch
            .iter()
            .filter(|i| i.key.kind == "CustomResourceDefinition")
            .map(|i| &i.key)
            .collect();
        if crds.is_empty() {
            return Ok(());
        }
        (self.progress)(format!("waiting for {} CRDs to be established", crds.len()));
        let deadline = Instant::now() + self.opts.crd_timeout;
        let waits = crds.iter().map(|k| {
            self.cluster
                .wait_until(k, deadline, self.progress, |obj| match obj {
                    None => Decision::Pending(format!("CRD `{}` not visible yet", k.name)),
                    Some(o) => match crd_established(o) {
                        Ok(true) => Decision::Done(()),
                        Ok(false) => Decision::Pending(format!("CRD `{}` installing", k.name)),
                        Err(reason) => Decision::Failed(reason),
                    },
                })
        });
        futures::future::try_join_all(waits).await?;
        self.cluster.discovery().refresh();
        Ok(())
    }
}

fn missing(key: &ObjectKey) -> ClusterError {
    ClusterError::MissingKind {
        object: key.describe(),
        api_version: key.api_version.clone(),
        kind: key.kind.clone(),
        operator: operators::operator_for_group(key.group()).map(str::to_string),
    }
}

/// 409 from server-side apply naming other field managers (not an optimistic-lock conflict).
fn is_field_conflict(e: &ClusterError) -> bool {
    e.is_conflict() && !e.is_transient()
}

/// Managers and fields from a 409 apply conflict (`details.causes`, else the message).
fn conflict_details(e: &ClusterError) -> (Vec<String>, Vec<String>) {
    let mut managers = Vec::new();
    let mut fields = Vec::new();
    let Some(status) = e.status() else {
        return (managers, fields);
    };
    let re = regex::Regex::new(r#"conflict with "([^"]+)""#).ok();
    let mut add_manager = |text: &str| {
        if let Some(re) = &re {
            for c in re.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    let m = m.as_str().to_string();
                    if !managers.contains(&m) {
                        managers.push(m);
                    }
                }
            }
        }
    };
    if let Some(details) = &status.details {
        for cause in &details.causes {
            add_manager(&cause.message);
            if !cause.field.is_empty() && !fields.contains(&cause.field) {
                fields.push(cause.field.clone());
            }
        }
    }
    add_manager(&status.message);
    if fields.is_empty() {
        // "Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.a"
        for part in status.message.split("conflict with").skip(1) {
            if let Some((_, field)) = part.rsplit_once(": ") {
                let f = field.trim().trim_end_matches(['.', ',']).to_string();
                if f.starts_with('.') && !fields.contains(&f) {
                    fields.push(f);
                }
            }
        }
    }
    (managers, fields)
}

/// 422 Invalid with "field is immutable" (Job template, selectors, PVC spec, …).
/// A 404 about the object's namespace (not the object itself, which SSA creates).
fn is_missing_namespace(e: &ClusterError) -> bool {
    e.status().is_some_and(|s| {
        s.code == 404 && s.details.as_ref().is_some_and(|d| d.kind == "namespaces")
    })
}

fn is_immutable(e: &ClusterError) -> bool {
    e.status().is_some_and(|s| {
        s.code == 422
            && (s.message.contains("field is immutable")
                || s.message.contains("is immutable")
                || s.details
                    .as_ref()
                    .is_some_and(|d| d.causes.iter().any(|c| c.message.contains("immutable"))))
    })
}

fn immutable_fields(e: &ClusterError) -> String {
    let fields: Vec<String> = e
        .status()
        .and_then(|s| s.details.as_ref())
        .map(|d| {
            d.causes
                .iter()
                .filter(|c| !c.field.is_empty())
                .map(|c| c.field.clone())
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        "spec".into()
    } else {
        fields.join(", ")
    }
}

/// Ensures namespace `democtl` and the stage's ApplySet parent (grown by the set's group-kinds
/// and namespaces) exist before members are written (KEP-3659 orders parent first).
async fn write_applyset_parent(
    cluster: &Cluster,
    stage: &str,
    keys: &[ObjectKey],
) -> Result<(), ClusterError> {
    state::ensure_namespace(cluster).await?;
    let secret = ObjectKey::new(
        "v1",
        "Secret",
        Some(NAMESPACE),
        inventory::parent_name(stage),
    );
    let r = cluster.resolve_or_missing(&secret).await?;
    let api = cluster.api(&r.resource, Some(NAMESPACE));
    let existing = cluster
        .call("get", || secret.describe(), || api.get_opt(&secret.name))
        .await?
        .map(|o| typed_value(o, &r.resource));
    let parent = inventory::parent_object(stage, keys, existing.as_ref());
    let params = PatchParams::apply(FIELD_MANAGER)
        .force()
        .validation_strict();
    let patch = Patch::Apply(&parent);
    cluster
        .call(
            "apply",
            || secret.describe(),
            || api.patch(&secret.name, &params, &patch),
        )
        .await?;
    Ok(())
}

async fn record_inventory(
    cluster: &Cluster,
    stage: &str,
    report: &ApplyReport,
) -> Result<(), ClusterError> {
    let entries: Vec<state::InventoryEntry> = report
        .objects
        .iter()
        .map(|o| state::InventoryEntry {
            key: o.key.clone(),
            uid: o.uid.clone(),
        })
        .collect();
    // Written with retries and optimistic concurrency; a record that cannot be written fails
    // the apply (a short inventory is how a stage loses track of what it owns).
    state::add_inventory(cluster, stage, &entries).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kube::core::Status;
    use kube::core::response::{StatusCause, StatusDetails};

    fn k(av: &str, kind: &str) -> ObjectKey {
        ObjectKey::new(av, kind, Some("ns"), "x")
    }

    #[test]
    fn tiers() {
        assert_eq!(
            tier_of(&k("apiextensions.k8s.io/v1", "CustomResourceDefinition")),
            Tier::Foundation
        );
        assert_eq!(tier_of(&k("v1", "Namespace")), Tier::Foundation);
        assert_eq!(
            tier_of(&k("rbac.authorization.k8s.io/v1", "ClusterRole")),
            Tier::Foundation
        );
        assert_eq!(
            tier_of(&k("rbac.authorization.k8s.io/v1", "RoleBinding")),
            Tier::Config
        );
        assert_eq!(
            tier_of(&k("storage.k8s.io/v1", "StorageClass")),
            Tier::Config
        );
        assert_eq!(tier_of(&k("v1", "PersistentVolumeClaim")), Tier::Config);
        assert_eq!(tier_of(&k("v1", "Secret")), Tier::Config);
        assert_eq!(
            tier_of(&k("operators.coreos.com/v1alpha1", "Subscription")),
            Tier::Operators
        );
        assert_eq!(tier_of(&k("apps/v1", "Deployment")), Tier::Workloads);
        assert_eq!(tier_of(&k("v1", "Service")), Tier::Workloads);
        assert_eq!(
            tier_of(&k("route.openshift.io/v1", "Route")),
            Tier::Workloads
        );
        assert_eq!(
            tier_of(&k("serving.kserve.io/v1beta1", "InferenceService")),
            Tier::CustomResources
        );
        assert_eq!(
            tier_of(&k("serving.kserve.io/v1alpha1", "ServingRuntime")),
            Tier::CustomResources
        );
    }

    fn conflict_error(message: &str, causes: Vec<(&str, &str)>) -> ClusterError {
        let status = Status::failure(message, "Conflict")
            .with_code(409)
            .with_details(StatusDetails {
                name: "x".into(),
                group: String::new(),
                kind: "configmaps".into(),
                uid: String::new(),
                causes: causes
                    .into_iter()
                    .map(|(m, f)| StatusCause {
                        reason: "FieldManagerConflict".into(),
                        message: m.into(),
                        field: f.into(),
                    })
                    .collect(),
                retry_after_seconds: 0,
            });
        ClusterError::api("apply", "`ConfigMap/x`", kube::Error::Api(Box::new(status)))
    }

    #[test]
    fn conflicts_name_managers_and_fields() {
        let e = conflict_error(
            "Apply failed with 2 conflicts: conflict with \"kubectl-edit\" using v1: .data.a",
            vec![
                ("conflict with \"kubectl-edit\" using v1", ".data.a"),
                ("conflict with \"oc\" using v1", ".data.b"),
            ],
        );
        assert!(is_field_conflict(&e));
        let (m, f) = conflict_details(&e);
        assert_eq!(m, vec!["kubectl-edit", "oc"]);
        assert_eq!(f, vec![".data.a", ".data.b"]);
        let e = conflict_error(
            "Apply failed with 1 conflict: conflict with \"kubectl\" using v1: .data.a",
            vec![],
        );
        assert_eq!(
            conflict_details(&e),
            (vec!["kubectl".into()], vec![".data.a".into()])
        );
    }

    #[test]
    fn immutable_errors_are_recognised() {
        let status = Status::failure(
            "Job.batch \"x\" is invalid: spec.template: Invalid value: ...: field is immutable",
            "Invalid",
        )
        .with_code(422);
        let e = ClusterError::api("apply", "`Job/x`", kube::Error::Api(Box::new(status)));
        assert!(is_immutable(&e));
        assert_eq!(immutable_fields(&e), "spec");
    }

    #[test]
    fn results_read_like_kubectl_and_kapp() {
        assert_eq!(ApplyResult::Created.as_str(false), "created");
        assert_eq!(ApplyResult::Configured.as_str(true), "update");
        assert_eq!(ApplyResult::Recreated.as_str(true), "recreate");
    }
}
