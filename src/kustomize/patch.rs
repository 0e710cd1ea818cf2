//! `patches`, `patchesStrategicMerge` and `patchesJson6902`: loading patches (inline or
//! file), telling strategic-merge from JSON 6902 patches like kustomize, selecting targets
//! (ids, regexes, label and annotation selectors) and applying them with [`crate::merge`].

use serde_json::Value;

use super::error::RenderError;
use super::kustomization::{Loaded, PatchEntry, Selector};
use super::loader::read_text_in_root;
use super::resource::{Gvk, ResId, Resource, invalid, parse_yaml_stream, refuse_non_string_keys};
use crate::merge::{self, Flavor, TypeInfo};
use crate::selector::LabelSelector;

/// A loaded patch.
enum Loaded6902OrSm {
    Sm(Vec<Value>),
    Json(Value),
}

fn load_patch(
    l: &Loaded,
    field: &str,
    path: Option<&str>,
    inline: Option<&str>,
) -> Result<Loaded6902OrSm, RenderError> {
    let (text, shown) = match (path, inline.map(str::trim).filter(|s| !s.is_empty())) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                &l.file,
                field,
                "set either `path` or `patch`, not both",
            ));
        }
        (None, None) => {
            return Err(invalid(
                &l.file,
                field,
                "every patch needs `path` or `patch`",
            ));
        }
        (Some(p), None) => read_text_in_root(l, field, p)?,
        (None, Some(t)) => (t.to_string(), l.file.clone()),
    };
    let docs = parse_yaml_stream(&text, &shown)?;
    match docs.as_slice() {
        [] => Err(invalid(&l.file, field, "patch is empty")),
        [Value::Array(_)] => Ok(Loaded6902OrSm::Json(
            docs.into_iter().next().unwrap_or_default(),
        )),
        _ if docs.iter().all(Value::is_object) => {
            refuse_non_string_keys(&text, &shown, field, shown == l.file)?;
            Ok(Loaded6902OrSm::Sm(docs))
        }
        _ => Err(invalid(
            &l.file,
            field,
            "patch is neither a strategic merge patch (mapping) nor a JSON 6902 patch (list)",
        )),
    }
}

/// Compiles a selector field as an anchored regex (empty = anything).
fn anchored(l: &Loaded, field: &str, pat: &str) -> Result<Option<regex::Regex>, RenderError> {
    if pat.is_empty() {
        return Ok(None);
    }
    regex::Regex::new(&format!("^(?:{pat})$"))
        .map(Some)
        .map_err(|_| {
            invalid(
                &l.file,
                field,
                format!("`{pat}` is not a valid regular expression"),
            )
        })
}

/// Indices of the resources `sel` selects (kustomize `ResMap.Select`).
pub(crate) fn select(
    l: &Loaded,
    field: &str,
    res: &[Resource],
    sel: &Selector,
) -> Result<Vec<usize>, RenderError> {
    let name = anchored(l, field, &sel.name)?;
    let ns = anchored(l, field, &sel.namespace)?;
    let g = anchored(l, field, &sel.group)?;
    let v = anchored(l, field, &sel.version)?;
    let k = anchored(l, field, &sel.kind)?;
    let labels = LabelSelector::parse(&sel.label_selector)
        .map_err(|_| invalid(&l.file, field, "invalid `labelSelector`"))?;
    let annos = LabelSelector::parse(&sel.annotation_selector)
        .map_err(|_| invalid(&l.file, field, "invalid `annotationSelector`"))?;
    let m = |re: &Option<regex::Regex>, s: &str| re.as_ref().is_none_or(|r| r.is_match(s));
    let mut out = Vec::new();
    for (i, r) in res.iter().enumerate() {
        let (cur, org) = (r.cur_id(), r.org_id());
        if !m(&ns, org.effective_namespace()) && !m(&ns, cur.effective_namespace()) {
            continue;
        }
        if !m(&name, &org.name) && !m(&name, &cur.name) {
            continue;
        }
        let gvk = r.gvk();
        if !(m(&g, &gvk.group) && m(&v, &gvk.version) && m(&k, &gvk.kind)) {
            continue;
        }
        if !labels.matches_pairs(&r.string_map("labels"))
            || !annos.matches_pairs(&r.string_map("annotations"))
        {
            continue;
        }
        out.push(i);
    }
    Ok(out)
}

