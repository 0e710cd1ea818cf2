//! Which rendered objects a step works on, and the run-time wiring of derived values into them.
//!
//! Pure: takes the stage's rendered overlay and the step's parameters, returns objects. Never
//! talks to the cluster. Objects are selected by the `democtl.io/component` label that every
//! component of `gitops/` carries; `set:` entries write derived values (`{{key}}`) into fields
//! of the selected objects. There is no other templating: manifests never hold placeholders.

use serde_json::Value;

use crate::stage::params::{ApplyParams, SetValue};

/// Label that names an object's component in `gitops/`.
pub const COMPONENT_LABEL: &str = "democtl.io/component";

/// Something wrong with a selection or a `set:` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("no rendered object `{kind}/{name}` among the selected objects for `set`")]
    SetTargetMissing { kind: String, name: String },
    #[error("value `{key}` for `{kind}/{name}` is not known yet")]
    ValueMissing {
        key: String,
        kind: String,
        name: String,
    },
    #[error("pointer `{pointer}` of `{kind}/{name}` is not a JSON pointer into an object")]
    BadPointer {
        pointer: String,
        kind: String,
        name: String,
    },
}

impl SelectionError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SelectionError::SetTargetMissing { .. } => {
                Some("`set` entries must name an object of the step's components and kinds".into())
            }
            SelectionError::ValueMissing { key, .. } => Some(format!(
                "`{key}` is derived by an earlier step (e.g. a `wait-ready` capture); deploy the stage that derives it first"
            )),
            SelectionError::BadPointer { .. } => {
                Some("write pointers like `/data/KEY` or `/spec/replicas`".into())
            }
        }
    }
}

/// Component of a rendered object (`democtl.io/component`), if labelled.
pub fn component_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/labels")
        .and_then(|l| l.get(COMPONENT_LABEL))
        .and_then(Value::as_str)
}

/// Kind of a rendered object.
pub fn kind_of(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Name of a rendered object.
pub fn name_of(obj: &Value) -> &str {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Namespace of a rendered object (None for cluster-scoped objects).
pub fn namespace_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The objects of `components` (all objects when empty), restricted to `kinds` (when given)
/// and without `exclude_kinds`, in render order.
pub fn select<'a>(
    objects: &'a [Value],
    components: &[String],
    kinds: &[String],
    exclude_kinds: &[String],
) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| {
            components.is_empty()
                || component_of(o).is_some_and(|c| components.iter().any(|w| w == c))
        })
        .filter(|o| kinds.is_empty() || kinds.iter().any(|k| k == kind_of(o)))
        .filter(|o| !exclude_kinds.iter().any(|k| k == kind_of(o)))
        .collect()
}

/// The objects an `apply` step sends: [`select`] by its parameters, then its `set:` entries
/// resolved with `value` (the derived values of the run: `ctx.value(key)`).
pub fn select_objects(
    objects: &[Value],
    params: &ApplyParams,
    value: &dyn Fn(&str) -> Option<Value>,
) -> Result<Vec<Value>, SelectionError> {
    let mut selected: Vec<Value> = select(
        objects,
        &params.components,
        &params.kinds,
        &params.exclude_kinds,
    )
    .into_iter()
    .cloned()
    .collect();
    for set in &params.set {
        apply_set(&mut selected, set, value)?;
    }
    Ok(selected)
}

