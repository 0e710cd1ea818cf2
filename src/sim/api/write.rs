//! Writes that store whole objects: create (generateName, AlreadyExists, namespace checks,
//! defaults), update (resourceVersion precondition, status-subresource semantics), the `scale`
//! subresource, and the commit path shared with patches (identity preserved, generation bumped on
//! spec changes, managedFields tracked, no-op writes not stored, finalized objects removed).

use rand::Rng;
use serde_json::{Value, json};

use super::delete::{finalize_if_done, settle};
use super::{Request, for_version, json_response, review, strategy};
use crate::sim::error::{ApiError, Cause};
use crate::sim::managed::{self, Scope, Writer};
use crate::sim::resources::KindInfo;
use crate::sim::schema::{self, rules as validate};
use crate::sim::server::Shared;
use crate::sim::store::{GroupResource, Obj, State};

pub use super::delete::{delete, delete_collection};

/// kube-apiserver decodes a built-in body of another registered built-in kind, then fails to
/// convert it to the request's internal type (`converting (v1.Secret) to (core.ConfigMap)`).
fn unknown_conversion(
    kind: &KindInfo,
    body_kind: &str,
    api_version: Option<&Value>,
) -> Option<ApiError> {
    if kind.custom {
        return None;
    }
    let api_version = api_version.and_then(Value::as_str).unwrap_or("");
    let known = crate::sim::resources::builtins()
        .into_iter()
        .find(|b| b.kind == body_kind && b.api_version() == api_version)?;
    // The Go package of the internal type: the group's first label, `core` for the core group.
    let internal = match kind.group.split('.').next() {
        Some("") | None => "core",
        Some(g) => g,
    };
    Some(ApiError::bad_request(format!(
        "{body_kind} in version {v:?} cannot be handled as a {k}: converting ({v}.{body_kind}) to ({internal}.{k}): unknown conversion",
        v = known.version,
        k = kind.kind
    )))
}

/// Checks `apiVersion`/`kind` of a body against the request (missing ones are filled in).
pub fn check_type(kind: &KindInfo, mut body: Value) -> Result<Value, ApiError> {
    let Some(map) = body.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the body of the request is not a JSON object",
        ));
    };
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), Value::String(kind.kind.clone()));
        }
        Some(k) if k != kind.kind => {
            if let Some(e) = unknown_conversion(kind, k, map.get("apiVersion")) {
                return Err(e);
            }
            return Err(ApiError::bad_request(format!(
                "the kind of the provided object ({k}) does not match the kind of the request ({})",
                kind.kind
            )));
        }
        Some(_) => {}
    }
    let want = kind.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), Value::String(want));
        }
        Some(v) if v != want => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )));
        }
        Some(_) => {}
    }
    if !map.get("metadata").is_some_and(Value::is_object) {
        map.insert("metadata".into(), json!({}));
    }
    Ok(body)
}

fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.pointer(&format!("/metadata/{key}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn set_meta(obj: &mut Value, key: &str, v: Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if v.is_null() {
            m.remove(key);
        } else {
            m.insert(key.into(), v);
        }
    }
}

fn generated_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Server-set defaults of a new object (namespace phase, pod phase, CRD status).
fn defaults(kind: &KindInfo, obj: &mut Value) {
    if kind.status {
        // kube-apiserver resets status on create for kinds with a status subresource.
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "namespaces") => {
            let name = meta_str(obj, "name").to_string();
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = m.entry("labels").or_insert_with(|| json!({}));
                if let Some(l) = labels.as_object_mut() {
                    l.insert("kubernetes.io/metadata.name".into(), json!(name));
                }
            }
        }
        ("", "pods") => obj["status"] = json!({"phase": "Pending"}),
        ("apiextensions.k8s.io", _) => {
            let stored: Vec<Value> = obj
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                        .filter_map(|v| v.get("name").cloned())
                        .collect()
                })
                .unwrap_or_default();
            obj["status"] = json!({
                "acceptedNames": {"kind": "", "plural": ""},
                "conditions": [],
                "storedVersions": stored,
            });
        }
        _ => {}
    }
}

