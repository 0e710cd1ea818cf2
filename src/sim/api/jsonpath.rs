//! Kubernetes JSONPath (client-go `util/jsonpath`) as kube-apiserver evaluates a custom
//! resource's `additionalPrinterColumns`: fields (`.a.b`, `['a.b']`), indices and slices
//! (`[0]`, `[-1]`, `[1:3]`), wildcards (`[*]`, `.*`), recursive descent (`..name`) and filters
//! (`[?(@.type=="Ready")]`, `[?(@.latestRevision==true)]`, `[?(@.x)]`) — what the CRDs of the
//! platform use. Missing keys give no result (the server sets `AllowMissingKeys`); an index
//! out of range, a filter over a non-list or an uncomparable filter is an error, which the
//! table shows as an empty cell, exactly as kube does.

use serde_json::Value;

/// One step of a parsed path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    /// `[a]`, `[a:b]`, `[a:b:c]`; `None` = not given.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
        /// `[n]` alone: one element (kube's "derived" end).
        single: bool,
    },
    Wildcard,
    Recursive,
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Vec<Step>,
    op: Op,
    right: Operand,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Exists,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    None,
    Path(Vec<Step>),
    Literal(Value),
}

/// A parsed JSONPath expression (the text of a CRD column's `jsonPath`, without braces).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

impl JsonPath {
    /// Parses `.status.conditions[?(@.type=="Ready")].status`; `{…}` around it is accepted.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(t);
        let t = t.strip_prefix('$').unwrap_or(t);
        let steps = Parser { s: t, pos: 0 }.steps(false)?;
        Ok(JsonPath { steps })
    }

    /// Every value the path selects in `root`, or an error where kube's evaluation fails.
    pub fn find<'a>(&self, root: &'a Value) -> Result<Vec<&'a Value>, String> {
        eval(&self.steps, vec![root])
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

