//! Per-kind write strategies of kube-apiserver's registry that are not expressed by the OpenAPI
//! schemas (those are `crate::sim::schema`): what the server changes on the way in (a Secret's
//! `stringData` folded into `data`, its default type), the object-metadata checks every built-in
//! kind gets (label and annotation keys, label values, finalizer names), the kind-specific
//! validations the demo's objects meet (ConfigMap and Secret keys, Secret types, Event namespace,
//! Lease durations, immutable Job fields), and when `metadata.generation` moves. Messages are
//! kube-apiserver's, word for word (`k8s.io/apimachinery/pkg/util/validation`,
//! `pkg/apis/core/validation`).

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regex::Regex;
use serde_json::{Map, Value, json};

use crate::sim::error::{ApiError, Cause};
use crate::sim::resources::KindInfo;

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static QUALIFIED_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"));
static LABEL_VALUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"));
static DNS1123_SUBDOMAIN: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));
static CONFIG_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"^[-._a-zA-Z0-9]+$"));

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {}: {detail}", go_value(value)),
        field: field.into(),
    }
}

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired".into(),
        message: "Required value".into(),
        field: field.into(),
    }
}

/// A value as `field.Invalid` prints it (`%q` for strings, `%v` otherwise).
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/// `IsQualifiedName`: `[prefix/]name`, the prefix a DNS-1123 subdomain.
fn qualified_name_errors(key: &str) -> Vec<String> {
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return vec!["prefix part must be non-empty".into()];
            }
            if prefix.len() > 253 || !matches(&DNS1123_SUBDOMAIN, prefix) {
                return vec!["prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into()];
            }
            name
        }
        _ => {
            return vec!["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".into()];
        }
    };
    if name.is_empty() {
        return vec!["name part must be non-empty".into()];
    }
    let mut errs = vec![];
    if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".into());
    }
    if !matches(&QUALIFIED_NAME, name) {
        errs.push(QUALIFIED_NAME_MSG.into());
    }
    errs
}

