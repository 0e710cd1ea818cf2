//! `replicas` and the built-in `ReplicaCountTransformer`: sets `spec.replicas` (or the field
//! specs' fields) of objects selected by kind and any of their names, failing when nothing
//! matches, like kustomize.

use std::path::Path;

use serde_json::Value;

use crate::kustomize::error::RenderError;
use crate::kustomize::fieldspec::{FieldSpec, Leaf, visit};
use crate::kustomize::kustomization::{Loaded, Replica};
use crate::kustomize::resource::{Resource, invalid};

/// kustomize's default replicas field specs.
fn default_specs() -> Vec<FieldSpec> {
    [
        ("", "Deployment"),
        ("", "ReplicationController"),
        ("", "ReplicaSet"),
        ("apps", "StatefulSet"),
    ]
    .iter()
    .map(|(g, k)| FieldSpec::of(g, "", k, "spec/replicas", true))
    .collect()
}

/// Applies `l.k.replicas`.
pub(crate) fn apply(l: &Loaded, res: &mut [Resource]) -> Result<(), RenderError> {
    let specs = default_specs();
    for rep in &l.k.replicas {
        apply_one(&l.file, rep, &specs, res)?;
    }
    Ok(())
}

/// Sets one replica count at `specs`; `file` is named in errors.
pub(crate) fn apply_one(
    file: &Path,
    rep: &Replica,
    specs: &[FieldSpec],
    res: &mut [Resource],
) -> Result<(), RenderError> {
    let mut found = false;
    for fs in specs {
        for r in res.iter_mut() {
            if !fs.selects(&r.gvk()) || !r.all_ids().iter().any(|id| id.name == rep.name) {
                continue;
            }
            found = true;
            let _ = visit::<()>(
                &mut r.obj,
                &fs.segments(),
                fs.create,
                Leaf::Scalar,
                &mut |node| {
                    *node = Value::from(rep.count);
                    Ok(())
                },
            );
        }
    }
    if !found {
        return Err(invalid(
            file,
            "replicas",
            format!(
                "no Deployment, ReplicationController, ReplicaSet or StatefulSet named `{}`",
                rep.name
            ),
        ));
    }
    Ok(())
}