/// Creates an object in the store (all checks, defaults and metadata). `managed` = the
/// managedFields are already computed (server-side apply); otherwise an Update entry is recorded.
#[allow(clippy::too_many_arguments)]
pub fn create_in(
    st: &mut State,
    shared: &Shared,
    kind: &KindInfo,
    ns: &str,
    mut obj: Value,
    manager: &str,
    managed_done: bool,
    dry: bool,
) -> Result<Value, ApiError> {
    // The uid exists before the strategy runs, as in kube-apiserver (a Job's generated selector
    // names it).
    set_meta(&mut obj, "uid", json!(uuid::Uuid::new_v4().to_string()));
    strategy::prepare(kind, &mut obj)?;
    strategy::prepare_create(kind, &mut obj);
    validate::decode(kind, &obj)?;
    let body_ns = meta_str(&obj, "namespace").to_string();
    if kind.namespaced {
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        set_meta(&mut obj, "namespace", json!(ns));
    } else {
        set_meta(&mut obj, "namespace", Value::Null);
    }
    let mut name = meta_str(&obj, "name").to_string();
    let generate = meta_str(&obj, "generateName").to_string();
    if name.is_empty() && !generate.is_empty() {
        name = format!("{generate}{}", generated_suffix());
        set_meta(&mut obj, "name", json!(name));
    }
    let mut causes = validate::name_causes(kind, &name);
    causes.extend(strategy::causes(kind, None, &obj));
    causes.extend(validate::spec_causes(kind, &obj));
    if !causes.is_empty() {
        return Err(ApiError::invalid(&kind.kind, &kind.group, &name, causes));
    }
    if kind.namespaced {
        let nsobj = st
            .get(&GroupResource::new("", "namespaces"), "", ns)
            .ok_or_else(|| ApiError::not_found("", "namespaces", ns))?;
        if nsobj.pointer("/metadata/deletionTimestamp").is_some() {
            let msg = format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            );
            let mut e = ApiError::forbidden_reason(&kind.group, &kind.plural, &name, &msg);
            e.details = Some(Box::new(
                json!({"name": name, "group": kind.group, "kind": kind.plural,
                "causes": [{"reason": "NamespaceTerminating", "message": msg, "field": "metadata.namespace"}]}),
            ));
            return Err(e);
        }
    }
    let gr = GroupResource::new(&kind.group, &kind.plural);
    if let Some(existing) = st.get(&gr, ns, &name) {
        let mut e = ApiError::already_exists(&kind.group, &kind.plural, &name);
        if existing.pointer("/metadata/deletionTimestamp").is_some() {
            e.message = format!("object is being deleted: {}", e.message);
        }
        return Err(e);
    }
    super::ipalloc::allocate(st, kind, &mut obj)
        .map_err(|causes| ApiError::invalid(&kind.kind, &kind.group, &name, causes))?;
    default_storage_class(st, kind, &mut obj);
    defaults(kind, &mut obj);
    let now = shared.config.clock.now_rfc3339();
    for k in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        set_meta(&mut obj, k, Value::Null);
    }
    set_meta(&mut obj, "creationTimestamp", json!(now));
    set_meta(
        &mut obj,
        "generation",
        if kind.has_generation() {
            json!(1)
        } else {
            Value::Null
        },
    );
    if !managed_done {
        set_meta(&mut obj, "managedFields", Value::Null);
        let w = Writer {
            manager,
            api_version: &kind.api_version(),
            time: &now,
            subresource: None,
        };
        managed::track_update(kind, None, &mut obj, &w, main_scope(kind));
    }
    if dry {
        return Ok(obj);
    }
    let stored = st.put(&gr, ns, &name, obj);
    if kind.group.is_empty() && kind.plural == "namespaces" {
        crate::sim::server::populate_namespace(st, &name, &now);
    }
    if kind.plural == "customresourcedefinitions" {
        shared.schedule_establish(&name);
    }
    let created = (*stored).clone();
    if has_owners(&created) {
        // The collector sees every new dependent: one whose owner is gone or being deleted in
        // the foreground goes at once (the create still answers 201, as kube's does).
        settle(st, &now);
    }
    Ok(created)
}

