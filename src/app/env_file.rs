//! `<project>/.env`: secrets as `KEY=VALUE` lines, read as data and never run through a shell
//! (no expansion, no command substitution), and strictly: a line democtl cannot read is an
//! error naming `.env:LINE`, never a silently ignored token.
//!
//! The rules (docs/commands.md, "Secrets and `.env`"): a UTF-8 byte-order mark and CRLF line
//! ends are tolerated; blank lines and lines starting with `#` are comments; `export ` may
//! prefix a line; a value is everything after the first `=`, trimmed; an unquoted value ends at
//! ` #` (a trailing comment); `"…"` or `'…'` around the whole value are removed and keep
//! what is inside verbatim (no escapes, no expansion); a quote that does not close on the same
//! line is an error, as is text after the closing quote other than a ` # comment`.

use std::collections::BTreeMap;

use crate::runner::Sensitive;

/// One line of `.env` democtl cannot read, never showing a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProblem {
    pub line: usize,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for EnvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, ".env:{}: {}", self.line, self.message)
    }
}

/// A parsed `.env` file.
#[derive(Debug, Default)]
pub struct EnvFile {
    values: BTreeMap<String, (usize, Sensitive<String>)>,
    /// Lines that cannot be read (the run stops before anything changes).
    pub problems: Vec<EnvProblem>,
    /// Things worth knowing that do not stop the run (a key set twice).
    pub warnings: Vec<String>,
}

impl EnvFile {
    /// Parses the text of a `.env` file.
    pub fn parse(text: &str) -> EnvFile {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut file = EnvFile::default();
        for (i, raw) in text.split('\n').enumerate() {
            let number = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw).trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let Some((key, value)) = line.split_once('=') else {
                file.problem(
                    number,
                    "not a `KEY=VALUE` line".into(),
                    "write `NAME=value` (a `#` starts a comment line)".into(),
                );
                continue;
            };
            let key = key.trim();
            if key.is_empty()
                || key.starts_with(|c: char| c.is_ascii_digit())
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                file.problem(
                    number,
                    format!("`{key}` is not a valid variable name"),
                    "names are letters, digits and `_`, not starting with a digit".into(),
                );
                continue;
            }
            let value = match unquote(value.trim()) {
                Ok(value) => value,
                Err(message) => {
                    file.problem(
                        number,
                        format!("`{key}`: {message}"),
                        "quote the whole value with `\"…\"` or `'…'` on one line".into(),
                    );
                    continue;
                }
            };
            if let Some((first, _)) = file
                .values
                .insert(key.to_owned(), (number, Sensitive::new(value)))
            {
                file.warnings.push(format!(
                    ".env:{number}: `{key}` is set twice (first on line {first}); the last value wins"
                ));
            }
        }
        file
    }

    fn problem(&mut self, line: usize, message: String, hint: String) {
        self.problems.push(EnvProblem {
            line,
            message,
            hint,
        });
    }

    /// The value of `key` and the line that sets it, if set (possibly empty: the caller
    /// decides whether an empty value is acceptable).
    pub fn get(&self, key: &str) -> Option<(usize, &Sensitive<String>)> {
        self.values.get(key).map(|(line, v)| (*line, v))
    }

    /// Keys that nothing asks for (typos like `HF_TOKNE`), as warnings.
    pub fn unknown_keys(&self, known: &[&str]) -> Vec<String> {
        self.values
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| {
                let hint = crate::stage::suggest::closest(k, known.iter().copied())
                    .map(|b| format!("; did you mean `{b}`?"))
                    .unwrap_or_default();
                format!(".env: `{k}` is not used by any stage{hint}")
            })
            .collect()
    }
}

