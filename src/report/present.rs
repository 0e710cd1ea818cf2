//! `--present`: a full-screen view for a projector (ratatui on the alternate screen), drawn
//! from the same runner events as every other reporter — the stage's steps with their states,
//! the current step's progress (download bars, GPU rows), the narration large, a cluster panel
//! (GPU nodes, downloads, InferenceServices) and, at the end, the result. With `--pause stage`
//! or `--pause step` it waits for a key before each stage or step while the presenter talks:
//! the wait happens between steps (a step's duration and deadline never include it), space or
//! Enter goes on, `q` stops the run as Ctrl-C does. The terminal is put back on every way out:
//! the end of the run, an error (drop), a panic (hook) and a second Ctrl-C ([`restore`], called
//! by the signal handler before it exits); the result lines are then printed on the normal
//! screen, so the verdict and endpoints (or error, hint and resume command) stay after it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::{Frame, TerminalOptions, Viewport};
use tokio_util::sync::CancellationToken;

use super::history::Expectations;
use super::live::{self, Downloads, GpuRows};
use super::screen::{self, Files, Role, RunFacts};
use super::{chart, render};
use crate::runner::event::{
    Measure, Outcome, ReportError, Reporter, RunEvent, RunEventKind, RunHeader, RunSummary,
};
use crate::runner::sensitive::redact;

/// Where `--pause` waits for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseAt {
    /// Before each stage that runs anything.
    Stage,
    /// Before each step that runs.
    Step,
}

/// A step as the view shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum StepState {
    /// Planned to run, not started.
    Waiting,
    /// Not run by plan (`--no-benchmarks`, done earlier).
    Planned(String),
    Running,
    Finished(Outcome, Duration),
}

#[derive(Debug, Clone)]
pub struct StepView {
    pub id: String,
    pub title: String,
    pub state: StepState,
}

#[derive(Debug, Clone)]
pub struct StageView {
    pub id: String,
    pub title: String,
    pub steps: Vec<StepView>,
    pub outcome: Option<Outcome>,
}

/// Everything the view shows, from the events. Pure.
#[derive(Debug, Default)]
pub struct PresentState {
    pub header: Option<RunHeader>,
    pub replay: Option<String>,
    pub stages: Vec<StageView>,
    /// The step running now.
    pub current: Option<(String, String)>,
    pub narration: Option<String>,
    pub status: String,
    pub step_started: Duration,
    pub elapsed: Duration,
    pub downloads: Downloads,
    pub gpus: GpuRows,
    /// The running step measured GPU MachineSets (its progress shows their rows).
    pub step_measured_gpus: bool,
    /// InferenceService name → what happened to it.
    pub isvcs: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub facts: RunFacts,
    pub summary: Option<RunSummary>,
    pub interrupted: bool,
    /// What the run waits for a key before (`stage2 · Private Data RAG`).
    pub paused: Option<String>,
    /// Narrations known before their step starts (the plan's, or a replayed log's).
    pub narrations: HashMap<(String, String), String>,
    pub expected: Expectations,
}

