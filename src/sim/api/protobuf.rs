//! Kubernetes' protobuf wire format (`application/vnd.kubernetes.protobuf`), for the kinds kubectl
//! sends it for. The envelope is the magic `k8s\0` and a `runtime.Unknown` (typeMeta, raw), `raw`
//! being the object as k8s' `generated.proto` describes it. No crate ships those descriptors
//! (k8s-openapi has none, GitHub is not reachable), so a small hand-written schema table below
//! maps field numbers to JSON names for the kinds kubectl's generators and `kubectl auth` send.
//! A field the table lacks fails loudly (400) unless it carries only a zero value, which gogo's
//! generated marshallers emit for every non-pointer field.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};
use std::time::{Duration, UNIX_EPOCH};

/// The protobuf media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\0";

/// A protobuf body the simulator cannot translate.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// Truncated or malformed wire data.
    #[error("protobuf: malformed body: {0}")]
    Malformed(&'static str),
    /// A kind or field the schema table does not cover.
    #[error("protobuf: {0} is not supported by the simulator (send JSON instead)")]
    Unsupported(String),
}

/// How a field's value maps to JSON.
#[derive(Clone, Copy, Debug)]
enum T {
    Str,
    /// int32/int64 kept when present (pointer fields: present means set).
    Int,
    /// int kept only when non-zero (non-pointer `omitempty`).
    IntZ,
    Bool,
    BoolZ,
    /// bytes as base64 (Secret data).
    Bytes,
    Msg(&'static str),
    MapStr,
    MapBytes,
    MapQty,
    /// metav1.Time: `{seconds, nanos}` <-> RFC3339 seconds.
    Time,
    /// resource.Quantity: `{string}` <-> string.
    Qty,
    /// intstr.IntOrString: `{type, intVal, strVal}` <-> number or string.
    IntOrStr,
    /// FieldsV1 / RawExtension: JSON bytes.
    RawJson,
}

/// One field: number, JSON name, type, repeated.
type F = (u32, &'static str, T, bool);

/// The schema table (field numbers from k8s.io/api and apimachinery `generated.proto`).
fn fields(msg: &str) -> Option<&'static [F]> {
    use T::*;
    Some(match msg {
        "TypeMeta" => &[(1, "apiVersion", Str, false), (2, "kind", Str, false)],
        "ObjectMeta" => &[
            (1, "name", Str, false),
            (2, "generateName", Str, false),
            (3, "namespace", Str, false),
            (4, "selfLink", Str, false),
            (5, "uid", Str, false),
            (6, "resourceVersion", Str, false),
            (7, "generation", IntZ, false),
            (8, "creationTimestamp", Time, false),
            (9, "deletionTimestamp", Time, false),
            (10, "deletionGracePeriodSeconds", Int, false),
            (11, "labels", MapStr, false),
            (12, "annotations", MapStr, false),
            (13, "ownerReferences", Msg("OwnerReference"), true),
            (14, "finalizers", Str, true),
            (17, "managedFields", Msg("ManagedFieldsEntry"), true),
        ],
        "OwnerReference" => &[
            (1, "kind", Str, false),
            (3, "name", Str, false),
            (4, "uid", Str, false),
            (5, "apiVersion", Str, false),
            (6, "controller", Bool, false),
            (7, "blockOwnerDeletion", Bool, false),
        ],
        "ManagedFieldsEntry" => &[
            (1, "manager", Str, false),
            (2, "operation", Str, false),
            (3, "apiVersion", Str, false),
            (4, "time", Time, false),
            (6, "fieldsType", Str, false),
            (7, "fieldsV1", RawJson, false),
            (8, "subresource", Str, false),
        ],
        "LabelSelector" => &[
            (1, "matchLabels", MapStr, false),
            (2, "matchExpressions", Msg("LabelSelectorRequirement"), true),
        ],
        "LabelSelectorRequirement" => &[
            (1, "key", Str, false),
            (2, "operator", Str, false),
            (3, "values", Str, true),
        ],
        "Namespace" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "spec", Msg("NamespaceSpec"), false),
            (3, "status", Msg("NamespaceStatus"), false),
        ],
        "NamespaceSpec" => &[(1, "finalizers", Str, true)],
        "NamespaceStatus" => &[(1, "phase", Str, false)],
        "ConfigMap" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "data", MapStr, false),
            (3, "binaryData", MapBytes, false),
            (4, "immutable", Bool, false),
        ],
        "Secret" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "data", MapBytes, false),
            (3, "type", Str, false),
            (4, "stringData", MapStr, false),
            (5, "immutable", Bool, false),
        ],
        "Deployment" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "spec", Msg("DeploymentSpec"), false),
            (3, "status", Msg("Empty"), false),
        ],
        "DeploymentSpec" => &[
            (1, "replicas", Int, false),
            (2, "selector", Msg("LabelSelector"), false),
            (3, "template", Msg("PodTemplateSpec"), false),
            (4, "strategy", Msg("DeploymentStrategy"), false),
            (5, "minReadySeconds", IntZ, false),
            (6, "revisionHistoryLimit", Int, false),
            (7, "paused", BoolZ, false),
            (9, "progressDeadlineSeconds", Int, false),
        ],
        "DeploymentStrategy" => &[
            (1, "type", Str, false),
            (2, "rollingUpdate", Msg("RollingUpdateDeployment"), false),
        ],
        "RollingUpdateDeployment" => &[
            (1, "maxUnavailable", IntOrStr, false),
            (2, "maxSurge", IntOrStr, false),
        ],
        "Job" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "spec", Msg("JobSpec"), false),
            (3, "status", Msg("Empty"), false),
        ],
        "JobSpec" => &[
            (1, "parallelism", Int, false),
            (2, "completions", Int, false),
            (3, "activeDeadlineSeconds", Int, false),
            (4, "selector", Msg("LabelSelector"), false),
            (5, "manualSelector", Bool, false),
            (6, "template", Msg("PodTemplateSpec"), false),
            (7, "backoffLimit", Int, false),
            (8, "ttlSecondsAfterFinished", Int, false),
            (9, "completionMode", Str, false),
            (10, "suspend", Bool, false),
        ],
        "PodTemplateSpec" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "spec", Msg("PodSpec"), false),
        ],
        "PodSpec" => &[
            (2, "containers", Msg("Container"), true),
            (3, "restartPolicy", Str, false),
            (4, "terminationGracePeriodSeconds", Int, false),
            (5, "activeDeadlineSeconds", Int, false),
            (6, "dnsPolicy", Str, false),
            (7, "nodeSelector", MapStr, false),
            (8, "serviceAccountName", Str, false),
            (9, "serviceAccount", Str, false),
            (10, "nodeName", Str, false),
            (11, "hostNetwork", BoolZ, false),
            (12, "hostPID", BoolZ, false),
            (13, "hostIPC", BoolZ, false),
            (16, "hostname", Str, false),
            (17, "subdomain", Str, false),
            (19, "schedulerName", Str, false),
            (20, "initContainers", Msg("Container"), true),
            (21, "automountServiceAccountToken", Bool, false),
        ],
        "Container" => &[
            (1, "name", Str, false),
            (2, "image", Str, false),
            (3, "command", Str, true),
            (4, "args", Str, true),
            (5, "workingDir", Str, false),
            (6, "ports", Msg("ContainerPort"), true),
            (7, "env", Msg("EnvVar"), true),
            (8, "resources", Msg("ResourceRequirements"), false),
            (13, "terminationMessagePath", Str, false),
            (14, "imagePullPolicy", Str, false),
            (16, "stdin", BoolZ, false),
            (17, "stdinOnce", BoolZ, false),
            (18, "tty", BoolZ, false),
            (20, "terminationMessagePolicy", Str, false),
        ],
        "ContainerPort" => &[
            (1, "name", Str, false),
            (2, "hostPort", IntZ, false),
            (3, "containerPort", Int, false),
            (4, "protocol", Str, false),
            (5, "hostIP", Str, false),
        ],
        "EnvVar" => &[(1, "name", Str, false), (2, "value", Str, false)],
        "ResourceRequirements" => &[(1, "limits", MapQty, false), (2, "requests", MapQty, false)],
        // Statuses kubectl sends empty on create.
        "Empty" => &[],
        "SelfSubjectAccessReview" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "spec", Msg("SelfSubjectAccessReviewSpec"), false),
            (3, "status", Msg("SubjectAccessReviewStatus"), false),
        ],
        "SelfSubjectAccessReviewSpec" => &[
            (1, "resourceAttributes", Msg("ResourceAttributes"), false),
            (
                2,
                "nonResourceAttributes",
                Msg("NonResourceAttributes"),
                false,
            ),
        ],
        "ResourceAttributes" => &[
            (1, "namespace", Str, false),
            (2, "verb", Str, false),
            (3, "group", Str, false),
            (4, "version", Str, false),
            (5, "resource", Str, false),
            (6, "subresource", Str, false),
            (7, "name", Str, false),
        ],
        "NonResourceAttributes" => &[(1, "path", Str, false), (2, "verb", Str, false)],
        "SubjectAccessReviewStatus" => &[
            (1, "allowed", Bool, false),
            (2, "reason", Str, false),
            (3, "evaluationError", Str, false),
            (4, "denied", BoolZ, false),
        ],
        "SelfSubjectRulesReview" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "spec", Msg("SelfSubjectRulesReviewSpec"), false),
            (3, "status", Msg("SubjectRulesReviewStatus"), false),
        ],
        "SelfSubjectRulesReviewSpec" => &[(1, "namespace", Str, false)],
        "SubjectRulesReviewStatus" => &[
            (1, "resourceRules", Msg("ResourceRule"), true),
            (2, "nonResourceRules", Msg("NonResourceRule"), true),
            (3, "incomplete", Bool, false),
            (4, "evaluationError", Str, false),
        ],
        "ResourceRule" => &[
            (1, "verbs", Str, true),
            (2, "apiGroups", Str, true),
            (3, "resources", Str, true),
            (4, "resourceNames", Str, true),
        ],
        "NonResourceRule" => &[(1, "verbs", Str, true), (2, "nonResourceURLs", Str, true)],
        "SelfSubjectReview" => &[
            (1, "metadata", Msg("ObjectMeta"), false),
            (2, "status", Msg("SelfSubjectReviewStatus"), false),
        ],
        "SelfSubjectReviewStatus" => &[(1, "userInfo", Msg("UserInfo"), false)],
        "UserInfo" => &[
            (1, "username", Str, false),
            (2, "uid", Str, false),
            (3, "groups", Str, true),
        ],
        _ => return None,
    })
}