fn has_owners(obj: &Value) -> bool {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| !refs.is_empty())
}

/// The managed-fields scope of main-resource writes of a kind.
pub fn main_scope(kind: &KindInfo) -> Scope {
    Scope::Main {
        exclude_status: kind.status,
    }
}

/// POST: create (or a review, for the review kinds).
pub fn create(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let mut body = check_type(&req.kind, req.object_body()?)?;
    super::patch::omit_empty_metadata(&mut body);
    if matches!(
        req.kind.group.as_str(),
        "authorization.k8s.io" | "authentication.k8s.io"
    ) {
        return review::create(shared, req, body);
    }
    let dry = req.dry_run()?;
    let manager = req.field_manager();
    let mut st = shared.store.lock();
    let admitted = schema::admit_request(&st, req, body, None)?;
    let obj = create_in(
        &mut st,
        shared,
        &req.kind,
        req.ns(),
        admitted.object,
        &manager,
        false,
        dry,
    )?;
    let resp = json_response(201, &for_version(&req.kind, &obj));
    Ok(schema::with_warnings(resp, &admitted.warnings))
}

fn finalizers(v: &Value) -> Vec<String> {
    v.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Which part of an object a write may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The main resource (status kept for kinds with a status subresource).
    Main,
    /// The status subresource (only status changes).
    Status,
}

/// Stores a changed version of `old` (update, patch, apply): keeps identity and system metadata,
/// applies status-subresource semantics, bumps generation on spec changes, records managed fields
/// (unless `managed_done`), skips no-op writes, and removes an object whose last finalizer went
/// away while it was being deleted. Returns the resulting object.
#[allow(clippy::too_many_arguments)]
pub fn commit_update(
    st: &mut State,
    shared: &Shared,
    kind: &KindInfo,
    old: &Obj,
    mut new: Value,
    part: Part,
    manager: &str,
    managed_done: bool,
    dry: bool,
) -> Result<Value, ApiError> {
    if part == Part::Main {
        strategy::prepare(kind, &mut new)?;
        super::ipalloc::keep_allocated(kind, old, &mut new);
    }
    validate::decode(kind, &new)?;
    let ns = meta_str(old, "namespace").to_string();
    let name = meta_str(old, "name").to_string();
    if part == Part::Status {
        let mut merged = (**old).clone();
        merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
        if merged["status"].is_null()
            && let Some(m) = merged.as_object_mut()
        {
            m.remove("status");
        }
        if managed_done {
            merged["metadata"]["managedFields"] = new
                .pointer("/metadata/managedFields")
                .cloned()
                .unwrap_or(Value::Null);
        }
        new = merged;
    } else if kind.status {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = json!({});
    }
    for k in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "resourceVersion",
    ] {
        set_meta(
            &mut new,
            k,
            old.pointer(&format!("/metadata/{k}"))
                .cloned()
                .unwrap_or(Value::Null),
        );
    }
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        let before = finalizers(old);
        let added: Vec<String> = finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            return Err(ApiError::invalid(
                &kind.kind,
                &kind.group,
                &name,
                vec![Cause {
                    reason: "FieldValueForbidden".into(),
                    message: format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                        added
                            .iter()
                            .map(|f| format!("{f:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    field: "metadata.finalizers".into(),
                }],
            ));
        }
    }
    // Immutable fields and the other update rules are checked by schema admission.
    let mut causes = strategy::causes(kind, Some(old), &new);
    causes.extend(validate::spec_causes(kind, &new));
    if !causes.is_empty() {
        return Err(ApiError::invalid(&kind.kind, &kind.group, &name, causes));
    }
    if kind.has_generation() && strategy::bumps_generation(kind, old, &new) {
        let g = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        set_meta(&mut new, "generation", json!(g + 1));
    }
    if !managed_done {
        let now = shared.config.clock.now_rfc3339();
        let w = Writer {
            manager,
            api_version: &kind.api_version(),
            time: &now,
            subresource: (part == Part::Status).then_some("status"),
        };
        let scope = if part == Part::Status {
            Scope::Status
        } else {
            main_scope(kind)
        };
        managed::track_update(kind, Some(old), &mut new, &w, scope);
    }
    let unchanged = {
        let mut a = (**old).clone();
        let mut b = new.clone();
        a["apiVersion"] = Value::Null;
        b["apiVersion"] = Value::Null;
        strip_times(&mut a);
        strip_times(&mut b);
        a == b
    };
    if unchanged {
        return Ok((**old).clone());
    }
    if dry {
        return Ok(new);
    }
    let gr = GroupResource::new(&kind.group, &kind.plural);
    let stored = st.put(&gr, &ns, &name, new);
    if kind.plural == "customresourcedefinitions" && st.registry.is_crd_served(&name) {
        st.registry.serve_crd(&name, &stored);
    }
    let result = (*stored).clone();
    let owners_changed =
        old.pointer("/metadata/ownerReferences") != result.pointer("/metadata/ownerReferences");
    if finalize_if_done(st, &gr, &ns, &name) || (owners_changed && has_owners(&result)) {
        settle(st, &shared.config.clock.now_rfc3339());
    }
    Ok(result)
}

