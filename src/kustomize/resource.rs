//! One rendered object with the identity bookkeeping kustomize keeps for it (original and
//! previous ids, the file it came from, generator options), plus YAML loading of manifest
//! files. Never touches the network.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::RenderError;

/// The (apiVersion, kind) pairs kustomize v5.5 treats as cluster-scoped: the cluster-scoped
/// types of its built-in OpenAPI data (Kubernetes 1.21), read off `kubectl kustomize` (1.32)
/// for every version of every built-in kind. Anything else — a newer type such as
/// `ValidatingAdmissionPolicy`, a newer version such as `flowcontrol…/v1`, or a custom kind
/// that happens to be called `Namespace` — is namespaced for kustomize, and so for democtl.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("v1", "ComponentStatus"),
    ("v1", "Namespace"),
    ("v1", "Node"),
    ("v1", "PersistentVolume"),
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("apiregistration.k8s.io/v1", "APIService"),
    ("apiregistration.k8s.io/v1beta1", "APIService"),
    ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        "PriorityLevelConfiguration",
    ),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1beta1", "IngressClass"),
    ("node.k8s.io/v1", "RuntimeClass"),
    ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io/v1", "PriorityClass"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"),
    ("storage.k8s.io/v1", "CSIDriver"),
    ("storage.k8s.io/v1", "CSINode"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("storage.k8s.io/v1", "VolumeAttachment"),
    ("storage.k8s.io/v1beta1", "CSIDriver"),
    ("storage.k8s.io/v1beta1", "CSINode"),
    ("storage.k8s.io/v1beta1", "StorageClass"),
    ("storage.k8s.io/v1beta1", "VolumeAttachment"),
];

/// Group/version/kind of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` and pairs it with `kind`.
    pub fn new(api_version: &str, kind: &str) -> Self {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Self {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// Whether every non-empty field of `sel` equals ours.
    pub fn is_selected_by(&self, group: &str, version: &str, kind: &str) -> bool {
        (group.is_empty() || group == self.group)
            && (version.is_empty() || version == self.version)
            && (kind.is_empty() || kind == self.kind)
    }

    /// Whether kustomize knows the type to be cluster-scoped (see [`CLUSTER_SCOPED`]).
    pub fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED.iter().any(|(api_version, kind)| {
            *kind == self.kind
                && match api_version.split_once('/') {
                    Some((g, v)) => g == self.group && v == self.version,
                    None => self.group.is_empty() && *api_version == self.version,
                }
        })
    }

    /// kustomize's stable sort string (`group_version_kind`, `~G` etc. for empties).
    pub fn sort_string(&self) -> String {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}_{}_{}",
            or(&self.group, "~G"),
            or(&self.version, "~V"),
            or(&self.kind, "~K")
        )
    }
}

/// Identity of an object: group/version/kind, name and namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// `default` for unset namespaces, a marker for cluster-scoped kinds (kustomize's
    /// effective namespace, used for equality).
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            "_non_namespaceable_"
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// Same kind, name and effective namespace.
    pub fn equals(&self, o: &ResId) -> bool {
        self.gvk == o.gvk
            && self.name == o.name
            && self.effective_namespace() == o.effective_namespace()
    }

    /// The tie-breaker of kustomize's legacy order: namespace (unset sorts last), then name.
    pub fn legacy_string(&self) -> String {
        let ns = if self.namespace.is_empty() {
            "~X"
        } else {
            &self.namespace
        };
        let nm = if self.name.is_empty() {
            "~N"
        } else {
            &self.name
        };
        format!("{ns}|{nm}")
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let api = if self.gvk.group.is_empty() {
            self.gvk.version.clone()
        } else {
            format!("{}/{}", self.gvk.group, self.gvk.version)
        };
        write!(f, "{api} {}", self.gvk.kind)?;
        if !self.namespace.is_empty() {
            write!(f, " {}/{}", self.namespace, self.name)
        } else {
            write!(f, " {}", self.name)
        }
    }
}

/// Generator bookkeeping carried until the end of the build.
#[derive(Debug, Clone, Default)]
pub(crate) struct GenInfo {
    /// Append the content hash to the name at the end of the build.
    pub needs_hash: bool,
}

/// One object being rendered.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    /// The object itself (always a JSON object).
    pub obj: Value,
    /// The file it came from (or the kustomization that generated it).
    pub file: PathBuf,
    /// Ids it had before renames (oldest first); empty if never renamed.
    pub prev: Vec<ResId>,
    /// Set for generated ConfigMaps/Secrets.
    pub generated: Option<GenInfo>,
}

impl Resource {
    pub fn new(obj: Value, file: &Path) -> Self {
        Self {
            obj,
            file: file.to_path_buf(),
            prev: Vec::new(),
            generated: None,
        }
    }

