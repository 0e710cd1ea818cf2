//! Conformance: democtl's renderer against real kustomize (`kubectl kustomize`, kustomize
//! v5.5) on the corpus under `tests/kustomize/corpus/` and on every kustomization under
//! `gitops/`. Outputs must be identical after parsing and re-serialising each document.
//!
//! Every success case stores kustomize's output as `expected.yaml` in its case directory, and
//! democtl is ALWAYS compared with it, so CI without kubectl still checks real behaviour. Cases
//! named `error-*` must fail; they store kustomize's error (paths and pointers normalised) as
//! `expected-error.txt` where it does not depend on the machine. When kubectl is on PATH, the
//! stored files must also still equal what kubectl prints (a stale file fails). `unsupported-*`
//! cases must be refused by democtl with an error naming the field (kustomize may accept them).
//! Regenerate the stored files with `DEMOCTL_BLESS=1 cargo test --test it kustomize_conformance`
//! (needs kubectl); `KUSTOMIZE_CASE=part` restricts the run to cases whose name contains `part`.
#![expect(
    clippy::print_stderr,
    reason = "the test reports which cases it compared or skipped"
)]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use democtl::kustomize;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Sorted-key JSON of each document: the comparison form.
fn canon(docs: &[Value]) -> Vec<String> {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sort(&m[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    docs.iter()
        .map(|d| serde_json::to_string_pretty(&sort(d)).unwrap())
        .collect()
}

/// kustomize prints YAML 1.2 (go-yaml v3): only `true`/`false` are booleans (`a: oN` is text).
fn parse_stream(text: &str) -> Vec<Value> {
    let opts = serde_saphyr::options! { legacy_octal_numbers: true, strict_booleans: true };
    let docs: Vec<Value> = serde_saphyr::from_str_multiple_with_options(text, opts).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `Ok(stdout)` or `Err(stderr)` from `kubectl kustomize dir`.
fn kubectl_kustomize(dir: &Path) -> Result<String, String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        // kubectl's embedded kustomize calls itself `(devel)` in `buildMetadata:
        // [managedByLabel]`; democtl names the release it renders as, v5.5.0.
        let text = String::from_utf8_lossy(&out.stdout).replace(
            "managed-by: kustomize-(devel)",
            "managed-by: kustomize-v5.5.0",
        );
        Ok(text)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// democtl's render, also round-tripped through its own YAML output (what `democtl render`
/// prints must parse back to the same objects).
fn democtl_render(dir: &Path) -> Result<Vec<Value>, String> {
    let objs = kustomize::build(dir).map_err(|e| {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(c) = src {
            s.push_str(&format!("\n  caused by: {c}"));
            src = c.source();
        }
        s
    })?;
    let text = kustomize::to_yaml(&objs).map_err(|e| e.to_string())?;
    let back = parse_stream(&text);
    assert_eq!(
        canon(&back),
        canon(&objs),
        "to_yaml does not round-trip for {}",
        dir.display()
    );
    Ok(objs)
}

/// kustomize's error without what depends on the machine: klog's timestamp prefix, the
/// deprecation warnings, the checkout's absolute path and Go pointers.
fn normalise_error(stderr: &str, case_dir: &Path) -> String {
    let case = case_dir.display().to_string();
    let mut out = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("# Warning") {
            continue;
        }
        let line = match line.find("\"command failed\" ") {
            Some(i) => &line[i + "\"command failed\" ".len()..],
            None => line,
        };
        let mut line = line.replace(&case, "<case>");
        // `&{0xc0006dedd0 <nil>}`: an address, new on every run.
        while let Some(i) = line.find("0xc") {
            let end = line[i + 2..]
                .find(|c: char| !c.is_ascii_hexdigit())
                .map_or(line.len(), |j| i + 2 + j);
            line.replace_range(i..end, "0x?");
        }
        out.push(line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The diff of two canonical streams, `expected` first.
fn diff(a: &[String], b: &[String], a_name: &str, b_name: &str) -> String {
    similar::TextDiff::from_lines(&a.join("\n---\n"), &b.join("\n---\n"))
        .unified_diff()
        .header(a_name, b_name)
        .to_string()
}

/// Compares one directory of gitops/ with live kubectl; returns a failure description.
fn compare_live(dir: &Path, with_kubectl: bool) -> Option<String> {
    let name = dir.display();
    let ours = match democtl_render(dir) {
        Ok(o) => o,
        Err(e) => return Some(format!("{name}: democtl failed: {e}")),
    };
    if !with_kubectl {
        return None;
    }
    match kubectl_kustomize(dir) {
        Err(k) => Some(format!(
            "{name}: kustomize failed but democtl succeeded; kustomize said: {k}"
        )),
        Ok(text) => {
            let (a, b) = (canon(&parse_stream(&text)), canon(&ours));
            if a != b {
                return Some(format!(
                    "{name}: outputs differ\n{}",
                    diff(&a, &b, "kustomize", "democtl")
                ));
            }
            let ours = kustomize::to_yaml(&ours).unwrap();
            (ours != text).then(|| {
                let d = similar::TextDiff::from_lines(&text, &ours)
                    .unified_diff()
                    .header("kustomize", "democtl render")
                    .to_string();
                format!("{name}: same objects, other text\n{d}")
            })
        }
    }
}

/// Checks one corpus case (`case` holds the stored files, `dir` is what is built); returns a
/// failure description. With `bless`, rewrites the stored files from kubectl first.
fn compare_case(
    name: &str,
    case: &Path,
    dir: &Path,
    with_kubectl: bool,
    bless: bool,
) -> Option<String> {
    let ours = democtl_render(dir);
    if name.starts_with("unsupported-") {
        // Deliberately unsupported (kustomize may accept it): democtl must refuse, naming the field.
        return match ours {
            Err(e) if e.starts_with("unsupported field") => None,
            Err(e) => Some(format!(
                "{name}: expected an `unsupported field` error, got: {e}"
            )),
            Ok(_) => Some(format!("{name}: democtl accepted an unsupported field")),
        };
    }
    let expected_yaml = case.join("expected.yaml");
    let expected_error = case.join("expected-error.txt");
    let live = with_kubectl.then(|| kubectl_kustomize(dir));
    if bless {
        match &live {
            Some(Ok(text)) => std::fs::write(&expected_yaml, text).unwrap(),
            // A remote resource's error is the machine's network error: no stored text.
            Some(Err(e)) if !name.starts_with("error-remote") => {
                std::fs::write(&expected_error, normalise_error(e, case)).unwrap();
            }
            _ => {}
        }
    }
    if name.starts_with("error-") {
        let mut failures = Vec::new();
        if let Ok(objs) = &ours {
            failures.push(format!(
                "{name}: democtl succeeded on an error case ({} objects)",
                objs.len()
            ));
        }
        if expected_yaml.exists() {
            failures.push(format!("{name}: an error case holds expected.yaml"));
        }
        match (&live, std::fs::read_to_string(&expected_error)) {
            (Some(Ok(_)), _) => {
                failures.push(format!("{name}: kustomize succeeded on an error case"));
            }
            (Some(Err(e)), Ok(stored)) if normalise_error(e, case) != stored => {
                failures.push(format!(
                    "{name}: expected-error.txt is stale; kustomize now says:\n{}",
                    normalise_error(e, case)
                ));
            }
            _ => {}
        }
        return (!failures.is_empty()).then(|| failures.join("\n"));
    }
    let stored = match std::fs::read_to_string(&expected_yaml) {
        Ok(t) => canon(&parse_stream(&t)),
        Err(e) => {
            return Some(format!(
                "{name}: cannot read {}: {e}; regenerate it with DEMOCTL_BLESS=1 (needs kubectl)",
                expected_yaml.display()
            ));
        }
    };
    let mut failures = Vec::new();
    if expected_error.exists() {
        failures.push(format!("{name}: a success case holds expected-error.txt"));
    }
    match ours {
        Err(e) => failures.push(format!("{name}: democtl failed: {e}")),
        Ok(objs) => {
            let ours = canon(&objs);
            if ours != stored {
                failures.push(format!(
                    "{name}: democtl differs from expected.yaml\n{}",
                    diff(&stored, &ours, "expected.yaml", "democtl")
                ));
            } else {
                // The same objects: the text must be kustomize's too, byte for byte (quoting
                // styles, escapes, block scalars).
                let text = kustomize::to_yaml(&objs).unwrap();
                let expected = std::fs::read_to_string(&expected_yaml).unwrap();
                if text != expected {
                    let d = similar::TextDiff::from_lines(&expected, &text)
                        .unified_diff()
                        .header("expected.yaml", "democtl render")
                        .to_string();
                    failures.push(format!("{name}: same objects, other text\n{d}"));
                }
            }
        }
    }
    match live {
        Some(Err(k)) => failures.push(format!(
            "{name}: kustomize now fails on a success case: {k}"
        )),
        Some(Ok(text)) => {
            let theirs = canon(&parse_stream(&text));
            if theirs != stored {
                failures.push(format!(
                    "{name}: expected.yaml is stale (regenerate with DEMOCTL_BLESS=1)\n{}",
                    diff(&stored, &theirs, "expected.yaml", "kustomize")
                ));
            }
        }
        None => {}
    }
    (!failures.is_empty()).then(|| failures.join("\n"))
}

/// Every directory under `dir` holding a kustomization (not components).
fn kustomization_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries.iter().filter(|p| p.is_dir()) {
        for f in ["kustomization.yaml", "kustomization.yml", "Kustomization"] {
            if let Ok(text) = std::fs::read_to_string(p.join(f))
                && !text.lines().any(|l| l.trim() == "kind: Component")
            {
                out.push(p.clone());
            }
        }
        kustomization_dirs(p, out);
    }
}

/// The corpus: each case directory builds itself, or the directory named in its `build-dir`.
fn corpus_cases() -> Vec<(String, PathBuf, PathBuf)> {
    let corpus = root().join("tests/kustomize/corpus");
    let mut cases: Vec<(String, PathBuf, PathBuf)> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let dir = match std::fs::read_to_string(e.path().join("build-dir")) {
                Ok(rel) => e.path().join(rel.trim()),
                Err(_) => e.path(),
            };
            (name, e.path(), dir)
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn corpus_matches_kustomize() {
    let with_kubectl = kubectl_available();
    let bless = std::env::var_os("DEMOCTL_BLESS").is_some_and(|v| v == "1");
    assert!(
        !bless || with_kubectl,
        "DEMOCTL_BLESS=1 needs `kubectl` on PATH: stored outputs come only from real kustomize"
    );
    if !with_kubectl {
        eprintln!(
            "SKIP live comparison: `kubectl` not found; checking democtl against the stored outputs only"
        );
    }
    let cases = corpus_cases();
    assert!(
        cases.len() >= 250,
        "the corpus must hold at least 250 cases, found {}",
        cases.len()
    );
    let only = std::env::var("KUSTOMIZE_CASE").ok();
    let selected: Vec<_> = cases
        .iter()
        .filter(|(name, _, _)| only.as_ref().is_none_or(|o| name.contains(o.as_str())))
        .collect();
    let mut failures = Vec::new();
    for (name, case, dir) in &selected {
        // The stored files sit beside kustomization.yaml; kustomize loads only what is listed,
        // so no case may list them.
        let listed = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
            .any(|t| t.contains("expected.yaml") || t.contains("expected-error.txt"));
        if listed {
            failures.push(format!(
                "{name}: its kustomization names a stored output file"
            ));
        }
        failures.extend(compare_case(name, case, dir, with_kubectl, bless));
    }
    let stored = selected
        .iter()
        .filter(|(_, case, _)| case.join("expected.yaml").exists())
        .count();
    eprintln!(
        "{} corpus cases checked, {stored} against a stored expected.yaml",
        selected.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases differ:\n{}",
        failures.len(),
        selected.len(),
        failures.join("\n\n")
    );
}

#[test]
fn gitops_tree_matches_kustomize() {
    let gitops = root().join("gitops");
    let mut dirs = Vec::new();
    kustomization_dirs(&gitops, &mut dirs);
    if dirs.is_empty() {
        eprintln!("SKIP: no kustomizations under {}", gitops.display());
        return;
    }
    let with_kubectl = kubectl_available();
    if !with_kubectl {
        eprintln!(
            "SKIP comparison: `kubectl` not found; only checking that democtl renders gitops/"
        );
    }
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| compare_live(d, with_kubectl))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} gitops kustomizations differ:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