/// Managed-field timestamps do not make a write a change.
fn strip_times(v: &mut Value) {
    if let Some(list) = v
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    {
        for e in list {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
    }
}

/// PUT: replace an object (or its status).
pub fn update(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let mut body = check_type(&req.kind, req.object_body()?)?;
    super::patch::omit_empty_metadata(&mut body);
    let dry = req.dry_run()?;
    let name = req.name.as_deref().unwrap_or("");
    let body_name = meta_str(&body, "name");
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let mut st = shared.store.lock();
    let old = st
        .get(&req.gr, req.ns(), name)
        .ok_or_else(|| ApiError::not_found(&req.kind.group, &req.kind.plural, name))?;
    let rv = meta_str(&body, "resourceVersion");
    if rv.is_empty() && req.kind.custom {
        return Err(ApiError::invalid(
            &req.kind.kind,
            &req.kind.group,
            name,
            vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: 0x0: must be specified for an update".into(),
                field: "metadata.resourceVersion".into(),
            }],
        ));
    }
    if !rv.is_empty() && rv != meta_str(&old, "resourceVersion") {
        return Err(ApiError::conflict(
            &req.kind.group,
            &req.kind.plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let part = if req.sub.as_deref() == Some("status") {
        Part::Status
    } else {
        Part::Main
    };
    let mut body = body;
    // Clients cannot rewrite ownership through an update body; keep the server's record.
    set_meta(
        &mut body,
        "managedFields",
        old.pointer("/metadata/managedFields")
            .cloned()
            .unwrap_or(Value::Null),
    );
    let manager = req.field_manager();
    let admitted = schema::admit_request(&st, req, body, Some(&old))?;
    let obj = commit_update(
        &mut st,
        shared,
        &req.kind,
        &old,
        admitted.object,
        part,
        &manager,
        false,
        dry,
    )?;
    let resp = json_response(200, &for_version(&req.kind, &obj));
    Ok(schema::with_warnings(resp, &admitted.warnings))
}

fn dot_pointer(path: &str) -> String {
    format!("/{}", path.trim_start_matches('.').replace('.', "/"))
}

/// A label selector as apimachinery's `labels.Selector.String()` renders it: requirements
/// sorted by key, joined by commas. Takes a `metav1.LabelSelector` or a plain label map (a
/// ReplicationController's selector).
fn selector_string(sel: &Value) -> String {
    let structured = sel.get("matchLabels").is_some() || sel.get("matchExpressions").is_some();
    let labels = if structured {
        sel.get("matchLabels")
    } else {
        Some(sel)
    };
    let mut reqs: Vec<(String, String)> = labels
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))))
        .collect();
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let text = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort();
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

