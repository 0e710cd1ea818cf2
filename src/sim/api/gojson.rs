//! Go's `encoding/json` syntax errors, worded as its scanner words them (`invalid character 'n'
//! looking for beginning of object key string`, `unexpected end of JSON input`). kube-apiserver
//! checks a body with that scanner before decoding it, so clients (and democtl's error mapping)
//! see these words; serde_json's own messages (`key must be a string at line 1 column 2`) would
//! be a simulator-only dialect. This is a port of the state machine of Go's `scanner.go`.

/// Go's `maxNestingDepth`.
const MAX_DEPTH: usize = 10000;

#[derive(Clone, Copy, PartialEq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

#[derive(Clone, Copy)]
enum State {
    BeginValueOrEmpty,
    BeginValue,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    Literal(&'static [u8], usize),
}

struct Scanner {
    step: State,
    stack: Vec<Parse>,
    end_top: bool,
}

/// The first syntax error of `data` as Go's `json.Unmarshal` reports it, or `None` when `data`
/// is one valid JSON value.
pub fn syntax_error(data: &[u8]) -> Option<String> {
    let mut s = Scanner {
        step: State::BeginValue,
        stack: Vec::new(),
        end_top: false,
    };
    for &c in data {
        if let Err(e) = s.step(c) {
            return Some(e);
        }
    }
    // Go's `scanner.eof`: a trailing space ends a pending number or fails a pending literal.
    if s.end_top {
        return None;
    }
    if let Err(e) = s.step(b' ') {
        return Some(e);
    }
    if s.end_top {
        None
    } else {
        Some("unexpected end of JSON input".into())
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's `quoteChar`: the offending byte as a Go rune literal.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => r"'\''".into(),
        b'"' => "'\"'".into(),
        _ => format!("'{}'", go_quote_rune(char::from(c))),
    }
}

/// The inside of `strconv.Quote(string(rune))` for a Latin-1 rune.
fn go_quote_rune(r: char) -> String {
    match r {
        '\x07' => r"\a".into(),
        '\x08' => r"\b".into(),
        '\x0c' => r"\f".into(),
        '\n' => r"\n".into(),
        '\r' => r"\r".into(),
        '\t' => r"\t".into(),
        '\x0b' => r"\v".into(),
        '\\' => r"\\".into(),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => format!(r"\x{:02x}", c as u32),
        // C1 controls, no-break space and soft hyphen are not printable to strconv.IsPrint.
        c if (0x80..=0xa0).contains(&(c as u32)) || c as u32 == 0xad => {
            format!(r"\u{:04x}", c as u32)
        }
        c => c.to_string(),
    }
}

fn invalid(c: u8, context: &str) -> Result<(), String> {
    Err(format!("invalid character {} {context}", quote_char(c)))
}

impl Scanner {
    fn push(&mut self, p: Parse, next: State) -> Result<(), String> {
        self.step = next;
        self.stack.push(p);
        if self.stack.len() > MAX_DEPTH {
            return Err("exceeded max depth".into());
        }
        Ok(())
    }

    fn pop(&mut self) {
        self.stack.pop();
        if self.stack.is_empty() {
            self.step = State::EndTop;
            self.end_top = true;
        } else {
            self.step = State::EndValue;
        }
    }

