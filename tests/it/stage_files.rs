//! Stage-file errors: each bad file gives the exact message, location and hint.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use democtl::stage::{LoadedStage, StageSet};

const GOOD: &str = "\
id: stage1
number: 1
slug: sovereign-ai
title: Sovereign AI
description: GPU nodes, vLLM, benchmarks
overlay: gitops/overlays/stage1
expectedDuration: 40m
switches:
  - name: benchmarks
    default: true
    description: Run the GuideLLM benchmarks
steps:
  - id: preflight
    kind: prereq
    title: Preflight checks
    with:
      checks:
        - check: authenticated
  - id: wait-models
    kind: wait-jobs
    title: Wait for model downloads
    timeout: 60m
    retry: { attempts: 5, base: 2s, cap: 30s }
    with: { namespace: demo, jobs: [download-mistral] }
  - id: benchmarks
    kind: benchmark
    title: Benchmarks
    switch: benchmarks
    with: { namespace: demo, jobs: [guidellm] }
";

fn problems(text: &str) -> Vec<String> {
    match LoadedStage::parse("stages/stage1.yaml", text) {
        Err(p) => vec![format!("{p}\nhint: {}", p.hint.clone().unwrap_or_default())],
        Ok(stage) => StageSet::from_stages(vec![stage])
            .validate(None)
            .into_iter()
            .map(|p| format!("{p}\nhint: {}", p.hint.clone().unwrap_or_default()))
            .collect(),
    }
}

/// `GOOD` with `from` replaced by `to`, and every problem it has, as `file:line:col: message` + hint.
fn problems_after(from: &str, to: &str) -> Vec<String> {
    let text = GOOD.replace(from, to);
    assert_ne!(text, GOOD, "the edit `{from}` does not apply");
    problems(&text)
}

#[test]
fn the_good_file_has_no_problems() {
    assert_eq!(problems(GOOD), Vec::<String>::new());
}