fn is_terminator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}')
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn steps(&mut self, in_filter: bool) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        if in_filter {
            // `@` is the current element, `$` the root (kube evaluates both on the element).
            if let Some(r) = self.rest().strip_prefix(['@', '$']) {
                self.pos = self.s.len() - r.len();
            }
        }
        while !self.rest().is_empty() {
            let rest = self.rest();
            if rest.starts_with("..") {
                self.pos += 1;
                steps.push(Step::Recursive);
                // The name after `..` is read as a field below.
                continue;
            }
            if let Some(r) = rest.strip_prefix('.') {
                self.pos += 1;
                if let Some(r2) = r.strip_prefix('*') {
                    self.pos = self.s.len() - r2.len();
                    steps.push(Step::Wildcard);
                    continue;
                }
                let len = r.find(is_terminator).unwrap_or(r.len());
                if len == 0 {
                    if r.starts_with('[') || r.is_empty() {
                        continue;
                    }
                    return Err(format!("unexpected `{r}` after `.`"));
                }
                steps.push(Step::Field(r[..len].to_string()));
                self.pos += len;
                continue;
            }
            if rest.starts_with('[') {
                steps.push(self.bracket()?);
                continue;
            }
            return Err(format!("unrecognized character in action: `{rest}`"));
        }
        Ok(steps)
    }

    fn bracket(&mut self) -> Result<Step, String> {
        let rest = self.rest();
        if rest.starts_with("[?(") {
            return self.filter();
        }
        let close = rest
            .find(']')
            .ok_or_else(|| "unterminated array".to_string())?;
        let inner = rest[1..close].trim();
        self.pos += close + 1;
        if inner == "*" {
            return Ok(Step::Wildcard);
        }
        if let Some(name) = quoted(inner) {
            return Ok(Step::Field(name));
        }
        let parts: Vec<&str> = inner.split(':').collect();
        if parts.len() > 3 || (parts.len() == 1 && parts[0].is_empty()) {
            return Err(format!("invalid array index {inner}"));
        }
        let num = |p: &str| -> Result<Option<i64>, String> {
            let p = p.trim();
            if p.is_empty() {
                Ok(None)
            } else {
                p.parse::<i64>()
                    .map(Some)
                    .map_err(|_| format!("invalid array index {p}"))
            }
        };
        Ok(Step::Slice {
            start: num(parts[0])?,
            end: parts.get(1).map(|p| num(p)).transpose()?.flatten(),
            step: parts.get(2).map(|p| num(p)).transpose()?.flatten(),
            single: parts.len() == 1,
        })
    }

    /// `[?(left op right)]`: kube finds the closing `)` outside quotes, then splits at the
    /// first run of `!<>=` characters.
    fn filter(&mut self) -> Result<Step, String> {
        let body_start = self.pos + 3;
        let bytes: Vec<char> = self.s[body_start..].chars().collect();
        let mut quote: Option<char> = None;
        let mut end = None;
        let mut offset = 0;
        for (i, &c) in bytes.iter().enumerate() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q && (i == 0 || bytes[i - 1] != '\\') => quote = None,
                (None, ')') => {
                    end = Some((i, offset));
                    break;
                }
                _ => {}
            }
            offset += c.len_utf8();
        }
        let Some((_, byte_len)) = end else {
            return Err("unterminated filter".into());
        };
        let body = &self.s[body_start..body_start + byte_len];
        let after = body_start + byte_len + 1;
        if !self.s[after..].starts_with(']') {
            return Err("unclosed array expect ]".into());
        }
        self.pos = after + 1;
        let op_at = body.find(['!', '<', '>', '=']);
        let filter = match op_at {
            None => Filter {
                left: Parser {
                    s: body.trim(),
                    pos: 0,
                }
                .steps(true)?,
                op: Op::Exists,
                right: Operand::None,
            },
            Some(i) => {
                let op_len = body[i..]
                    .find(|c: char| !matches!(c, '!' | '<' | '>' | '='))
                    .unwrap_or(body.len() - i);
                let op = match &body[i..i + op_len] {
                    "==" | "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    ">" => Op::Gt,
                    "<=" => Op::Le,
                    ">=" => Op::Ge,
                    other => return Err(format!("unrecognized filter operator {other}")),
                };
                let left = Parser {
                    s: body[..i].trim(),
                    pos: 0,
                }
                .steps(true)?;
                let right = operand(body[i + op_len..].trim())?;
                Filter { left, op, right }
            }
        };
        Ok(Step::Filter(filter))
    }
}

/// `'x'` or `"x"`: the text inside.
fn quoted(s: &str) -> Option<String> {
    let q = s.chars().next()?;
    if (q == '\'' || q == '"') && s.len() >= 2 && s.ends_with(q) {
        Some(s[1..s.len() - 1].replace(&format!("\\{q}"), &q.to_string()))
    } else {
        None
    }
}

fn operand(s: &str) -> Result<Operand, String> {
    if let Some(text) = quoted(s) {
        return Ok(Operand::Literal(Value::String(text)));
    }
    match s {
        "true" => return Ok(Operand::Literal(Value::Bool(true))),
        "false" => return Ok(Operand::Literal(Value::Bool(false))),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Ok(Operand::Literal(Value::from(i)));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok(Operand::Literal(Value::from(f)));
    }
    if s.starts_with('@') || s.starts_with('.') || s.starts_with('$') {
        return Ok(Operand::Path(Parser { s, pos: 0 }.steps(true)?));
    }
    Err(format!("unrecognized filter operand {s}"))
}

