//! Field specs: kustomize's `group/version/kind` + slash-separated `path` addressing of fields
//! (`spec/template/metadata/labels`, `subjects[]/namespace`, `a\/b` escapes), with implicit
//! traversal of lists and optional creation of missing fields. Pure data walking.

use serde_json::{Map, Value};

use super::resource::Gvk;

/// One field spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

impl FieldSpec {
    /// Builds a spec from static table data.
    pub fn of(group: &str, version: &str, kind: &str, path: &str, create: bool) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            path: path.into(),
            create,
        }
    }

    /// Whether this spec applies to objects of `gvk`.
    pub fn selects(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.group, &self.version, &self.kind)
    }

    /// The path's segments, with `\/` unescaped.
    pub fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

/// Splits a field-spec path on unescaped `/`.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            other => cur.push(other),
        }
    }
    out.push(cur);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// What to create at the end of the path when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaf {
    Map,
    Scalar,
}

/// Calls `f` on every node at `segments` below `node`. Lists met on the way are traversed
/// element by element; missing fields are created when `create` (maps for intermediate
/// fields, `leaf` for the last one). `f` errors abort the walk.
pub(crate) fn visit<E>(
    node: &mut Value,
    segments: &[String],
    create: bool,
    leaf: Leaf,
    f: &mut dyn FnMut(&mut Value) -> Result<(), E>,
) -> Result<(), E> {
    if let Value::Array(items) = node {
        for item in items {
            visit(item, segments, create, leaf, f)?;
        }
        return Ok(());
    }
    let Some((first, rest)) = segments.split_first() else {
        return f(node);
    };
    let (field, is_list) = match first.strip_suffix("[]") {
        Some(f) => (f, true),
        None => (first.as_str(), false),
    };
    let Value::Object(map) = node else {
        return Ok(());
    };
    let missing = map.get(field).is_none_or(Value::is_null);
    if missing {
        if !create || is_list {
            return Ok(());
        }
        let fresh = if rest.is_empty() {
            match leaf {
                Leaf::Map => Value::Object(Map::new()),
                Leaf::Scalar => Value::Null,
            }
        } else {
            Value::Object(Map::new())
        };
        map.insert(field.to_string(), fresh);
    }
    match map.get_mut(field) {
        Some(child) => visit(child, rest, create, leaf, f),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_and_visit() {
        assert_eq!(
            split_path("metadata/annotations/a\\/b"),
            vec!["metadata", "annotations", "a/b"]
        );
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let mut seen = Vec::new();
        visit::<()>(
            &mut v,
            &split_path("spec/containers[]/image"),
            false,
            Leaf::Scalar,
            &mut |n| {
                seen.push(n.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, vec![json!("a"), json!("b")]);
        visit::<()>(
            &mut v,
            &split_path("metadata/labels"),
            true,
            Leaf::Map,
            &mut |n| {
                n.as_object_mut().unwrap().insert("x".into(), json!("1"));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(v["metadata"]["labels"]["x"], json!("1"));
    }
}