/// Whether the table covers a top-level kind.
pub fn supports(kind: &str) -> bool {
    kind != "Empty" && fields(kind).is_some() && !kind.ends_with("Meta")
}

// ---- content negotiation ----

/// The response encoding `Accept` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// JSON (also the fallback when a kind has no protobuf schema here).
    Json,
    /// YAML.
    Yaml,
    /// Protobuf.
    Protobuf,
}

/// The first media type of `Accept` this server produces, in the client's order (q-values are
/// not weighed); `None` when there is none (406). Custom resources have no protobuf form.
pub fn negotiate(accept: &str, custom: bool) -> Option<Output> {
    if accept.trim().is_empty() {
        return Some(Output::Json);
    }
    accept
        .split(',')
        .find_map(|part| match part.split(';').next().unwrap_or("").trim() {
            "application/json" | "*/*" | "application/*" | "*" => Some(Output::Json),
            "application/yaml" => Some(Output::Yaml),
            MEDIA_TYPE if !custom => Some(Output::Protobuf),
            _ => None,
        })
}

/// Re-encodes a JSON response as `out` asks. Responses that are not plain JSON (streams, logs,
/// Tables for protobuf) and kinds outside the schema table stay JSON, which client-go decodes
/// by the response's `Content-Type`.
pub async fn render(out: Output, resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    if out == Output::Json || !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let encoded = match out {
        Output::Yaml => serde_saphyr::to_string(&crate::sim::managed::sorted_keys(&v))
            .ok()
            .map(|y| (y.into_bytes(), "application/yaml")),
        Output::Protobuf => v
            .get("kind")
            .and_then(Value::as_str)
            .and_then(|k| encode(k, &v).ok())
            .map(|b| (b, MEDIA_TYPE)),
        Output::Json => None,
    };
    match encoded {
        Some((b, ct)) => {
            parts
                .headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(b))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

// ---- wire reading ----

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ProtoError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf
            .get(*pos)
            .ok_or(ProtoError::Malformed("truncated varint"))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(ProtoError::Malformed("varint too long"))
}

fn read_fields(buf: &[u8]) -> Result<Vec<(u32, Wire<'_>)>, ProtoError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let num = u32::try_from(key >> 3).map_err(|_| ProtoError::Malformed("field number"))?;
        let w = match key & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?)
                    .map_err(|_| ProtoError::Malformed("length"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or(ProtoError::Malformed("truncated field"))?;
                let b = &buf[pos..end];
                pos = end;
                Wire::Bytes(b)
            }
            _ => return Err(ProtoError::Malformed("unexpected wire type")),
        };
        out.push((num, w));
    }
    Ok(out)
}

