//! Go's `time.Parse` for the two layouts apimachinery decodes timestamps with — `metav1.Time`
//! (`time.RFC3339`) and `metav1.MicroTime` (`RFC3339Micro`, exactly six fractional digits) —
//! with Go's error wording (`parsing time "x" as "2006-01-02T15:04:05.000000Z07:00": cannot
//! parse "x" as "2006"`), so a bad timestamp is refused on decode as kube-apiserver does.

/// `time.RFC3339`, the layout of `metav1.Time`.
pub const RFC3339: &str = "2006-01-02T15:04:05Z07:00";
/// `metav1.RFC3339Micro`, the layout of `metav1.MicroTime`.
pub const RFC3339_MICRO: &str = "2006-01-02T15:04:05.000000Z07:00";

#[derive(Clone, Copy, PartialEq)]
enum Std {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Micro,
    Zone,
}

/// Go's `time.quote`.
fn quote(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

fn digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// Go's `getnum`.
fn getnum(s: &[u8], fixed: bool) -> Option<(u32, &[u8])> {
    if !digit(s, 0) {
        return None;
    }
    if !digit(s, 1) {
        if fixed {
            return None;
        }
        return Some((u32::from(s[0] - b'0'), &s[1..]));
    }
    Some((
        u32::from(s[0] - b'0') * 10 + u32::from(s[1] - b'0'),
        &s[2..],
    ))
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `value` with `layout` (one of the two constants); `Err` is Go's message.
pub fn parse(layout: &str, value: &str) -> Result<(), String> {
    let chunks: &[(&str, Std, &str)] = &[
        ("", Std::Year, "2006"),
        ("-", Std::Month, "01"),
        ("-", Std::Day, "02"),
        ("T", Std::Hour, "15"),
        (":", Std::Minute, "04"),
        (":", Std::Second, "05"),
        ("", Std::Micro, ".000000"),
        ("", Std::Zone, "Z07:00"),
    ];
    let micro = layout == RFC3339_MICRO;
    let fail = |rest: &[u8], elem: &str| {
        Err(format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(value.as_bytes()),
            quote(layout.as_bytes()),
            quote(rest),
            quote(elem.as_bytes())
        ))
    };
    let out_of_range = |what: &str| {
        Err(format!(
            "parsing time {}: {what} out of range",
            quote(value.as_bytes())
        ))
    };
    let mut v = value.as_bytes();
    let (mut year, mut month, mut day) = (0, 0, 0);
    for &(prefix, std, elem) in chunks {
        if std == Std::Micro && !micro {
            continue;
        }
        for &p in prefix.as_bytes() {
            if v.first() != Some(&p) {
                return fail(v, prefix);
            }
            v = &v[1..];
        }
        let hold = v;
        match std {
            Std::Year => {
                if v.len() < 4 || !v[..4].iter().all(u8::is_ascii_digit) {
                    return fail(hold, elem);
                }
                year = v[..4].iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'));
                v = &v[4..];
            }
            Std::Month | Std::Day | Std::Minute | Std::Second | Std::Hour => {
                let Some((n, rest)) = getnum(v, std != Std::Hour) else {
                    return fail(hold, elem);
                };
                v = rest;
                match std {
                    Std::Month if n == 0 || n > 12 => return out_of_range("month"),
                    Std::Month => month = n,
                    Std::Day => day = n,
                    Std::Hour if n >= 24 => return out_of_range("hour"),
                    Std::Minute if n >= 60 => return out_of_range("minute"),
                    Std::Second if n >= 60 => return out_of_range("second"),
                    _ => {}
                }
                // RFC3339 takes a fraction the layout does not spell out.
                if std == Std::Second
                    && !micro
                    && v.len() >= 2
                    && matches!(v[0], b'.' | b',')
                    && digit(v, 1)
                {
                    let n = 2 + v[2..].iter().take_while(|b| b.is_ascii_digit()).count();
                    v = &v[n..];
                }
            }
            Std::Micro => {
                if v.len() < 7 || !matches!(v[0], b'.' | b',') {
                    return fail(hold, elem);
                }
                if !v[1..7].iter().all(u8::is_ascii_digit) {
                    return fail(hold, elem);
                }
                v = &v[7..];
            }
            Std::Zone => {
                if v.first() == Some(&b'Z') {
                    v = &v[1..];
                } else {
                    if v.len() < 6 || v[3] != b':' {
                        return fail(hold, elem);
                    }
                    let (Some((hr, _)), Some((mm, _))) =
                        (getnum(&v[1..3], true), getnum(&v[4..6], true))
                    else {
                        return fail(hold, elem);
                    };
                    if hr > 24 {
                        return out_of_range("time zone offset hour");
                    }
                    if mm > 60 {
                        return out_of_range("time zone offset minute");
                    }
                    if !matches!(v[0], b'+' | b'-') {
                        return fail(hold, elem);
                    }
                    v = &v[6..];
                }
            }
        }
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            quote(value.as_bytes()),
            quote(v)
        ));
    }
    if day < 1 || day > days_in(month, year) {
        return out_of_range("day");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_times_parse() {
        for (layout, v) in [
            (RFC3339, "2026-01-01T00:00:05Z"),
            (RFC3339, "2026-01-01T00:00:05.123Z"),
            (RFC3339, "2024-02-29T23:59:59+02:00"),
            (RFC3339_MICRO, "2026-01-01T00:00:05.123456Z"),
            (RFC3339_MICRO, "2026-01-01T00:00:05.000000-07:00"),
        ] {
            assert_eq!(parse(layout, v), Ok(()), "{v}");
        }
    }

    #[test]
    fn errors_are_worded_like_go() {
        let cases = [
            (
                RFC3339_MICRO,
                "not-a-time",
                r#"parsing time "not-a-time" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "not-a-time" as "2006""#,
            ),
            (
                RFC3339_MICRO,
                "2026-01-01T00:00:05Z",
                r#"parsing time "2026-01-01T00:00:05Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000""#,
            ),
            (
                RFC3339,
                "2026/01/01",
                r#"parsing time "2026/01/01" as "2006-01-02T15:04:05Z07:00": cannot parse "/01/01" as "-""#,
            ),
            (
                RFC3339,
                "2026-13-01T00:00:00Z",
                r#"parsing time "2026-13-01T00:00:00Z": month out of range"#,
            ),
            (
                RFC3339,
                "2025-02-29T00:00:00Z",
                r#"parsing time "2025-02-29T00:00:00Z": day out of range"#,
            ),
            (
                RFC3339,
                "2026-01-01T00:00:00Zjunk",
                r#"parsing time "2026-01-01T00:00:00Zjunk": extra text: "junk""#,
            ),
            (
                RFC3339,
                "2026-01-01T00:00:00",
                r#"parsing time "2026-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00""#,
            ),
        ];
        for (layout, v, want) in cases {
            assert_eq!(parse(layout, v), Err(want.to_string()), "{v}");
        }
    }
}
