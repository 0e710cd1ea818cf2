//! Reporter output: plain lines, the terminal UI (through indicatif's `TermLike`), the JSON-lines
//! run log (round trip, validity after a kill) and secret redaction everywhere.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use democtl::report::Fanout;
use democtl::report::jsonl::JsonlReporter;
use democtl::report::plain::PlainReporter;
use democtl::report::replay::RunLog;
use democtl::report::tty::TtyReporter;
use democtl::runner::event::{ObjectRecord, Reporter, RunEvent, StepOutput};
use democtl::runner::step::{Sensitive, Step, StepCtx, StepDone, StepError};
use democtl::runner::{PlannedStage, RunPlan};
use futures::future::BoxFuture;
use indicatif::{ProgressDrawTarget, TermLike};
use tokio_util::sync::CancellationToken;

use crate::runner::{Act, MemoryState, Recorder, config, step};

/// A fake terminal for indicatif: keeps a transcript of everything drawn, one drawn line per
/// transcript line (indicatif ends each line with padding to the terminal width).
#[derive(Debug, Clone, Default)]
struct Screen(Arc<Mutex<String>>);

impl Screen {
    fn text(&self) -> String {
        let text = self.0.lock().unwrap();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        lines.join("\n")
    }
}

impl TermLike for Screen {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, text: &str) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        s.push_str(text);
        s.push('\n');
        Ok(())
    }
    fn write_str(&self, text: &str) -> std::io::Result<()> {
        let mut s = self.0.lock().unwrap();
        if !text.is_empty() && text.trim_matches(' ').is_empty() {
            // The padding after a drawn line.
            s.push('\n');
        } else if text != "\r" {
            s.push_str(text);
        }
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.lock().unwrap().push('\n');
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A step that applies an object, shows a table, warns, then succeeds.
struct Busy;

impl Step for Busy {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        Box::pin(async move {
            ctx.progress("GPU nodes 1/2 — machine g6-12xlarge-x8k2 Provisioned");
            tokio::time::sleep(Duration::from_secs(65)).await;
            ctx.object_applied(ObjectRecord {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("demo".into()),
                name: "settings".into(),
                uid: None,
                result: "created".into(),
            });
            ctx.output(StepOutput {
                title: "Benchmark results".into(),
                columns: vec!["concurrency".into(), "TTFT p50".into()],
                rows: vec![
                    vec!["1".into(), "120 ms".into()],
                    vec!["16".into(), "340 ms".into()],
                ],
            });
            ctx.warn("no Model Registry URL yet");
            Ok(StepDone::Succeeded)
        })
    }
}

/// Events of a run that succeeds one step, fails the next with hint and evidence, skips one.
async fn failing_run() -> Vec<RunEvent> {
    let (mut a, _) = step("wait-gpu", Act::Succeed);
    a.step = Some(Box::new(Busy));
    a.narration = Some("The GPU nodes join the cluster.".into());
    let (b, _) = step("wait-models", Act::Fail);
    let (c, _) = step("deploy-models", Act::Succeed);
    let plan = RunPlan {
        stages: vec![PlannedStage {
            id: "stage1".into(),
            title: "Sovereign AI".into(),
            steps: vec![a, b, c],
        }],
    };
    let mut recorder = Recorder::default();
    let mut cfg = config();
    cfg.header.cluster_server = Some("https://api.demo:6443".into());
    cfg.header.user = Some("kube:admin".into());
    democtl::runner::run(
        plan,
        cfg,
        &mut recorder,
        &MemoryState::default(),
        CancellationToken::new(),
    )
    .await;
    recorder.events.lock().unwrap().clone()
}

fn replay(events: &[RunEvent], reporter: &mut dyn Reporter) {
    for e in events {
        reporter.report(e).unwrap();
    }
    reporter.finish().unwrap();
}