fn bytes_of<'a>(w: &Wire<'a>) -> Result<&'a [u8], ProtoError> {
    match w {
        Wire::Bytes(b) => Ok(b),
        Wire::Varint(_) => Err(ProtoError::Malformed("expected length-delimited field")),
    }
}

fn string_of(w: &Wire<'_>) -> Result<String, ProtoError> {
    String::from_utf8(bytes_of(w)?.to_vec()).map_err(|_| ProtoError::Malformed("invalid UTF-8"))
}

fn varint_of(w: &Wire<'_>) -> Result<u64, ProtoError> {
    match w {
        Wire::Varint(v) => Ok(*v),
        Wire::Bytes(_) => Err(ProtoError::Malformed("expected varint field")),
    }
}

// ---- decoding ----

/// Decodes a `k8s\0`-prefixed body into the JSON object the same request would carry as JSON.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or(ProtoError::Malformed("missing k8s protobuf magic"))?;
    let mut type_meta = Map::new();
    let mut raw: &[u8] = &[];
    for (num, w) in read_fields(rest)? {
        match num {
            1 => type_meta = decode_msg("TypeMeta", bytes_of(&w)?)?,
            2 => raw = bytes_of(&w)?,
            // contentEncoding/contentType: always empty from client-go.
            _ => {}
        }
    }
    let kind = type_meta
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !supports(&kind) {
        return Err(ProtoError::Unsupported(format!("kind {kind:?}")));
    }
    let mut out = type_meta;
    out.extend(decode_msg(&kind, raw)?);
    Ok(Value::Object(out))
}

