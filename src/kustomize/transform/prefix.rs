//! `namePrefix` / `nameSuffix` and the built-in `PrefixSuffixTransformer`: renames every
//! object its field specs select except CustomResourceDefinitions, Namespaces and APIServices
//! (kustomize skips those always), remembering the previous name so that references can be
//! fixed at the end of the build. A field spec other than `metadata/name` prefixes that field.

use serde_json::Value;

use crate::kustomize::fieldspec::{FieldSpec, Leaf, visit};
use crate::kustomize::kustomization::Loaded;
use crate::kustomize::resource::Resource;

/// Applies `l.k.name_prefix` / `name_suffix` (kustomize's default spec: `metadata/name`).
pub(crate) fn apply(l: &Loaded, res: &mut [Resource]) {
    let (p, s) = (l.k.name_prefix.as_str(), l.k.name_suffix.as_str());
    if p.is_empty() && s.is_empty() {
        return;
    }
    apply_specs(
        res,
        p,
        s,
        &[FieldSpec::of("", "", "", "metadata/name", false)],
    );
}

/// Adds `p` and `s` at every field of `specs` (kustomize's PrefixSuffixTransformer).
pub(crate) fn apply_specs(res: &mut [Resource], p: &str, s: &str, specs: &[FieldSpec]) {
    for r in res.iter_mut() {
        let org = r.org_id().gvk;
        let skip = org.kind == "CustomResourceDefinition"
            || org.kind == "Namespace"
            || (org.kind == "APIService" && org.group == "apiregistration.k8s.io");
        if skip {
            continue;
        }
        for fs in specs.iter().filter(|fs| fs.selects(&org)) {
            if fs.segments() == ["metadata", "name"] {
                if !p.is_empty() || !s.is_empty() {
                    r.store_previous_id();
                }
                let name = format!("{p}{}{s}", r.name());
                r.set_name(&name);
                continue;
            }
            let _ = visit::<()>(
                &mut r.obj,
                &fs.segments(),
                fs.create,
                Leaf::Scalar,
                &mut |node| {
                    let old = match node {
                        Value::String(v) => v.clone(),
                        Value::Null => String::new(),
                        _ => return Ok(()),
                    };
                    *node = Value::String(format!("{p}{old}{s}"));
                    Ok(())
                },
            );
        }
    }
}
