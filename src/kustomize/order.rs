//! Output order and text: kustomize's default ("legacy") resource order, and the
//! `kustomize build` YAML rendering (sorted keys, `---` between documents).

use serde_json::{Map, Value};

use super::error::RenderError;
use super::kustomization::Order;
use super::quoting;
use super::resource::{ResId, Resource};

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

fn type_order(kind: &str, first: &[&str], last: &[&str]) -> i64 {
    if let Some(i) = first.iter().position(|k| *k == kind) {
        return i as i64 - first.len() as i64;
    }
    if let Some(i) = last.iter().position(|k| *k == kind) {
        return 1 + i as i64;
    }
    0
}

/// Puts the resources in the order `sortOptions` asks for (`fifo`: as accumulated).
pub(crate) fn sort(res: &mut Vec<Resource>, order: &Order) {
    match order {
        Order::Fifo => {}
        Order::Legacy(None) => legacy_sort(res, &ORDER_FIRST, &ORDER_LAST),
        Order::Legacy(Some(lists)) => {
            let first: Vec<&str> = lists.order_first.iter().map(String::as_str).collect();
            let last: Vec<&str> = lists.order_last.iter().map(String::as_str).collect();
            legacy_sort(res, &first, &last);
        }
    }
}

/// Sorts like kustomize's `LegacyOrderTransformer` (`NodeIsLessThan`): kind priority, then
/// group/version/kind, then the id string — except that a core `Namespace` sorts before
/// `Namespace` kinds of other groups (kustomize's special case in `gvkLessThan`).
fn legacy_sort(res: &mut Vec<Resource>, first: &[&str], last: &[&str]) {
    struct Key {
        order: i64,
        gvk: String,
        /// A `Namespace` kind; `core` when of the core group.
        namespace: bool,
        core: bool,
        id: String,
    }
    let keys: Vec<Key> = res
        .iter()
        .map(|r| {
            let id: ResId = r.cur_id();
            Key {
                order: type_order(&id.gvk.kind, first, last),
                gvk: id.gvk.sort_string(),
                namespace: id.gvk.kind == "Namespace",
                core: id.gvk.group.is_empty(),
                id: id.legacy_string(),
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..res.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (&keys[a], &keys[b]);
        ka.order
            .cmp(&kb.order)
            .then_with(|| {
                if ka.namespace && kb.namespace && (ka.core || kb.core) {
                    kb.gvk.cmp(&ka.gvk)
                } else {
                    ka.gvk.cmp(&kb.gvk)
                }
            })
            .then_with(|| ka.id.cmp(&kb.id))
    });
    let mut slots: Vec<Option<Resource>> = std::mem::take(res).into_iter().map(Some).collect();
    res.extend(order.into_iter().filter_map(|i| slots[i].take()));
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
        let obj = sorted(obj);
        let text = quoting::to_yaml_text(&obj, opts).map_err(|source| RenderError::Serialize {
            id: describe(&obj),
            source: Box::new(source),
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