fn decode_msg(msg: &str, buf: &[u8]) -> Result<Map<String, Value>, ProtoError> {
    let schema = fields(msg).ok_or_else(|| ProtoError::Unsupported(format!("message {msg}")))?;
    let mut out = Map::new();
    for (num, w) in read_fields(buf)? {
        let Some(&(_, name, t, rep)) = schema.iter().find(|fd| fd.0 == num) else {
            // gogo emits every non-pointer field, zero or not: those carry nothing.
            let zero = match &w {
                Wire::Varint(v) => *v == 0,
                Wire::Bytes(b) => b.is_empty(),
            };
            if zero {
                continue;
            }
            return Err(ProtoError::Unsupported(format!("field {num} of {msg}")));
        };
        let v = decode_value(t, &w)?;
        if rep {
            if let Value::Array(a) = out.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
                a.push(v);
            }
        } else if let (Value::Object(m), Some(Value::Object(old))) = (&v, out.get_mut(name)) {
            // Map entries arrive one field occurrence each.
            old.extend(m.clone());
        } else if !is_omitted(t, &v) {
            out.insert(name.to_string(), v);
        }
    }
    Ok(out)
}

/// Zero values JSON's `omitempty` would not have sent.
fn is_omitted(t: T, v: &Value) -> bool {
    match (t, v) {
        (T::Str, Value::String(s)) => s.is_empty(),
        (T::IntZ, Value::Number(n)) => n.as_i64() == Some(0),
        (T::BoolZ, Value::Bool(b)) => !b,
        (T::Time, v) => v.is_null(),
        _ => false,
    }
}

