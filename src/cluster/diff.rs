//! Dry-run diff of live vs would-be objects (YAML, `similar` line diff, Secret data masked) and
//! the kapp-style plan table. Returns data; `app`/`report` decide how to print it.

use serde::Serialize;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::apply::ApplyReport;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub tag: DiffTag,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffTag {
    Added,
    Removed,
    Context,
    /// `@@ … @@`-style separator between hunks.
    Hunk,
}

impl DiffTag {
    pub fn sign(self) -> &'static str {
        match self {
            DiffTag::Added => "+",
            DiffTag::Removed => "-",
            DiffTag::Context => " ",
            DiffTag::Hunk => "",
        }
    }
}

/// Fields the server owns or that change on every write; never part of a diff.
const NOISE: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
];

/// The object as it is compared: server bookkeeping and `status` removed, Secret values masked
/// (`masked_against` decides "changed" vs "unchanged" per key without revealing values).
fn normalize(obj: &Value, masked_against: Option<&Value>) -> Value {
    let mut o = strip(obj);
    if o.get("kind").and_then(Value::as_str) == Some("Secret") {
        for field in ["data", "stringData"] {
            let other = masked_against.and_then(|m| m.get(field)).cloned();
            if let Some(data) = o.get_mut(field).and_then(Value::as_object_mut) {
                for (k, v) in data.iter_mut() {
                    let same = other.as_ref().and_then(|m| m.get(k)) == Some(&*v);
                    *v = Value::String(if same || masked_against.is_none() {
                        "<masked>".into()
                    } else {
                        "<masked, changed>".into()
                    });
                }
            }
        }
    }
    o
}

/// The object without server bookkeeping and `status` (values not masked).
fn strip(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in NOISE {
            meta.remove(*f);
        }
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
            if ann.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(map) = o.as_object_mut() {
        map.remove("status");
    }
    drop_nulls(&mut o);
    o
}

/// Removes `null` map entries, recursively: to the API server a field set to null is a field
/// not set (omitempty), so `{a: null}` and `{}` are the same object.
pub fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn yaml(v: &Value) -> String {
    serde_saphyr::to_string(v)
        .unwrap_or_else(|_| serde_json::to_string_pretty(v).unwrap_or_default())
}

/// True when the would-be object differs from the live one (ignoring server bookkeeping).
pub fn differs(live: &Value, would_be: &Value) -> bool {
    strip(live) != strip(would_be)
}

/// Diff lines (3 lines of context) from `live` to `would_be`; `None` live = created,
/// `None` would-be = deleted.
pub fn lines(live: Option<&Value>, would_be: Option<&Value>) -> Vec<DiffLine> {
    let old = live.map(|l| yaml(&normalize(l, None))).unwrap_or_default();
    let new = would_be
        .map(|w| {
            yaml(&normalize(
                w,
                Some(live.unwrap_or(&Value::Null)).filter(|_| live.is_some()),
            ))
        })
        .unwrap_or_default();
    let diff = TextDiff::from_lines(&old, &new);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            out.push(DiffLine {
                tag: DiffTag::Hunk,
                text: "…".into(),
            });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let tag = match change.tag() {
                    ChangeTag::Delete => DiffTag::Removed,
                    ChangeTag::Insert => DiffTag::Added,
                    ChangeTag::Equal => DiffTag::Context,
                };
                out.push(DiffLine {
                    tag,
                    text: change.value().trim_end_matches('\n').to_string(),
                });
            }
        }
    }
    out
}

/// Plain unified text of diff lines (`+`/`-`/` ` prefixes), for logs and non-TTY output.
pub fn to_text(lines: &[DiffLine]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(l.tag.sign());
        s.push_str(&l.text);
        s.push('\n');
    }
    s
}

/// One row of the kapp-style plan table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRow {
    pub namespace: String,
    pub name: String,
    pub kind: String,
    /// `create`, `update`, `unchanged`, `recreate`, `prune`.
    pub op: String,
    /// What democtl waits for after applying it (`rollout`, `completion`, …).
    pub wait_to: String,
    pub note: String,
}

/// Column titles of [`plan_rows`].
pub const PLAN_COLUMNS: [&str; 6] = ["Namespace", "Name", "Kind", "Op", "Wait to", "Note"];

/// The plan table of a dry-run report, plus `prune` rows for objects that would be removed.
pub fn plan_rows(report: &ApplyReport, prune: &[super::ObjectKey]) -> Vec<PlanRow> {
    let mut rows: Vec<PlanRow> = report
        .objects
        .iter()
        .map(|o| PlanRow {
            namespace: o
                .key
                .namespace
                .clone()
                .unwrap_or_else(|| "(cluster)".into()),
            name: o.key.name.clone(),
            kind: o.key.kind.clone(),
            op: o.result.as_str(true).to_string(),
            wait_to: o.waits_for.unwrap_or("").to_string(),
            note: o.note.clone().unwrap_or_default(),
        })
        .collect();
    rows.extend(prune.iter().map(|k| PlanRow {
        namespace: k.namespace.clone().unwrap_or_else(|| "(cluster)".into()),
        name: k.name.clone(),
        kind: k.kind.clone(),
        op: "prune".into(),
        wait_to: "delete".into(),
        note: String::new(),
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_data_is_masked_and_changes_still_show() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "resourceVersion": "1"},
            "data": {"token": "c2VjcmV0", "same": "eA=="}});
        let new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "resourceVersion": "2"},
            "data": {"token": "bmV3c2VjcmV0", "same": "eA=="}});
        let text = to_text(&lines(Some(&live), Some(&new)));
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("bmV3c2VjcmV0"),
            "{text}"
        );
        assert!(text.contains("+  token: <masked, changed>"), "{text}");
        assert!(text.contains("-  token: <masked>"), "{text}");
        assert!(!text.contains("resourceVersion"), "{text}");
        assert!(differs(&live, &new));
    }

    #[test]
    fn created_objects_are_all_additions() {
        let new = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let l = lines(None, Some(&new));
        assert!(l.iter().all(|l| l.tag == DiffTag::Added));
        assert!(to_text(&l).contains("+kind: ConfigMap"));
        let created_secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"p": "hunter2"}});
        assert!(!to_text(&lines(None, Some(&created_secret))).contains("hunter2"));
    }

    /// Issue #13: a GPU MachineSet whose provider spec the installer gave
    /// `metadata: {creationTimestamp: null}` was an `update` with an empty diff on every dry run.
    #[test]
    fn a_null_field_is_the_same_as_no_field() {
        let live = json!({"kind": "MachineSet", "metadata": {"name": "m"},
            "spec": {"template": {"spec": {"providerSpec": {"value": {"metadata": {"creationTimestamp": null}, "instanceType": "g6"}}}}}});
        let applied = json!({"kind": "MachineSet", "metadata": {"name": "m"},
            "spec": {"template": {"spec": {"providerSpec": {"value": {"metadata": {}, "instanceType": "g6"}}}}}});
        assert!(!differs(&live, &applied));
        let changed = json!({"kind": "MachineSet", "metadata": {"name": "m"},
            "spec": {"template": {"spec": {"providerSpec": {"value": {"metadata": {}, "instanceType": "g6x"}}}}}});
        assert!(differs(&live, &changed));
    }

    #[test]
    fn bookkeeping_is_not_a_difference() {
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "1",
            "managedFields": [{"manager": "x"}]}, "data": {"a": "1"}});
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "9"}, "data": {"a": "1"}});
        assert!(!differs(&a, &b));
        assert!(lines(Some(&a), Some(&b)).is_empty());
    }
}