    fn str_at(&self, path: &[&str]) -> &str {
        let mut v = &self.obj;
        for p in path {
            match v.get(p) {
                Some(x) => v = x,
                None => return "",
            }
        }
        v.as_str().unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"])
    }
    pub fn kind(&self) -> &str {
        self.str_at(&["kind"])
    }
    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"])
    }
    pub fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"])
    }
    pub fn gvk(&self) -> Gvk {
        Gvk::new(self.api_version(), self.kind())
    }

    /// The current id.
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }

    /// The id it had when first loaded or generated.
    pub fn org_id(&self) -> ResId {
        self.prev.first().cloned().unwrap_or_else(|| self.cur_id())
    }

    /// Previous ids and the current one.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut ids = self.prev.clone();
        ids.push(self.cur_id());
        ids
    }

    /// Remembers the current id before a rename.
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev.push(id);
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = ensure_object(&mut self.obj);
        ensure_object(
            obj.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new())),
        )
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.into()));
    }

    pub fn set_namespace(&mut self, ns: &str) {
        let md = self.metadata_mut();
        if ns.is_empty() {
            md.remove("namespace");
        } else {
            md.insert("namespace".into(), Value::String(ns.into()));
        }
    }

    /// A string map under `metadata` (`labels`, `annotations`); empty if absent.
    pub fn string_map(&self, field: &str) -> Vec<(String, String)> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| scalar_string(v), str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the object is empty (deleted by a `$patch: delete`).
    pub fn is_empty(&self) -> bool {
        self.obj.as_object().is_none_or(Map::is_empty)
    }
}

/// Makes `v` an object (replacing any other value) and returns it.
pub(crate) fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// A scalar as kyaml prints it (strings raw, others as JSON).
pub(crate) fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Parses a manifest YAML stream as kustomize reads it (see [`parse_yaml_plain`]), including
/// go-yaml v3's folded-scalar quirk (see [`go_yaml_folded`]).
pub(crate) fn parse_yaml_stream(text: &str, path: &Path) -> Result<Vec<Value>, RenderError> {
    let docs = parse_yaml_plain(text, path)?;
    if !has_folded_indicator(text) {
        return Ok(docs);
    }
    let folded = folded_scalars(text);
    if folded.is_empty() {
        return Ok(docs);
    }
    Ok(docs
        .into_iter()
        .map(|d| rewrite_folded(d, &folded))
        .collect())
}

/// Cheap pre-check: does any line introduce a folded block scalar (`key: >`, `- >-`)?
fn has_folded_indicator(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_start().trim_start_matches("- ");
        t.starts_with('>')
            || t.split_once(": ")
                .is_some_and(|(_, v)| v.trim_start().starts_with('>'))
    })
}

/// Contents of the folded (`>`) block scalars of `text` that go-yaml would re-emit
/// differently.
fn folded_scalars(text: &str) -> Vec<String> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    let mut out = Vec::new();
    for ev in Parser::new_from_str(text) {
        let Ok((ev, _)) = ev else { break };
        if let Event::Scalar(v, ScalarStyle::Folded, ..) = ev {
            let fixed = go_yaml_folded(&v);
            if fixed != v {
                out.push(v.into_owned());
            }
        }
    }
    out
}

fn rewrite_folded(v: Value, folded: &[String]) -> Value {
    match v {
        Value::String(s) if folded.contains(&s) => Value::String(go_yaml_folded(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| rewrite_folded(x, folded)).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k, rewrite_folded(x, folded)))
                .collect(),
        ),
        other => other,
    }
}

/// What a folded scalar becomes after kustomize's internal YAML round trip: go-yaml v3's
/// folded-scalar emitter adds a line break before a more-indented line that follows a normal
/// line (`yaml_emitter_write_folded_scalar` checks the start of the value instead of the next
/// line), so `"a\n  b"` reads back as `"a\n\n  b"`.
pub(crate) fn go_yaml_folded(s: &str) -> String {
    let starts_blank = s.trim_start_matches('\n').starts_with([' ', '\t'])
        || s.trim_start_matches('\n').is_empty();
    if starts_blank {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let (mut breaks, mut leading_spaces) = (true, true);
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            if !breaks && !leading_spaces {
                let mut j = i;
                while j < chars.len() && chars[j] == '\n' {
                    j += 1;
                }
                if j < chars.len() && matches!(chars[j], ' ' | '\t') {
                    out.push('\n');
                }
            }
            out.push('\n');
            breaks = true;
        } else {
            if breaks {
                leading_spaces = matches!(c, ' ' | '\t');
            }
            out.push(c);
            breaks = false;
        }
        i += 1;
    }
    out
}

/// Parses a YAML stream as kustomize's go-yaml v3 does (`0644` octal, only `true`/`false`
/// booleans, integral floats as integers); empty documents are skipped.
pub(crate) fn parse_yaml_plain(text: &str, path: &Path) -> Result<Vec<Value>, RenderError> {
    parse_yaml(text, path, true)
}