fn map_entry(buf: &[u8], val: T) -> Result<Value, ProtoError> {
    let mut k = String::new();
    let mut v = Value::String(String::new());
    for (num, w) in read_fields(buf)? {
        match num {
            1 => k = string_of(&w)?,
            2 => v = decode_value(val, &w)?,
            _ => {}
        }
    }
    let mut m = Map::new();
    m.insert(k, v);
    Ok(Value::Object(m))
}

fn decode_value(t: T, w: &Wire<'_>) -> Result<Value, ProtoError> {
    Ok(match t {
        T::Str => Value::String(string_of(w)?),
        // int32 negatives are sign-extended to 64 bits on the wire.
        #[allow(clippy::cast_possible_wrap)]
        T::Int | T::IntZ => Value::from(varint_of(w)? as i64),
        T::Bool | T::BoolZ => Value::Bool(varint_of(w)? != 0),
        T::Bytes => Value::String(B64.encode(bytes_of(w)?)),
        T::Msg(m) => Value::Object(decode_msg(m, bytes_of(w)?)?),
        T::MapStr => map_entry(bytes_of(w)?, T::Str)?,
        T::MapBytes => map_entry(bytes_of(w)?, T::Bytes)?,
        T::MapQty => map_entry(bytes_of(w)?, T::Qty)?,
        T::Time => {
            let (mut secs, mut nanos) = (0i64, 0i64);
            for (num, w) in read_fields(bytes_of(w)?)? {
                #[allow(clippy::cast_possible_wrap)]
                match num {
                    1 => secs = varint_of(&w)? as i64,
                    2 => nanos = varint_of(&w)? as i64,
                    _ => {}
                }
            }
            if secs == 0 && nanos == 0 {
                Value::Null
            } else {
                let t = u64::try_from(secs)
                    .map(|s| UNIX_EPOCH + Duration::from_secs(s))
                    .map_err(|_| ProtoError::Unsupported("a time before 1970".into()))?;
                Value::String(humantime::format_rfc3339_seconds(t).to_string())
            }
        }
        T::Qty => {
            let mut s = String::new();
            for (num, w) in read_fields(bytes_of(w)?)? {
                if num == 1 {
                    s = string_of(&w)?;
                }
            }
            Value::String(s)
        }
        T::IntOrStr => {
            let (mut ty, mut i, mut s) = (0u64, 0i64, String::new());
            for (num, w) in read_fields(bytes_of(w)?)? {
                #[allow(clippy::cast_possible_wrap)]
                match num {
                    1 => ty = varint_of(&w)?,
                    2 => i = varint_of(&w)? as i64,
                    3 => s = string_of(&w)?,
                    _ => {}
                }
            }
            if ty == 1 {
                Value::String(s)
            } else {
                Value::from(i)
            }
        }
        T::RawJson => {
            let mut raw: &[u8] = &[];
            for (num, w) in read_fields(bytes_of(w)?)? {
                if num == 1 {
                    raw = bytes_of(&w)?;
                }
            }
            if raw.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(raw)
                    .map_err(|_| ProtoError::Unsupported("non-JSON raw field".into()))?
            }
        }
    })
}

