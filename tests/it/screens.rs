//! Issue #14's must-show checks, on a real pseudo-terminal at a presenter's sizes (80×24 and
//! 160×45): the README's first command leaves no line cut and no table broken, and its last
//! screen holds the verdict and the endpoints; a failing run ends with the error, the hint and
//! the resume command; downloads show bytes/total, rate and ETA; GPU rows show each phase; a
//! second run shows "expected ~N" from the first run's log.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use democtl::runner::event::{RunEvent, RunEventKind};

use crate::harness::{Demo, StopSim};
use crate::terminal::{self, Finished, Terminal};

/// The README's first command (after `cargo run --release --`).
const README: &[&str] = &["--sim", "--sim-speed", "60", "deploy", "stage3", "--yes"];

fn skip_without_script() -> bool {
    if terminal::available() {
        return false;
    }
    terminal::say(
        "SKIPPED: `script` (util-linux) is not installed: no pseudo-terminal for the test",
    );
    true
}

fn urls(events: &[RunEvent]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::EndpointsFound { endpoints, .. } => Some(endpoints),
            _ => None,
        })
        .flatten()
        .filter_map(|e| e.url.clone())
        .collect()
}

/// No row cut; the last screen holds the verdict and every endpoint's URL whole.
#[track_caller]
fn check_success_screen(run: &Finished, events: &[RunEvent], verdict: &str) {
    let history = run.history_text();
    assert_eq!(run.code, Some(0), "{history}");
    let cut = run.cut_rows();
    assert!(
        cut.is_empty(),
        "rows cut at {} columns:\n{}\n--- whole run:\n{history}",
        run.cols,
        cut.join("\n--\n")
    );
    // Nor on any screen drawn while it ran (the live region never reaches the history).
    let cut = run.cut_frame_rows();
    assert!(
        cut.is_empty(),
        "rows cut at {} columns while it ran ({} screens in all):\n{}",
        run.cols,
        run.frames.len(),
        cut.join("\n=====\n")
    );
    let last = run.last_screen_text();
    assert!(
        run.last_screen.iter().any(|r| r.starts_with(verdict)),
        "the last screen has no `{verdict}…` verdict:\n{last}"
    );
    check_result_chart(run, events, verdict);
    let urls = urls(events);
    assert!(!urls.is_empty());
    for url in &urls {
        assert!(
            last.contains(url.as_str()),
            "the last screen at {} columns misses {url}:\n{last}",
            run.cols
        );
    }
}

/// When benchmarks ran, the result screen holds their chart just above the verdict: its title,
/// the time-to-first-token panel and a legend naming every benchmarked model.
#[track_caller]
fn check_result_chart(run: &Finished, events: &[RunEvent], verdict: &str) {
    let models: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::BenchmarksMeasured { results, .. } => Some(results),
            _ => None,
        })
        .flatten()
        .map(|p| p.model.as_str())
        .collect();
    if models.is_empty() {
        // A re-run of stage 3 alone measures nothing.
        return;
    }
    let history = &run.history;
    let at = history
        .iter()
        .rposition(|r| r.starts_with(verdict))
        .unwrap_or_else(|| panic!("no `{verdict}…` verdict:\n{}", run.history_text()));
    // The chart's lines, from its title down to the blank line before the verdict.
    let title = history[..at]
        .iter()
        .rposition(|r| r == "GuideLLM benchmark")
        .unwrap_or_else(|| {
            panic!(
                "no benchmark chart above the verdict:\n{}",
                history[at.saturating_sub(30)..].join("\n")
            )
        });
    let chart = history[title..at].join("\n");
    assert!(
        history[title + 1..at - 1].iter().all(|r| !r.is_empty()),
        "the chart is not right above the verdict:\n{}",
        history[title..=at].join("\n")
    );
    assert!(chart.contains("time to first token"), "{chart}");
    let legend = history[at - 4..at].join("\n");
    for model in models {
        assert!(
            legend.contains(model),
            "the chart's legend lacks {model}:\n{chart}"
        );
    }
}