#[tokio::test(start_paused = true)]
async fn plain_output_is_one_line_per_event() {
    let events = failing_run().await;
    let mut plain = PlainReporter::new(Vec::new(), false);
    replay(&events, &mut plain);
    let text = String::from_utf8(plain.into_inner()).unwrap();
    let expected = "\
democtl test · democtl deploy stage1
cluster https://api.demo:6443 · user kube:admin
[00:00:00] stage stage1: Sovereign AI (3 steps)
[00:00:00] stage1/wait-gpu: Step wait-gpu
[00:00:00]   \"The GPU nodes join the cluster.\"
[00:00:00] stage1/wait-gpu: GPU nodes 1/2 — machine g6-12xlarge-x8k2 Provisioned
[00:01:05] stage1/wait-gpu: ConfigMap/settings in demo created
[00:01:05] Benchmark results
  concurrency  TTFT p50
  1            120 ms
  16           340 ms
[00:01:05] warning: stage1/wait-gpu: no Model Registry URL yet
[00:01:05] stage1/wait-gpu: ok: Step wait-gpu (1m 05s)
[00:01:05] stage1/wait-models: Step wait-models
[00:01:05] stage1/wait-models: attempt 1
[00:01:05] stage1/wait-models: failed: Step wait-models after 0ms
error: job `download-mistral` failed
  caused by: pod exited with code 1
  hint: check the Hugging Face token
  evidence:
    401 Unauthorized
[00:01:05] stage1/deploy-models: skipped: Step deploy-models (an earlier step failed)
[00:01:05] stage stage1: failed (1m 05s)
✗ stage1 failed after 1m 05s at step `wait-models` — 3 steps, 1 ok, 1 failed, 1 not run
    evidence:
      401 Unauthorized
  stage1 / wait-models: Step wait-models
  error: job `download-mistral` failed
    caused by: pod exited with code 1
    hint: check the Hugging Face token
to resume: democtl deploy stage1 --from wait-models
";
    assert_eq!(text, expected);
    assert!(!text.contains('\x1b'));
    // `-v` (and `democtl logs`) add the full step table before the result.
    let mut verbose = PlainReporter::new(Vec::new(), false).verbose(true);
    replay(&events, &mut verbose);
    let text = String::from_utf8(verbose.into_inner()).unwrap();
    assert!(
        text.contains(
            "STAGE   STEP           RESULT   TIME\nstage1  wait-gpu       ok       1m 05s\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("to resume: democtl deploy stage1 --from wait-models\n"));
}

#[tokio::test(start_paused = true)]
async fn quiet_output_shows_only_the_failure_and_the_result() {
    let events = failing_run().await;
    let mut plain = PlainReporter::new(Vec::new(), true);
    replay(&events, &mut plain);
    let text = String::from_utf8(plain.into_inner()).unwrap();
    assert_eq!(
        text,
        "\
[00:01:05] stage1/wait-models: failed: Step wait-models after 0ms
error: job `download-mistral` failed
  caused by: pod exited with code 1
  hint: check the Hugging Face token
  evidence:
    401 Unauthorized
✗ stage1 failed after 1m 05s at step `wait-models` — 3 steps, 1 ok, 1 failed, 1 not run
to resume: democtl deploy stage1 --from wait-models
"
    );
}

#[tokio::test(start_paused = true)]
async fn the_terminal_shows_results_errors_and_the_summary() {
    let events = failing_run().await;
    let screen = Screen::default();
    let mut tty = TtyReporter::with_target(
        ProgressDrawTarget::term_like(Box::new(screen.clone())),
        false,
        false,
    );
    replay(&events, &mut tty);
    let text = screen.text();
    for expected in [
        "democtl test · democtl deploy stage1",
        "▸ stage1 · Sovereign AI (3 steps)",
        "  “The GPU nodes join the cluster.”",
        "✓ Step wait-gpu (1m 05s)",
        "✗ Step wait-models failed after 0ms",
        "  error: job `download-mistral` failed",
        "    caused by: pod exited with code 1",
        "    hint: check the Hugging Face token",
        "○ 1 step of stage1 not run",
        // Wider than 80 columns: wrapped at a word, the rest indented.
        "✗ stage1 failed after 1m 05s at step `wait-models` — 3 steps, 1 ok, 1 failed,",
        "  1 not run",
    ] {
        assert!(
            text.lines().any(|l| l == expected),
            "missing {expected:?} in:\n{text}"
        );
    }
    assert!(!text.contains('\x1b'), "colour without colour:\n{text}");
    // No line per step skipped after the failure, and no step table (that is `-v`).
    assert!(!text.contains("Step deploy-models skipped"), "{text}");
    assert!(!text.contains("STAGE   STEP"), "{text}");
    // The error is repeated at the bottom, and the resume command is the last line.
    let tail: Vec<&str> = text.lines().rev().take(5).collect();
    assert_eq!(
        tail[0], "to resume: democtl deploy stage1 --from wait-models",
        "{text}"
    );
    assert!(
        tail.contains(&"    hint: check the Hugging Face token"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_spinner_shows_the_live_sub_status() {
    let events = failing_run().await;
    let screen = Screen::default();
    let mut tty = TtyReporter::with_target(
        ProgressDrawTarget::term_like(Box::new(screen.clone())),
        true,
        false,
    );
    // Up to the progress message of the first step: the spinner line is on screen.
    let upto = events
        .iter()
        .position(|e| {
            matches!(
                e.kind,
                democtl::runner::event::RunEventKind::StepProgressed { .. }
            )
        })
        .unwrap();
    for e in &events[..=upto] {
        tty.report(e).unwrap();
    }
    let text = screen.text();
    // The sub-status sits on its own line under the spinner (never cut at the edge).
    assert!(text.contains("Step wait-gpu"), "{text}");
    assert!(
        text.contains("    GPU nodes 1/2 — machine g6-12xlarge-x8k2 Provisioned"),
        "{text}"
    );
    assert!(text.contains('\x1b'), "colours requested:\n{text}");
    tty.finish().unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_run_log_round_trips() {
    let events = failing_run().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let mut log = JsonlReporter::create(&path).unwrap();
    replay(&events, &mut log);
    let read = RunLog::read(&path).unwrap();
    assert_eq!(read.unreadable, 0);
    assert_eq!(read.events, events);
    assert_eq!(read.header().unwrap().run_id, "run-1");
    assert!(read.summary().is_some());
    // One object per line, with the event type on top.
    let first = std::fs::read_to_string(&path).unwrap();
    let first: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert_eq!(first["kind"]["type"], "run-started");
    assert_eq!(first["kind"]["format_version"], 1);
}

#[test]
fn an_existing_log_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    std::fs::write(&path, "x\n").unwrap();
    assert!(JsonlReporter::create(&path).is_err());
}

const CHILD_ENV: &str = "DEMOCTL_TEST_KILLED_WRITER";

/// Run as a child process by `the_run_log_parses_after_a_kill`: writes events forever.
#[test]
fn killed_writer_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut log = JsonlReporter::create(std::path::Path::new(&path)).unwrap();
    let event = RunEvent {
        at: "2026-11-25T20:00:00Z".into(),
        elapsed: Duration::from_millis(1),
        kind: democtl::runner::event::RunEventKind::StepProgressed {
            stage: "stage1".into(),
            step: "wait-models".into(),
            message: "x".repeat(3000),
        },
    };
    for i in 0.. {
        log.report(&event).unwrap();
        if i == 200 {
            let mut stdout = std::io::stdout();
            stdout.write_all(b"ready\n").unwrap();
            stdout.flush().unwrap();
        }
    }
}

#[test]
fn the_run_log_parses_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.jsonl");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "reporters::killed_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 && !line.contains("ready") {
        line.clear();
    }
    assert!(line.contains("ready"), "the child did not start writing");
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 200, "{} lines", lines.len());
    for (i, line) in lines.iter().enumerate() {
        serde_json::from_str::<RunEvent>(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
    }
    // A killed writer never leaves a torn line: the file ends with a newline.
    assert!(text.ends_with('\n'));
}

/// A careless step: formats the raw token into progress, an object name and its error.
struct Leaky(Sensitive<String>);

impl Step for Leaky {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        Box::pin(async move {
            let raw = self.0.expose();
            ctx.progress(format!("using token {raw} and {}", self.0));
            ctx.derive("stage1.token", serde_json::json!(raw));
            Err(
                StepError::new(format!("401 for `Authorization: Bearer {raw}`"))
                    .with_evidence(vec![format!("curl -H 'Authorization: Bearer {raw}'")]),
            )
        })
    }
}

#[tokio::test(start_paused = true)]
async fn secrets_never_reach_the_log_or_the_terminal() {
    let token = "hf_SECRETtokenValue1234567890";
    let (mut a, _) = step("hf-token", Act::Succeed);
    a.step = Some(Box::new(Leaky(Sensitive::new(token.to_owned()))));
    let plan = RunPlan {
        stages: vec![PlannedStage {
            id: "stage1".into(),
            title: "One".into(),
            steps: vec![a],
        }],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let screen = Screen::default();
    let plain = SharedBuf::default();
    let mut fanout = Fanout(vec![
        Box::new(JsonlReporter::create(&path).unwrap()),
        Box::new(PlainReporter::new(plain.clone(), false)),
        Box::new(TtyReporter::with_target(
            ProgressDrawTarget::term_like(Box::new(screen.clone())),
            false,
            false,
        )),
    ]);
    democtl::runner::run(
        plan,
        config(),
        &mut fanout,
        &MemoryState::default(),
        CancellationToken::new(),
    )
    .await;
    let log = std::fs::read_to_string(&path).unwrap();
    let plain = String::from_utf8(plain.0.lock().unwrap().clone()).unwrap();
    let screen = screen.text();
    for (name, text) in [("log", &log), ("plain", &plain), ("terminal", &screen)] {
        assert!(
            !text.contains(token),
            "the token reached the {name}:\n{text}"
        );
        assert!(
            text.contains("********"),
            "the {name} shows no mask:\n{text}"
        );
    }
}

/// A `Write` shared with the test.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