impl PresentState {
    pub fn observe(&mut self, event: &RunEvent) {
        self.facts.observe(event);
        self.elapsed = event.elapsed;
        match &event.kind {
            RunEventKind::RunStarted(h) => self.header = Some(h.clone()),
            RunEventKind::StageStarted {
                stage,
                title,
                steps,
            } => self.stages.push(StageView {
                id: stage.clone(),
                title: title.clone(),
                steps: steps
                    .iter()
                    .map(|s| StepView {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        state: if s.disposition == "run" {
                            StepState::Waiting
                        } else {
                            StepState::Planned(s.disposition.clone())
                        },
                    })
                    .collect(),
                outcome: None,
            }),
            RunEventKind::StepStarted {
                stage,
                step,
                narration,
                ..
            } => {
                self.current = Some((stage.clone(), step.clone()));
                self.narration = narration.clone();
                self.status.clear();
                self.step_started = event.elapsed;
                self.downloads = Downloads::default();
                self.step_measured_gpus = false;
                if let Some(s) = self.step_mut(stage, step) {
                    s.state = StepState::Running;
                }
            }
            RunEventKind::StepProgressed { message, .. } => self.status = message.clone(),
            RunEventKind::StepRetrying {
                attempt,
                max_attempts,
                error,
                ..
            } => {
                self.status = format!("retry {attempt}/{max_attempts}: {}", error.message);
            }
            RunEventKind::StepMeasured { measure, .. } => match measure {
                Measure::Download(p) => self.downloads.update(event.elapsed, p),
                Measure::GpuNodes(p) => {
                    self.step_measured_gpus = true;
                    self.gpus.update(&event.at, p);
                }
            },
            RunEventKind::ObjectApplied { object, .. } => {
                if object.kind == "InferenceService" {
                    self.isvcs
                        .insert(object.name.clone(), object.result.clone());
                }
                self.status = format!("{}/{} {}", object.kind, object.name, object.result);
            }
            RunEventKind::Warned { message, .. } => self.warnings.push(message.clone()),
            RunEventKind::StepFinished {
                stage,
                step,
                outcome,
                duration,
            } => {
                if let Some(s) = self.step_mut(stage, step) {
                    s.state = StepState::Finished(outcome.clone(), *duration);
                }
                if self.current.as_ref() == Some(&(stage.clone(), step.clone())) {
                    self.current = None;
                }
            }
            RunEventKind::StageFinished { stage, outcome, .. } => {
                if let Some(s) = self.stages.iter_mut().find(|s| s.id == *stage) {
                    s.outcome = Some(outcome.clone());
                }
            }
            RunEventKind::RunInterrupted { .. } => self.interrupted = true,
            RunEventKind::RunFinished(summary) => {
                self.current = None;
                self.summary = Some(summary.clone());
            }
            RunEventKind::ValueDerived { .. }
            | RunEventKind::OutputProduced { .. }
            | RunEventKind::EndpointsFound { .. }
            | RunEventKind::BenchmarksMeasured { .. } => {}
        }
    }

    /// Moves the clock between events (the runner's tick); true when the shown time (whole
    /// seconds) changed. A tick older than the last event is ignored.
    pub fn clock(&mut self, elapsed: Duration) -> bool {
        if elapsed.as_secs() <= self.elapsed.as_secs() || self.summary.is_some() {
            return false;
        }
        self.elapsed = elapsed;
        true
    }

    fn step_mut(&mut self, stage: &str, step: &str) -> Option<&mut StepView> {
        self.stages
            .iter_mut()
            .rev()
            .find(|s| s.id == stage)?
            .steps
            .iter_mut()
            .find(|s| s.id == step)
    }

    /// Whether a step failed or the run was stopped: nothing more runs, nothing waits.
    fn aborted(&self) -> bool {
        self.interrupted
            || self.stages.iter().any(|s| {
                s.steps.iter().any(|st| {
                    matches!(&st.state, StepState::Finished(o, _)
                        if render::failure(o).is_some() || *o == Outcome::Cancelled)
                })
            })
    }

    /// The next step of the current stage that will run (stage, step, title).
    fn next_step(&self) -> Option<(String, String, String)> {
        let stage = self.stages.last()?;
        stage
            .steps
            .iter()
            .find(|s| s.state == StepState::Waiting)
            .map(|s| (stage.id.clone(), s.id.clone(), s.title.clone()))
    }
}

/// The terminal settings the view changed, to put back ([`restore`]).
static SAVED: Mutex<Option<rustix::termios::Termios>> = Mutex::new(None);
/// The alternate screen is in use.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: std::sync::Once = std::sync::Once::new();

/// Leaves the alternate screen, shows the cursor and puts the terminal settings (echo, line
/// editing) back. Idempotent; safe from a panic hook or a signal handler's task.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut err = std::io::stderr();
        let _ = ratatui::crossterm::execute!(
            err,
            ratatui::crossterm::terminal::LeaveAlternateScreen,
            ratatui::crossterm::cursor::Show
        );
        let _ = err.flush();
    }
    let saved = SAVED.lock().map(|mut s| s.take()).unwrap_or_default();
    if let Some(saved) = saved {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &saved,
        );
    }
}

