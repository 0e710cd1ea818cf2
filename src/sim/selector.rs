//! Field selectors (`metadata.name=x`, plus the per-kind fields kube-apiserver supports), parsed from list/watch
//! query strings and matched against stored JSON; label selectors are `crate::selector`. Pure.

use serde_json::Value;

pub use crate::selector::LabelSelector;
use crate::selector::split_top;

/// A parsed field selector (all terms must hold).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Fields kube-apiserver supports in field selectors, per resource (beyond metadata.name/namespace).
fn supported_fields(resource: &str) -> &'static [&'static str] {
    match resource {
        "pods" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "events" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "secrets" => &["type"],
        "nodes" => &["spec.unschedulable"],
        "namespaces" => &["status.phase"],
        "jobs" => &["status.successful"],
        "replicasets" => &["status.replicas"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parses a selector for `resource`; the error is kube's 400 message.
    pub fn parse(s: &str, resource: &str) -> Result<Self, String> {
        let mut terms = vec![];
        for part in split_top(s) {
            let (k, neg, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, false, v)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let k = k.trim();
            if k != "metadata.name"
                && k != "metadata.namespace"
                && !supported_fields(resource).contains(&k)
            {
                return Err(format!("field label not supported: {k}"));
            }
            terms.push((k.to_string(), neg, v.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    /// The name required by a `metadata.name=` term, if any.
    pub fn name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, neg, _)| k == "metadata.name" && !neg)
            .map(|(_, _, v)| v.as_str())
    }

    /// Whether the object satisfies the selector.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, neg, want)| {
            let pointer = format!("/{}", k.replace('.', "/"));
            let got = match obj.pointer(&pointer) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            (got == *want) != *neg
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_selectors() {
        let o =
            json!({"metadata": {"name": "x", "namespace": "n"}, "status": {"phase": "Running"}});
        assert!(
            FieldSelector::parse("metadata.name=x", "pods")
                .unwrap()
                .matches(&o)
        );
        assert!(
            FieldSelector::parse("status.phase!=Pending", "pods")
                .unwrap()
                .matches(&o)
        );
        assert_eq!(
            FieldSelector::parse("spec.foo=1", "configmaps").unwrap_err(),
            "field label not supported: spec.foo"
        );
    }
}
