//! `configurations`: transformer configs that teach kustomize's transformers the fields of
//! other kinds — custom resources such as InferenceService — for name references, labels,
//! annotations, images and var references. A kustomization's transformers see its own configs
//! and those of everything it includes (kustomize merges them upward); the name-reference fix
//! and the vars at the top see them all.

use crate::kustomize::error::RenderError;
use crate::kustomize::fieldspec::FieldSpec;
use crate::kustomize::kustomization::{FieldSpecEntry, Loaded};
use crate::kustomize::loader::file_in_root;
use crate::kustomize::resource::{invalid, parse_yaml_plain};
use serde::Deserialize;

/// A kind that may be referred to by name, and the extra fields that refer to it.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameReference {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub fields: Vec<FieldSpec>,
}

/// The extra field specs of a kustomization and what it includes.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransformerConfig {
    pub name_reference: Vec<NameReference>,
    pub common_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
}

/// One `configurations` file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    name_reference: Vec<NameReferenceEntry>,
    #[serde(default)]
    common_labels: Vec<FieldSpecEntry>,
    #[serde(default)]
    common_annotations: Vec<FieldSpecEntry>,
    #[serde(default)]
    images: Vec<FieldSpecEntry>,
    #[serde(default)]
    var_reference: Vec<FieldSpecEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NameReferenceEntry {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    kind: String,
    #[serde(default)]
    field_specs: Vec<FieldSpecEntry>,
}

/// Keys of a transformer config that kustomize knows but democtl does not apply.
const UNSUPPORTED_KEYS: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "namespace",
    "replicas",
    "templateLabels",
    "metadataLabels",
];

fn specs(entries: &[FieldSpecEntry]) -> Vec<FieldSpec> {
    entries
        .iter()
        .map(|f| FieldSpec::of(&f.group, &f.version, &f.kind, &f.path, f.create))
        .collect()
}

impl TransformerConfig {
    /// The configs `l` lists itself (not yet those of what it includes).
    pub(crate) fn of(l: &Loaded) -> Result<TransformerConfig, RenderError> {
        let mut out = TransformerConfig::default();
        for entry in &l.k.configurations {
            let file = file_in_root(l, "configurations", entry)?;
            let text = std::fs::read_to_string(&file).map_err(|source| RenderError::Read {
                path: file.clone(),
                source,
            })?;
            let docs = parse_yaml_plain(&text, &file)?;
            for doc in docs {
                if let Some(key) = doc.as_object().and_then(|m| {
                    m.keys()
                        .find(|k| UNSUPPORTED_KEYS.iter().any(|u| u.eq_ignore_ascii_case(k)))
                }) {
                    return Err(RenderError::Unsupported {
                        file: file.clone(),
                        field: format!("configurations: {key}"),
                    });
                }
                let parsed: ConfigFile = serde_json::from_value(doc).map_err(|e| {
                    invalid(
                        &file,
                        "configurations",
                        e.to_string()
                            .split(" at line")
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })?;
                out.merge(TransformerConfig {
                    name_reference: parsed
                        .name_reference
                        .iter()
                        .map(|n| NameReference {
                            group: n.group.clone(),
                            version: n.version.clone(),
                            kind: n.kind.clone(),
                            fields: specs(&n.field_specs),
                        })
                        .collect(),
                    common_labels: specs(&parsed.common_labels),
                    common_annotations: specs(&parsed.common_annotations),
                    images: specs(&parsed.images),
                    var_reference: specs(&parsed.var_reference),
                });
            }
        }
        Ok(out)
    }

    /// Adds `other`'s specs (those of an included kustomization), each once.
    pub(crate) fn merge(&mut self, other: TransformerConfig) {
        fn add(to: &mut Vec<FieldSpec>, from: Vec<FieldSpec>) {
            for fs in from {
                if !to.contains(&fs) {
                    to.push(fs);
                }
            }
        }
        for n in other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|m| m.group == n.group && m.version == n.version && m.kind == n.kind)
            {
                Some(m) => add(&mut m.fields, n.fields),
                None => self.name_reference.push(n),
            }
        }
        add(&mut self.common_labels, other.common_labels);
        add(&mut self.common_annotations, other.common_annotations);
        add(&mut self.images, other.images);
        add(&mut self.var_reference, other.var_reference);
    }
}
