//! Schema admission of the simulated API server: every create, update, patch and apply is checked
//! against the real schemas the way kube-apiserver checks it.
//!
//! - `data`: the real CRDs and built-in OpenAPI v3 documents compiled in (parsed lazily).
//! - `structural`: the walker (pruning, defaulting, types, bounds, list types, Go decoding errors).
//! - `rules`: the hand-written validation of built-in kinds that matters here (names, immutable
//!   fields, pod updates, volumes, selectors).
//! - `formats`: the string formats kube enforces.
//!
//! The one entry point is [`admit`] (contract in RULES.md): kind, new object, old object,
//! `fieldValidation` mode → the pruned/defaulted object plus warnings, or the `ApiError`
//! kube-apiserver would answer.

pub mod data;
pub mod formats;
pub mod gostruct;
pub mod gotime;
pub mod patch_order;
pub mod rules;
pub mod structural;

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;
use serde_json::Value;

use crate::sim::api::Request;
use crate::sim::error::ApiError;
use crate::sim::resources::KindInfo;
use crate::sim::store::{GroupResource, Obj, State};

use structural::Walker;

/// The `fieldValidation` directive of a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Unknown or duplicate fields fail the request (400).
    Strict,
    /// They are dropped, with one `Warning` header each (kube-apiserver's default).
    Warn,
    /// They are dropped silently.
    Ignore,
}

impl FieldValidation {
    /// Parses the query parameter; absent means `Warn`, like kube-apiserver since 1.27.
    pub fn from_query(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("") => Ok(Self::Warn),
            Some(v) if v.eq_ignore_ascii_case("strict") => Ok(Self::Strict),
            Some(v) if v.eq_ignore_ascii_case("warn") => Ok(Self::Warn),
            Some(v) if v.eq_ignore_ascii_case("ignore") => Ok(Self::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Invalid value: {other:?}: fieldValidation must be one of \"Ignore\", \"Strict\", or \"Warn\""
            ))),
        }
    }
}

/// An admitted object.
#[derive(Debug)]
pub struct Admitted {
    /// The object as it will be stored: unknown fields pruned, defaults applied.
    pub object: Value,
    /// `Warning` header texts (`unknown field "spec.bogus"`).
    pub warnings: Vec<String>,
}

/// Where a kind's schema comes from.
enum Source<'a> {
    Builtin(&'static Value, &'static Value, String),
    Crd(&'a Value),
    None,
}

fn source<'a>(kind: &KindInfo, crd: Option<&'a Value>) -> Source<'a> {
    if kind.custom {
        let schema = crd
            .and_then(|c| c.pointer("/spec/versions"))
            .and_then(Value::as_array)
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v.get("name").and_then(Value::as_str) == Some(kind.version.as_str()))
            })
            .and_then(|v| v.pointer("/schema/openAPIV3Schema"));
        return schema.map_or(Source::None, Source::Crd);
    }
    let Some(doc) = data::builtin_doc(&kind.group, &kind.version) else {
        return Source::None;
    };
    match data::builtin_component(&kind.group, &kind.version, &kind.kind)
        .and_then(|c| doc.pointer("/components/schemas")?.get(c))
    {
        Some(schema) => Source::Builtin(doc, schema, kind.kind.clone()),
        None => Source::None,
    }
}

fn cannot_handle(kind: &KindInfo, what: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{k} in version {v:?} cannot be handled as a {k}: {what}",
        k = kind.kind,
        v = kind.version
    ))
}

