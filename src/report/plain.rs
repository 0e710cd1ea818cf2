//! The plain reporter: one line per event, no ANSI, for pipes, CI, `-v` and `logs <run>`.
//! With `quiet`, only failures and the final result.

use std::collections::HashMap;
use std::io::Write;

use super::screen::{self, Files, Role, RunFacts};
use super::{live, render};
use crate::runner::event::{
    GpuPhase, Measure, Outcome, ReportError, Reporter, RunEvent, RunEventKind, RunSummary,
};
use crate::runner::sensitive::redact;

/// Writes one line per event.
pub struct PlainReporter<W: Write + Send> {
    out: W,
    quiet: bool,
    /// The full step table at the end (`-v`, `democtl logs`).
    verbose: bool,
    titles: HashMap<(String, String), String>,
    facts: RunFacts,
    files: Files,
    /// Last tenth of each download shown (plain output says every 10 %, not every poll).
    download_tenths: HashMap<(String, String, String), u64>,
    gpu_phases: HashMap<(String, String, String), GpuPhase>,
    /// Where the result screen goes (stdout), when not to `out`: see [`screen::is_result`].
    results: Option<Box<dyn Write + Send>>,
}

impl<W: Write + Send> PlainReporter<W> {
    pub fn new(out: W, quiet: bool) -> Self {
        PlainReporter {
            out,
            quiet,
            verbose: false,
            titles: HashMap::new(),
            facts: RunFacts::default(),
            files: Files::default(),
            download_tenths: HashMap::new(),
            gpu_phases: HashMap::new(),
            results: None,
        }
    }

    /// Writes the result lines of the final screen (verdict, endpoints, chart, files) to
    /// `results` — stdout, as kubectl and cargo keep results apart from progress — and the
    /// rest (errors, hints, what to run next) to the progress writer.
    #[must_use]
    pub fn results(mut self, results: Box<dyn Write + Send>) -> Self {
        self.results = Some(results);
        self
    }

    /// Ends with the full step table.
    #[must_use]
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// The run log and report paths, shown at the end.
    #[must_use]
    pub fn files(mut self, files: Files) -> Self {
        self.files = files;
        self
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
        self.facts.observe(event);
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
            RunEventKind::EndpointsFound {
                title, endpoints, ..
            } if !quiet => {
                let mut lines = vec![format!("{at} {title}")];
                lines.extend(screen::endpoint_details(endpoints, PLAIN_WIDTH, "  "));
                lines
            }
            RunEventKind::StepMeasured {
                stage,
                step,
                measure,
            } if !quiet => self.measured(&at, stage, step, measure),
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
            RunEventKind::RunFinished(summary) => self
                .finished_lines(summary)
                .into_iter()
                .map(|l| l.text)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The final screen: with `-v` the step table, then the result lines.
    fn finished_lines(&self, summary: &RunSummary) -> Vec<screen::Line> {
        let quiet = self.quiet;
        let mut lines = Vec::new();
        if self.verbose && !quiet {
            lines.extend(
                render::summary_table(summary)
                    .into_iter()
                    .map(|l| screen::Line::new(Role::Normal, l)),
            );
            lines.push(screen::Line::new(Role::Normal, ""));
        }
        let chart = if quiet {
            Vec::new()
        } else {
            super::chart::terminal(&self.facts.benchmarks, PLAIN_WIDTH, false)
        };
        // Not wrapped: plain output is one line per thing (grep, CI logs).
        lines.extend(
            screen::result_lines(&self.facts, summary, UNWRAPPED, &self.files, &chart)
                .into_iter()
                // Quiet: the error was just printed; the verdict and what to run next.
                .filter(|l| !quiet || matches!(l.role, Role::Verdict | Role::Next)),
        );
        lines
    }
}

/// Plain output has no terminal width; tables and charts are laid out for this one.
pub const PLAIN_WIDTH: usize = 100;
/// A width nothing reaches: lines as they are.
const UNWRAPPED: usize = 100_000;

impl<W: Write + Send> PlainReporter<W> {
    /// A download line every 10 % (and at the end); a GPU line per phase reached.
    fn measured(&mut self, at: &str, stage: &str, step: &str, measure: &Measure) -> Vec<String> {
        match measure {
            Measure::Download(p) => {
                let key = (stage.to_owned(), step.to_owned(), p.job.clone());
                let tenth = if p.done || p.bytes_total == 0 {
                    if p.done { 10 } else { 0 }
                } else {
                    (p.bytes_done.saturating_mul(10) / p.bytes_total).min(10)
                };
                if self.download_tenths.get(&key) == Some(&tenth) {
                    return Vec::new();
                }
                self.download_tenths.insert(key, tenth);
                let mut t = live::Transfer::default();
                t.update(std::time::Duration::ZERO, p);
                vec![format!(
                    "{at} {stage}/{step}: {} {}",
                    p.job,
                    live::transfer_text(&t, PLAIN_WIDTH)
                )]
            }
            Measure::GpuNodes(p) => {
                let key = (stage.to_owned(), step.to_owned(), p.pool.clone());
                if self.gpu_phases.get(&key) == Some(&p.phase) {
                    return Vec::new();
                }
                self.gpu_phases.insert(key, p.phase);
                vec![format!(
                    "{at} {stage}/{step}: {} {} (GPUs {}/{})",
                    p.pool,
                    p.phase.label(),
                    p.gpus_allocatable.min(p.gpus_wanted),
                    p.gpus_wanted
                )]
            }
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
        let failed = |source| ReportError {
            reporter: "plain",
            source,
        };
        if let (RunEventKind::RunFinished(summary), Some(_)) = (&event.kind, &self.results) {
            self.facts.observe(event);
            let lines = self.finished_lines(summary);
            let run_failed = is_failure(&summary.outcome);
            for line in lines {
                let to_results = screen::is_result(line.role, run_failed);
                match (&mut self.results, to_results) {
                    (Some(results), true) => writeln!(results, "{}", redact(&line.text)),
                    _ => writeln!(self.out, "{}", redact(&line.text)),
                }
                .map_err(failed)?;
            }
            self.out.flush().map_err(failed)?;
            if let Some(results) = &mut self.results {
                results.flush().map_err(failed)?;
            }
            return Ok(());
        }
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
