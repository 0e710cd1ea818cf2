//! The result screen every human reporter ends with: on success the verdict line
//! (`✓ stage3 deployed in 36.1s — 44 steps, 41 ok, 3 skipped`) and the endpoints; on failure
//! the verdict, the failed step's error with its cause chain, hint and evidence, and the
//! command to run next — always the last lines. What a run found (endpoints, benchmark
//! numbers, step titles) is collected from the events by [`RunFacts`]. Pure.

use std::collections::HashMap;

use super::layout;
use super::render;
use crate::runner::event::{
    BenchmarkPoint, Endpoint, Outcome, RunEvent, RunEventKind, RunHeader, RunSummary,
};

/// What a run produced that the result screen shows, gathered from its events.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    pub header: Option<RunHeader>,
    titles: HashMap<(String, String), String>,
    /// Endpoints in the order found, with their stage; a later find of a label replaces it.
    pub endpoints: Vec<(String, Endpoint)>,
    /// Benchmark results of the run (the latest per model and load).
    pub benchmarks: Vec<BenchmarkPoint>,
    /// Stages in the order they started.
    pub stages: Vec<String>,
}

impl RunFacts {
    pub fn observe(&mut self, event: &RunEvent) {
        match &event.kind {
            RunEventKind::RunStarted(header) => self.header = Some(header.clone()),
            RunEventKind::StageStarted { stage, steps, .. } => {
                self.stages.push(stage.clone());
                for s in steps {
                    self.titles
                        .insert((stage.clone(), s.id.clone()), s.title.clone());
                }
            }
            RunEventKind::EndpointsFound {
                stage, endpoints, ..
            } => {
                for e in endpoints {
                    self.endpoints.retain(|(_, old)| old.label != e.label);
                    self.endpoints.push((stage.clone(), e.clone()));
                }
            }
            RunEventKind::BenchmarksMeasured { results, .. } => {
                for r in results {
                    self.benchmarks
                        .retain(|old| !(old.model == r.model && old.load == r.load));
                    self.benchmarks.push(r.clone());
                }
            }
            _ => {}
        }
    }

    /// The title of a step, else its id.
    pub fn title(&self, stage: &str, step: &str) -> String {
        self.titles
            .get(&(stage.to_owned(), step.to_owned()))
            .cloned()
            .unwrap_or_else(|| step.to_owned())
    }

    /// What the run was about: `stage3` for a deploy (its last stage), else the command.
    pub fn subject(&self, summary: &RunSummary) -> String {
        let command = self.header.as_ref().map(|h| h.command.as_str());
        match command {
            Some("deploy") | None => summary
                .steps
                .last()
                .map(|s| s.stage.clone())
                .or_else(|| self.stages.last().cloned())
                .unwrap_or_else(|| "run".to_owned()),
            Some(other) => other.to_owned(),
        }
    }
}

/// How a line of the result screen is meant to look; reporters map roles to styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The verdict line, coloured by the outcome.
    Verdict,
    Heading,
    Normal,
    /// The error message.
    Error,
    /// Cause chain, evidence, file paths.
    Detail,
    Hint,
    /// The command to run next (and its label).
    Next,
}

/// One line of the result screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub role: Role,
    pub text: String,
}

/// Whether a line of the closing screen is the run's result (stdout, where the command's
/// output is kept apart from progress): the verdict, endpoints, chart and file paths of a run
/// that did not fail. A failed run's screen, hints and what to run next are diagnostics
/// (stderr), as kubectl keeps errors on stderr.
pub fn is_result(role: Role, run_failed: bool) -> bool {
    !run_failed
        && matches!(
            role,
            Role::Verdict | Role::Heading | Role::Normal | Role::Detail
        )
}

impl Line {
    /// A line with its role.
    pub fn new(role: Role, text: impl Into<String>) -> Line {
        Line {
            role,
            text: text.into(),
        }
    }
}

/// Step counts of a run, for the verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub ok: usize,
    pub degraded: usize,
    pub failed: usize,
    /// Stopped by Ctrl-C (or a signal) while running.
    pub interrupted: usize,
    /// Skipped by plan (switch off, `--from`, done earlier).
    pub skipped: usize,
    /// Not run because an earlier step failed or the run was interrupted.
    pub not_run: usize,
}

