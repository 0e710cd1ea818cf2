//! The fidelity cases of `tests/fidelity/` (kubectl and curl scripts with the normalised answers
//! of a real kube-apiserver v1.36.2) run against `democtl sim serve --no-controllers`, the same
//! way `tests/fidelity/compare.sh` runs them against any server. Every case passes except those
//! listed in `tests/fidelity/known-failing.txt`, and every listed case still fails (so the list
//! shrinks as the simulator improves). Skipped (with a printed reason) only when kubectl is not
//! installed, like the other kubectl tests; then curl and jq are required (tests/run.sh installs
//! them when run as root).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `democtl sim serve` child process, interrupted (then killed) on drop.
struct Serve {
    child: Child,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fidelity_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fidelity")
}

/// `case -> reason` from known-failing.txt: the failing cases, and the racy ones (`racy `).
fn known_failing() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let text = std::fs::read_to_string(fidelity_dir().join("known-failing.txt")).unwrap();
    let (mut failing, mut racy) = (BTreeMap::new(), BTreeMap::new());
    for l in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (list, l) = match l.strip_prefix("racy ") {
            Some(rest) => (&mut racy, rest.trim_start()),
            None => (&mut failing, l),
        };
        match l.split_once(char::is_whitespace) {
            Some((case, why)) => list.insert(case.to_string(), why.trim().to_string()),
            None => panic!("known-failing.txt: `{l}` has no reason"),
        };
    }
    (failing, racy)
}

/// Whether a diff differs from the reference only in exit codes of a pipe's SIGPIPE race: each
/// changed `[rc=..]` line pairs 0 with 141, in either direction (the reference's kubectl lost the
/// race in case 07 and won it in case 47), and nothing else changed.
fn only_sigpipe(diff: &str) -> bool {
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .collect();
    let added: Vec<&str> = changed.iter().filter_map(|l| l.strip_prefix('+')).collect();
    let removed: Vec<&str> = changed.iter().filter_map(|l| l.strip_prefix('-')).collect();
    !changed.is_empty()
        && added.len() == removed.len()
        && removed
            .iter()
            .zip(&added)
            .all(|(was, is)| matches!((*was, *is), ("[rc=0]", "[rc=141]") | ("[rc=141]", "[rc=0]")))
}

#[test]
fn only_a_sigpipe_exit_code_counts_as_the_race() {
    let race = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n ### K x | head -3\n-[rc=0]\n+[rc=141]\n";
    assert!(only_sigpipe(race));
    assert!(only_sigpipe("--- a\n+++ b\n-[rc=141]\n+[rc=0]\n"));
    assert!(!only_sigpipe(
        "--- a\n+++ b\n-yes\n+no\n-[rc=0]\n+[rc=141]\n"
    ));
    assert!(!only_sigpipe("--- a\n+++ b\n-[rc=0]\n+[rc=1]\n"));
    assert!(!only_sigpipe("--- a\n+++ b\n-[rc=1]\n+[rc=141]\n"));
    assert!(!only_sigpipe("--- a\n+++ b\n"));
}

fn installed(tool: &str, version_arg: &str) -> bool {
    Command::new(tool)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_simulated_api_server_answers_the_fidelity_cases_like_kube_apiserver() {
    if !installed("kubectl", "--help") {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIPPED: kubectl is not installed; the fidelity cases did not run");
        }
        return;
    }
    for tool in ["curl", "jq"] {
        assert!(
            installed(tool, "--version"),
            "the fidelity cases need `{tool}` (Debian: apt-get install {tool}; tests/run.sh does it as root)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let child = Command::new(env!("CARGO_BIN_EXE_democtl"))
        .args(["sim", "serve", "--no-controllers", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .arg("--project-dir")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut serve = Serve { child };
    // The kubeconfig is written once the server answers; its first stdout line says so too.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !kubeconfig.exists() {
        if let Ok(Some(status)) = serve.child.try_wait() {
            panic!("democtl sim serve exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "sim serve did not write its kubeconfig"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Give the writer a moment to finish the file it just created.
    std::thread::sleep(Duration::from_millis(300));

    let out = dir.path().join("out");
    let run = Command::new("bash")
        .arg(fidelity_dir().join("compare.sh"))
        .arg(&kubeconfig)
        .env("FIDELITY_OUT", &out)
        .output()
        .unwrap();
    drop(serve);
    let report = String::from_utf8_lossy(&run.stdout).into_owned();

    let (known, racy) = known_failing();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let mut seen = 0;
    for line in report.lines() {
        let (passed, rest) = if let Some(rest) = line.strip_prefix("PASS ") {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("FAIL ") {
            (false, rest)
        } else {
            continue;
        };
        seen += 1;
        let case = rest.split_whitespace().next().unwrap_or(rest);
        match (passed, known.contains_key(case)) {
            (false, false) => {
                let diff =
                    std::fs::read_to_string(out.join(format!("{case}.diff"))).unwrap_or_default();
                if racy.contains_key(case) && only_sigpipe(&diff) {
                    #[allow(clippy::print_stderr)]
                    {
                        eprintln!("{case}: lost the harness's SIGPIPE race (known, racy)");
                    }
                    continue;
                }
                unexpected.push(format!("{case}:\n{diff}"));
            }
            (true, true) => fixed.push(case.to_string()),
            _ => {}
        }
    }
    let cases = std::fs::read_dir(fidelity_dir().join("cases"))
        .unwrap()
        .count();
    assert_eq!(
        seen, cases,
        "compare.sh did not report every case:\n{report}"
    );
    for case in known.keys().chain(racy.keys()) {
        assert!(
            fidelity_dir().join(format!("cases/{case}.sh")).exists(),
            "known-failing.txt names `{case}`, which is not a case"
        );
    }
    assert!(
        unexpected.is_empty(),
        "cases that differ from kube-apiserver (`-` real, `+` simulated):\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these cases pass now: remove them from tests/fidelity/known-failing.txt: {fixed:?}"
    );
}
