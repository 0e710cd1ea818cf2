//! Strategic merge patch over `serde_json::Value`. Owns the merge algorithm and its
//! directives; the per-kind merge keys live in [`super::schema`]. Pure; never prints.
//!
//! Semantics (as in `k8s.io/apimachinery/pkg/util/strategicpatch`):
//! - objects merge recursively; a `null` value deletes the key;
//! - `$patch: replace` on an object replaces it, `$patch: delete` removes it, `$patch: merge`
//!   is the default;
//! - lists with a merge key merge element-wise by that key; an element `{key: v, $patch:
//!   delete}` deletes, an element `{$patch: replace}` makes the rest of the patch list replace
//!   the list; primitive merge lists add values;
//! - `$retainKeys: [...]` drops target keys not listed; `$setElementOrder/<f>` orders the merged
//!   list `<f>`; `$deleteFromPrimitiveList/<f>` removes values from the primitive list `<f>`;
//! - every other list is replaced.

use serde_json::{Map, Value};

use super::MergeError;
use super::schema::{ListStrategy, TypeInfo, list_strategy};

/// Which implementation's observable behaviour to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// kube-apiserver (`application/strategic-merge-patch+json`): target elements keep their
    /// place, new patch elements are appended.
    #[default]
    ApiServer,
    /// `kustomize build` (kyaml `merge2`, prepend mode): patch elements first, in patch order,
    /// then the target's remaining elements; `$retainKeys`/`$setElementOrder` are ignored.
    Kustomize,
}

/// Applies a strategic merge `patch` to `target` (an object of type `ty`) the way the API
/// server does. Returns the patched copy.
pub fn patch(target: &Value, patch: &Value, ty: &TypeInfo<'_>) -> Result<Value, MergeError> {
    patch_with(target, patch, ty, Flavor::ApiServer)
}

