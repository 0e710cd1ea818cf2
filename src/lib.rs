//! democtl deploys the three-stage "Private AI" demo on Red Hat OpenShift AI.
//!
//! Architecture map (who owns what; arrows are the only allowed `use crate::` directions):
//!
//! ```text
//! main.rs ─▶ app ──▶ everything            (the only layer that prompts, reads `.env`, picks reporters)
//!            cli                            (clap types only; no I/O)
//!            exit                           (exit codes)
//!            project                        (find the project root)
//!            stage      ─▶ (nothing)        (stage files: schema, load, validation; pure)
//!            runner     ─▶ (nothing)        (sequential runner; emits RunEvents; never prints)
//!            report     ─▶ runner::event    (TTY, plain and JSON-lines reporters of the same events;
//!                          runner::sensitive  and the secret masking every reporter applies)
//!            steps      ─▶ cluster, readiness, kustomize, stage, runner::step
//!            cluster    ─▶ readiness        (everything that calls kube)
//!            readiness  ─▶ (nothing)        (kstatus-style rules; pure)
//!            kustomize  ─▶ merge, selector  (pure Kustomize renderer)
//!            merge      ─▶ (nothing)        (strategic-merge / JSON-merge patch semantics shared by kustomize and sim)
//!            selector   ─▶ (nothing)        (label selectors, shared by kustomize and sim)
//!            sim        ─▶ merge, selector  (simulated API server + world controllers; imports nothing else)
//!            registry   ─▶ (nothing)        (container registries: does an image exist? `validate --images`)
//! ```

pub mod app;
pub mod cli;
pub mod cluster;
pub mod exit;
pub mod kustomize;
pub mod merge;
pub mod project;
pub mod readiness;
pub mod registry;
pub mod report;
pub mod runner;
pub mod selector;
pub mod sim;
pub mod stage;
pub mod steps;

#[cfg(test)]
mod tests {
    /// The arrows above, for the layers that must stay pure: `runner` and `stage` import
    /// nothing else from democtl, `report` only the runner's events (and its secret masking).
    #[test]
    fn pure_layers_import_only_what_the_map_allows() {
        let allowed: &[(&str, &[&str])] = &[
            ("runner", &["crate::runner"]),
            ("stage", &["crate::stage"]),
            ("registry.rs", &["crate::registry"]),
            (
                "report",
                &[
                    "crate::report",
                    "crate::runner::event",
                    "crate::runner::sensitive",
                ],
            ),
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut violations = Vec::new();
        for (module, ok) in allowed {
            let mut files = vec![root.join(module)];
            while let Some(path) = files.pop() {
                if path.is_dir() {
                    for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                        files.push(entry.path());
                    }
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (i, line) in text.lines().enumerate() {
                    if line.trim_start().starts_with("//") {
                        continue;
                    }
                    for (at, _) in line.match_indices("crate::") {
                        let rest = &line[at..];
                        if !ok.iter().any(|prefix| rest.starts_with(prefix)) {
                            violations.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                i + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            violations.is_empty(),
            "imports against the architecture map:\n{}",
            violations.join("\n")
        );
    }
}

#[cfg(test)]
mod forbid {
    /// No placeholders in shipped code (just's `bin/forbid`).
    #[test]
    fn no_placeholders() {
        let needles = [
            concat!("todo", "!("),
            concat!("unimplemented", "!("),
            concat!("FIX", "ME"),
            concat!("dbg", "!("),
        ];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = Vec::new();
        let mut files = vec![root.join("src"), root.join("tests")];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                    files.push(entry.path());
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (i, line) in text.lines().enumerate() {
                    if needles.iter().any(|n| line.contains(n)) {
                        found.push(format!("{}:{}", path.display(), i + 1));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "placeholders left in:\n{}",
            found.join("\n")
        );
    }
}
