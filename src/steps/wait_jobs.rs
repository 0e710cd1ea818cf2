//! `wait-jobs`: waits for several Jobs of the stage at once (the model downloads), one progress
//! line for all of them parsed from their pods' logs, and fails as soon as one fails — with its
//! last log lines. A Job found Failed when the step starts (an earlier run's failure) is
//! recreated from the render, so `democtl deploy` after the fix simply continues.

use futures::future::try_join_all;

use super::job_run::{self, ProgressBoard, RunTarget};
use super::job_state::RunState;
use super::{BuildError, StepEnv, boxed, cluster_failure};
use crate::runner::event::Measure;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{RunKind, WaitJobsParams};
use crate::stage::schema::StepSpec;

/// The built step.
pub struct WaitJobs {
    env: StepEnv,
    targets: Vec<RunTarget>,
    recreate_failed: bool,
}

/// Checks that every Job is in the stage's render.
pub fn build(
    spec: &StepSpec,
    p: &WaitJobsParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    let mut targets = Vec::new();
    for job in &p.jobs {
        let t = RunTarget::from_render(&env.objects, RunKind::Job, &p.namespace, job).ok_or_else(
            || BuildError::NotRendered {
                step: spec.id.clone(),
                object: format!("`Job/{job}` in `{}`", p.namespace),
                overlay: env.stage.overlay.clone(),
            },
        )?;
        targets.push(t);
    }
    if targets.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "wait-jobs",
            what: "at least one Job in `jobs`".into(),
        });
    }
    Ok(Box::new(WaitJobs {
        env: env.clone(),
        targets,
        recreate_failed: p.recreate_failed,
    }))
}

impl Step for WaitJobs {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let cluster = &self.env.cluster;
            let board = ProgressBoard::default();
            for t in &self.targets {
                let state = job_run::current_state(cluster, t).await.map_err(|e| {
                    cluster_failure(format!("failed to read {}", t.key.describe()), e)
                })?;
                match state {
                    Some(RunState::Failed { reason }) if self.recreate_failed => {
                        ctx.warn(format!(
                            "{} failed in an earlier run ({reason}); running it again",
                            t.key.describe()
                        ));
                        job_run::recreate(&self.env, ctx, t).await?;
                    }
                    None => {
                        // Deleted since it was applied (or never applied): create it.
                        job_run::recreate(&self.env, ctx, t).await?;
                    }
                    Some(_) => {}
                }
                ctx.progress(board.set(&t.key.name, "waiting"));
            }
            if ctx.dry_run {
                return Ok(StepDone::Succeeded);
            }
            let deadline = super::own_deadline(ctx);
            let waits = self.targets.iter().map(|t| {
                let board = &board;
                async move {
                    let report = |m: String| ctx.progress(board.set(&t.key.name, m));
                    let measure = |p| ctx.measure(Measure::Download(p));
                    match job_run::wait_finished_measured(cluster, t, deadline, &report, &measure)
                        .await
                    {
                        Ok(_) => {
                            ctx.progress(board.set(&t.key.name, "done"));
                            Ok(())
                        }
                        Err(f) => Err((t, f)),
                    }
                }
            });
            match try_join_all(waits).await {
                Ok(_) => Ok(StepDone::Succeeded),
                Err((t, failure)) => {
                    let err = failure.into_step_error(cluster, t).await;
                    Err(match refused_token_hint(&err.evidence) {
                        Some(h) => err.with_hint(h),
                        None => err,
                    })
                }
            }
        })
    }
}

/// A better hint when the log says Hugging Face refused the token (401/403, gated model).
fn refused_token_hint(evidence: &[String]) -> Option<String> {
    let refused = evidence.iter().any(|l| {
        l.contains("401") || l.contains("403") || l.contains("Unauthorized") || l.contains("gated")
    });
    refused.then(|| {
        "Hugging Face refused the token: set a valid HF_TOKEN (environment or `.env`) with access to the model, then run `democtl deploy` for the stage again — the token step updates Secret `huggingface-token` and the failed download Job is recreated".into()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_token_gets_its_own_hint() {
        let ev = vec!["log: HfHubHTTPError: 401 Client Error: Unauthorized".to_string()];
        assert!(refused_token_hint(&ev).unwrap().contains("HF_TOKEN"));
        assert_eq!(refused_token_hint(&["log: disk full".to_string()]), None);
    }
}