/// Each case: (what to replace, replacement, the exact problem with its hint).
const BAD: &[(&str, &str, &str)] = &[
    (
        "    timeout: 60m\n",
        "    tiemout: 60m\n",
        "stages/stage1.yaml:22:5: `steps[1].tiemout`: unknown field `tiemout`\nhint: did you mean `timeout`?",
    ),
    (
        "        - check: authenticated\n",
        "        - check: authenticated\n          nmae: x\n",
        "stages/stage1.yaml:19:11: `steps[0].with.checks[0].nmae`: unknown field `nmae`\nhint: did you mean `name`?",
    ),
    (
        "    kind: wait-jobs\n",
        "    kind: wait-job\n",
        "stages/stage1.yaml:20:11: `steps[1].kind`: unknown step kind `wait-job`\nhint: did you mean `wait-jobs`?",
    ),
    (
        "    kind: wait-jobs\n",
        "    kind: helm\n",
        "stages/stage1.yaml:20:11: `steps[1].kind`: unknown step kind `helm`\nhint: known kinds: `prereq`, `apply`, `wait-ready`, `gpu-machinesets`, `wait-gpu`, `free-gpus`, `wait-jobs`, `run-job`, `benchmark`, `lm-eval`, `collections`, `patch`, `secret` or `summary`",
    ),
    (
        "    timeout: 60m\n",
        "    timeout: 60 parsecs\n",
        "stages/stage1.yaml:22:14: `steps[1].timeout`: invalid duration `60 parsecs`\nhint: write it like `90s`, `5m` or `1h 30m` (unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations))",
    ),
    (
        "expectedDuration: 40m\n",
        "expectedDuration: 40m\nfoo: 1\n",
        "stages/stage1.yaml:8:1: `foo`: unknown field `foo`\nhint: expected `id`, `number`, `slug`, `title`, `description`, `requires`, `overlay`, `expectedDuration`, `switches` or `steps`",
    ),
    (
        "number: 1\n",
        "number: one\n",
        "stages/stage1.yaml:2:9: `number`: expected a whole number\nhint: ",
    ),
    (
        "    with: { namespace: demo, jobs: [download-mistral] }\n",
        "    with: { namespace: demo }\n",
        "stages/stage1.yaml:24:13: `steps[1].with`: missing field `jobs`\nhint: add `jobs:` to this mapping",
    ),
    (
        "    with: { namespace: demo, jobs: [download-mistral] }\n",
        "",
        "stages/stage1.yaml:19:5: `steps[1]`: step `wait-models` of kind `wait-jobs` needs `with:`\nhint: its parameters are required (missing field `namespace`)",
    ),
    (
        "  - id: wait-models\n    kind: wait-jobs\n",
        "  - id: wait-models\n    with: {}\n    kind: wait-jobs\n",
        "stages/stage1.yaml:20:11: `steps[1].with`: `with` comes before `kind`\nhint: write `kind:` before `with:` so the parameters can be checked for that kind",
    ),
    (
        "    switch: benchmarks\n",
        "    switch: benchmark\n",
        "stages/stage1.yaml:28:13: `steps[2].switch`: undeclared switch `benchmark`\nhint: did you mean `benchmarks`?",
    ),
    (
        "  - id: benchmarks\n",
        "  - id: wait-models\n",
        "stages/stage1.yaml:25:9: `steps[2].id`: duplicate step id `wait-models`\nhint: the first `wait-models` is on line 19; step ids must be unique within a stage",
    ),
    (
        "    title: Benchmarks\n",
        "",
        "stages/stage1.yaml:28:5: `steps[2]`: missing field `title`\nhint: add `title:` to this mapping",
    ),
    (
        "        - check: authenticated\n",
        "        - check: authenticate\n",
        "stages/stage1.yaml:18:18: `steps[0].with.checks[0].check`: unknown variant `authenticate`\nhint: did you mean `authenticated`?",
    ),
    (
        "title: Sovereign AI\n",
        "title: Sovereign AI\n\ttabbed: x\n",
        "stages/stage1.yaml:4:8: while scanning a plain scalar, found a tab\nhint: indent with spaces: YAML does not allow tabs",
    ),
    (
        "  - id: wait-models\n",
        "  - id: Wait_Models\n",
        "stages/stage1.yaml:19:9: `steps[1].id`: step id `Wait_Models` is not kebab-case\nhint: use lowercase letters, digits and `-`, like `wait-models`",
    ),
    (
        "    timeout: 60m\n",
        "    timeout: 0s\n",
        "stages/stage1.yaml:22:14: `steps[1].timeout`: timeout must be more than zero\nhint: ",
    ),
    (
        "switches:\n",
        "switches:\n  - name: dry-run\n    default: false\n",
        "stages/stage1.yaml:9:11: `switches[0].name`: switch name `dry-run` clashes with the `--dry-run` option of `deploy`\nhint: pick another name",
    ),
    (
        "steps:\n",
        "requires: [stage0]\nsteps:\n",
        "stages/stage1.yaml:12:12: `requires[0]`: unknown stage `stage0`\nhint: did you mean `stage1`?",
    ),
    (
        "        - check: authenticated\n",
        "        - check: authenticated\n          switch: lm-eval\n",
        "stages/stage1.yaml:19:19: `steps[0].with.checks[0].switch`: undeclared switch `lm-eval`\nhint: declare it under `switches:` with `name: lm-eval` and a `default`",
    ),
    (
        "    with: { namespace: demo, jobs: [guidellm] }\n",
        "    with: { namespace: demo, jobs: guidellm }\n",
        "stages/stage1.yaml:29:36: `steps[2].with.jobs`: expected a list\nhint: write it as `[a, b]` or as `- a` lines",
    ),
    (
        "    with: { namespace: demo, jobs: [guidellm] }\n",
        "    with: { namespace: demo, jobs: [guidellm], results: r, publish: { job: p, switch: registry } }\n",
        "stages/stage1.yaml:29:87: `steps[2].with.publish.switch`: undeclared switch `registry`\nhint: declare it under `switches:` with `name: registry` and a `default`",
    ),
    (
        "    with: { namespace: demo, jobs: [guidellm] }\n",
        "    with: { namespace: demo, jobs: [guidellm], publish: { job: p } }\n",
        "stages/stage1.yaml:29:57: `steps[2].with.publish`: `publish` needs `results`: the Job reads the results ConfigMap\nhint: name the ConfigMap the step writes: `results: benchmark-results`",
    ),
    (
        "    retry: { attempts: 5, base: 2s, cap: 30s }\n",
        "    retry: { attempts: 5, base: 2s }\n",
        "stages/stage1.yaml:23:27: `steps[1].retry`: missing field `cap`\nhint: add `cap:` to this mapping",
    ),
    (
        "id: stage1\n",
        "id: stage1\nid: stage2\n",
        "stages/stage1.yaml:2:1: `id`: duplicate key `id`\nhint: a key may appear only once in a mapping",
    ),
];

