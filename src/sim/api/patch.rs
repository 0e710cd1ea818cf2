//! PATCH: JSON merge patch (RFC 7386), JSON patch (RFC 6902, json-patch crate), strategic merge
//! patch (`crate::merge`, built-in kinds only, as in kube-apiserver) and server-side
//! apply (`application/apply-patch+yaml`: fieldManager, force, managedFields, conflicts, create
//! on apply). Main-resource patches never change status and vice versa.

use serde_json::{Value, json};

use super::write::{Part, check_type, commit_update, create_in, main_scope};
use super::{Request, for_version, json_response};
use crate::sim::error::{ApiError, Cause};
use crate::sim::managed::{self, Scope, Writer};
use crate::sim::schema;
use crate::sim::server::Shared;

/// The patch flavours kube-apiserver accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PatchType {
    Merge,
    Json,
    Strategic,
    Apply,
}

fn patch_type(content_type: &str) -> Result<PatchType, ApiError> {
    let base = content_type.split(';').next().unwrap_or("").trim();
    match base {
        "application/merge-patch+json" => Ok(PatchType::Merge),
        "application/json-patch+json" => Ok(PatchType::Json),
        "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
        "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// PATCH one object (or its status).
pub fn patch(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let ptype = patch_type(&req.content_type)?;
    let dry = req.dry_run()?;
    let name = req.name.as_deref().unwrap_or("").to_string();
    let part = if req.sub.as_deref() == Some("status") {
        Part::Status
    } else {
        Part::Main
    };
    if ptype == PatchType::Apply {
        return apply(shared, req, &name, part, dry);
    }
    if req.query.contains_key("force") {
        return Err(ApiError::bad_request(
            "force is not allowed for patch types other than apply",
        ));
    }
    let body = req.body_json()?;
    let mut st = shared.store.lock();
    let old = st
        .get(&req.gr, req.ns(), &name)
        .ok_or_else(|| ApiError::not_found(&req.kind.group, &req.kind.plural, &name))?;
    let mut doc = for_version(&req.kind, &old);
    match ptype {
        PatchType::Merge | PatchType::Strategic => {
            if !body.is_object() {
                return Err(ApiError::bad_request(format!(
                    "error decoding patch: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    go_json_type(&body)
                )));
            }
            if ptype == PatchType::Strategic {
                doc = strategic(&req.kind, &doc, &body)?;
            } else {
                json_patch::merge(&mut doc, &body);
            }
        }
        PatchType::Json => {
            if !body.is_array() {
                return Err(ApiError::bad_request(format!(
                    "error decoding patch: json: cannot unmarshal {} into Go value of type []handlers.jsonPatchOp",
                    go_json_type(&body)
                )));
            }
            let ops: json_patch::Patch = serde_json::from_value(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            // kube-apiserver answers a failed operation (`test`, a missing path) with a bare 422
            // (`NewGenericServerResponse`): the reason of the failure is not in the response.
            json_patch::patch(&mut doc, &ops).map_err(|_| ApiError::rejected())?;
        }
        PatchType::Apply => {}
    }
    let mut doc = check_type(&req.kind, doc)?;
    omit_empty_metadata(&mut doc);
    let patched_name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if patched_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({patched_name}) does not match the name on the URL ({name})"
        )));
    }
    // A resourceVersion in the patch is an optimistic-concurrency precondition.
    let rv = doc
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let old_rv = old
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !rv.is_empty() && rv != old_rv {
        return Err(ApiError::conflict(
            &req.kind.group,
            &req.kind.plural,
            &name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let manager = req.field_manager();
    let admitted = schema::admit_request(&st, req, doc, Some(&old))?;
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

/// Drops the empty `metadata` maps and lists (`annotations: {}`, `labels: {}`, `finalizers: []`,
/// `ownerReferences: []`), as kube-apiserver's round trip through the typed `ObjectMeta`
/// (`omitempty`) does for every kind. A client-side-apply patch sends `annotations: {}`.
pub fn omit_empty_metadata(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["annotations", "labels", "finalizers", "ownerReferences"] {
            let empty = match meta.get(k) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                meta.remove(k);
            }
        }
    }
}

/// The JSON type name Go's `encoding/json` reports in an unmarshal error.
fn go_json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Strategic merge patch with the built-in merge keys (`crate::merge`). Like kube-apiserver,
/// custom resources do not support it (415).
fn strategic(
    kind: &crate::sim::resources::KindInfo,
    doc: &Value,
    patch: &Value,
) -> Result<Value, ApiError> {
    if kind.custom {
        return Err(ApiError::unsupported_media_type(
            "application/strategic-merge-patch+json",
        ));
    }
    crate::merge::strategic_merge(doc, patch, &crate::merge::TypeInfo::of(doc))
        .map_err(|e| ApiError::bad_request(format!("invalid strategic merge patch: {e}")))
}

/// Server-side apply.
fn apply(
    shared: &Shared,
    req: &Request,
    name: &str,
    part: Part,
    dry: bool,
) -> Result<axum::response::Response, ApiError> {
    let manager = match req.query.get("fieldManager") {
        Some(m) if !m.is_empty() => m.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "PATCH, field manager must be set for apply patches",
            ));
        }
    };
    let force = req.flag("force");
    let applied = check_type(&req.kind, super::parse_body(&req.body, "yaml")?)?;
    let body_name = applied
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(m) = applied.pointer("/metadata/managedFields")
        && !m.is_null()
    {
        return Err(ApiError::invalid(
            &req.kind.kind,
            &req.kind.group,
            name,
            vec![Cause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: cannot set managedFields in an apply configuration".into(),
                field: "metadata.managedFields".into(),
            }],
        ));
    }
    let now = shared.config.clock.now_rfc3339();
    let api_version = req.kind.api_version();
    let w = Writer {
        manager: &manager,
        api_version: &api_version,
        time: &now,
        subresource: (part == Part::Status).then_some("status"),
    };
    let scope = if part == Part::Status {
        Scope::Status
    } else {
        main_scope(&req.kind)
    };
    let mut st = shared.store.lock();
    let mut typed = applied.clone();
    if req.kind.namespaced {
        typed["metadata"]["namespace"] = json!(req.ns());
    }
    schema::check_apply(&req.kind, schema::crd_of(&st, &req.kind).as_deref(), &typed)?;
    let old = st.get(&req.gr, req.ns(), name);
    match old {
        None => {
            if part == Part::Status {
                return Err(ApiError::not_found(&req.kind.group, &req.kind.plural, name));
            }
            let mut base = json!({"apiVersion": api_version, "kind": req.kind.kind, "metadata": {"name": name}});
            if req.kind.namespaced {
                base["metadata"]["namespace"] = json!(req.ns());
            }
            let mut merged = managed::apply(&req.kind, None, base, &applied, &w, force, scope)?;
            omit_empty_metadata(&mut merged);
            let merged = schema::admit_request(&st, req, merged, None)?.object;
            let obj = create_in(
                &mut st,
                shared,
                &req.kind,
                req.ns(),
                merged,
                &manager,
                true,
                dry,
            )?;
            Ok(json_response(201, &for_version(&req.kind, &obj)))
        }
        Some(old) => {
            // As for other patches, a resourceVersion in the applied configuration is an
            // optimistic-concurrency precondition (kube-apiserver stores the patched object
            // with it, and the store refuses a stale one).
            let rv = applied
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !rv.is_empty()
                && Some(rv)
                    != old
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
            {
                return Err(ApiError::conflict(
                    &req.kind.group,
                    &req.kind.plural,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
            let live = for_version(&req.kind, &old);
            let mut merged = managed::apply(
                &req.kind,
                Some(&live),
                live.clone(),
                &applied,
                &w,
                force,
                scope,
            )?;
            omit_empty_metadata(&mut merged);
            let merged = schema::admit_request(&st, req, merged, Some(&old))?.object;
            let obj = commit_update(
                &mut st, shared, &req.kind, &old, merged, part, &manager, true, dry,
            )?;
            Ok(json_response(200, &for_version(&req.kind, &obj)))
        }
    }
}