/// Applies a strategic merge `patch` to `target` following `flavor`. A top-level
/// `$patch: delete` yields an empty object.
pub fn patch_with(
    target: &Value,
    patch: &Value,
    ty: &TypeInfo<'_>,
    flavor: Flavor,
) -> Result<Value, MergeError> {
    let Value::Object(p) = patch else {
        return Err(MergeError::PatchNotObject {
            found: type_name(patch),
        });
    };
    let empty = Map::new();
    let t = target.as_object().unwrap_or(&empty);
    let m = Merger { ty, flavor };
    let mut path = Vec::new();
    Ok(Value::Object(
        m.merge_map(t, p, &mut path)?.unwrap_or_default(),
    ))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

struct Merger<'a, 'b> {
    ty: &'a TypeInfo<'b>,
    flavor: Flavor,
}

impl Merger<'_, '_> {
    fn path_str(path: &[String]) -> String {
        if path.is_empty() {
            ".".into()
        } else {
            path.join(".")
        }
    }

    fn strategy(&self, path: &[String]) -> ListStrategy {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        list_strategy(self.ty, &p)
    }

    /// Merges object `patch` into `target`; `None` means "delete this object".
    fn merge_map(
        &self,
        target: &Map<String, Value>,
        patch: &Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<Option<Map<String, Value>>, MergeError> {
        match patch.get(PATCH) {
            None => {}
            Some(Value::String(s)) if s == "merge" => {}
            Some(Value::String(s)) if s == "delete" => return Ok(None),
            Some(Value::String(s)) if s == "replace" => {
                let mut out = Map::new();
                self.apply_fields(&mut out, patch, path)?;
                return Ok(Some(out));
            }
            Some(other) => {
                return Err(MergeError::UnknownDirective {
                    path: Self::path_str(path),
                    value: other
                        .as_str()
                        .map_or_else(|| other.to_string(), str::to_string),
                });
            }
        }
        let mut out = target.clone();
        if self.flavor == Flavor::ApiServer
            && let Some(keep) = patch.get(RETAIN_KEYS)
        {
            let keep = keep
                .as_array()
                .ok_or_else(|| MergeError::InvalidDirective {
                    directive: RETAIN_KEYS.into(),
                    path: Self::path_str(path),
                })?;
            out.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
        }
        self.apply_fields(&mut out, patch, path)?;
        Ok(Some(out))
    }

    /// Applies every non-directive field of `patch` onto `out`, then the list directives.
    fn apply_fields(
        &self,
        out: &mut Map<String, Value>,
        patch: &Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<(), MergeError> {
        for (k, pv) in patch {
            if k.starts_with('$') {
                continue;
            }
            if pv.is_null() {
                out.remove(k);
                continue;
            }
            path.push(k.clone());
            let merged = self.merge_field(out.get(k), pv, path)?;
            path.pop();
            match merged {
                Some(v) => {
                    out.insert(k.clone(), v);
                }
                None => {
                    out.remove(k);
                }
            }
        }
        if self.flavor == Flavor::Kustomize {
            return Ok(());
        }
        for (k, pv) in patch {
            if let Some(field) = k.strip_prefix(DELETE_PRIMITIVE) {
                let gone = pv.as_array().ok_or_else(|| MergeError::InvalidDirective {
                    directive: k.clone(),
                    path: Self::path_str(path),
                })?;
                if let Some(Value::Array(list)) = out.get_mut(field) {
                    list.retain(|v| !gone.contains(v));
                }
            } else if let Some(field) = k.strip_prefix(SET_ORDER) {
                let order = pv.as_array().ok_or_else(|| MergeError::InvalidDirective {
                    directive: k.clone(),
                    path: Self::path_str(path),
                })?;
                path.push(field.to_string());
                let strategy = self.strategy(path);
                path.pop();
                if let Some(Value::Array(list)) = out.get_mut(field) {
                    reorder(list, order, strategy);
                }
            }
        }
        Ok(())
    }

    fn merge_field(
        &self,
        target: Option<&Value>,
        patch: &Value,
        path: &mut Vec<String>,
    ) -> Result<Option<Value>, MergeError> {
        match patch {
            Value::Object(p) => {
                let empty = Map::new();
                let t = match target {
                    Some(Value::Object(t)) => t,
                    _ => &empty,
                };
                Ok(self.merge_map(t, p, path)?.map(Value::Object))
            }
            Value::Array(p) => {
                let empty = Vec::new();
                let t = match target {
                    Some(Value::Array(t)) => t,
                    _ => &empty,
                };
                self.merge_list(t, p, path).map(|l| Some(Value::Array(l)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    fn merge_list(
        &self,
        target: &[Value],
        patch: &[Value],
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, MergeError> {
        match self.strategy(path) {
            ListStrategy::Replace => Ok(patch.to_vec()),
            ListStrategy::MergePrimitive => Ok(self.merge_primitive(target, patch)),
            ListStrategy::MergeByKey(key) => self.merge_keyed(target, patch, key, path),
        }
    }

    fn merge_primitive(&self, target: &[Value], patch: &[Value]) -> Vec<Value> {
        let (first, second) = match self.flavor {
            Flavor::ApiServer => (target, patch),
            Flavor::Kustomize => (patch, target),
        };
        let mut out: Vec<Value> = Vec::new();
        for v in first.iter().chain(second) {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        out
    }

    fn merge_keyed(
        &self,
        target: &[Value],
        patch: &[Value],
        key: &str,
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, MergeError> {
        // `{$patch: replace}` anywhere in the patch list: the rest of the list replaces.
        let is_directive = |v: &Value, d: &str| {
            v.get(PATCH).and_then(Value::as_str) == Some(d) && v.get(key).is_none()
        };
        if patch.iter().any(|v| is_directive(v, "replace")) {
            let mut out = Vec::new();
            for v in patch.iter().filter(|v| !is_directive(v, "replace")) {
                if let Some(m) = self.merge_field(None, v, path)? {
                    out.push(m);
                }
            }
            return Ok(out);
        }
        let key_of = |v: &Value| v.get(key).filter(|k| !k.is_null()).map(key_string);
        let find =
            |list: &[Value], k: &str| list.iter().position(|v| key_of(v).as_deref() == Some(k));

        let mut order: Vec<String> = Vec::new();
        let (first, second) = match self.flavor {
            Flavor::ApiServer => (target, patch),
            Flavor::Kustomize => (patch, target),
        };
        for v in first.iter().chain(second) {
            if let Some(k) = key_of(v)
                && !order.contains(&k)
            {
                order.push(k);
            }
        }
        let mut out = Vec::new();
        for k in &order {
            let t = find(target, k).map(|i| &target[i]);
            let merged = match find(patch, k).map(|i| &patch[i]) {
                Some(p) if p.is_object() => self.merge_field(t, p, path)?,
                Some(p) => Some(p.clone()),
                None => t.cloned(),
            };
            if let Some(m) = merged {
                let empty = m.as_object().is_some_and(Map::is_empty);
                if !(empty && self.flavor == Flavor::Kustomize) {
                    out.push(m);
                }
            }
        }
        // Elements without the merge key cannot be matched: keep them, after the others.
        for v in target.iter().chain(patch) {
            if key_of(v).is_none()
                && !is_directive(v, "delete")
                && let Some(m) = self.merge_field(None, v, path)?
            {
                out.push(m);
            }
        }
        Ok(out)
    }
}

/// The merge-key value as a string, the way kyaml compares them (`80` equals `"80"`).
fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Orders `list` by `order` (`$setElementOrder`): listed elements in that order, others after,
/// keeping their relative order.
fn reorder(list: &mut [Value], order: &[Value], strategy: ListStrategy) {
    let rank = |v: &Value| -> usize {
        let probe = match strategy {
            ListStrategy::MergeByKey(key) => v.get(key).map(key_string),
            _ => Some(key_string(v)),
        };
        probe
            .and_then(|p| {
                order.iter().position(|o| match strategy {
                    ListStrategy::MergeByKey(key) => {
                        o.get(key).map(key_string).as_deref() == Some(&p)
                    }
                    _ => key_string(o) == p,
                })
            })
            .unwrap_or(usize::MAX)
    };
    list.sort_by_key(|v| rank(v));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"template": {"spec": spec}}})
    }

    fn run(t: Value, p: Value, flavor: Flavor) -> Value {
        let ty = TypeInfo::of(&t);
        let ty = TypeInfo {
            api_version: ty.api_version,
            kind: ty.kind,
        };
        patch_with(&t, &p, &ty, flavor).unwrap()
    }

    #[test]
    fn table() {
        use Flavor::*;
        let cases: Vec<(&str, Value, Value, Flavor, Value)> = vec![
            (
                "containers merge by name; env by name; api server appends",
                dep(
                    json!({"containers": [{"name": "a", "image": "x", "env": [{"name": "B", "value": "1"}, {"name": "A", "value": "x"}]}]}),
                ),
                dep(
                    json!({"containers": [{"name": "a", "env": [{"name": "C", "value": "2"}, {"name": "A", "value": "y"}]}]}),
                ),
                ApiServer,
                dep(
                    json!({"containers": [{"name": "a", "image": "x", "env": [{"name": "B", "value": "1"}, {"name": "A", "value": "y"}, {"name": "C", "value": "2"}]}]}),
                ),
            ),
            (
                "kustomize puts patch elements first",
                dep(
                    json!({"containers": [{"name": "a", "image": "x", "env": [{"name": "B", "value": "1"}, {"name": "A", "value": "x"}]}]}),
                ),
                dep(
                    json!({"containers": [{"name": "a", "env": [{"name": "C", "value": "2"}, {"name": "A", "value": "y"}]}]}),
                ),
                Kustomize,
                dep(
                    json!({"containers": [{"name": "a", "image": "x", "env": [{"name": "C", "value": "2"}, {"name": "A", "value": "y"}, {"name": "B", "value": "1"}]}]}),
                ),
            ),
            (
                "tolerations replace; null deletes",
                dep(json!({"tolerations": [{"key": "a"}], "nodeSelector": {"x": "1"}})),
                dep(json!({"tolerations": [{"key": "b"}], "nodeSelector": null})),
                ApiServer,
                dep(json!({"tolerations": [{"key": "b"}]})),
            ),
            (
                "$patch delete element",
                dep(json!({"containers": [{"name": "a"}, {"name": "b"}]})),
                dep(json!({"containers": [{"name": "a", "$patch": "delete"}]})),
                Kustomize,
                dep(json!({"containers": [{"name": "b"}]})),
            ),
            (
                "$patch replace list",
                dep(json!({"volumes": [{"name": "a"}, {"name": "b"}]})),
                dep(json!({"volumes": [{"$patch": "replace"}, {"name": "c", "emptyDir": {}}]})),
                ApiServer,
                dep(json!({"volumes": [{"name": "c", "emptyDir": {}}]})),
            ),
            (
                "$patch replace map",
                dep(json!({"securityContext": {"runAsUser": 1, "fsGroup": 2}})),
                dep(json!({"securityContext": {"$patch": "replace", "runAsGroup": 3}})),
                ApiServer,
                dep(json!({"securityContext": {"runAsGroup": 3}})),
            ),
            (
                "$patch delete map",
                dep(json!({"securityContext": {"runAsUser": 1}, "x": 1})),
                dep(json!({"securityContext": {"$patch": "delete"}})),
                ApiServer,
                dep(json!({"x": 1})),
            ),
            (
                "$retainKeys drops other volume sources",
                dep(json!({"volumes": [{"name": "v", "emptyDir": {}}]})),
                dep(
                    json!({"volumes": [{"name": "v", "$retainKeys": ["name", "configMap"], "configMap": {"name": "c"}}]}),
                ),
                ApiServer,
                dep(json!({"volumes": [{"name": "v", "configMap": {"name": "c"}}]})),
            ),
            (
                "$setElementOrder orders merged list",
                dep(json!({"containers": [{"name": "a"}, {"name": "b"}]})),
                dep(
                    json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [{"name": "a", "image": "i"}]}),
                ),
                ApiServer,
                dep(json!({"containers": [{"name": "b"}, {"name": "a", "image": "i"}]})),
            ),
            (
                "$deleteFromPrimitiveList",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["a", "b"]}}),
                json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}}),
                ApiServer,
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"finalizers": ["b", "c"]}}),
            ),
            (
                "custom resources: lists replaced even with names",
                json!({"apiVersion": "x.io/v1", "kind": "Foo", "spec": {"items": [{"name": "a", "v": 1}]}}),
                json!({"spec": {"items": [{"name": "b"}], "new": {"k": null, "j": 1}}}),
                Kustomize,
                json!({"apiVersion": "x.io/v1", "kind": "Foo", "spec": {"items": [{"name": "b"}], "new": {"j": 1}}}),
            ),
            (
                "service ports merge by port",
                json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80, "name": "http"}]}}),
                json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
                ApiServer,
                json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443}]}}),
            ),
        ];
        for (name, t, p, flavor, want) in cases {
            assert_eq!(run(t, p, flavor), want, "{name}");
        }
    }

    #[test]
    fn errors() {
        let ty = TypeInfo {
            api_version: "v1",
            kind: "Pod",
        };
        assert!(matches!(
            patch(&json!({}), &json!([1]), &ty),
            Err(MergeError::PatchNotObject { .. })
        ));
        let e = patch(&json!({}), &json!({"spec": {"$patch": "bogus"}}), &ty).unwrap_err();
        assert!(matches!(e, MergeError::UnknownDirective { ref path, .. } if path == "spec"));
        assert!(e.hint().is_some());
        let e = patch(&json!({}), &json!({"$retainKeys": "x"}), &ty).unwrap_err();
        assert!(matches!(e, MergeError::InvalidDirective { .. }));
    }
}
