//! The plain reporter: one line per event, no ANSI, for pipes, CI, `-v` and `logs <run>`.
//! With `quiet`, only failures and the final result.

use std::collections::HashMap;
use std::io::Write;

use super::render;
use crate::runner::event::{Outcome, ReportError, Reporter, RunEvent, RunEventKind};
use crate::runner::sensitive::redact;

/// Writes one line per event.
pub struct PlainReporter<W: Write + Send> {
    out: W,
    quiet: bool,
    titles: HashMap<(String, String), String>,
}

impl<W: Write + Send> PlainReporter<W> {
    pub fn new(out: W, quiet: bool) -> Self {
        PlainReporter {
            out,
            quiet,
            titles: HashMap::new(),
        }
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn title(&self, stage: &str, step: &str) -> String {
        self.titles
            .get(&(stage.to_owned(), step.to_owned()))
            .cloned()
            .unwrap_or_else(|| step.to_owned())
    }

    /// The lines for one event.
    fn lines(&mut self, event: &RunEvent) -> Vec<String> {
        let at = clock(event);
        let quiet = self.quiet;
        match &event.kind {
            RunEventKind::RunStarted(header) if !quiet => render::banner(header),
            RunEventKind::StageStarted {
                stage,
                title,
                steps,
            } if !quiet => {
                for s in steps {
                    self.titles
                        .insert((stage.clone(), s.id.clone()), s.title.clone());
                }
                let skipped = steps.iter().filter(|s| s.disposition != "run").count();
                let skipped = if skipped > 0 {
                    format!(", {skipped} skipped")
                } else {
                    String::new()
                };
                vec![format!(
                    "{at} stage {stage}: {title} ({} steps{skipped})",
                    steps.len()
                )]
            }
            RunEventKind::StageStarted { stage, steps, .. } => {
                for s in steps {
                    self.titles
                        .insert((stage.clone(), s.id.clone()), s.title.clone());
                }
                Vec::new()
            }
            RunEventKind::StepStarted {
                stage,
                step,
                title,
                narration,
                ..
            } if !quiet => {
                let mut lines = vec![format!("{at} {stage}/{step}: {title}")];
                if let Some(narration) = narration {
                    lines.push(format!("{at}   \"{narration}\""));
                }
                lines
            }
            RunEventKind::StepProgressed {
                stage,
                step,
                message,
            } if !quiet => {
                vec![format!("{at} {stage}/{step}: {message}")]
            }
            RunEventKind::StepRetrying {
                stage,
                step,
                attempt,
                max_attempts,
                delay,
                error,
            } if !quiet => {
                vec![format!(
                    "{at} {stage}/{step}: retry {attempt}/{max_attempts} in {}: {}",
                    render::duration(*delay),
                    error.message
                )]
            }
            RunEventKind::ObjectApplied {
                stage,
                step,
                object,
            } if !quiet => {
                let ns = object
                    .namespace
                    .as_deref()
                    .map(|n| format!(" in {n}"))
                    .unwrap_or_default();
                vec![format!(
                    "{at} {stage}/{step}: {}/{}{ns} {}",
                    object.kind, object.name, object.result
                )]
            }
            RunEventKind::ValueDerived {
                stage,
                step,
                key,
                value,
            } if !quiet => {
                vec![format!("{at} {stage}/{step}: {key} = {value}")]
            }
            RunEventKind::OutputProduced { output, .. } if !quiet => {
                let mut lines = vec![format!("{at} {}", output.title)];
                lines.extend(
                    render::table(&output.columns, &output.rows)
                        .into_iter()
                        .map(|l| format!("  {l}")),
                );
                lines
            }
            RunEventKind::Warned {
                stage,
                step,
                message,
            } if !quiet => {
                let at_step = step
                    .as_deref()
                    .map(|s| format!("{stage}/{s}: "))
                    .unwrap_or_default();
                vec![format!("{at} warning: {at_step}{message}")]
            }
            RunEventKind::StepFinished {
                stage,
                step,
                outcome,
                duration,
            } => {
                let title = self.title(stage, step);
                let mut lines = Vec::new();
                if !quiet || render::failure(outcome).is_some() {
                    lines.push(format!(
                        "{at} {stage}/{step}: {}",
                        render::plain_result(&title, outcome, *duration)
                    ));
                }
                if let Some((error, _)) = render::failure(outcome) {
                    lines.extend(render::error_lines(error, "  "));
                }
                lines
            }
            RunEventKind::StageFinished {
                stage,
                outcome,
                duration,
            } if !quiet => {
                let word = render::outcome_word(outcome);
                vec![format!(
                    "{at} stage {stage}: {word} ({})",
                    render::duration(*duration)
                )]
            }
            RunEventKind::RunInterrupted { .. } if !quiet => vec![format!("{at} interrupted")],
            RunEventKind::RunFinished(summary) => {
                if quiet {
                    let mut lines = vec![render::closing_line(summary)];
                    if let Some(next) = summary.next_command() {
                        lines.push(format!("to resume: {next}"));
                    }
                    lines
                } else {
                    render::summary(summary)
                }
            }
            _ => Vec::new(),
        }
    }
}

/// `[00:01:05]`: time since the run started.
fn clock(event: &RunEvent) -> String {
    let s = event.elapsed.as_secs();
    format!("[{:02}:{:02}:{:02}]", s / 3600, (s / 60) % 60, s % 60)
}

impl<W: Write + Send> Reporter for PlainReporter<W> {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        let lines = self.lines(event);
        for line in lines {
            writeln!(self.out, "{}", redact(&line)).map_err(|source| ReportError {
                reporter: "plain",
                source,
            })?;
        }
        if matches!(
            event.kind,
            RunEventKind::RunFinished(_) | RunEventKind::StepFinished { .. }
        ) {
            self.out.flush().map_err(|source| ReportError {
                reporter: "plain",
                source,
            })?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        self.out.flush().map_err(|source| ReportError {
            reporter: "plain",
            source,
        })
    }
}

/// Whether an outcome ends the run badly.
pub fn is_failure(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Failed { .. } | Outcome::TimedOut { .. } | Outcome::Cancelled
    )
}
