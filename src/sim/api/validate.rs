//! Admission checks of written objects, answered the way kube-apiserver does: decode-type errors
//! (400), 422 Invalid with field causes for missing/malformed names and the required fields of the
//! built-in kinds the demo uses. Deliberately small: no full OpenAPI validation.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::sim::error::{ApiError, Cause};
use crate::sim::resources::KindInfo;

static SUBDOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").ok()
});
static LABEL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").ok());

fn cause(reason: &str, field: &str, message: String) -> Cause {
    Cause {
        reason: reason.into(),
        message,
        field: field.into(),
    }
}

/// Checks the name of an object about to be created.
pub fn name_causes(kind: &KindInfo, name: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![cause(
            "FieldValueRequired",
            "metadata.name",
            "Required value: name or generateName is required".into(),
        )];
    }
    let is_match = |re: &LazyLock<Option<Regex>>| re.as_ref().is_some_and(|r| r.is_match(name));
    if kind.plural == "namespaces" {
        if name.len() > 63 || !is_match(&LABEL) {
            return vec![cause(
                "FieldValueInvalid",
                "metadata.name",
                format!(
                    "Invalid value: {name:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                ),
            )];
        }
    } else if kind.custom || kind.group == "rbac.authorization.k8s.io" {
        for bad in ["/", "%"] {
            if name.contains(bad) {
                return vec![cause(
                    "FieldValueInvalid",
                    "metadata.name",
                    format!("Invalid value: {name:?}: may not contain '{bad}'"),
                )];
            }
        }
        if name == "." || name == ".." {
            return vec![cause(
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: {name:?}: may not be '{name}'"),
            )];
        }
    } else {
        // `IsDNS1123Subdomain`: one cause per failed rule, length first.
        let mut causes = vec![];
        if name.len() > 253 {
            causes.push(cause(
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: {name:?}: must be no more than 253 characters"),
            ));
        }
        if !is_match(&SUBDOMAIN) {
            causes.push(cause(
                "FieldValueInvalid",
                "metadata.name",
                format!(
                    "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                ),
            ));
        }
        return causes;
    }
    vec![]
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Decode-level checks (string maps hold strings), answered with 400 like the Go decoder.
pub fn decode(kind: &KindInfo, obj: &Value) -> Result<(), ApiError> {
    let mut maps = vec![
        ("/metadata/labels", "ObjectMeta.metadata.labels"),
        ("/metadata/annotations", "ObjectMeta.metadata.annotations"),
    ];
    if kind.plural == "configmaps" {
        maps.push(("/data", "ConfigMap.data"));
    }
    if kind.plural == "secrets" {
        maps.push(("/data", "Secret.data"));
        maps.push(("/stringData", "Secret.stringData"));
    }
    for (pointer, field) in maps {
        if let Some(m) = obj.pointer(pointer).and_then(Value::as_object) {
            for v in m.values() {
                if !v.is_string() && !v.is_null() {
                    return Err(ApiError::bad_request(format!(
                        "{k} in version {v2:?} cannot be handled as a {k}: json: cannot unmarshal {t} into Go struct field {field} of type string",
                        k = kind.kind,
                        v2 = kind.version,
                        t = type_name(v),
                    )));
                }
            }
        }
    }
    if kind.plural == "secrets"
        && let Some(m) = obj.pointer("/data").and_then(Value::as_object)
    {
        use base64::Engine;
        for v in m.values().filter_map(Value::as_str) {
            if base64::engine::general_purpose::STANDARD.decode(v).is_err() {
                return Err(ApiError::bad_request(format!(
                    "Secret in version {:?} cannot be handled as a Secret: illegal base64 data",
                    kind.version
                )));
            }
        }
    }
    Ok(())
}

fn missing(obj: &Value, pointer: &str) -> bool {
    match obj.pointer(pointer) {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// Fields that may not change after creation (422 causes): a Job's `spec.template` and
/// `spec.selector`, like kube-apiserver's Job validation.
pub fn immutable_causes(kind: &KindInfo, old: &Value, new: &Value) -> Vec<Cause> {
    let fields: &[&str] = match (kind.group.as_str(), kind.plural.as_str()) {
        ("batch", "jobs") => &["/spec/selector", "/spec/template"],
        _ => &[],
    };
    fields
        .iter()
        .filter(|p| old.pointer(p) != new.pointer(p))
        .map(|p| {
            let field = p.trim_start_matches('/').replace('/', ".");
            cause("FieldValueInvalid", &field, "field is immutable".into())
        })
        .collect()
}

/// Required fields of the built-in kinds (422 causes).
pub fn spec_causes(kind: &KindInfo, obj: &Value) -> Vec<Cause> {
    let required: &[&str] = match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "pods") => &["/spec/containers"],
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") => {
            &["/spec/selector", "/spec/template/spec/containers"]
        }
        ("batch", "jobs") => &["/spec/template/spec/containers"],
        ("apiextensions.k8s.io", _) => &[
            "/spec/group",
            "/spec/names/plural",
            "/spec/names/kind",
            "/spec/versions",
            "/spec/scope",
        ],
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => &["/roleRef/name"],
        _ => &[],
    };
    let mut out: Vec<Cause> = required
        .iter()
        .filter(|p| missing(obj, p))
        .map(|p| {
            cause(
                "FieldValueRequired",
                &p.trim_start_matches('/').replace('/', "."),
                "Required value".into(),
            )
        })
        .collect();
    if kind.plural == "customresourcedefinitions" && out.is_empty() {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        let want = format!("{}.{}", s("/spec/names/plural"), s("/spec/group"));
        let name = s("/metadata/name");
        if name != want {
            out.push(cause(
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
            ));
        }
        let storage = obj
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .map(|vs| {
                vs.iter()
                    .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                    .count()
            })
            .unwrap_or(0);
        if storage != 1 {
            out.push(cause(
                "FieldValueInvalid",
                "spec.versions",
                format!("Invalid value: []apiextensions.CustomResourceDefinitionVersion{{...}}: must have exactly one version marked as storage version (found {storage})"),
            ));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::resources::builtins;
    use serde_json::json;

    fn kind(plural: &str) -> KindInfo {
        builtins().into_iter().find(|k| k.plural == plural).unwrap()
    }

    #[test]
    fn names_and_types() {
        assert!(name_causes(&kind("configmaps"), "ok.name-1").is_empty());
        assert_eq!(
            name_causes(&kind("configmaps"), "Bad_Name")[0].reason,
            "FieldValueInvalid"
        );
        assert_eq!(name_causes(&kind("namespaces"), "a.b").len(), 1);
        assert!(name_causes(&kind("clusterroles"), "system:foo").is_empty());
        let e = decode(&kind("configmaps"), &json!({"data": {"x": true}})).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.contains("cannot unmarshal bool"), "{}", e.message);
        let c = spec_causes(&kind("pods"), &json!({"spec": {}}));
        assert_eq!(c[0].field, "spec.containers");
    }
}