/// Admits a written object (create, update, patch): decodes it like kube-apiserver (type errors
/// 400; unknown and `duplicates` fields per `mode`), prunes and defaults it (CRDs), and validates
/// it against its schema and CEL rules (422). `crd` is the CustomResourceDefinition of a custom
/// kind; `old` the stored object of an update; `status_write` a write to the `status`
/// subresource.
pub fn admit(
    kind: &KindInfo,
    crd: Option<&Value>,
    mut object: Value,
    old: Option<&Value>,
    mode: FieldValidation,
    duplicates: &[String],
    status_write: bool,
) -> Result<Admitted, ApiError> {
    let (report, schema) = match source(kind, crd) {
        Source::None => {
            return Ok(Admitted {
                object,
                warnings: vec![],
            });
        }
        Source::Builtin(doc, schema, root) => {
            let mut w = Walker::builtin(doc);
            w.walk_root(schema, &mut object, &root);
            (w.report, None)
        }
        Source::Crd(schema) => {
            let mut w = Walker::crd();
            // kube-apiserver validates a custom resource's status write against the status
            // schema alone.
            w.body_root = status_write.then_some("status");
            w.walk_root(schema, &mut object, &kind.kind);
            (w.report, Some(schema))
        }
    };
    if let Some(e) = &report.decode_error {
        return Err(cannot_handle(kind, e));
    }
    let mut strict: Vec<String> = report
        .unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    strict.extend(duplicates.iter().map(|f| format!("duplicate field {f:?}")));
    let warnings = match mode {
        FieldValidation::Strict if !strict.is_empty() => {
            return Err(cannot_handle(
                kind,
                &format!("strict decoding error: {}", strict.join(", ")),
            ));
        }
        FieldValidation::Warn => strict,
        _ => vec![],
    };
    // Like the strategies of a kind with a status subresource: a main-resource write keeps the
    // stored status (a create resets it) and a status write keeps the stored rest, so only the
    // part being written is validated.
    let causes: Vec<_> = report
        .causes
        .into_iter()
        .filter(|c| {
            let in_status = c.field == "status"
                || c.field.starts_with("status.")
                || c.field.starts_with("status[");
            match (kind.status, status_write) {
                (_, true) => in_status,
                (true, false) => !in_status,
                (false, false) => true,
            }
        })
        .collect();
    let mut causes = causes;
    if let Some(old) = old
        && !status_write
    {
        causes.extend(rules::update_causes(kind, old, &object));
    }
    let _ = schema;
    if !causes.is_empty() {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(ApiError::invalid(&kind.kind, &kind.group, name, causes));
    }
    Ok(Admitted { object, warnings })
}

/// The CustomResourceDefinition that serves a custom kind.
pub fn crd_of(st: &State, kind: &KindInfo) -> Option<Obj> {
    if !kind.custom {
        return None;
    }
    st.get(
        &GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions"),
        "",
        &format!("{}.{}", kind.plural, kind.group),
    )
}

/// [`admit`] for one request: its kind's schema from the store, its `fieldValidation`, and the
/// duplicate fields of its body (creates and updates; a patch's result has none).
pub fn admit_request(
    st: &State,
    req: &Request,
    object: Value,
    old: Option<&Value>,
) -> Result<Admitted, ApiError> {
    let mode = FieldValidation::from_query(req.query.get("fieldValidation").map(String::as_str))?;
    let duplicates =
        if matches!(req.verb(), "create" | "update") && !req.content_type.contains("yaml") {
            duplicate_fields(&req.body)
        } else {
            vec![]
        };
    let crd = crd_of(st, &req.kind);
    let status_write = req.sub.as_deref() == Some("status");
    if let Some(old) = old
        && req.verb() == "patch"
        && let Some(e) = patched_decode_error(&req.kind, old, &object, req)
    {
        return Err(e);
    }
    admit(
        &req.kind,
        crd.as_deref(),
        object,
        old,
        mode,
        &duplicates,
        status_write,
    )
}

