//! `namespace`: sets `metadata.namespace` on namespaced objects (not on known cluster-scoped
//! kinds), renames `Namespace` objects, and sets the namespace of RoleBinding /
//! ClusterRoleBinding subjects named `default`, as kustomize's namespace transformer does.

use serde_json::Value;

use std::path::Path;

use crate::kustomize::error::RenderError;
use crate::kustomize::fieldspec::{FieldSpec, Leaf, visit};
use crate::kustomize::kustomization::Loaded;
use crate::kustomize::resource::{Resource, invalid};

/// Which RoleBinding subjects get the namespace (`setRoleBindingSubjects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subjects {
    /// Subjects named `default` (kustomize's default).
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    /// None.
    None,
}

/// The options of the built-in `NamespaceTransformer`; `specs: None` is kustomize's default
/// configuration (`metadata/namespace` of every namespaced kind, plus its special fields).
pub(crate) struct NsOptions<'a> {
    pub unset_only: bool,
    pub subjects: Subjects,
    pub specs: Option<&'a [FieldSpec]>,
}

/// Applies `l.k.namespace` to every resource.
pub(crate) fn apply(l: &Loaded, res: &mut [Resource]) -> Result<(), RenderError> {
    let opts = NsOptions {
        unset_only: false,
        subjects: Subjects::DefaultOnly,
        specs: None,
    };
    apply_with(&l.file, &l.k.namespace, res, &opts)
}

/// Sets namespace `ns` as configured by `opts`; `file` is named in errors.
pub(crate) fn apply_with(
    file: &Path,
    ns: &str,
    res: &mut [Resource],
    opts: &NsOptions,
) -> Result<(), RenderError> {
    if ns.is_empty() {
        return Ok(());
    }
    for r in res.iter_mut() {
        r.store_previous_id();
        let gvk = r.gvk();
        let meta_spec = opts.specs.is_none_or(|specs| {
            specs
                .iter()
                .any(|fs| fs.selects(&gvk) && fs.segments() == ["metadata", "namespace"])
        });
        if meta_spec && !gvk.is_cluster_scoped() && (!opts.unset_only || r.namespace().is_empty()) {
            r.set_namespace(ns);
        }
        if meta_spec && gvk.kind == "Namespace" && gvk.group.is_empty() && gvk.version == "v1" {
            r.set_name(ns);
        }
        if matches!(gvk.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects")
        {
            for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                let pick = match opts.subjects {
                    Subjects::DefaultOnly => {
                        s.get("name").and_then(Value::as_str) == Some("default")
                    }
                    Subjects::AllServiceAccounts => {
                        s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                    }
                    Subjects::None => false,
                };
                if pick {
                    s.insert("namespace".into(), Value::String(ns.into()));
                }
            }
        }
        if let Some(specs) = opts.specs {
            // Explicit field specs: every other selected field is set as given.
            for fs in specs
                .iter()
                .filter(|fs| fs.selects(&gvk) && fs.segments() != ["metadata", "namespace"])
            {
                let _ = visit::<()>(
                    &mut r.obj,
                    &fs.segments(),
                    fs.create,
                    Leaf::Scalar,
                    &mut |node| {
                        *node = Value::String(ns.into());
                        Ok(())
                    },
                );
            }
            continue;
        }
        // kustomize's field spec for APIServices has `create: true`.
        if gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io" {
            let spec = r.obj.as_object_mut().map(|o| {
                o.entry("spec")
                    .or_insert_with(|| Value::Object(Default::default()))
            });
            if let Some(Value::Object(spec)) = spec
                && let Value::Object(svc) = spec
                    .entry("service")
                    .or_insert_with(|| Value::Object(Default::default()))
            {
                svc.insert("namespace".into(), Value::String(ns.into()));
            }
        }
        if gvk.kind == "CustomResourceDefinition"
            && let Some(svc) = r
                .obj
                .pointer_mut("/spec/conversion/webhook/clientConfig/service")
                .and_then(Value::as_object_mut)
        {
            svc.insert("namespace".into(), Value::String(ns.into()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for r in res.iter() {
        let id = r.cur_id();
        let key = (
            id.gvk.clone(),
            id.name.clone(),
            id.effective_namespace().to_string(),
        );
        if !seen.insert(key) {
            return Err(invalid(
                file,
                "namespace",
                format!("namespace transformation produces an id conflict for `{id}`"),
            ));
        }
    }
    Ok(())
}
