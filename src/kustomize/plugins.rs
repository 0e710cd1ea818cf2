//! `transformers` and `generators`: kustomize's built-in plugin configs (`apiVersion:
//! builtin`), listed as files (several documents each), directories (a kustomization whose
//! output is the configs) or inline YAML strings. Each config is turned into the parameters of
//! the transform or generator that the kustomization's own fields use — no second copy of any
//! transform. Exec, container and Go plugins, Helm and IAM generators are refused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use super::error::RenderError;
use super::fieldspec::FieldSpec;
use super::generators::GenKind;
use super::kustomization::{
    FieldSpecEntry, GeneratorArgs, GeneratorOptions, Image, Json6902Entry, Kustomization, Loaded,
    PatchEntry, Replica, Selector, resolve,
};
use super::loader::file_in_root;
use super::resource::{invalid, load_manifests, parse_yaml_stream};
use super::transform::namespace::{NsOptions, Subjects};
use super::transform::{images, labels, namespace, prefix, replicas};
use super::{patch, replacements};

/// One plugin config and the file it was read from (the kustomization for inline ones).
pub(crate) struct Config {
    pub obj: Value,
    pub file: PathBuf,
}

/// Where configs come from: a directory entry is built as a kustomization by the caller.
pub(crate) enum Entry {
    Configs(Vec<Config>),
    Dir(PathBuf),
}

/// Reads one entry of `field` (`transformers` or `generators`).
pub(crate) fn read_entry(l: &Loaded, field: &str, entry: &str) -> Result<Entry, RenderError> {
    // Like kustomize: an entry that parses as YAML objects is an inline config.
    if let Ok(docs) = parse_yaml_stream(entry, &l.file)
        && !docs.is_empty()
        && docs.iter().all(Value::is_object)
    {
        return Ok(Entry::Configs(
            docs.into_iter()
                .map(|obj| Config {
                    obj,
                    file: l.file.clone(),
                })
                .collect(),
        ));
    }
    super::loader::refuse_remote(l, field, entry)?;
    let path = resolve(&l.dir, entry);
    if path.is_dir() {
        return Ok(Entry::Dir(path));
    }
    let file = file_in_root(l, field, entry)?;
    Ok(Entry::Configs(
        load_manifests(&file, &file)?
            .into_iter()
            .map(|r| Config {
                obj: r.obj,
                file: file.clone(),
            })
            .collect(),
    ))
}

/// Generator kinds that need Helm or a cloud account: refused even though built in.
const REFUSED_BUILTINS: [&str; 2] = ["HelmChartInflationGenerator", "IAMPolicyGenerator"];

/// The config's kind, refusing anything that is not a built-in democtl runs.
fn builtin_kind<'a>(c: &'a Config, field: &str) -> Result<&'a str, RenderError> {
    let api = c
        .obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = c.obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if api != "builtin" || REFUSED_BUILTINS.contains(&kind) {
        return Err(RenderError::Unsupported {
            file: c.file.clone(),
            field: format!("{field}: {api} {kind}"),
        });
    }
    Ok(kind)
}

/// Decodes a config into `T`, naming the file and the kind in errors.
fn decode<T: for<'de> Deserialize<'de>>(
    c: &Config,
    field: &str,
    kind: &str,
) -> Result<T, RenderError> {
    serde_json::from_value(c.obj.clone()).map_err(|e| {
        let reason = e.to_string();
        let reason = reason.split(" at line").next().unwrap_or_default();
        invalid(&c.file, field, format!("invalid `{kind}` config: {reason}"))
    })
}

fn specs(entries: &[FieldSpecEntry]) -> Vec<FieldSpec> {
    entries
        .iter()
        .map(|f| FieldSpec::of(&f.group, &f.version, &f.kind, &f.path, f.create))
        .collect()
}