/// Enters the alternate screen with keys read one at a time and not echoed; Ctrl-C still
/// signals (the run's own handler stops it). The panic hook restores first.
fn enter() -> std::io::Result<()> {
    use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex};
    let stdin = std::io::stdin();
    let original = termios::tcgetattr(&stdin)?;
    let mut keys = original.clone();
    keys.local_modes -= LocalModes::ECHO | LocalModes::ICANON;
    keys.special_codes[SpecialCodeIndex::VMIN] = 1;
    keys.special_codes[SpecialCodeIndex::VTIME] = 0;
    if let Ok(mut saved) = SAVED.lock() {
        saved.get_or_insert(original);
    }
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    termios::tcsetattr(&stdin, OptionalActions::Now, &keys)?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut err = std::io::stderr();
    ratatui::crossterm::execute!(
        err,
        ratatui::crossterm::terminal::EnterAlternateScreen,
        ratatui::crossterm::cursor::Hide
    )?;
    Ok(())
}

/// Reads keys from stdin on a thread of its own: `q` cancels the run at once (like Ctrl-C),
/// the others go to the view (space goes on after a pause).
fn read_keys(cancel: CancellationToken) -> mpsc::Receiver<u8> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut byte = [0u8; 1];
        while let Ok(1) = stdin.read(&mut byte) {
            if byte[0] == b'q' || byte[0] == b'Q' {
                cancel.cancel();
            }
            if send.send(byte[0]).is_err() {
                break;
            }
        }
    });
    receive
}

type Screen = Terminal<CrosstermBackend<std::io::Stderr>>;

/// The full-screen reporter.
pub struct PresentReporter {
    state: PresentState,
    pause: Option<PauseAt>,
    cancel: CancellationToken,
    keys: Option<mpsc::Receiver<u8>>,
    terminal: Option<Screen>,
    files: Files,
    /// Keys before the first draw are not read (a prompt may still need stdin).
    started: bool,
    /// (stage or step) already paused before.
    paused_for: HashSet<String>,
    color: bool,
    redrawn_after_cancel: bool,
}

impl PresentReporter {
    pub fn new(cancel: CancellationToken, pause: Option<PauseAt>, color: bool) -> Self {
        PresentReporter {
            state: PresentState::default(),
            pause,
            cancel,
            keys: None,
            terminal: None,
            files: Files::default(),
            started: false,
            paused_for: HashSet::new(),
            color,
            redrawn_after_cancel: false,
        }
    }

    #[must_use]
    pub fn replay(mut self, note: impl Into<String>) -> Self {
        self.state.replay = Some(note.into());
        self
    }

    #[must_use]
    pub fn files(mut self, files: Files) -> Self {
        self.files = files;
        self
    }

    #[must_use]
    pub fn expected(mut self, expected: Expectations) -> Self {
        self.state.expected = expected;
        self
    }

    /// Narrations by (stage, step), shown while paused before a step.
    #[must_use]
    pub fn narrations(mut self, narrations: HashMap<(String, String), String>) -> Self {
        self.state.narrations = narrations;
        self
    }

    fn size() -> Rect {
        let (rows, cols) = console::Term::stderr().size();
        Rect::new(0, 0, cols.max(20), rows.max(8))
    }

