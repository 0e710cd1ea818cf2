//! The build: accumulates resources (files, nested kustomizations, components), runs the
//! generators and transformers of each kustomization in kustomize's order, then — once, at
//! the top — adds content-hash suffixes, fixes name references, drops local-config objects
//! and sorts. Reads files only; never the network.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::RenderError;
use super::generators::{self, Behavior, GenKind};
use super::kustomization::{self, Loaded, resolve};
use super::loader::file_in_root;
use super::order;
use super::patch;
use super::plugins;
use super::replacements;
use super::resource::{ResId, Resource, invalid, load_manifests};
use super::transform::config::TransformerConfig;
use super::transform::{images, labels, nameref, namespace, prefix, replicas};
use super::vars;

/// Renders the kustomization in `dir`.
pub fn build(dir: &Path) -> Result<Vec<Value>, RenderError> {
    let mut stack = Vec::new();
    let mut declared = Vec::new();
    let top = kustomization::load(dir)?;
    let order = top.k.order(&top.file)?;
    let mut config = TransformerConfig::default();
    let mut res = accumulate(
        top.clone(),
        false,
        Vec::new(),
        &mut stack,
        &mut declared,
        &mut config,
    )?;
    generators::add_hashes(&mut res);
    nameref::fix(&mut res, &top.file, &config)?;
    vars::resolve(&declared, &mut res, &config)?;
    res.retain(|r| {
        r.obj
            .pointer("/metadata/annotations/config.kubernetes.io~1local-config")
            .and_then(Value::as_str)
            != Some("true")
    });
    for r in res.iter_mut() {
        rewrite_annotations(&mut r.obj);
    }
    order::sort(&mut res, &order);
    build_metadata(&top, &mut res)?;
    Ok(res.into_iter().map(|r| r.obj).collect())
}

/// kustomize ends a build by rewriting each object's annotations as a string map (when it
/// strips its internal ones): values set later as numbers or booleans (a replacement, a JSON
/// patch) become strings, and an empty, null or non-map `annotations` disappears.
fn rewrite_annotations(obj: &mut Value) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(annotations) = meta.get_mut("annotations") else {
        return;
    };
    match annotations.as_object_mut() {
        Some(map) if !map.is_empty() => {
            for v in map.values_mut() {
                match v {
                    Value::Null => *v = Value::String("null".into()),
                    Value::Bool(_) | Value::Number(_) => *v = Value::String(v.to_string()),
                    _ => {}
                }
            }
        }
        _ => {
            meta.remove("annotations");
        }
    }
}

/// The label kustomize's `managedByLabel` sets, with the kustomize release democtl renders as.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kustomize-v5.5.0");

/// `buildMetadata` of the top kustomization (kustomize reads no other's): the managed-by
/// label and each object's origin (its file, or the kustomization and generator that made it,
/// relative to the top). Unknown options are ignored, as kustomize ignores them.
fn build_metadata(top: &Loaded, res: &mut [Resource]) -> Result<(), RenderError> {
    let options = &top.k.build_metadata;
    if options.iter().any(|o| o == "transformerAnnotations") {
        return Err(RenderError::Unsupported {
            file: top.file.clone(),
            field: "buildMetadata: [transformerAnnotations]".into(),
        });
    }
    let managed_by = options.iter().any(|o| o == "managedByLabel");
    let origins = options.iter().any(|o| o == "originAnnotations");
    for r in res {
        let relative = r
            .file
            .strip_prefix(&top.dir)
            .unwrap_or(&r.file)
            .display()
            .to_string();
        let origin = match (&r.generated, r.obj.get("kind").and_then(Value::as_str)) {
            (Some(_), Some(kind)) => format!(
                "configuredIn: {relative}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}Generator\n"
            ),
            _ => format!("path: {relative}\n"),
        };
        let meta = r.metadata_mut();
        if managed_by {
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(labels) = labels {
                labels.insert(MANAGED_BY.0.into(), Value::String(MANAGED_BY.1.into()));
            }
        }
        if origins {
            let annotations = meta
                .entry("annotations")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(annotations) = annotations {
                annotations.insert("config.kubernetes.io/origin".into(), Value::String(origin));
            }
        }
    }
    Ok(())
}

