//! Fitting text to a terminal width without ever cutting a line: prose wrapped at word
//! boundaries, tables that drop or abbreviate columns instead of breaking rows, shell commands
//! wrapped with `\` continuations so they still paste, and names abbreviated with `…`.
//! Pure string functions (widths in terminal columns, ANSI-aware).

use console::measure_text_width as width_of;

/// The narrowest width we lay out for (below it, lines may exceed the terminal).
pub const MIN_WIDTH: usize = 40;

/// Wraps prose at word boundaries to `width` columns, every line starting with `indent`.
pub fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let width = width.max(MIN_WIDTH);
    let options = textwrap::Options::new(width)
        .initial_indent(indent)
        .subsequent_indent(indent)
        .break_words(false);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// Chatter for stderr, wrapped at words to the terminal's width when stderr is a terminal
/// (continuation lines indented two columns), so that the terminal never cuts a line mid-word.
/// Complete lines only: a prompt's unfinished last line stays as it is.
pub fn fit_terminal_lines(text: &str) -> std::borrow::Cow<'_, str> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return text.into();
    }
    let width = usize::from(console::Term::stderr().size().1);
    fit_lines(text, width)
}

/// [`fit_terminal_lines`] for a known width.
pub fn fit_lines(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if width < MIN_WIDTH
        || text
            .lines()
            .all(|l| console::measure_text_width(l) <= width)
    {
        return text.into();
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(end) = rest.find('\n') {
        let line = &rest[..end];
        if console::measure_text_width(line) <= width {
            out.push_str(line);
            out.push('\n');
        } else {
            let options = textwrap::Options::new(width)
                .subsequent_indent("  ")
                .break_words(false);
            for l in textwrap::wrap(line, options) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.into()
}

/// `text` shortened to `max` columns with a trailing `…` (whole when it fits).
pub fn abbreviate(text: &str, max: usize) -> String {
    if width_of(text) <= max {
        return text.to_owned();
    }
    let plain = console::strip_ansi_codes(text);
    let mut out = String::new();
    let mut used = 0;
    for c in plain.chars() {
        let w = unicode_width(c);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

fn unicode_width(c: char) -> usize {
    width_of(c.encode_utf8(&mut [0; 4]))
}

/// Splits a shell command into words, keeping quoted parts (and their quotes) whole.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in command.chars() {
        if escaped {
            word.push(c);
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') if quote != Some('\'') => {
                word.push(c);
                escaped = true;
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                word.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                word.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A shell command wrapped to `width` with ` \` continuations, so the lines paste as one
/// command. Words are never split, except a single-quoted argument with spaces (a JSON body)
/// that is wider than a line by itself: it breaks at its spaces inside the quotes, where a
/// newline is part of the argument (JSON allows it) and needs no ` \`.
pub fn wrap_command(command: &str, width: usize, indent: &str) -> Vec<String> {
    wrap_command_with(command, width, indent, &format!("{indent}    "))
}

/// [`wrap_command`] with its own first-line prefix (`  $ `) and continuation prefix.
pub fn wrap_command_with(command: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let width = width.max(MIN_WIDTH);
    let continuation = rest.to_owned();
    let mut lines: Vec<String> = Vec::new();
    let mut line = first.to_owned();
    let mut fresh = true;
    for word in shell_words(command) {
        // Room for the word plus ` \` at the end of the line.
        if !fresh && width_of(&line) + 1 + width_of(&word) + 2 > width {
            line.push_str(" \\");
            lines.push(std::mem::take(&mut line));
            line = continuation.clone();
        } else if !fresh {
            line.push(' ');
        }
        let quoted = word.len() > 2 && word.starts_with('\'') && word.ends_with('\'');
        if quoted && word.contains(' ') && width_of(&continuation) + width_of(&word) > width {
            if line.trim_end() != continuation.trim_end() && line.trim_end() != first.trim_end() {
                // The quoted argument starts a line of its own.
                let mut done = std::mem::take(&mut line).trim_end().to_owned();
                done.push_str(" \\");
                lines.push(done);
                line = continuation.clone();
            }
            // Inside the quotes: plain newlines, the next piece on a continuation line.
            let room = width.saturating_sub(width_of(&continuation) + 2);
            let options = textwrap::Options::new(room.max(MIN_WIDTH / 2)).break_words(false);
            let pieces = textwrap::wrap(&word, options);
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    lines.push(std::mem::take(&mut line));
                    line = continuation.clone();
                }
                line.push_str(piece);
            }
        } else {
            line.push_str(&word);
        }
        fresh = false;
    }
    if line.trim().is_empty() {
        return lines;
    }
    lines.push(line);
    lines
}

/// A table that fits `width` columns: cells padded to the widest, two spaces between
/// columns. When too wide it first wraps the headers onto two lines, then abbreviates the
/// widest columns (never below 8 columns), then drops columns from the right and says so.
pub fn fit_table(columns: &[String], rows: &[Vec<String>], width: usize) -> Vec<String> {
    let width = width.max(MIN_WIDTH);
    let count = columns
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
    let cells_width = |i: usize| {
        rows.iter()
            .map(|r| width_of(&cell(r, i)))
            .max()
            .unwrap_or(0)
    };
    let total =
        |widths: &[usize]| widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    let header_width = |h: &str| width_of(h);
    let mut headers: Vec<Vec<String>> = (0..count)
        .map(|i| vec![columns.get(i).cloned().unwrap_or_default()])
        .collect();
    let mut widths: Vec<usize> = (0..count)
        .map(|i| cells_width(i).max(header_width(&headers[i][0])))
        .collect();
    if total(&widths) > width {
        // Headers onto two lines where the cells are narrower than the header.
        for i in 0..count {
            let h = headers[i][0].clone();
            let cw = cells_width(i);
            if header_width(&h) > cw
                && let Some((a, b)) = split_header(&h)
            {
                widths[i] = cw.max(header_width(&a)).max(header_width(&b));
                headers[i] = vec![a, b];
            }
        }
    }
    let mut limits: Vec<usize> = widths.clone();
    while total(&limits) > width {
        let Some((widest, w)) = limits.iter().copied().enumerate().max_by_key(|(_, w)| *w) else {
            break;
        };
        if w <= 8 {
            break;
        }
        let excess = total(&limits) - width;
        limits[widest] = (w - excess.min(w - 8)).max(8);
    }
    // Still too wide: drop columns from the right (never the first).
    let mut shown = count;
    while shown > 1 && total(&limits[..shown]) > width {
        shown -= 1;
    }
    let header_lines = headers.iter().map(Vec::len).max().unwrap_or(1);
    let line = |texts: &[String]| {
        let cells: Vec<String> = (0..shown)
            .map(|i| {
                let text = texts.get(i).map(String::as_str).unwrap_or("");
                let text = abbreviate(text, limits[i]);
                let pad = limits[i].saturating_sub(width_of(&text));
                format!("{text}{}", " ".repeat(pad))
            })
            .collect();
        cells.join("  ").trim_end().to_owned()
    };
    let mut out = Vec::new();
    if !columns.is_empty() {
        for l in 0..header_lines {
            let texts: Vec<String> = (0..count)
                .map(|i| {
                    let h = &headers[i];
                    // Single-line headers sit on the last header line.
                    let offset = header_lines - h.len();
                    if l >= offset {
                        h[l - offset].clone()
                    } else {
                        String::new()
                    }
                })
                .collect();
            out.push(line(&texts));
        }
    }
    out.extend(rows.iter().map(|r| line(r)));
    if shown < count {
        let hidden: Vec<String> = (shown..count).map(|i| headers[i].join(" ")).collect();
        out.extend(wrap(
            &format!("({} hidden at this width)", hidden.join(", ")),
            width,
            "",
        ));
    }
    out
}

/// `TTFT p50 ms` → (`TTFT`, `p50 ms`): split at the space nearest the middle.
fn split_header(header: &str) -> Option<(String, String)> {
    let mid = header.len() / 2;
    let at = header
        .match_indices(' ')
        .map(|(i, _)| i)
        .min_by_key(|i| i.abs_diff(mid))?;
    Some((header[..at].to_owned(), header[at + 1..].to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_long_quoted_json_body_breaks_inside_its_quotes() {
        let cmd = r#"curl -s -X POST https://acme-agent.apps.example.com/api/v1/check -H 'Content-Type: application/json' -d '{"equipmentId": "LITHO-001", "telemetryFile": "acme_telemetry_clean.csv"}'"#;
        let lines = wrap_command_with(cmd, 80, "      $ ", "          ");
        for l in &lines {
            assert!(width_of(l) <= 80, "{l}");
        }
        let body_at = lines
            .iter()
            .position(|l| l.trim_start().starts_with("'{"))
            .unwrap_or(usize::MAX);
        assert!(body_at < lines.len(), "{lines:#?}");
        // Before the body: ` \` continuations; inside it: none (a newline inside quotes).
        for l in &lines[..body_at] {
            assert!(l.ends_with(" \\"), "{l}");
        }
        for l in &lines[body_at..] {
            assert!(!l.ends_with('\\'), "{l}");
        }
        assert!(lines[0].starts_with("      $ curl"));
        assert!(lines[1..].iter().all(|l| !l.contains('$')));
        let body: Vec<&str> = lines[body_at..].iter().map(|l| l.trim()).collect();
        assert_eq!(
            body.join(" "),
            r#"'{"equipmentId": "LITHO-001", "telemetryFile": "acme_telemetry_clean.csv"}'"#
        );
    }

    #[test]
    fn chatter_is_wrapped_at_words_with_the_rest_indented() {
        let text = "starting the simulated cluster (scenario healthy, 60×) in the background: `democtl sim status` shows it\nshort\nprompt? ";
        let fitted = fit_lines(text, 80);
        assert_eq!(
            fitted,
            "starting the simulated cluster (scenario healthy, 60×) in the background:\n  `democtl sim status` shows it\nshort\nprompt? "
        );
        assert_eq!(fit_lines("short\n", 80), "short\n");
    }

    #[test]
    fn prose_wraps_at_word_boundaries() {
        let text = "The weights stream from Hugging Face into PVCs inside our own cluster, never leaving it.";
        let lines = wrap(text, 40, "  ");
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(width_of(l) <= 40, "{l}");
            assert!(l.starts_with("  "));
        }
        assert_eq!(
            lines
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            text
        );
    }

    #[test]
    fn commands_wrap_with_continuations_and_keep_quotes_whole() {
        let cmd = r#"curl -sk https://mistral-24b-quantized-private-ai-demo.apps.demo.example.com/v1/completions -H 'Content-Type: application/json' -d '{"model": "mistral-24b-quantized", "prompt": "Hello", "max_tokens": 20}'"#;
        let lines = wrap_command(cmd, 80, "  ");
        assert!(lines.len() > 1);
        for l in &lines[..lines.len() - 1] {
            assert!(l.ends_with(" \\"), "{l}");
        }
        // Joining the lines the way a shell does gives the same words back.
        let joined = lines
            .iter()
            .map(|l| l.trim_end_matches('\\').trim())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(shell_words(&joined), shell_words(cmd));
        assert!(
            lines
                .iter()
                .any(|l| l.contains("'Content-Type: application/json'"))
        );
        // Lines fit, except a single word longer than the line.
        for l in &lines {
            let words = shell_words(l.trim().trim_end_matches('\\').trim());
            assert!(width_of(l) <= 80 || words.len() == 1, "{l}");
        }
        assert_eq!(
            wrap_command("democtl deploy stage1", 80, ""),
            ["democtl deploy stage1"]
        );
    }

    #[test]
    fn wide_tables_fit_by_wrapping_headers_then_abbreviating() {
        let columns = s(&[
            "model",
            "concurrency",
            "TTFT p50 ms",
            "TTFT p95 ms",
            "ITL p50 ms",
            "ITL p95 ms",
            "output tok/s",
            "req/s",
        ]);
        let rows = vec![
            s(&[
                "mistral-24b-quantized",
                "1",
                "80.0",
                "160",
                "21.5",
                "30.2",
                "412",
                "1.6",
            ]),
            s(&[
                "mistral-24b",
                "25",
                "640",
                "1280",
                "21.5",
                "30.2",
                "1903",
                "12.1",
            ]),
        ];
        let lines = fit_table(&columns, &rows, 76);
        for l in &lines {
            assert!(width_of(l) <= 76, "{l}");
        }
        // Every row is one line; the headers took two.
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[1].contains("p50 ms"));
        assert!(lines[3].contains("1903"));
        // Wide enough: the table as is.
        let wide = fit_table(&columns, &rows, 160);
        assert_eq!(wide.len(), 3);
        assert!(wide[0].contains("TTFT p50 ms"));
    }

    #[test]
    fn tables_that_cannot_fit_drop_columns_and_say_so() {
        let columns: Vec<String> = (0..10).map(|i| format!("column{i}")).collect();
        let rows = vec![columns.iter().map(|c| c.repeat(2)).collect::<Vec<_>>()];
        let lines = fit_table(&columns, &rows, 40);
        for l in &lines {
            assert!(width_of(l) <= 40, "{l}");
        }
        assert!(
            lines.last().is_some_and(|l| l.contains("hidden")),
            "{lines:#?}"
        );
    }

    #[test]
    fn names_abbreviate_with_an_ellipsis() {
        assert_eq!(
            abbreviate("download-mistral-24b", 30),
            "download-mistral-24b"
        );
        assert_eq!(abbreviate("download-mistral-24b", 10), "download-…");
        assert_eq!(width_of(&abbreviate("download-mistral-24b", 10)), 10);
    }
}