fn scale_of(kind: &KindInfo, obj: &Value) -> Value {
    let (spec, status, selector) = kind.scale.clone().unwrap_or_default();
    let get = |p: &str| obj.pointer(&dot_pointer(p)).cloned();
    let mut sel = selector.as_deref().and_then(get).unwrap_or(json!(""));
    if sel.is_object() {
        sel = json!(selector_string(&sel));
    }
    let mut meta = json!({});
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = obj.pointer(&format!("/metadata/{k}")) {
            meta[k] = v.clone();
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": get(&spec).unwrap_or(json!(0))},
        "status": {"replicas": get(&status).unwrap_or(json!(0)), "selector": sel},
    })
}

/// GET `.../scale`.
pub fn get_scale(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let name = req.name.as_deref().unwrap_or("");
    let obj = shared
        .store
        .lock()
        .get(&req.gr, req.ns(), name)
        .ok_or_else(|| ApiError::not_found(&req.kind.group, &req.kind.plural, name))?;
    Ok(json_response(200, &scale_of(&req.kind, &obj)))
}

/// PUT or PATCH (merge) `.../scale`: sets the replicas of the scaled object.
pub fn set_scale(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let name = req.name.as_deref().unwrap_or("");
    let dry = req.dry_run()?;
    let body = req.body_json()?;
    let mut st = shared.store.lock();
    let old = st
        .get(&req.gr, req.ns(), name)
        .ok_or_else(|| ApiError::not_found(&req.kind.group, &req.kind.plural, name))?;
    let mut scale = scale_of(&req.kind, &old);
    if req.method == axum::http::Method::PATCH {
        json_patch::merge(&mut scale, &body);
    } else {
        scale = body;
    }
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            ApiError::invalid(
                "Scale",
                "autoscaling",
                name,
                vec![Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: "spec.replicas".into(),
                }],
            )
        })?;
    let (spec_path, _, _) = req.kind.scale.clone().unwrap_or_default();
    let mut new = (*old).clone();
    let mut patch = json!({});
    let segs: Vec<&str> = spec_path.trim_start_matches('.').split('.').collect();
    let mut cur = &mut patch;
    for (i, s) in segs.iter().enumerate() {
        cur[*s] = if i + 1 == segs.len() {
            json!(replicas)
        } else {
            json!({})
        };
        cur = &mut cur[*s];
    }
    json_patch::merge(&mut new, &patch);
    let manager = req.field_manager();
    let obj = commit_update(
        &mut st,
        shared,
        &req.kind,
        &old,
        new,
        Part::Main,
        &manager,
        false,
        dry,
    )?;
    Ok(json_response(200, &scale_of(&req.kind, &obj)))
}

