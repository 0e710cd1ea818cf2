//! The terminal reporter: a banner, one spinner per running step with its title, elapsed time
//! and live sub-status, ✓/✗ lines with durations, errors with their cause chain, hint and
//! evidence, skipped steps, the resume command and a summary table. indicatif + console.

use std::collections::HashMap;
use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::render;
use crate::runner::event::{Outcome, ReportError, Reporter, RunEvent, RunEventKind};
use crate::runner::sensitive::redact;

/// Draws spinners on a terminal (stderr, or any `TermLike` in tests).
pub struct TtyReporter {
    multi: MultiProgress,
    color: bool,
    active: HashMap<(String, String), Active>,
    titles: HashMap<(String, String), String>,
    tick: bool,
}

struct Active {
    bar: ProgressBar,
    title: String,
}

impl TtyReporter {
    /// Draws on stderr.
    pub fn stderr(color: bool) -> Self {
        Self::with_target(ProgressDrawTarget::stderr(), color, true)
    }

    /// Draws on `target`; `tick` animates spinners on their own (off in tests).
    pub fn with_target(target: ProgressDrawTarget, color: bool, tick: bool) -> Self {
        Self::with_multi(MultiProgress::with_draw_target(target), color, tick)
    }

    /// Draws through `multi`, which the caller may also use to pause the spinners (a prompt).
    pub fn with_multi(multi: MultiProgress, color: bool, tick: bool) -> Self {
        TtyReporter {
            multi,
            color,
            active: HashMap::new(),
            titles: HashMap::new(),
            tick,
        }
    }

    fn style(&self, style: Style) -> Style {
        style.force_styling(self.color)
    }

    fn print(&self, line: &str) {
        // A terminal that went away is not worth failing the run for; the log has everything.
        let _ = self.multi.println(redact(line));
    }

    fn spinner_style(&self) -> ProgressStyle {
        let template = if self.color {
            "{spinner:.cyan} {wide_msg} {elapsed:.dim}"
        } else {
            "{spinner} {wide_msg} {elapsed}"
        };
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
    }

    fn set_status(&self, stage: &str, step: &str, status: &str) {
        if let Some(active) = self.active.get(&(stage.to_owned(), step.to_owned())) {
            active
                .bar
                .set_message(redact(&format!("{} — {status}", active.title)).into_owned());
            if !self.tick {
                active.bar.tick();
            }
        }
    }

    fn symbol(&self, outcome: &Outcome) -> String {
        let symbol = render::outcome_symbol(outcome);
        let style = match outcome {
            Outcome::Succeeded => Style::new().green(),
            Outcome::Degraded { .. } => Style::new().yellow(),
            Outcome::Skipped { .. } => Style::new().dim(),
            _ => Style::new().red(),
        };
        self.style(style).apply_to(symbol).to_string()
    }

