//! `deploy --present` and `replay --present` on a real pseudo-terminal: the full-screen view
//! (steps, narration, progress, cluster panel), `--pause` waiting for space, `q` and Ctrl-C
//! stopping cleanly with exit 130 and a clean record, and the terminal put back every time
//! (the alternate screen left, echo and line editing on again), with the result lines left on
//! the normal screen.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use democtl::runner::event::{Outcome, RunEventKind};

use crate::harness::{Demo, StopSim};
use crate::terminal::{self, Finished, Terminal};

/// Generous: a hang fails the test instead of blocking it, nothing is timed.
const LIMIT: Duration = Duration::from_secs(300);

/// Shows the terminal settings democtl left behind, one word per setting we care about.
const STTY: &str = "echo; echo \"settings: $(stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\{0,1\\}echo\\|-\\{0,1\\}icanon' | tr '\\n' ' ')\"";

const ENTER_ALTERNATE: &[u8] = b"\x1b[?1049h";
const LEAVE_ALTERNATE: &[u8] = b"\x1b[?1049l";

fn stage1(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "--sim",
        "--sim-speed",
        "600",
        "deploy",
        "stage1",
        "--yes",
        "--no-benchmarks",
        "--no-eval",
        "--no-model-registry",
        "--present",
    ];
    args.extend_from_slice(extra);
    args
}

fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The alternate screen was entered and left after the last thing drawn on it, and the
/// terminal is back in line mode with echo.
#[track_caller]
fn check_restored(run: &Finished) {
    let text = run.history_text();
    let entered = position(&run.raw, ENTER_ALTERNATE);
    let left = position(&run.raw, LEAVE_ALTERNATE);
    assert!(
        entered.is_some() && left > entered,
        "the alternate screen was not left after it was entered:\n{text}"
    );
    let settings = run
        .history
        .iter()
        .rev()
        .find(|l| l.starts_with("settings: "))
        .unwrap_or_else(|| panic!("no settings line:\n{text}"));
    assert_eq!(
        settings.trim_end(),
        "settings: icanon echo",
        "echo and line editing are not back on:\n{text}"
    );
}

#[test]
fn present_pauses_before_the_stage_draws_the_view_and_leaves_the_result() {
    if !terminal::available() {
        terminal::say("SKIPPED: `script` (util-linux) is not installed: no pseudo-terminal");
        return;
    }
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let _stop = StopSim(&demo);
    let mut term = Terminal::start_then(&demo, 120, 36, &stage1(&["--pause", "stage"]), Some(STTY));
    let paused = term.wait_for("paused before stage1 · Sovereign AI", LIMIT);
    for want in [
        " steps ",
        " narration ",
        " cluster ",
        "GPU nodes",
        "Downloads",
        "InferenceServices",
        "· Check the cluster before changing anything",
        "“Before we touch anything",
        "space: go on · q: stop",
    ] {
        assert!(paused.contains(want), "no `{want}` in the view:\n{paused}");
    }
    // Paused: nothing has run yet.
    assert!(!paused.contains("✓ Check the cluster"), "{paused}");
    term.send(b" ");
    // With `--pause`, the result stays on the full screen until the presenter moves on.
    let end = term.wait_for("the end: space or q leaves the full screen", LIMIT);
    assert!(end.contains("✓ stage1 deployed in "), "{end}");
    term.send(b" ");
    let run = term.finish();
    let text = run.history_text();
    assert_eq!(run.code, Some(0), "{text}");
    // While it ran, the view showed a step running with its progress and the GPU rows.
    assert!(
        run.frames
            .iter()
            .any(|f| f.contains("▸ Wait for the GPUs to be allocatable") && f.contains("gpu-4x  ")),
        "no screen showed the GPU wait with its rows"
    );
    check_restored(&run);
    assert!(
        run.history
            .iter()
            .any(|l| l.starts_with("✓ stage1 deployed in ")),
        "the verdict is not left on the normal screen:\n{text}"
    );
    assert!(
        text.contains("https://mistral-24b-private-ai-demo.apps."),
        "{text}"
    );

    // The same run, replayed through the same view, marked as a replay.
    let replay = Terminal::start_then(
        &demo,
        120,
        36,
        &[
            "replay",
            "--last",
            "--speed",
            "50",
            "--max-gap",
            "1s",
            "--present",
        ],
        Some(STTY),
    )
    .finish();
    let text = replay.history_text();
    assert_eq!(replay.code, Some(0), "{text}");
    assert!(
        replay
            .frames
            .iter()
            .any(|f| f.contains("▶ REPLAY — recorded run")),
        "the replay view is not marked as one"
    );
    check_restored(&replay);
    assert!(
        replay
            .history
            .iter()
            .any(|l| l.starts_with("✓ stage1 deployed in "))
            && text.contains("▶ end of replay (recorded run, not a live cluster)"),
        "{text}"
    );
}

