//! How `kustomize build` quotes a string (go-yaml v3's encoder, as forked in kyaml): a string
//! that would read back as something else (`"123"`, `"yes"`, `"2024-01-01"`, `""`) is
//! double-quoted; one that is text but cannot be plain (`'*'`, `'x: y'`, `' lead'`) is
//! single-quoted, unless it holds a tab or an unprintable character (double-quoted). Multi-line
//! strings are left to the serializer (a literal block). See `encode.go` `stringv` and
//! `emitterc.go` `yaml_emitter_analyze_scalar` / `yaml_emitter_select_scalar_style`.

use std::cell::RefCell;
use std::sync::LazyLock;

use regex::Regex;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// The style go-yaml v3 gives a string in block context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Plain, or a literal block for multi-line text: the serializer's own choice.
    Auto,
    Single,
    Double,
}

/// `s`'s style in kustomize's output.
pub(crate) fn style(s: &str) -> Style {
    if s.contains('\n') {
        return Style::Auto;
    }
    if !resolves_to_text(s) {
        return Style::Double;
    }
    let a = analyze(s);
    if a.block_plain_allowed {
        Style::Auto
    } else if a.single_quoted_allowed {
        Style::Single
    } else {
        Style::Double
    }
}

/// go-yaml v2's booleans, which v3's encoder still quotes (`isOldBool`).
const OLD_BOOLS: [&str; 16] = [
    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
    "OFF",
];

/// Whether plain `s` reads back as a string under go-yaml v3 (`resolve` gives `!!str`, and it
/// is neither a sexagesimal float nor an old boolean).
fn resolves_to_text(s: &str) -> bool {
    static FLOAT: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").ok());
    static BASE60: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").ok());
    static TIMESTAMP: LazyLock<Option<Regex>> = LazyLock::new(|| {
        // time.Parse of "2006-1-2T15:4:5.999999999Z07:00" (also `t`), "2006-1-2 15:4:5.999999999"
        // and "2006-1-2" (go-yaml's `allowedTimestampFormats`).
        Regex::new(
            r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2}))|( [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?))?$",
        )
        .ok()
    });
    let matches = |re: &LazyLock<Option<Regex>>| re.as_ref().is_some_and(|r| r.is_match(s));
    match s {
        "" | "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False"
        | "FALSE" => return false,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return false,
        _ => {}
    }
    if OLD_BOOLS.contains(&s) || matches(&BASE60) {
        return false;
    }
    // Only a leading digit, sign or dot makes go-yaml try numbers and timestamps.
    if !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return true;
    }
    let plain = s.replace('_', "");
    !(go_int(&plain) || matches(&FLOAT) || (matches(&TIMESTAMP) && valid_time(s)))
}

