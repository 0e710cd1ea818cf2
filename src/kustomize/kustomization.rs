//! The kustomization file: finding it, its schema (`serde`), and the up-front rejection of
//! fields democtl does not support. Reads only the one file; never resolves its entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::error::RenderError;
use super::resource::{invalid, parse_yaml, parse_yaml_plain};

/// File names kustomize recognises, in its order.
pub(crate) const FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields that exist in kustomize but that democtl rejects.
const UNSUPPORTED: &[&str] = &[
    "helmCharts",
    "helmChartInflationGenerator",
    "helmGlobals",
    "validators",
    "openapi",
    "crds",
    "imageTags",
];

/// The shape of a kustomization's fields, for matching keys as kustomize does: Go's
/// `encoding/json` matches a struct field's name case-insensitively (`nameprefix`,
/// `NamePrefix`), while the keys of maps (labels, annotations) are data and stay verbatim.
enum Field {
    Data,
    Struct(&'static [(&'static str, Field)]),
    /// A list of structs.
    List(&'static [(&'static str, Field)]),
}

const SELECTOR_FIELDS: &[(&str, Field)] = &[
    ("group", Field::Data),
    ("version", Field::Data),
    ("kind", Field::Data),
    ("name", Field::Data),
    ("namespace", Field::Data),
    ("labelSelector", Field::Data),
    ("annotationSelector", Field::Data),
];
const FIELD_SPEC_FIELDS: &[(&str, Field)] = &[
    ("group", Field::Data),
    ("version", Field::Data),
    ("kind", Field::Data),
    ("path", Field::Data),
    ("create", Field::Data),
];
const GENERATOR_OPTION_FIELDS: &[(&str, Field)] = &[
    ("labels", Field::Data),
    ("annotations", Field::Data),
    ("disableNameSuffixHash", Field::Data),
    ("immutable", Field::Data),
];
const GENERATOR_FIELDS: &[(&str, Field)] = &[
    ("name", Field::Data),
    ("namespace", Field::Data),
    ("behavior", Field::Data),
    ("literals", Field::Data),
    ("files", Field::Data),
    ("envs", Field::Data),
    ("env", Field::Data),
    ("options", Field::Struct(GENERATOR_OPTION_FIELDS)),
    ("type", Field::Data),
];
const KUSTOMIZATION_FIELDS: &[(&str, Field)] = &[
    ("apiVersion", Field::Data),
    ("kind", Field::Data),
    ("metadata", Field::Data),
    ("resources", Field::Data),
    ("bases", Field::Data),
    ("components", Field::Data),
    ("namespace", Field::Data),
    ("namePrefix", Field::Data),
    ("nameSuffix", Field::Data),
    ("commonLabels", Field::Data),
    (
        "labels",
        Field::List(&[
            ("pairs", Field::Data),
            ("includeSelectors", Field::Data),
            ("includeTemplates", Field::Data),
            ("fields", Field::List(FIELD_SPEC_FIELDS)),
        ]),
    ),
    ("commonAnnotations", Field::Data),
    (
        "patches",
        Field::List(&[
            ("path", Field::Data),
            ("patch", Field::Data),
            ("target", Field::Struct(SELECTOR_FIELDS)),
            ("options", Field::Data),
        ]),
    ),
    ("patchesStrategicMerge", Field::Data),
    (
        "patchesJson6902",
        Field::List(&[
            ("target", Field::Struct(SELECTOR_FIELDS)),
            ("path", Field::Data),
            ("patch", Field::Data),
        ]),
    ),
    (
        "images",
        Field::List(&[
            ("name", Field::Data),
            ("newName", Field::Data),
            ("newTag", Field::Data),
            ("digest", Field::Data),
        ]),
    ),
    (
        "replicas",
        Field::List(&[("name", Field::Data), ("count", Field::Data)]),
    ),
    ("configMapGenerator", Field::List(GENERATOR_FIELDS)),
    ("secretGenerator", Field::List(GENERATOR_FIELDS)),
    ("generatorOptions", Field::Struct(GENERATOR_OPTION_FIELDS)),
    ("replacements", Field::Data),
    ("buildMetadata", Field::Data),
    ("configurations", Field::Data),
    ("generators", Field::Data),
    ("transformers", Field::Data),
    (
        "vars",
        Field::List(&[
            ("name", Field::Data),
            (
                "objref",
                Field::Struct(&[
                    ("apiVersion", Field::Data),
                    ("group", Field::Data),
                    ("version", Field::Data),
                    ("kind", Field::Data),
                    ("name", Field::Data),
                    ("namespace", Field::Data),
                ]),
            ),
            ("fieldref", Field::Struct(&[("fieldpath", Field::Data)])),
        ]),
    ),
    (
        "sortOptions",
        Field::Struct(&[
            ("order", Field::Data),
            (
                "legacySortOptions",
                Field::Struct(&[("orderFirst", Field::Data), ("orderLast", Field::Data)]),
            ),
        ]),
    ),
];