/// A JSON or merge patch whose result does not decode into a built-in kind's Go type: kube's
/// patcher answers 422 `patch: Invalid value: "<patched JSON>": <decode error>` (not the 400 of
/// a create), quoting the patched document as evanphx/json-patch serialises it.
fn patched_decode_error(
    kind: &KindInfo,
    old: &Value,
    object: &Value,
    req: &Request,
) -> Option<ApiError> {
    let media = req.content_type.split(';').next().unwrap_or("").trim();
    let json_patch = match media {
        "application/json-patch+json" => true,
        "application/merge-patch+json" => false,
        _ => return None,
    };
    let Source::Builtin(doc, schema, root) = source(kind, None) else {
        return None;
    };
    let mut w = Walker::builtin(doc);
    w.walk_root(schema, &mut object.clone(), &root);
    let why = w.report.decode_error?;
    let patch = req.body_json().ok()?;
    let mut base = crate::sim::api::for_version(kind, old);
    // The patcher encodes the current object from its Go type: metadata in struct order.
    if let Some(meta) = base.get_mut("metadata") {
        *meta = patch_order::object_meta_order(meta);
    }
    let patched = if json_patch {
        patch_order::json_patched(&base, &patch)
    } else {
        patch_order::merge_patched(&base, &patch)
    };
    Some(ApiError::invalid_patch(&patched.to_string(), &why))
}

/// Adds one `Warning` header per warning to a response.
pub fn with_warnings(
    mut resp: axum::response::Response,
    warnings: &[String],
) -> axum::response::Response {
    for w in warnings {
        if let Ok(v) = axum::http::HeaderValue::from_str(&warning_header(w)) {
            resp.headers_mut().append(axum::http::header::WARNING, v);
        }
    }
    resp
}

/// Server-side apply's typed conversion of an apply configuration: fields the schema does not
/// declare fail the request whatever `fieldValidation` says, with structured-merge-diff's message.
pub fn check_apply(kind: &KindInfo, crd: Option<&Value>, applied: &Value) -> Result<(), ApiError> {
    let mut copy = applied.clone();
    let unknown = match source(kind, crd) {
        Source::None => return Ok(()),
        Source::Builtin(doc, schema, root) => {
            let mut w = Walker::builtin(doc);
            w.walk_root(schema, &mut copy, &root);
            w.report.apply_unknown
        }
        Source::Crd(schema) => {
            let mut w = Walker::crd();
            w.defaults = false;
            w.walk_root(schema, &mut copy, &kind.kind);
            w.report.apply_unknown
        }
    };
    if unknown.is_empty() {
        return Ok(());
    }
    let errors: Vec<String> = unknown
        .iter()
        .map(|p| format!("{p}: field not declared in schema"))
        .collect();
    let listed = if errors.len() == 1 {
        errors.join("")
    } else {
        format!("errors:\n  {}", errors.join("\n  "))
    };
    let meta = |k: &str| {
        applied
            .pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let mut e = ApiError::bad_request(format!(
        "failed to create typed patch object ({}/{}; {}/{}, Kind={}): {listed}",
        meta("namespace"),
        meta("name"),
        kind.group,
        kind.version,
        kind.kind
    ));
    // A plain Go error inside the apply path: kube-apiserver answers 500 with an unknown reason.
    e.code = 500;
    e.reason = "";
    Err(e)
}

/// The `Warning` header value of one warning text (RFC 7234 `299 - "text"`).
pub fn warning_header(text: &str) -> String {
    format!("299 - {}", serde_json::Value::String(text.to_string()))
}

/// Fields repeated within one JSON object of a request body (`data`, `spec.template`), which
/// kube's strict decoder reports as `duplicate field`. Not-JSON bodies have none.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    struct Scan<'a> {
        path: String,
        out: &'a mut Vec<String>,
    }
    impl<'de> DeserializeSeed<'de> for Scan<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Scan<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            while seq
                .next_element_seed(Scan {
                    path: format!("{}[{i}]", self.path),
                    out: &mut *self.out,
                })?
                .is_some()
            {
                i += 1;
            }
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = if self.path.is_empty() {
                    key.clone()
                } else {
                    format!("{}.{key}", self.path)
                };
                if !seen.insert(key) {
                    self.out.push(path.clone());
                }
                map.next_value_seed(Scan {
                    path,
                    out: &mut *self.out,
                })?;
            }
            Ok(())
        }
    }
    let mut out = vec![];
    let mut de = serde_json::Deserializer::from_slice(body);
    let scan = Scan {
        path: String::new(),
        out: &mut out,
    };
    if scan.deserialize(&mut de).is_err() {
        return vec![];
    }
    out
}

