//! `replicas`: sets `spec.replicas` of Deployments, ReplicationControllers, ReplicaSets and
//! StatefulSets by name (any of their names), failing when nothing matches, like kustomize.

use serde_json::Value;

use crate::kustomize::error::RenderError;
use crate::kustomize::kustomization::Loaded;
use crate::kustomize::resource::{Resource, ensure_object, invalid};

const KINDS: [&str; 4] = [
    "Deployment",
    "ReplicationController",
    "ReplicaSet",
    "StatefulSet",
];

/// Applies `l.k.replicas`.
pub(crate) fn apply(l: &Loaded, res: &mut [Resource]) -> Result<(), RenderError> {
    for rep in &l.k.replicas {
        let mut found = false;
        for r in res.iter_mut() {
            if !KINDS.contains(&r.kind()) || !r.all_ids().iter().any(|id| id.name == rep.name) {
                continue;
            }
            found = true;
            let obj = ensure_object(&mut r.obj);
            let spec = ensure_object(obj.entry("spec").or_insert(Value::Null));
            spec.insert("replicas".into(), Value::from(rep.count));
        }
        if !found {
            return Err(invalid(
                &l.file,
                "replicas",
                format!(
                    "no Deployment, ReplicationController, ReplicaSet or StatefulSet named `{}`",
                    rep.name
                ),
            ));
        }
    }
    Ok(())
}
