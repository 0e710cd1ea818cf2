//! One walker over an object and its OpenAPI v3 schema, used for both flavours kube-apiserver has:
//!
//! - **CRDs** (`Flavor::Crd`): the structural schema of `openAPIV3Schema` — unknown fields pruned
//!   (unless `x-kubernetes-preserve-unknown-fields`), `default:` applied, and every violation of
//!   types, `required`, `enum`, bounds, lengths, patterns, formats and list types reported as a
//!   422 cause with apiextensions-apiserver's wording.
//! - **Built-in kinds** (`Flavor::Builtin`): the OpenAPI document stands for the Go types the body
//!   is decoded into — unknown fields are dropped and a type mismatch is the Go JSON decoder's 400
//!   (`cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`).
//!   Semantic rules of built-in kinds live in `rules.rs`.
//!
//! The walk records unknown fields twice: in document order (what strict decoding reports) and
//! children-first per level (what server-side apply's typed conversion reports).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::sim::error::Cause;

use super::data;

/// Which validator kube-apiserver would run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// A custom resource (structural schema).
    Crd,
    /// A built-in kind (Go types).
    Builtin,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Report {
    /// Unknown fields (`spec.bogus`), in document order.
    pub unknown: Vec<String>,
    /// Unknown fields as server-side apply lists them (`.spec.bogus`, children first).
    pub apply_unknown: Vec<String>,
    /// Schema violations (CRDs: 422 causes).
    pub causes: Vec<Cause>,
    /// The first Go decoding error of a built-in kind (400).
    pub decode_error: Option<String>,
}

/// A schema walker: the document `$ref`s resolve in (built-in kinds) and what to do.
pub struct Walker<'s> {
    flavor: Flavor,
    doc: Option<&'s Value>,
    /// Apply `default:` values (CRDs).
    pub defaults: bool,
    /// The top-level field whose schema alone is being validated (`status` for a custom
    /// resource's status write): the `… in body` names of messages are relative to it, as
    /// kube-apiserver's validator of that sub-schema writes them.
    pub body_root: Option<&'static str>,
    /// The report.
    pub report: Report,
}

#[derive(Clone, Debug)]
enum Seg {
    Field(String),
    Key(String),
    Index(usize),
}

/// The field path being walked, plus the Go view of it (struct name and index-free path).
#[derive(Clone, Debug, Default)]
struct Path {
    segs: Vec<Seg>,
    go_struct: String,
}

impl Path {
    fn child(&self, seg: Seg) -> Path {
        let mut p = self.clone();
        p.segs.push(seg);
        p
    }

