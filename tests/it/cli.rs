//! The command line: flags, usage errors, exit codes, project discovery, validate and logs,
//! run through the real binary.
#![allow(clippy::unwrap_used)]

use crate::harness::{Demo, StopSim};

pub(crate) const STAGE1: &str = "\
id: stage1
number: 1
slug: sovereign-ai
title: Sovereign AI
overlay: gitops/overlays/stage1
expectedDuration: 40m
switches:
  - name: benchmarks
    default: true
    description: Run the GuideLLM benchmarks
steps:
  - id: wait-models
    kind: wait-jobs
    title: Wait for model downloads
    with: { namespace: demo, jobs: [download] }
  - id: benchmarks
    kind: benchmark
    title: Benchmarks
    switch: benchmarks
    with: { namespace: demo, jobs: [guidellm] }
";

fn project() -> Demo {
    Demo::empty().file("stages/stage1.yaml", STAGE1).file(
        "gitops/overlays/stage1/kustomization.yaml",
        "resources: []\n",
    )
}

#[test]
fn no_command_is_a_usage_error() {
    let run = Demo::empty().run(&[]);
    run.expect_code(2);
    assert!(run.stderr.contains("Usage: democtl"), "{}", run.stderr);
}

#[test]
fn help_and_version_exit_zero() {
    Demo::empty().run(&["--help"]).expect_code(0);
    let run = Demo::empty().run(&["--version"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        format!("democtl {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_print_a_script_for_the_whole_command_tree() {
    let demo = Demo::empty();
    let run = demo.run(&["completions", "bash"]);
    run.expect_code(0);
    for word in ["deploy", "teardown", "status", "kubeconfig", "--sim-speed"] {
        assert!(run.stdout.contains(word), "{word} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("democtl.bash");
    std::fs::write(&script, &run.stdout).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{syntax:?}");
    for shell in ["zsh", "fish"] {
        let run = demo.run(&["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains("teardown"), "{shell}");
    }
    let run = demo.run(&["completions", "tcsh"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("possible values: bash"),
        "{}",
        run.stderr
    );
    assert!(demo.logs().is_empty(), "completions wrote a run log");
}

#[test]
fn missing_and_unknown_arguments_exit_two() {
    project().run(&["deploy"]).expect_code(2);
    project().run(&["teardown"]).expect_code(2);
    project()
        .run(&["teardown", "--stage", "1", "--all"])
        .expect_code(2);
    project().run(&["status", "-o", "xml"]).expect_code(2);
    project()
        .run(&["deploy", "1", "--from", "a", "--only", "b"])
        .expect_code(2);
    project().run(&["-q", "-v", "validate"]).expect_code(2);
}

#[test]
fn stage_switches_become_flags() {
    let run = project().run(&["deploy", "--help"]);
    run.expect_code(0);
    assert!(run.stdout.contains("--benchmarks"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Run the GuideLLM benchmarks (default: on)"),
        "{}",
        run.stdout
    );
    let run = project().run(&["deploy", "1", "--no-benchmark"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("--no-benchmarks"),
        "clap suggests the flag: {}",
        run.stderr
    );
}

#[test]
fn outside_a_project_is_a_config_error() {
    let demo = Demo::empty();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = demo.run_in(elsewhere.path(), &["validate"]);
    run.expect_code(2);
    let dir = elsewhere
        .path()
        .canonicalize()
        .unwrap_or_else(|_| elsewhere.path().to_path_buf());
    let expected = format!(
        "error: no democtl project in `{}` or any parent folder\n  hint: run democtl inside the demo repository (the folder holding `stages/` and `gitops/`), or pass `--project-dir DIR`\n",
        dir.display()
    );
    let alt = expected.replace(
        &dir.display().to_string(),
        &elsewhere.path().display().to_string(),
    );
    assert!(
        run.stderr == expected || run.stderr == alt,
        "{}",
        run.stderr
    );
}

#[test]
fn project_dir_points_anywhere() {
    let demo = project();
    let elsewhere = tempfile::tempdir().unwrap();
    let run = demo.run_in(
        elsewhere.path(),
        &["--project-dir", demo.path().to_str().unwrap(), "validate"],
    );
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "ok  stages/stage1.yaml  Sovereign AI (2 steps, 0 objects)\n"
    );
}

#[test]
fn the_project_is_found_from_a_subfolder() {
    let demo = project();
    demo.run_in(&demo.path().join("gitops/overlays"), &["validate"])
        .expect_code(0);
}

#[test]
fn validate_lists_every_problem_and_exits_one() {
    let bad = STAGE1
        .replace("    switch: benchmarks\n", "    switch: benchmark\n")
        .replace("  - id: benchmarks\n", "  - id: wait-models\n");
    let demo = project().file("stages/stage1.yaml", &bad);
    let run = demo.run(&["validate"]);
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "\
error: 2 problems in the stage files
  evidence:
    stages/stage1.yaml:16:9: `steps[1].id`: duplicate step id `wait-models`
      hint: the first `wait-models` is on line 12; step ids must be unique within a stage
    stages/stage1.yaml:19:13: `steps[1].switch`: undeclared switch `benchmark`
      hint: did you mean `benchmarks`?
"
    );
}

#[test]
fn a_single_problem_is_the_error_itself() {
    let demo = project().file(
        "stages/stage1.yaml",
        &STAGE1.replace("kind: wait-jobs", "kind: wait-job"),
    );
    let run = demo.run(&["validate"]);
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        "error: stages/stage1.yaml:13:11: `steps[0].kind`: unknown step kind `wait-job`\n  hint: did you mean `wait-jobs`?\n"
    );
}

#[test]
fn quiet_validate_prints_nothing() {
    let run = project().run(&["-q", "validate"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn logs_lists_and_replays_runs() {
    let demo = project();
    let run = demo.run(&["logs"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "no runs yet\n");
    demo.run(&["logs", "--last"]).expect_code(2);
    let log = "\
{\"at\":\"2026-11-25T20:00:00Z\",\"elapsed\":0,\"kind\":{\"type\":\"run-started\",\"format_version\":1,\"run_id\":\"r1\",\"democtl_version\":\"0.1.0\",\"command_line\":[\"democtl\",\"deploy\",\"stage1\"],\"command\":\"deploy\",\"cluster_server\":null,\"context\":null,\"user\":null}}
{\"at\":\"2026-11-25T20:00:01Z\",\"elapsed\":1000,\"kind\":{\"type\":\"step-started\",\"stage\":\"stage1\",\"step\":\"wait-models\",\"title\":\"Wait for model downloads\",\"narration\":null,\"timeout\":null}}
";
    let demo = demo.file("logs/20261125T200000Z-deploy-stage1.jsonl", log);
    let run = demo.run(&["logs"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "RUN                             COMMAND        RESULT      TIME\n20261125T200000Z-deploy-stage1  deploy stage1  unfinished\n"
    );
    let run = demo.run(&["logs", "--last"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("[00:00:01] stage1/wait-models: Wait for model downloads"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("the run did not finish"),
        "{}",
        run.stdout
    );
    demo.run(&["logs", "r1"]).expect_code(0);
    demo.run(&["logs", "20261125"]).expect_code(0);
    let run = demo.run(&["logs", "nope"]);
    run.expect_code(2);
    assert!(
        run.stderr.starts_with("error: no run `nope`"),
        "{}",
        run.stderr
    );
}

/// Issue #13: `deploy stage3 --only summary` ran 1, 23 and 10 steps: `--only`/`--from` must keep
/// the run inside the target stage, and earlier stages that are not deployed are an error that
/// says which and how, before anything changes.
#[test]
fn only_and_from_act_on_the_target_stage_alone() {
    let demo = Demo::repo();
    let _stop = StopSim(&demo);
    for args in [
        &["--sim", "deploy", "stage3", "--only", "summary"][..],
        &[
            "--sim",
            "deploy",
            "stage3",
            "--from",
            "summary",
            "--dry-run",
        ][..],
    ] {
        let run = demo.run(args);
        run.expect_code(2);
        let flag = format!("{} {}", args[3], args[4]);
        assert_eq!(
            run.stderr
                .lines()
                .find(|l| l.starts_with("error:"))
                .unwrap_or_default(),
            format!(
                "error: `{flag}` acts on stage3 alone, but stage1 is not deployed and stage2 is not deployed"
            ),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(
                "hint: deploy the earlier stages first with `democtl --sim deploy stage2`"
            ),
            "{}",
            run.stderr
        );
        assert!(demo.logs().is_empty(), "no step ran, no run log");
    }
}

/// The scenario of the Hugging Face refusal (the download Job's pod logs a 401).
const HF_401: &str = "name: hf-401\nextends: healthy\nfailures:\n  model_downloads:\n    - job: download-mistral-24b\n      exclude: quantized\n      at_percent: 40\n      message: \"HfHubHTTPError: 401 Client Error: Unauthorized for url: https://huggingface.co/api/models/mistralai/Mistral-Small-24B-Instruct-2501\"\n";

/// Issue #13: after a Hugging Face 401 the printed `--from wait-downloads` skipped the
/// `hf-token` step that the hint asks to fix. The next command starts at the secret step.
#[test]
fn after_a_refused_token_the_next_command_reruns_the_token_step() {
    let demo = Demo::repo()
        .file("scenario.yaml", HF_401)
        .env("HF_TOKEN", "hf_refused_token_1234");
    let _stop = StopSim(&demo);
    let run = demo.run(&[
        "--sim",
        "--sim-speed",
        "600",
        "--sim-scenario",
        "scenario.yaml",
        "deploy",
        "stage1",
        "--no-eval",
        "--no-benchmarks",
        "--no-model-registry",
    ]);
    run.expect_code(1);
    assert!(run.stderr.contains("HF_TOKEN"), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        "to resume: democtl --sim --sim-speed 600 deploy stage1 --from hf-token --no-benchmarks --no-model-registry --no-eval",
        "{}",
        run.stderr
    );
    let events = demo.last_events();
    let Some(democtl::runner::event::RunEventKind::RunFinished(summary)) =
        events.last().map(|e| &e.kind)
    else {
        panic!("no run-finished event")
    };
    assert_eq!(
        summary.next.as_deref(),
        Some(last.trim_start_matches("to resume: "))
    );
}

/// Issue #13: after a failed dry run the next command was a real deploy.
#[test]
fn after_a_failed_dry_run_the_next_command_is_the_same_dry_run() {
    let demo = Demo::repo().env("HF_TOKEN", "hf_token_5678");
    let _stop = StopSim(&demo);
    let run = demo.run(&[
        "--sim",
        "--sim-scenario",
        "not-aws",
        "deploy",
        "1",
        "--dry-run",
    ]);
    run.expect_code(1);
    assert_eq!(
        run.stderr.lines().last().unwrap_or_default(),
        "to resume: democtl --sim --sim-scenario not-aws deploy 1 --dry-run",
        "{}",
        run.stderr
    );
}

/// Issue #13: `--request-timeout` (kubectl's flag): against an API server that accepts
/// connections and never answers, the command gives up after the timeout (retried, bounded)
/// with an error that names the timeout and the request, exit 3 — not 30 s of silence per call.
#[test]
fn a_hung_api_server_hits_the_request_timeout_and_says_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds every connection, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: hung\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\nusers:\n- name: u\n  user: {{token: t}}\ncontexts:\n- name: hung\n  context: {{cluster: hung, user: u}}\ncurrent-context: hung\n"
    );
    let demo = project()
        .file("kubeconfig", &kubeconfig)
        .env("DEMOCTL_RETRY_DELAY_SCALE", "0.01");
    let kc = demo.path().join("kubeconfig").display().to_string();
    let run = demo.run(&["--kubeconfig", &kc, "--request-timeout", "1s", "status"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("timed out after 1s waiting for the API server to"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--request-timeout"), "{}", run.stderr);

    for bad in ["soon", "1.5x", "5 parsecs"] {
        let run = demo.run(&["--kubeconfig", &kc, "--request-timeout", bad, "status"]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("--request-timeout")
                && run.stderr.contains("expected a duration such as `30s`"),
            "{bad}: {}",
            run.stderr
        );
    }
}

/// Issue #13: Ctrl-C at the hidden token prompt cancels at once (exit 130, nothing changed)
/// and leaves the terminal as it was: echo and line editing on again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_at_the_hidden_token_prompt_cancels_at_once_and_restores_the_terminal() {
    use crate::terminal::{self, Terminal};
    if !terminal::available() {
        terminal::say("skipped: `script` (util-linux) is not installed");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let sim = democtl::sim::Embedded::start_with(
        state.path(),
        &democtl::sim::EmbeddedOptions {
            scenario: None,
            speed: Some(60.0),
            tls: false,
        },
    )
    .await
    .unwrap();
    let kubeconfig = sim.kubeconfig_path().display().to_string();
    let finished = tokio::task::spawn_blocking(move || {
        let demo = Demo::repo();
        let stty = "echo; echo \"settings: $(stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\{0,1\\}echo\\|-\\{0,1\\}icanon' | tr '\\n' ' ')\"";
        // Wide enough that the question is on one row.
        let mut term = Terminal::start_then(
            &demo,
            200,
            30,
            &["--kubeconfig", &kubeconfig, "deploy", "stage1", "--dry-run"],
            Some(stty),
        );
        term.wait_for("input hidden", std::time::Duration::from_secs(300));
        term.send(b"\x03");
        term.finish()
    })
    .await
    .unwrap();
    sim.shutdown().await.unwrap();
    let text = finished.history.join("\n");
    assert_eq!(finished.code, Some(130), "{text}");
    assert!(text.contains("settings: icanon echo"), "{text}");
}
