//! `democtl validate`: every stage file, every overlay, offline. Exit 0 when all is well.

use super::{AppError, Ctx, print_stdout};

/// Loads and checks every stage file and lists every problem at once.
pub async fn run(ctx: &Ctx) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let stages = crate::stage::StageSet::load(project.root()).map_err(AppError::Invalid)?;
    if super::chatty(&ctx.output) {
        let mut text = String::new();
        for s in stages.stages() {
            text.push_str(&format!(
                "ok  {}  {} ({} steps)\n",
                s.file.display(),
                s.stage.title,
                s.stage.steps.len()
            ));
        }
        print_stdout(&text)?;
    }
    Ok(crate::exit::OK)
}
