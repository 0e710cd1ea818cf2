//! A minimal OpenAPI v3 surface (`/openapi/v3` index and one document per group-version) that
//! declares, for every served kind, its object paths with a PATCH operation tagged with
//! `x-kubernetes-group-version-kind` and the `fieldValidation`/`fieldManager`/`dryRun`/`force`
//! parameters. kubectl uses exactly this to decide that the server validates fields itself
//! (otherwise `kubectl apply` fails with "failed to download openapi"). No schemas are served.

use serde_json::{Value, json};

use crate::sim::resources::{KindInfo, Registry};

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

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{g}/{v}`, if served.
pub fn group_version(reg: &Registry, group: &str, version: &str) -> Option<Value> {
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
