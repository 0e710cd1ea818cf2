//! Which related objects a rule can use, so the caller knows what to list before calling
//! `assess`: the label selector of an object's pods, and whether an object deletes itself once
//! finished. Pure: returns selectors, never lists anything.

use serde_json::Value;

use super::GroupKind;
use super::generic::{name_of, str_at};
use super::rules::custom::lookup;

/// The label selector (in `kubectl -l` / `labelSelector=` syntax) of the pods that belong to
/// `obj`, in `obj`'s namespace: a workload's or Job's `spec.selector`, or for custom kinds the
/// label their operator puts on the pods (`serving.kserve.io/inferenceservice=<name>`,
/// `notebook-name=<name>`, …). `None` for kinds without pods, or a selector that selects
/// nothing useful (empty).
pub fn pod_selector(obj: &Value) -> Option<String> {
    let gk = GroupKind::of(obj);
    match (gk.group.as_str(), gk.kind.as_str()) {
        ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job") => obj.pointer("/spec/selector").and_then(render_selector),
        _ => {
            let label = lookup(&gk)?.pods_label?;
            Some(format!("{label}={}", name_of(obj)))
        }
    }
}

/// Render a `LabelSelector` (`matchLabels` + `matchExpressions`) as selector text. `None` when
/// it is empty or has an operator the syntax cannot express.
pub fn render_selector(selector: &Value) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            parts.push(format!("{k}={}", v.as_str()?));
        }
    }
    if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = str_at(e, "/key")?;
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            parts.push(match str_at(e, "/operator")? {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.to_string(),
                "DoesNotExist" => format!("!{key}"),
                _ => return None,
            });
        }
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// Whether the object removes itself when done (a Job with `ttlSecondsAfterFinished`): if a wait
/// saw it and it is now gone, it finished; treat NotFound as Current (Flux does the same).
pub fn deletes_itself_when_finished(obj: &Value) -> bool {
    GroupKind::of(obj).is("batch", "Job")
        && obj
            .pointer("/spec/ttlSecondsAfterFinished")
            .is_some_and(Value::is_number)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::obj;
    use super::*;

    #[test]
    fn selectors_for_workloads_jobs_and_custom_kinds() {
        let cases = [
            (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {selector: {matchLabels: {app: vllm, tier: serve}}}\n",
                Some("app=vllm,tier=serve"),
            ),
            (
                "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  selector:\n    matchLabels: {batch.kubernetes.io/controller-uid: abc}\n    matchExpressions:\n    - {key: env, operator: In, values: [a, b]}\n    - {key: x, operator: Exists}\n    - {key: w, operator: DoesNotExist}\n    - {key: z, operator: NotIn, values: [c]}\n",
                Some("batch.kubernetes.io/controller-uid=abc,env in (a,b),x,!w,z notin (c)"),
            ),
            (
                "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n",
                None,
            ),
            (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {selector: {matchExpressions: [{key: a, operator: Weird}]}}\n",
                None,
            ),
            (
                "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral}\n",
                Some("serving.kserve.io/inferenceservice=mistral"),
            ),
            (
                "apiVersion: kubeflow.org/v1\nkind: Notebook\nmetadata: {name: wb}\n",
                Some("notebook-name=wb"),
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                None,
            ),
            (
                "apiVersion: nvidia.com/v1\nkind: ClusterPolicy\nmetadata: {name: c}\n",
                None,
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(pod_selector(&obj(yaml)).as_deref(), want, "{yaml}");
        }
    }

    #[test]
    fn ttl_jobs_delete_themselves() {
        assert!(deletes_itself_when_finished(&obj(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {ttlSecondsAfterFinished: 0}\n"
        )));
        assert!(!deletes_itself_when_finished(&obj(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n"
        )));
        assert!(!deletes_itself_when_finished(&obj(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: j}\nspec: {ttlSecondsAfterFinished: 0}\n"
        )));
    }
}
