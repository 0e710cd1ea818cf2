//! Reporters of runner events: TTY (indicatif + console), plain (one line per event) and the
//! JSON-lines run log, combined by [`Fanout`]. The only place besides `app` that writes to the
//! terminal. Imports nothing from democtl but `runner::event`.

pub mod chart;
pub mod history;
pub mod html;
pub mod jsonl;
pub mod layout;
pub mod live;
pub mod plain;
pub mod present;
pub mod render;
pub mod replay;
pub mod screen;
pub mod tty;

use std::io::IsTerminal;

use crate::runner::event::{ReportError, Reporter, RunEvent};

/// Several reporters as one: every event goes to each; the first failure is returned after all
/// have had the event.
#[derive(Default)]
pub struct Fanout(pub Vec<Box<dyn Reporter>>);

impl Reporter for Fanout {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        let mut first = None;
        for reporter in &mut self.0 {
            if let Err(e) = reporter.report(event) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn tick(&mut self, elapsed: std::time::Duration) -> Result<(), ReportError> {
        let mut first = None;
        for reporter in &mut self.0 {
            if let Err(e) = reporter.tick(elapsed) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn finish(&mut self) -> Result<(), ReportError> {
        let mut first = None;
        for reporter in &mut self.0 {
            if let Err(e) = reporter.finish() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// The terminal reporter for this mode: spinners, plain lines, or quiet.
pub fn terminal(output: &Output) -> Box<dyn Reporter> {
    match output.mode {
        Mode::Tty => Box::new(tty::TtyReporter::stderr(output.color)),
        Mode::Plain => Box::new(plain::PlainReporter::new(std::io::stderr(), false)),
        Mode::Quiet => Box::new(plain::PlainReporter::new(std::io::stderr(), true)),
    }
}

/// How the terminal is used, decided once per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Spinners and colours on stderr.
    Tty,
    /// One line per event, no ANSI (pipes, CI, `-v`).
    Plain,
    /// Errors and the final result only (`-q`).
    Quiet,
}

/// The terminal settings: mode, colours, verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub mode: Mode,
    pub color: bool,
    pub verbose: u8,
    /// stdin and stderr are terminals: prompting is possible.
    pub interactive: bool,
}

impl Output {
    /// Decides from stderr being a terminal, `CI`, `NO_COLOR`, `TERM=dumb`, `--no-color`,
    /// `-q` and `-v` (no spinners in verbose mode: they would interleave with the details).
    pub fn detect(no_color: bool, quiet: bool, verbose: u8) -> Output {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let tty = std::io::stderr().is_terminal() && env("TERM").is_none_or(|t| t != "dumb");
        let ci = env("CI").is_some_and(|v| v != "false" && v != "0");
        let color = tty && !no_color && env("NO_COLOR").is_none();
        let mode = if quiet {
            Mode::Quiet
        } else if !tty || ci || verbose > 0 {
            Mode::Plain
        } else {
            Mode::Tty
        };
        Output {
            mode,
            color,
            verbose,
            interactive: tty && std::io::stdin().is_terminal(),
        }
    }
}
