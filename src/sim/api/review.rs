//! The review kinds, answered without storage: SelfSubjectAccessReview (allowed unless a
//! configured denied-permission rule matches), SelfSubjectRulesReview (cluster-admin's rules) and
//! SelfSubjectReview (the authenticated user).

use serde_json::{Value, json};

use super::{Request, json_response};
use crate::sim::error::{ApiError, Cause};
use crate::sim::server::Shared;

/// POST of a review kind.
pub fn create(
    shared: &Shared,
    req: &Request,
    mut body: Value,
) -> Result<axum::response::Response, ApiError> {
    let cfg = &shared.config;
    match req.kind.plural.as_str() {
        "selfsubjectaccessreviews" => {
            let status = if let Some(ra) = body.pointer("/spec/resourceAttributes") {
                let s = |k: &str| ra.get(k).and_then(Value::as_str).unwrap_or("");
                let verb = s("verb");
                let resource = s("resource");
                if verb.is_empty() {
                    return Err(ApiError::invalid(
                        "SelfSubjectAccessReview",
                        "authorization.k8s.io",
                        "",
                        vec![Cause {
                            reason: "FieldValueRequired".into(),
                            message: "Required value".into(),
                            field: "spec.resourceAttributes.verb".into(),
                        }],
                    ));
                }
                let sub = Some(s("subresource")).filter(|x| !x.is_empty());
                let ns = Some(s("namespace")).filter(|x| !x.is_empty());
                if shared.denies(verb, s("group"), resource, sub, ns) {
                    json!({"allowed": false})
                } else {
                    json!({"allowed": true, "reason": format!(
                        "RBAC: allowed by ClusterRoleBinding \"sim-admin\" of ClusterRole \"cluster-admin\" to User \"{}\"",
                        cfg.user
                    )})
                }
            } else if body.pointer("/spec/nonResourceAttributes").is_some() {
                json!({"allowed": true})
            } else {
                return Err(ApiError::invalid("SelfSubjectAccessReview", "authorization.k8s.io", "", vec![Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
                    field: "spec.resourceAttributes".into(),
                }]));
            };
            body["status"] = status;
        }
        // The simulated user is cluster-admin (denied rules are not listed, as RBAC has no deny).
        "selfsubjectrulesreviews" => {
            body["status"] = json!({
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": false,
            });
        }
        "selfsubjectreviews" => {
            body["status"] = json!({"userInfo": {
                "username": cfg.user,
                "uid": format!("sim-{}", cfg.user),
                "groups": cfg.groups,
            }});
        }
        _ => return Err(ApiError::method_not_allowed()),
    }
    if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("creationTimestamp".into(), Value::Null);
    }
    Ok(json_response(201, &body))
}