/// Whether the date and time fields that matched are in range, as `time.Parse` checks them
/// (`2024-13-45` is text to go-yaml).
fn valid_time(s: &str) -> bool {
    let fields: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|f| !f.is_empty())
        .take(6)
        .map(|f| f.parse().unwrap_or(u32::MAX))
        .collect();
    let (year, month, day) = match fields[..] {
        [y, m, d, ..] => (y, m, d),
        _ => return false,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    let time_ok = match fields[3..] {
        [h, m, sec, ..] => h < 24 && m < 60 && sec < 60,
        _ => true,
    };
    (1..=days).contains(&day) && time_ok
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint` succeed (base prefixes 0x, 0o, 0b, and a
/// leading 0 for octal), or go-yaml's own `0b` forms.
fn go_int(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (digits, radix) = if let Some(d) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        (d, 16)
    } else if let Some(d) = unsigned
        .strip_prefix("0o")
        .or_else(|| unsigned.strip_prefix("0O"))
    {
        (d, 8)
    } else if let Some(d) = unsigned
        .strip_prefix("0b")
        .or_else(|| unsigned.strip_prefix("0B"))
    {
        (d, 2)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (&unsigned[1..], 8)
    } else {
        (unsigned, 10)
    };
    !digits.is_empty() && u64::from_str_radix(digits, radix).is_ok()
}

struct Analysis {
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
}

/// `yaml_emitter_analyze_scalar` for a one-line, non-empty-or-empty string, block context.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            block_plain_allowed: true,
            single_quoted_allowed: true,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let blank = |c: Option<&char>| matches!(c, None | Some(' ' | '\t' | '\n' | '\r'));
    let mut block_indicators = s.starts_with("---") || s.starts_with("...");
    let mut special = false;
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = blank(chars.get(i + 1));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' || !printable(c) {
            special = true;
        }
        preceded_by_whitespace = blank(Some(&c));
    }
    let leading_space = chars.first() == Some(&' ');
    let trailing_space = chars.last() == Some(&' ');
    Analysis {
        block_plain_allowed: !(block_indicators || special || leading_space || trailing_space),
        single_quoted_allowed: !special,
    }
}

/// libyaml's `is_printable` (the emitter is in unicode mode): not NEL, not the BOM, and not
/// beyond the Basic Multilingual Plane (its byte test has no case for 4-byte UTF-8).
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

/// Opens and closes a placeholder (private-use characters: plain scalars for the serializer).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// `value` as YAML text (serde-saphyr lays out the structure) with every string written as
/// go-yaml v3 writes it: strings whose text the serializer could write otherwise go out as
/// placeholders, replaced afterwards by go-yaml's own rendering. Multi-line strings stay the
/// serializer's (literal blocks, which match). A document that itself holds a placeholder
/// character is left wholly to the serializer.
pub(crate) fn to_yaml_text(
    value: &Value,
    opts: serde_saphyr::SerializerOptions,
) -> Result<String, serde_saphyr::ser::Error> {
    let ctx = Ctx {
        enabled: !holds_placeholder_chars(value),
        texts: RefCell::new(Vec::new()),
    };
    let text = serde_saphyr::to_string_with_options(
        &Styled {
            v: value,
            ctx: &ctx,
        },
        opts,
    )?;
    let texts = ctx.texts.into_inner();
    if texts.is_empty() {
        return Ok(text);
    }
    let mut out = String::with_capacity(text.len() + texts.len() * 4);
    let mut rest = text.as_str();
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let after = &rest[at + OPEN.len_utf8()..];
        let Some(end) = after.find(CLOSE) else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        match after[..end]
            .parse::<usize>()
            .ok()
            .and_then(|i| texts.get(i))
        {
            Some((style, text)) => {
                let line = &out[out.rfind('\n').map_or(0, |i| i + 1)..];
                // A key (`…: ` follows) is never wrapped; a value continues one step in from
                // its key, or from its `- `.
                let rest_after = &after[end + CLOSE.len_utf8()..];
                let is_key = rest_after.starts_with(':');
                let wrap = (!is_key).then(|| Wrap {
                    column: line.chars().count(),
                    indent: continuation_indent(line),
                });
                out.push_str(&render(*style, text, wrap));
            }
            None => out.push_str(&rest[at..at + OPEN.len_utf8() + end + CLOSE.len_utf8()]),
        }
        rest = &after[end + CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    Ok(out)
}

fn holds_placeholder_chars(v: &Value) -> bool {
    let has = |s: &str| s.contains([OPEN, CLOSE]);
    match v {
        Value::String(s) => has(s),
        Value::Array(a) => a.iter().any(holds_placeholder_chars),
        Value::Object(m) => m.iter().any(|(k, v)| has(k) || holds_placeholder_chars(v)),
        _ => false,
    }
}

struct Ctx {
    enabled: bool,
    /// Each placeholder's string and style, by number.
    texts: RefCell<Vec<(Style, String)>>,
}

struct Styled<'a> {
    v: &'a Value,
    ctx: &'a Ctx,
}

struct StyledStr<'a> {
    s: &'a str,
    ctx: &'a Ctx,
}

/// Plain for go-yaml and for the serializer alike: a letter, then letters, digits and
/// `-_./`, and no word either reads as something else.
fn plain_for_both(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && ![
            "null", "true", "false", "nan", "inf", "yes", "no", "on", "off", "y", "n",
        ]
        .iter()
        .any(|w| s.eq_ignore_ascii_case(w))
}

/// NEL, LS and PS are line breaks to go-yaml; such text is left to the serializer.
fn has_unusual_break(s: &str) -> bool {
    s.contains(['\u{85}', '\u{2028}', '\u{2029}', '\r'])
}

impl Serialize for StyledStr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.s;
        if !self.ctx.enabled || s.contains('\n') || has_unusual_break(s) || plain_for_both(s) {
            return serializer.serialize_str(s);
        }
        let mut texts = self.ctx.texts.borrow_mut();
        let placeholder = format!("{OPEN}{}{CLOSE}", texts.len());
        texts.push((style(s), s.to_owned()));
        serializer.serialize_str(&placeholder)
    }
}

impl Serialize for Styled<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ctx = self.ctx;
        match self.v {
            Value::String(s) => StyledStr { s, ctx }.serialize(serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&Styled { v, ctx })?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(&StyledStr { s: k, ctx }, &Styled { v, ctx })?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// Where a value starts on its line and where its continuation lines start.
#[derive(Debug, Clone, Copy)]
struct Wrap {
    column: usize,
    indent: usize,
}

/// go-yaml's line width (`best_width`): a value goes on at the next line at its first space
/// past this column.
const BEST_WIDTH: usize = 80;

/// The indentation of a value's continuation lines, from the text before it on its line:
/// `<indent>(- )*key: ` → the key's column + 2; `<indent>(- )+` → after the last `- `.
fn continuation_indent(line: &str) -> usize {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if line.ends_with(": ") {
        let mut rest = &line[indent..];
        let mut column = indent;
        while let Some(r) = rest.strip_prefix("- ") {
            rest = r;
            column += 2;
        }
        column + 2
    } else {
        line.chars().count()
    }
}

/// go-yaml's text of `s` in `style` (`yaml_emitter_write_{plain,single_quoted,double_quoted}
/// _scalar`), wrapped at spaces past [`BEST_WIDTH`] when `wrap` is given (values, not keys).
fn render(style: Style, s: &str, wrap: Option<Wrap>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 2);
    let mut column = wrap.map_or(0, |w| w.column);
    let put = |out: &mut String, text: &str, column: &mut usize| {
        out.push_str(text);
        *column += text.chars().count();
    };
    let newline = |out: &mut String, column: &mut usize| {
        let indent = wrap.map_or(0, |w| w.indent);
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent));
        *column = indent;
    };
    let breaks_allowed = wrap.is_some();
    let mut spaces = false;
    let quote = match style {
        Style::Auto => "",
        Style::Single => "'",
        Style::Double => "\"",
    };
    put(&mut out, quote, &mut column);
    for (i, &c) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1) == Some(&' ');
        let inner = i > 0 && i + 1 < chars.len();
        if c == ' ' {
            let at_break = breaks_allowed && !spaces && column > BEST_WIDTH;
            let breaks_here = match style {
                Style::Auto => at_break && !next_is_space,
                Style::Single => at_break && inner && !next_is_space,
                Style::Double => at_break && inner,
            };
            if breaks_here {
                newline(&mut out, &mut column);
                if style == Style::Double && next_is_space {
                    put(&mut out, "\\", &mut column);
                }
            } else {
                put(&mut out, " ", &mut column);
            }
            spaces = true;
            continue;
        }
        spaces = false;
        match style {
            Style::Single if c == '\'' => put(&mut out, "''", &mut column),
            Style::Double => put(&mut out, &double_quoted_char(c), &mut column),
            _ => {
                out.push(c);
                column += 1;
            }
        }
    }
    put(&mut out, quote, &mut column);
    out
}

