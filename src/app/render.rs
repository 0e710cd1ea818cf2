//! `democtl render <dir|stage>`: the objects of a kustomization directory or a stage's overlay,
//! as `kustomize build` prints them. Also the render helper `deploy`, `plan`, `validate` and
//! `teardown` use.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{AppError, Ctx, print_stdout};
use crate::cli::RenderArgs;
use crate::kustomize;
use crate::project::Project;
use crate::stage::LoadedStage;
use crate::steps::selection::component_of;

/// Renders a stage's overlay.
pub fn stage_objects(project: &Project, stage: &LoadedStage) -> Result<Vec<Value>, AppError> {
    dir_objects(&project.root().join(&stage.stage.overlay))
}

/// Renders a kustomization directory.
pub fn dir_objects(dir: &Path) -> Result<Vec<Value>, AppError> {
    kustomize::build(dir).map_err(|e| AppError::Other {
        message: format!("cannot render `{}`", dir.display()),
        hint: e.hint(),
        source: Some(Box::new(e)),
        code: crate::exit::USAGE,
    })
}

/// The components (`democtl.io/component` labels) among rendered objects.
pub fn components(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter_map(component_of)
        .map(str::to_owned)
        .collect()
}

pub async fn run(ctx: &Ctx, args: RenderArgs) -> Result<u8, AppError> {
    let as_dir = ctx.cwd.join(&args.target);
    let objects = if as_dir.is_dir() {
        dir_objects(&as_dir)?
    } else {
        let project = ctx.project()?;
        let stages = ctx.stages(&project)?;
        let stage = stages.resolve(&args.target).map_err(|mut e| {
            e.hint = format!("{}; or give a kustomization directory", e.hint);
            AppError::UnknownStage(e)
        })?;
        stage_objects(&project, stage)?
    };
    let text = kustomize::to_yaml(&objects).map_err(|e| AppError::Other {
        message: "cannot write the objects as YAML".into(),
        hint: None,
        source: Some(Box::new(e)),
        code: crate::exit::FAILED,
    })?;
    print_stdout(&text)?;
    Ok(crate::exit::OK)
}
