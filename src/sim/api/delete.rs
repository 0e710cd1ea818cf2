//! Deletion and what kube-apiserver's controllers do after it, run synchronously under the store
//! lock: finalizers (deletionTimestamp, object kept until they are gone), propagationPolicy
//! (Foreground / Background / Orphan), ownerReference garbage collection, namespace termination
//! (contents deleted, NamespaceContentRemaining / NamespaceFinalizersRemaining conditions), CRD
//! deletion (its custom resources go with it), deletecollection.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use super::read::{Selectors, select};
use super::{Request, for_version, json_response};
use crate::sim::error::ApiError;
use crate::sim::server::Shared;
use crate::sim::store::{GroupResource, Obj, State};

/// How dependents are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// Delete the owner now; garbage-collect dependents after.
    Background,
    /// Delete dependents first; the owner waits with the `foregroundDeletion` finalizer.
    Foreground,
    /// Remove the owner reference from dependents; keep them.
    Orphan,
}

/// What a delete did.
pub enum Outcome {
    /// Gone from the store.
    Deleted(Obj),
    /// Still there (finalizers, foreground, namespace termination), with deletionTimestamp.
    Pending(Value),
}

struct DeleteOptions {
    propagation: Propagation,
    uid: Option<String>,
    rv: Option<String>,
    dry: bool,
}

fn options(req: &Request) -> Result<DeleteOptions, ApiError> {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        super::parse_body(&req.body, &req.content_type)?
    };
    let policy = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| req.query.get("propagationPolicy").cloned())
        .or_else(
            || match body.get("orphanDependents").and_then(Value::as_bool) {
                Some(true) => Some("Orphan".into()),
                _ => None,
            },
        );
    let propagation = match policy.as_deref() {
        None | Some("") | Some("Background") => Propagation::Background,
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(other) => {
            return Err(ApiError::invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                vec![crate::sim::error::Cause {
                    reason: "FieldValueNotSupported".into(),
                    message: format!(
                        "Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                    ),
                    field: "propagationPolicy".into(),
                }],
            ));
        }
    };
    let dry_body = body
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"));
    let pre = |k: &str| {
        body.pointer(&format!("/preconditions/{k}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(DeleteOptions {
        propagation,
        uid: pre("uid"),
        rv: pre("resourceVersion"),
        dry: dry_body || req.dry_run()?,
    })
}

fn meta<'a>(o: &'a Value, k: &str) -> &'a str {
    o.pointer(&format!("/metadata/{k}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn has_finalizers(o: &Value) -> bool {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

fn success(req_group: &str, plural: &str, obj: &Value) -> Value {
    let mut details = json!({"name": meta(obj, "name")});
    if !req_group.is_empty() {
        details["group"] = json!(req_group);
    }
    details["kind"] = json!(plural);
    details["uid"] = json!(meta(obj, "uid"));
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}

/// Namespaces the NamespaceLifecycle admission plugin never lets go.
const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// DELETE one object.
pub fn delete(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let opts = options(req)?;
    let name = req.name.as_deref().unwrap_or("");
    if req.gr.group.is_empty()
        && req.gr.resource == "namespaces"
        && IMMORTAL_NAMESPACES.contains(&name)
    {
        return Err(ApiError::forbidden_reason(
            "",
            "namespaces",
            name,
            "this namespace may not be deleted",
        ));
    }
    let mut st = shared.store.lock();
    let old = st
        .get(&req.gr, req.ns(), name)
        .ok_or_else(|| ApiError::not_found(&req.kind.group, &req.kind.plural, name))?;
    if let Some(uid) = &opts.uid
        && uid != meta(&old, "uid")
    {
        return Err(ApiError::conflict(
            &req.kind.group,
            &req.kind.plural,
            name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta(&old, "uid")
            ),
        ));
    }
    if let Some(rv) = &opts.rv
        && rv != meta(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(
            &req.kind.group,
            &req.kind.plural,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta(&old, "resourceVersion")
            ),
        ));
    }
    let now = shared.config.clock.now_rfc3339();
    let outcome = delete_object(
        &mut st,
        &req.gr,
        req.ns(),
        name,
        opts.propagation,
        &now,
        opts.dry,
    );
    if !opts.dry {
        settle(&mut st, &now);
        if req.gr.group.is_empty() && req.gr.resource == "namespaces" {
            shared.schedule_namespace_sweep(name);
        }
    }
    match outcome {
        Some(Outcome::Deleted(obj)) => Ok(json_response(
            200,
            &success(&req.kind.group, &req.kind.plural, &obj),
        )),
        Some(Outcome::Pending(obj)) => Ok(json_response(200, &for_version(&req.kind, &obj))),
        None => Err(ApiError::not_found(&req.kind.group, &req.kind.plural, name)),
    }
}

