//! `namespace`: sets `metadata.namespace` on namespaced objects (not on known cluster-scoped
//! kinds), renames `Namespace` objects, and sets the namespace of RoleBinding /
//! ClusterRoleBinding subjects named `default`, as kustomize's namespace transformer does.

use serde_json::Value;

use crate::kustomize::error::RenderError;
use crate::kustomize::kustomization::Loaded;
use crate::kustomize::resource::{Resource, invalid};

/// Applies `l.k.namespace` to every resource.
pub(crate) fn apply(l: &Loaded, res: &mut [Resource]) -> Result<(), RenderError> {
    let ns = l.k.namespace.as_str();
    if ns.is_empty() {
        return Ok(());
    }
    for r in res.iter_mut() {
        r.store_previous_id();
        let gvk = r.gvk();
        if !gvk.is_cluster_scoped() {
            r.set_namespace(ns);
        }
        if gvk.kind == "Namespace" && gvk.group.is_empty() && gvk.version == "v1" {
            r.set_name(ns);
        }
        if matches!(gvk.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects")
        {
            for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                if s.get("name").and_then(Value::as_str) == Some("default") {
                    s.insert("namespace".into(), Value::String(ns.into()));
                }
            }
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
                &l.file,
                "namespace",
                format!("namespace transformation produces an id conflict for `{id}`"),
            ));
        }
    }
    Ok(())
}
