//! The runner's `StateStore` over the cluster's per-stage state records (`cluster::state`).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::cluster::Cluster;
use crate::cluster::state::{self, ResumePoint, StageStatus};
use crate::runner::event::Outcome;
use crate::runner::{StateError, StateStore};

/// Records run progress in ConfigMap `democtl-stage-<stage>` (namespace `democtl`).
pub struct ClusterState {
    pub cluster: Arc<Cluster>,
    /// Who runs (recorded with the stage).
    pub user: Option<String>,
    /// What the run is, so each record says where it would resume.
    pub run: Option<RunShape>,
}

/// The target, switch values and steps (that run, in order, by stage) of a run.
#[derive(Debug, Clone, Default)]
pub struct RunShape {
    pub target: String,
    pub switches: BTreeMap<String, bool>,
    pub steps: BTreeMap<String, Vec<String>>,
}

impl RunShape {
    /// The point after `done` in `stage` (before its first step to run without `done`).
    pub fn point(&self, stage: &str, done: Option<&str>) -> ResumePoint {
        let steps = self.steps.get(stage).map(Vec::as_slice).unwrap_or_default();
        let next = match done {
            None => steps.first(),
            Some(done) => steps
                .iter()
                .position(|s| s == done)
                .and_then(|i| steps.get(i + 1)),
        };
        ResumePoint {
            target: self.target.clone(),
            step: next.cloned(),
            switches: self.switches.clone(),
        }
    }
}

fn wrap(stage: &str) -> impl Fn(crate::cluster::ClusterError) -> StateError + '_ {
    move |e| StateError {
        stage: stage.to_owned(),
        source: Box::new(e),
    }
}

impl StateStore for ClusterState {
    fn stage_started<'a>(
        &'a self,
        stage: &'a str,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let point = self.run.as_ref().map(|r| r.point(stage, None));
            state::stage_started_at(&self.cluster, stage, run_id, self.user.clone(), point)
                .await
                .map(|_| ())
                .map_err(wrap(stage))
        })
    }

    fn step_completed<'a>(
        &'a self,
        stage: &'a str,
        step: &'a str,
        values: &'a BTreeMap<String, serde_json::Value>,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let next = self.run.as_ref().map(|r| r.point(stage, Some(step)));
            state::step_completed_then(&self.cluster, stage, step, values, next.as_ref())
                .await
                .map_err(wrap(stage))
        })
    }

    fn stage_finished<'a>(
        &'a self,
        stage: &'a str,
        outcome: &'a Outcome,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let status = match outcome {
                Outcome::Succeeded | Outcome::Degraded { .. } => StageStatus::Deployed,
                // Interrupted: the completed steps are kept, so `--resume` continues after them.
                Outcome::Cancelled => StageStatus::InProgress,
                Outcome::Failed { .. } | Outcome::TimedOut { .. } | Outcome::Skipped { .. } => {
                    StageStatus::Failed
                }
            };
            state::stage_finished(&self.cluster, stage, status)
                .await
                .map_err(wrap(stage))
        })
    }
}
