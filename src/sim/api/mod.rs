//! The resource API: one parsed `Request` per call under `/api/v1/...` or `/apis/{g}/{v}/...`,
//! dispatched by verb to reads, writes, patches, watches, logs and reviews. Everything here
//! speaks kube-apiserver's wire format; routing, auth and faults live in `server.rs`.

pub mod delete;
pub mod discovery;
pub mod gojson;
pub mod ipalloc;
pub mod jsonpath;
pub mod log;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod read;
pub mod review;
pub mod strategy;
pub mod table;
pub mod watch;
pub mod write;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::error::ApiError;
use super::resources::KindInfo;
use super::server::Shared;
use super::store::GroupResource;

/// One resource request.
#[derive(Debug)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// The served kind (the requested version).
    pub kind: Arc<KindInfo>,
    /// Storage key.
    pub gr: GroupResource,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Object name from the path.
    pub name: Option<String>,
    /// Subresource (`status`, `log`, `scale`).
    pub sub: Option<String>,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// `Content-Type`.
    pub content_type: String,
    /// `Accept`.
    pub accept: String,
    /// `User-Agent`.
    pub user_agent: String,
    /// Who the request acts as (the token's user or the one it impersonates).
    pub identity: crate::sim::auth::Identity,
    /// Body.
    pub body: Bytes,
}

impl Request {
    /// The Kubernetes verb of this request (as RBAC names it).
    pub fn verb(&self) -> &'static str {
        let watch = self.flag("watch");
        match (&self.method, self.name.is_some()) {
            (&Method::GET, _) if watch => "watch",
            (&Method::GET, true) => "get",
            (&Method::GET, false) => "list",
            (&Method::POST, _) => "create",
            (&Method::PUT, _) => "update",
            (&Method::PATCH, _) => "patch",
            (&Method::DELETE, true) => "delete",
            (&Method::DELETE, false) => "deletecollection",
            _ => "unknown",
        }
    }

    /// A boolean query parameter (`true`/`1`).
    pub fn flag(&self, key: &str) -> bool {
        self.query.get(key).is_some_and(|v| v == "true" || v == "1")
    }

    /// `dryRun=All` on a write.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.query.get("dryRun").map(String::as_str) {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}; supported values: [\"All\"]"
            ))),
        }
    }

    /// The field manager: the `fieldManager` parameter, else the User-Agent's product name (as
    /// kube-apiserver derives it).
    pub fn field_manager(&self) -> String {
        match self.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.clone(),
            _ => self
                .user_agent
                .split('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
                .chars()
                .take(128)
                .collect(),
        }
    }

    /// Namespace or `""`.
    pub fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    /// The parsed JSON (or YAML) body.
    pub fn body_json(&self) -> Result<Value, ApiError> {
        parse_body(&self.body, &self.content_type)
    }

    /// The object body of a create or update. A JSON body that is not JSON fails as
    /// kube-apiserver's `transformDecodeError` words it: the expected kind, Go's syntax error and
    /// the start of the body.
    pub fn object_body(&self) -> Result<Value, ApiError> {
        if is_json(&self.content_type)
            && let Some(why) = gojson::syntax_error(&self.body)
        {
            return Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {why} ({})",
                self.kind.kind,
                gojson::summarize(&self.body)
            )));
        }
        self.body_json()
    }
}

/// A JSON media type (or none, which kube-apiserver reads as JSON).
fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.is_empty() || (media.ends_with("json") && !media.contains("yaml"))
}

/// Parses a request body as JSON, or YAML when the content type says so.
pub fn parse_body(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media == protobuf::MEDIA_TYPE {
        return protobuf::decode(body).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    // Like kube-apiserver, only JSON, YAML and protobuf bodies (CBOR is off in 1.32).
    if !(media.is_empty() || media.ends_with("json") || media.contains("yaml")) {
        return Err(ApiError::unsupported_body());
    }
    if content_type.contains("yaml") {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("the request body is not valid UTF-8"))?;
        let opts = serde_saphyr::options! { legacy_octal_numbers: true };
        serde_saphyr::from_str_with_options::<Value>(text, opts)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(body).map_err(|e| {
            let why = gojson::syntax_error(body).unwrap_or_else(|| e.to_string());
            ApiError::bad_request(format!(
                "couldn't get version/kind; json parse error: {why}"
            ))
        })
    }
}

