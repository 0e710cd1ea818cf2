//! The OpenAPI v3 surface (`/openapi/v3` index and one document per group-version). Built-in
//! group-versions are served from the real kube-apiserver documents compiled in
//! (`crate::sim::schema::data`); custom group-versions get, for every served kind, its object
//! paths with a PATCH operation tagged with `x-kubernetes-group-version-kind` and the
//! `fieldValidation`/`fieldManager`/`dryRun`/`force` parameters (kubectl decides from this that
//! the server validates fields itself) plus the CRD's `openAPIV3Schema` as a component, named and
//! linked to `ObjectMeta` like kube-apiserver does, so `kubectl explain` works.
//!
//! `/openapi/v2` is one Swagger 2.0 document converted from those v3 documents (definitions with
//! their references rewritten, operations with v2 parameters and response schemas), served as
//! JSON only: client-go's v2 clients ask for protobuf and get 406, as if the server had no
//! protobuf v2 encoding (see docs/sim-api.md).

use serde_json::{Value, json};

use crate::sim::resources::{KindInfo, Registry};
use crate::sim::schema::{self, data};
use crate::sim::store::State;

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of group-version documents.
pub fn index(reg: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    for (g, versions) in reg.groups() {
        for v in versions {
            let key = gv_key(&g, &v);
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}")}),
            );
        }
    }
    json!({ "paths": paths })
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn object_path(k: &KindInfo) -> String {
    let prefix = format!("/{}", gv_key(&k.group, &k.version));
    if k.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", k.plural)
    } else {
        format!("{prefix}/{}/{{name}}", k.plural)
    }
}

/// The component name kube-apiserver gives a CRD kind: the reversed group, version and kind
/// (`io.kserve.serving.v1beta1.InferenceService`).
fn crd_component(k: &KindInfo) -> String {
    let group: Vec<&str> = k.group.split('.').rev().collect();
    format!("{}.{}.{}", group.join("."), k.version, k.kind)
}

/// Copies `name` and every component it references from `from` into `into`.
fn copy_with_refs(
    from: &serde_json::Map<String, Value>,
    name: &str,
    into: &mut serde_json::Map<String, Value>,
) {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str)
                    && let Some(n) = r.strip_prefix("#/components/schemas/")
                {
                    out.push(n.to_string());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        if into.contains_key(&n) {
            continue;
        }
        let Some(s) = from.get(&n) else { continue };
        refs(s, &mut todo);
        into.insert(n, s.clone());
    }
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{g}/{v}`, if served.
pub fn group_version(st: &State, group: &str, version: &str) -> Option<Value> {
    let reg = &st.registry;
    let served = reg.all().any(|k| k.group == group && k.version == version);
    if served
        && !reg
            .all()
            .any(|k| k.group == group && k.version == version && k.custom)
        && let Some(doc) = data::builtin_doc_described(group, version)
    {
        return Some(doc.clone());
    }
    let mut doc = generated(reg, group, version)?;
    let mut components = serde_json::Map::new();
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
    for k in reg
        .all()
        .filter(|k| k.group == group && k.version == version && k.custom)
    {
        let Some(crd) = schema::crd_of(st, k) else {
            continue;
        };
        let Some(mut s) = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .and_then(|vs| vs.iter().find(|v| v["name"] == k.version.as_str()))
            .and_then(|v| v.pointer("/schema/openAPIV3Schema"))
            .cloned()
        else {
            continue;
        };
        s["x-kubernetes-group-version-kind"] =
            json!([{"group": k.group, "version": k.version, "kind": k.kind}]);
        if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                "metadata".into(),
                json!({"allOf": [{"$ref": format!("#/components/schemas/{meta}")}]}),
            );
        }
        components.insert(crd_component(k), s);
        if let Some(core) = data::builtin_doc_described("", "v1")
            .and_then(|d| d.pointer("/components/schemas"))
            .and_then(Value::as_object)
        {
            copy_with_refs(core, meta, &mut components);
        }
    }
    doc["components"]["schemas"] = Value::Object(components);
    Some(doc)
}

/// The paths part of a group-version document, from the registry.
fn generated(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<&KindInfo> = reg
        .all()
        .filter(|k| k.group == group && k.version == version)
        .map(|k| k.as_ref())
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let mut paths = serde_json::Map::new();
    for k in kinds {
        let gvk = json!({"group": k.group, "version": k.version, "kind": k.kind});
        let params: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|p| param(p))
            .collect();
        let op = |verb: &str| {
            json!({
                "operationId": format!("{verb}{}", k.kind),
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
            })
        };
        let mut path = json!({});
        if k.has_verb("patch") {
            path["patch"] = op("patch");
        }
        if k.has_verb("update") {
            path["put"] = op("put");
        }
        if k.has_verb("get") {
            path["get"] = op("get");
        }
        paths.insert(object_path(k), path);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.5"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// Rewrites every `#/components/schemas/X` reference to Swagger 2.0's `#/definitions/X`.