/// `map` with each key that names a field of `fields` only by case spelt as the field is
/// (an exact name wins, as in Go); unknown keys stay for the decoder to refuse.
fn canonical_keys(
    map: &serde_json::Map<String, Value>,
    fields: &[(&str, Field)],
) -> serde_json::Map<String, Value> {
    let known = |key: &str| {
        fields.iter().find(|(name, _)| *name == key).or_else(|| {
            fields
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
        })
    };
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let Some((name, field)) = known(key) else {
            // Unsupported fields are refused by their proper name, whatever their case.
            let name = UNSUPPORTED
                .iter()
                .find(|name| name.eq_ignore_ascii_case(key))
                .map_or(key.as_str(), |n| n);
            out.insert(name.to_owned(), value.clone());
            continue;
        };
        let value = match (field, value) {
            (Field::Struct(inner), Value::Object(m)) => Value::Object(canonical_keys(m, inner)),
            (Field::List(inner), Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .map(|item| match item {
                        Value::Object(m) => Value::Object(canonical_keys(m, inner)),
                        other => other.clone(),
                    })
                    .collect(),
            ),
            (_, other) => other.clone(),
        };
        out.insert((*name).to_owned(), value);
    }
    out
}

/// Target selector of a patch (regexes for name/namespace/group/version/kind).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Selector {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub label_selector: String,
    #[serde(default)]
    pub annotation_selector: String,
}

/// An entry of `patches` (and, converted, of `patchesJson6902`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PatchEntry {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub target: Option<Selector>,
    #[serde(default)]
    pub options: BTreeMap<String, bool>,
}

/// `images` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Image {
    pub name: String,
    #[serde(default)]
    pub new_name: String,
    #[serde(default)]
    pub new_tag: String,
    #[serde(default)]
    pub digest: String,
}

/// `replicas` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Replica {
    pub name: String,
    pub count: i64,
}

/// A custom field spec (`labels[].fields`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldSpecEntry {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    pub path: String,
    #[serde(default)]
    pub create: bool,
}

/// `labels` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Label {
    #[serde(default)]
    pub pairs: BTreeMap<String, String>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpecEntry>,
}

/// `generatorOptions` and per-generator `options`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GeneratorOptions {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub disable_name_suffix_hash: Option<bool>,
    #[serde(default)]
    pub immutable: Option<bool>,
}

/// `configMapGenerator` / `secretGenerator` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct GeneratorArgs {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub behavior: String,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    #[serde(default)]
    pub env: String,
    #[serde(default)]
    pub options: Option<GeneratorOptions>,
    /// Secrets only.
    #[serde(default, rename = "type")]
    pub kind_type: String,
}

/// `patchesJson6902` entry (legacy).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Json6902Entry {
    pub target: Selector,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
}

