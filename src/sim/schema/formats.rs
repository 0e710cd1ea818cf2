//! The string `format`s apiextensions-apiserver enforces in CRD schemas (its strict format set);
//! formats it does not know are accepted, as there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$").ok()
});
static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$").ok()
});
static MAC: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$|^([0-9a-f]{4}\.){2}[0-9a-f]{4}$").ok()
});
static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}$").ok());

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_none_or(|r| r.is_match(s))
}

/// Whether `value` is valid for `format` (true for formats kube does not check).
pub fn valid(format: &str, value: &str) -> bool {
    match format {
        "date-time" | "datetime" => value.parse::<jiff::Timestamp>().is_ok(),
        "date" => matches(&DATE, value) && value.parse::<jiff::civil::Date>().is_ok(),
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .is_ok()
        }
        "uuid" | "uuid3" | "uuid4" | "uuid5" => matches(&UUID, value),
        "ipv4" => value.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => value.parse::<Ipv6Addr>().is_ok(),
        "cidr" => value.split_once('/').is_some_and(|(ip, bits)| {
            match (ip.parse::<IpAddr>(), bits.parse::<u8>()) {
                (Ok(IpAddr::V4(_)), Ok(b)) => b <= 32,
                (Ok(IpAddr::V6(_)), Ok(b)) => b <= 128,
                _ => false,
            }
        }),
        "hostname" => value.len() <= 255 && matches(&HOSTNAME, value),
        "mac" => matches(&MAC, value),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::valid;

    #[test]
    fn formats_kube_checks() {
        assert!(valid("date-time", "2026-12-03T08:00:00Z"));
        assert!(!valid("date-time", "yesterday"));
        assert!(valid("ipv4", "10.0.0.1") && !valid("ipv4", "10.0.0"));
        assert!(valid("cidr", "10.0.0.0/8") && !valid("cidr", "10.0.0.0/33"));
        assert!(valid("int32", "anything"));
        assert!(!valid("byte", "not base64!"));
    }
}