    fn step(&mut self, c: u8) -> Result<(), String> {
        match self.step {
            State::BeginValueOrEmpty => {
                if is_space(c) {
                    Ok(())
                } else if c == b']' {
                    self.end_value(c)
                } else {
                    self.begin_value(c)
                }
            }
            State::BeginValue => self.begin_value(c),
            State::BeginStringOrEmpty => {
                if is_space(c) {
                    Ok(())
                } else if c == b'}' {
                    if let Some(top) = self.stack.last_mut() {
                        *top = Parse::ObjectValue;
                    }
                    self.end_value(c)
                } else {
                    self.begin_string(c)
                }
            }
            State::BeginString => self.begin_string(c),
            State::EndValue => self.end_value(c),
            State::EndTop => {
                if is_space(c) {
                    Ok(())
                } else {
                    invalid(c, "after top-level value")
                }
            }
            State::InString => {
                match c {
                    b'"' => self.step = State::EndValue,
                    b'\\' => self.step = State::InStringEsc,
                    c if c < 0x20 => return invalid(c, "in string literal"),
                    _ => {}
                }
                Ok(())
            }
            State::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                    self.step = State::InString;
                    Ok(())
                }
                b'u' => {
                    self.step = State::InStringEscU(0);
                    Ok(())
                }
                _ => invalid(c, "in string escape code"),
            },
            State::InStringEscU(n) => {
                if !c.is_ascii_hexdigit() {
                    return invalid(c, r"in \u hexadecimal character escape");
                }
                self.step = if n == 3 {
                    State::InString
                } else {
                    State::InStringEscU(n + 1)
                };
                Ok(())
            }
            State::Neg => match c {
                b'0' => {
                    self.step = State::Zero;
                    Ok(())
                }
                b'1'..=b'9' => {
                    self.step = State::One;
                    Ok(())
                }
                _ => invalid(c, "in numeric literal"),
            },
            State::One => {
                if c.is_ascii_digit() {
                    Ok(())
                } else {
                    self.zero(c)
                }
            }
            State::Zero => self.zero(c),
            State::Dot => {
                if c.is_ascii_digit() {
                    self.step = State::Dot0;
                    Ok(())
                } else {
                    invalid(c, "after decimal point in numeric literal")
                }
            }
            State::Dot0 => {
                if c.is_ascii_digit() {
                    Ok(())
                } else if c == b'e' || c == b'E' {
                    self.step = State::E;
                    Ok(())
                } else {
                    self.end_value(c)
                }
            }
            State::E => {
                if c == b'+' || c == b'-' {
                    self.step = State::ESign;
                    Ok(())
                } else {
                    self.e_sign(c)
                }
            }
            State::ESign => self.e_sign(c),
            State::E0 => {
                if c.is_ascii_digit() {
                    Ok(())
                } else {
                    self.end_value(c)
                }
            }
            State::Literal(word, at) => {
                if c != word[at] {
                    let word_str = std::str::from_utf8(word).unwrap_or("");
                    return invalid(
                        c,
                        &format!("in literal {word_str} (expecting {})", quote_char(word[at])),
                    );
                }
                self.step = if at + 1 == word.len() {
                    State::EndValue
                } else {
                    State::Literal(word, at + 1)
                };
                Ok(())
            }
        }
    }

    fn begin_value(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            return Ok(());
        }
        match c {
            b'{' => self.push(Parse::ObjectKey, State::BeginStringOrEmpty),
            b'[' => self.push(Parse::ArrayValue, State::BeginValueOrEmpty),
            b'"' => {
                self.step = State::InString;
                Ok(())
            }
            b'-' => {
                self.step = State::Neg;
                Ok(())
            }
            b'0' => {
                self.step = State::Zero;
                Ok(())
            }
            b'1'..=b'9' => {
                self.step = State::One;
                Ok(())
            }
            b't' => {
                self.step = State::Literal(b"true", 1);
                Ok(())
            }
            b'f' => {
                self.step = State::Literal(b"false", 1);
                Ok(())
            }
            b'n' => {
                self.step = State::Literal(b"null", 1);
                Ok(())
            }
            _ => invalid(c, "looking for beginning of value"),
        }
    }

    fn begin_string(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            Ok(())
        } else if c == b'"' {
            self.step = State::InString;
            Ok(())
        } else {
            invalid(c, "looking for beginning of object key string")
        }
    }

    fn zero(&mut self, c: u8) -> Result<(), String> {
        match c {
            b'.' => {
                self.step = State::Dot;
                Ok(())
            }
            b'e' | b'E' => {
                self.step = State::E;
                Ok(())
            }
            _ => self.end_value(c),
        }
    }

    fn e_sign(&mut self, c: u8) -> Result<(), String> {
        if c.is_ascii_digit() {
            self.step = State::E0;
            Ok(())
        } else {
            invalid(c, "in exponent of numeric literal")
        }
    }

    fn end_value(&mut self, c: u8) -> Result<(), String> {
        let Some(&top) = self.stack.last() else {
            self.step = State::EndTop;
            self.end_top = true;
            return self.step(c);
        };
        if is_space(c) {
            self.step = State::EndValue;
            return Ok(());
        }
        match (top, c) {
            (Parse::ObjectKey, b':') => {
                if let Some(t) = self.stack.last_mut() {
                    *t = Parse::ObjectValue;
                }
                self.step = State::BeginValue;
                Ok(())
            }
            (Parse::ObjectKey, _) => invalid(c, "after object key"),
            (Parse::ObjectValue, b',') => {
                if let Some(t) = self.stack.last_mut() {
                    *t = Parse::ObjectKey;
                }
                self.step = State::BeginString;
                Ok(())
            }
            (Parse::ObjectValue, b'}') => {
                self.pop();
                Ok(())
            }
            (Parse::ObjectValue, _) => invalid(c, "after object key:value pair"),
            (Parse::ArrayValue, b',') => {
                self.step = State::BeginValue;
                Ok(())
            }
            (Parse::ArrayValue, b']') => {
                self.pop();
                Ok(())
            }
            (Parse::ArrayValue, _) => invalid(c, "after array element"),
        }
    }
}