/// The id a strategic merge patch names (its own apiVersion/kind/name/namespace).
fn patch_id(p: &Value) -> ResId {
    let s = |path: &[&str]| {
        let mut v = p;
        for k in path {
            v = match v.get(k) {
                Some(x) => x,
                None => return String::new(),
            };
        }
        v.as_str().unwrap_or("").to_string()
    };
    ResId {
        gvk: Gvk::new(&s(&["apiVersion"]), &s(&["kind"])),
        name: s(&["metadata", "name"]),
        namespace: s(&["metadata", "namespace"]),
    }
}

/// Finds the one resource any of whose ids equals `id`.
fn find_unique(
    l: &Loaded,
    field: &str,
    res: &[Resource],
    id: &ResId,
) -> Result<usize, RenderError> {
    let hits: Vec<usize> = res
        .iter()
        .enumerate()
        .filter(|(_, r)| r.all_ids().iter().any(|x| x.equals(id)))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(invalid(
            &l.file,
            field,
            format!("no resource matches strategic merge patch `{id}`"),
        )),
        _ => Err(invalid(
            &l.file,
            field,
            format!("more than one resource matches strategic merge patch `{id}`"),
        )),
    }
}

/// Applies one strategic merge patch to `res[i]`; removes the resource if the patch deletes
/// it.
fn apply_sm(
    l: &Loaded,
    field: &str,
    res: &mut Vec<Resource>,
    i: usize,
    patch: &Value,
    opts: &PatchOpts,
) -> Result<(), RenderError> {
    let r = &mut res[i];
    let (name, ns, kind) = (
        r.name().to_string(),
        r.namespace().to_string(),
        r.kind().to_string(),
    );
    if opts.allow_name_change || opts.allow_kind_change {
        r.store_previous_id();
    }
    let ty_api = r.api_version().to_string();
    let ty = TypeInfo {
        api_version: &ty_api,
        kind: &kind,
    };
    let merged =
        merge::strategic::patch_with(&r.obj, patch, &ty, Flavor::Kustomize).map_err(|source| {
            RenderError::Patch {
                file: l.file.clone(),
                field: field.into(),
                target: r.cur_id().to_string(),
                source: Box::new(source),
            }
        })?;
    r.obj = merged;
    if r.is_empty() {
        res.remove(i);
        return Ok(());
    }
    if !opts.allow_kind_change
        && let Some(o) = r.obj.as_object_mut()
    {
        o.insert("kind".into(), Value::String(kind));
    }
    if !opts.allow_name_change {
        r.set_name(&name);
    }
    r.set_namespace(&ns);
    Ok(())
}

#[derive(Default)]
struct PatchOpts {
    allow_name_change: bool,
    allow_kind_change: bool,
}

/// `patchesStrategicMerge`: each entry is a file or an inline patch; targets by id.
pub(crate) fn apply_patches_strategic_merge(
    l: &Loaded,
    res: &mut Vec<Resource>,
) -> Result<(), RenderError> {
    let field = "patchesStrategicMerge";
    let mut patches = Vec::new();
    for entry in &l.k.patches_strategic_merge {
        // Like kustomize: try the entry as an inline patch first, then as a file.
        let inline = parse_yaml_stream(entry, &l.file)
            .ok()
            .filter(|d| !d.is_empty() && d.iter().all(Value::is_object));
        match inline {
            Some(docs) => {
                refuse_non_string_keys(entry, &l.file, field, true)?;
                patches.extend(docs)
            }
            None => match load_patch(l, field, Some(entry), None)? {
                Loaded6902OrSm::Sm(docs) => patches.extend(docs),
                Loaded6902OrSm::Json(_) => {
                    return Err(invalid(
                        &l.file,
                        field,
                        format!("`{entry}` is a JSON 6902 patch; list it under `patches`"),
                    ));
                }
            },
        }
    }
    for p in &patches {
        let i = find_unique(l, field, res, &patch_id(p))?;
        apply_sm(l, field, res, i, p, &PatchOpts::default())?;
    }
    Ok(())
}

