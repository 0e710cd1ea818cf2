//! `apply`: server-side apply of the stage's rendered objects for the named components, through
//! `cluster::apply` (tiers, CRD gating, conflicts taken over and reported, ApplySet ownership).
//! Empty `components` = every object of the overlay that no other `apply` step of the stage
//! names. In a dry run the step outputs the kapp-style plan table and one masked diff per
//! changed object; with `wait: true` it then waits for what it applied to be ready.

use futures::future::BoxFuture;
use serde_json::Value;

use super::selection::component_of;
use super::{BuildError, StepEnv, boxed, cluster_failure, own_deadline, select_objects};
use crate::cluster::ObjectKey;
use crate::cluster::apply::ApplyResult;
use crate::cluster::diff::{self, PLAN_COLUMNS};
use crate::runner::event::StepOutput;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{ApplyParams, StepParams};
use crate::stage::schema::{StepKind, StepSpec};

/// The built step.
pub struct ApplyStep {
    env: StepEnv,
    params: ApplyParams,
    /// Components other apply steps of the stage name (excluded when `components` is empty).
    others: Vec<String>,
}

/// Checks that every named component is rendered and that the selection is not empty.
pub fn build(spec: &StepSpec, p: &ApplyParams, env: &StepEnv) -> Result<Box<dyn Step>, BuildError> {
    for c in &p.components {
        if !env
            .objects
            .iter()
            .any(|o| component_of(o) == Some(c.as_str()))
        {
            return Err(BuildError::NotRendered {
                step: spec.id.clone(),
                object: format!("component `{c}`"),
                overlay: env.stage.overlay.clone(),
            });
        }
    }
    let others: Vec<String> = if p.components.is_empty() {
        env.stage
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::Apply && s.id != spec.id)
            .filter_map(|s| match &s.with {
                StepParams::Apply(a) => Some(a.components.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    } else {
        Vec::new()
    };
    Ok(Box::new(ApplyStep {
        env: env.clone(),
        params: p.clone(),
        others,
    }))
}

impl ApplyStep {
    fn objects(&self, ctx: &StepCtx) -> Result<Vec<Value>, StepError> {
        // A dry run of stages not deployed yet cannot know what their steps derive (a model's
        // URL): it plans with a visible placeholder instead of failing.
        let value = |k: &str| {
            ctx.value(k).or_else(|| {
                ctx.dry_run
                    .then(|| Value::String(format!("<{k}: known after the deploy>")))
            })
        };
        let selected = select_objects(&self.env.objects, &self.params, &value).map_err(|e| {
            let hint = e.hint();
            let mut err = StepError::new(e.to_string());
            if let Some(h) = hint {
                err = err.with_hint(h);
            }
            err
        })?;
        Ok(selected
            .into_iter()
            .filter(|o| !component_of(o).is_some_and(|c| self.others.iter().any(|x| x == c)))
            .collect())
    }
}

impl Step for ApplyStep {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let objects = self.objects(ctx)?;
            if objects.is_empty() {
                return Ok(StepDone::Degraded(
                    "nothing to apply: the selection is empty".into(),
                ));
            }
            let report = super::apply_objects(&self.env, ctx, &objects)
                .await
                .map_err(|e| {
                    cluster_failure(format!("failed to apply {} objects", objects.len()), e)
                })?;
            for c in &report.conflicts {
                ctx.warn(format!(
                    "{} {} of {} from {}",
                    if report.dry_run {
                        "would take over"
                    } else {
                        "took over"
                    },
                    c.fields.join(", "),
                    c.key.describe(),
                    c.managers.join(", ")
                ));
            }
            if report.dry_run {
                ctx.output(StepOutput {
                    title: format!("plan of `{}`", ctx.step),
                    columns: PLAN_COLUMNS.iter().map(|c| c.to_string()).collect(),
                    rows: diff::plan_rows(&report, &[])
                        .into_iter()
                        .map(|r| vec![r.namespace, r.name, r.kind, r.op, r.wait_to, r.note])
                        .collect(),
                });
                for o in report
                    .objects
                    .iter()
                    .filter(|o| o.result != ApplyResult::Unchanged)
                {
                    if o.diff.is_empty() {
                        continue;
                    }
                    ctx.output(StepOutput {
                        title: format!("diff {}", o.key.describe()),
                        columns: vec!["±".into(), "line".into()],
                        rows: o
                            .diff
                            .iter()
                            .map(|l| vec![l.tag.sign().to_string(), l.text.clone()])
                            .collect(),
                    });
                }
                return Ok(StepDone::Succeeded);
            }
            let counts = report.counts();
            ctx.progress(
                counts
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            if self.params.wait {
                let keys: Vec<ObjectKey> = report.objects.iter().map(|o| o.key.clone()).collect();
                let progress = |m: String| ctx.progress(m);
                self.env
                    .cluster
                    .wait_ready(&keys, own_deadline(ctx), &progress)
                    .await
                    .map_err(|e| cluster_failure("applied objects did not become ready", e))?;
            }
            Ok(StepDone::Succeeded)
        })
    }
}
