//! `democtl replay <run>|--last`: plays a recorded run log through the terminal reporter the
//! run would use now, with the recorded timing (scaled by `--speed`, long pauses cut to
//! `--max-gap`), marked as a replay from its first line to its last. The fallback when the live
//! cluster or the network fails on the day: the audience sees the real run, honestly labelled.

use std::time::Duration;

use super::{AppError, Ctx, print_stderr};
use crate::cli::ReplayArgs;
use crate::report::Mode;
use crate::report::plain::PlainReporter;
use crate::report::present::PresentReporter;
use crate::report::replay::RunLog;
use crate::report::screen::Files;
use crate::report::tty::TtyReporter;
use crate::runner::event::{Reporter, RunEventKind};

pub async fn run(ctx: &Ctx, args: ReplayArgs) -> Result<u8, AppError> {
    let path = super::logs::pick(ctx, args.run.as_deref())?;
    let log = RunLog::read(&path).map_err(|e| AppError::io(&path, e))?;
    let Some(first) = log.events.first() else {
        return Err(AppError::usage(
            format!("`{}` holds no events to replay", path.display()),
            Some("`democtl logs` lists the runs".into()),
        ));
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let note = format!("recorded run {name}, {}× speed", args.speed);
    let stdout = || Box::new(std::io::stdout()) as Box<dyn std::io::Write + Send>;
    let cancel = super::session::cancel_on_signals();
    let mut reporter: Box<dyn Reporter> = match ctx.output.mode {
        _ if args.present => {
            needs_a_terminal(ctx)?;
            // The narrations are in the log; the pause before a step shows them ahead.
            let narrations = log
                .events
                .iter()
                .filter_map(|e| match &e.kind {
                    RunEventKind::StepStarted {
                        stage,
                        step,
                        narration: Some(n),
                        ..
                    } => Some(((stage.clone(), step.clone()), n.clone())),
                    _ => None,
                })
                .collect();
            Box::new(
                presenter(ctx, &path, cancel.clone(), args.pause, narrations).replay(note.clone()),
            )
        }
        Mode::Tty => {
            let mut tty = TtyReporter::stderr(ctx.output.color).replay(note.clone());
            if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                tty = tty.results(stdout());
            }
            Box::new(tty)
        }
        mode => {
            // The plain view has no replay banner of its own: one line before and after.
            print_stderr(&format!("▶ REPLAY — {note}\n"));
            Box::new(
                PlainReporter::new(std::io::stderr(), mode == Mode::Quiet)
                    .verbose(ctx.output.verbose > 0)
                    .results(stdout()),
            )
        }
    };
    let mut previous = first.elapsed;
    for event in &log.events {
        let gap = pause(
            event.elapsed.saturating_sub(previous),
            args.speed,
            args.max_gap,
        );
        previous = event.elapsed;
        if !gap.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(gap) => {}
                () = cancel.cancelled() => {
                    let _ = reporter.finish();
                    print_stderr("▶ replay stopped\n");
                    return Ok(super::session::received().map_or(
                        crate::exit::INTERRUPTED,
                        super::session::Interrupt::exit_code,
                    ));
                }
            }
        }
        reporter.report(event).map_err(AppError::Report)?;
    }
    reporter.finish().map_err(AppError::Report)?;
    if cancel.is_cancelled() {
        // `q` in the presenter view.
        return Ok(super::session::received().map_or(
            crate::exit::INTERRUPTED,
            super::session::Interrupt::exit_code,
        ));
    }
    if ctx.output.mode != Mode::Tty && !args.present {
        print_stderr("▶ end of replay (recorded run, not a live cluster)\n");
    }
    if log.summary().is_none() {
        print_stderr("the recorded run did not finish: it was killed, or was still running\n");
    }
    Ok(crate::exit::OK)
}

/// `--present` draws on the terminal and reads keys from it: both must be one.
pub fn needs_a_terminal(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.output.interactive {
        return Ok(());
    }
    Err(AppError::usage(
        "`--present` needs a terminal: stdin and stderr are not both one",
        Some(
            "run it in a terminal (tmux works), or leave `--present` out for the line view".into(),
        ),
    ))
}

/// The full-screen presenter reporter for a run whose log is `log` (its files shown at the
/// end; durations learned from the logs beside it).
pub fn presenter(
    ctx: &Ctx,
    log: &std::path::Path,
    cancel: tokio_util::sync::CancellationToken,
    pause: Option<crate::cli::Pause>,
    narrations: std::collections::HashMap<(String, String), String>,
) -> PresentReporter {
    let shown = |p: &std::path::Path| p.strip_prefix(&ctx.cwd).unwrap_or(p).display().to_string();
    let report = crate::report::html::FilesReporter::report_path(log);
    let expected = log
        .parent()
        .map(crate::report::history::Expectations::learn)
        .unwrap_or_default();
    PresentReporter::new(cancel, pause.map(Into::into), ctx.output.color)
        .files(Files {
            log: Some(shown(log)),
            report: Some(shown(&report)),
        })
        .expected(expected)
        .narrations(narrations)
}

/// The pause before an event recorded `gap` after the previous one.
fn pause(gap: Duration, speed: f64, max_gap: Option<Duration>) -> Duration {
    let scaled = Duration::try_from_secs_f64(gap.as_secs_f64() / speed).unwrap_or(Duration::ZERO);
    max_gap.map_or(scaled, |max| scaled.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_scaled_then_capped() {
        let s = Duration::from_secs;
        assert_eq!(pause(s(60), 10.0, None), s(6));
        assert_eq!(pause(s(600), 10.0, Some(s(5))), s(5));
        assert_eq!(pause(s(2), 1.0, Some(s(5))), s(2));
        assert_eq!(pause(Duration::ZERO, 0.5, None), Duration::ZERO);
    }
}
