//! Output order and text: kustomize's default ("legacy") resource order, and the
//! `kustomize build` YAML rendering (sorted keys, `---` between documents).

use serde_json::{Map, Value};

use super::error::RenderError;
use super::resource::{Gvk, ResId, Resource};

const ORDER_FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
const ORDER_LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn type_order(kind: &str) -> i64 {
    if let Some(i) = ORDER_FIRST.iter().position(|k| *k == kind) {
        return i as i64 - ORDER_FIRST.len() as i64;
    }
    if let Some(i) = ORDER_LAST.iter().position(|k| *k == kind) {
        return 1 + i as i64;
    }
    0
}

fn gvk_key(g: &Gvk) -> (i64, String) {
    (type_order(&g.kind), g.sort_string())
}

/// Sorts like kustomize's `LegacyOrderTransformer`: kind priority, then group/version/kind,
/// then the id string.
pub(crate) fn legacy_sort(res: &mut [Resource]) {
    res.sort_by_cached_key(|r| {
        let id: ResId = r.cur_id();
        let (o, s) = gvk_key(&id.gvk);
        (o, s, id.legacy_string())
    });
}

/// A copy of `v` with every object's keys sorted (kustomize prints keys sorted).
pub(crate) fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(x) = m.get(k) {
                    out.insert(k.clone(), sorted(x));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Renders objects as `kustomize build` prints them.
pub(crate) fn to_yaml(objects: &[Value]) -> Result<String, RenderError> {
    let mut out = String::new();
    for (i, obj) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let opts = serde_saphyr::ser_options! {
            compact_list_indent: true,
            folded_wrap_chars: usize::MAX / 2,
            min_fold_chars: usize::MAX / 2,
        };
        let text = serde_saphyr::to_string_with_options(&sorted(obj), opts).map_err(|source| {
            RenderError::Serialize {
                id: describe(obj),
                source: Box::new(source),
            }
        })?;
        out.push_str(&text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

fn describe(obj: &Value) -> String {
    let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{}/{}", s("kind"), name)
}