/// Accumulates the kustomization `l` onto `acc` (empty unless `l` is a component).
fn accumulate(
    l: Loaded,
    is_component: bool,
    mut acc: Vec<Resource>,
    stack: &mut Vec<PathBuf>,
    declared: &mut Vec<vars::Declared>,
    config_out: &mut TransformerConfig,
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
    // This kustomization's transformers see its own configs and those of what it includes.
    let mut config = TransformerConfig::of(&l)?;

    let entries: Vec<(&str, &String)> = k
        .resources
        .iter()
        .map(|e| ("resources", e))
        .chain(k.bases.iter().map(|e| ("bases", e)))
        .collect();
    let mut index = IdIndex::of(&acc);
    for (field, entry) in entries {
        super::loader::refuse_remote(&l, field, entry)?;
        let path = resolve(&l.dir, entry);
        if path.is_dir() {
            let sub = load_dir(&l, field, entry, &path, stack)?;
            let mut sub_config = TransformerConfig::default();
            let sub_res = accumulate(sub, false, Vec::new(), stack, declared, &mut sub_config)?;
            config.merge(sub_config);
            for r in sub_res {
                append(&mut acc, &mut index, r)?;
            }
        } else {
            let file = file_in_root(&l, field, entry)?;
            for r in load_manifests(&file, &file)? {
                append(&mut acc, &mut index, r)?;
            }
        }
    }

    // A kustomization's own vars come after those of what it includes (kustomize's order).
    vars::declare(declared, &k.vars, &l.file)?;

    for (kind, list) in [
        (GenKind::ConfigMap, &k.config_map_generator),
        (GenKind::Secret, &k.secret_generator),
    ] {
        for args in list {
            let (r, behavior) = generators::generate(&l, kind, args)?;
            absorb(&l, &mut acc, &mut index, r, behavior, kind)?;
        }
    }
    for c in plugin_configs(&l, "generators", &k.generators, stack)? {
        let (g, kind, args) = plugins::generator(&l, &c)?;
        let (r, behavior) = generators::generate(&g, kind, &args)?;
        absorb(&g, &mut acc, &mut index, r, behavior, kind)?;
    }

    for entry in &k.components {
        super::loader::refuse_remote(&l, "components", entry)?;
        let path = resolve(&l.dir, entry);
        if !path.is_dir() {
            return Err(RenderError::NotFound {
                file: l.file.clone(),
                field: "components".into(),
                entry: entry.clone(),
            });
        }
        let sub = load_dir(&l, "components", entry, &path, stack)?;
        let mut sub_config = TransformerConfig::default();
        acc = accumulate(sub, true, acc, stack, declared, &mut sub_config)?;
        config.merge(sub_config);
    }

    patch::apply_patches_strategic_merge(&l, &mut acc)?;
    patch::apply_patches(&l, &mut acc)?;
    namespace::apply(&l, &mut acc)?;
    prefix::apply(&l, &mut acc);
    labels::apply_labels(&l, &mut acc, &config);
    labels::apply_annotations(&l, &mut acc, &config);
    patch::apply_patches_json6902(&l, &mut acc)?;
    replicas::apply(&l, &mut acc)?;
    images::apply(&l, &mut acc, &config);
    replacements::apply(&l, &mut acc)?;
    for c in plugin_configs(&l, "transformers", &k.transformers, stack)? {
        plugins::transform(&l, &c, &mut acc)?;
    }
    acc.retain(|r| !r.is_empty());
    stack.pop();
    config_out.merge(config);
    Ok(acc)
}

/// The plugin configs of `field`: inline, from files, or the output of a directory's
/// kustomization (built on its own, as kustomize builds it).
fn plugin_configs(
    l: &Loaded,
    field: &str,
    entries: &[String],
    stack: &mut Vec<PathBuf>,
) -> Result<Vec<plugins::Config>, RenderError> {
    let mut out = Vec::new();
    for entry in entries {
        match plugins::read_entry(l, field, entry)? {
            plugins::Entry::Configs(c) => out.extend(c),
            plugins::Entry::Dir(path) => {
                let sub = load_dir(l, field, entry, &path, stack)?;
                let mut config = TransformerConfig::default();
                let built =
                    accumulate(sub, false, Vec::new(), stack, &mut Vec::new(), &mut config)?;
                out.extend(built.into_iter().map(|r| plugins::Config {
                    obj: r.obj,
                    file: r.file,
                }));
            }
        }
    }
    Ok(out)
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

/// The ids of an accumulation while resources are added to it, so that adding N resources
/// stays linear (kustomize's resmap keeps the same map). Valid until the first transformer
/// renames something; the build only adds resources before that.
struct IdIndex {
    /// Current ids.
    current: HashMap<ResId, usize>,
    /// Current and previous ids (a generator with `behavior: merge` finds its target by either).
    any: HashMap<ResId, Vec<usize>>,
}

/// An id keyed as kustomize compares them: the effective namespace, not the written one.
fn id_key(id: &ResId) -> ResId {
    ResId {
        namespace: id.effective_namespace().to_string(),
        ..id.clone()
    }
}

impl IdIndex {
    fn of(acc: &[Resource]) -> Self {
        let mut index = Self {
            current: HashMap::new(),
            any: HashMap::new(),
        };
        for (i, r) in acc.iter().enumerate() {
            index.insert(i, r);
        }
        index
    }

    fn insert(&mut self, i: usize, r: &Resource) {
        self.current.insert(id_key(&r.cur_id()), i);
        for id in r.all_ids() {
            let list = self.any.entry(id_key(&id)).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
}

/// Adds a resource, refusing a second one with the same id.
fn append(acc: &mut Vec<Resource>, index: &mut IdIndex, r: Resource) -> Result<(), RenderError> {
    if let Some(&first) = index.current.get(&id_key(&r.cur_id())) {
        return Err(RenderError::DuplicateId {
            id: r.cur_id().to_string(),
            first: acc[first].file.clone(),
            second: r.file.clone(),
        });
    }
    index.insert(acc.len(), &r);
    acc.push(r);
    Ok(())
}

/// Adds a generated object according to its `behavior`.
fn absorb(
    l: &Loaded,
    acc: &mut Vec<Resource>,
    index: &mut IdIndex,
    mut r: Resource,
    behavior: Behavior,
    kind: GenKind,
) -> Result<(), RenderError> {
    let field = if kind == GenKind::ConfigMap {
        "configMapGenerator"
    } else {
        "secretGenerator"
    };
    let hits: Vec<usize> = index
        .any
        .get(&id_key(&r.cur_id()))
        .cloned()
        .unwrap_or_default();
    match (hits.as_slice(), behavior) {
        ([], Behavior::Create) => append(acc, index, r),
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
            index.insert(*i, &r);
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