    /// `spec.containers[0].name` (strict decoding, field errors).
    fn field(&self) -> String {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Field(f) | Seg::Key(f) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(f);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// `.spec.containers[name="c"].name`-less form used by apply: `.spec.bogus`.
    fn apply(&self) -> String {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Field(f) | Seg::Key(f) => {
                    out.push('.');
                    out.push_str(f);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    /// `spec.template.spec.containers` (Go's JSON decoder: fields only).
    fn go_field(&self) -> String {
        self.segs
            .iter()
            .filter_map(|s| match s {
                Seg::Field(f) => Some(f.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn openapi_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as field errors print it: strings quoted, everything else as JSON.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn s<'a>(schema: &'a Value, key: &str) -> Option<&'a str> {
    schema.get(key).and_then(Value::as_str)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool) == Some(true)
}

fn cause(reason: &str, path: &Path, message: String) -> Cause {
    Cause {
        reason: reason.into(),
        message,
        field: path.field(),
    }
}

static QUANTITY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$").ok());

impl<'s> Walker<'s> {
    /// A walker for a CRD's structural schema.
    pub fn crd() -> Self {
        Walker {
            flavor: Flavor::Crd,
            doc: None,
            defaults: true,
            body_root: None,
            report: Report::default(),
        }
    }

    /// A walker over a built-in OpenAPI document (`$ref`s resolve in `doc`).
    pub fn builtin(doc: &'s Value) -> Self {
        Walker {
            flavor: Flavor::Builtin,
            doc: Some(doc),
            defaults: false,
            body_root: None,
            report: Report::default(),
        }
    }

    /// Walks a whole object from its root schema. `go_root` is the Go type name of the root
    /// (built-in kinds: `ConfigMap`).
    pub fn walk_root(&mut self, schema: &'s Value, v: &mut Value, go_root: &str) {
        let path = Path {
            segs: vec![],
            go_struct: go_root.to_string(),
        };
        self.walk(schema, v, &path);
    }

    /// Follows `$ref` / single-`allOf` indirections of built-in documents; returns the schema and
    /// the component name it came from.
    fn resolve(&self, mut schema: &'s Value) -> (&'s Value, Option<&'s str>) {
        let mut component = None;
        for _ in 0..8 {
            let target = match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => Some(r),
                None => schema
                    .get("allOf")
                    .and_then(Value::as_array)
                    .filter(|a| a.len() == 1)
                    .and_then(|a| a[0].get("$ref"))
                    .and_then(Value::as_str),
            };
            let Some(r) = target else { break };
            let Some(name) = r.strip_prefix("#/components/schemas/") else {
                break;
            };
            let Some(found) = self
                .doc
                .and_then(|d| d.pointer("/components/schemas"))
                .and_then(|c| c.get(name))
            else {
                break;
            };
            component = Some(name);
            schema = found;
        }
        (schema, component)
    }

    /// The Go type a schema decodes into (`int32`, `[]v1.Container`, `map[string]string`).
    fn go_type(&self, schema: &'s Value) -> String {
        let (schema, component) = self.resolve(schema);
        if let Some(c) = component {
            let mut parts = c.rsplit('.');
            let ty = parts.next().unwrap_or(c);
            let pkg = parts.next().unwrap_or("");
            if s(schema, "type").is_none() || s(schema, "type") == Some("object") {
                return format!("{pkg}.{ty}");
            }
        }
        match (s(schema, "type"), s(schema, "format")) {
            (Some("integer"), Some(f @ ("int32" | "int64"))) => f.to_string(),
            (Some("integer"), _) => "int".into(),
            (Some("number"), _) => "float64".into(),
            (Some("boolean"), _) => "bool".into(),
            (Some("string"), Some("byte")) => "[]uint8".into(),
            (Some("string"), _) => "string".into(),
            (Some("array"), _) => match schema.get("items") {
                Some(i) => format!("[]{}", self.go_type(i)),
                None => "[]interface {}".into(),
            },
            (Some("object"), _) => match schema.get("additionalProperties") {
                Some(a) if a.is_object() => format!("map[string]{}", self.go_type(a)),
                _ => "map[string]interface {}".into(),
            },
            _ => "interface {}".into(),
        }
    }

    fn go_error(&mut self, got: &Value, schema: &'s Value, path: &Path) {
        if self.report.decode_error.is_some() {
            return;
        }
        // Go names the literal only when it did not fit a numeric target.
        let numeric = matches!(s(schema, "type"), Some("integer" | "number"));
        let what = match got {
            Value::Number(n) if numeric => format!("number {n}"),
            other => json_kind(other).to_string(),
        };
        let field = path.go_field();
        let field = if field.is_empty() {
            path.go_struct.clone()
        } else {
            format!("{}.{field}", path.go_struct)
        };
        self.report.decode_error = Some(format!(
            "json: cannot unmarshal {what} into Go struct field {field} of type {}",
            self.go_type(schema)
        ));
    }

    /// The field's name in `… in body` messages (relative to [`Walker::body_root`]).
    fn in_body(&self, path: &Path) -> String {
        let field = path.field();
        if let Some(rest) = self
            .body_root
            .and_then(|root| field.strip_prefix(root)?.strip_prefix('.'))
        {
            return rest.to_string();
        }
        field
    }

    fn type_error(&mut self, want: &str, got: &Value, path: &Path) {
        let g = openapi_kind(got);
        self.report.causes.push(cause(
            "FieldValueTypeInvalid",
            path,
            format!(
                "Invalid value: {g:?}: {} in body must be of type {want}: {g:?}",
                self.in_body(path)
            ),
        ));
    }

    fn invalid(&mut self, path: &Path, v: &Value, detail: String) {
        self.report.causes.push(cause(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {} in body {detail}",
                show(v),
                self.in_body(path)
            ),
        ));
    }

    fn walk(&mut self, schema: &'s Value, v: &mut Value, path: &Path) {
        let (schema, component) = match self.flavor {
            Flavor::Builtin => self.resolve(schema),
            Flavor::Crd => (schema, None),
        };
        let mut path = path.clone();
        if let Some(c) = component {
            path.go_struct = c.rsplit('.').next().unwrap_or(c).to_string();
        }
        match self.flavor {
            Flavor::Builtin => self.walk_builtin(schema, component, v, &path),
            Flavor::Crd => self.walk_crd(schema, v, &path),
        }
    }

    fn walk_builtin(
        &mut self,
        schema: &'s Value,
        component: Option<&str>,
        v: &mut Value,
        path: &Path,
    ) {
        if v.is_null() {
            return;
        }
        let format = s(schema, "format");
        if format == Some("int-or-string") {
            if !(v.is_string() || v.is_i64() || v.is_u64()) {
                self.go_error(v, schema, path);
            }
            return;
        }
        // metav1.Time / MicroTime decode themselves with time.Parse (RFC3339 / RFC3339Micro).
        let layout = match component {
            Some(c) if c.ends_with("apis.meta.v1.MicroTime") => Some(super::gotime::RFC3339_MICRO),
            Some(c) if c.ends_with("apis.meta.v1.Time") => Some(super::gotime::RFC3339),
            _ => None,
        };
        if let Some(layout) = layout {
            let error = match v {
                Value::String(t) => super::gotime::parse(layout, t).err(),
                other => Some(format!(
                    "json: cannot unmarshal {} into Go value of type string",
                    json_kind(other)
                )),
            };
            if self.report.decode_error.is_none() {
                self.report.decode_error = error;
            }
            return;
        }
        if component.is_some_and(|c| c.ends_with("resource.Quantity")) {
            match v {
                Value::String(q) if !QUANTITY.as_ref().is_some_and(|r| r.is_match(q)) => {
                    if self.report.decode_error.is_none() {
                        self.report.decode_error = Some(
                            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'".into(),
                        );
                    }
                }
                Value::String(_) | Value::Number(_) => {}
                _ => self.go_error(v, schema, path),
            }
            return;
        }
        match s(schema, "type") {
            Some("object") => {
                let Value::Object(map) = v else {
                    self.go_error(v, schema, path);
                    return;
                };
                // No declared fields at all: a Go type with its own decoding (FieldsV1,
                // RawExtension) that keeps whatever it is given.
                if schema.get("properties").is_none()
                    && schema.get("additionalProperties").is_none()
                {
                    return;
                }
                self.walk_object(schema, map, path);
            }
            Some("array") => {
                let Value::Array(items) = v else {
                    self.go_error(v, schema, path);
                    return;
                };
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.walk(item_schema, item, &path.child(Seg::Index(i)));
                    }
                }
            }
            Some("string") if !v.is_string() => self.go_error(v, schema, path),
            Some("boolean") if !v.is_boolean() => self.go_error(v, schema, path),
            Some("integer") => {
                let ok = match format {
                    Some("int32") => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                    _ => v.is_i64() || v.is_u64(),
                };
                if !ok {
                    self.go_error(v, schema, path);
                }
            }
            Some("number") if !v.is_number() => self.go_error(v, schema, path),
            _ => {}
        }
    }

    /// Object fields common to both flavours: known fields walked, unknown ones pruned.
    fn walk_object(&mut self, schema: &'s Value, map: &mut Map<String, Value>, path: &Path) {
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
        let embedded = flag(schema, "x-kubernetes-embedded-resource");
        let root = path.segs.is_empty();
        if self.defaults
            && let Some(props) = props
        {
            for (k, sub) in props {
                let absent = match map.get(k) {
                    None => true,
                    Some(Value::Null) => !flag(sub, "nullable"),
                    Some(_) => false,
                };
                if absent && let Some(d) = sub.get("default") {
                    map.insert(k.clone(), d.clone());
                }
            }
        }
        let mut unknown_here = vec![];
        let mut drop = vec![];
        for (k, val) in map.iter_mut() {
            let child = path.child(Seg::Field(k.clone()));
            if let Some(sub) = props.and_then(|p| p.get(k)) {
                if self.flavor == Flavor::Crd && k == "metadata" && (root || embedded) {
                    self.walk_meta(val, &child);
                    // The rest of a CR's metadata schema (name patterns) still applies.
                    self.walk_crd_constraints_only(sub, val, &child);
                } else {
                    self.walk(sub, val, &child);
                }
                continue;
            }
            if (root || embedded) && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                if k == "metadata" && self.flavor == Flavor::Crd {
                    self.walk_meta(val, &child);
                }
                continue;
            }
            match additional {
                Some(a @ Value::Object(_)) => {
                    // Go reports a map value's error at the map's field (keys are not fields).
                    self.walk(a, val, &path.child(Seg::Key(k.clone())));
                }
                Some(Value::Bool(true)) => {}
                _ if preserve => {}
                _ => {
                    self.report.unknown.push(child.field());
                    unknown_here.push(child.apply());
                    drop.push(k.clone());
                }
            }
        }
        self.report.apply_unknown.extend(unknown_here);
        for k in drop {
            map.remove(&k);
        }
    }

