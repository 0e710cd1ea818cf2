//! `configMapGenerator` / `secretGenerator`: builds ConfigMaps and Secrets from literals,
//! files and env files, merges or replaces earlier ones (`behavior`), and computes
//! kustomize's content-hash name suffix (a port of `api/hasher`). Reads only files under the
//! kustomization root.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::error::RenderError;
use super::kustomization::{GeneratorArgs, GeneratorOptions, Loaded};
use super::loader::read_file_in_root;
use super::resource::{GenInfo, Resource, invalid};

/// Which generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GenKind {
    ConfigMap,
    Secret,
}

impl GenKind {
    fn field(self) -> &'static str {
        match self {
            Self::ConfigMap => "configMapGenerator",
            Self::Secret => "secretGenerator",
        }
    }
}

/// How a generated object joins the accumulated resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Create,
    Merge,
    Replace,
}

/// Global `generatorOptions` merged into an entry's own (own labels win; either side can
/// disable the hash or make it immutable).
fn merged_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut out = local.cloned().unwrap_or_default();
    if let Some(g) = global {
        // Observed in kustomize v5.5: an entry's own labels and annotations win.
        let mut labels = g.labels.clone();
        labels.extend(out.labels);
        out.labels = labels;
        let mut annotations = g.annotations.clone();
        annotations.extend(out.annotations);
        out.annotations = annotations;
        if g.disable_name_suffix_hash == Some(true) {
            out.disable_name_suffix_hash = Some(true);
        }
        if g.immutable == Some(true) {
            out.immutable = Some(true);
        }
    }
    out
}

