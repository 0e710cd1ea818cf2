//! Kubernetes label selectors in their string form (`app=web,tier!=db,env in (a,b),!legacy`),
//! parsed once and matched against any key → value lookup. Shared by the renderer (patch
//! targets' `labelSelector`/`annotationSelector`) and the simulated API server (list/watch
//! `labelSelector`). Pure.

use serde_json::Value;

/// One requirement of a label selector.
#[derive(Clone, Debug, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector: every requirement must hold. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

/// Splits on commas that are not inside parentheses.
pub fn split_top(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl LabelSelector {
    /// Parses a selector; the error is kube-apiserver's message fragment.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = vec![];
        for part in split_top(s) {
            if let Some(k) = part.strip_prefix('!') {
                reqs.push(Requirement::NotExists(k.trim().to_string()));
            } else if let Some((k, v)) = part.split_once("!=") {
                reqs.push(Requirement::NotEq(k.trim().into(), v.trim().into()));
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                reqs.push(Requirement::Eq(k.trim().into(), v.trim().into()));
            } else if let Some((k, rest)) = split_set_op(&part, " notin ") {
                reqs.push(Requirement::NotIn(k, parse_set(&rest)?));
            } else if let Some((k, rest)) = split_set_op(&part, " in ") {
                reqs.push(Requirement::In(k, parse_set(&rest)?));
            } else if part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                reqs.push(Requirement::Exists(part.clone()));
            } else {
                return Err(format!("unable to parse requirement: {part:?}"));
            }
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether the key → value lookup satisfies every requirement.
    pub fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }

    /// Whether the object's `metadata.labels` satisfy the selector.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        self.matches_with(|k| labels.and_then(|l| l.get(k)).and_then(Value::as_str))
    }

    /// Whether the key/value pairs satisfy the selector.
    pub fn matches_pairs(&self, pairs: &[(String, String)]) -> bool {
        self.matches_with(|k| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str()))
    }
}

fn split_set_op(s: &str, op: &str) -> Option<(String, String)> {
    let (k, rest) = s.split_once(op)?;
    Some((k.trim().to_string(), rest.trim().to_string()))
}

fn parse_set(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| format!("found '{s}', expected: '('"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_match_objects_and_pairs() {
        let o = json!({"metadata": {"labels": {"app": "web", "env": "prod"}}});
        let pairs = vec![
            ("app".to_string(), "web".to_string()),
            ("env".to_string(), "prod".to_string()),
        ];
        for (sel, want) in [
            ("app=web", true),
            ("app==web,env=prod", true),
            ("app!=web", false),
            ("env in (prod, dev)", true),
            ("env notin (prod)", false),
            ("app", true),
            ("missing", false),
            ("!app", false),
            ("!legacy", true),
            ("", true),
        ] {
            let s = LabelSelector::parse(sel).unwrap();
            assert_eq!(s.matches(&o), want, "{sel}");
            assert_eq!(s.matches_pairs(&pairs), want, "{sel}");
        }
    }

    #[test]
    fn malformed_selectors_are_errors() {
        assert!(LabelSelector::parse("a in b").is_err());
        assert!(LabelSelector::parse("a b c").is_err());
    }
}