    fn start(&mut self) -> std::io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        enter()?;
        self.keys = Some(read_keys(self.cancel.clone()));
        let backend = CrosstermBackend::new(std::io::stderr());
        self.terminal = Some(Terminal::with_options(
            backend,
            TerminalOptions {
                viewport: Viewport::Fixed(Self::size()),
            },
        )?);
        Ok(())
    }

    fn draw(&mut self) -> std::io::Result<()> {
        let Some(terminal) = &mut self.terminal else {
            return Ok(());
        };
        let size = Self::size();
        if terminal.get_frame().area() != size {
            // Clears and redraws everything (no cursor query: stdin is the key reader's).
            terminal.resize(size)?;
        }
        let state = &self.state;
        terminal.draw(|frame| view(frame, state))?;
        // Test seam, debug builds only: a panic while the view owns the terminal, for the
        // pseudo-terminal test that the panic hook puts the terminal back.
        #[cfg(debug_assertions)]
        if std::env::var_os("DEMOCTL_TEST_PANIC_IN_VIEW").is_some() {
            panic!("DEMOCTL_TEST_PANIC_IN_VIEW is set: a deliberate panic in the view");
        }
        Ok(())
    }

    /// Waits for space/Enter (go on) or `q`/Ctrl-C (the token is cancelled), off the async
    /// workers so that the signal handler and the lock's renewal keep running.
    fn wait_for_key(&mut self, what: String) -> std::io::Result<()> {
        let Some(keys) = self.keys.take() else {
            return Ok(());
        };
        // A key pressed while the step ran does not skip the pause.
        while keys.try_recv().is_ok() {}
        self.state.paused = Some(what);
        self.draw()?;
        let cancel = self.cancel.clone();
        let wait = || {
            while !cancel.is_cancelled() {
                match keys.recv_timeout(Duration::from_millis(100)) {
                    Ok(b' ' | b'\r' | b'\n') => break,
                    Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait);
            }
            _ => wait(),
        }
        self.keys = Some(keys);
        self.state.paused = None;
        self.draw()
    }

    /// Pauses before the next stage or step, as `--pause` asks, once for each.
    fn maybe_pause(&mut self, at_stage_start: bool) -> std::io::Result<()> {
        let Some(pause) = self.pause else {
            return Ok(());
        };
        if self.state.aborted() || self.cancel.is_cancelled() {
            return Ok(());
        }
        let Some((stage, step, title)) = self.state.next_step() else {
            return Ok(());
        };
        let (key, what) = match pause {
            PauseAt::Stage if at_stage_start => {
                let title = self
                    .state
                    .stages
                    .last()
                    .map(|s| s.title.clone())
                    .unwrap_or_default();
                (stage.clone(), format!("{stage} · {title}"))
            }
            PauseAt::Stage => return Ok(()),
            PauseAt::Step => (format!("{stage}/{step}"), title),
        };
        if !self.paused_for.insert(key) {
            return Ok(());
        }
        if let Some(n) = self.state.narrations.get(&(stage, step)) {
            self.state.narration = Some(n.clone());
        }
        self.wait_for_key(what)
    }

    fn handle(&mut self, event: &RunEvent) -> std::io::Result<()> {
        self.start()?;
        self.state.observe(event);
        if self.cancel.is_cancelled() && !self.redrawn_after_cancel {
            // The signal handler wrote its line over the view: draw it all again.
            self.redrawn_after_cancel = true;
            if let Some(t) = &mut self.terminal {
                t.resize(Self::size())?;
            }
        }
        match &event.kind {
            RunEventKind::StageStarted { .. } => {
                self.draw()?;
                self.maybe_pause(true)
            }
            RunEventKind::StepFinished { .. } => {
                self.draw()?;
                self.maybe_pause(false)
            }
            RunEventKind::RunFinished(_) => {
                self.draw()?;
                if self.pause.is_some() && !self.cancel.is_cancelled() {
                    // The room sees the result until the presenter moves on.
                    self.wait_for_key("the end: space or q leaves the full screen".into())?;
                }
                Ok(())
            }
            _ => self.draw(),
        }
    }

    /// The closing lines for the normal screen, after the view is gone.
    fn result_lines(&self) -> Vec<String> {
        let Some(summary) = &self.state.summary else {
            return vec![if self.state.interrupted {
                "interrupted".to_owned()
            } else {
                "the run did not finish".to_owned()
            }];
        };
        let width = usize::from(console::Term::stderr().size().1).max(super::layout::MIN_WIDTH);
        let chart = chart::terminal(&self.state.facts.benchmarks, width, self.color);
        let mut lines: Vec<String> =
            screen::result_lines(&self.state.facts, summary, width, &self.files, &chart)
                .into_iter()
                .map(|l| l.text)
                .collect();
        if self.state.replay.is_some() {
            lines.push("▶ end of replay (recorded run, not a live cluster)".into());
        }
        lines
    }
}

impl Reporter for PresentReporter {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        self.handle(event).map_err(|source| ReportError {
            reporter: "presenter",
            source,
        })
    }

    fn tick(&mut self, elapsed: Duration) -> Result<(), ReportError> {
        if self.terminal.is_none() || !self.state.clock(elapsed) {
            return Ok(());
        }
        self.draw().map_err(|source| ReportError {
            reporter: "presenter",
            source,
        })
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        self.terminal = None;
        restore();
        if self.started {
            let mut err = std::io::stderr().lock();
            for line in self.result_lines() {
                let _ = writeln!(err, "{}", redact(&line));
            }
        }
        Ok(())
    }
}

impl Drop for PresentReporter {
    fn drop(&mut self) {
        restore();
    }
}

