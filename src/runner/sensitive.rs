//! `Sensitive<T>`: a value (token, password, Secret data) that cannot be shown. Its `Debug`,
//! `Display` and `Serialize` print `********`, and every string wrapped in it is remembered so
//! reporters can scrub it from any text that still carries it (an error echoing a header, a
//! step formatting the raw value). Reporters call [`redact`] on everything they write.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{LazyLock, RwLock};

/// What is shown instead of a secret.
pub const MASK: &str = "********";

/// Secrets wrapped so far in this process (only strings long enough to be worth masking).
static KNOWN: LazyLock<RwLock<BTreeSet<String>>> = LazyLock::new(|| RwLock::new(BTreeSet::new()));

/// A secret value. Use [`Sensitive::expose`] only where the value goes to the cluster.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T>(T);

impl<T: AsRef<str>> Sensitive<T> {
    /// Wraps `value` and remembers it for redaction.
    pub fn new(value: T) -> Self {
        let text = value.as_ref();
        // Very short values ("a", "1") would mangle ordinary text; they are not real secrets.
        if text.len() >= 4
            && let Ok(mut known) = KNOWN.write()
        {
            known.insert(text.to_owned());
        }
        Sensitive(value)
    }
}

impl<T> Sensitive<T> {
    /// The real value, for the API call that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

/// `text` with every known secret replaced by the mask (also in JSON-escaped form).
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(known) = KNOWN.read() else {
        return text.into();
    };
    let mut out: std::borrow::Cow<'_, str> = text.into();
    for secret in known.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK).into();
        }
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        if escaped != secret && out.contains(escaped) {
            out = out.replace(escaped, MASK).into();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let token = Sensitive::new("hf_abcdefghijklmnop".to_owned());
        assert_eq!(format!("{token} {token:?}"), "******** ********");
        assert_eq!(
            serde_json::to_string(&token).ok().as_deref(),
            Some("\"********\"")
        );
        assert_eq!(token.expose(), "hf_abcdefghijklmnop");
        assert_eq!(
            redact("401 for token hf_abcdefghijklmnop"),
            "401 for token ********"
        );
    }

    #[test]
    fn escaped_secrets_are_redacted_too() {
        let _password = Sensitive::new("pa\"ss\\word".to_owned());
        let json = serde_json::to_string("x pa\"ss\\word y").unwrap_or_default();
        assert_eq!(redact(&json), "\"x ******** y\"");
    }
}
