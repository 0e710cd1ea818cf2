//! Conformance: democtl's renderer against real kustomize (`kubectl kustomize`, kustomize
//! v5.5) on the corpus under `tests/kustomize/corpus/` and on every kustomization under
//! `gitops/`. Outputs must be identical after parsing and re-serialising each document;
//! cases named `error-*` must fail in both; `unsupported-*` cases must be refused by democtl
//! with an error naming the field (kustomize may accept them). Without kubectl, democtl's side is still checked
//! (successes succeed, errors fail) and a skip message says the comparison did not run.
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

fn parse_stream(text: &str) -> Vec<Value> {
    let opts = serde_saphyr::options! { legacy_octal_numbers: true };
    let docs: Vec<Value> = serde_saphyr::from_str_multiple_with_options(text, opts).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `Ok(docs)` or `Err(stderr)` from `kubectl kustomize dir`.
fn kubectl_kustomize(dir: &Path) -> Result<Vec<Value>, String> {
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
        Ok(parse_stream(&text))
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

/// Compares one directory; returns a failure description.
fn compare(dir: &Path, expect_error: bool, with_kubectl: bool) -> Option<String> {
    let ours = democtl_render(dir);
    let name = dir.display();
    if dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("unsupported-"))
    {
        // Deliberately unsupported (kustomize may accept it): democtl must refuse, naming the field.
        return match ours {
            Err(e) if e.starts_with("unsupported field") => None,
            Err(e) => Some(format!(
                "{name}: expected an `unsupported field` error, got: {e}"
            )),
            Ok(_) => Some(format!("{name}: democtl accepted an unsupported field")),
        };
    }
    if !with_kubectl {
        return match (&ours, expect_error) {
            (Ok(_), true) => Some(format!("{name}: democtl succeeded on an error case")),
            (Err(e), false) => Some(format!("{name}: democtl failed: {e}")),
            _ => None,
        };
    }
    let theirs = kubectl_kustomize(dir);
    match (ours, theirs) {
        (Err(_), Err(_)) => None,
        (Ok(_), Err(k)) => Some(format!(
            "{name}: kustomize failed but democtl succeeded; kustomize said: {k}"
        )),
        (Err(e), Ok(_)) => Some(format!(
            "{name}: democtl failed but kustomize succeeded: {e}"
        )),
        (Ok(a), Ok(b)) => {
            let (a, b) = (canon(&a), canon(&b));
            if a == b {
                return None;
            }
            let diff = similar::TextDiff::from_lines(&b.join("\n---\n"), &a.join("\n---\n"))
                .unified_diff()
                .header("kustomize", "democtl")
                .to_string();
            Some(format!("{name}: outputs differ\n{diff}"))
        }
    }
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
fn corpus_cases() -> Vec<(String, PathBuf)> {
    let corpus = root().join("tests/kustomize/corpus");
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let dir = match std::fs::read_to_string(e.path().join("build-dir")) {
                Ok(rel) => e.path().join(rel.trim()),
                Err(_) => e.path(),
            };
            (name, dir)
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn corpus_matches_kustomize() {
    let with_kubectl = kubectl_available();
    if !with_kubectl {
        eprintln!(
            "SKIP comparison: `kubectl` not found; only checking that democtl renders the corpus"
        );
    }
    let cases = corpus_cases();
    assert!(
        cases.len() >= 80,
        "the corpus must hold at least 80 cases, found {}",
        cases.len()
    );
    let only = std::env::var("KUSTOMIZE_CASE").ok();
    let failures: Vec<String> = cases
        .iter()
        .filter(|(name, _)| only.as_ref().is_none_or(|o| name.contains(o.as_str())))
        .filter_map(|(name, dir)| compare(dir, name.starts_with("error-"), with_kubectl))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases differ:\n{}",
        failures.len(),
        cases.len(),
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
        .filter_map(|d| compare(d, false, with_kubectl))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} gitops kustomizations differ:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