#[test]
fn bad_files_give_exact_messages() {
    assert!(BAD.len() >= 20);
    let mut mismatches = Vec::new();
    for (from, to, expected) in BAD {
        let got = problems_after(from, to);
        if got != [expected.to_string()] {
            mismatches.push(format!(
                "edit {to:?}\n  expected: {expected:?}\n  got:      {got:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn validation_lists_every_problem_at_once() {
    let text = GOOD
        .replace("  - id: benchmarks\n", "  - id: wait-models\n")
        .replace("    switch: benchmarks\n", "    switch: benchmark\n")
        .replace(
            "retry: { attempts: 5, base: 2s, cap: 30s }",
            "retry: { attempts: 0, base: 2m, cap: 30s }",
        );
    assert_eq!(
        problems(&text),
        [
            "stages/stage1.yaml:23:24: `steps[1].retry.attempts`: `attempts` must be at least 1\nhint: `attempts` counts the first try too",
            "stages/stage1.yaml:23:33: `steps[1].retry.base`: `base` is longer than `cap`\nhint: the delay starts at `base` and doubles up to `cap`",
            "stages/stage1.yaml:25:9: `steps[2].id`: duplicate step id `wait-models`\nhint: the first `wait-models` is on line 19; step ids must be unique within a stage",
            "stages/stage1.yaml:28:13: `steps[2].switch`: undeclared switch `benchmark`\nhint: did you mean `benchmarks`?",
        ]
    );
}

fn write_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn load_problems(root: &Path) -> Vec<String> {
    match StageSet::load(root) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems
            .iter()
            .map(|p| format!("{p}\nhint: {}", p.hint.clone().unwrap_or_default()))
            .collect(),
    }
}

const KUSTOMIZATION: &str = "resources: []\n";

#[test]
fn loading_checks_overlays_and_stage_references() {
    let stage2 = GOOD
        .replace(
            "id: stage1\nnumber: 1\nslug: sovereign-ai",
            "id: stage2\nnumber: 2\nslug: rag",
        )
        .replace(
            "overlay: gitops/overlays/stage1",
            "overlay: gitops/overlays/stage-2",
        )
        .replace("steps:\n", "requires: [stage1, stage3]\nsteps:\n");
    let stage3 = GOOD.replace(
        "id: stage1\nnumber: 1\nslug: sovereign-ai",
        "id: stage3\nnumber: 3\nslug: agents",
    );
    let dir = write_project(&[
        ("stages/stage1.yaml", GOOD),
        ("stages/stage2.yaml", &stage2),
        ("stages/stage3.yaml", &stage3),
        ("gitops/overlays/stage1/kustomization.yaml", KUSTOMIZATION),
    ]);
    assert_eq!(
        load_problems(dir.path()),
        [
            "stages/stage2.yaml:12:20: `requires[1]`: stage `stage2` requires stage `stage3`, which comes later\nhint: a stage may only require stages with a lower number",
            "stages/stage2.yaml:6:10: `overlay`: overlay `gitops/overlays/stage-2` has no kustomization file\nhint: overlay paths are relative to the project root, e.g. `gitops/overlays/stage1`",
        ]
    );
}

#[test]
fn duplicate_stage_ids_name_both_files() {
    let dir = write_project(&[
        ("stages/stage1.yaml", GOOD),
        (
            "stages/stage1-copy.yaml",
            &GOOD.replace("number: 1", "number: 2"),
        ),
        ("gitops/overlays/stage1/kustomization.yaml", KUSTOMIZATION),
    ]);
    assert_eq!(
        load_problems(dir.path()),
        [
            "stages/stage1-copy.yaml:1:5: `id`: duplicate stage id `stage1`\nhint: `stages/stage1.yaml` uses it too"
        ]
    );
}

#[test]
fn every_file_is_parsed_before_giving_up() {
    let dir = write_project(&[
        (
            "stages/stage1.yaml",
            &GOOD.replace("    timeout: 60m\n", "    tiemout: 60m\n"),
        ),
        ("stages/stage2.yaml", "id: [\n"),
        ("gitops/overlays/stage1/kustomization.yaml", KUSTOMIZATION),
    ]);
    let problems = load_problems(dir.path());
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("stages/stage1.yaml:22:5:"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("stages/stage2.yaml:"),
        "{problems:?}"
    );
}

#[test]
fn an_empty_stage_folder_is_an_error() {
    let dir = write_project(&[("stages/README.md", "")]);
    assert_eq!(
        load_problems(dir.path()),
        [
            "stages: no stage files (`*.yaml`)\nhint: add `stages/stage1.yaml`; see the stage file reference in docs/commands.md"
        ]
    );
}

#[test]
fn stages_resolve_by_id_number_and_slug() {
    let set = StageSet::from_stages(vec![
        LoadedStage::parse("stages/stage1.yaml", GOOD).unwrap(),
    ]);
    for name in ["stage1", "1", "sovereign-ai"] {
        assert_eq!(set.resolve(name).unwrap().stage.id, "stage1");
    }
    let err = set.resolve("stage-1").unwrap_err();
    assert_eq!(err.to_string(), "no stage `stage-1`");
    assert_eq!(err.hint, "did you mean `stage1`?");
}

#[test]
fn unknown_step_ids_suggest_the_closest() {
    let stage = LoadedStage::parse("stages/stage1.yaml", GOOD).unwrap();
    assert_eq!(stage.step_index("benchmarks").unwrap(), 2);
    let err = stage.step_index("wait-model").unwrap_err();
    assert_eq!(err.to_string(), "stage `stage1` has no step `wait-model`");
    assert_eq!(err.hint, "did you mean `wait-models`?");
}

#[test]
fn components_no_overlay_provides_are_dangling() {
    let text = GOOD.replace(
        "steps:\n",
        "steps:\n  - id: apply-models\n    kind: apply\n    title: Apply\n    with: { components: [model-loader, modelregistry] }\n",
    );
    let stage = LoadedStage::parse("stages/stage1.yaml", &text).unwrap();
    let set = StageSet::from_stages(vec![stage.clone()]);
    let provided = ["model-loader".to_owned(), "model-registry".to_owned()]
        .into_iter()
        .collect();
    let problems: Vec<String> = set
        .check_components(&stage, &provided)
        .iter()
        .map(|p| format!("{p} ({})", p.hint.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        problems,
        [
            "stages/stage1.yaml:16:40: `steps[0].with.components[1]`: no object of overlay `gitops/overlays/stage1` belongs to component `modelregistry` (did you mean `model-registry`?)"
        ]
    );
}

/// Issue #13: one typo in `stages/stage1.yaml` gave five errors, four of them follow-ons
/// ("unknown stage `stage1`, did you mean `stage2`?" from the stages that require it).
#[test]
fn a_broken_stage_file_is_reported_once_without_follow_on_errors() {
    let demo = crate::harness::Demo::repo();
    let path = demo.path().join("stages/stage1.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replacen("    timeout: 2m\n", "    tiemout: 2m\n", 1);
    assert_ne!(bad, text);
    std::fs::write(&path, bad).unwrap();
    let run = demo.run(&["validate"]);
    run.expect_code(1);
    assert!(
        run.stderr.starts_with("error: stages/stage1.yaml:")
            && run.stderr.contains("unknown field `tiemout`")
            && run.stderr.contains("hint: did you mean `timeout`?"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("unknown stage"), "{}", run.stderr);
    assert_eq!(run.stderr.matches("error").count(), 1, "{}", run.stderr);
    // The other commands report the same single root cause.
    let run = demo.run(&["deploy", "stage3", "--dry-run"]);
    run.expect_code(2);
    assert!(!run.stderr.contains("unknown stage"), "{}", run.stderr);
}

/// Issue #13: `id: stage1` changed to `id: stgae1` in `stages/stage1.yaml` gave four errors,
/// all in stage2 and stage3 ("unknown stage `stage1`, did you mean `stage2`?"), and never the
/// root cause. Now: one problem, on the file's `id`, naming the stages that require `stage1`.
#[test]
fn a_stage_id_that_is_not_its_file_name_is_the_one_problem_not_its_requirers() {
    let demo = crate::harness::Demo::repo();
    let path = demo.path().join("stages/stage1.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replacen("\nid: stage1\n", "\nid: stgae1\n", 1);
    assert_ne!(bad, text);
    std::fs::write(&path, bad).unwrap();
    let line = text
        .lines()
        .position(|l| l == "id: stage1")
        .map(|i| i + 1)
        .unwrap();
    let run = demo.run(&["validate"]);
    run.expect_code(1);
    let expected = format!(
        "error: stages/stage1.yaml:{line}:5: `id`: declares `stgae1`, but the file is `stage1.yaml` and stage2, stage3 require `stage1`\n  hint: write `id: stage1` (or rename the file and every `stage1` that names it)\n"
    );
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert!(!run.stderr.contains("unknown stage"), "{}", run.stderr);
    assert_eq!(run.stderr.matches("error").count(), 1, "{}", run.stderr);
    // The commands that load the stages say the same, once.
    let run = demo.run(&["deploy", "stage3", "--dry-run"]);
    run.expect_code(2);
    assert!(run.stderr.contains("declares `stgae1`"), "{}", run.stderr);
    assert!(!run.stderr.contains("unknown stage"), "{}", run.stderr);
}

/// `restartPods` names its pods by exactly one of `deployment` and `selector`.
#[test]
fn restart_pods_needs_exactly_one_of_deployment_and_selector() {
    let step = |pods: &str| {
        format!(
            "{GOOD}  - id: operator-config
    kind: patch
    title: Configure the operator
    with:
      target: {{apiVersion: v1, kind: ConfigMap, name: c, namespace: ops}}
      patch: {{data: {{a: b}}}}
      restartPods: {{namespace: ops, {pods}what: the operator}}
"
        )
    };
    for pods in ["deployment: op, ", "selector: app=op, "] {
        assert_eq!(problems(&step(pods)), Vec::<String>::new(), "{pods}");
    }
    for pods in ["", "deployment: op, selector: app=op, "] {
        let p = problems(&step(pods));
        assert_eq!(p.len(), 1, "{pods}: {p:?}");
        assert!(
            p[0].contains("`steps[3].with.restartPods`: `restartPods` needs exactly one of `deployment` and `selector`"),
            "{p:?}"
        );
    }
}
