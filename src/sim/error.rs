//! Errors of the simulated API server: `ApiError` is a `metav1.Status` failure answered over HTTP
//! (code, reason, message and details formatted like kube-apiserver's `k8s.io/apimachinery/pkg/api/errors`);
//! `SimError` is what the Rust API (`SimServer::start`, persistence) returns to its caller.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Errors of the simulator's Rust API.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listener could not be bound.
    #[error("failed to bind the simulated API server to `{addr}`")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The kube client could not be built.
    #[error("failed to build a kube client for the simulated API server")]
    Client {
        /// The cause.
        source: kube::Error,
    },
    /// A state or kubeconfig file could not be read or written.
    #[error("failed to access `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The state file is not valid.
    #[error("the simulator state file `{path}` is not valid")]
    State {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

impl SimError {
    /// A hint for the user, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            SimError::Bind { .. } => Some("pick another address or free the port".into()),
            SimError::State { path, .. } => Some(format!(
                "delete `{}` to start the simulated cluster from scratch",
                path.display()
            )),
            _ => None,
        }
    }
}

/// One `metav1.StatusCause`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    /// `reason` (e.g. `FieldValueRequired`, `FieldManagerConflict`).
    pub reason: String,
    /// `message`.
    pub message: String,
    /// `field` (e.g. `metadata.name`).
    pub field: String,
}

/// A failed API request, rendered as a `metav1.Status` body.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `reason` (e.g. `NotFound`).
    pub reason: &'static str,
    /// `message`.
    pub message: String,
    /// `details`, if any (`name`, `group`, `kind`, `causes`, `retryAfterSeconds`).
    pub details: Option<Box<Value>>,
    /// `Retry-After` header in seconds (429, some 503).
    pub retry_after: Option<u64>,
    /// Answered as Go's `http.NotFound` (`404 page not found`, text/plain) instead of a Status.
    pub plain_text: bool,
}

/// A group + resource, printed like kube's `schema.GroupResource` (`deployments.apps`).
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
            plain_text: false,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden for a user lacking a permission (kube's RBAC message format).
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        sub: Option<&str>,
        name: Option<&str>,
        namespace: Option<&str>,
    ) -> Self {
        let res = match sub {
            Some(s) => format!("{resource}/{s}"),
            None => resource.to_string(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let reason = format!(
            "User \"{user}\" cannot {verb} resource \"{res}\" in API group \"{group}\" {scope}"
        );
        Self::forbidden_reason(group, resource, name.unwrap_or(""), &reason)
    }

    /// 403 Forbidden with a free-form reason (`<resource> "<name>" is forbidden: <reason>`).
    pub fn forbidden_reason(group: &str, resource: &str, name: &str, reason: &str) -> Self {
        let gr = qualified(group, resource);
        let message = if name.is_empty() {
            format!("{gr} is forbidden: {reason}")
        } else {
            format!("{gr} \"{name}\" is forbidden: {reason}")
        };
        Self::new(403, "Forbidden", message)
            .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    /// 404 NotFound for an object.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    /// 404 for a path that names no resource.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    /// 404 for a path no API server handler claims: kube-apiserver's last delegate is Go's
    /// `http.NotFound`, a plain-text body rather than a Status. apiextensions-apiserver delegates
    /// there for every path of a group/version/resource no (established) CRD serves.
    pub fn page_not_found() -> Self {
        let mut e = Self::new(404, "NotFound", "404 page not found");
        e.plain_text = true;
        e
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    /// 409 AlreadyExists.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    /// 409 Conflict for a stale resourceVersion or failed precondition.
    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(group, resource)
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": resource}))
    }

    /// 409 Conflict of server-side apply (`Apply failed with N conflicts: ...`).
    pub fn apply_conflict(message: String, causes: Vec<Cause>) -> Self {
        Self::new(409, "Conflict", message).with_details(json!({ "causes": causes_json(&causes) }))
    }

    /// 410 Gone/Expired (`too old resource version`, expired continue token).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type:?})"
            ),
        )
    }

    /// 415 for a request body in an encoding the server does not speak (CBOR, text).
    pub fn unsupported_body() -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )
    }

    /// 406 for an `Accept` the server cannot produce.
    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )
    }

    /// 422 Invalid with field causes; `kind` is the qualified Kind (`Deployment.apps`).
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> Self {
        let list: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let joined = if list.len() == 1 {
            list.join("")
        } else {
            format!("[{}]", list.join(", "))
        };
        let qkind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        Self::new(
            422,
            "Invalid",
            format!("{qkind} \"{name}\" is invalid: {joined}"),
        )
        .with_details(json!({
            "name": name, "group": group, "kind": kind, "causes": causes_json(&causes)
        }))
    }

    /// 422 Invalid of a patch whose result does not decode (`NewInvalid` with an empty kind and
    /// name and one `patch` cause quoting the patched document).
    pub fn invalid_patch(patched: &str, why: &str) -> Self {
        let message = format!("Invalid value: {patched:?}: {why}");
        Self::new(422, "Invalid", format!(" \"\" is invalid: patch: {message}")).with_details(
            json!({"causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]}),
        )
    }

    /// 422 Invalid without details (`NewGenericServerResponse`), as for a JSON patch that fails.
    pub fn rejected() -> Self {
        Self::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        )
    }

    /// 429 TooManyRequests with Retry-After.
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        )
        .with_details(json!({ "retryAfterSeconds": retry_after }));
        e.retry_after = Some(retry_after);
        e
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        let m = message.into();
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {m}"),
        )
        .with_details(json!({ "causes": [{ "message": m }] }))
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(retry_after: Option<u64>) -> Self {
        let mut e = Self::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        );
        e.retry_after = retry_after;
        if let Some(s) = retry_after {
            e.details = Some(Box::new(json!({ "retryAfterSeconds": s })));
        }
        e
    }

    /// The `metav1.Status` JSON body.
    pub fn status(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        // kube-apiserver's field order (`details` before `code`), and `details` fields are
        // `omitempty`: an empty group, name or kind is left out.
        if let Some(d) = &self.details {
            let mut details = (**d).clone();
            if let Some(m) = details.as_object_mut() {
                m.retain(|_, v| match v {
                    Value::String(s) => !s.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    Value::Number(n) => n.as_u64() != Some(0),
                    _ => true,
                });
            }
            v["details"] = details;
        }
        v["code"] = json!(self.code);
        v
    }
}

fn causes_json(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect(),
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if self.plain_text {
            let mut resp = (code, format!("{}\n", self.message)).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            resp.headers_mut().insert(
                header::HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            );
            return resp;
        }
        let body = self.status().to_string();
        let mut resp = (code, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_kube_format() {
        assert_eq!(
            ApiError::not_found("apps", "deployments", "web").message,
            "deployments.apps \"web\" not found"
        );
        let e = ApiError::forbidden("dev", "create", "", "pods", None, None, Some("demo"));
        assert_eq!(
            e.message,
            "pods is forbidden: User \"dev\" cannot create resource \"pods\" in API group \"\" in the namespace \"demo\""
        );
        let e = ApiError::invalid(
            "ConfigMap",
            "",
            "",
            vec![Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value: name or generateName is required".into(),
                field: "metadata.name".into(),
            }],
        );
        assert_eq!(
            e.message,
            "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required"
        );
    }
}