    /// ObjectMeta of a custom resource: checked against the built-in `ObjectMeta` type.
    fn walk_meta(&mut self, v: &mut Value, path: &Path) {
        let Some(doc) = data::builtin_doc("", "v1") else {
            return;
        };
        let Some(meta) =
            doc.pointer("/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        else {
            return;
        };
        let mut inner = Walker::builtin(doc);
        let p = Path {
            segs: path.segs.clone(),
            go_struct: "ObjectMeta".into(),
        };
        inner.walk(meta, v, &p);
        let r = inner.report;
        self.report.unknown.extend(r.unknown);
        self.report.apply_unknown.extend(r.apply_unknown);
        if let Some(e) = r.decode_error {
            self.report.causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {}: {e}", show(v)),
                field: path.field(),
            });
        }
    }

    /// The scalar constraints of a CR's `metadata` schema (its fields are ObjectMeta's).
    fn walk_crd_constraints_only(&mut self, schema: &'s Value, v: &mut Value, path: &Path) {
        if let (Some(props), Some(map)) = (
            schema.get("properties").and_then(Value::as_object),
            v.as_object_mut(),
        ) {
            for (k, sub) in props {
                if let Some(val) = map.get_mut(k)
                    && val.is_string()
                {
                    self.walk_crd(sub, val, &path.child(Seg::Field(k.clone())));
                }
            }
        }
    }

    fn walk_crd(&mut self, schema: &'s Value, v: &mut Value, path: &Path) {
        if v.is_null() {
            if flag(schema, "nullable") {
                return;
            }
            if let Some(t) = s(schema, "type") {
                self.type_error(t, v, path);
            }
            return;
        }
        if flag(schema, "x-kubernetes-int-or-string") {
            if !(v.is_string() || openapi_kind(v) == "integer") {
                self.type_error("integer or string", v, path);
                return;
            }
        } else if let Some(t) = s(schema, "type") {
            let got = openapi_kind(v);
            let ok = got == t || (t == "number" && got == "integer");
            if !ok {
                self.type_error(t, v, path);
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(v)
        {
            let list: Vec<String> = allowed.iter().map(show).collect();
            self.report.causes.push(cause(
                "FieldValueNotSupported",
                path,
                format!(
                    "Unsupported value: {}: supported values: {}",
                    show(v),
                    list.join(", ")
                ),
            ));
        }
        match v {
            Value::Object(map) => {
                if let Some(req) = schema.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !map.contains_key(r) {
                            self.report.causes.push(cause(
                                "FieldValueRequired",
                                &path.child(Seg::Field(r.to_string())),
                                "Required value".into(),
                            ));
                        }
                    }
                }
                self.walk_object(schema, map, path);
            }
            Value::Array(items) => {
                let n = items.len();
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && n as u64 > max
                {
                    self.report.causes.push(cause(
                        "FieldValueTooMany",
                        path,
                        format!("Too many: {n}: must have at most {max} items"),
                    ));
                }
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && (n as u64) < min
                {
                    let v2 = Value::Array(items.clone());
                    self.invalid(path, &v2, format!("should have at least {min} items"));
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter_mut().enumerate() {
                        self.walk_crd(item_schema, item, &path.child(Seg::Index(i)));
                    }
                }
                self.list_type(schema, items, path);
            }
            Value::String(text) => {
                let text = text.clone();
                self.string_constraints(schema, &text, v, path);
            }
            Value::Number(_) => self.number_constraints(schema, v, path),
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn list_type(&mut self, schema: &Value, items: &[Value], path: &Path) {
        match s(schema, "x-kubernetes-list-type") {
            Some("set") => {
                for (i, item) in items.iter().enumerate() {
                    if items[..i].contains(item) {
                        self.report.causes.push(cause(
                            "FieldValueDuplicate",
                            &path.child(Seg::Index(i)),
                            format!("Duplicate value: {}", show(item)),
                        ));
                    }
                }
            }
            Some("map") => {
                let keys: Vec<&str> = schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let key_of = |item: &Value| -> Vec<Value> {
                    keys.iter()
                        .map(|k| item.get(*k).cloned().unwrap_or(Value::Null))
                        .collect()
                };
                for (i, item) in items.iter().enumerate() {
                    let k = key_of(item);
                    if items[..i].iter().any(|o| key_of(o) == k) {
                        let shown: Vec<String> = keys
                            .iter()
                            .zip(&k)
                            .filter(|(_, v)| !v.is_null())
                            .map(|(name, v)| format!("{name:?}:{}", show(v)))
                            .collect();
                        self.report.causes.push(cause(
                            "FieldValueDuplicate",
                            &path.child(Seg::Index(i)),
                            format!(
                                "Duplicate value: map[string]interface {{}}{{{}}}",
                                shown.join(", ")
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    fn string_constraints(&mut self, schema: &Value, text: &str, v: &Value, path: &Path) {
        let len = text.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            self.report.causes.push(cause(
                "FieldValueTooLong",
                path,
                format!("Too long: may not be more than {max} bytes"),
            ));
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            self.invalid(path, v, format!("should be at least {min} chars long"));
        }
        if let Some(p) = s(schema, "pattern")
            && let Some(re) = super::pattern(p)
            && !re.is_match(text)
        {
            self.invalid(path, v, format!("should match '{p}'"));
        }
        if let Some(f) = s(schema, "format")
            && !super::formats::valid(f, text)
        {
            self.invalid_format(path, v, f);
        }
    }

    fn invalid_format(&mut self, path: &Path, v: &Value, format: &str) {
        self.report.causes.push(cause(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {} in body must be of type {format}: {}",
                show(v),
                self.in_body(path),
                show(v)
            ),
        ));
    }

    fn number_constraints(&mut self, schema: &Value, v: &Value, path: &Path) {
        let Some(n) = v.as_f64() else { return };
        let bound = |k: &str| schema.get(k).and_then(Value::as_f64);
        let shown = |b: f64| -> String {
            if b.fract() == 0.0 {
                format!("{}", b as i64)
            } else {
                format!("{b}")
            }
        };
        if let Some(max) = bound("maximum") {
            if flag(schema, "exclusiveMaximum") && n >= max {
                self.invalid(path, v, format!("should be less than {}", shown(max)));
            } else if n > max {
                self.invalid(
                    path,
                    v,
                    format!("should be less than or equal to {}", shown(max)),
                );
            }
        }
        if let Some(min) = bound("minimum") {
            if flag(schema, "exclusiveMinimum") && n <= min {
                self.invalid(path, v, format!("should be greater than {}", shown(min)));
            } else if n < min {
                self.invalid(
                    path,
                    v,
                    format!("should be greater than or equal to {}", shown(min)),
                );
            }
        }
        if let Some(f) = s(schema, "format") {
            let fits = match f {
                "int32" => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                "int64" => v.is_i64(),
                _ => true,
            };
            if !fits {
                self.invalid_format(path, v, f);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn widget_schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "name": {"type": "string", "maxLength": 3, "pattern": "^[a-z]+$"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "ports": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": true},
            }},
        }})
    }

    fn walk(obj: &mut Value) -> Report {
        let schema = widget_schema();
        let mut w = Walker::crd();
        // The schema must outlive the walker's borrows; leak in tests only.
        let schema: &'static Value = Box::leak(Box::new(schema));
        w.walk_root(schema, obj, "Widget");
        w.report
    }

    #[test]
    fn crd_prunes_defaults_and_reports() {
        let mut obj = json!({"apiVersion": "x/v1", "kind": "Widget",
            "metadata": {"name": "w", "bogusMeta": 1},
            "spec": {"size": 3, "bogus": 1, "free": {"any": [1]}}, "top": 1});
        let r = walk(&mut obj);
        assert_eq!(r.unknown, vec!["metadata.bogusMeta", "spec.bogus", "top"]);
        assert_eq!(
            r.apply_unknown,
            vec![".metadata.bogusMeta", ".spec.bogus", ".top"]
        );
        assert!(r.causes.is_empty(), "{:?}", r.causes);
        assert_eq!(
            obj,
            json!({"apiVersion": "x/v1", "kind": "Widget", "metadata": {"name": "w"},
                "spec": {"size": 3, "free": {"any": [1]}, "mode": "a"}})
        );
    }

    #[test]
    fn crd_violations_use_apiextensions_wording() {
        let mut obj = json!({"spec": {"size": "three"}});
        let r = walk(&mut obj);
        assert_eq!(r.causes[0].field, "spec.size");
        assert_eq!(
            r.causes[0].message,
            "Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
        );
        let mut obj = json!({"spec": {"size": 11, "mode": "c", "name": "ABCD",
            "ports": [{"name": "x"}, {"name": "x"}], "tags": ["a", "a"], "port": true}});
        let msgs: Vec<String> = walk(&mut obj)
            .causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            msgs,
            vec![
                "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
                "spec.mode: Unsupported value: \"c\": supported values: \"a\", \"b\"",
                "spec.name: Too long: may not be more than 3 bytes",
                "spec.name: Invalid value: \"ABCD\": spec.name in body should match '^[a-z]+$'",
                "spec.ports[1]: Duplicate value: map[string]interface {}{\"name\":\"x\"}",
                "spec.tags[1]: Duplicate value: \"a\"",
                "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer or string: \"boolean\"",
            ]
        );
        let mut obj = json!({"spec": {}});
        assert_eq!(walk(&mut obj).causes[0].field, "spec.size");
    }

    #[test]
    fn builtin_reports_go_decoding_errors() {
        let doc = data::builtin_doc("apps", "v1").unwrap();
        let schema = doc
            .pointer("/components/schemas/io.k8s.api.apps.v1.Deployment")
            .unwrap();
        let mut obj = json!({"spec": {"replicas": "two", "template": {"spec": {"containers": [{"name": "c", "bogus": 1}]}}}});
        let mut w = Walker::builtin(doc);
        w.walk_root(schema, &mut obj, "Deployment");
        assert_eq!(
            w.report.decode_error.as_deref(),
            Some(
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
            )
        );
        assert_eq!(
            w.report.unknown,
            vec!["spec.template.spec.containers[0].bogus"]
        );

        let core = data::builtin_doc("", "v1").unwrap();
        let cm = core
            .pointer("/components/schemas/io.k8s.api.core.v1.ConfigMap")
            .unwrap();
        let mut obj = json!({"data": {"a": 1}});
        let mut w = Walker::builtin(core);
        w.walk_root(cm, &mut obj, "ConfigMap");
        assert_eq!(
            w.report.decode_error.as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
            )
        );
    }
}