/// DELETE a collection (selectors apply); answers the list of deleted objects.
pub fn delete_collection(
    shared: &Shared,
    req: &Request,
) -> Result<axum::response::Response, ApiError> {
    let opts = options(req)?;
    let sel = Selectors::from_request(req)?;
    let (objs, _) = select(shared, req, &sel);
    let now = shared.config.clock.now_rfc3339();
    let mut st = shared.store.lock();
    let mut items = vec![];
    for o in objs {
        let ns = meta(&o, "namespace").to_string();
        let name = meta(&o, "name").to_string();
        match delete_object(
            &mut st,
            &req.gr,
            &ns,
            &name,
            opts.propagation,
            &now,
            opts.dry,
        ) {
            Some(Outcome::Deleted(obj)) => items.push(super::list_item(&req.kind, &obj)),
            Some(Outcome::Pending(obj)) => items.push(super::list_item(&req.kind, &obj)),
            None => {}
        }
    }
    if !opts.dry {
        settle(&mut st, &now);
    }
    let rv = st.rv().to_string();
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", req.kind.kind),
            "apiVersion": req.kind.api_version(),
            "metadata": {"resourceVersion": rv},
            "items": items,
        }),
    ))
}

fn mark_deleting(obj: &mut Value, now: &str, extra_finalizer: Option<&str>) {
    if obj.pointer("/metadata/deletionTimestamp").is_none() {
        obj["metadata"]["deletionTimestamp"] = json!(now);
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    }
    if let Some(f) = extra_finalizer {
        let list = obj["metadata"]
            .as_object_mut()
            .map(|m| m.entry("finalizers").or_insert_with(|| json!([])));
        if let Some(Value::Array(a)) = list
            && !a.iter().any(|x| x == f)
        {
            a.push(json!(f));
        }
    }
}

/// Dependents of an owner uid: (resource, namespace, name).
fn dependents(st: &State, uid: &str) -> Vec<(GroupResource, String, String)> {
    st.all()
        .filter(|(_, o)| {
            o.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
                })
        })
        .map(|(gr, o)| {
            (
                gr.clone(),
                meta(o, "namespace").to_string(),
                meta(o, "name").to_string(),
            )
        })
        .collect()
}

/// Deletes (or starts deleting) one object. `None` when it does not exist.
pub fn delete_object(
    st: &mut State,
    gr: &GroupResource,
    ns: &str,
    name: &str,
    policy: Propagation,
    now: &str,
    dry: bool,
) -> Option<Outcome> {
    let old = st.get(gr, ns, name)?;
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        return Some(Outcome::Pending((*old).clone()));
    }
    let is_ns = gr.group.is_empty() && gr.resource == "namespaces";
    let pending = is_ns || has_finalizers(&old) || policy == Propagation::Foreground;
    if dry {
        let mut o = (*old).clone();
        if pending {
            mark_deleting(&mut o, now, None);
            return Some(Outcome::Pending(o));
        }
        return Some(Outcome::Deleted(old));
    }
    let uid = meta(&old, "uid").to_string();
    if policy == Propagation::Orphan {
        for (dgr, dns, dname) in dependents(st, &uid) {
            if let Some(d) = st.get(&dgr, &dns, &dname) {
                let mut d = (*d).clone();
                if let Some(refs) = d
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                    if refs.is_empty()
                        && let Some(m) = d["metadata"].as_object_mut()
                    {
                        m.remove("ownerReferences");
                    }
                }
                st.put(&dgr, &dns, &dname, d);
            }
        }
    }
    if is_ns {
        let mut o = (*old).clone();
        mark_deleting(&mut o, now, None);
        o["status"]["phase"] = json!("Terminating");
        let stored = st.put(gr, ns, name, o);
        return Some(Outcome::Pending((*stored).clone()));
    }
    if policy == Propagation::Foreground {
        let mut o = (*old).clone();
        mark_deleting(&mut o, now, Some("foregroundDeletion"));
        let stored = st.put(gr, ns, name, o);
        for (dgr, dns, dname) in dependents(st, &uid) {
            delete_object(st, &dgr, &dns, &dname, Propagation::Foreground, now, false);
        }
        return Some(Outcome::Pending((*stored).clone()));
    }
    if has_finalizers(&old) {
        let mut o = (*old).clone();
        mark_deleting(&mut o, now, None);
        let stored = st.put(gr, ns, name, o);
        return Some(Outcome::Pending((*stored).clone()));
    }
    remove(st, gr, ns, name).map(Outcome::Deleted)
}