fn eval<'a>(steps: &[Step], mut cur: Vec<&'a Value>) -> Result<Vec<&'a Value>, String> {
    for step in steps {
        let mut next = Vec::new();
        match step {
            Step::Field(name) => {
                for v in cur {
                    if let Some(x) = v.as_object().and_then(|m| m.get(name))
                        && !x.is_null()
                    {
                        next.push(x);
                    }
                }
            }
            Step::Wildcard => {
                for v in cur {
                    match v {
                        Value::Object(m) => next.extend(m.values().filter(|x| !x.is_null())),
                        Value::Array(a) => next.extend(a.iter().filter(|x| !x.is_null())),
                        _ => {}
                    }
                }
            }
            Step::Recursive => {
                for v in cur {
                    descendants(v, &mut next);
                }
            }
            Step::Slice {
                start,
                end,
                step,
                single,
            } => {
                for v in cur {
                    let Some(a) = v.as_array() else {
                        return Err(format!("{v} is not array or slice"));
                    };
                    next.extend(slice(a, *start, *end, *step, *single)?);
                }
            }
            Step::Filter(f) => {
                for v in cur {
                    let Some(a) = v.as_array() else {
                        return Err(format!("{v} is not array or slice and cannot be filtered"));
                    };
                    for item in a {
                        if passes(f, item)? {
                            next.push(item);
                        }
                    }
                }
            }
        }
        cur = next;
    }
    Ok(cur)
}

fn descendants<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(v);
    match v {
        Value::Object(m) => m.values().for_each(|x| descendants(x, out)),
        Value::Array(a) => a.iter().for_each(|x| descendants(x, out)),
        _ => {}
    }
}

fn slice(
    a: &[Value],
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    single: bool,
) -> Result<Vec<&Value>, String> {
    let len = a.len() as i64;
    let mut s = start.unwrap_or(0);
    if s < 0 {
        s += len;
    }
    let mut e = match (end, single) {
        (_, true) => s + 1,
        (Some(e), false) => e,
        (None, false) => len,
    };
    if e < 0 {
        e += len;
    }
    if e == s {
        return Ok(Vec::new());
    }
    if s >= len || s < 0 {
        return Err(format!(
            "array index out of bounds: index {s}, length {len}"
        ));
    }
    if e > len || e < 0 {
        return Err(format!(
            "array index out of bounds: index {}, length {len}",
            e - 1
        ));
    }
    if s > e {
        return Err(format!(
            "starting index {s} is greater than ending index {e}"
        ));
    }
    let step = step.filter(|&k| k > 0).unwrap_or(1) as usize;
    Ok(a[s as usize..e as usize].iter().step_by(step).collect())
}

fn passes(f: &Filter, item: &Value) -> Result<bool, String> {
    let lefts = eval(&f.left, vec![item])?;
    if f.op == Op::Exists {
        return Ok(!lefts.is_empty());
    }
    let left = match lefts.as_slice() {
        [] => return Ok(false),
        [one] => *one,
        _ => return Err("can only compare one element at a time".into()),
    };
    let rights: Vec<&Value> = match &f.right {
        Operand::Literal(v) => vec![v],
        Operand::Path(p) => eval(p, vec![item])?,
        Operand::None => Vec::new(),
    };
    let right = match rights.as_slice() {
        [] => return Ok(false),
        [one] => *one,
        _ => return Err("can only compare one element at a time".into()),
    };
    compare(&f.op, left, right)
}

/// text/template's `eq`/`lt`…: numbers with numbers, strings with strings, booleans only for
/// (in)equality; anything else is "incompatible types for comparison".
fn compare(op: &Op, left: &Value, right: &Value) -> Result<bool, String> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (left, right) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => None,
            },
        },
        (Value::Bool(a), Value::Bool(b)) => {
            return match op {
                Op::Eq => Ok(a == b),
                Op::Ne => Ok(a != b),
                _ => Err("invalid type for comparison".into()),
            };
        }
        _ => return Err("incompatible types for comparison".into()),
    };
    let Some(ord) = ord else {
        return Err("incompatible types for comparison".into());
    };
    Ok(match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Gt => ord == Ordering::Greater,
        Op::Le => ord != Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Exists => true,
    })
}

