//! The sequential step runner. It runs planned steps in order, applies per-step timeouts and
//! retries (transient errors only), handles cancellation (Ctrl-C), and turns everything into
//! [`event::RunEvent`]s pushed to a [`event::Reporter`]. It never prints and imports nothing
//! else from democtl.

pub mod event;
pub mod hold;
pub mod plan;
pub mod retry;
pub mod run;
pub mod sensitive;
pub mod state;
pub mod step;

pub use hold::{Hold, LostHold};
pub use plan::{Disposition, PlannedStage, PlannedStepRun, RetryPolicy, RunPlan};
pub use run::{ResumeCommand, RunConfig, RunResult, run};
pub use sensitive::Sensitive;
pub use state::{NoState, StateError, StateStore};
