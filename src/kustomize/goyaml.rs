//! How go-yaml v3 (kustomize's YAML reader) resolves plain scalars, where it matters to what
//! kustomize can render: a mapping key it reads as a number, boolean, null or timestamp makes
//! the object a `map[interface{}]interface{}` that kustomize cannot turn into JSON (it fails
//! with `json: unsupported type`), while serde turns such keys into strings silently.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

/// The first mapping key of a YAML stream that go-yaml v3 does not read as a string:
/// `(line, key text, what it reads as)`. Keys that are mappings, sequences or aliases count too.
pub(crate) fn first_non_string_key(text: &str) -> Option<(usize, String, &'static str)> {
    // One entry per open collection: `Some(expecting_key)` for a mapping, `None` for a sequence.
    let mut open: Vec<Option<bool>> = Vec::new();
    for ev in Parser::new_from_str(text) {
        let Ok((ev, span)) = ev else { return None };
        let at_key = matches!(open.last(), Some(Some(true)));
        let line = span.start.line();
        let node = match &ev {
            Event::Scalar(value, style, _, tag) => {
                if at_key {
                    let tag = tag.as_ref().map(|t| t.suffix().to_string());
                    if let Some(what) = non_string(value, *style, tag.as_deref()) {
                        return Some((line, value.to_string(), what));
                    }
                }
                true
            }
            Event::Alias(_) => {
                if at_key {
                    return Some((line, "*alias".into(), "an alias"));
                }
                true
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if at_key {
                    return Some((line, "{…}".into(), "a collection"));
                }
                false
            }
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
                true
            }
            _ => continue,
        };
        // A complete node (scalar, alias, closed collection) was a key or a value: flip.
        if node && let Some(Some(expect_key)) = open.last_mut() {
            *expect_key = !*expect_key;
        }
        match ev {
            Event::MappingStart(..) => open.push(Some(true)),
            Event::SequenceStart(..) => open.push(None),
            _ => {}
        }
    }
    None
}

/// What a scalar reads as when it is not a string (`None`: a string).
fn non_string(value: &str, style: ScalarStyle, tag: Option<&str>) -> Option<&'static str> {
    if let Some(tag) = tag {
        return match tag {
            "int" => Some("an integer"),
            "float" => Some("a float"),
            "bool" => Some("a boolean"),
            "null" => Some("null"),
            "timestamp" => Some("a timestamp"),
            _ => None,
        };
    }
    if style != ScalarStyle::Plain {
        return None;
    }
    resolve_plain(value)
}

/// go-yaml v3's `resolve` for an untagged plain scalar (yaml.v3 resolve.go): the YAML 1.2 core
/// names, then for a leading digit or sign a timestamp, an integer (`strconv.ParseInt` base 0,
/// `_` removed) or a float; for a leading `.`, a float.
fn resolve_plain(v: &str) -> Option<&'static str> {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return Some("null"),
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return Some("a boolean"),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Some("a float"),
        _ => {}
    }
    let first = v.as_bytes()[0];
    if first == b'.' {
        return v[1..]
            .split_once(['e', 'E'])
            .map_or(digits(&v[1..]), |(m, e)| {
                digits(m) && digits(e.trim_start_matches(['+', '-']))
            })
            .then_some("a float");
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return None;
    }
    if first.is_ascii_digit() && is_timestamp(v) {
        return Some("a timestamp");
    }
    let plain = v.replace('_', "");
    if go_parse_int(&plain) {
        return Some("an integer");
    }
    if yaml_style_float(&plain) {
        return Some("a float");
    }
    None
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint` succeeds: optional sign, then `0x`/`0o`/`0b`
/// digits, a leading-`0` octal, or decimal.
fn go_parse_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

/// yaml.v3's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

/// yaml.v3's `parseTimestamp`: four digits and `-`, then one of its layouts
/// (`2006-1-2T15:4:5.999999999Z07:00`, the same with `t` or a space, `2006-1-2`).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let in_range = |t: &str, lo: u32, hi: u32| {
        (1..=2).contains(&t.len()) && t.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
    };
    if !(y.len() == 4 && in_range(m, 1, 12) && in_range(d, 1, 31)) {
        return false;
    }
    let Some(time) = time else { return true };
    // 15:4:5, optional fraction, optional zone (Z or ±hh:mm); the space layout has no zone.
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(i) => (&time[..i], Some(&time[i..])),
        None => (time, None),
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let mut t = hms.split(':');
    let (Some(h), Some(mi), Some(sec), None) = (t.next(), t.next(), t.next(), t.next()) else {
        return false;
    };
    let zone_ok = match zone {
        None => true,
        Some("Z") => true,
        Some(z) => {
            let z = &z[1..];
            z.split_once(':')
                .is_some_and(|(a, b)| a.len() == 2 && b.len() == 2 && digits(a) && digits(b))
        }
    };
    in_range(h, 0, 23)
        && in_range(mi, 0, 59)
        && in_range(sec, 0, 59)
        && frac.is_none_or(digits)
        && zone_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Measured with `kubectl kustomize` (kustomize v5.5.0) on a ConfigMap whose `data` has
    /// the key: `true` where kustomize failed with `json: unsupported type`.
    #[test]
    fn keys_resolve_as_kustomize_reads_them() {
        let fails = [
            "2024-01-01",
            "1_000",
            "0x1f",
            ".inf",
            "~",
            "0o17",
            "1e3",
            "+1",
            "012",
            "True",
            "NULL",
            "0b11",
            "1.5",
            "-.INF",
            ".NaN",
            "2001-12-14t21:59:43.10-05:00",
            "null",
            "09",
            "-0x1",
            "1.",
            ".5",
        ];
        let passes = ["yes", "\"1\"", "'true'", "nan", "1:20", "a1", "on", "x.5"];
        for k in fails {
            let doc = format!("data:\n  {k}: x\n");
            assert!(first_non_string_key(&doc).is_some(), "{k} should fail");
        }
        for k in passes {
            let doc = format!("data:\n  {k}: x\n");
            assert_eq!(first_non_string_key(&doc), None, "{k} is a string key");
        }
    }

    #[test]
    fn only_keys_count_and_the_line_is_told() {
        let doc = "a: 1\nlist:\n- 2\n- {b: true}\nnested:\n  c: [1, 2]\n  3: x\n";
        assert_eq!(
            first_non_string_key(doc),
            Some((7, "3".to_string(), "an integer"))
        );
        assert_eq!(
            first_non_string_key("a: 1\nb: {c: null}\n---\nd: [1]\n"),
            None
        );
        assert_eq!(
            first_non_string_key("!!str 1: x\n"),
            None,
            "a key tagged as a string is one"
        );
    }
}
