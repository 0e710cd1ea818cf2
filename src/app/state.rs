//! The runner's `StateStore` over the cluster's per-stage state records (`cluster::state`).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::cluster::Cluster;
use crate::cluster::state::{self, StageStatus};
use crate::runner::event::Outcome;
use crate::runner::{StateError, StateStore};

/// Records run progress in ConfigMap `democtl-stage-<stage>` (namespace `democtl`).
pub struct ClusterState {
    pub cluster: Arc<Cluster>,
    /// Who runs (recorded with the stage).
    pub user: Option<String>,
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
            state::stage_started(&self.cluster, stage, run_id, self.user.clone())
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
            state::step_completed(&self.cluster, stage, step, values)
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