/// `patches`.
pub(crate) fn apply_patches(l: &Loaded, res: &mut Vec<Resource>) -> Result<(), RenderError> {
    for entry in &l.k.patches {
        apply_patch_entry(l, "patches", res, entry)?;
    }
    Ok(())
}

/// `patchesJson6902` (legacy form of JSON patches in `patches`).
pub(crate) fn apply_patches_json6902(l: &Loaded, res: &mut [Resource]) -> Result<(), RenderError> {
    let field = "patchesJson6902";
    for e in &l.k.patches_json6902 {
        let ops = match load_patch(l, field, e.path.as_deref(), e.patch.as_deref())? {
            Loaded6902OrSm::Json(ops) => ops,
            Loaded6902OrSm::Sm(_) => {
                return Err(invalid(
                    &l.file,
                    field,
                    "expected a JSON 6902 patch (a list of operations)",
                ));
            }
        };
        for i in select(l, field, res, &e.target)? {
            apply_json(l, field, &mut res[i], &ops)?;
        }
    }
    Ok(())
}

fn apply_json(l: &Loaded, field: &str, r: &mut Resource, ops: &Value) -> Result<(), RenderError> {
    r.obj = merge::json_patch(&r.obj, ops).map_err(|source| RenderError::Patch {
        file: l.file.clone(),
        field: field.into(),
        target: r.cur_id().to_string(),
        source: Box::new(source),
    })?;
    Ok(())
}

fn apply_patch_entry(
    l: &Loaded,
    field: &str,
    res: &mut Vec<Resource>,
    e: &PatchEntry,
) -> Result<(), RenderError> {
    let opts = PatchOpts {
        allow_name_change: e.options.get("allowNameChange").copied().unwrap_or(false),
        allow_kind_change: e.options.get("allowKindChange").copied().unwrap_or(false),
    };
    match load_patch(l, field, e.path.as_deref(), e.patch.as_deref())? {
        Loaded6902OrSm::Json(ops) => {
            let Some(target) = &e.target else {
                return Err(invalid(
                    &l.file,
                    field,
                    "a JSON 6902 patch needs a `target`",
                ));
            };
            for i in select(l, field, res, target)? {
                apply_json(l, field, &mut res[i], &ops)?;
            }
        }
        Loaded6902OrSm::Sm(docs) => match &e.target {
            Some(target) => {
                if docs.len() > 1 {
                    return Err(invalid(
                        &l.file,
                        field,
                        "a patch with a `target` may hold only one strategic merge patch",
                    ));
                }
                let picked = select(l, field, res, target)?;
                // Apply from the back so that a deleting patch does not shift later indices.
                for i in picked.into_iter().rev() {
                    let mut p = docs[0].clone();
                    let r = &res[i];
                    if let Some(o) = p.as_object_mut() {
                        // With allowKindChange / allowNameChange the patch's own kind / name win.
                        if !opts.allow_kind_change || o.get("kind").is_none() {
                            o.insert("apiVersion".into(), Value::String(r.api_version().into()));
                            o.insert("kind".into(), Value::String(r.kind().into()));
                        }
                        let md = o
                            .entry("metadata")
                            .or_insert_with(|| Value::Object(Default::default()));
                        if let Some(md) = md.as_object_mut() {
                            if !opts.allow_name_change || md.get("name").is_none() {
                                md.insert("name".into(), Value::String(r.name().into()));
                            }
                            if r.namespace().is_empty() {
                                md.remove("namespace");
                            } else {
                                md.insert("namespace".into(), Value::String(r.namespace().into()));
                            }
                        }
                    }
                    apply_sm(l, field, res, i, &p, &opts)?;
                }
            }
            None => {
                for p in &docs {
                    let i = find_unique(l, field, res, &patch_id(p))?;
                    apply_sm(l, field, res, i, p, &opts)?;
                }
            }
        },
    }
    Ok(())
}