/// kube-apiserver's `summarizeData(body, 30)`: a body quoted in a decode error, as text when it
/// looks like a JSON object, else as hex.
pub fn summarize(data: &[u8]) -> String {
    const MAX: usize = 30;
    let (head, more) = if data.len() > MAX {
        (&data[..MAX], " ...")
    } else {
        (data, "")
    };
    match data.first() {
        None => "<empty>".into(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(head)),
        Some(_) => {
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_json_has_no_syntax_error() {
        for ok in [
            "{}",
            " {\"a\": [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"]} ",
            "0",
            "[]",
            "\"s\"",
        ] {
            assert_eq!(syntax_error(ok.as_bytes()), None, "{ok}");
        }
    }

    #[test]
    fn syntax_errors_are_worded_like_go() {
        let cases = [
            (
                "{not json",
                "invalid character 'n' looking for beginning of object key string",
            ),
            ("", "unexpected end of JSON input"),
            ("{\"a\":1", "unexpected end of JSON input"),
            ("x", "invalid character 'x' looking for beginning of value"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            (
                "{\"a\":1 \"b\"}",
                "invalid character '\"' after object key:value pair",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            ("{} {}", "invalid character '{' after top-level value"),
            (
                "tru",
                "invalid character ' ' in literal true (expecting 'e')",
            ),
            (
                "nul!",
                "invalid character '!' in literal null (expecting 'l')",
            ),
            ("-x", "invalid character 'x' in numeric literal"),
            (
                "1.x",
                "invalid character 'x' after decimal point in numeric literal",
            ),
            (
                "1e+",
                "invalid character ' ' in exponent of numeric literal",
            ),
            ("\"a\\x\"", "invalid character 'x' in string escape code"),
            (
                "\"\\u12g4\"",
                "invalid character 'g' in \\u hexadecimal character escape",
            ),
            ("\"a\tb\"", "invalid character '\\t' in string literal"),
            (
                "{'a':1}",
                "invalid character '\\'' looking for beginning of object key string",
            ),
            (
                "\u{1}",
                "invalid character '\\x01' looking for beginning of value",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                syntax_error(input.as_bytes()).as_deref(),
                Some(want),
                "{input:?}"
            );
        }
    }

    #[test]
    fn bodies_are_summarized_like_kube() {
        assert_eq!(summarize(b""), "<empty>");
        assert_eq!(summarize(b"{not json"), "{not json");
        assert_eq!(
            summarize(b"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}"),
            "{\"apiVersion\":\"v1\",\"kind\":\"Con ..."
        );
        assert_eq!(summarize(b"[1]"), "5b315d");
    }
}
