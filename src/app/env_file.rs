//! `<project>/.env`: secrets as `KEY=VALUE` lines, read as data and never run through a shell
//! (no expansion, no command substitution). CRLF line ends, `export ` prefixes, comments, blank
//! lines and surrounding quotes are tolerated; anything else is a warning naming the line.

use std::collections::BTreeMap;

use crate::runner::Sensitive;

/// A parsed `.env` file.
#[derive(Debug, Default)]
pub struct EnvFile {
    values: BTreeMap<String, Sensitive<String>>,
    /// Lines that are not `KEY=VALUE` (`.env:3: …`), never showing a value.
    pub warnings: Vec<String>,
}

impl EnvFile {
    /// Parses the text of a `.env` file.
    pub fn parse(text: &str) -> EnvFile {
        let mut file = EnvFile::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let Some((key, value)) = line.split_once('=') else {
                file.warnings
                    .push(format!(".env:{}: not a `KEY=VALUE` line; ignored", i + 1));
                continue;
            };
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                file.warnings.push(format!(
                    ".env:{}: `{key}` is not a valid variable name; ignored",
                    i + 1
                ));
                continue;
            }
            let value = unquote(value.trim());
            if file
                .values
                .insert(key.to_owned(), Sensitive::new(value))
                .is_some()
            {
                file.warnings.push(format!(
                    ".env:{}: `{key}` is set twice; the last value wins",
                    i + 1
                ));
            }
        }
        file
    }

    /// The value of `key`, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&Sensitive<String>> {
        self.values.get(key).filter(|v| !v.expose().is_empty())
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
fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return value[1..value.len() - 1].to_owned();
        }
    }
    match value.find(" #") {
        Some(i) => value[..i].trim_end().to_owned(),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_data_not_shell() {
        let file = EnvFile::parse(
            "# secrets\r\nHF_TOKEN=hf_abc$(rm -rf /)\r\nexport DB_PASSWORD=\"p w\"\n\nEMPTY=\nX='y' \nNOTE=v # comment\n",
        );
        assert_eq!(
            file.get("HF_TOKEN").map(|v| v.expose().as_str()),
            Some("hf_abc$(rm -rf /)")
        );
        assert_eq!(
            file.get("DB_PASSWORD").map(|v| v.expose().as_str()),
            Some("p w")
        );
        assert_eq!(file.get("X").map(|v| v.expose().as_str()), Some("y"));
        assert_eq!(file.get("NOTE").map(|v| v.expose().as_str()), Some("v"));
        assert!(file.get("EMPTY").is_none());
        assert!(file.warnings.is_empty(), "{:?}", file.warnings);
    }

    #[test]
    fn bad_lines_are_warnings_without_values() {
        let file = EnvFile::parse("just some text\nBAD-KEY=secretvalue\nA=1\nA=2\n");
        assert_eq!(
            file.warnings,
            [
                ".env:1: not a `KEY=VALUE` line; ignored",
                ".env:2: `BAD-KEY` is not a valid variable name; ignored",
                ".env:4: `A` is set twice; the last value wins",
            ]
        );
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