    fn handle(&mut self, event: &RunEvent) {
        match &event.kind {
            RunEventKind::RunStarted(header) => {
                let lines = render::banner(header);
                for (i, line) in lines.iter().enumerate() {
                    let style = if i == 0 {
                        Style::new().bold()
                    } else {
                        Style::new().dim()
                    };
                    self.print(&self.style(style).apply_to(line).to_string());
                }
            }
            RunEventKind::StageStarted {
                stage,
                title,
                steps,
            } => {
                for s in steps {
                    self.titles
                        .insert((stage.clone(), s.id.clone()), s.title.clone());
                }
                let header = format!("▸ {stage} · {title} ({} steps)", steps.len());
                self.print("");
                self.print(&self.style(Style::new().bold()).apply_to(header).to_string());
            }
            RunEventKind::StepStarted {
                stage,
                step,
                title,
                narration,
                ..
            } => {
                if let Some(narration) = narration {
                    self.print(
                        &self
                            .style(Style::new().dim().italic())
                            .apply_to(format!("  “{narration}”"))
                            .to_string(),
                    );
                }
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(self.spinner_style());
                bar.set_message(redact(title).into_owned());
                if self.tick {
                    bar.enable_steady_tick(Duration::from_millis(120));
                } else {
                    bar.tick();
                }
                self.active.insert(
                    (stage.clone(), step.clone()),
                    Active {
                        bar,
                        title: title.clone(),
                    },
                );
            }
            RunEventKind::StepProgressed {
                stage,
                step,
                message,
            } => self.set_status(stage, step, message),
            RunEventKind::StepRetrying {
                stage,
                step,
                attempt,
                max_attempts,
                delay,
                error,
            } => {
                let status = format!(
                    "retry {attempt}/{max_attempts} in {}: {}",
                    render::duration(*delay),
                    error.message
                );
                self.set_status(stage, step, &status);
            }
            RunEventKind::ObjectApplied {
                stage,
                step,
                object,
            } => {
                let status = format!("{}/{} {}", object.kind, object.name, object.result);
                self.set_status(stage, step, &status);
            }
            RunEventKind::ValueDerived { .. } => {}
            RunEventKind::OutputProduced { output, .. } => {
                self.print(&format!(
                    "  {}",
                    self.style(Style::new().bold()).apply_to(&output.title)
                ));
                for line in render::table(&output.columns, &output.rows) {
                    self.print(&format!("    {line}"));
                }
            }
            RunEventKind::Warned { message, .. } => {
                self.print(&format!(
                    "  {} {message}",
                    self.style(Style::new().yellow()).apply_to("warning:")
                ));
            }
            RunEventKind::StepFinished {
                stage,
                step,
                outcome,
                duration,
            } => {
                let key = (stage.clone(), step.clone());
                let title = match self.active.remove(&key) {
                    Some(active) => {
                        active.bar.finish_and_clear();
                        self.multi.remove(&active.bar);
                        active.title
                    }
                    None => self
                        .titles
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| step.clone()),
                };
                let text = render::step_result(&title, outcome, *duration);
                let text = if matches!(outcome, Outcome::Skipped { .. }) {
                    self.style(Style::new().dim()).apply_to(text).to_string()
                } else {
                    text
                };
                self.print(&format!("{} {text}", self.symbol(outcome)));
                if let Some((error, _)) = render::failure(outcome) {
                    for (i, line) in render::error_lines(error, "    ").iter().enumerate() {
                        let line = if i == 0 {
                            format!("  {}", self.style(Style::new().red().bold()).apply_to(line))
                        } else {
                            format!("  {line}")
                        };
                        self.print(&line);
                    }
                }
            }
            RunEventKind::StageFinished { .. } => {}
            RunEventKind::RunInterrupted { .. } => {
                for (_, active) in self.active.drain() {
                    active.bar.finish_and_clear();
                }
                self.print(
                    &self
                        .style(Style::new().yellow())
                        .apply_to("interrupted")
                        .to_string(),
                );
            }
            RunEventKind::RunFinished(summary) => {
                self.print("");
                let lines = render::summary(summary);
                let count = lines.len();
                for (i, line) in lines.into_iter().enumerate() {
                    let closing = i + 1 == count || line.starts_with("to resume:");
                    let line = if i == 0 && count > 1 {
                        self.style(Style::new().bold()).apply_to(line).to_string()
                    } else if closing {
                        let style = match &summary.outcome {
                            Outcome::Succeeded => Style::new().green().bold(),
                            Outcome::Degraded { .. } => Style::new().yellow().bold(),
                            _ => Style::new().red().bold(),
                        };
                        self.style(style).apply_to(line).to_string()
                    } else {
                        line
                    };
                    self.print(&line);
                }
            }
        }
    }
}

impl Reporter for TtyReporter {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        self.handle(event);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        for (_, active) in self.active.drain() {
            active.bar.finish_and_clear();
        }
        self.multi.clear().map_err(|source| ReportError {
            reporter: "terminal",
            source,
        })
    }
}