/// Generates one object for `args`; returns it with its behaviour.
pub(crate) fn generate(
    l: &Loaded,
    kind: GenKind,
    args: &GeneratorArgs,
) -> Result<(Resource, Behavior), RenderError> {
    let field = kind.field();
    let file = &l.file;
    if args.name.is_empty() {
        return Err(invalid(file, field, "every generator needs a `name`"));
    }
    // kustomize maps an unknown behavior to "unspecified", which generates like `create`.
    let behavior = match args.behavior.as_str() {
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        _ => Behavior::Create,
    };
    let opts = merged_options(args.options.as_ref(), l.k.generator_options.as_ref());
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |k: String, v: Vec<u8>| -> Result<(), RenderError> {
        if !is_valid_key(&k) {
            return Err(invalid(
                file,
                field,
                format!("`{k}` is not a valid key in `{}`", args.name),
            ));
        }
        if pairs.iter().any(|(x, _)| *x == k) {
            return Err(invalid(
                file,
                field,
                format!("key `{k}` is defined twice in `{}`", args.name),
            ));
        }
        pairs.push((k, v));
        Ok(())
    };
    let mut envs = args.envs.clone();
    if !args.env.is_empty() {
        envs.push(args.env.clone());
    }
    for env in &envs {
        let bytes = read_file_in_root(l, field, env)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| invalid(file, field, format!("env file `{env}` is not UTF-8")))?;
        for (i, line) in text.lines().enumerate() {
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(invalid(
                    file,
                    field,
                    format!(
                        "line {} of `{env}` has no `=` (reading values from the environment is not supported)",
                        i + 1
                    ),
                ));
            };
            add(k.to_string(), v.as_bytes().to_vec())?;
        }
    }
    for lit in &args.literals {
        let Some((k, v)) = lit.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(invalid(
                file,
                field,
                format!("literal `{lit}` is not `key=value`"),
            ));
        };
        add(k.to_string(), remove_quotes(v).as_bytes().to_vec())?;
    }
    for f in &args.files {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) if !k.is_empty() => (k.to_string(), p.to_string()),
            Some(_) => {
                return Err(invalid(
                    file,
                    field,
                    format!("file source `{f}` has an empty key"),
                ));
            }
            None => {
                let base = Path::new(f)
                    .file_name()
                    .map(|b| b.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (base, f.clone())
            }
        };
        let bytes = read_file_in_root(l, field, &path)?;
        add(key, bytes)?;
    }

    let mut obj = Map::new();
    let (api, kind_name) = (
        "v1",
        if kind == GenKind::ConfigMap {
            "ConfigMap"
        } else {
            "Secret"
        },
    );
    obj.insert("apiVersion".into(), json!(api));
    obj.insert("kind".into(), json!(kind_name));
    let mut md = Map::new();
    md.insert("name".into(), json!(args.name));
    if !args.namespace.is_empty() {
        md.insert("namespace".into(), json!(args.namespace));
    }
    if !opts.labels.is_empty() {
        md.insert("labels".into(), string_map(&opts.labels));
    }
    if !opts.annotations.is_empty() {
        md.insert("annotations".into(), string_map(&opts.annotations));
    }
    obj.insert("metadata".into(), Value::Object(md));
    match kind {
        GenKind::ConfigMap => {
            let mut data = Map::new();
            let mut binary = Map::new();
            for (k, v) in pairs {
                match String::from_utf8(v) {
                    Ok(s) => data.insert(k, Value::String(s)),
                    Err(e) => binary.insert(k, Value::String(wrapped_base64(e.as_bytes()))),
                };
            }
            if !data.is_empty() {
                obj.insert("data".into(), Value::Object(data));
            }
            if !binary.is_empty() {
                obj.insert("binaryData".into(), Value::Object(binary));
            }
        }
        GenKind::Secret => {
            let t = if args.kind_type.is_empty() {
                "Opaque"
            } else {
                &args.kind_type
            };
            obj.insert("type".into(), json!(t));
            let data: Map<String, Value> = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(wrapped_base64(&v))))
                .collect();
            if !data.is_empty() {
                obj.insert("data".into(), Value::Object(data));
            }
        }
    }
    if opts.immutable == Some(true) {
        obj.insert("immutable".into(), json!(true));
    }
    let mut r = Resource::new(Value::Object(obj), file);
    r.generated = Some(GenInfo {
        needs_hash: opts.disable_name_suffix_hash != Some(true),
    });
    Ok((r, behavior))
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// kustomize strips one pair of matching surrounding quotes from literal values.
fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// ConfigMap/Secret key syntax (`[-._a-zA-Z0-9]+`, not `.` or `..`).
fn is_valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k != "."
        && k != ".."
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Merges a generated `new` into the existing `old` (behavior `merge`): labels, annotations
/// and data of both, `new` winning; name and namespace of `old`.
pub(crate) fn merge_into(old: &Resource, new: &mut Resource, behavior: Behavior) {
    let name = old.name().to_string();
    let ns = old.namespace().to_string();
    for field in ["labels", "annotations"] {
        let mut merged: Map<String, Value> = old
            .obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(n) = new
            .obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
        {
            merged.extend(n.clone());
        }
        if !merged.is_empty() {
            new.metadata_mut()
                .insert(field.into(), Value::Object(merged));
        }
    }
    new.set_name(&name);
    new.set_namespace(&ns);
    new.prev = old.prev.clone();
    // A hash suffix only when both sides want one (kustomize merges its internal
    // needs-hash annotation this way): a plain resource keeps its name, and an overlay's
    // `disableNameSuffixHash` switches off the base's suffix.
    let new_wants_hash = new.generated.as_ref().is_some_and(|g| g.needs_hash);
    new.generated = old.generated.as_ref().map(|g| GenInfo {
        needs_hash: g.needs_hash && new_wants_hash,
    });
    if behavior == Behavior::Merge {
        for field in ["data", "binaryData"] {
            let mut merged: Map<String, Value> = old
                .obj
                .get(field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(n) = new.obj.get(field).and_then(Value::as_object) {
                merged.extend(n.clone());
            }
            if !merged.is_empty()
                && let Some(o) = new.obj.as_object_mut()
            {
                o.insert(field.into(), Value::Object(merged));
            }
        }
    }
}

/// Appends the content hash to the name of every generated object that wants one (at the end
/// of the build, and where a `HashTransformer` runs: kustomize then hashes those objects
/// again at the end, as v5.5 does).
pub(crate) fn add_hashes(res: &mut [Resource]) {
    for r in res.iter_mut() {
        if r.generated.as_ref().is_some_and(|g| g.needs_hash) {
            r.store_previous_id();
            let name = format!("{}-{}", r.name(), content_hash(&r.obj));
            r.set_name(&name);
        }
    }
}

/// kustomize's content hash of a ConfigMap or Secret (10 characters), as `api/hasher`
/// computes it: SHA-256 of Go's `json.Marshal` of selected fields, hex, first 10 characters
/// with `0 1 3 a e` mapped to `g h k m t`.
pub(crate) fn content_hash(obj: &Value) -> String {
    let get = |k: &str| -> Value {
        match obj.get(k) {
            None => Value::String(String::new()),
            Some(Value::Object(m)) => Value::Object(m.clone()),
            Some(Value::Null) => Value::Null,
            Some(v) => Value::String(super::resource::scalar_string(v)),
        }
    };
    let mut m = Map::new();
    match obj.get("kind").and_then(Value::as_str) {
        Some("ConfigMap") => {
            m.insert("kind".into(), json!("ConfigMap"));
            // kyaml looks up `metadata/name` as one field name, so the name is always "".
            m.insert("name".into(), json!(""));
            m.insert("data".into(), get("data"));
            if obj.get("binaryData").is_some_and(Value::is_object) {
                m.insert("binaryData".into(), get("binaryData"));
            }
        }
        Some("Secret") => {
            m.insert("kind".into(), json!("Secret"));
            m.insert("type".into(), get("type"));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), get("data"));
            if obj.get("stringData").is_some_and(Value::is_object) {
                m.insert("stringData".into(), get("stringData"));
            }
        }
        _ => {
            let mut s = String::new();
            go_json(obj, &mut s);
            return encode_hash(&s);
        }
    }
    let mut s = String::new();
    go_json(&Value::Object(m), &mut s);
    encode_hash(&s)
}

/// Base64 as kustomize writes generated `binaryData` and Secret `data` (kyaml's
/// `encodeBase64`): when the encoding is 70 characters or longer it is cut into lines of 70,
/// each ending in a newline; shorter encodings stay on one line.
fn wrapped_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    if enc.len() < LINE {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / LINE + 1);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

fn encode_hash(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            other => other,
        })
        .collect()
}

/// Go `encoding/json` output: sorted keys, HTML-safe escaping.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_string(k, out);
                out.push(':');
                if let Some(x) = m.get(*k) {
                    go_json(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(x, out);
            }
            out.push(']');
        }
        Value::String(s) => go_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_kustomize() {
        // Values observed from `kubectl kustomize` (v5.5.0).
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1", "b": "x<y"}});
        assert_eq!(content_hash(&cm), "dmtmgd285c");
        let s = json!({"kind": "Secret", "type": "Opaque", "metadata": {"name": "s"}, "data": {"p": "c2VjcmV0"}});
        assert_eq!(content_hash(&s), "4k4899t6bh");
    }

    #[test]
    fn quotes_and_keys() {
        assert_eq!(remove_quotes("\"a b\""), "a b");
        assert_eq!(remove_quotes("'x"), "'x");
        assert!(is_valid_key("a.b-c_d"));
        assert!(!is_valid_key("a/b"));
        assert!(!is_valid_key(".."));
    }
}