/// Removes an object for good (a CRD takes its custom resources and served kinds with it).
fn remove(st: &mut State, gr: &GroupResource, ns: &str, name: &str) -> Option<Obj> {
    let gone = st.remove(gr, ns, name)?;
    if gr.group == "apiextensions.k8s.io"
        && gr.resource == "customresourcedefinitions"
        && let Some((g, plural)) = st.registry.unserve_crd(name)
    {
        st.remove_all(&GroupResource::new(&g, &plural));
    }
    Some(gone)
}

/// Removes an object being deleted once its finalizers are gone; true when removed.
pub fn finalize_if_done(st: &mut State, gr: &GroupResource, ns: &str, name: &str) -> bool {
    let Some(o) = st.get(gr, ns, name) else {
        return false;
    };
    if o.pointer("/metadata/deletionTimestamp").is_none() || has_finalizers(&o) {
        return false;
    }
    if gr.group.is_empty()
        && gr.resource == "namespaces"
        && o.pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    {
        return false;
    }
    remove(st, gr, ns, name).is_some()
}

/// Runs the garbage collector and namespace controller until nothing changes.
pub fn settle(st: &mut State, now: &str) {
    for _ in 0..64 {
        let mut changed = false;
        changed |= namespaces(st, now);
        changed |= foreground_owners(st);
        changed |= orphans(st, now);
        if !changed {
            break;
        }
    }
}

/// The garbage collector for dependents without a solid owner, as kube's `attemptToDeleteItem`:
/// a dependent whose owners are all gone is deleted in the background; one whose owners are
/// gone or being deleted in the foreground (`foregroundDeletion`) is deleted in the foreground.
/// The second case catches a dependent created after its owner's deletion started (a
/// controller acting on a stale cache): left alone, it would hold the owner back and keep
/// running.
fn orphans(st: &mut State, now: &str) -> bool {
    let mut live: HashSet<String> = HashSet::new();
    let mut waiting: HashSet<String> = HashSet::new();
    for (_, o) in st.all() {
        let uid = meta(o, "uid").to_string();
        let foreground = o.pointer("/metadata/deletionTimestamp").is_some()
            && o.pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|f| f == "foregroundDeletion"));
        if foreground {
            waiting.insert(uid);
        } else {
            live.insert(uid);
        }
    }
    let doomed: Vec<(GroupResource, String, String, Propagation)> = st
        .all()
        .filter(|(_, o)| o.pointer("/metadata/deletionTimestamp").is_none())
        .filter_map(|(gr, o)| {
            let refs = o
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .filter(|refs| !refs.is_empty())?;
            let uids: Vec<&str> = refs
                .iter()
                .map(|r| r.get("uid").and_then(Value::as_str).unwrap_or(""))
                .collect();
            if uids.iter().any(|u| live.contains(*u)) {
                return None;
            }
            let policy = if uids.iter().any(|u| waiting.contains(*u)) {
                Propagation::Foreground
            } else {
                Propagation::Background
            };
            Some((
                gr.clone(),
                meta(o, "namespace").to_string(),
                meta(o, "name").to_string(),
                policy,
            ))
        })
        .collect();
    let mut changed = false;
    for (gr, ns, name, policy) in doomed {
        changed |= delete_object(st, &gr, &ns, &name, policy, now, false).is_some();
    }
    changed
}

/// Owners deleted in the foreground lose their `foregroundDeletion` finalizer once no dependents remain.
fn foreground_owners(st: &mut State) -> bool {
    let waiting: Vec<(GroupResource, String, String, String)> = st
        .all()
        .filter(|(_, o)| {
            o.pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|f| f == "foregroundDeletion"))
        })
        .map(|(gr, o)| {
            (
                gr.clone(),
                meta(o, "namespace").to_string(),
                meta(o, "name").to_string(),
                meta(o, "uid").to_string(),
            )
        })
        .collect();
    let mut changed = false;
    for (gr, ns, name, uid) in waiting {
        if !dependents(st, &uid).is_empty() {
            continue;
        }
        if let Some(o) = st.get(&gr, &ns, &name) {
            let mut o = (*o).clone();
            if let Some(a) = o
                .pointer_mut("/metadata/finalizers")
                .and_then(Value::as_array_mut)
            {
                a.retain(|f| f != "foregroundDeletion");
            }
            st.put(&gr, &ns, &name, o);
            finalize_if_done(st, &gr, &ns, &name);
            changed = true;
        }
    }
    changed
}

fn condition(t: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": t, "status": status, "lastTransitionTime": now, "reason": reason, "message": message})
}