/// POST `pods/{name}/binding` (a `Binding`): how kube-scheduler assigns a pod to a node. Sets
/// `spec.nodeName` and `PodScheduled=True` as kube-apiserver's BindingREST does; a pod that is
/// already bound is a 409, as is a Binding whose uid names another pod.
pub fn bind(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let name = req.name.as_deref().unwrap_or("");
    let dry = req.dry_run()?;
    let body = req.body_json()?;
    let node = body
        .pointer("/target/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                "Binding",
                "",
                name,
                vec![Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: "target.name".into(),
                }],
            )
        })?
        .to_string();
    let mut st = shared.store.lock();
    let old = st
        .get(&req.gr, req.ns(), name)
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    let uid = body.pointer("/metadata/uid").and_then(Value::as_str);
    if uid.is_some_and(|u| Some(u) != old.pointer("/metadata/uid").and_then(Value::as_str)) {
        return Err(ApiError::conflict(
            "",
            "pods/binding",
            name,
            "the UID in the precondition does not match the UID in record",
        ));
    }
    if let Some(bound) = old
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        return Err(ApiError::conflict(
            "",
            "pods/binding",
            name,
            &format!("pod {name} is already assigned to node \"{bound}\""),
        ));
    }
    let now = shared.config.clock.now_rfc3339();
    let mut new = (*old).clone();
    new["spec"]["nodeName"] = json!(node);
    let mut conditions: Vec<Value> = new
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    conditions.retain(|c| c["type"] != "PodScheduled");
    conditions.push(json!({"type": "PodScheduled", "status": "True",
        "lastProbeTime": null, "lastTransitionTime": now}));
    new["status"]["conditions"] = json!(conditions);
    let manager = req.field_manager();
    let kind = req.kind.clone();
    commit_update(
        &mut st,
        shared,
        &kind,
        &old,
        new.clone(),
        Part::Main,
        &manager,
        false,
        dry,
    )?;
    let stored = st.get(&req.gr, req.ns(), name).unwrap_or(old);
    let mut with_status = (*stored).clone();
    with_status["status"] = new["status"].clone();
    commit_update(
        &mut st,
        shared,
        &kind,
        &stored,
        with_status,
        Part::Status,
        &manager,
        false,
        dry,
    )?;
    Ok(json_response(
        201,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    ))
}

/// Whether a StorageClass is a default one (kube's `IsDefaultAnnotation`: the GA or the beta
/// annotation `is-default-class` is `"true"`).
pub(crate) fn is_default_storage_class(sc: &Value) -> bool {
    [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|a| sc["metadata"]["annotations"][*a] == "true")
}

/// kube-apiserver's `DefaultStorageClass` admission: a PersistentVolumeClaim created without a
/// `storageClassName` (absent or null — `""` asks for no class) gets the default StorageClass,
/// the newest one annotated `is-default-class: "true"` when several are (then by name).
fn default_storage_class(st: &State, kind: &KindInfo, obj: &mut Value) {
    if !(kind.group.is_empty() && kind.plural == "persistentvolumeclaims") {
        return;
    }
    let beta = obj
        .pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .is_some();
    let unset = obj
        .pointer("/spec/storageClassName")
        .is_none_or(Value::is_null);
    if beta || !unset {
        return;
    }
    let classes = st.list(
        &GroupResource::new("storage.k8s.io", "storageclasses"),
        None,
    );
    let newest = classes
        .iter()
        .filter(|sc| is_default_storage_class(sc))
        .max_by(|a, b| {
            let created = |v: &Value| {
                v["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            created(a).cmp(&created(b)).then_with(|| {
                b["metadata"]["name"]
                    .as_str()
                    .cmp(&a["metadata"]["name"].as_str())
            })
        });
    if let (Some(sc), Some(spec)) = (newest, obj.get_mut("spec").and_then(Value::as_object_mut)) {
        spec.insert("storageClassName".into(), sc["metadata"]["name"].clone());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::resources::builtin;

    #[test]
    fn another_builtin_kind_fails_conversion_like_kube() {
        let cm = builtin("", "configmaps");
        let e = check_type(&cm, json!({"apiVersion": "v1", "kind": "Secret"})).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                400,
                "Secret in version \"v1\" cannot be handled as a ConfigMap: converting (v1.Secret) to (core.ConfigMap): unknown conversion"
            )
        );
        let e = check_type(&cm, json!({"apiVersion": "v1", "kind": "Nope"})).unwrap_err();
        assert!(
            e.message
                .starts_with("the kind of the provided object (Nope)")
        );
    }

    #[test]
    fn selectors_render_like_apimachinery() {
        let sel = json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                {"key": "aa", "operator": "DoesNotExist"}]});
        assert_eq!(selector_string(&sel), "a=1,!aa,b=2,c in (x,y)");
        assert_eq!(selector_string(&json!({"app": "x"})), "app=x");
    }
}
