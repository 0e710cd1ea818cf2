//! Discovery documents: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{g}`, `/apis/{g}/{v}`, and
//! aggregated discovery (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`) when the client asks
//! for it in `Accept` — so kube's `Discovery::run_aggregated()` and kubectl see the same kinds as
//! `Discovery::run()`. Built from the registry on every call (CRDs appear as soon as served).

use serde_json::{Value, json};

use crate::sim::resources::{KindInfo, Registry};

/// The aggregated-discovery media type.
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether `Accept` asks for aggregated discovery (v2 or v2beta1).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.contains("as=APIGroupDiscoveryList") && accept.contains("g=apidiscovery.k8s.io")
}

/// `/version`.
pub fn version(git_version: &str) -> Value {
    let trimmed = git_version.trim_start_matches('v');
    let mut parts = trimmed.split('.');
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api` (APIVersions).
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": format!("{name}/{v}"), "version": v});
    json!({
        "name": name,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv).unwrap_or(Value::Null),
    })
}

/// `/apis` (APIGroupList).
pub fn group_list(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| group_json(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}` (APIGroup), if served.
pub fn group(reg: &Registry, name: &str) -> Option<Value> {
    let groups = reg.groups();
    let vs = groups.get(name).filter(|_| !name.is_empty())?;
    let mut g = group_json(name, vs);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

fn kinds_of<'a>(reg: &'a Registry, group: &str, version: &str) -> Vec<&'a KindInfo> {
    let mut ks: Vec<&KindInfo> = reg
        .all()
        .filter(|k| k.group == group && k.version == version)
        .map(|k| k.as_ref())
        .collect();
    ks.sort_by(|a, b| a.plural.cmp(&b.plural));
    ks
}

/// `/api/v1` or `/apis/{g}/{v}` (APIResourceList), if served.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let kinds = kinds_of(reg, group, version);
    if kinds.is_empty() {
        return None;
    }
    let mut resources = vec![];
    for k in kinds {
        let mut r = json!({
            "name": k.plural,
            "singularName": k.singular,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": k.verbs,
        });
        if !k.short_names.is_empty() {
            r["shortNames"] = json!(k.short_names);
        }
        if !k.categories.is_empty() {
            r["categories"] = json!(k.categories);
        }
        resources.push(r);
        for (sub, kind, g, v, verbs) in subresources(k) {
            let mut s = json!({
                "name": format!("{}/{sub}", k.plural),
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if let (Some(g), Some(v)) = (g, v) {
                s["group"] = json!(g);
                s["version"] = json!(v);
            }
            resources.push(s);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

type Sub = (
    &'static str,
    String,
    Option<&'static str>,
    Option<&'static str>,
    Vec<&'static str>,
);

fn subresources(k: &KindInfo) -> Vec<Sub> {
    let mut out = vec![];
    if k.log {
        out.push(("log", k.kind.clone(), None, None, vec!["get"]));
    }
    if k.scale.is_some() {
        out.push((
            "scale",
            "Scale".to_string(),
            Some("autoscaling"),
            Some("v1"),
            vec!["get", "patch", "update"],
        ));
    }
    if k.status {
        out.push((
            "status",
            k.kind.clone(),
            None,
            None,
            vec!["get", "patch", "update"],
        ));
    }
    out
}

/// Aggregated discovery for `/api` (core only) or `/apis` (every named group).
pub fn aggregated(reg: &Registry, core: bool) -> Value {
    let mut items = vec![];
    for (g, versions) in reg.groups() {
        if g.is_empty() != core {
            continue;
        }
        let vs: Vec<Value> = versions
            .iter()
            .map(|v| {
                let resources: Vec<Value> = kinds_of(reg, &g, v)
                    .into_iter()
                    .map(|k| {
                        let mut r = json!({
                            "resource": k.plural,
                            "responseKind": {"group": k.group, "version": k.version, "kind": k.kind},
                            "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
                            "singularResource": k.singular,
                            "verbs": k.verbs,
                        });
                        if !k.short_names.is_empty() {
                            r["shortNames"] = json!(k.short_names);
                        }
                        if !k.categories.is_empty() {
                            r["categories"] = json!(k.categories);
                        }
                        let subs: Vec<Value> = subresources(k)
                            .into_iter()
                            .map(|(sub, kind, sg, sv, verbs)| {
                                json!({
                                    "subresource": sub,
                                    "responseKind": {
                                        "group": sg.unwrap_or(&k.group),
                                        "version": sv.unwrap_or(&k.version),
                                        "kind": kind
                                    },
                                    "verbs": verbs,
                                })
                            })
                            .collect();
                        if !subs.is_empty() {
                            r["subresources"] = json!(subs);
                        }
                        r
                    })
                    .collect();
                json!({"version": v, "resources": resources, "freshness": "Current"})
            })
            .collect();
        items.push(json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": vs}));
    }
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn core_resource_list_has_subresources() {
        let reg = Registry::with_builtins();
        let list = resource_list(&reg, "", "v1").unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"pods/log"));
        assert!(names.contains(&"pods/status"));
        assert!(!names.contains(&"configmaps/status"));
        let apps = resource_list(&reg, "apps", "v1").unwrap();
        let scale = apps["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(scale["group"], "autoscaling");
        assert!(group(&reg, "apps").is_some());
        assert!(group(&reg, "nope").is_none());
        let agg = aggregated(&reg, true);
        assert_eq!(agg["items"].as_array().unwrap().len(), 1);
    }
}