/// Writes one `set:` entry into the matching object.
pub fn apply_set(
    objects: &mut [Value],
    set: &SetValue,
    value: &dyn Fn(&str) -> Option<Value>,
) -> Result<(), SelectionError> {
    let target = objects
        .iter_mut()
        .find(|o| kind_of(o) == set.kind && name_of(o) == set.name)
        .ok_or_else(|| SelectionError::SetTargetMissing {
            kind: set.kind.clone(),
            name: set.name.clone(),
        })?;
    let text = expand(&set.value, value).map_err(|key| SelectionError::ValueMissing {
        key,
        kind: set.kind.clone(),
        name: set.name.clone(),
    })?;
    let bad = || SelectionError::BadPointer {
        pointer: set.pointer.clone(),
        kind: set.kind.clone(),
        name: set.name.clone(),
    };
    let Some(rest) = set.pointer.strip_prefix('/') else {
        return Err(bad());
    };
    let tokens: Vec<String> = rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let (last, parents) = tokens.split_last().ok_or_else(bad)?;
    let mut here = target;
    for token in parents {
        let map = here.as_object_mut().ok_or_else(bad)?;
        here = map
            .entry(token.clone())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    let map = here.as_object_mut().ok_or_else(bad)?;
    map.insert(last.clone(), Value::String(text));
    Ok(())
}

/// Replaces every `{{key}}` in `template` by the derived value `key` (strings as they are,
/// other JSON as JSON text). Err(key) names the first unknown key.
pub fn expand(template: &str, value: &dyn Fn(&str) -> Option<Value>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let key = after[..end].trim();
        match value(key) {
            Some(Value::String(s)) => out.push_str(&s),
            Some(Value::Null) | None => return Err(key.to_string()),
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Finds one rendered object by kind, name and namespace.
pub fn find<'a>(
    objects: &'a [Value],
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| kind_of(o) == kind && name_of(o) == name && namespace_of(o) == namespace)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn objects() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "llama-stack-endpoints", "namespace": "private-ai-demo",
                                "labels": {"democtl.io/component": "llama-stack"}},
                   "data": {"VLLM_URL": "http://in-cluster/v1"}}),
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "m", "namespace": "private-ai-demo",
                                "labels": {"democtl.io/component": "model-serving"}}}),
            json!({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": "download", "namespace": "private-ai-demo",
                                "labels": {"democtl.io/component": "model-loader"}}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "unlabelled"}}),
        ]
    }

    fn names(v: &[&Value]) -> Vec<String> {
        v.iter().map(|o| name_of(o).to_string()).collect()
    }

    #[test]
    fn selects_by_component_kind_and_exclusion() {
        let objs = objects();
        let s = |c: &[&str], k: &[&str], x: &[&str]| {
            let c: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            let k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
            let x: Vec<String> = x.iter().map(|s| s.to_string()).collect();
            names(&select(&objs, &c, &k, &x))
        };
        assert_eq!(
            s(&["model-serving", "model-loader"], &[], &[]),
            ["m", "download"]
        );
        assert_eq!(
            s(&["model-serving", "model-loader"], &["Job"], &[]),
            ["download"]
        );
        assert_eq!(s(&["model-serving", "model-loader"], &[], &["Job"]), ["m"]);
        assert_eq!(s(&[], &[], &[]).len(), 4);
        assert!(s(&["nope"], &[], &[]).is_empty());
    }

    #[test]
    fn set_writes_derived_values_and_names_missing_ones() {
        let objs = objects();
        let params = ApplyParams {
            components: vec!["llama-stack".into()],
            set: vec![SetValue {
                kind: "ConfigMap".into(),
                name: "llama-stack-endpoints".into(),
                pointer: "/data/VLLM_URL".into(),
                value: "{{stage1.isvc.q.url}}/v1".into(),
            }],
            ..ApplyParams::default()
        };
        let known = |k: &str| (k == "stage1.isvc.q.url").then(|| json!("https://q.apps.example"));
        let out = select_objects(&objs, &params, &known).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["data"]["VLLM_URL"], "https://q.apps.example/v1");
        // the shared render is untouched
        assert_eq!(objs[0]["data"]["VLLM_URL"], "http://in-cluster/v1");

        let err = select_objects(&objs, &params, &|_| None).unwrap_err();
        assert_eq!(
            err,
            SelectionError::ValueMissing {
                key: "stage1.isvc.q.url".into(),
                kind: "ConfigMap".into(),
                name: "llama-stack-endpoints".into()
            }
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn set_creates_missing_parents_and_rejects_bad_targets() {
        let mut objs = objects();
        let set = |pointer: &str, name: &str| SetValue {
            kind: "ConfigMap".into(),
            name: name.into(),
            pointer: pointer.into(),
            value: "x".into(),
        };
        apply_set(
            &mut objs,
            &set("/metadata/annotations/a~1b", "llama-stack-endpoints"),
            &|_| None,
        )
        .unwrap();
        assert_eq!(objs[0]["metadata"]["annotations"]["a/b"], "x");
        assert!(matches!(
            apply_set(&mut objs, &set("data/x", "llama-stack-endpoints"), &|_| {
                None
            }),
            Err(SelectionError::BadPointer { .. })
        ));
        assert!(matches!(
            apply_set(
                &mut objs,
                &set("/data/VLLM_URL/deeper", "llama-stack-endpoints"),
                &|_| None
            ),
            Err(SelectionError::BadPointer { .. })
        ));
        assert!(matches!(
            apply_set(&mut objs, &set("/data/x", "other"), &|_| None),
            Err(SelectionError::SetTargetMissing { .. })
        ));
    }

    #[test]
    fn expand_keeps_text_without_placeholders_and_renders_non_strings() {
        assert_eq!(
            expand("plain $HOME text", &|_| None).unwrap(),
            "plain $HOME text"
        );
        assert_eq!(expand("n={{n}}", &|_| Some(json!(4))).unwrap(), "n=4");
        assert_eq!(
            expand("open {{ never closed", &|_| None).unwrap(),
            "open {{ never closed"
        );
        assert_eq!(expand("{{a}}", &|_| Some(Value::Null)).unwrap_err(), "a");
    }
}