fn symbol_style(outcome: &Outcome) -> Style {
    match outcome {
        Outcome::Succeeded => Style::new().fg(Color::Green),
        Outcome::Degraded { .. } => Style::new().fg(Color::Yellow),
        Outcome::Skipped { .. } => Style::new().add_modifier(Modifier::DIM),
        _ => Style::new().fg(Color::Red),
    }
}

/// The whole screen.
pub fn view(frame: &mut Frame, state: &PresentState) {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(4),
            Constraint::Length(1),
        ])
        .split(area);
    frame.render_widget(title_bar(state), rows[0]);
    let body = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(42), Constraint::Percentage(58)])
        .split(rows[1]);
    frame.render_widget(steps_panel(state, body[0].width, body[0].height), body[0]);
    if let Some(summary) = &state.summary {
        frame.render_widget(result_panel(state, summary, body[1].width), body[1]);
    } else {
        let right = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Percentage(40),
                Constraint::Percentage(30),
                Constraint::Percentage(30),
            ])
            .split(body[1]);
        frame.render_widget(narration_panel(state), right[0]);
        frame.render_widget(progress_panel(state, right[1].width), right[1]);
        frame.render_widget(cluster_panel(state), right[2]);
    }
    frame.render_widget(footer(state), rows[2]);
}