/// The skip reasons the runner gives to steps after a failure or an interruption.
pub fn skipped_by_abort(reason: &str) -> bool {
    reason == "an earlier step failed" || reason == "interrupted"
}

pub fn counts(summary: &RunSummary) -> Counts {
    let mut c = Counts {
        total: summary.steps.len(),
        ..Counts::default()
    };
    for s in &summary.steps {
        match &s.outcome {
            Outcome::Succeeded => c.ok += 1,
            Outcome::Degraded { .. } => c.degraded += 1,
            Outcome::Skipped { reason } if skipped_by_abort(reason) => c.not_run += 1,
            Outcome::Skipped { .. } => c.skipped += 1,
            Outcome::Failed { .. } | Outcome::TimedOut { .. } => c.failed += 1,
            Outcome::Cancelled => c.interrupted += 1,
        }
    }
    c
}

fn count_words(c: Counts) -> String {
    let mut parts = vec![format!(
        "{} step{}",
        c.total,
        if c.total == 1 { "" } else { "s" }
    )];
    for (n, word) in [
        (c.ok, "ok"),
        (c.degraded, "degraded"),
        (c.failed, "failed"),
        (c.interrupted, "interrupted"),
        (c.skipped, "skipped"),
        (c.not_run, "not run"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    // `44 steps, 41 ok, 3 skipped`
    let mut text = parts.remove(0);
    if !parts.is_empty() {
        text.push_str(", ");
        text.push_str(&parts.join(", "));
    }
    text
}

/// The one line that says how the run went.
pub fn verdict(facts: &RunFacts, summary: &RunSummary) -> String {
    let subject = facts.subject(summary);
    let took = render::duration(summary.duration);
    let counts = count_words(counts(summary));
    let deploy = facts.header.as_ref().is_none_or(|h| h.command == "deploy");
    let dry_run = facts
        .header
        .as_ref()
        .is_some_and(|h| h.command_line.iter().any(|a| a == "--dry-run"));
    let done = match (deploy, dry_run) {
        (_, true) => "planned (dry run: nothing changed)",
        (true, false) => "deployed",
        (false, false) => "done",
    };
    let failed_at = || {
        summary
            .steps
            .iter()
            .find(|s| render::failure(&s.outcome).is_some() || s.outcome == Outcome::Cancelled)
            .map(|s| format!(" at step `{}`", s.step))
            .unwrap_or_default()
    };
    let symbol = render::outcome_symbol(&summary.outcome);
    match &summary.outcome {
        Outcome::Succeeded => format!("{symbol} {subject} {done} in {took} — {counts}"),
        Outcome::Degraded { .. } => {
            format!("{symbol} {subject} {done} with problems in {took} — {counts}")
        }
        Outcome::Failed { .. } => {
            format!(
                "{symbol} {subject} failed after {took}{} — {counts}",
                failed_at()
            )
        }
        Outcome::TimedOut { .. } => {
            format!(
                "{symbol} {subject} timed out after {took}{} — {counts}",
                failed_at()
            )
        }
        Outcome::Cancelled => {
            format!(
                "{symbol} {subject} interrupted after {took}{} — {counts}",
                failed_at()
            )
        }
        Outcome::Skipped { reason } => format!("{symbol} {subject}: nothing ran ({reason})"),
    }
}

/// Where the run's files are, for the last lines.
#[derive(Debug, Clone, Default)]
pub struct Files {
    pub log: Option<String>,
    pub report: Option<String>,
}

/// The endpoints as `label  url` lines, labels aligned. A URL that does not fit beside its
/// label goes on its own line; one longer than the whole width stays on its label's line, so
/// that the terminal soft-wraps it in one piece (still one URL to click or copy, never cut, and
/// two rows instead of three on an 80-column projector).
pub fn endpoint_lines(endpoints: &[Endpoint], width: usize, indent: &str) -> Vec<String> {
    let width = width.max(layout::MIN_WIDTH);
    let label_width = endpoints
        .iter()
        .map(|e| console::measure_text_width(&e.label))
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for e in endpoints {
        let url = e.url.as_deref().unwrap_or("not available");
        let pad = label_width - console::measure_text_width(&e.label);
        let aligned = format!("{indent}{}{}  {url}", e.label, " ".repeat(pad));
        let below = format!("{indent}  {url}");
        if console::measure_text_width(&aligned) <= width {
            lines.push(aligned);
        } else if console::measure_text_width(&below) <= width {
            lines.push(format!("{indent}{}", e.label));
            lines.push(below);
        } else {
            lines.push(format!("{indent}{}  {url}", e.label));
        }
    }
    lines
}

/// The endpoints for the closing screen: one line per URL, the labels of endpoints that share
/// a URL (the quantized model is also Llama Stack's) joined, so the list fits a small screen.
pub fn distinct_endpoints(endpoints: &[Endpoint]) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    for e in endpoints {
        match out.iter_mut().find(|o| o.url.is_some() && o.url == e.url) {
            Some(same) => {
                same.label = format!("{} · {}", same.label, e.label);
            }
            None => out.push(e.clone()),
        }
    }
    out
}

/// The endpoints with their sample commands, wrapped for copy-paste (shown when the summary
/// step runs).
pub fn endpoint_details(endpoints: &[Endpoint], width: usize, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for e in endpoints {
        lines.extend(endpoint_lines(std::slice::from_ref(e), width, indent));
        if let Some(example) = e.example.as_deref().filter(|x| !x.is_empty()) {
            // `$ ` on the first line only: the lines below paste with it as one command.
            lines.extend(layout::wrap_command_with(
                example,
                width,
                &format!("{indent}  $ "),
                &format!("{indent}      "),
            ));
        }
    }
    lines
}

/// The error block of a failure as the step's ✗ line shows it: message, causes, hint, evidence.
pub fn error_block(error: &crate::runner::event::ErrorReport, width: usize) -> Vec<Line> {
    let mut lines = message_lines(error, width);
    lines.extend(evidence_lines(error, width));
    lines
}

/// The message, its causes and the hint, wrapped to `width`.
pub fn message_lines(error: &crate::runner::event::ErrorReport, width: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut push_wrapped = |role: Role, text: &str, first: &str, rest: &str| {
        let wrapped = layout::wrap(text, width.saturating_sub(rest.len()), "");
        for (i, w) in wrapped.into_iter().enumerate() {
            let prefix = if i == 0 { first } else { rest };
            lines.push(Line::new(role, format!("{prefix}{w}")));
        }
    };
    push_wrapped(
        Role::Error,
        &format!("error: {}", error.message),
        "  ",
        "    ",
    );
    for cause in &error.chain {
        push_wrapped(
            Role::Detail,
            &format!("caused by: {cause}"),
            "    ",
            "      ",
        );
    }
    if let Some(hint) = &error.hint {
        push_wrapped(Role::Hint, &format!("hint: {hint}"), "    ", "          ");
    }
    lines
}

/// A download Job's machine-readable progress line (`{"democtl":"progress",…}`), which the
/// bars already showed: evidence for a program, not for the room.
fn is_progress_record(line: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("log:").unwrap_or(line).trim_start();
    line.starts_with('{') && line.contains("\"democtl\"")
}

/// The evidence, quoted as is (log lines: abbreviated, never wrapped mid-word); progress
/// records are counted, not quoted.
pub fn evidence_lines(error: &crate::runner::event::ErrorReport, width: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut records = 0;
    for e in &error.evidence {
        for l in e.lines() {
            if is_progress_record(l) {
                records += 1;
                continue;
            }
            lines.push(Line::new(
                Role::Detail,
                format!(
                    "      {}",
                    layout::abbreviate(l, width.max(layout::MIN_WIDTH) - 6)
                ),
            ));
        }
    }
    if records > 0 {
        lines.insert(
            0,
            Line::new(
                Role::Detail,
                format!(
                    "      ({records} progress line{} of the log left out)",
                    if records == 1 { "" } else { "s" }
                ),
            ),
        );
    }
    if !lines.is_empty() {
        lines.insert(0, Line::new(Role::Detail, "    evidence:"));
    }
    lines
}

/// The closing lines of a run. `chart` (already laid out) goes above the verdict, so that on
/// a small terminal the last screen still holds the verdict and the endpoints.
pub fn result_lines(
    facts: &RunFacts,
    summary: &RunSummary,
    width: usize,
    files: &Files,
    chart: &[String],
) -> Vec<Line> {
    let mut lines = Vec::new();
    let failed = summary
        .steps
        .iter()
        .find_map(|s| render::failure(&s.outcome).map(|(e, _)| (s, e)));
    if failed.is_none() && !chart.is_empty() {
        lines.extend(chart.iter().map(|l| Line::new(Role::Normal, l.clone())));
        lines.push(Line::new(Role::Normal, ""));
    }
    // Wrapped at a word, the rest indented (a long count list at 80 columns).
    for (i, line) in layout::wrap(&verdict(facts, summary), width.saturating_sub(2), "")
        .into_iter()
        .enumerate()
    {
        let text = if i == 0 { line } else { format!("  {line}") };
        lines.push(Line::new(Role::Verdict, text));
    }
    if let Outcome::Degraded { reason } = &summary.outcome {
        lines.push(Line::new(Role::Hint, format!("  degraded: {reason}")));
    }
    let file_lines: Vec<Line> = [("run log", &files.log), ("report ", &files.report)]
        .into_iter()
        .filter_map(|(label, path)| {
            path.as_ref()
                .map(|path| Line::new(Role::Detail, format!("  {label}  {path}")))
        })
        .collect();
    if let Some((step, error)) = failed {
        // Evidence and files first: the error, its hint and the command to resume are the
        // last lines on screen, however long the evidence.
        lines.extend(evidence_lines(error, width));
        lines.extend(file_lines);
        lines.push(Line::new(
            Role::Heading,
            format!(
                "  {} / {}: {}",
                step.stage,
                step.step,
                facts.title(&step.stage, &step.step)
            ),
        ));
        lines.extend(message_lines(error, width));
    } else {
        let endpoints: Vec<Endpoint> = facts.endpoints.iter().map(|(_, e)| e.clone()).collect();
        lines.extend(
            endpoint_lines(&distinct_endpoints(&endpoints), width, "  ")
                .into_iter()
                .map(|l| Line::new(Role::Normal, l)),
        );
        lines.extend(file_lines);
    }
    // Logs from before `next` existed carry only the failure's resume command.
    let next = summary.next.clone().or_else(|| {
        render::failure(&summary.outcome).and_then(|(_, resume)| resume.map(str::to_owned))
    });
    if let Some(next) = &next {
        let one = format!("to resume: {next}");
        if console::measure_text_width(&one) <= width.max(layout::MIN_WIDTH) {
            lines.push(Line::new(Role::Next, one));
        } else {
            // Wrapped with `\` so that it still pastes as one command.
            lines.push(Line::new(Role::Next, "to resume, run:"));
            lines.extend(
                layout::wrap_command(next, width, "  ")
                    .into_iter()
                    .map(|l| Line::new(Role::Next, l)),
            );
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runner::event::{ErrorReport, StepSummary};

    fn step(stage: &str, id: &str, outcome: Outcome) -> StepSummary {
        StepSummary {
            stage: stage.into(),
            step: id.into(),
            title: id.into(),
            outcome,
            duration: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_verdict_says_what_happened_in_one_line() {
        let mut steps = vec![step("stage1", "a", Outcome::Succeeded)];
        steps.push(step(
            "stage3",
            "b",
            Outcome::Skipped {
                reason: "--no-eval".into(),
            },
        ));
        steps.push(step("stage3", "c", Outcome::Succeeded));
        let summary = RunSummary {
            outcome: Outcome::Succeeded,
            steps,
            duration: Duration::from_millis(36_100),
            next: None,
        };
        assert_eq!(
            verdict(&RunFacts::default(), &summary),
            "✓ stage3 deployed in 36.1s — 3 steps, 2 ok, 1 skipped"
        );
    }

    #[test]
    fn a_failure_ends_with_the_error_hint_and_resume_command() {
        let error = ErrorReport {
            message: "Job `download-mistral-24b` failed".into(),
            chain: vec!["BackoffLimitExceeded".into()],
            hint: Some("set a valid HF_TOKEN".into()),
            evidence: vec!["log: 401 Unauthorized".into()],
            transient: false,
        };
        let failed = Outcome::Failed {
            error,
            resume_command: Some("democtl deploy stage1 --from wait-models".into()),
        };
        let summary = RunSummary {
            outcome: failed.clone(),
            steps: vec![
                step("stage1", "preflight", Outcome::Succeeded),
                step("stage1", "wait-models", failed),
                step(
                    "stage1",
                    "deploy-models",
                    Outcome::Skipped {
                        reason: "an earlier step failed".into(),
                    },
                ),
            ],
            duration: Duration::from_secs(182),
            next: Some("democtl deploy stage1 --from wait-models".into()),
        };
        let lines = result_lines(&RunFacts::default(), &summary, 80, &Files::default(), &[]);
        let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        // 88 columns: wrapped at a word, the rest indented.
        assert_eq!(
            text[..2],
            [
                "✗ stage1 failed after 3m 02s at step `wait-models` — 3 steps, 1 ok, 1 failed,",
                "  1 not run"
            ]
        );
        // Evidence first; the error, its cause, the hint and the command to resume last.
        assert_eq!(
            text[2..],
            [
                "    evidence:",
                "      log: 401 Unauthorized",
                "  stage1 / wait-models: wait-models",
                "  error: Job `download-mistral-24b` failed",
                "    caused by: BackoffLimitExceeded",
                "    hint: set a valid HF_TOKEN",
                "to resume: democtl deploy stage1 --from wait-models",
            ]
        );
        assert!(
            text.iter()
                .any(|l| l.contains("error: Job `download-mistral-24b` failed"))
        );
        assert!(
            text.iter()
                .any(|l| l.contains("hint: set a valid HF_TOKEN"))
        );
        assert_eq!(
            text.last().copied(),
            Some("to resume: democtl deploy stage1 --from wait-models")
        );
        // Too long for one line: wrapped to paste as one command.
        let mut long = summary.clone();
        long.next = Some(format!(
            "democtl --kubeconfig /{} deploy stage1 --from wait-models",
            "k".repeat(70)
        ));
        let lines = result_lines(&RunFacts::default(), &long, 80, &Files::default(), &[]);
        let at = lines
            .iter()
            .position(|l| l.text == "to resume, run:")
            .unwrap_or(0);
        let command = &lines[at + 1..];
        assert!(command.len() > 1);
        for l in &command[..command.len() - 1] {
            assert!(l.text.ends_with(" \\"), "{l:?}");
        }
        assert_eq!(
            command.last().map(|l| l.text.as_str()),
            Some("      deploy stage1 --from wait-models")
        );
    }

    #[test]
    fn long_urls_move_below_their_label_instead_of_being_cut() {
        let endpoints = vec![
            Endpoint {
                label: "Mistral 24B quantized".into(),
                url: Some(format!("https://{}.apps.example.com", "m".repeat(60))),
                example: None,
            },
            Endpoint {
                label: "Dashboard".into(),
                url: Some("https://dash".into()),
                example: None,
            },
        ];
        let lines = endpoint_lines(&endpoints, 80, "  ");
        // Longer than the whole line: kept beside its label, for the terminal to wrap whole.
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("  Mistral 24B quantized  https://mmm"));
        assert!(lines[0].ends_with(".apps.example.com"));
        assert_eq!(lines[1], "  Dashboard              https://dash");
        // Fits alone on a line: below its label.
        let lines = endpoint_lines(&endpoints, 90, "  ");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "  Mistral 24B quantized");
        assert!(lines[1].starts_with("    https://mmm"));
    }

    #[test]
    fn endpoints_sharing_a_url_are_listed_once() {
        let e = |label: &str, url: &str| Endpoint {
            label: label.into(),
            url: Some(url.into()),
            example: None,
        };
        let shown = distinct_endpoints(&[
            e("Mistral 24B quantized", "https://q"),
            e("Dashboard", "https://d"),
            e("Model used by Llama Stack", "https://q"),
        ]);
        assert_eq!(shown.len(), 2);
        assert_eq!(
            shown[0].label,
            "Mistral 24B quantized · Model used by Llama Stack"
        );
    }

    #[test]
    fn progress_records_are_counted_not_quoted_as_evidence() {
        let error = crate::runner::event::ErrorReport {
            message: "failed".into(),
            evidence: vec![
                r#"log: {"democtl":"progress","file":"a","bytes_done":1}"#.into(),
                r#"log: {"democtl":"progress","file":"a","bytes_done":2}"#.into(),
                "log: 401 Unauthorized".into(),
            ],
            ..Default::default()
        };
        let text: Vec<String> = evidence_lines(&error, 80)
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(
            text,
            [
                "    evidence:",
                "      (2 progress lines of the log left out)",
                "      log: 401 Unauthorized"
            ]
        );
    }
}