/// While it ran, the screen showed each download Job and the total with bytes/total, rate
/// and ETA (one line at 160 columns, two at 80).
#[track_caller]
fn check_download_rows(run: &Finished) {
    let shows = |frame: &str, name: &str| {
        let rows: Vec<&str> = frame.lines().collect();
        rows.iter().enumerate().any(|(i, row)| {
            let t = row.trim_start();
            let text = if t.starts_with(&format!("{name} ")) && t.contains('[') {
                match rows.get(i + 1) {
                    Some(next) if !t.contains(" GB") => format!("{t} {}", next.trim()),
                    _ => t.to_owned(),
                }
            } else {
                return false;
            };
            text.contains("% · ")
                && text.contains(" GB · ETA ")
                && text.contains("B/s")
                && text.split(" · ").nth(1).is_some_and(|b| b.contains('/'))
        })
    };
    let missing: Vec<&str> = ["mistral-24b", "mistral-24b-quantized", "all"]
        .into_iter()
        .filter(|row| !run.frames.iter().any(|f| shows(f, row)))
        .collect();
    let bars: Vec<String> = run
        .frames
        .iter()
        .filter(|f| f.contains('░'))
        .rev()
        .take(4)
        .map(|f| {
            f.lines()
                .filter(|l| l.contains('░') || l.contains(" GB"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no screen showed the {missing:?} download rows with bytes/total, rate and ETA \
         ({} screens in all); the last screens with bars:\n{}",
        run.frames.len(),
        bars.join("\n=====\n")
    );
}

/// The GPU rows kept above the step's ✓ line name every phase, each with its `HH:MM:SS` time,
/// the times never going back (at `--sim-speed 60` every phase is reached in the same minute:
/// without seconds they would all read alike).
#[track_caller]
fn check_gpu_rows(run: &Finished) {
    let history = run.history_text();
    for (pool, gpus) in [("gpu-1x", "1/1"), ("gpu-4x", "4/4")] {
        let at = history
            .find(&format!("    {pool}  ✓ Provisioning "))
            .unwrap_or_else(|| panic!("no {pool} row:\n{history}"));
        let row: String = history[at..].lines().take(2).collect::<Vec<_>>().join(" ");
        let mut times = Vec::new();
        for phase in [
            "Provisioning",
            "Running",
            "Node Ready",
            &format!("GPUs {gpus}"),
        ] {
            let after = row
                .split(&format!("✓ {phase} "))
                .nth(1)
                .unwrap_or_else(|| panic!("{pool} lacks `✓ {phase}`: {row}"));
            let time: String = after.chars().take(8).collect();
            let b = time.as_bytes();
            assert!(
                b.len() == 8
                    && b[2] == b':'
                    && b[5] == b':'
                    && time.chars().filter(char::is_ascii_digit).count() == 6,
                "{pool}'s {phase} has no HH:MM:SS time: {row}"
            );
            times.push(time);
        }
        // Non-decreasing (a run that crosses midnight may go from 23:… to 00:… once).
        let wraps = times
            .windows(2)
            .filter(|w| w[1] < w[0])
            .filter(|w| !(w[0].starts_with("23:") && w[1].starts_with("00:")))
            .count();
        assert_eq!(wraps, 0, "{pool}'s phase times go back: {times:?} in {row}");
    }
}

#[test]
fn the_readme_command_at_80_columns_ends_with_the_verdict_and_the_endpoints() {
    if skip_without_script() {
        return;
    }
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let _stop = StopSim(&demo);
    let run = Terminal::start(&demo, 80, 24, README).finish();
    let first = demo.last_events();
    // The README's capture is this screen (`-- --nocapture` shows it).
    terminal::say(&format!(
        "the last screen at 80 columns:\n{}",
        run.last_screen.join("\n")
    ));
    check_success_screen(&run, &first, "✓ stage3 deployed in ");
    check_download_rows(&run);
    check_gpu_rows(&run);

    // Again, at 160 columns: stage 3 runs again, and each of its steps that took a second or
    // more says what the first run's log expects of it.
    let again = Terminal::start(&demo, 160, 45, README).finish();
    let second = demo.last_events();
    check_success_screen(&again, &second, "✓ stage3 deployed in ");
    let took: Vec<(String, String)> = first
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::StepFinished {
                stage,
                step,
                duration,
                ..
            } if stage == "stage3" && duration.as_secs() >= 1 => {
                Some((step.clone(), democtl::report::render::duration(*duration)))
            }
            _ => None,
        })
        .collect();
    assert!(!took.is_empty(), "no stage-3 step took a second");
    let history = again.history_text();
    for (step, d) in took {
        let title = second
            .iter()
            .find_map(|e| match &e.kind {
                RunEventKind::StepStarted { step: s, title, .. } if *s == step => {
                    Some(title.clone())
                }
                _ => None,
            })
            .unwrap();
        assert!(
            history
                .lines()
                .any(|l| l.starts_with(&format!("✓ {title} ("))
                    && l.ends_with(&format!(" · expected ~{d}"))),
            "`{title}` does not say `expected ~{d}` (the first run's time):\n{history}"
        );
    }
}

#[test]
fn the_readme_command_at_160_columns_ends_with_the_verdict_and_the_endpoints() {
    if skip_without_script() {
        return;
    }
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let _stop = StopSim(&demo);
    let run = Terminal::start(&demo, 160, 45, README).finish();
    check_success_screen(&run, &demo.last_events(), "✓ stage3 deployed in ");
    check_download_rows(&run);
    check_gpu_rows(&run);
}

#[test]
fn a_failed_download_ends_with_the_error_the_hint_and_the_resume_command() {
    if skip_without_script() {
        return;
    }
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let _stop = StopSim(&demo);
    let args = [
        "--sim",
        "--sim-speed",
        "60",
        "--sim-scenario",
        "model-download-fails",
        "deploy",
        "stage1",
        "--yes",
    ];
    let run = Terminal::start(&demo, 80, 24, &args).finish();
    let history = run.history_text();
    assert_eq!(run.code, Some(1), "{history}");
    let cut = run.cut_rows();
    assert!(cut.is_empty(), "rows cut:\n{}", cut.join("\n--\n"));
    let screen = &run.last_screen;
    let text = run.last_screen.join("\n");
    assert!(
        screen.last().is_some_and(
            |l| l.starts_with("to resume: democtl --sim --sim-speed 60 ")
                && l.contains(" deploy stage1 --from ")
        ),
        "the last line is not the resume command:\n{text}"
    );
    let error = screen
        .iter()
        .position(|l| l.starts_with("  error: `Job/download-mistral-24b`"))
        .unwrap_or_else(|| panic!("no error on the last screen:\n{text}"));
    let hint = screen
        .iter()
        .position(|l| l.starts_with("    hint: Hugging Face refused the token"))
        .unwrap_or_else(|| panic!("no hint on the last screen:\n{text}"));
    // Error, hint, resume: nothing else after the error but its causes and the hint's lines.
    assert!(error < hint, "{text}");
    for l in &screen[error + 1..screen.len() - 1] {
        assert!(
            l.starts_with("    ") || l.starts_with("      "),
            "`{l}` between the error and the resume command:\n{text}"
        );
    }
    assert!(
        !history.contains("{\"democtl\":\"progress\""),
        "machine-readable progress lines quoted as evidence:\n{history}"
    );
}
