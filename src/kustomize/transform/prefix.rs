//! `namePrefix` / `nameSuffix`: renames every object except CustomResourceDefinitions,
//! Namespaces and APIServices (kustomize's default field specs), remembering the previous name so that
//! references can be fixed at the end of the build.

use crate::kustomize::kustomization::Loaded;
use crate::kustomize::resource::Resource;

/// Applies `l.k.name_prefix` / `name_suffix`.
pub(crate) fn apply(l: &Loaded, res: &mut [Resource]) {
    let (p, s) = (l.k.name_prefix.as_str(), l.k.name_suffix.as_str());
    if p.is_empty() && s.is_empty() {
        return;
    }
    for r in res.iter_mut() {
        let org = r.org_id().gvk;
        let skip = org.kind == "CustomResourceDefinition"
            || org.kind == "Namespace"
            || (org.kind == "APIService" && org.group == "apiregistration.k8s.io");
        if skip {
            continue;
        }
        r.store_previous_id();
        let name = format!("{p}{}{s}", r.name());
        r.set_name(&name);
    }
}
