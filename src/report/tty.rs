//! The terminal reporter, in the style of cargo and nextest: finished steps scroll up as
//! ✓/✗ lines, the live region below holds one spinner per running step with its sub-status,
//! download bars (bytes, rate, ETA, overall) and GPU rows (each phase timestamped). Nothing is
//! cut at the terminal's edge: narration wraps at word boundaries, names are abbreviated on
//! purpose, tables drop or abbreviate columns, commands wrap with `\`. The run ends with the
//! result screen (`screen`): verdict, endpoints and benchmark chart, or the failure with its
//! hint and the command to resume, last. indicatif + console.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use console::Style;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::history::Expectations;
use super::live::{self, Downloads, GpuRows};
use super::screen::{self, Files, Role, RunFacts};
use super::{chart, layout, render};
use crate::runner::event::{Measure, Outcome, ReportError, Reporter, RunEvent, RunEventKind};
use crate::runner::sensitive::redact;

type Key = (String, String);

/// Draws spinners on a terminal (stderr, or any `TermLike` in tests).
pub struct TtyReporter {
    multi: MultiProgress,
    color: bool,
    active: HashMap<Key, Active>,
    facts: RunFacts,
    tick: bool,
    width: Arc<dyn Fn() -> usize + Send + Sync>,
    expected: Expectations,
    files: Files,
    replay: Option<String>,
    /// Steps not run after a failure (one line for all of them).
    not_run: usize,
    /// Where the result lines go when stdout is not this terminal (`deploy > out.txt`).
    results: Option<Box<dyn std::io::Write + Send>>,
}

