//! Small helpers over JSON objects (`serde_json::Value`): metadata accessors, owner references,
//! label selectors, conditions, deterministic name suffixes and quantities. Pure; no I/O.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// `metadata.name`.
pub fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

/// `metadata.namespace` (empty for cluster scope).
pub fn namespace(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// `metadata.uid`.
pub fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

/// A label value.
pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["labels"][key].as_str()
}

/// An annotation value.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][key].as_str()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

/// `metadata.generation` (1 when absent).
pub fn generation(obj: &Value) -> i64 {
    obj["metadata"]["generation"].as_i64().unwrap_or(1)
}

/// Whether `obj` has an ownerReference to the object with `owner_uid`.
pub fn is_owned_by(obj: &Value, owner_uid: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(owner_uid)))
}

/// The uid of the controller ownerReference of `obj`, if it has one.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .and_then(|r| r["uid"].as_str())
}

/// Whether `current` is controlled by the controller `desired` names (true when `desired`
/// names none).
pub fn same_controller(current: &Value, desired: &Value) -> bool {
    controller_uid(desired).is_none_or(|uid| controller_uid(current) == Some(uid))
}

/// The controller ownerReference pointing at `owner`.
pub fn controller_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true
    })
}

/// Whether a label selector (`matchLabels` + `matchExpressions` In/NotIn/Exists/DoesNotExist)
/// matches `labels`. A null selector matches nothing; an empty one matches everything.
pub fn selector_matches(selector: &Value, labels: &Value) -> bool {
    if selector.is_null() {
        return false;
    }
    if let Some(ml) = selector["matchLabels"].as_object() {
        for (k, v) in ml {
            if labels[k] != *v {
                return false;
            }
        }
    }
    if let Some(exprs) = selector["matchExpressions"].as_array() {
        for e in exprs {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let actual = labels[key].as_str();
            let ok = match e["operator"].as_str().unwrap_or_default() {
                "In" => actual.is_some_and(|a| values.contains(&a)),
                "NotIn" => actual.is_none_or(|a| !values.contains(&a)),
                "Exists" => actual.is_some(),
                "DoesNotExist" => actual.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Whether a flat `key: value` map (nodeSelector, MachineConfigPool nodeSelector.matchLabels) matches.
pub fn map_matches(wanted: &Value, labels: &Value) -> bool {
    wanted
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| labels[k] == *v))
}

/// A condition of `status.conditions` by type.
pub fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(type_))
}

/// Whether condition `type_` is `"True"`.
pub fn condition_true(obj: &Value, type_: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c["status"] == "True")
}

/// Builds a condition, keeping `lastTransitionTime` from `previous` when the status did not change
/// (what real controllers do).
pub fn make_condition(
    previous: &Value,
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    let status_s = if status { "True" } else { "False" };
    let old = previous["status"]["conditions"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["type"].as_str() == Some(type_)));
    let ltt = match old {
        Some(c) if c["status"] == status_s && c["lastTransitionTime"].is_string() => {
            c["lastTransitionTime"].clone()
        }
        _ => json!(now),
    };
    let mut c = json!({
        "type": type_,
        "status": status_s,
        "lastTransitionTime": ltt,
    });
    if !reason.is_empty() {
        c["reason"] = json!(reason);
    }
    if !message.is_empty() {
        c["message"] = json!(message);
    }
    c
}

/// Deterministic 5-character suffix (Kubernetes' `generateName` alphabet) derived from `seed`, so
/// re-running a reconcile creates the same name (409 instead of a duplicate).
pub fn suffix(seed: &str) -> String {
    hash_chars(seed, 5)
}

/// Deterministic `n`-character hash in the Kubernetes rand alphabet (pod-template-hash style).
pub fn hash_chars(seed: &str, n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let digest = Sha256::digest(seed.as_bytes());
    digest
        .iter()
        .take(n)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// A deterministic number in `0..modulo` from `seed` (IP addresses, benchmark numbers).
pub fn hash_num(seed: &str, modulo: u64) -> u64 {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes) % modulo.max(1)
}

/// Parses a Kubernetes quantity of a countable resource (`"4"`, `"4000m"`) into a whole number.
pub fn quantity_count(q: &Value) -> u64 {
    match q {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s
            .strip_suffix('m')
            .and_then(|m| m.parse::<u64>().ok())
            .map(|m| m / 1000)
            .or_else(|| s.parse::<u64>().ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// GPUs requested by a pod spec (max of requests and limits per container, summed).
pub fn pod_gpus(pod_spec: &Value) -> u64 {
    pod_spec["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let r = quantity_count(&c["resources"]["requests"]["nvidia.com/gpu"]);
                    let l = quantity_count(&c["resources"]["limits"]["nvidia.com/gpu"]);
                    r.max(l)
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Whether applying `patch` (JSON merge semantics) to `current` would change it; lets controllers
/// skip no-op writes so they do not generate watch events forever.
pub fn merge_changes(current: &Value, patch: &Value) -> bool {
    match (current, patch) {
        (Value::Object(c), Value::Object(p)) => p.iter().any(|(k, v)| match c.get(k) {
            None => !v.is_null(),
            Some(cv) => {
                if v.is_null() {
                    true
                } else {
                    merge_changes(cv, v)
                }
            }
        }),
        (c, p) => c != p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_matching() {
        let labels = json!({"app": "x", "tier": "web"});
        assert!(selector_matches(
            &json!({"matchLabels": {"app": "x"}}),
            &labels
        ));
        assert!(!selector_matches(
            &json!({"matchLabels": {"app": "y"}}),
            &labels
        ));
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}),
            &labels
        ));
        assert!(!selector_matches(&Value::Null, &labels));
    }

    #[test]
    fn conditions_keep_transition_time() {
        let prev = json!({"status": {"conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}});
        let c = make_condition(&prev, "Ready", true, "", "", "2026-02-02T00:00:00Z");
        assert_eq!(c["lastTransitionTime"], "2026-01-01T00:00:00Z");
        let c = make_condition(&prev, "Ready", false, "X", "m", "2026-02-02T00:00:00Z");
        assert_eq!(c["lastTransitionTime"], "2026-02-02T00:00:00Z");
    }

    #[test]
    fn merge_change_detection() {
        let cur = json!({"status": {"phase": "Running", "x": [1]}});
        assert!(!merge_changes(
            &cur,
            &json!({"status": {"phase": "Running"}})
        ));
        assert!(merge_changes(&cur, &json!({"status": {"phase": "Failed"}})));
        assert!(merge_changes(&cur, &json!({"status": {"y": 1}})));
        assert!(!merge_changes(&cur, &json!({"status": {"y": null}})));
    }

    #[test]
    fn quantities_and_suffixes() {
        assert_eq!(quantity_count(&json!("4")), 4);
        assert_eq!(quantity_count(&json!(2)), 2);
        assert_eq!(suffix("a").len(), 5);
        assert_eq!(suffix("a"), suffix("a"));
    }
}