fn title_bar(state: &PresentState) -> Paragraph<'static> {
    let mut spans = Vec::new();
    if let Some(note) = &state.replay {
        spans.push(Span::styled(
            format!(" ▶ REPLAY — {note} "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(" "));
    }
    let what = state
        .header
        .as_ref()
        .map(|h| {
            let cluster = match &h.simulated {
                Some(sim) => format!("simulated cluster ({})", sim.scenario),
                None => h.cluster_server.clone().unwrap_or_default(),
            };
            format!("democtl {} · {cluster}", h.command)
        })
        .unwrap_or_else(|| "democtl".to_owned());
    spans.push(Span::styled(
        what,
        Style::new().add_modifier(Modifier::BOLD),
    ));
    spans.push(Span::raw(format!("  {}", render::duration(state.elapsed))));
    Paragraph::new(Line::from(spans))
}

fn steps_panel(state: &PresentState, width: u16, height: u16) -> Paragraph<'static> {
    let inner = usize::from(width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    let current_stage = state.stages.len().saturating_sub(1);
    for (i, stage) in state.stages.iter().enumerate() {
        let mark = match &stage.outcome {
            Some(o) => render::outcome_symbol(o).to_owned(),
            None => "▸".to_owned(),
        };
        lines.push(Line::styled(
            super::layout::abbreviate(&format!("{mark} {} · {}", stage.id, stage.title), inner),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        if i != current_stage {
            continue;
        }
        for step in &stage.steps {
            let (symbol, style, took) = match &step.state {
                StepState::Waiting => ("·".to_owned(), Style::new(), String::new()),
                StepState::Planned(_) => (
                    "–".to_owned(),
                    Style::new().add_modifier(Modifier::DIM),
                    String::new(),
                ),
                StepState::Running => (
                    "▸".to_owned(),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                    String::new(),
                ),
                StepState::Finished(o, d) => (
                    render::outcome_symbol(o).to_owned(),
                    symbol_style(o),
                    format!("  {}", render::duration(*d)),
                ),
            };
            // Abbreviated on purpose, never cut at the panel's edge.
            let room = inner.saturating_sub(4 + console::measure_text_width(&took));
            lines.push(Line::from(vec![
                Span::styled(format!("  {symbol} "), style),
                Span::styled(super::layout::abbreviate(&step.title, room), style),
                Span::styled(took, Style::new().add_modifier(Modifier::DIM)),
            ]));
        }
    }
    // Keep the running step in sight on a short screen.
    let inner = usize::from(height.saturating_sub(2));
    let running = lines
        .iter()
        .position(|l| l.spans.first().is_some_and(|s| s.content.contains('▸')) && l.spans.len() > 1)
        .unwrap_or(0);
    let scroll = running
        .saturating_sub(inner / 2)
        .min(lines.len().saturating_sub(inner));
    Paragraph::new(Text::from(lines))
        .block(Block::default().borders(Borders::ALL).title(" steps "))
        .scroll((u16::try_from(scroll).unwrap_or(0), 0))
}

fn narration_panel(state: &PresentState) -> Paragraph<'static> {
    let text = state
        .narration
        .clone()
        .map(|n| format!("“{n}”"))
        .unwrap_or_default();
    Paragraph::new(Text::styled(
        text,
        Style::new().add_modifier(Modifier::BOLD),
    ))
    .wrap(Wrap { trim: true })
    .block(
        Block::default()
            .borders(Borders::ALL)
            .title(" narration ")
            .padding(ratatui::widgets::Padding::new(2, 2, 1, 0)),
    )
}

fn progress_panel(state: &PresentState, width: u16) -> Paragraph<'static> {
    let inner = usize::from(width.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    let title = match (&state.current, &state.paused) {
        (_, Some(what)) => format!(" next: {what} "),
        (Some((stage, step)), None) => {
            let title = state.facts.title(stage, step);
            let took = render::duration(state.elapsed.saturating_sub(state.step_started));
            let expected = state
                .expected
                .get(stage, step)
                .map(|e| format!(" · expected ~{}", render::duration(e.median)))
                .unwrap_or_default();
            format!(" ▸ {title} · {took}{expected} ")
        }
        (None, None) => " progress ".to_owned(),
    };
    if state.current.is_some() {
        if !state.downloads.jobs.is_empty() {
            for (_, text) in live::download_rows(&state.downloads, inner, "") {
                lines.extend(text.lines().map(|l| Line::raw(l.to_owned())));
            }
        } else {
            if state.step_measured_gpus {
                for row in state.gpus.0.values() {
                    lines.extend(live::gpu_lines(row, inner, "").into_iter().map(Line::raw));
                }
            }
            // One line per part of the status (`gpu-1x … · gpu-4x …`).
            lines.extend(
                redact(&state.status)
                    .split(" · ")
                    .filter(|p| !p.is_empty())
                    .map(|p| Line::raw(p.to_owned())),
            );
        }
    }
    Paragraph::new(Text::from(lines))
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(title))
}

fn cluster_panel(state: &PresentState) -> Paragraph<'static> {
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = vec![Line::styled("GPU nodes", bold)];
    if state.gpus.0.is_empty() {
        lines.push(Line::raw("  none seen yet"));
    }
    for row in state.gpus.0.values() {
        let p = &row.last;
        lines.push(Line::raw(format!(
            "  {}  {}  GPUs {}/{}",
            p.pool,
            p.phase.label(),
            p.gpus_allocatable.min(p.gpus_wanted),
            p.gpus_wanted
        )));
    }
    lines.push(Line::styled("Downloads", bold));
    if state.downloads.jobs.is_empty() {
        lines.push(Line::raw("  none running"));
    } else {
        lines.push(Line::raw(format!(
            "  {}",
            live::transfer_text(state.downloads.overall(), 60)
        )));
    }
    lines.push(Line::styled("InferenceServices", bold));
    if state.isvcs.is_empty() {
        lines.push(Line::raw("  none yet"));
    }
    for (name, result) in &state.isvcs {
        let answering = state
            .facts
            .endpoints
            .iter()
            .any(|(_, e)| e.url.as_deref().is_some_and(|u| u.contains(name.as_str())));
        lines.push(Line::raw(format!(
            "  {name}  {result}{}",
            if answering { " · answering" } else { "" }
        )));
    }
    Paragraph::new(Text::from(lines))
        .block(Block::default().borders(Borders::ALL).title(" cluster "))
}

fn result_panel(state: &PresentState, summary: &RunSummary, width: u16) -> Paragraph<'static> {
    let inner = usize::from(width.saturating_sub(4));
    let lines: Vec<Line> =
        screen::result_lines(&state.facts, summary, inner, &Files::default(), &[])
            .into_iter()
            .map(|l| {
                let style = match l.role {
                    Role::Verdict => match &summary.outcome {
                        Outcome::Succeeded => Style::new().fg(Color::Green),
                        Outcome::Degraded { .. } => Style::new().fg(Color::Yellow),
                        _ => Style::new().fg(Color::Red),
                    }
                    .add_modifier(Modifier::BOLD),
                    Role::Error => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                    Role::Hint => Style::new().fg(Color::Yellow),
                    Role::Next | Role::Heading => Style::new().add_modifier(Modifier::BOLD),
                    Role::Detail => Style::new().add_modifier(Modifier::DIM),
                    Role::Normal => Style::new(),
                };
                Line::styled(l.text, style)
            })
            .collect();
    Paragraph::new(Text::from(lines))
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(" result "))
}

