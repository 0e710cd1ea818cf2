//! `democtl validate`: every stage file and every overlay, offline. Exit 0 when all is well,
//! 1 with every problem listed. `--images` also asks the registries about every image
//! (see [`crate::registry`]).

use std::path::PathBuf;

use super::{AppError, Ctx, print_stdout, render};
use crate::cli::ValidateArgs;
use crate::registry::{Checker, ImageRef, Verdict};
use crate::stage::{LoadError, Problem, StageSet};

/// Loads and checks every stage file, renders every overlay, checks the components the steps
/// name, and lists every problem at once.
pub async fn run(ctx: &Ctx, args: &ValidateArgs) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let (stages, mut problems) = StageSet::load_all(project.root());
    let mut lines = Vec::new();
    // Images per overlay (the overlay file names them in problems).
    let mut images: Vec<(ImageRef, String, PathBuf)> = Vec::new();
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
                if args.images {
                    for (image, owner) in crate::registry::images_of(&objects) {
                        match ImageRef::parse(&image) {
                            Ok(r) => images.push((r, owner, s.stage.overlay.clone().into())),
                            Err(e) => problems.push(Problem {
                                file: s.stage.overlay.clone().into(),
                                pos: None,
                                field: Some(format!("{owner} image")),
                                message: e.to_string(),
                                hint: Some(
                                    "write it as [registry/]repository[:tag|@digest]".into(),
                                ),
                            }),
                        }
                    }
                }
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
    if args.images && problems.is_empty() {
        let (report, missing) = check_images(&images, args.registry_timeout).await?;
        lines.push(report);
        problems.extend(missing);
    }
    if !problems.is_empty() {
        if args.images && super::chatty(&ctx.output) {
            print_stdout(&lines.concat())?;
        }
        return Err(AppError::Invalid(LoadError {
            problems: dedup(problems),
        }));
    }
    if super::chatty(&ctx.output) {
        print_stdout(&lines.concat())?;
    }
    Ok(crate::exit::OK)
}

/// Asks the registries about every distinct image: a report (one line per image: `ok`,
/// `missing`, `unchecked` with why) and a problem for each missing one. An image that could not
/// be checked (registry unreachable, credentials needed) is said, not counted as missing.
async fn check_images(
    images: &[(ImageRef, String, PathBuf)],
    timeout: std::time::Duration,
) -> Result<(String, Vec<Problem>), AppError> {
    let checker = Checker::new(timeout).map_err(|e| AppError::Usage {
        message: format!("cannot check images: no TLS root certificates on this machine ({e})"),
        hint: Some(
            "install the system's CA certificates (Debian: `apt-get install ca-certificates`)"
                .into(),
        ),
    })?;
    let refs: Vec<ImageRef> = images.iter().map(|(r, _, _)| r.clone()).collect();
    let verdicts = checker.check_all(&refs).await;
    let mut out = format!(
        "images: {} distinct in {} references\n",
        verdicts.len(),
        images.len()
    );
    let (mut found, mut unchecked) = (0, 0);
    let mut problems = Vec::new();
    for (image, verdict) in &verdicts {
        let users: Vec<&str> = images
            .iter()
            .filter(|(r, _, _)| r.original == image.original)
            .map(|(_, owner, _)| owner.as_str())
            .collect();
        let mut users_dedup = users.clone();
        users_dedup.dedup();
        let used_by = users_dedup.join(", ");
        match verdict {
            Verdict::Found(digest) => {
                found += 1;
                let digest = digest
                    .as_deref()
                    .map(|d| format!(" {}", &d[..d.len().min(19)]))
                    .unwrap_or_default();
                out.push_str(&format!("  ok         {}{digest}\n", image.original));
            }
            Verdict::Missing(why) => {
                out.push_str(&format!(
                    "  missing    {}  {why} (used by {used_by})\n",
                    image.original
                ));
                let file = images
                    .iter()
                    .find(|(r, _, _)| r.original == image.original)
                    .map(|(_, _, f)| f.clone())
                    .unwrap_or_default();
                problems.push(Problem {
                    file,
                    pos: None,
                    field: Some(format!("{} image", users.first().copied().unwrap_or("?"))),
                    message: format!("image `{}` does not exist: {why}", image.original),
                    hint: Some(
                        "push the image, or correct its name or tag in the manifest (or its `images:` entry)"
                            .into(),
                    ),
                });
            }
            Verdict::Refused(why) | Verdict::Unreachable(why) => {
                unchecked += 1;
                out.push_str(&format!("  unchecked  {}  {why}\n", image.original));
            }
        }
    }
    out.push_str(&format!(
        "images: {found} found, {} missing, {unchecked} not checked{}\n",
        problems.len(),
        if unchecked > 0 {
            " (a registry could not be asked: run again where it can be reached, or check those by hand)"
        } else {
            ""
        }
    ));
    Ok((out, problems))
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