/// One character inside go-yaml's double quotes: unprintable characters, breaks, `"` and
/// `\\` escaped, the short escapes first.
fn double_quoted_char(c: char) -> String {
    if printable(c) && c != '\n' && c != '"' && c != '\\' {
        return c.to_string();
    }
    match c {
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\u{b}' => "\\v".into(),
        '\u{c}' => "\\f".into(),
        '\r' => "\\r".into(),
        '\u{1b}' => "\\e".into(),
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\u{85}' => "\\N".into(),
        '\u{a0}' => "\\_".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
        c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
        c => format!("\\U{:08X}", c as u32),
    }
}

/// go-yaml's double-quoted `s`, unwrapped.
#[cfg(test)]
fn double_quoted(s: &str) -> String {
    render(Style::Double, s, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_follow_go_yaml_v3() {
        for s in [
            "*", "- x", "x: y", "#x", "@x", " lead", "{x}", "x #y", "`x", "%x", "!x",
        ] {
            assert_eq!(style(s), Style::Single, "{s:?}");
        }
        for s in [
            "",
            "123",
            "yes",
            "null",
            "1.5",
            "0x1F",
            "~",
            "a\tb",
            "2024-01-02",
            "1:20",
            "😀",
        ] {
            assert_eq!(style(s), Style::Double, "{s:?}");
        }
        for s in [
            "2024-13-45",
            "2024-02-30",
            "2024-01-02T03:04:05",
            "plain",
            "a,b",
            "a]",
            "x:y",
            "a#b",
            "é",
            "1.2.3",
            "v1",
            "-x",
            "0o",
            "<<",
        ] {
            assert_eq!(style(s), Style::Auto, "{s:?}");
        }
    }

    #[test]
    fn double_quotes_escape_as_go_yaml() {
        assert_eq!(double_quoted("a\tb"), r#""a\tb""#);
        assert_eq!(double_quoted("😀"), r#""\U0001F600""#);
        assert_eq!(double_quoted("\u{feff}"), r#""\uFEFF""#);
        assert_eq!(double_quoted("a\"b\\"), r#""a\"b\\""#);
        assert_eq!(double_quoted("\u{1}"), r#""\x01""#);
    }

    #[test]
    fn placeholders_become_go_yaml_text_and_other_text_stays() {
        let opts = serde_saphyr::ser_options! { compact_list_indent: true };
        let v =
            serde_json::json!({"a": "*", "b": ["x: y", "plain", "😀"], "c": "123", "'": "it's"});
        let text = to_yaml_text(&v, opts.clone()).expect("serializes");
        assert_eq!(
            text,
            "a: '*'\nb:\n- 'x: y'\n- plain\n- \"\\U0001F600\"\nc: \"123\"\n'''': it's\n"
        );
        // A document holding a placeholder character is the serializer's alone.
        let odd = serde_json::json!({"a": "\u{e000}0\u{e001}", "b": "*"});
        let text = to_yaml_text(&odd, opts).expect("serializes");
        assert!(text.contains("\u{e000}0\u{e001}"), "{text}");
    }
}
