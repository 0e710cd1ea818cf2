//! The build: accumulates resources (files, nested kustomizations, components), runs the
//! generators and transformers of each kustomization in kustomize's order, then — once, at
//! the top — adds content-hash suffixes, fixes name references, drops local-config objects
//! and sorts. Reads files only; never the network.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::RenderError;
use super::generators::{self, Behavior, GenKind};
use super::kustomization::{self, Loaded, is_remote, resolve};
use super::loader::file_in_root;
use super::order;
use super::patch;
use super::replacements;
use super::resource::{Resource, invalid, load_manifests};
use super::transform::{images, labels, nameref, namespace, prefix, replicas};

/// Renders the kustomization in `dir`.
pub fn build(dir: &Path) -> Result<Vec<Value>, RenderError> {
    let mut stack = Vec::new();
    let top = kustomization::load(dir)?;
    let mut res = accumulate(top.clone(), false, Vec::new(), &mut stack)?;
    for r in res.iter_mut() {
        if r.generated.as_ref().is_some_and(|g| g.needs_hash) {
            r.store_previous_id();
            let name = format!("{}-{}", r.name(), generators::content_hash(&r.obj));
            r.set_name(&name);
        }
    }
    nameref::fix(&mut res, &top.file)?;
    res.retain(|r| {
        r.obj
            .pointer("/metadata/annotations/config.kubernetes.io~1local-config")
            .and_then(Value::as_str)
            != Some("true")
    });
    order::legacy_sort(&mut res);
    Ok(res.into_iter().map(|r| r.obj).collect())
}

/// Accumulates the kustomization `l` onto `acc` (empty unless `l` is a component).
fn accumulate(
    l: Loaded,
    is_component: bool,
    mut acc: Vec<Resource>,
    stack: &mut Vec<PathBuf>,
) -> Result<Vec<Resource>, RenderError> {
    let k = &l.k;
    if is_component && k.kind != "Component" {
        return Err(invalid(
            &l.file,
            "kind",
            "a directory listed in `components` must have `kind: Component`",
        ));
    }
    if !is_component && k.kind == "Component" {
        return Err(invalid(
            &l.file,
            "kind",
            "a `kind: Component` must be listed under `components`, not `resources`",
        ));
    }
    let canon = l.dir.canonicalize().map_err(|source| RenderError::Read {
        path: l.dir.clone(),
        source,
    })?;
    stack.push(canon);

    let entries: Vec<(&str, &String)> = k
        .resources
        .iter()
        .map(|e| ("resources", e))
        .chain(k.bases.iter().map(|e| ("bases", e)))
        .collect();
    for (field, entry) in entries {
        if is_remote(entry) {
            return Err(RenderError::Remote {
                file: l.file.clone(),
                field: field.into(),
                entry: entry.clone(),
            });
        }
        let path = resolve(&l.dir, entry);
        if path.is_dir() {
            let sub = load_dir(&l, field, entry, &path, stack)?;
            let sub_res = accumulate(sub, false, Vec::new(), stack)?;
            for r in sub_res {
                append(&mut acc, r)?;
            }
        } else {
            let file = file_in_root(&l, field, entry)?;
            for r in load_manifests(&file, &file)? {
                append(&mut acc, r)?;
            }
        }
    }

    for (kind, list) in [
        (GenKind::ConfigMap, &k.config_map_generator),
        (GenKind::Secret, &k.secret_generator),
    ] {
        for args in list {
            let (r, behavior) = generators::generate(&l, kind, args)?;
            absorb(&l, &mut acc, r, behavior, kind)?;
        }
    }

    for entry in &k.components {
        if is_remote(entry) {
            return Err(RenderError::Remote {
                file: l.file.clone(),
                field: "components".into(),
                entry: entry.clone(),
            });
        }
        let path = resolve(&l.dir, entry);
        if !path.is_dir() {
            return Err(RenderError::NotFound {
                file: l.file.clone(),
                field: "components".into(),
                entry: entry.clone(),
            });
        }
        let sub = load_dir(&l, "components", entry, &path, stack)?;
        acc = accumulate(sub, true, acc, stack)?;
    }

    patch::apply_patches_strategic_merge(&l, &mut acc)?;
    patch::apply_patches(&l, &mut acc)?;
    namespace::apply(&l, &mut acc)?;
    prefix::apply(&l, &mut acc);
    labels::apply_labels(&l, &mut acc);
    labels::apply_annotations(&l, &mut acc);
    patch::apply_patches_json6902(&l, &mut acc)?;
    replicas::apply(&l, &mut acc)?;
    images::apply(&l, &mut acc);
    replacements::apply(&l, &mut acc)?;
    acc.retain(|r| !r.is_empty());
    stack.pop();
    Ok(acc)
}

/// Loads the kustomization of a directory entry, refusing cycles (a directory that contains
/// one being built).
fn load_dir(
    l: &Loaded,
    field: &str,
    entry: &str,
    path: &Path,
    stack: &[PathBuf],
) -> Result<Loaded, RenderError> {
    let canon = path.canonicalize().map_err(|source| RenderError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if stack.iter().any(|s| s.starts_with(&canon)) {
        return Err(invalid(
            &l.file,
            field,
            format!("`{entry}` contains a kustomization being built (cycle)"),
        ));
    }
    kustomization::load(path)
}

/// Adds a resource, refusing a second one with the same id.
fn append(acc: &mut Vec<Resource>, r: Resource) -> Result<(), RenderError> {
    if let Some(first) = acc.iter().find(|x| x.same_id(&r)) {
        return Err(RenderError::DuplicateId {
            id: r.cur_id().to_string(),
            first: first.file.clone(),
            second: r.file.clone(),
        });
    }
    acc.push(r);
    Ok(())
}

/// Adds a generated object according to its `behavior`.
fn absorb(
    l: &Loaded,
    acc: &mut Vec<Resource>,
    mut r: Resource,
    behavior: Behavior,
    kind: GenKind,
) -> Result<(), RenderError> {
    let field = if kind == GenKind::ConfigMap {
        "configMapGenerator"
    } else {
        "secretGenerator"
    };
    let id = r.cur_id();
    let hits: Vec<usize> = acc
        .iter()
        .enumerate()
        .filter(|(_, x)| x.all_ids().iter().any(|i| i.equals(&id)))
        .map(|(i, _)| i)
        .collect();
    match (hits.as_slice(), behavior) {
        ([], Behavior::Create) => append(acc, r),
        ([], _) => Err(invalid(
            &l.file,
            field,
            format!("`{}` does not exist; cannot merge or replace", r.name()),
        )),
        ([_], Behavior::Create) => Err(invalid(
            &l.file,
            field,
            format!(
                "`{}` already exists; set `behavior: merge` or `replace`",
                r.name()
            ),
        )),
        ([i], b) => {
            generators::merge_into(&acc[*i], &mut r, b);
            acc[*i] = r;
            Ok(())
        }
        _ => Err(invalid(
            &l.file,
            field,
            format!("more than one object could accept `{}`", r.name()),
        )),
    }
}