// ---- encoding ----

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, num: u32, b: &[u8]) {
    put_varint(out, (u64::from(num) << 3) | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_int(out: &mut Vec<u8>, num: u32, v: u64) {
    put_varint(out, u64::from(num) << 3);
    put_varint(out, v);
}

/// Encodes a JSON object of `kind` (with `apiVersion`) as a `k8s\0`-prefixed body.
pub fn encode(kind: &str, obj: &Value) -> Result<Vec<u8>, ProtoError> {
    if !supports(kind) {
        return Err(ProtoError::Unsupported(format!("kind {kind:?}")));
    }
    let mut tm = Vec::new();
    for (n, key) in [(1, "apiVersion"), (2, "kind")] {
        let s = obj.get(key).and_then(Value::as_str).unwrap_or_default();
        put_bytes(&mut tm, n, s.as_bytes());
    }
    let raw = encode_msg(kind, obj)?;
    let mut out = MAGIC.to_vec();
    put_bytes(&mut out, 1, &tm);
    put_bytes(&mut out, 2, &raw);
    put_bytes(&mut out, 3, b"");
    put_bytes(&mut out, 4, b"");
    Ok(out)
}

fn encode_msg(msg: &str, obj: &Value) -> Result<Vec<u8>, ProtoError> {
    let schema = fields(msg).ok_or_else(|| ProtoError::Unsupported(format!("message {msg}")))?;
    let m = obj
        .as_object()
        .ok_or_else(|| ProtoError::Unsupported(format!("non-object {msg}")))?;
    let top = supports(msg);
    for k in m.keys() {
        let typed = top && (k == "kind" || k == "apiVersion");
        if !typed && !schema.iter().any(|fd| fd.1 == k) {
            return Err(ProtoError::Unsupported(format!("field {k} of {msg}")));
        }
    }
    let mut out = Vec::new();
    for &(num, name, t, rep) in schema {
        let Some(v) = m.get(name) else { continue };
        if v.is_null() {
            continue;
        }
        if rep {
            for item in v.as_array().into_iter().flatten() {
                encode_value(&mut out, num, t, item)?;
            }
        } else {
            encode_value(&mut out, num, t, v)?;
        }
    }
    Ok(out)
}

fn bad(what: &str) -> ProtoError {
    ProtoError::Unsupported(format!("a JSON value for {what}"))
}

fn encode_value(out: &mut Vec<u8>, num: u32, t: T, v: &Value) -> Result<(), ProtoError> {
    match t {
        T::Str => put_bytes(
            out,
            num,
            v.as_str().ok_or_else(|| bad("a string"))?.as_bytes(),
        ),
        #[allow(clippy::cast_sign_loss)]
        T::Int | T::IntZ => put_int(out, num, v.as_i64().ok_or_else(|| bad("an int"))? as u64),
        T::Bool | T::BoolZ => {
            put_int(
                out,
                num,
                u64::from(v.as_bool().ok_or_else(|| bad("a bool"))?),
            );
        }
        T::Bytes => {
            let b = B64
                .decode(v.as_str().ok_or_else(|| bad("bytes"))?)
                .map_err(|_| bad("base64 bytes"))?;
            put_bytes(out, num, &b);
        }
        T::Msg(m) => put_bytes(out, num, &encode_msg(m, v)?),
        T::MapStr | T::MapBytes | T::MapQty => {
            let val_t = match t {
                T::MapBytes => T::Bytes,
                T::MapQty => T::Qty,
                _ => T::Str,
            };
            let m = v.as_object().ok_or_else(|| bad("a map"))?;
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let mut e = Vec::new();
                put_bytes(&mut e, 1, k.as_bytes());
                encode_value(&mut e, 2, val_t, &m[k])?;
                put_bytes(out, num, &e);
            }
        }
        T::Time => {
            let s = v.as_str().ok_or_else(|| bad("a time"))?;
            let t = humantime::parse_rfc3339_weak(s).map_err(|_| bad("a time"))?;
            let secs = t.duration_since(UNIX_EPOCH).map_err(|_| bad("a time"))?;
            let mut e = Vec::new();
            put_int(&mut e, 1, secs.as_secs());
            put_int(&mut e, 2, 0);
            put_bytes(out, num, &e);
        }
        T::Qty => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(bad("a quantity")),
            };
            let mut e = Vec::new();
            put_bytes(&mut e, 1, s.as_bytes());
            put_bytes(out, num, &e);
        }
        T::IntOrStr => {
            let mut e = Vec::new();
            match v {
                #[allow(clippy::cast_sign_loss)]
                Value::Number(n) => {
                    put_int(&mut e, 1, 0);
                    put_int(&mut e, 2, n.as_i64().ok_or_else(|| bad("an int"))? as u64);
                    put_bytes(&mut e, 3, b"");
                }
                Value::String(s) => {
                    put_int(&mut e, 1, 1);
                    put_int(&mut e, 2, 0);
                    put_bytes(&mut e, 3, s.as_bytes());
                }
                _ => return Err(bad("an int or string")),
            }
            put_bytes(out, num, &e);
        }
        T::RawJson => {
            let mut e = Vec::new();
            put_bytes(&mut e, 1, v.to_string().as_bytes());
            put_bytes(out, num, &e);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_map_round_trips() {
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "labels": {"b": "2", "a": "1"},
                "creationTimestamp": "2026-12-03T16:00:00Z",
                "managedFields": [{"manager": "kubectl", "operation": "Update",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}]},
            "data": {"a": "1", "b": "two"}
        });
        let bytes = encode("ConfigMap", &cm).unwrap();
        assert!(bytes.starts_with(b"k8s\0"));
        assert_eq!(decode(&bytes).unwrap(), cm);
    }

    #[test]
    fn secret_bytes_are_base64_and_zero_fields_are_dropped() {
        // As gogo marshals it: empty non-pointer strings are on the wire.
        let mut meta = Vec::new();
        put_bytes(&mut meta, 1, b"s1");
        put_bytes(&mut meta, 2, b"");
        put_int(&mut meta, 7, 0);
        put_bytes(&mut meta, 8, b"");
        put_bytes(&mut meta, 15, b""); // a field the table lacks, zero
        let mut entry = Vec::new();
        put_bytes(&mut entry, 1, b"k");
        put_bytes(&mut entry, 2, b"v");
        let mut raw = Vec::new();
        put_bytes(&mut raw, 1, &meta);
        put_bytes(&mut raw, 2, &entry);
        put_bytes(&mut raw, 3, b"Opaque");
        let mut tm = Vec::new();
        put_bytes(&mut tm, 1, b"v1");
        put_bytes(&mut tm, 2, b"Secret");
        let mut body = MAGIC.to_vec();
        put_bytes(&mut body, 1, &tm);
        put_bytes(&mut body, 2, &raw);
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"},
                   "data": {"k": "dg=="}, "type": "Opaque"})
        );
    }

    #[test]
    fn unknown_non_zero_fields_and_kinds_fail() {
        let mut raw = Vec::new();
        put_bytes(&mut raw, 9, b"x");
        let mut tm = Vec::new();
        put_bytes(&mut tm, 2, b"ConfigMap");
        let mut body = MAGIC.to_vec();
        put_bytes(&mut body, 1, &tm);
        put_bytes(&mut body, 2, &raw);
        assert!(matches!(decode(&body), Err(ProtoError::Unsupported(_))));
        assert!(decode(b"{}").is_err());
        assert!(encode("Widget", &json!({})).is_err());
    }

    #[test]
    fn int_or_string_and_negative_ints() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 0, "revisionHistoryLimit": -1,
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}}});
        assert_eq!(decode(&encode("Deployment", &d).unwrap()).unwrap(), d);
    }
}