fn footer(state: &PresentState) -> Paragraph<'static> {
    match &state.paused {
        Some(what) => Paragraph::new(Line::styled(
            format!(" ⏸ paused before {what} — space: go on · q: stop "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        )),
        None => Paragraph::new(Line::styled(
            " q or Ctrl-C: stop at a safe point ",
            Style::new().add_modifier(Modifier::DIM),
        )),
    }
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::runner::event::{DownloadProgress, PlannedStep};

    fn event(elapsed: u64, kind: RunEventKind) -> RunEvent {
        RunEvent {
            at: "2026-12-07T01:00:00Z".into(),
            elapsed: Duration::from_secs(elapsed),
            kind,
        }
    }

    fn screen_text(state: &PresentState, cols: u16, rows: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(cols, rows)).unwrap_or_else(|e| {
            panic!("test backend: {e}");
        });
        terminal
            .draw(|f| view(f, state))
            .unwrap_or_else(|e| panic!("draw: {e}"));
        let buffer = terminal.backend().buffer().clone();
        let mut text = String::new();
        for y in 0..rows {
            for x in 0..cols {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    #[test]
    fn the_view_shows_steps_narration_progress_and_the_cluster() {
        let mut state = PresentState::default();
        let planned = |id: &str, title: &str, disposition: &str| PlannedStep {
            id: id.into(),
            title: title.into(),
            kind: "wait".into(),
            disposition: disposition.into(),
        };
        for e in [
            event(
                0,
                RunEventKind::StageStarted {
                    stage: "stage1".into(),
                    title: "Sovereign AI".into(),
                    steps: vec![
                        planned("gpus", "Wait for the GPUs", "run"),
                        planned("downloads", "Wait for the model downloads", "run"),
                        planned("bench", "Benchmark", "skipped: --no-benchmarks"),
                    ],
                },
            ),
            event(
                1,
                RunEventKind::StepFinished {
                    stage: "stage1".into(),
                    step: "gpus".into(),
                    outcome: Outcome::Succeeded,
                    duration: Duration::from_secs(40),
                },
            ),
            event(
                2,
                RunEventKind::StepStarted {
                    stage: "stage1".into(),
                    step: "downloads".into(),
                    title: "Wait for the model downloads".into(),
                    narration: Some("About 60 GB of weights for the full model.".into()),
                    timeout: None,
                },
            ),
            event(
                12,
                RunEventKind::StepMeasured {
                    stage: "stage1".into(),
                    step: "downloads".into(),
                    measure: Measure::Download(DownloadProgress {
                        job: "download-mistral-24b".into(),
                        file: None,
                        bytes_done: 30_000_000_000,
                        bytes_total: 60_000_000_000,
                        files_done: 5,
                        files_total: 10,
                        done: false,
                    }),
                },
            ),
        ] {
            state.observe(&e);
        }
        let text = screen_text(&state, 120, 30);
        for want in [
            "✓ Wait for the GPUs",
            "▸ Wait for the model downloads",
            "– Benchmark",
            "About 60 GB of weights",
            "50% · 30.0/60.0 GB",
            "GPU nodes",
            "InferenceServices",
        ] {
            assert!(text.contains(want), "no `{want}`:\n{text}");
        }
        assert_eq!(
            state.next_step(),
            None,
            "the running step is not waiting any more"
        );
    }

    /// The clock moves between events (a long wait shows its time going on), redrawing once
    /// per shown second, never backwards.
    #[test]
    fn the_clock_ticks_between_events() {
        let mut state = PresentState::default();
        state.observe(&event(
            2,
            RunEventKind::StepStarted {
                stage: "stage1".into(),
                step: "downloads".into(),
                title: "Wait for the model downloads".into(),
                narration: None,
                timeout: None,
            },
        ));
        assert!(state.clock(Duration::from_millis(75_400)));
        let text = screen_text(&state, 120, 30);
        assert!(text.contains("1m 15s"), "the run's clock:\n{text}");
        assert!(text.contains("1m 13s"), "the step's clock:\n{text}");
        assert!(!state.clock(Duration::from_millis(75_900)), "same second");
        assert!(!state.clock(Duration::from_secs(10)), "never backwards");
        assert_eq!(state.elapsed, Duration::from_millis(75_400));
    }
}