#[test]
fn q_at_a_pause_stops_like_ctrl_c_with_a_clean_record() {
    if !terminal::available() {
        terminal::say("SKIPPED: `script` (util-linux) is not installed: no pseudo-terminal");
        return;
    }
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let _stop = StopSim(&demo);
    let mut term = Terminal::start_then(&demo, 100, 30, &stage1(&["--pause", "step"]), Some(STTY));
    term.wait_for(
        "paused before Check the cluster before changing anything",
        LIMIT,
    );
    term.send(b" ");
    // The first step ran; the view waits before the second.
    let screen = term.wait_for("paused before Enable KServe and TrustyAI", LIMIT);
    assert!(screen.contains("✓ Check the cluster"), "{screen}");
    term.send(b"q");
    let run = term.finish();
    let text = run.history_text();
    assert_eq!(run.code, Some(130), "{text}");
    check_restored(&run);
    assert!(
        run.history
            .iter()
            .any(|l| l.starts_with("✗ stage1 interrupted after ")),
        "{text}"
    );
    // The command to resume (wrapped with ` \` at 100 columns) is the last thing said.
    let resume = text
        .rfind("to resume")
        .unwrap_or_else(|| panic!("no resume command:\n{text}"));
    assert!(
        text[resume..]
            .contains("democtl --sim --sim-speed 600 deploy stage1 --from dsc-components"),
        "{text}"
    );
    let events = demo.last_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, RunEventKind::RunInterrupted { .. })),
        "no interrupt record in the run log"
    );
    let Some(RunEventKind::RunFinished(summary)) = events.last().map(|e| &e.kind) else {
        panic!("the run log does not end with the run's summary");
    };
    assert_eq!(summary.outcome, Outcome::Cancelled);
    // Only the first step ran.
    let ran: Vec<&str> = summary
        .steps
        .iter()
        .filter(|s| s.outcome == Outcome::Succeeded)
        .map(|s| s.step.as_str())
        .collect();
    assert_eq!(ran, ["preflight"], "{summary:?}");
}

#[test]
fn ctrl_c_twice_at_a_pause_still_restores_the_terminal() {
    if !terminal::available() {
        terminal::say("SKIPPED: `script` (util-linux) is not installed: no pseudo-terminal");
        return;
    }
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let _stop = StopSim(&demo);
    let mut term = Terminal::start_then(&demo, 100, 30, &stage1(&["--pause", "step"]), Some(STTY));
    term.wait_for(
        "paused before Check the cluster before changing anything",
        LIMIT,
    );
    // The simulated cluster hangs: the first Ctrl-C's wind-down (recording the interrupt on
    // the cluster) cannot finish, so the second one lands while it is still going.
    let frozen = Frozen::sim_of(&demo);
    term.send(b"\x03");
    term.wait_for_output(
        "Ctrl-C: stopping at a safe point (Ctrl-C again to stop at once)",
        LIMIT,
    );
    term.send(b"\x03");
    term.wait_for_output(
        "Ctrl-C: stopping at once, releasing the cluster lock first",
        LIMIT,
    );
    // The cluster comes back within the lock release's bounded wait.
    drop(frozen);
    let run = term.finish_within(LIMIT);
    let text = run.history_text();
    assert_eq!(run.code, Some(130), "{text}");
    check_restored(&run);
    // Said on the normal screen, after the view was left.
    assert!(
        run.history
            .iter()
            .any(|l| l == "Ctrl-C: stopping at once, releasing the cluster lock first"),
        "{text}"
    );
}

/// The project's background simulated cluster stopped (SIGSTOP) until dropped (SIGCONT).
struct Frozen(String);

impl Frozen {
    fn sim_of(demo: &Demo) -> Frozen {
        let record = std::fs::read_to_string(demo.path().join(".democtl/sim/server.json")).unwrap();
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        let pid = record["pid"].as_u64().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap();
        assert!(status.success(), "cannot stop the simulated cluster {pid}");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0])
            .status();
    }
}

#[test]
fn a_panic_in_the_view_still_restores_the_terminal() {
    if !terminal::available() {
        terminal::say("SKIPPED: `script` (util-linux) is not installed: no pseudo-terminal");
        return;
    }
    // The debug build's seam: panic right after the view's first frame.
    let demo = Demo::repo()
        .env("HF_TOKEN", "hf_rehearsal")
        .env("DEMOCTL_TEST_PANIC_IN_VIEW", "1");
    let _stop = StopSim(&demo);
    let term = Terminal::start_then(&demo, 100, 30, &stage1(&[]), Some(STTY));
    let run = term.finish_within(LIMIT);
    let text = run.history_text();
    assert_ne!(
        run.code,
        Some(0),
        "a panicking run must not exit 0:\n{text}"
    );
    check_restored(&run);
    assert!(
        text.contains("deliberate panic in the view"),
        "the panic message is not on the normal screen:\n{text}"
    );
}

#[test]
fn present_needs_a_terminal_and_pause_needs_present() {
    let demo = Demo::repo().env("HF_TOKEN", "hf_rehearsal");
    let run = demo.run(&["deploy", "stage1", "--present"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("`--present` needs a terminal"),
        "{}",
        run.stderr
    );
    let run = demo.run(&["deploy", "stage1", "--pause", "step"]);
    run.expect_code(2);
    assert!(run.stderr.contains("--present"), "{}", run.stderr);
}
