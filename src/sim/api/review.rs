//! The review kinds, answered without storage for the request's identity (`crate::sim::auth`):
//! SelfSubjectAccessReview (RBAC's decision and reason), SelfSubjectRulesReview (the rules bound
//! to the user) and SelfSubjectReview (the user). Replies are laid out as kube-apiserver's:
//! kind, apiVersion, metadata (with the managed fields of the create, no creationTimestamp),
//! spec, status.

use serde_json::{Map, Value, json};

use super::{Request, json_response};
use crate::sim::auth::{self, Attributes};
use crate::sim::error::{ApiError, Cause};
use crate::sim::managed::{self, PathElem, Scope, Writer};
use crate::sim::server::Shared;

fn invalid(field: &str, value: &Value, message: &str) -> ApiError {
    // kube names the internal object's (empty) kind: `.authorization.k8s.io "" is invalid`.
    ApiError::invalid(
        "",
        "authorization.k8s.io",
        "",
        vec![Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {value}: {message}"),
            field: field.into(),
        }],
    )
}

/// POST of a review kind.
pub fn create(
    shared: &Shared,
    req: &Request,
    body: Value,
) -> Result<axum::response::Response, ApiError> {
    let id = &req.identity;
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = match req.kind.plural.as_str() {
        "selfsubjectaccessreviews" => {
            let ra = spec.get("resourceAttributes").filter(|v| !v.is_null());
            let nra = spec.get("nonResourceAttributes").filter(|v| !v.is_null());
            match (ra, nra) {
                (Some(_), Some(n)) => {
                    return Err(invalid(
                        "spec.nonResourceAttributes",
                        n,
                        "cannot be specified in combination with resourceAttributes",
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        "spec.resourceAttributes",
                        &Value::Null,
                        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                    ));
                }
                (Some(ra), None) => {
                    let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("");
                    let non_empty = |k: &str| Some(s(k)).filter(|x| !x.is_empty());
                    let attrs = Attributes {
                        verb: s("verb"),
                        group: s("group"),
                        resource: s("resource"),
                        sub: non_empty("subresource"),
                        name: non_empty("name"),
                        namespace: non_empty("namespace"),
                    };
                    let st = shared.store.lock();
                    let d = auth::authorize(&st, &shared.config, id, &attrs);
                    let mut status = json!({"allowed": d.allowed});
                    if !d.reason.is_empty() {
                        status["reason"] = json!(d.reason);
                    }
                    status
                }
                (None, Some(n)) => {
                    let s = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("");
                    let d = auth::authorize_url(&shared.store.lock(), id, s("path"), s("verb"));
                    let mut status = json!({"allowed": d.allowed});
                    if !d.reason.is_empty() {
                        status["reason"] = json!(d.reason);
                    }
                    status
                }
            }
        }
        "selfsubjectrulesreviews" => {
            let ns = spec
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty());
            auth::rules_review(&shared.store.lock(), id, ns)
        }
        "selfsubjectreviews" => json!({"userInfo": {
            "username": id.user,
            "uid": format!("sim-{}", id.user),
            "groups": id.groups,
        }}),
        _ => return Err(ApiError::method_not_allowed()),
    };
    let mut out = Map::new();
    out.insert("kind".into(), json!(req.kind.kind));
    out.insert("apiVersion".into(), json!(req.kind.api_version()));
    out.insert("metadata".into(), json!({}));
    if body.get("spec").is_some() {
        out.insert("spec".into(), spec.clone());
    }
    out.insert("status".into(), status);
    let mut out = Value::Object(out);
    // The create's managed fields, as kube's field manager records them for a review too.
    let manager = req.field_manager();
    let api_version = req.kind.api_version();
    let now = shared.config.clock.now_rfc3339();
    let w = Writer {
        manager: &manager,
        api_version: &api_version,
        time: &now,
        subresource: None,
    };
    let mut tracked = body.clone();
    managed::track_update(
        &req.kind,
        None,
        &mut tracked,
        &w,
        Scope::Main {
            exclude_status: true,
        },
    );
    // The attributes are pointer structs in Go, absent from an empty review: like every field
    // a create adds, they own their own path (the `"."` of FieldsV1).
    let mut entries = managed::read_entries(&tracked);
    for e in &mut entries {
        for field in ["resourceAttributes", "nonResourceAttributes"] {
            if spec.get(field).is_some_and(Value::is_object) {
                e.set.insert(vec![
                    PathElem::Field("spec".into()),
                    PathElem::Field(field.into()),
                ]);
            }
        }
    }
    managed::write_entries(&mut tracked, &entries);
    if let Some(m) = tracked.pointer("/metadata/managedFields") {
        out["metadata"]["managedFields"] = m.clone();
    }
    Ok(json_response(201, &out))
}