/// [`parse_yaml_plain`], with YAML 1.1 booleans (`yes`, `on`, `n`, any case) unless
/// `strict_booleans`: what the kustomization file's own reading needs besides the strict one.
pub(crate) fn parse_yaml(
    text: &str,
    path: &Path,
    strict_booleans: bool,
) -> Result<Vec<Value>, RenderError> {
    // kustomize reads YAML with go-yaml v3: only `true`/`false` are booleans, `0644` is
    // octal, and numbers pass through float64 (`1e3` prints as `1000`).
    let opts =
        serde_saphyr::options! { legacy_octal_numbers: true, strict_booleans: strict_booleans };
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple_with_options(text, opts).map_err(|source| {
            RenderError::Yaml {
                path: path.to_path_buf(),
                source: Box::new(source),
            }
        })?;
    Ok(docs
        .into_iter()
        .filter(|d| !d.is_null())
        .map(normalize_numbers)
        .collect())
}

/// Refuses a mapping key that go-yaml v3 reads as a number, boolean, null or timestamp (see
/// [`super::goyaml`]): kustomize cannot render such an object, serde would quietly make the key
/// a string.
/// `inline`: the text is a patch written inside `file` (its line numbers are the patch's own).
pub(crate) fn refuse_non_string_keys(
    text: &str,
    file: &Path,
    field: &str,
    inline: bool,
) -> Result<(), RenderError> {
    let place = if inline {
        "an inline patch's line"
    } else {
        "line"
    };
    match super::goyaml::first_non_string_key(text) {
        None => Ok(()),
        Some((line, key, what)) => Err(invalid(
            file,
            field,
            format!(
                "{place} {line}: the mapping key `{key}` reads as {what}, not a string, in YAML (kustomize cannot render it: json: unsupported type)"
            ),
        )),
    }
}

/// Loads the objects of a manifest file; `kind: List` documents are expanded into their items.
pub(crate) fn load_manifests(path: &Path, display: &Path) -> Result<Vec<Resource>, RenderError> {
    let text = std::fs::read_to_string(path).map_err(|source| RenderError::Read {
        path: display.to_path_buf(),
        source,
    })?;
    let docs = parse_yaml_stream(&text, display)?;
    refuse_non_string_keys(&text, display, "resources", false)?;
    let mut out = Vec::new();
    for doc in docs {
        let Value::Object(map) = &doc else {
            return Err(invalid(
                display,
                "resources",
                "every document must be a mapping",
            ));
        };
        let is_list = map
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && map.get("items").is_some_and(Value::is_array);
        if is_list {
            for item in map
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(check_resource(item.clone(), display)?);
            }
        } else {
            out.push(check_resource(doc, display)?);
        }
    }
    Ok(out)
}

fn check_resource(mut obj: Value, file: &Path) -> Result<Resource, RenderError> {
    stringify_annotations(&mut obj);
    let r = Resource::new(obj, file);
    if !r.obj.is_object() {
        return Err(invalid(
            file,
            "resources",
            "every document must be a mapping",
        ));
    }
    if r.kind().is_empty() {
        return Err(invalid(file, "kind", "missing `kind` in a resource"));
    }
    if r.name().is_empty()
        && r.obj
            .get("metadata")
            .and_then(|m| m.get("generateName"))
            .is_none()
    {
        return Err(invalid(
            file,
            "metadata.name",
            "missing `metadata.name` in a resource",
        ));
    }
    Ok(r)
}

/// kustomize reads `metadata.annotations` as a string map, so `x: 5`, `y: true` and `w: null`
/// come out as `"5"`, `"true"` and `"null"` (labels and pod-template annotations are left alone).
/// A float prints in its shortest form (`1.50` becomes `"1.5"`; kustomize keeps the source text).
fn stringify_annotations(obj: &mut Value) {
    let Some(annotations) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for v in annotations.values_mut() {
        match v {
            Value::Null => *v = Value::String("null".into()),
            Value::Bool(_) | Value::Number(_) => *v = Value::String(v.to_string()),
            _ => {}
        }
    }
}

/// Shorthand for [`RenderError::Invalid`].
pub(crate) fn invalid(file: &Path, field: &str, reason: impl Into<String>) -> RenderError {
    RenderError::Invalid {
        file: file.to_path_buf(),
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Integral floats become integers, as they do after kustomize's JSON round trip.
fn normalize_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(normalize_numbers).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, normalize_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_yaml_folded_quirk() {
        // Observed with kubectl kustomize v5.5.0.
        assert_eq!(
            go_yaml_folded("line one\n  more indented\nnormal again\n  more"),
            "line one\n\n  more indented\nnormal again\n\n  more"
        );
        assert_eq!(go_yaml_folded("x\n\n  y\n"), "x\n\n\n  y\n");
        assert_eq!(go_yaml_folded(" starts blank\n  x"), " starts blank\n  x");
        assert_eq!(go_yaml_folded("a\nb"), "a\nb");
    }
}