/// A running step: its spinner and the rows below it.
struct Active {
    bar: ProgressBar,
    title: String,
    downloads: Downloads,
    download_bars: BTreeMap<String, ProgressBar>,
    gpus: GpuRows,
    gpu_bars: BTreeMap<String, ProgressBar>,
    /// The last row added under the spinner (new rows go after it).
    last_row: Option<ProgressBar>,
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
            facts: RunFacts::default(),
            tick,
            width: Arc::new(|| usize::from(console::Term::stderr().size().1)),
            expected: Expectations::default(),
            files: Files::default(),
            results: None,
            replay: None,
            not_run: 0,
        }
    }

    /// Lays out for a fixed width (tests, or a known pane).
    #[must_use]
    pub fn width(mut self, width: usize) -> Self {
        self.width = Arc::new(move || width);
        self
    }

    /// Durations learned from earlier runs ("expected ~N").
    #[must_use]
    pub fn expected(mut self, expected: Expectations) -> Self {
        self.expected = expected;
        self
    }

    /// The run log and report paths, shown on the result screen.
    #[must_use]
    pub fn files(mut self, files: Files) -> Self {
        self.files = files;
        self
    }

    /// Writes the result lines of the closing screen ([`screen::is_result`]) to `results`,
    /// unstyled, instead of the terminal: for a redirected stdout.
    #[must_use]
    pub fn results(mut self, results: Box<dyn std::io::Write + Send>) -> Self {
        self.results = Some(results);
        self
    }

    /// Marks everything drawn as a replay of a recorded run (`note` says which).
    #[must_use]
    pub fn replay(mut self, note: impl Into<String>) -> Self {
        self.replay = Some(note.into());
        self
    }

    fn cols(&self) -> usize {
        (self.width)().max(layout::MIN_WIDTH)
    }

    fn style(&self, style: Style) -> Style {
        style.force_styling(self.color)
    }

    fn print(&self, line: &str) {
        // A terminal that went away is not worth failing the run for; the log has everything.
        let _ = self.multi.println(redact(line));
    }

    fn spinner_style(&self, with_status: bool) -> ProgressStyle {
        let template = match (self.color, with_status) {
            (true, false) => "{spinner:.cyan} {prefix} {elapsed:.dim}",
            (true, true) => "{spinner:.cyan} {prefix} {elapsed:.dim}\n{msg}",
            (false, false) => "{spinner} {prefix} {elapsed}",
            (false, true) => "{spinner} {prefix} {elapsed}\n{msg}",
        };
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
    }

    fn row_style() -> ProgressStyle {
        ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
    }

    /// The sub-status under a spinner: one line when it fits, else one line per `·` part;
    /// every line abbreviated to the width on purpose (indicatif would cut it).
    fn status_lines(&self, status: &str) -> String {
        let width = self.cols();
        let indent = "    ";
        let one = format!("{indent}{status}");
        if console::measure_text_width(&one) <= width {
            return one;
        }
        status
            .split(" · ")
            .map(|part| layout::abbreviate(&format!("{indent}{part}"), width))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn set_status(&mut self, key: &Key, status: &str) {
        let lines = self.status_lines(&redact(status));
        let style = self.spinner_style(!status.is_empty());
        if let Some(active) = self.active.get_mut(key) {
            if !active.download_bars.is_empty() {
                // The download bars show the same numbers, better.
                return;
            }
            active.bar.set_style(style);
            active.bar.set_message(lines);
            if !self.tick {
                active.bar.tick();
            }
        }
    }

    /// A row under the step's spinner (downloads, GPU sets), kept in insertion order.
    fn add_row(multi: &MultiProgress, active: &mut Active) -> ProgressBar {
        let after = active
            .last_row
            .clone()
            .unwrap_or_else(|| active.bar.clone());
        let row = multi.insert_after(&after, ProgressBar::new_spinner());
        row.set_style(Self::row_style());
        active.last_row = Some(row.clone());
        row
    }

    fn measure(&mut self, key: &Key, event: &RunEvent, measure: &Measure) {
        let width = self.cols();
        let tick = self.tick;
        let plain_spinner = self.spinner_style(false);
        let Some(active) = self.active.get_mut(key) else {
            return;
        };
        match measure {
            Measure::Download(p) => {
                active.downloads.update(event.elapsed, p);
                // The bars say what the text status said: only the bars are drawn.
                active.bar.set_style(plain_spinner);
                for (name, text) in live::download_rows(&active.downloads, width, "    ") {
                    let row = match active.download_bars.get(&name) {
                        Some(row) => row.clone(),
                        None => {
                            let row = Self::add_row(&self.multi, active);
                            active.download_bars.insert(name.clone(), row.clone());
                            row
                        }
                    };
                    row.set_message(text);
                    if !tick {
                        row.tick();
                    }
                }
            }
            Measure::GpuNodes(p) => {
                active.gpus.update(&event.at, p);
                let Some(r) = active.gpus.0.get(&p.pool).cloned() else {
                    return;
                };
                let text = live::gpu_lines(&r, width, "    ").join("\n");
                let row = match active.gpu_bars.get(&p.pool) {
                    Some(row) => row.clone(),
                    None => {
                        let row = Self::add_row(&self.multi, active);
                        active.gpu_bars.insert(p.pool.clone(), row.clone());
                        row
                    }
                };
                row.set_message(text);
                if !tick {
                    row.tick();
                }
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

    /// `Wait for model downloads · expected ~4m 10s` (or the stage file's timeout).
    fn spinner_title(
        &self,
        stage: &str,
        step: &str,
        title: &str,
        timeout: Option<Duration>,
    ) -> String {
        let hint = match (self.expected.get(stage, step), timeout) {
            (Some(e), _) => format!(
                " · expected ~{} ({} earlier run{})",
                render::duration(e.median),
                e.runs,
                if e.runs == 1 { "" } else { "s" }
            ),
            (None, Some(t)) if t >= Duration::from_secs(120) => {
                format!(" · times out after {}", render::duration(t))
            }
            _ => String::new(),
        };
        let full = format!("{title}{hint}");
        // Room for the spinner and the elapsed time.
        let room = self.cols().saturating_sub(10);
        if console::measure_text_width(&full) <= room {
            full
        } else {
            layout::abbreviate(title, room)
        }
    }

    /// Clears a step's rows, keeping what they said; `succeeded`: its downloads are complete
    /// (the step waits for the Jobs, whose last progress line may not have been read).
    fn finish_step(&mut self, key: &Key, succeeded: bool) -> Option<String> {
        let active = self.active.remove(key)?;
        for row in active
            .download_bars
            .values()
            .chain(active.gpu_bars.values())
        {
            row.finish_and_clear();
            self.multi.remove(row);
        }
        active.bar.finish_and_clear();
        self.multi.remove(&active.bar);
        // Keep what the rows said (downloads, GPU phases) above the ✓ line.
        let width = self.cols();
        let mut kept = Vec::new();
        for row in active.gpus.0.values() {
            kept.extend(live::gpu_lines(row, width, "    "));
        }
        if !active.downloads.jobs.is_empty() {
            let t = active.downloads.overall();
            if succeeded {
                let p = &t.last;
                kept.push(format!(
                    "    downloads complete · {} · {} files",
                    live::bytes(p.bytes_total),
                    p.files_total
                ));
            } else {
                kept.push(format!(
                    "    downloads {}",
                    live::transfer_text(t, width.saturating_sub(14))
                ));
            }
        }
        for line in kept {
            self.print(&self.style(Style::new().dim()).apply_to(line).to_string());
        }
        Some(active.title)
    }

    fn styled(&self, role: Role, outcome: &Outcome, text: &str) -> String {
        let style = match role {
            Role::Verdict => match outcome {
                Outcome::Succeeded => Style::new().green().bold(),
                Outcome::Degraded { .. } | Outcome::Skipped { .. } => Style::new().yellow().bold(),
                _ => Style::new().red().bold(),
            },
            Role::Heading => Style::new().bold(),
            Role::Normal => Style::new(),
            Role::Error => Style::new().red().bold(),
            Role::Detail => Style::new().dim(),
            Role::Hint => Style::new().yellow(),
            Role::Next => Style::new().bold(),
        };
        self.style(style).apply_to(text).to_string()
    }

    fn handle(&mut self, event: &RunEvent) {
        self.facts.observe(event);
        let width = self.cols();
        match &event.kind {
            RunEventKind::RunStarted(header) => {
                if let Some(note) = &self.replay {
                    let line = format!("▶ REPLAY — {note}");
                    self.print(
                        &self
                            .style(Style::new().magenta().bold())
                            .apply_to(layout::abbreviate(&line, width))
                            .to_string(),
                    );
                }
                let lines = render::banner(header);
                for (i, line) in lines.iter().enumerate() {
                    let style = if i == 0 {
                        Style::new().bold()
                    } else {
                        Style::new().dim()
                    };
                    let options = textwrap::Options::new(width)
                        .subsequent_indent("  ")
                        .break_words(false);
                    for l in textwrap::wrap(line, options) {
                        self.print(&self.style(style.clone()).apply_to(l).to_string());
                    }
                }
            }
            RunEventKind::StageStarted {
                stage,
                title,
                steps,
            } => {
                let planned = steps.iter().filter(|s| s.disposition == "run").count();
                let header = format!(
                    "▸ {stage} · {title} ({} steps{})",
                    steps.len(),
                    if planned < steps.len() {
                        format!(", {} to run", planned)
                    } else {
                        String::new()
                    }
                );
                self.print("");
                self.print(
                    &self
                        .style(Style::new().bold())
                        .apply_to(layout::abbreviate(&header, width))
                        .to_string(),
                );
            }
            RunEventKind::StepStarted {
                stage,
                step,
                title,
                narration,
                timeout,
            } => {
                if let Some(narration) = narration {
                    // Normal weight, wrapped at word boundaries: the line the presenter reads.
                    for line in layout::wrap(&format!("“{narration}”"), width, "  ") {
                        self.print(&self.style(Style::new().cyan()).apply_to(line).to_string());
                    }
                }
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(self.spinner_style(false));
                bar.set_prefix(
                    redact(&self.spinner_title(stage, step, title, *timeout)).into_owned(),
                );
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
                        downloads: Downloads::default(),
                        download_bars: BTreeMap::new(),
                        gpus: GpuRows::default(),
                        gpu_bars: BTreeMap::new(),
                        last_row: None,
                    },
                );
            }
            RunEventKind::StepProgressed {
                stage,
                step,
                message,
            } => self.set_status(&(stage.clone(), step.clone()), message),
            RunEventKind::StepMeasured {
                stage,
                step,
                measure,
            } => self.measure(&(stage.clone(), step.clone()), event, measure),
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
                self.set_status(&(stage.clone(), step.clone()), &status);
            }
            RunEventKind::ObjectApplied {
                stage,
                step,
                object,
            } => {
                let status = format!("{}/{} {}", object.kind, object.name, object.result);
                self.set_status(&(stage.clone(), step.clone()), &status);
            }
            RunEventKind::ValueDerived { .. } | RunEventKind::BenchmarksMeasured { .. } => {}
            RunEventKind::OutputProduced { output, .. } => {
                self.print(&format!(
                    "  {}",
                    self.style(Style::new().bold()).apply_to(&output.title)
                ));
                for line in layout::fit_table(&output.columns, &output.rows, width - 4) {
                    self.print(&format!("    {line}"));
                }
            }
            RunEventKind::EndpointsFound {
                title, endpoints, ..
            } => {
                self.print(&format!(
                    "  {}",
                    self.style(Style::new().bold()).apply_to(title)
                ));
                for line in screen::endpoint_details(endpoints, width, "    ") {
                    self.print(&line);
                }
            }
            RunEventKind::Warned { message, .. } => {
                for (i, line) in layout::wrap(&format!("warning: {message}"), width, "  ")
                    .into_iter()
                    .enumerate()
                {
                    let line = if i == 0 {
                        line.replacen(
                            "warning:",
                            &self
                                .style(Style::new().yellow())
                                .apply_to("warning:")
                                .to_string(),
                            1,
                        )
                    } else {
                        format!("  {line}")
                    };
                    self.print(&line);
                }
            }
            RunEventKind::StepFinished {
                stage,
                step,
                outcome,
                duration,
            } => {
                let key = (stage.clone(), step.clone());
                if let Outcome::Skipped { reason } = outcome
                    && screen::skipped_by_abort(reason)
                {
                    // After a failure: counted, said once at the end of the stage.
                    self.not_run += 1;
                    return;
                }
                let title = self
                    .finish_step(&key, matches!(outcome, Outcome::Succeeded))
                    .unwrap_or_else(|| self.facts.title(stage, step));
                let mut text = render::step_result(&title, outcome, *duration);
                if let Some(e) = self.expected.get(stage, step)
                    && e.median >= Duration::from_secs(1)
                {
                    // What the spinner promised, beside what it took.
                    text.push_str(&format!(" · expected ~{}", render::duration(e.median)));
                }
                let text = layout::abbreviate(&text, width.saturating_sub(2));
                let text = if matches!(outcome, Outcome::Skipped { .. }) {
                    self.style(Style::new().dim()).apply_to(text).to_string()
                } else {
                    text
                };
                self.print(&format!("{} {text}", self.symbol(outcome)));
                if let Some((error, _)) = render::failure(outcome) {
                    for line in screen::error_block(error, width) {
                        self.print(&self.styled(line.role, outcome, &line.text));
                    }
                }
            }
            RunEventKind::StageFinished { stage, .. } => {
                if self.not_run > 0 {
                    let line = format!(
                        "○ {} step{} of {stage} not run",
                        self.not_run,
                        if self.not_run == 1 { "" } else { "s" }
                    );
                    self.print(&self.style(Style::new().dim()).apply_to(line).to_string());
                    self.not_run = 0;
                }
            }
            RunEventKind::RunInterrupted { .. } => {
                let keys: Vec<Key> = self.active.keys().cloned().collect();
                for key in keys {
                    self.finish_step(&key, false);
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
                let chart = chart::terminal(&self.facts.benchmarks, width, self.color);
                let mut lines =
                    screen::result_lines(&self.facts, summary, width, &self.files, &chart);
                if self.replay.is_some() {
                    lines.push(screen::Line {
                        role: Role::Detail,
                        text: "▶ end of replay (recorded run, not a live cluster)".into(),
                    });
                }
                let run_failed = super::plain::is_failure(&summary.outcome);
                for line in lines {
                    if let Some(results) = &mut self.results
                        && screen::is_result(line.role, run_failed)
                    {
                        // A closed or full stdout is not worth failing the run for.
                        let _ = writeln!(results, "{}", redact(&line.text));
                        continue;
                    }
                    let text = self.styled(line.role, &summary.outcome, &line.text);
                    self.print(&text);
                }
                if let Some(results) = &mut self.results {
                    let _ = results.flush();
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
        let keys: Vec<Key> = self.active.keys().cloned().collect();
        for key in keys {
            if let Some(active) = self.active.remove(&key) {
                for row in active
                    .download_bars
                    .values()
                    .chain(active.gpu_bars.values())
                {
                    row.finish_and_clear();
                }
                active.bar.finish_and_clear();
            }
        }
        self.multi.clear().map_err(|source| ReportError {
            reporter: "terminal",
            source,
        })
    }
}
