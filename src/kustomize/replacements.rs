//! `replacements`: copy a value (default `metadata.name`) from one source object into fields
//! of selected target objects, with kustomize's field-path syntax (`a.b`, `[name=x]`,
//! `[=value]`, `*`, list indices) and options `delimiter`, `index`, `create`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::RenderError;
use super::kustomization::Loaded;
use super::loader::read_text_in_root;
use super::resource::{Resource, invalid, parse_yaml_stream};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    #[serde(default)]
    delimiter: String,
    #[serde(default)]
    index: i64,
    #[serde(default)]
    create: bool,
    #[serde(default)]
    encoding: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Sel {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    label_selector: String,
    #[serde(default)]
    annotation_selector: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Source {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    field_path: String,
    #[serde(default)]
    options: Option<Options>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Target {
    select: Sel,
    #[serde(default)]
    reject: Vec<Sel>,
    #[serde(default)]
    field_paths: Vec<String>,
    #[serde(default)]
    options: Option<Options>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Replacement {
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    targets: Vec<Target>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathEntry {
    path: String,
}

const FIELD: &str = "replacements";

fn bad(l: &Loaded, reason: impl Into<String>) -> RenderError {
    invalid(&l.file, FIELD, reason)
}

/// Applies `l.k.replacements` in order.
pub(crate) fn apply(l: &Loaded, res: &mut [Resource]) -> Result<(), RenderError> {
    let mut list: Vec<Replacement> = Vec::new();
    for entry in &l.k.replacements {
        if entry.get("path").is_some() {
            let p: PathEntry = serde_json::from_value(entry.clone())
                .map_err(|_| bad(l, "a `path` entry holds only `path`"))?;
            let (text, shown) = read_text_in_root(l, FIELD, &p.path)?;
            for doc in parse_yaml_stream(&text, &shown)? {
                let items = match doc {
                    Value::Array(a) => a,
                    other => vec![other],
                };
                for it in items {
                    list.push(serde_json::from_value(it).map_err(|_| {
                        bad(l, format!("`{}` holds an invalid replacement", p.path))
                    })?);
                }
            }
        } else {
            list.push(
                serde_json::from_value(entry.clone())
                    .map_err(|_| bad(l, "invalid replacement (expected `source` and `targets`)"))?,
            );
        }
    }
    for r in &list {
        let Some(src) = &r.source else {
            return Err(bad(l, "every replacement needs a `source`"));
        };
        if r.targets.is_empty() {
            return Err(bad(l, "every replacement needs at least one target"));
        }
        let value = source_value(l, res, src)?;
        for t in &r.targets {
            let paths = if t.field_paths.is_empty() {
                vec!["metadata.name".to_string()]
            } else {
                t.field_paths.clone()
            };
            for target in res.iter_mut() {
                if !sel_matches(&t.select, target)
                    || t.reject.iter().any(|s| sel_matches(s, target))
                {
                    continue;
                }
                for fp in &paths {
                    let segs = split_field_path(fp);
                    let opts = t.options.clone().unwrap_or_default();
                    let mut hit = false;
                    let id = target.cur_id().to_string();
                    set_path(&mut target.obj, &segs, opts.create, &mut |node| {
                        hit = true;
                        put(node, &value, &opts)
                    })
                    .map_err(|reason| bad(l, format!("{reason} in target `{id}`")))?;
                    if !hit {
                        return Err(bad(
                            l,
                            format!("unable to find field `{fp}` in replacement target `{id}`"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether the selector picks `r`: kustomize (v5, `utils.MakeResIds`) matches the current id
/// or any id the object had before a rename, so a replacement written against a base's
/// names still works after an overlay's prefix or suffix.
fn sel_matches(s: &Sel, r: &Resource) -> bool {
    let gvk = r.gvk();
    let eq = |want: &str, have: &str| want.is_empty() || want == have;
    if !(eq(&s.group, &gvk.group) && eq(&s.version, &gvk.version) && eq(&s.kind, &gvk.kind)) {
        return false;
    }
    let id_ok = |name: &str, id_ns: &str, eff_ns: &str| {
        eq(&s.name, name)
            && (s.namespace.is_empty()
                || eff_ns == s.namespace
                || (s.namespace == "default" && id_ns.is_empty()))
    };
    let any_id = id_ok(r.name(), r.namespace(), r.cur_id().effective_namespace())
        || r.prev
            .iter()
            .any(|id| id_ok(&id.name, &id.namespace, id.effective_namespace()));
    any_id
        && labels_ok(&s.label_selector, &r.string_map("labels"))
        && labels_ok(&s.annotation_selector, &r.string_map("annotations"))
}

/// Equality-only selectors (`a=b,c=d`) are enough for replacements.
fn labels_ok(sel: &str, map: &[(String, String)]) -> bool {
    sel.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .all(|p| match p.split_once('=') {
            Some((k, v)) => map
                .iter()
                .any(|(x, y)| x == k.trim() && y == v.trim_start_matches('=').trim()),
            None => map.iter().any(|(x, _)| x == p),
        })
}

fn source_value(l: &Loaded, res: &[Resource], s: &Source) -> Result<Value, RenderError> {
    let sel = Sel {
        group: s.group.clone(),
        version: s.version.clone(),
        kind: s.kind.clone(),
        name: s.name.clone(),
        namespace: s.namespace.clone(),
        ..Sel::default()
    };
    let hits: Vec<&Resource> = res.iter().filter(|r| sel_matches(&sel, r)).collect();
    let src = match hits.as_slice() {
        [one] => *one,
        [] => {
            return Err(bad(
                l,
                format!("nothing selected by source `{}` `{}`", s.kind, s.name),
            ));
        }
        _ => {
            return Err(bad(
                l,
                format!(
                    "more than one resource selected by source `{}` `{}`",
                    s.kind, s.name
                ),
            ));
        }
    };
    let fp = if s.field_path.is_empty() {
        "metadata.name"
    } else {
        &s.field_path
    };
    let mut obj = src.obj.clone();
    let mut found: Option<Value> = None;
    set_path(&mut obj, &split_field_path(fp), false, &mut |node| {
        if found.is_none() {
            found = Some(node.clone());
        }
        Ok(())
    })
    .map_err(|reason| bad(l, reason))?;
    let Some(v) = found else {
        return Err(bad(
            l,
            format!(
                "field `{fp}` is missing in replacement source `{}`",
                src.cur_id()
            ),
        ));
    };
    match s.options.as_ref().filter(|o| !o.delimiter.is_empty()) {
        None => Ok(v),
        Some(o) => {
            let text = scalar(&v)
                .ok_or_else(|| bad(l, "delimiter option can only be used with scalar values"))?;
            let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
            usize::try_from(o.index)
                .ok()
                .and_then(|i| parts.get(i))
                .map(|p| Value::String((*p).to_string()))
                .ok_or_else(|| {
                    bad(
                        l,
                        format!("options.index {} is out of bounds for `{text}`", o.index),
                    )
                })
        }
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn put(node: &mut Value, value: &Value, o: &Options) -> Result<(), String> {
    if !o.encoding.is_empty() {
        return Err("the `encoding` option is not supported".into());
    }
    if o.delimiter.is_empty() {
        *node = value.clone();
        return Ok(());
    }
    let cur = if node.is_null() {
        Some(String::new())
    } else {
        scalar(node)
    };
    let cur = cur.ok_or("delimiter option can only be used with scalar nodes")?;
    let v = scalar(value).ok_or("delimiter option can only be used with scalar values")?;
    let mut parts: Vec<String> = cur
        .split(o.delimiter.as_str())
        .map(str::to_string)
        .collect();
    if o.index < 0 {
        parts.insert(0, v);
    } else if let Some(slot) = usize::try_from(o.index).ok().filter(|&i| i < parts.len()) {
        parts[slot] = v;
    } else {
        parts.push(v);
    }
    *node = Value::String(parts.join(&o.delimiter));
    Ok(())
}

/// Splits `a.b[name=x.y].c` on dots outside brackets.
fn split_field_path(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut depth) = (String::new(), 0);
    for c in p.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Visits every node at `segs`, creating missing fields and `[k=v]` elements when `create`.
fn set_path(
    node: &mut Value,
    segs: &[String],
    create: bool,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        return f(node);
    };
    if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        let (k, v) = inner
            .split_once('=')
            .ok_or_else(|| format!("invalid path segment `{seg}`"))?;
        if node.is_null() && create {
            *node = Value::Array(Vec::new());
        }
        let Value::Array(items) = node else {
            return Ok(());
        };
        let matches = |it: &Value| {
            if k.is_empty() {
                scalar(it).as_deref() == Some(v)
            } else {
                it.get(k).and_then(scalar).as_deref() == Some(v)
            }
        };
        let mut any = false;
        for it in items.iter_mut().filter(|it| matches(it)) {
            any = true;
            set_path(it, rest, create, f)?;
        }
        if !any && create {
            let mut fresh = if k.is_empty() {
                Value::String(v.into())
            } else {
                Value::Object(Map::new())
            };
            if let Value::Object(m) = &mut fresh {
                m.insert(k.into(), Value::String(v.into()));
            }
            items.push(fresh);
            if let Some(last) = items.last_mut() {
                set_path(last, rest, create, f)?;
            }
        }
        return Ok(());
    }
    if seg == "*" {
        if let Value::Array(items) = node {
            for it in items {
                set_path(it, rest, create, f)?;
            }
        }
        return Ok(());
    }
    if let (Value::Array(items), Ok(i)) = (&mut *node, seg.parse::<usize>()) {
        return match items.get_mut(i) {
            Some(it) => set_path(it, rest, create, f),
            None => Ok(()),
        };
    }
    if node.is_null() && create {
        *node = Value::Object(Map::new());
    }
    let Value::Object(m) = node else {
        return Ok(());
    };
    if !m.contains_key(seg.as_str()) {
        if !create {
            return Ok(());
        }
        m.insert(seg.clone(), Value::Null);
    }
    match m.get_mut(seg.as_str()) {
        Some(child) => set_path(child, rest, create, f),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        assert_eq!(
            split_field_path("spec.containers.[name=a.b].image"),
            vec!["spec", "containers", "[name=a.b]", "image"]
        );
        let mut v = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
        set_path(
            &mut v,
            &split_field_path("spec.containers.[name=a].image"),
            false,
            &mut |n| {
                *n = json!("y");
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(v["spec"]["containers"][0]["image"], json!("y"));
        set_path(
            &mut v,
            &split_field_path("spec.containers.[name=b].env"),
            true,
            &mut |n| {
                *n = json!([]);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(v["spec"]["containers"][1], json!({"name": "b", "env": []}));
        let mut n = json!("a.b.c");
        put(
            &mut n,
            &json!("X"),
            &Options {
                delimiter: ".".into(),
                index: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(n, json!("a.X.c"));
    }
}
