//! `ObjectKey` (apiVersion, kind, namespace, name) and small accessors on manifest objects
//! (`serde_json::Value`). Pure: no network.

use std::fmt;

use kube::api::{DynamicObject, GroupVersionKind};
use kube::core::TypeMeta;
use kube::discovery::ApiResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Identifies one object: what `wait_ready`, teardown and the inventory talk about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    pub fn new(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        namespace: Option<&str>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    /// Reads apiVersion, kind, metadata.namespace and metadata.name of a manifest.
    pub fn from_value(obj: &Value) -> Option<Self> {
        let api_version = obj.get("apiVersion")?.as_str()?.to_string();
        let kind = obj.get("kind")?.as_str()?.to_string();
        let name = obj.pointer("/metadata/name")?.as_str()?.to_string();
        let namespace = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        Some(Self {
            api_version,
            kind,
            namespace,
            name,
        })
    }

    /// API group ("" for the core group).
    pub fn group(&self) -> &str {
        split_api_version(&self.api_version).0
    }

    /// API version without the group.
    pub fn version(&self) -> &str {
        split_api_version(&self.api_version).1
    }

    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::gvk(self.group(), self.version(), &self.kind)
    }

    /// `group/Kind` ("Kind" for the core group): the readiness rule and ApplySet key.
    pub fn group_kind(&self) -> String {
        group_kind(self.group(), &self.kind)
    }

    /// For messages: "`Deployment/llama-stack` in `private-ai-demo`" or "`Namespace/demo`".
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("`{}/{}` in `{ns}`", self.kind, self.name),
            None => format!("`{}/{}`", self.kind, self.name),
        }
    }
}

impl fmt::Display for ObjectKey {
    /// `Kind/namespace/name` or `Kind/name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// A dynamic object read through `resource` as JSON, with `apiVersion`/`kind` set from the
/// resource it was listed, watched or fetched as — never from the object itself: in a real list
/// response the items of built-in kinds carry no `kind`/`apiVersion` (only the List does), and
/// kube-runtime's watchers start with such a list. Without this, readiness would not know a Job
/// is a Job and would call it ready (issue #9).
pub fn typed_value(mut obj: DynamicObject, resource: &ApiResource) -> Value {
    obj.types = Some(TypeMeta {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
    });
    serde_json::to_value(&obj).unwrap_or(Value::Null)
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// `group/Kind`, or just `Kind` for the core group (kstatus and ApplySet convention is
/// `Kind.group`; see [`group_kind_dotted`]).
pub fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    }
}

/// `Kind.group` or `Kind` (KEP-3659 contained-group-kinds format).
pub fn group_kind_dotted(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// A string at a JSON pointer.
pub fn str_at<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// Labels of an object as (key, value) pairs.
pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

/// Sets `metadata.labels[key] = value`, creating maps as needed.
pub fn set_label(obj: &mut Value, key: &str, value: &str) {
    set_meta_map(obj, "labels", key, value);
}

/// Sets `metadata.annotations[key] = value`, creating maps as needed.
pub fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    set_meta_map(obj, "annotations", key, value);
}

fn set_meta_map(obj: &mut Value, map: &str, key: &str, value: &str) {
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let m = meta
        .entry(map)
        .or_insert_with(|| Value::Object(Default::default()));
    if !m.is_object() {
        *m = Value::Object(Default::default());
    }
    if let Some(m) = m.as_object_mut() {
        m.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// The condition `type` of `status.conditions`, if present.
pub fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// True when condition `type_` has status "True".
pub fn condition_true(obj: &Value, type_: &str) -> bool {
    condition(obj, type_)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_from_manifests() {
        let k = ObjectKey::from_value(&json!({
            "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "m", "namespace": "demo"}
        }))
        .unwrap();
        assert_eq!(k.group(), "serving.kserve.io");
        assert_eq!(k.version(), "v1beta1");
        assert_eq!(k.group_kind(), "serving.kserve.io/InferenceService");
        assert_eq!(k.describe(), "`InferenceService/m` in `demo`");
        assert_eq!(k.to_string(), "InferenceService/demo/m");
        let ns = ObjectKey::from_value(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}),
        )
        .unwrap();
        assert_eq!(ns.group(), "");
        assert_eq!(ns.group_kind(), "Namespace");
        assert_eq!(ns.describe(), "`Namespace/d`");
        assert!(ObjectKey::from_value(&json!({"kind": "X"})).is_none());
    }

    #[test]
    fn labels_are_set_on_bare_objects() {
        let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        set_label(&mut o, "a", "b");
        set_annotation(&mut o, "c", "d");
        assert_eq!(label(&o, "a"), Some("b"));
        assert_eq!(str_at(&o, "/metadata/annotations/c"), Some("d"));
    }
}