fn string_map<'a>(obj: &'a Value, pointer: &str) -> Vec<(&'a String, &'a Value)> {
    obj.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// `ValidateObjectMeta`'s label, annotation and finalizer rules.
fn metadata_causes(kind: &KindInfo, obj: &Value) -> Vec<Cause> {
    let mut causes = vec![];
    for (k, v) in string_map(obj, "/metadata/labels") {
        for e in qualified_name_errors(k) {
            causes.push(invalid("metadata.labels", &json!(k), &e));
        }
        let value = v.as_str().unwrap_or("");
        if value.len() > 63 {
            causes.push(invalid(
                "metadata.labels",
                v,
                "must be no more than 63 characters",
            ));
        }
        if !matches(&LABEL_VALUE, value) {
            causes.push(invalid("metadata.labels", v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
        }
    }
    for (k, _) in string_map(obj, "/metadata/annotations") {
        for e in qualified_name_errors(&k.to_lowercase()) {
            causes.push(invalid("metadata.annotations", &json!(k), &e));
        }
    }
    let finalizers: Vec<&str> = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for f in &finalizers {
        for e in qualified_name_errors(f) {
            causes.push(invalid("metadata.finalizers", &json!(f), &e));
        }
    }
    if !kind.custom {
        for (i, f) in finalizers.iter().enumerate() {
            if !f.contains('/') && !matches!(*f, "kubernetes" | "orphan" | "foregroundDeletion") {
                causes.push(invalid(
                    &format!("metadata.finalizers[{i}]"),
                    &json!(f),
                    "name is neither a standard finalizer name nor is it fully qualified",
                ));
            }
        }
    }
    causes
}

/// Keys of a ConfigMap's or Secret's `data` (`IsConfigMapKey`).
fn key_causes(obj: &Value, fields: &[&str]) -> Vec<Cause> {
    let mut causes = vec![];
    for field in fields {
        for (k, _) in string_map(obj, &format!("/{field}")) {
            let path = format!("{field}[{k}]");
            let key = json!(k);
            if k.len() > 253 {
                causes.push(invalid(&path, &key, "must be no more than 253 characters"));
            }
            if !matches(&CONFIG_KEY, k) {
                causes.push(invalid(&path, &key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
            } else if k == "." {
                causes.push(invalid(&path, &key, "must not be '.'"));
            } else if k == ".." {
                causes.push(invalid(&path, &key, "must not be '..'"));
            } else if k.starts_with("..") {
                causes.push(invalid(&path, &key, "must not start with '..'"));
            }
        }
    }
    causes
}

fn has_data(obj: &Value, key: &str) -> bool {
    obj.pointer("/data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// `ValidateSecret`: the keys each well-known type requires.
fn secret_causes(obj: &Value) -> Vec<Cause> {
    let mut causes = key_causes(obj, &["data"]);
    let data = |k: &str| format!("data[{k}]");
    match obj.get("type").and_then(Value::as_str).unwrap_or("Opaque") {
        "kubernetes.io/service-account-token" => {
            let named = obj
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if !named {
                causes.push(required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                ));
            }
        }
        "kubernetes.io/dockercfg" if !has_data(obj, ".dockercfg") => {
            causes.push(required(&data(".dockercfg")));
        }
        "kubernetes.io/dockerconfigjson" if !has_data(obj, ".dockerconfigjson") => {
            causes.push(required(&data(".dockerconfigjson")));
        }
        "kubernetes.io/basic-auth" if !has_data(obj, "username") && !has_data(obj, "password") => {
            causes.push(required(&data("username")));
            causes.push(required(&data("password")));
        }
        "kubernetes.io/ssh-auth" if !has_data(obj, "ssh-privatekey") => {
            causes.push(required(&data("ssh-privatekey")));
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if obj.pointer("/data").is_none_or(|d| d.get(k).is_none()) {
                    causes.push(required(&data(k)));
                }
            }
        }
        _ => {}
    }
    causes
}

/// The legacy core/v1 Event rule: the event lives in its object's namespace.
fn event_causes(obj: &Value) -> Vec<Cause> {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let involved = obj
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if obj.get("eventTime").is_some_and(|t| !t.is_null()) {
        return vec![];
    }
    let bad = if involved.is_empty() {
        !ns.is_empty() && ns != "default"
    } else {
        ns != involved
    };
    if bad {
        vec![invalid(
            "involvedObject.namespace",
            &json!(involved),
            "does not match event.namespace",
        )]
    } else {
        vec![]
    }
}

fn lease_causes(obj: &Value) -> Vec<Cause> {
    let mut causes = vec![];
    if let Some(d) = obj.pointer("/spec/leaseDurationSeconds")
        && d.as_i64().is_some_and(|d| d <= 0)
    {
        causes.push(invalid(
            "spec.leaseDurationSeconds",
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = obj.pointer("/spec/leaseTransitions")
        && t.as_i64().is_some_and(|t| t < 0)
    {
        causes.push(invalid(
            "spec.leaseTransitions",
            t,
            "must be greater than or equal to 0",
        ));
    }
    causes
}

/// Job fields that cannot change once the Job exists (beyond its pod template, which the
/// schema rules check): `completions` (unless scaled with `parallelism` in an indexed Job),
/// `completionMode`, `selector`.
fn job_update_causes(old: &Value, new: &Value) -> Vec<Cause> {
    let mut causes = vec![];
    for (field, pointer) in [
        ("spec.completions", "/spec/completions"),
        ("spec.completionMode", "/spec/completionMode"),
    ] {
        let (a, b) = (old.pointer(pointer), new.pointer(pointer));
        if a != b {
            let v = b.cloned().unwrap_or(Value::Null);
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {}: field is immutable", go_value(&v)),
                field: field.into(),
            });
        }
    }
    causes
}

/// The kind-specific causes of a create (`old` = None) or update.
pub fn causes(kind: &KindInfo, old: Option<&Value>, obj: &Value) -> Vec<Cause> {
    let mut causes = metadata_causes(kind, obj);
    if kind.custom {
        return causes;
    }
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "configmaps") => causes.extend(key_causes(obj, &["data", "binaryData"])),
        ("", "secrets") => {
            causes.extend(secret_causes(obj));
            if let Some(old) = old {
                let t = |o: &Value| o.get("type").cloned().unwrap_or(json!("Opaque"));
                if t(old) != t(obj) {
                    causes.push(Cause {
                        reason: "FieldValueInvalid".into(),
                        message: format!(
                            "Invalid value: {}: field is immutable",
                            go_value(&t(obj))
                        ),
                        field: "type".into(),
                    });
                }
            }
        }
        ("", "events") => causes.extend(event_causes(obj)),
        ("coordination.k8s.io", "leases") => causes.extend(lease_causes(obj)),
        ("batch", "jobs") => {
            if let Some(old) = old {
                causes.extend(job_update_causes(old, obj));
            }
        }
        _ => {}
    }
    causes
}

/// Where Go's `base64.StdEncoding` stops decoding `s` (`illegal base64 data at input byte N`).
fn base64_error_offset(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let valid = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'=' {
            // Padding is legal only at the end of a quantum of 4, after at least 2 symbols.
            let in_quantum = i % 4;
            let rest = &bytes[i..];
            let ok = match in_quantum {
                2 => rest == b"==",
                3 => rest == b"=",
                _ => false,
            };
            return if ok { None } else { Some(i) };
        }
        if !valid(c) && c != b'\n' && c != b'\r' {
            return Some(i);
        }
        i += 1;
    }
    let symbols = bytes.iter().filter(|c| valid(**c)).count();
    (symbols % 4 != 0).then(|| bytes.len() - bytes.len() % 4)
}

/// Sets `key` in the object at `pointer` when it is absent (a Go defaulting function's
/// `if x == nil { x = ... }`).
fn default_at(obj: &mut Value, pointer: &str, key: &str, value: Value) {
    if let Some(m) = obj.pointer_mut(pointer).and_then(Value::as_object_mut)
        && !m.contains_key(key)
    {
        m.insert(key.into(), value);
    }
}

/// The scheme defaults kube-apiserver applies when it decodes a write (create and update), for
/// the kinds the fidelity cases show: a CRD's `spec.conversion`, a Deployment's `replicas`,
/// strategy and limits, a Job's completions, parallelism and backoff limit.
fn scheme_defaults(kind: &KindInfo, obj: &mut Value) {
    if kind.custom {
        return;
    }
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            default_at(obj, "/spec", "conversion", json!({"strategy": "None"}));
        }
        ("apps", "deployments") => {
            default_at(obj, "/spec", "replicas", json!(1));
            default_at(obj, "/spec", "revisionHistoryLimit", json!(10));
            default_at(obj, "/spec", "progressDeadlineSeconds", json!(600));
            default_at(
                obj,
                "/spec",
                "strategy",
                json!({"type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
            );
        }
        ("batch", "jobs") => {
            let has = |o: &Value, k: &str| {
                o.pointer(&format!("/spec/{k}"))
                    .is_some_and(|v| !v.is_null())
            };
            if !has(obj, "completions") && !has(obj, "parallelism") {
                default_at(obj, "/spec", "completions", json!(1));
            }
            default_at(obj, "/spec", "parallelism", json!(1));
            let backoff = if has(obj, "backoffLimitPerIndex") {
                json!(i32::MAX)
            } else {
                json!(6)
            };
            default_at(obj, "/spec", "backoffLimit", backoff);
            default_at(obj, "/spec", "completionMode", json!("NonIndexed"));
            default_at(obj, "/spec", "suspend", json!(false));
        }
        _ => {}
    }
}

/// What the server changes in an object before validating it: scheme defaults; a Secret's
/// `data` is decoded (400 on bad base64, as the JSON decoder fails), `stringData` is folded into
/// `data`, and `type` defaults to `Opaque`.
pub fn prepare(kind: &KindInfo, obj: &mut Value) -> Result<(), ApiError> {
    scheme_defaults(kind, obj);
    if kind.custom || !kind.group.is_empty() || kind.plural != "secrets" {
        return Ok(());
    }
    let cannot = |detail: String| {
        ApiError::bad_request(format!(
            "Secret in version \"v1\" cannot be handled as a Secret: {detail}"
        ))
    };
    if let Some(data) = obj.get("data").and_then(Value::as_object) {
        for v in data.values() {
            if let Some(s) = v.as_str()
                && let Some(at) = base64_error_offset(s)
            {
                return Err(cannot(format!("illegal base64 data at input byte {at}")));
            }
        }
    }
    let Some(m) = obj.as_object_mut() else {
        return Ok(());
    };
    if let Some(string_data) = m.shift_remove("stringData")
        && let Some(sd) = string_data.as_object()
        && !sd.is_empty()
    {
        let data = m.entry("data").or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        if let Some(d) = data.as_object_mut() {
            for (k, v) in sd {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                d.insert(k.clone(), json!(STANDARD.encode(text)));
            }
        }
    }
    let typed = m
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    if !typed {
        m.insert("type".into(), json!("Opaque"));
    }
    Ok(())
}

/// What the strategy of a kind adds to a new object only (`PrepareForCreate`): a Job without
/// `manualSelector` gets its generated selector (`batch.kubernetes.io/controller-uid`) and the
/// matching template labels (job name and uid, under both the current and the legacy keys).
pub fn prepare_create(kind: &KindInfo, obj: &mut Value) {
    if kind.custom || kind.group != "batch" || kind.plural != "jobs" {
        return;
    }
    if obj.pointer("/spec/manualSelector") == Some(&json!(true)) {
        return;
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if !template.is_object() {
        return;
    }
    let meta = template
        .as_object_mut()
        .map(|t| t.entry("metadata").or_insert_with(|| json!({})));
    if let Some(Value::Object(meta)) = meta {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if labels.is_null() {
            *labels = json!({});
        }
        if let Some(labels) = labels.as_object_mut() {
            for (key, value) in [
                ("job-name", &name),
                ("batch.kubernetes.io/job-name", &name),
                ("controller-uid", &uid),
                ("batch.kubernetes.io/controller-uid", &uid),
            ] {
                labels
                    .entry(key)
                    .or_insert_with(|| Value::String(value.clone()));
            }
        }
    }
    let selector = spec.entry("selector").or_insert_with(|| json!({}));
    if selector.is_null() {
        *selector = json!({});
    }
    if let Some(sel) = selector.as_object_mut() {
        let ml = sel.entry("matchLabels").or_insert_with(|| json!({}));
        if ml.is_null() {
            *ml = json!({});
        }
        if let Some(ml) = ml.as_object_mut() {
            ml.entry("batch.kubernetes.io/controller-uid")
                .or_insert_with(|| Value::String(uid.clone()));
        }
    }
}

/// Whether an update moves `metadata.generation`: any change outside metadata and status, and
/// for Deployments also a change of annotations (they are copied to the ReplicaSets).
pub fn bumps_generation(kind: &KindInfo, old: &Value, new: &Value) -> bool {
    let spec = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            for k in ["metadata", "status", "apiVersion", "kind"] {
                m.remove(k);
            }
        }
        v
    };
    if spec(old) != spec(new) {
        return true;
    }
    kind.group == "apps"
        && kind.plural == "deployments"
        && old.pointer("/metadata/annotations") != new.pointer("/metadata/annotations")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scheme_defaults_like_kube() {
        let kind = crate::sim::resources::builtin;
        let mut crd = json!({"spec": {"group": "g"}});
        prepare(
            &kind("apiextensions.k8s.io", "customresourcedefinitions"),
            &mut crd,
        )
        .unwrap();
        assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
        let mut d = json!({"spec": {"strategy": {"type": "Recreate"}}});
        prepare(&kind("apps", "deployments"), &mut d).unwrap();
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
        let mut j = json!({"spec": {"parallelism": 2}});
        prepare(&kind("batch", "jobs"), &mut j).unwrap();
        assert_eq!(
            [
                &j["spec"]["completions"],
                &j["spec"]["parallelism"],
                &j["spec"]["backoffLimit"]
            ],
            [&Value::Null, &json!(2), &json!(6)]
        );
        let mut j = json!({"spec": {}});
        prepare(&kind("batch", "jobs"), &mut j).unwrap();
        assert_eq!(j["spec"]["completions"], 1);
    }

    #[test]
    fn go_base64_offsets() {
        assert_eq!(base64_error_offset("not base64!"), Some(3));
        assert_eq!(base64_error_offset("aGVsbG8="), None);
        assert_eq!(base64_error_offset("aGVsbG8"), Some(4));
        assert_eq!(base64_error_offset("a="), Some(1));
    }

    #[test]
    fn qualified_names() {
        assert!(qualified_name_errors("app.kubernetes.io/name").is_empty());
        assert_eq!(qualified_name_errors("bad key!"), vec![QUALIFIED_NAME_MSG]);
        assert_eq!(
            qualified_name_errors("/x"),
            vec!["prefix part must be non-empty"]
        );
    }
}
