//! `run-job`: delete-then-create a Job (or Tekton PipelineRun) of the stage render with a fixed
//! name, wait until it finishes (failure at once, with its last log lines) and show the last
//! lines of its output. A run that already succeeded from the same rendered spec is kept (its
//! output shown again), so deploying twice changes nothing; a failed or changed one runs again.

use super::ingest_report;
use super::job_run::{self, RunTarget};
use super::job_state;
use super::{BuildError, StepEnv, boxed};
use crate::runner::event::StepOutput;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{RunJobParams, RunKind};
use crate::stage::schema::StepSpec;

/// The built step.
pub struct RunJob {
    env: StepEnv,
    target: RunTarget,
    output_lines: usize,
}

/// Checks that the Job/PipelineRun is in the stage's render.
pub fn build(
    spec: &StepSpec,
    p: &RunJobParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    let target =
        RunTarget::from_render(&env.objects, p.kind, &p.namespace, &p.job).ok_or_else(|| {
            BuildError::NotRendered {
                step: spec.id.clone(),
                object: format!(
                    "`{}/{}` in `{}`",
                    match p.kind {
                        RunKind::Job => "Job",
                        RunKind::PipelineRun => "PipelineRun",
                    },
                    p.job,
                    p.namespace
                ),
                overlay: env.stage.overlay.clone(),
            }
        })?;
    Ok(Box::new(RunJob {
        env: env.clone(),
        target,
        output_lines: p.output_lines,
    }))
}

impl Step for RunJob {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let t = &self.target;
            let label = t.label();
            let done = job_run::already_done(&self.env.cluster, t)
                .await
                .map_err(|e| {
                    super::cluster_failure(format!("failed to read {}", t.key.describe()), e)
                })?;
            if done {
                // Same spec, already succeeded: keep it (a second deploy changes nothing).
                ctx.progress(format!("{label} already succeeded with this spec; kept"));
                if t.kind == RunKind::Job
                    && let Some(log) = job_run::job_log(&self.env.cluster, t, None).await
                {
                    self.show_output(ctx, &label, &log);
                }
                self.record_collections(ctx).await;
                return Ok(StepDone::Succeeded);
            }
            job_run::recreate(&self.env, ctx, t).await?;
            if ctx.dry_run {
                return Ok(StepDone::Succeeded);
            }
            ctx.progress(format!("{label} started"));
            let report = |m: String| ctx.progress(format!("{label}: {m}"));
            let finished = match job_run::wait_finished(
                &self.env.cluster,
                t,
                super::own_deadline(ctx),
                &report,
            )
            .await
            {
                Ok(f) => f,
                Err(failure) => return Err(failure.into_step_error(&self.env.cluster, t).await),
            };
            self.show_output(ctx, &label, &finished.log);
            self.record_collections(ctx).await;
            Ok(StepDone::Succeeded)
        })
    }
}

impl RunJob {
    /// An ingestion PipelineRun's collections (the `ingested` lines its pods printed): shown
    /// and recorded as `<stage>.collection.<name>` for `status` and later stages.
    async fn record_collections(&self, ctx: &StepCtx) {
        if self.target.kind != RunKind::PipelineRun {
            return;
        }
        let log = job_run::pipelinerun_logs(&self.env.cluster, &self.target).await;
        let collections = ingest_report::ingested(&log);
        if collections.is_empty() {
            return;
        }
        ctx.output(ingest_report::table(&collections));
        for c in &collections {
            ctx.derive(
                super::value_key(
                    ctx,
                    &format!("{}.{}", ingest_report::COLLECTION_KEY, c.vector_db),
                ),
                serde_json::json!({"provider_id": c.provider_id, "documents": c.documents,
                                   "chunks": c.chunks, "run": self.target.key.name}),
            );
        }
    }

    fn show_output(&self, ctx: &StepCtx, label: &str, log: &str) {
        if self.output_lines > 0 && !log.trim().is_empty() {
            ctx.output(StepOutput {
                title: format!("Output of {label}"),
                columns: vec!["log".into()],
                rows: job_state::last_lines(log, self.output_lines)
                    .into_iter()
                    .map(|l| vec![l])
                    .collect(),
            });
        }
    }
}