/// A compiled CRD `pattern` (cached: schemas repeat the same few patterns on every write).
/// `None` when the regex does not compile in Rust's dialect (kube uses Go's RE2: the same for
/// everything these CRDs use).
pub fn pattern(p: &str) -> Option<Regex> {
    static CACHE: LazyLock<Mutex<HashMap<String, Option<Regex>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(p.to_string())
        .or_insert_with(|| Regex::new(p).ok())
        .clone()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::resources::builtins;
    use serde_json::json;

    fn kind(plural: &str) -> KindInfo {
        builtins().into_iter().find(|k| k.plural == plural).unwrap()
    }

    #[test]
    fn status_write_messages_are_relative_to_the_status_schema() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}]}});
        let k = crate::sim::resources::kinds_from_crd(&crd)
            .unwrap()
            .remove(0);
        let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "s1"}, "spec": {"size": "x"}, "status": {"phase": 5}});
        let msgs = |status_write| {
            let e = admit(
                &k,
                Some(&crd),
                obj.clone(),
                None,
                FieldValidation::Strict,
                &[],
                status_write,
            )
            .unwrap_err();
            e.message
        };
        assert!(
            msgs(true).ends_with(
                "status.phase: Invalid value: \"integer\": phase in body must be of type string: \"integer\""
            ),
            "{}",
            msgs(true)
        );
        assert!(
            msgs(false).ends_with(
                "spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
            ),
            "{}",
            msgs(false)
        );
    }

    #[test]
    fn strict_warn_ignore_like_kube() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "bogus": "x",
            "data": {"a": "1"}, "metadata": {"name": "u", "bogusMeta": 1}});
        let e = admit(
            &kind("configmaps"),
            None,
            cm.clone(),
            None,
            FieldValidation::Strict,
            &["data".into()],
            false,
        )
        .unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogus\", unknown field \"metadata.bogusMeta\", duplicate field \"data\""
        );
        let ok = admit(
            &kind("configmaps"),
            None,
            cm.clone(),
            None,
            FieldValidation::Warn,
            &[],
            false,
        )
        .unwrap();
        assert_eq!(
            ok.warnings,
            vec![
                "unknown field \"bogus\"",
                "unknown field \"metadata.bogusMeta\""
            ]
        );
        assert_eq!(
            ok.object,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}, "metadata": {"name": "u"}})
        );
        let quiet = admit(
            &kind("configmaps"),
            None,
            cm.clone(),
            None,
            FieldValidation::Ignore,
            &[],
            false,
        )
        .unwrap();
        assert!(quiet.warnings.is_empty());
        let e = check_apply(
            &kind("configmaps"),
            None,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "bogus": "x",
            "metadata": {"name": "u4", "namespace": "n", "bogusMeta": 1}}),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "failed to create typed patch object (n/u4; /v1, Kind=ConfigMap): errors:\n  .metadata.bogusMeta: field not declared in schema\n  .bogus: field not declared in schema"
        );
        assert_eq!(
            warning_header("unknown field \"bogus\""),
            "299 - \"unknown field \\\"bogus\\\"\""
        );
    }

    #[test]
    fn duplicates_are_found_with_paths() {
        let body = br#"{"a":1,"m":{"x":1,"x":2},"l":[{"k":1,"k":2}],"a":2}"#;
        assert_eq!(duplicate_fields(body), vec!["m.x", "l[0].k", "a"]);
        assert!(duplicate_fields(b"not json").is_empty());
    }

    #[test]
    fn field_validation_parameter() {
        assert_eq!(
            FieldValidation::from_query(None).unwrap(),
            FieldValidation::Warn
        );
        assert_eq!(
            FieldValidation::from_query(Some("Strict")).unwrap(),
            FieldValidation::Strict
        );
        assert!(FieldValidation::from_query(Some("Loud")).is_err());
    }
}
