//! Words and shapes shared by every human reporter (TTY, plain, replay, top-level errors):
//! durations, error blocks with their cause chain, hints and evidence, and aligned tables.
//! Pure string functions, so all reporters say the same thing.

use std::time::Duration;

use crate::runner::event::{ErrorReport, Outcome, RunHeader, RunSummary};

/// `350ms`, `4.2s`, `1m 05s`, `1h 02m`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        let s = d.as_secs();
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = d.as_secs() / 60;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

/// The lines of an error: the message, each cause, the hint, then the evidence.
/// `indent` prefixes every line after the first.
pub fn error_lines(error: &ErrorReport, indent: &str) -> Vec<String> {
    let mut lines = vec![format!("error: {}", error.message)];
    for cause in &error.chain {
        lines.push(format!("{indent}caused by: {cause}"));
    }
    if let Some(hint) = &error.hint {
        lines.push(format!("{indent}hint: {hint}"));
    }
    if !error.evidence.is_empty() {
        lines.push(format!("{indent}evidence:"));
        for e in &error.evidence {
            for line in e.lines() {
                lines.push(format!("{indent}  {line}"));
            }
        }
    }
    lines
}

/// One word for an outcome, as in the summary table.
pub fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "ok",
        Outcome::Degraded { .. } => "degraded",
        Outcome::Failed { .. } => "failed",
        Outcome::Skipped { .. } => "skipped",
        Outcome::TimedOut { .. } => "timed out",
        Outcome::Cancelled => "cancelled",
    }
}

/// The symbol of an outcome: ✓ ✗ ○ !
pub fn outcome_symbol(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "✓",
        Outcome::Degraded { .. } => "!",
        Outcome::Failed { .. } | Outcome::TimedOut { .. } | Outcome::Cancelled => "✗",
        Outcome::Skipped { .. } => "○",
    }
}

/// `Wait for model downloads (1m 05s)`, `… skipped: --no-benchmarks`, `… degraded: reason`.
pub fn step_result(title: &str, outcome: &Outcome, took: Duration) -> String {
    match outcome {
        Outcome::Succeeded => format!("{title} ({})", duration(took)),
        Outcome::Degraded { reason } => format!("{title} ({}) degraded: {reason}", duration(took)),
        Outcome::Failed { .. } => format!("{title} failed after {}", duration(took)),
        Outcome::TimedOut { .. } => format!("{title} timed out after {}", duration(took)),
        Outcome::Cancelled => format!("{title} interrupted after {}", duration(took)),
        Outcome::Skipped { reason } => format!("{title} skipped: {reason}"),
    }
}

/// One plain line for a finished step: `ok: Title (1m 05s)`, `skipped: Title (--no-x)`, …
pub fn plain_result(title: &str, outcome: &Outcome, took: Duration) -> String {
    let took = duration(took);
    match outcome {
        Outcome::Succeeded => format!("ok: {title} ({took})"),
        Outcome::Degraded { reason } => format!("degraded: {title} ({took}): {reason}"),
        Outcome::Failed { .. } => format!("failed: {title} after {took}"),
        Outcome::TimedOut { .. } => format!("timed out: {title} after {took}"),
        Outcome::Cancelled => format!("interrupted: {title} after {took}"),
        Outcome::Skipped { reason } => format!("skipped: {title} ({reason})"),
    }
}

/// The error and resume command of a failed outcome.
pub fn failure(outcome: &Outcome) -> Option<(&ErrorReport, Option<&str>)> {
    match outcome {
        Outcome::Failed {
            error,
            resume_command,
        }
        | Outcome::TimedOut {
            error,
            resume_command,
        } => Some((error, resume_command.as_deref())),
        _ => None,
    }
}

/// The banner: who runs what where.
pub fn banner(header: &RunHeader) -> Vec<String> {
    let mut lines = vec![format!(
        "democtl {} · {}",
        header.democtl_version,
        header.command_line.join(" ")
    )];
    let mut target = Vec::new();
    if let Some(server) = &header.cluster_server {
        target.push(format!("cluster {server}"));
    }
    if let Some(context) = &header.context {
        target.push(format!("context {context}"));
    }
    if let Some(user) = &header.user {
        target.push(format!("user {user}"));
    }
    if !target.is_empty() {
        lines.push(target.join(" · "));
    }
    if let Some(sim) = &header.simulated {
        lines.push(format!(
            "cluster: simulated (scenario {}, {}×)",
            sim.scenario, sim.speed
        ));
    }
    lines
}

/// The full step table (stage, step, result, duration), for `-v` and `democtl logs`.
pub fn summary_table(summary: &RunSummary) -> Vec<String> {
    let rows: Vec<Vec<String>> = summary
        .steps
        .iter()
        .map(|s| {
            let took = if matches!(s.outcome, Outcome::Skipped { .. }) {
                String::new()
            } else {
                duration(s.duration)
            };
            vec![
                s.stage.clone(),
                s.step.clone(),
                outcome_word(&s.outcome).to_owned(),
                took,
            ]
        })
        .collect();
    let mut lines = Vec::new();
    if !rows.is_empty() {
        lines = table(
            &[
                "STAGE".into(),
                "STEP".into(),
                "RESULT".into(),
                "TIME".into(),
            ],
            &rows,
        );
    }
    lines
}

/// `deployed in 3m 02s`, `failed after …`.
pub fn closing_line(summary: &RunSummary) -> String {
    let took = duration(summary.duration);
    match &summary.outcome {
        Outcome::Succeeded => format!("done in {took}"),
        Outcome::Degraded { reason } => format!("done in {took}, degraded: {reason}"),
        Outcome::Failed { .. } => format!("failed after {took}"),
        Outcome::TimedOut { .. } => format!("timed out after {took}"),
        Outcome::Cancelled => format!("interrupted after {took}"),
        Outcome::Skipped { reason } => format!("nothing ran: {reason}"),
    }
}

/// A table with a header, columns padded to the widest cell.
pub fn table(columns: &[String], rows: &[Vec<String>]) -> Vec<String> {
    let count = columns
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; count];
    for row in std::iter::once(columns).chain(rows.iter().map(Vec::as_slice)) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(console::measure_text_width(cell));
        }
    }
    let line = |row: &[String]| {
        let cells: Vec<String> = (0..count)
            .map(|i| {
                let cell = row.get(i).map(String::as_str).unwrap_or("");
                let pad = widths[i].saturating_sub(console::measure_text_width(cell));
                format!("{cell}{}", " ".repeat(pad))
            })
            .collect();
        cells.join("  ").trim_end().to_owned()
    };
    let mut out = Vec::with_capacity(rows.len() + 1);
    if !columns.is_empty() {
        out.push(line(columns));
    }
    out.extend(rows.iter().map(|r| line(r)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::from_millis(350)), "350ms");
        assert_eq!(duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(duration(Duration::from_secs(65)), "1m 05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h 02m");
    }

    #[test]
    fn errors_show_chain_hint_and_evidence() {
        let error = ErrorReport {
            message: "job `download-mistral` failed".into(),
            chain: vec!["pod exited with code 1".into()],
            hint: Some("check the token".into()),
            evidence: vec!["log: 401 Unauthorized".into()],
            transient: false,
        };
        assert_eq!(
            error_lines(&error, "  "),
            [
                "error: job `download-mistral` failed",
                "  caused by: pod exited with code 1",
                "  hint: check the token",
                "  evidence:",
                "    log: 401 Unauthorized",
            ]
        );
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["a".into(), "bbb".into()],
            &[vec!["xxxx".into(), "y".into()]],
        );
        assert_eq!(t, ["a     bbb", "xxxx  y"]);
    }
}
