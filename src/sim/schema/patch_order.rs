//! A patched document as kube-apiserver's patcher quotes it in a decode error: evanphx/json-patch
//! decodes only the objects a patch reaches into Go maps, so those (and the top level) come out
//! with sorted keys, while every value the patch does not reach keeps the order it was encoded in.

use serde_json::{Map, Value};

fn sorted(m: Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// `ObjectMeta`'s fields in Go struct order.
const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Metadata in `ObjectMeta` struct order (as the Go encoder writes it); unknown keys last.
pub fn object_meta_order(meta: &Value) -> Value {
    let Value::Object(m) = meta else {
        return meta.clone();
    };
    let mut out = Map::new();
    for key in OBJECT_META {
        if let Some(v) = m.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    for (k, v) in m {
        if !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// json-patch's `pruneNulls`: a new value loses its null members.
fn prune_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), prune_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(prune_nulls).collect()),
        other => other.clone(),
    }
}

/// `MergePatch(doc, patch)` (RFC 7386) with json-patch's key order.
pub fn merge_patched(doc: &Value, patch: &Value) -> Value {
    match (doc, patch) {
        (Value::Object(d), Value::Object(p)) => {
            let mut out = d.clone();
            for (k, pv) in p {
                if pv.is_null() {
                    out.shift_remove(k);
                    continue;
                }
                let merged = match out.get(k) {
                    Some(cur @ Value::Object(_)) if pv.is_object() => merge_patched(cur, pv),
                    Some(Value::Object(_)) => pv.clone(),
                    _ => prune_nulls(pv),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(sorted(out))
        }
        (_, p) => prune_nulls(p),
    }
}

/// Sorts the objects from the root down to (not including) the value at `pointer`.
fn sort_along(doc: &mut Value, pointer: &str) {
    let mut cur = doc;
    let segs: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, seg) in segs.iter().enumerate() {
        if let Value::Object(m) = cur {
            *m = sorted(std::mem::take(m));
        }
        if i + 1 == segs.len() {
            return;
        }
        let next = match cur {
            Value::Object(m) => m.get_mut(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        let Some(next) = next else { return };
        cur = next;
    }
}

/// An RFC 6902 patch applied with json-patch's key order (the document is `doc` unchanged when
/// an operation fails; the caller reports that failure itself).
pub fn json_patched(doc: &Value, patch: &Value) -> Value {
    let mut out = doc.clone();
    if let Ok(ops) = serde_json::from_value::<json_patch::Patch>(patch.clone())
        && json_patch::patch(&mut out, &ops).is_ok()
    {
        if let Value::Object(m) = &mut out {
            *m = sorted(std::mem::take(m));
        }
        for op in patch.as_array().into_iter().flatten() {
            for key in ["path", "from"] {
                if let Some(p) = op.get(key).and_then(Value::as_str) {
                    sort_along(&mut out, p);
                }
            }
        }
        return out;
    }
    doc.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merged_objects_are_sorted_and_untouched_ones_keep_their_order() {
        let doc = json!({"kind": "Lease", "apiVersion": "v1", "metadata": {"name": "l", "namespace": "n"},
            "spec": {"holderIdentity": "me", "acquireTime": "t", "gone": 1}});
        let patch = json!({"spec": {"renewTime": "x", "gone": null}});
        assert_eq!(
            merge_patched(&doc, &patch).to_string(),
            r#"{"apiVersion":"v1","kind":"Lease","metadata":{"name":"l","namespace":"n"},"spec":{"acquireTime":"t","holderIdentity":"me","renewTime":"x"}}"#
        );
    }

    #[test]
    fn json_patches_sort_the_containers_on_their_paths() {
        let doc = json!({"kind": "Job", "metadata": {"name": "j", "uid": "u"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "a"}]}}}});
        let patch = json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "b"}]);
        assert_eq!(
            json_patched(&doc, &patch).to_string(),
            r#"{"kind":"Job","metadata":{"name":"j","uid":"u"},"spec":{"template":{"spec":{"containers":[{"image":"b","name":"c"}],"restartPolicy":"Never"}}}}"#
        );
    }
}