/// `sortOptions`: the output order (kustomize applies the top kustomization's only).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SortOptions {
    #[serde(default)]
    pub order: String,
    #[serde(default)]
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`: the kinds that go first and last.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

/// The output order a kustomization asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Order {
    /// Kind priority (`orderFirst` … others … `orderLast`; kustomize's lists when `None`),
    /// then group/version/kind and id.
    Legacy(Option<LegacySortOptions>),
    /// The order the resources were accumulated in.
    Fifo,
}

impl Kustomization {
    /// The order of `sortOptions` (legacy with kustomize's kind lists when absent).
    pub(crate) fn order(&self, file: &Path) -> Result<Order, RenderError> {
        let Some(o) = &self.sort_options else {
            return Ok(Order::Legacy(None));
        };
        match (o.order.as_str(), &o.legacy_sort_options) {
            ("fifo", None) => Ok(Order::Fifo),
            ("fifo", Some(_)) => Err(invalid(
                file,
                "sortOptions.legacySortOptions",
                "is set but the selected sort order is `fifo`, not `legacy`",
            )),
            ("legacy", legacy) => Ok(Order::Legacy(legacy.clone())),
            _ => Err(invalid(
                file,
                "sortOptions.order",
                "must be one of [fifo, legacy]",
            )),
        }
    }
}

/// A parsed kustomization file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Kustomization {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: Option<Value>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub bases: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name_prefix: String,
    #[serde(default)]
    pub name_suffix: String,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub patches: Vec<PatchEntry>,
    #[serde(default)]
    pub patches_strategic_merge: Vec<String>,
    #[serde(default)]
    pub patches_json6902: Vec<Json6902Entry>,
    #[serde(default)]
    pub images: Vec<Image>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    #[serde(default)]
    pub config_map_generator: Vec<GeneratorArgs>,
    #[serde(default)]
    pub secret_generator: Vec<GeneratorArgs>,
    #[serde(default)]
    pub generator_options: Option<GeneratorOptions>,
    #[serde(default)]
    pub replacements: Vec<Value>,
    #[serde(default)]
    pub sort_options: Option<SortOptions>,
    #[serde(default)]
    pub build_metadata: Vec<String>,
    #[serde(default)]
    pub vars: Vec<super::vars::Var>,
    #[serde(default)]
    pub configurations: Vec<String>,
    /// Built-in generator configs (files, directories or inline YAML).
    #[serde(default)]
    pub generators: Vec<String>,
    /// Built-in transformer configs (files, directories or inline YAML).
    #[serde(default)]
    pub transformers: Vec<String>,
}

/// A kustomization and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub k: Kustomization,
    /// The kustomization file.
    pub file: PathBuf,
    /// Its directory (the load root).
    pub dir: PathBuf,
}

/// Finds and parses the kustomization in `dir`.
pub(crate) fn load(dir: &Path) -> Result<Loaded, RenderError> {
    let found: Vec<PathBuf> = FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.is_file())
        .collect();
    let file = match found.as_slice() {
        [] => {
            return Err(RenderError::MissingKustomization {
                dir: dir.to_path_buf(),
            });
        }
        [one] => one.clone(),
        _ => {
            return Err(RenderError::MultipleKustomizations {
                dir: dir.to_path_buf(),
            });
        }
    };
    let text = std::fs::read_to_string(&file).map_err(|source| RenderError::Read {
        path: file.clone(),
        source,
    })?;
    let mut docs = parse_yaml_plain(&text, &file)?;
    let doc = match docs.len() {
        0 => Value::Object(Default::default()),
        1 => docs.remove(0),
        _ => {
            return Err(invalid(
                &file,
                "kustomization",
                "a kustomization file holds one document",
            ));
        }
    };
    let Value::Object(map) = &doc else {
        return Err(invalid(
            &file,
            "kustomization",
            "the file must be a mapping",
        ));
    };
    if let Some((path, key)) = yaml11_boolean_key(&text) {
        return Err(invalid(
            &file,
            &path,
            format!(
                "the key `{key}` is a boolean in YAML 1.1, which kustomize reads this file as \
                 (it then fails); quote it: \"{key}\""
            ),
        ));
    }
    let mut map = canonical_keys(map, KUSTOMIZATION_FIELDS);
    // YAML 1.1 booleans are case-insensitive in serde-saphyr (`yEs`), not in go-yaml v2:
    // `yaml11_booleans` keeps only v2's spellings.
    let loose = parse_yaml(&text, &file, false)?;
    let mut read_as_booleans: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(Value::Object(loose)) = loose.first() {
        let loose = canonical_keys(loose, KUSTOMIZATION_FIELDS);
        for (key, value) in map.iter_mut() {
            if let Some(l) = loose.get(key) {
                let mut found = Vec::new();
                *value = yaml11_booleans(std::mem::take(value), l, &mut found);
                if !found.is_empty() {
                    read_as_booleans.insert(key.clone(), found);
                }
            }
        }
    }
    let map = &map;
    if map.keys().all(|k| k == "apiVersion" || k == "kind") {
        return Err(invalid(
            &file,
            "kustomization",
            "the kustomization is empty",
        ));
    }
    for key in map.keys() {
        if UNSUPPORTED.contains(&key.as_str()) {
            return Err(RenderError::Unsupported {
                file,
                field: key.clone(),
            });
        }
    }
    // Decode field by field so that an error names the field.
    let mut k = Kustomization::default();
    for (key, value) in map {
        let one = Value::Object([(key.clone(), value.clone())].into_iter().collect());
        let part: Kustomization = serde_json::from_value(one).map_err(|e| {
            let mut reason = if e.to_string().starts_with("unknown field") {
                "unknown field".to_string()
            } else {
                describe_serde(&e)
            };
            if let Some(spellings) = read_as_booleans.get(key) {
                let list: Vec<String> = spellings.iter().map(|s| format!("`{s}`")).collect();
                reason.push_str(&format!(
                    "; kustomize reads this file as YAML 1.1, where {} is a boolean: quote it",
                    list.join(", ")
                ));
            }
            invalid(&file, key, reason)
        })?;
        merge_part(&mut k, part, key);
    }
    if !k.kind.is_empty() && k.kind != "Kustomization" && k.kind != "Component" {
        return Err(invalid(
            &file,
            "kind",
            "must be `Kustomization` or `Component`",
        ));
    }
    Ok(Loaded {
        k,
        dir: dir.to_path_buf(),
        file,
    })
}

/// go-yaml v2's boolean spellings. kustomize reads the kustomization file itself through
/// `sigs.k8s.io/yaml`, i.e. go-yaml v2 and YAML 1.1 (its resources and patches through kyaml,
/// go-yaml v3, YAML 1.2): there a plain `namespace: n` is `false` and fails to decode.
const YAML11_BOOLEANS: [&str; 22] = [
    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE", //
    "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
];

/// `strict` (YAML 1.2 booleans) with each string that the YAML 1.1 parse `loose` read as a
/// go-yaml v2 boolean turned into that boolean (a quoted `"n"` is a string in both parses);
/// the spellings turned go to `found`.
fn yaml11_booleans(strict: Value, loose: &Value, found: &mut Vec<String>) -> Value {
    match (strict, loose) {
        (Value::String(s), Value::Bool(b)) if YAML11_BOOLEANS.contains(&s.as_str()) => {
            found.push(s);
            Value::Bool(*b)
        }
        (Value::Array(items), Value::Array(l)) if items.len() == l.len() => Value::Array(
            items
                .into_iter()
                .zip(l)
                .map(|(v, l)| yaml11_booleans(v, l, found))
                .collect(),
        ),
        (Value::Object(m), Value::Object(l)) => Value::Object(
            m.into_iter()
                .map(|(k, v)| match l.get(&k) {
                    Some(l) => {
                        let v = yaml11_booleans(v, l, found);
                        (k, v)
                    }
                    None => (k, v),
                })
                .collect(),
        ),
        (other, _) => other,
    }
}

/// The first mapping key that go-yaml v2 reads as a boolean (a plain `yes:`), with its path
/// (`commonLabels.yes`): kustomize cannot turn such a map into JSON and fails.
fn yaml11_boolean_key(text: &str) -> Option<(String, String)> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    enum Frame {
        Map { next_is_key: bool, key: String },
        Seq,
    }
    let mut stack: Vec<Frame> = Vec::new();
    // Marks the node just read as a value: the enclosing map's next scalar is a key again.
    fn value_done(stack: &mut [Frame]) {
        if let Some(Frame::Map { next_is_key, .. }) = stack.last_mut() {
            *next_is_key = true;
        }
    }
    let path = |stack: &[Frame], last: &str| {
        let mut parts: Vec<&str> = stack
            .iter()
            .filter_map(|f| match f {
                Frame::Map { key, .. } if !key.is_empty() => Some(key.as_str()),
                _ => None,
            })
            .collect();
        parts.push(last);
        parts.join(".")
    };
    for ev in Parser::new_from_str(text) {
        let Ok((ev, _)) = ev else { return None };
        match ev {
            Event::Scalar(v, style, _, tag) => match stack.last_mut() {
                Some(Frame::Map { next_is_key, key }) if *next_is_key => {
                    if style == ScalarStyle::Plain
                        && tag.is_none()
                        && YAML11_BOOLEANS.contains(&v.as_ref())
                    {
                        let v = v.into_owned();
                        let at = {
                            *key = String::new();
                            path(&stack, &v)
                        };
                        return Some((at, v));
                    }
                    *key = v.into_owned();
                    *next_is_key = false;
                }
                _ => value_done(&mut stack),
            },
            Event::Alias(_) => match stack.last_mut() {
                Some(Frame::Map { next_is_key, .. }) if *next_is_key => *next_is_key = false,
                _ => value_done(&mut stack),
            },
            Event::MappingStart(..) => {
                if let Some(Frame::Map { next_is_key, .. }) = stack.last_mut() {
                    *next_is_key = false;
                }
                stack.push(Frame::Map {
                    next_is_key: true,
                    key: String::new(),
                })
            }
            Event::SequenceStart(..) => {
                if let Some(Frame::Map { next_is_key, .. }) = stack.last_mut() {
                    *next_is_key = false;
                }
                stack.push(Frame::Seq)
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                value_done(&mut stack);
            }
            _ => {}
        }
    }
    None
}

/// Our own wording of a decode problem (never the decoder's message verbatim in `Display`,
/// but its classification is useful).
fn describe_serde(e: &serde_json::Error) -> String {
    let s = e.to_string();
    if let Some(rest) = s.strip_prefix("invalid type: ") {
        format!(
            "wrong type ({})",
            rest.split(" at line").next().unwrap_or(rest)
        )
    } else if s.starts_with("missing field") {
        s.split(" at line").next().unwrap_or(&s).to_string()
    } else {
        "wrong shape".to_string()
    }
}

fn merge_part(k: &mut Kustomization, p: Kustomization, key: &str) {
    match key {
        "apiVersion" => k.api_version = p.api_version,
        "kind" => k.kind = p.kind,
        "metadata" => k.metadata = p.metadata,
        "resources" => k.resources = p.resources,
        "bases" => k.bases = p.bases,
        "components" => k.components = p.components,
        "namespace" => k.namespace = p.namespace,
        "namePrefix" => k.name_prefix = p.name_prefix,
        "nameSuffix" => k.name_suffix = p.name_suffix,
        "commonLabels" => k.common_labels = p.common_labels,
        "labels" => k.labels = p.labels,
        "commonAnnotations" => k.common_annotations = p.common_annotations,
        "patches" => k.patches = p.patches,
        "patchesStrategicMerge" => k.patches_strategic_merge = p.patches_strategic_merge,
        "patchesJson6902" => k.patches_json6902 = p.patches_json6902,
        "images" => k.images = p.images,
        "replicas" => k.replicas = p.replicas,
        "configMapGenerator" => k.config_map_generator = p.config_map_generator,
        "secretGenerator" => k.secret_generator = p.secret_generator,
        "generatorOptions" => k.generator_options = p.generator_options,
        "replacements" => k.replacements = p.replacements,
        "sortOptions" => k.sort_options = p.sort_options,
        "buildMetadata" => k.build_metadata = p.build_metadata,
        "vars" => k.vars = p.vars,
        "configurations" => k.configurations = p.configurations,
        "generators" => k.generators = p.generators,
        "transformers" => k.transformers = p.transformers,
        _ => {}
    }
}

/// Whether `entry` is a remote reference (URL or git repository).
pub(crate) fn is_remote(entry: &str) -> bool {
    let e = entry.trim();
    e.contains("://")
        || e.starts_with("github.com/")
        || e.starts_with("git@")
        || e.contains(".git?")
        || e.ends_with(".git")
        || e.contains("?ref=")
}

/// Resolves `entry` relative to `dir`, rejecting paths outside `root` (kustomize's default
/// `LoadRestrictionsRootOnly` applies to files; directories may be anywhere local).
pub(crate) fn resolve(dir: &Path, entry: &str) -> PathBuf {
    normalize(&dir.join(entry))
}

/// Lexical normalisation (`a/./b/../c` → `a/c`) without touching the file system.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}
