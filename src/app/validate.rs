//! `democtl validate`: every stage file and every overlay, offline. Exit 0 when all is well,
//! 1 with every problem listed.

use super::{AppError, Ctx, print_stdout, render};
use crate::stage::{LoadError, Problem, StageSet};

/// Loads and checks every stage file, renders every overlay, checks the components the steps
/// name, and lists every problem at once.
pub async fn run(ctx: &Ctx) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let (stages, mut problems) = StageSet::load_all(project.root());
    let mut lines = Vec::new();
    // Later stages' overlays include earlier ones: the same broken file fails each of them,
    // and only its first failure is a problem of its own.
    let mut render_causes = std::collections::BTreeSet::new();
    for s in stages.stages() {
        let overlay = project.root().join(&s.stage.overlay);
        if !overlay.is_dir() {
            continue; // Already a problem of the stage file.
        }
        match render::dir_objects(&overlay) {
            Ok(objects) => {
                let provided = render::components(&objects);
                problems.extend(stages.check_components(s, &provided));
                lines.push(format!(
                    "ok  {}  {} ({} steps, {} objects)\n",
                    s.file.display(),
                    s.stage.title,
                    s.stage.steps.len(),
                    objects.len()
                ));
            }
            Err(e) => {
                let report = super::error_report(&e);
                if !report.chain.is_empty() && !render_causes.insert(report.chain.clone()) {
                    continue;
                }
                let mut message = report.message;
                for cause in report.chain {
                    message.push_str(&format!(": {cause}"));
                }
                problems.push(s.problem("overlay", message, report.hint));
            }
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(LoadError {
            problems: dedup(problems),
        }));
    }
    if super::chatty(&ctx.output) {
        print_stdout(&lines.concat())?;
    }
    Ok(crate::exit::OK)
}

fn dedup(mut problems: Vec<Problem>) -> Vec<Problem> {
    let mut seen = Vec::new();
    problems.retain(|p| {
        let key = p.to_string();
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    problems
}