/// A JSON response.
pub fn json_response(code: u16, v: &Value) -> Response {
    let mut resp = Response::new(Body::from(v.to_string()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Sets `apiVersion`/`kind` of an object to the requested version (storage is version-agnostic,
/// like a CRD with conversion strategy `None`).
/// `kind` and `apiVersion` come first, as kube-apiserver serialises them.
pub fn for_version(kind: &KindInfo, obj: &Value) -> Value {
    let Some(m) = obj.as_object() else {
        return obj.clone();
    };
    let mut o = serde_json::Map::with_capacity(m.len() + 2);
    o.insert("kind".into(), Value::String(kind.kind.clone()));
    o.insert("apiVersion".into(), Value::String(kind.api_version()));
    for (k, v) in m {
        if k != "kind" && k != "apiVersion" {
            o.insert(k.clone(), v.clone());
        }
    }
    Value::Object(o)
}

/// An item of a list response: built-in kinds carry no `kind`/`apiVersion` in list items (the
/// list does; kube-apiserver's typed codecs leave the items' TypeMeta empty), while custom
/// resources (unstructured) keep theirs.
pub fn list_item(kind: &KindInfo, obj: &Value) -> Value {
    if kind.custom {
        return for_version(kind, obj);
    }
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.shift_remove("kind");
        m.shift_remove("apiVersion");
    }
    o
}

/// Serves one resource request.
pub async fn dispatch(shared: Arc<Shared>, req: Request) -> Result<Response, ApiError> {
    // Accept is negotiated before the request runs, as kube-apiserver does (406 before a write).
    let out =
        protobuf::negotiate(&req.accept, req.kind.custom).ok_or_else(ApiError::not_acceptable)?;
    let plain = req.verb() != "watch" && req.sub.as_deref() != Some("log");
    let resp = serve(shared, req).await?;
    Ok(if plain {
        protobuf::render(out, resp).await
    } else {
        resp
    })
}

async fn serve(shared: Arc<Shared>, req: Request) -> Result<Response, ApiError> {
    let verb = req.verb();
    let sub = req.sub.as_deref();
    // A subresource the resource does not have is an unknown path to kube-apiserver (404); one
    // it has, with a verb it does not serve, is 405.
    if sub.is_some_and(|s| !has_subresource(&req.kind, s)) {
        return Err(ApiError::no_route());
    }
    if !allowed_verb(&req.kind, verb, sub) {
        return Err(ApiError::method_not_allowed());
    }
    match (verb, sub) {
        ("get", Some("log")) => log::serve(shared, req).await,
        ("get", Some("scale")) => write::get_scale(&shared, &req),
        ("update", Some("scale")) | ("patch", Some("scale")) => write::set_scale(&shared, &req),
        ("create", Some("binding")) => write::bind(&shared, &req),
        ("get", _) => read::get(&shared, &req),
        ("list", _) => read::list(&shared, &req),
        ("watch", _) => watch::serve(shared, req),
        ("create", _) => write::create(&shared, &req),
        ("update", _) => write::update(&shared, &req),
        ("patch", _) => patch::patch(&shared, &req),
        ("delete", _) => write::delete(&shared, &req),
        ("deletecollection", _) => write::delete_collection(&shared, &req),
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn has_subresource(kind: &KindInfo, sub: &str) -> bool {
    match sub {
        "status" => kind.status,
        "scale" => kind.scale.is_some(),
        "log" => kind.log,
        "binding" => kind.group.is_empty() && kind.plural == "pods",
        _ => false,
    }
}

fn allowed_verb(kind: &KindInfo, verb: &str, sub: Option<&str>) -> bool {
    match sub {
        None => kind.has_verb(verb),
        Some("status") => kind.status && matches!(verb, "get" | "update" | "patch"),
        Some("scale") => kind.scale.is_some() && matches!(verb, "get" | "update" | "patch"),
        Some("log") => kind.log && verb == "get",
        Some("binding") => kind.group.is_empty() && kind.plural == "pods" && verb == "create",
        Some(_) => false,
    }
}
