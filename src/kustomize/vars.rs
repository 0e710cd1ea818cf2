//! `vars` (deprecated in kustomize, still common): `$(NAME)` in the fields of kustomize's
//! default `varReference` list becomes a field of another object (its name by default), read
//! at the end of the build, after prefixes, suffixes and hash suffixes. A field that is exactly
//! one reference takes the value with its type (`$(PORT)` → `80`); `$$(NAME)` is an escaped
//! `$(NAME)`; a reference to no var stays as written, as in Kubernetes' own expansion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::error::RenderError;
use super::resource::{Gvk, Resource, invalid};
use super::transform::config::TransformerConfig;

/// A `vars` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Var {
    pub name: String,
    pub objref: ObjRef,
    #[serde(default)]
    pub fieldref: Option<FieldRef>,
}

/// `vars[].objref`: the object, by any name it had (kustomize matches original and current).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ObjRef {
    #[serde(default)]
    pub api_version: String,
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
}

/// `vars[].fieldref`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldRef {
    #[serde(default)]
    pub fieldpath: String,
}

/// A var and the kustomization that declared it.
#[derive(Debug, Clone)]
pub(crate) struct Declared {
    pub var: Var,
    pub file: PathBuf,
}

/// Adds the vars of a kustomization, refusing a name declared before (kustomize: "already
/// encountered").
pub(crate) fn declare(
    all: &mut Vec<Declared>,
    vars: &[Var],
    file: &Path,
) -> Result<(), RenderError> {
    for var in vars {
        if let Some(first) = all.iter().find(|d| d.var.name == var.name) {
            return Err(invalid(
                file,
                "vars",
                format!(
                    "var `{}` is declared twice (first in `{}`)",
                    var.name,
                    first.file.display()
                ),
            ));
        }
        all.push(Declared {
            var: var.clone(),
            file: file.to_path_buf(),
        });
    }
    Ok(())
}

impl ObjRef {
    fn gvk(&self) -> Gvk {
        let mut gvk = Gvk::new(&self.api_version, &self.kind);
        if self.api_version.is_empty() {
            gvk.group = self.group.clone();
            gvk.version = self.version.clone();
        }
        gvk
    }

    fn describe(&self) -> String {
        let gvk = self.gvk();
        let api = if gvk.group.is_empty() {
            gvk.version.clone()
        } else {
            format!("{}/{}", gvk.group, gvk.version)
        };
        format!("{api} {} {}", self.kind, self.name)
            .trim()
            .to_string()
    }
}

/// Every var's value, read from the one resource its objref names.
fn values(vars: &[Declared], res: &[Resource]) -> Result<BTreeMap<String, Value>, RenderError> {
    let mut out = BTreeMap::new();
    for d in vars {
        let want = d.var.objref.gvk();
        let matches: Vec<&Resource> = res
            .iter()
            .filter(|r| {
                r.all_ids().iter().any(|id| {
                    id.gvk == want
                        && id.name == d.var.objref.name
                        && (d.var.objref.namespace.is_empty()
                            || id.namespace == d.var.objref.namespace)
                })
            })
            .collect();
        let r = match matches.as_slice() {
            [one] => *one,
            [] => {
                return Err(invalid(
                    &d.file,
                    "vars",
                    format!(
                        "var `{}`: no resource `{}` (objref needs its apiVersion, kind and name)",
                        d.var.name,
                        d.var.objref.describe()
                    ),
                ));
            }
            _ => {
                return Err(invalid(
                    &d.file,
                    "vars",
                    format!(
                        "var `{}`: more than one resource is `{}`; give objref a namespace",
                        d.var.name,
                        d.var.objref.describe()
                    ),
                ));
            }
        };
        let path = match d.var.fieldref.as_ref().map(|f| f.fieldpath.as_str()) {
            None | Some("") => "metadata.name",
            Some(p) => p,
        };
        let value = field(&r.obj, path).ok_or_else(|| {
            invalid(
                &d.file,
                "vars",
                format!(
                    "var `{}`: `{path}` not found in `{}`",
                    d.var.name,
                    d.var.objref.describe()
                ),
            )
        })?;
        out.insert(d.var.name.clone(), value.clone());
    }
    Ok(out)
}

/// The value at a dotted field path with `[N]` indexes (`spec.ports[0].port`).
fn field<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let n: usize = index.strip_suffix(']')?.parse().ok()?;
            cur = cur.get(n)?;
        }
    }
    (!cur.is_null()).then_some(cur)
}