/// `"a b"` → `a b`, `'x'` → `x`; an unquoted value ends at ` #` (a trailing comment).
fn unquote(value: &str) -> Result<String, String> {
    for q in ['"', '\''] {
        if let Some(rest) = value.strip_prefix(q) {
            let Some(end) = rest.find(q) else {
                return Err(format!("the value opens a `{q}` quote that does not close"));
            };
            let after = rest[end + 1..].trim_start();
            if !after.is_empty() && !after.starts_with('#') {
                return Err(format!("text after the closing `{q}` quote"));
            }
            return Ok(rest[..end].to_owned());
        }
    }
    Ok(match value.find(" #") {
        Some(i) => value[..i].trim_end().to_owned(),
        None => value.to_owned(),
    })
}

/// Why a secret value cannot be used as is (surrounding whitespace, a line break, empty), or
/// None when it is well-formed. Never shows the value.
pub fn malformed(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("is empty")
    } else if value.trim().is_empty() {
        Some("is only whitespace")
    } else if value.contains(['\n', '\r']) {
        Some("contains a line break")
    } else if value.trim() != value {
        Some("has whitespace around it")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(file: &'a EnvFile, key: &str) -> Option<&'a str> {
        file.get(key).map(|(_, v)| v.expose().as_str())
    }

    #[test]
    fn parses_data_not_shell() {
        let file = EnvFile::parse(
            "# secrets\r\nHF_TOKEN=hf_abc$(rm -rf /)\r\nexport DB_PASSWORD=\"p w\"\n\nEMPTY=\nX='y' \nNOTE=v # comment\nQ=\"a#b\" # c\n",
        );
        assert_eq!(value(&file, "HF_TOKEN"), Some("hf_abc$(rm -rf /)"));
        assert_eq!(value(&file, "DB_PASSWORD"), Some("p w"));
        assert_eq!(value(&file, "X"), Some("y"));
        assert_eq!(value(&file, "NOTE"), Some("v"));
        assert_eq!(value(&file, "Q"), Some("a#b"));
        assert_eq!(value(&file, "EMPTY"), Some(""));
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    }

    #[test]
    fn a_byte_order_mark_is_tolerated() {
        let file = EnvFile::parse("\u{feff}HF_TOKEN=bom_value_4821\n");
        assert_eq!(value(&file, "HF_TOKEN"), Some("bom_value_4821"));
        assert!(file.problems.is_empty(), "{:?}", file.problems);
    }

    #[test]
    fn unreadable_lines_are_errors_without_values() {
        let file = EnvFile::parse(
            "just some text\nBAD-KEY=secretvalue\nA=1\nA=2\nT=\"unterminated\nU='x' y\n1X=2\n",
        );
        let problems: Vec<String> = file.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                ".env:1: not a `KEY=VALUE` line",
                ".env:2: `BAD-KEY` is not a valid variable name",
                ".env:5: `T`: the value opens a `\"` quote that does not close",
                ".env:6: `U`: text after the closing `'` quote",
                ".env:7: `1X` is not a valid variable name",
            ]
        );
        assert!(!problems.join("").contains("secretvalue"));
        assert_eq!(
            file.warnings,
            [".env:4: `A` is set twice (first on line 3); the last value wins"]
        );
        // The readable lines still count.
        assert_eq!(value(&file, "A"), Some("2"));
    }

    #[test]
    fn malformed_values_are_named_without_showing_them() {
        assert_eq!(malformed(""), Some("is empty"));
        assert_eq!(malformed("  \t"), Some("is only whitespace"));
        assert_eq!(malformed("hf_a\nb"), Some("contains a line break"));
        assert_eq!(malformed("hf_ab\n"), Some("contains a line break"));
        assert_eq!(malformed(" hf_ab"), Some("has whitespace around it"));
        assert_eq!(malformed("hf_ab"), None);
    }

    #[test]
    fn unknown_keys_suggest_the_known_ones() {
        let file = EnvFile::parse("HF_TOKNE=x\nHF_TOKEN=y\n");
        assert_eq!(
            file.unknown_keys(&["HF_TOKEN"]),
            [".env: `HF_TOKNE` is not used by any stage; did you mean `HF_TOKEN`?"]
        );
    }
}