/// The namespace controller for namespaces it has started on (they carry its conditions):
/// keeps their conditions current and removes them once empty.
fn namespaces(st: &mut State, now: &str) -> bool {
    let nsgr = GroupResource::new("", "namespaces");
    let started: Vec<String> = st
        .list(&nsgr, None)
        .into_iter()
        .filter(|o| o.pointer("/metadata/deletionTimestamp").is_some())
        .filter(|o| o.pointer("/status/conditions").is_some())
        .map(|o| meta(&o, "name").to_string())
        .collect();
    let mut changed = false;
    for ns in started {
        changed |= sweep_namespace(st, &ns, now);
    }
    changed
}

/// The namespace controller for one terminating namespace: deletes its contents, reports what
/// remains in conditions, and removes the namespace when it is empty. True when anything changed.
pub fn sweep_namespace(st: &mut State, ns: &str, now: &str) -> bool {
    let nsgr = GroupResource::new("", "namespaces");
    let mut changed = false;
    let Some(nsobj) = st.get(&nsgr, "", ns) else {
        return false;
    };
    if nsobj.pointer("/metadata/deletionTimestamp").is_none() {
        return false;
    }
    let contents: Vec<(GroupResource, String)> = st
        .all()
        .filter(|(gr, o)| **gr != nsgr && meta(o, "namespace") == ns)
        .map(|(gr, o)| (gr.clone(), meta(o, "name").to_string()))
        .collect();
    for (gr, name) in &contents {
        if let Some(Outcome::Deleted(_)) =
            delete_object(st, gr, ns, name, Propagation::Background, now, false)
        {
            changed = true;
        }
    }
    let mut remaining: BTreeMap<String, usize> = BTreeMap::new();
    let mut finalizers: BTreeMap<String, usize> = BTreeMap::new();
    for (gr, o) in st
        .all()
        .filter(|(gr, o)| **gr != nsgr && meta(o, "namespace") == ns)
    {
        *remaining
            .entry(format!("{}.{}", gr.resource, gr.group))
            .or_default() += 1;
        if let Some(a) = o.pointer("/metadata/finalizers").and_then(Value::as_array) {
            for f in a.iter().filter_map(Value::as_str) {
                *finalizers.entry(f.to_string()).or_default() += 1;
            }
        }
    }
    let Some(nsobj) = st.get(&nsgr, "", ns) else {
        return changed;
    };
    let mut o = (*nsobj).clone();
    let content = if remaining.is_empty() {
        condition(
            "NamespaceContentRemaining",
            "False",
            "ContentRemoved",
            "All content successfully removed",
            now,
        )
    } else {
        let parts: Vec<String> = remaining
            .iter()
            .map(|(r, n)| format!("{r} has {n} resource instances"))
            .collect();
        condition(
            "NamespaceContentRemaining",
            "True",
            "SomeResourcesRemain",
            &format!("Some resources are remaining: {}", parts.join(", ")),
            now,
        )
    };
    let fins = if finalizers.is_empty() {
        condition(
            "NamespaceFinalizersRemaining",
            "False",
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished",
            now,
        )
    } else {
        let parts: Vec<String> = finalizers
            .iter()
            .map(|(f, n)| format!("{f} in {n} resource instances"))
            .collect();
        condition(
            "NamespaceFinalizersRemaining",
            "True",
            "SomeFinalizersRemain",
            &format!(
                "Some content in the namespace has finalizers remaining: {}",
                parts.join(", ")
            ),
            now,
        )
    };
    let mut conditions = vec![
        condition(
            "NamespaceDeletionDiscoveryFailure",
            "False",
            "ResourcesDiscovered",
            "All resources successfully discovered",
            now,
        ),
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            "False",
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed",
            now,
        ),
        condition(
            "NamespaceDeletionContentFailure",
            "False",
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization",
            now,
        ),
        content,
        fins,
    ];
    // Keep transition times of conditions that did not change (no event storms).
    if let Some(prev) = nsobj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
    {
        for c in conditions.iter_mut() {
            if let Some(p) = prev.iter().find(|p| p["type"] == c["type"])
                && p["status"] == c["status"]
                && p["message"] == c["message"]
            {
                *c = p.clone();
            }
        }
    }
    o["status"]["conditions"] = json!(conditions);
    if remaining.is_empty()
        && let Some(a) = o
            .pointer_mut("/spec/finalizers")
            .and_then(Value::as_array_mut)
    {
        a.retain(|f| f != "kubernetes");
    }
    if o != *nsobj {
        st.put(&nsgr, "", ns, o);
        changed = true;
    }
    changed |= finalize_if_done(st, &nsgr, "", ns);
    changed
}
