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
        if gvk.kind == "Namespace" && gvk.group.is_empty() {
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
        if gvk.kind == "APIService"
            && gvk.group == "apiregistration.k8s.io"
            && let Some(svc) = r
                .obj
                .pointer_mut("/spec/service")
                .and_then(Value::as_object_mut)
        {
            svc.insert("namespace".into(), Value::String(ns.into()));
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
    for (i, r) in res.iter().enumerate() {
        let id = r.cur_id();
        if res.iter().skip(i + 1).any(|o| o.cur_id().equals(&id)) {
            return Err(invalid(
                &l.file,
                "namespace",
                format!("namespace transformation produces an id conflict for `{id}`"),
            ));
        }
    }
    Ok(())
}