/// A kustomization holding only what a config sets, rooted where `l` is (kustomize's plugin
/// loader reads a config's files from the kustomization's root) and named after the config.
fn synthetic(l: &Loaded, c: &Config, k: Kustomization) -> Loaded {
    Loaded {
        k,
        file: c.file.clone(),
        dir: l.dir.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeneratorConfig {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    behavior: String,
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    envs: Vec<String>,
    #[serde(default)]
    env: String,
    #[serde(default)]
    options: Option<GeneratorOptions>,
    #[serde(default, rename = "type")]
    kind_type: String,
}

/// A generator config as the kustomization and arguments `generators::generate` takes.
pub(crate) fn generator(
    l: &Loaded,
    c: &Config,
) -> Result<(Loaded, GenKind, GeneratorArgs), RenderError> {
    let field = "generators";
    let kind = builtin_kind(c, field)?;
    let gen_kind = match kind {
        "ConfigMapGenerator" => GenKind::ConfigMap,
        "SecretGenerator" => GenKind::Secret,
        other => {
            return Err(invalid(
                &c.file,
                field,
                format!(
                    "`{other}` is not a built-in generator (ConfigMapGenerator, SecretGenerator)"
                ),
            ));
        }
    };
    let g: GeneratorConfig = decode(c, field, kind)?;
    let args = GeneratorArgs {
        name: g.metadata.name,
        namespace: g.metadata.namespace,
        behavior: g.behavior,
        literals: g.literals,
        files: g.files,
        envs: g.envs,
        env: g.env,
        options: g.options,
        kind_type: g.kind_type,
    };
    // A plugin's own options only: the kustomization's `generatorOptions` do not apply.
    Ok((synthetic(l, c, Kustomization::default()), gen_kind, args))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrefixSuffix {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    suffix: String,
    field_specs: Option<Vec<FieldSpecEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pairs {
    #[serde(default, alias = "annotations")]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    field_specs: Vec<FieldSpecEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceConfig {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    field_specs: Vec<FieldSpecEntry>,
    #[serde(default)]
    unset_only: bool,
    #[serde(default)]
    set_role_binding_subjects: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageTagConfig {
    image_tag: Image,
    #[serde(default)]
    field_specs: Vec<FieldSpecEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplicaConfig {
    replica: Replica,
    #[serde(default)]
    field_specs: Vec<FieldSpecEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchConfig {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    target: Option<Selector>,
    #[serde(default)]
    options: BTreeMap<String, bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchSmConfig {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    patches: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchJsonConfig {
    target: Selector,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    json_op: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplacementConfig {
    #[serde(default)]
    replacements: Vec<Value>,
}

/// Runs one transformer config on `res`.
pub(crate) fn transform(
    l: &Loaded,
    c: &Config,
    res: &mut Vec<super::resource::Resource>,
) -> Result<(), RenderError> {
    let field = "transformers";
    let kind = builtin_kind(c, field)?;
    match kind {
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let p: PrefixSuffix = decode(c, field, kind)?;
            let Some(fs) = p.field_specs else {
                return Err(invalid(
                    &c.file,
                    field,
                    format!("`{kind}` needs `fieldSpecs` (e.g. `- path: metadata/name`)"),
                ));
            };
            prefix::apply_specs(res, &p.prefix, &p.suffix, &specs(&fs));
        }
        "LabelTransformer" | "AnnotationsTransformer" => {
            let p: Pairs = decode(c, field, kind)?;
            labels::set_pairs(res, &p.labels, &specs(&p.field_specs));
        }
        "NamespaceTransformer" => {
            let n: NamespaceConfig = decode(c, field, kind)?;
            let subjects = match n.set_role_binding_subjects.as_str() {
                "" | "defaultOnly" => Subjects::DefaultOnly,
                "allServiceAccounts" => Subjects::AllServiceAccounts,
                "none" => Subjects::None,
                other => {
                    return Err(invalid(
                        &c.file,
                        field,
                        format!(
                            "`setRoleBindingSubjects: {other}` is not one of defaultOnly, allServiceAccounts, none"
                        ),
                    ));
                }
            };
            let fs = specs(&n.field_specs);
            let opts = NsOptions {
                unset_only: n.unset_only,
                subjects,
                specs: Some(&fs),
            };
            namespace::apply_with(&c.file, &n.metadata.namespace, res, &opts)?;
        }
        "ImageTagTransformer" => {
            let i: ImageTagConfig = decode(c, field, kind)?;
            images::apply_one(&i.image_tag, res, &specs(&i.field_specs));
        }
        "ReplicaCountTransformer" => {
            let r: ReplicaConfig = decode(c, field, kind)?;
            replicas::apply_one(&c.file, &r.replica, &specs(&r.field_specs), res)?;
        }
        "PatchTransformer" => {
            let p: PatchConfig = decode(c, field, kind)?;
            let k = Kustomization {
                patches: vec![PatchEntry {
                    path: p.path,
                    patch: p.patch,
                    target: p.target,
                    options: p.options,
                }],
                ..Default::default()
            };
            patch::apply_patches(&synthetic(l, c, k), res)?;
        }
        "PatchStrategicMergeTransformer" => {
            let p: PatchSmConfig = decode(c, field, kind)?;
            let mut list = p.paths;
            if !p.patches.trim().is_empty() {
                list.push(p.patches);
            }
            let k = Kustomization {
                patches_strategic_merge: list,
                ..Default::default()
            };
            patch::apply_patches_strategic_merge(&synthetic(l, c, k), res)?;
        }
        "PatchJson6902Transformer" => {
            let p: PatchJsonConfig = decode(c, field, kind)?;
            let k = Kustomization {
                patches_json6902: vec![Json6902Entry {
                    target: p.target,
                    path: p.path,
                    patch: p.json_op,
                }],
                ..Default::default()
            };
            patch::apply_patches_json6902(&synthetic(l, c, k), res)?;
        }
        "ReplacementTransformer" => {
            let r: ReplacementConfig = decode(c, field, kind)?;
            let k = Kustomization {
                replacements: r.replacements,
                ..Default::default()
            };
            replacements::apply(&synthetic(l, c, k), res)?;
        }
        "HashTransformer" => super::generators::add_hashes(res),
        other => {
            return Err(RenderError::Unsupported {
                file: c.file.clone(),
                field: format!("{field}: builtin {other}"),
            });
        }
    }
    Ok(())
}
