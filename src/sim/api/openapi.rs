//! The OpenAPI v3 surface (`/openapi/v3` index and one document per group-version). Built-in
//! group-versions are served from the real kube-apiserver documents compiled in
//! (`crate::sim::schema::data`); custom group-versions get, for every served kind, its object
//! paths with a PATCH operation tagged with `x-kubernetes-group-version-kind` and the
//! `fieldValidation`/`fieldManager`/`dryRun`/`force` parameters (kubectl decides from this that
//! the server validates fields itself) plus the CRD's `openAPIV3Schema` as a component, named and
//! linked to `ObjectMeta` like kube-apiserver does, so `kubectl explain` works.

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
        && let Some(doc) = data::builtin_doc(group, version)
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
        if let Some(core) = data::builtin_doc("", "v1")
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
