//! Where the runner records progress so a later run (from any machine) can resume and `status`
//! can tell what is deployed. The app implements it over the cluster's per-stage state records.

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use super::event::Outcome;

/// A state record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("failed to record the state of stage `{stage}`")]
pub struct StateError {
    pub stage: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Records run progress. Called by the runner between steps, never concurrently.
pub trait StateStore: Send + Sync {
    /// A stage's steps are about to run under `run_id`.
    fn stage_started<'a>(
        &'a self,
        stage: &'a str,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<(), StateError>>;
    /// A step finished successfully (or degraded); `values` are all values derived so far.
    fn step_completed<'a>(
        &'a self,
        stage: &'a str,
        step: &'a str,
        values: &'a BTreeMap<String, serde_json::Value>,
    ) -> BoxFuture<'a, Result<(), StateError>>;
    /// The stage ended (deployed, degraded, failed or interrupted).
    fn stage_finished<'a>(
        &'a self,
        stage: &'a str,
        outcome: &'a Outcome,
    ) -> BoxFuture<'a, Result<(), StateError>>;
}

/// Records nothing (dry runs, `plan`).
pub struct NoState;

impl StateStore for NoState {
    fn stage_started<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async { Ok(()) })
    }

    fn step_completed<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a BTreeMap<String, serde_json::Value>,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async { Ok(()) })
    }

    fn stage_finished<'a>(
        &'a self,
        _: &'a str,
        _: &'a Outcome,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async { Ok(()) })
    }
}