/// How kube's `PrintResults` writes one value: text as is, numbers and booleans as Go's
/// `fmt.Fprint`, maps and lists as compact JSON (keys sorted).
pub fn print(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => go_float(f),
            _ => n.to_string(),
        },
        other => sorted_json(other),
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)` with Go's exponent form).
fn go_float(f: f64) -> String {
    if f == f.trunc() && f.abs() < 1e21 {
        return format!("{f}");
    }
    let exp = f.abs().log10().floor() as i32;
    if (-4..21).contains(&exp) {
        return format!("{f}");
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn sorted_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), sorted_json(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(sorted_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn find(path: &str, v: &Value) -> Result<Vec<Value>, String> {
        JsonPath::parse(path)
            .unwrap()
            .find(v)
            .map(|r| r.into_iter().cloned().collect())
    }

    fn isvc() -> Value {
        json!({"status": {
            "url": "https://m.example",
            "conditions": [
                {"type": "PredictorReady", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "Starting"},
            ],
            "components": {"predictor": {"traffic": [
                {"tag": "prev", "revisionName": "r1", "percent": 10},
                {"latestRevision": true, "revisionName": "r2", "percent": 90},
            ]}},
            "replicas": 2,
        },
        "spec": {"supportedModelFormats": [{"name": "vLLM"}, {"name": "pt"}]},
        "metadata": {"labels": {"app.kubernetes.io/name": "x"}}})
    }

    #[test]
    fn the_platforms_column_paths_select_what_kube_selects() {
        let v = isvc();
        assert_eq!(
            find(".status.conditions[?(@.type==\"Ready\")].status", &v).unwrap(),
            vec![json!("False")]
        );
        assert_eq!(
            find(".status.conditions[?(@.type=='Ready')].reason", &v).unwrap(),
            vec![json!("Starting")]
        );
        assert_eq!(
            find(
                ".status.components.predictor.traffic[?(@.latestRevision==true)].percent",
                &v
            )
            .unwrap(),
            vec![json!(90)]
        );
        assert_eq!(
            find(
                ".status.components.predictor.traffic[?(@.tag=='prev')].revisionName",
                &v
            )
            .unwrap(),
            vec![json!("r1")]
        );
        assert_eq!(
            find(".spec.supportedModelFormats[*].name", &v).unwrap(),
            vec![json!("vLLM"), json!("pt")]
        );
        assert_eq!(
            find(".spec.supportedModelFormats[-1].name", &v).unwrap(),
            vec![json!("pt")]
        );
        assert_eq!(
            find(".metadata.labels['app.kubernetes.io/name']", &v).unwrap(),
            vec![json!("x")]
        );
        assert_eq!(find("{.status.replicas}", &v).unwrap(), vec![json!(2)]);
        assert_eq!(find("..revisionName", &v).unwrap().len(), 2);
        assert_eq!(
            find(".status.conditions[?(@.reason)].type", &v).unwrap(),
            vec![json!("Ready")]
        );
    }

    #[test]
    fn missing_keys_select_nothing_and_bad_indices_are_errors() {
        let v = isvc();
        assert!(find(".status.nope.deeper", &v).unwrap().is_empty());
        assert!(find(".status.url.x", &v).unwrap().is_empty());
        assert!(
            find(".status.conditions[?(@.type==\"Gone\")].status", &v)
                .unwrap()
                .is_empty()
        );
        assert!(find(".spec.supportedModelFormats[5].name", &v).is_err());
        assert!(find(".status.url[0]", &v).is_err());
        // A string compared with a boolean: kube's template comparison fails.
        assert!(find(".status.conditions[?(@.status==true)].type", &v).is_err());
        assert!(JsonPath::parse(".a[?(@.b==\"x\"").is_err());
    }

    #[test]
    fn values_print_as_kubes_print_results() {
        assert_eq!(print(&json!("a b")), "a b");
        assert_eq!(print(&json!(3)), "3");
        assert_eq!(print(&json!(0.5)), "0.5");
        assert_eq!(print(&json!(true)), "true");
        assert_eq!(
            print(&json!({"b": 1, "a": [1, "x"]})),
            r#"{"a":[1,"x"],"b":1}"#
        );
    }
}