/// The fields `$(NAME)` is expanded in: kustomize's default `varReference` field specs, as
/// `(kind, path)`; an empty kind is every kind.
fn reference_fields() -> Vec<(&'static str, String)> {
    let in_pod = |prefix: &str| -> Vec<String> {
        let mut paths = Vec::new();
        for list in ["containers", "initContainers"] {
            for leaf in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                paths.push(format!("{prefix}/{list}/{leaf}"));
            }
        }
        paths
    };
    let mut out = Vec::new();
    let templated = [
        ("CronJob", "spec/jobTemplate/spec/template/spec"),
        ("DaemonSet", "spec/template/spec"),
        ("Deployment", "spec/template/spec"),
        ("Job", "spec/template/spec"),
        ("Pod", "spec"),
        ("ReplicaSet", "spec/template/spec"),
        ("StatefulSet", "spec/template/spec"),
    ];
    for (kind, prefix) in templated {
        out.extend(in_pod(prefix).into_iter().map(|p| (kind, p)));
        if kind == "StatefulSet" {
            out.push((
                kind,
                "spec/volumeClaimTemplates/spec/nfs/server".to_string(),
            ));
        } else {
            out.push((kind, format!("{prefix}/volumes/nfs/server")));
        }
    }
    for (kind, path) in [
        ("Ingress", "spec/rules/host"),
        ("Ingress", "spec/tls/hosts"),
        ("Ingress", "spec/tls/secretName"),
        ("Service", "spec/ports/port"),
        ("Service", "spec/ports/targetPort"),
        ("PersistentVolume", "spec/nfs/server"),
        ("", "metadata/labels"),
        ("", "metadata/annotations"),
    ] {
        out.push((kind, path.to_string()));
    }
    out
}

/// Expands every var reference of the build (nothing when no kustomization declared vars).
pub(crate) fn resolve(
    vars: &[Declared],
    res: &mut [Resource],
    config: &TransformerConfig,
) -> Result<(), RenderError> {
    if vars.is_empty() {
        return Ok(());
    }
    let values = values(vars, res)?;
    let fields = reference_fields();
    for r in res.iter_mut() {
        let kind = r
            .obj
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        for (k, path) in &fields {
            if k.is_empty() || *k == kind {
                let parts: Vec<&str> = path.split('/').collect();
                expand_at(&mut r.obj, &parts, &values);
            }
        }
        let gvk = r.gvk();
        for fs in config.var_reference.iter().filter(|fs| fs.selects(&gvk)) {
            let segments = fs.segments();
            let parts: Vec<&str> = segments
                .iter()
                .map(|s| s.strip_suffix("[]").unwrap_or(s))
                .collect();
            expand_at(&mut r.obj, &parts, &values);
        }
    }
    Ok(())
}

/// Walks `path` (through every element of lists) and expands what it ends on: a string, the
/// strings of a list, or the string values of a map.
fn expand_at(v: &mut Value, path: &[&str], values: &BTreeMap<String, Value>) {
    match (path.split_first(), v) {
        (_, Value::Array(items)) => {
            for item in items {
                expand_at(item, path, values);
            }
        }
        (Some((first, rest)), Value::Object(map)) => {
            if let Some(next) = map.get_mut(*first) {
                expand_at(next, rest, values);
            }
        }
        (None, Value::Object(map)) => {
            for value in map.values_mut() {
                expand_value(value, values);
            }
        }
        (None, value) => expand_value(value, values),
        (Some(_), _) => {}
    }
}

fn expand_value(value: &mut Value, values: &BTreeMap<String, Value>) {
    if let Value::String(s) = value
        && s.contains('$')
    {
        *value = expand(s, values);
    }
}

/// Kubernetes' `$(VAR)` expansion; a string that is one reference takes the value's type.
fn expand(s: &str, values: &BTreeMap<String, Value>) -> Value {
    if let Some(name) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
        && !name.contains(['$', '(', ')'])
        && let Some(v) = values.get(name)
    {
        return v.clone();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            // `$$` is an escaped `$`.
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(')
            && let Some(end) = inner.find(')')
        {
            let name = &inner[..end];
            match values.get(name) {
                Some(Value::String(v)) => out.push_str(v),
                Some(v) => out.push_str(&v.to_string()),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let values: BTreeMap<String, Value> = [
            ("SVC".to_string(), json!("p-web")),
            ("PORT".to_string(), json!(80)),
        ]
        .into();
        assert_eq!(
            expand("--host=$(SVC).svc", &values),
            json!("--host=p-web.svc")
        );
        assert_eq!(expand("$(PORT)", &values), json!(80));
        assert_eq!(expand("port $(PORT)", &values), json!("port 80"));
        assert_eq!(expand("$$(SVC)", &values), json!("$(SVC)"));
        assert_eq!(expand("$(UNKNOWN)", &values), json!("$(UNKNOWN)"));
        assert_eq!(expand("cost: 5$", &values), json!("cost: 5$"));
    }

    #[test]
    fn field_paths_take_indexes() {
        let obj = json!({"spec": {"ports": [{"port": 80}]}, "metadata": {"name": "a"}});
        assert_eq!(field(&obj, "spec.ports[0].port"), Some(&json!(80)));
        assert_eq!(field(&obj, "metadata.name"), Some(&json!("a")));
        assert_eq!(field(&obj, "metadata.namespace"), None);
    }
}