fn v2_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(n) = r.strip_prefix("#/components/schemas/")
            {
                *r = format!("#/definitions/{n}");
            }
            m.values_mut().for_each(v2_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(v2_refs),
        _ => {}
    }
}

/// A v3 parameter as v2 writes it: the schema's keywords inline (a non-body parameter).
fn v2_parameter(p: &Value) -> Value {
    let mut out = p.clone();
    if let Some(m) = out.as_object_mut()
        && let Some(Value::Object(schema)) = m.remove("schema")
    {
        for (k, v) in schema {
            m.entry(k).or_insert(v);
        }
    }
    out
}

/// A v3 operation as v2 writes it: `requestBody` becomes the `body` parameter, each response's
/// content becomes its `schema`, the media types become `consumes`/`produces`.
fn v2_operation(op: &Value) -> Value {
    let Some(m) = op.as_object() else {
        return op.clone();
    };
    let mut out = serde_json::Map::new();
    let mut params: Vec<Value> = m
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().map(v2_parameter).collect())
        .unwrap_or_default();
    if let Some(content) = m
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
    {
        out.insert("consumes".into(), json!(content.keys().collect::<Vec<_>>()));
        if let Some(schema) = content.values().find_map(|c| c.get("schema")) {
            params.insert(
                0,
                json!({"name": "body", "in": "body", "required": true, "schema": schema}),
            );
        }
    }
    let mut produces: Vec<String> = Vec::new();
    let mut responses = serde_json::Map::new();
    if let Some(rs) = m.get("responses").and_then(Value::as_object) {
        for (code, r) in rs {
            let mut resp =
                json!({"description": r.get("description").cloned().unwrap_or(json!(""))});
            if let Some(content) = r.get("content").and_then(Value::as_object) {
                for mt in content.keys() {
                    if !produces.contains(mt) {
                        produces.push(mt.clone());
                    }
                }
                if let Some(schema) = content.values().find_map(|c| c.get("schema")) {
                    resp["schema"] = schema.clone();
                }
            }
            responses.insert(code.clone(), resp);
        }
    }
    for (k, v) in m {
        if !matches!(k.as_str(), "parameters" | "requestBody" | "responses") {
            out.insert(k.clone(), v.clone());
        }
    }
    if !produces.is_empty() {
        out.insert("produces".into(), json!(produces));
    }
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Array(params));
    }
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

/// `/openapi/v2`: every served group-version's v3 document merged into one Swagger 2.0 document.
pub fn v2(st: &State) -> Value {
    let mut paths = serde_json::Map::new();
    let mut definitions = serde_json::Map::new();
    let mut info = json!({"title": "Kubernetes", "version": "unversioned"});
    for (g, versions) in st.registry.groups() {
        for v in versions {
            let Some(doc) = group_version(st, &g, &v) else {
                continue;
            };
            if g.is_empty()
                && let Some(i) = doc.get("info")
            {
                info = i.clone();
            }
            if let Some(schemas) = doc
                .pointer("/components/schemas")
                .and_then(Value::as_object)
            {
                for (name, schema) in schemas {
                    definitions
                        .entry(name.clone())
                        .or_insert_with(|| schema.clone());
                }
            }
            for (path, item) in doc
                .get("paths")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let Some(ops) = item.as_object() else {
                    continue;
                };
                let converted: serde_json::Map<String, Value> = ops
                    .iter()
                    .map(|(verb, op)| {
                        let op = match verb.as_str() {
                            "parameters" => Value::Array(
                                op.as_array()
                                    .map(|ps| ps.iter().map(v2_parameter).collect())
                                    .unwrap_or_default(),
                            ),
                            _ => v2_operation(op),
                        };
                        (verb.clone(), op)
                    })
                    .collect();
                paths.insert(path.clone(), Value::Object(converted));
            }
        }
    }
    let mut doc = json!({
        "swagger": "2.0",
        "info": info,
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    });
    v2_refs(&mut doc);
    doc
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn v2_is_swagger_with_definitions_refs_and_v2_operations() {
        let store = crate::sim::store::Store::new(Registry::with_builtins(), 10);
        let doc = v2(&store.lock());
        assert_eq!(doc["swagger"], "2.0");
        let cm = &doc["definitions"]["io.k8s.api.core.v1.ConfigMap"];
        assert_eq!(
            cm["x-kubernetes-group-version-kind"][0]["kind"],
            "ConfigMap"
        );
        let text = doc.to_string();
        assert!(!text.contains("#/components/schemas/"));
        assert!(text.contains("#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        let create = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"];
        assert_eq!(create["parameters"][0]["in"], "body");
        assert!(create["responses"]["201"]["schema"]["$ref"].is_string());
        assert!(create.get("requestBody").is_none());
    }
}
