//! The sequential step runner. It runs planned steps in order, applies per-step timeouts and
//! retries (transient errors only), handles Ctrl-C, and turns everything into [`event::RunEvent`]s
//! pushed to a [`event::Reporter`]. It never prints and imports nothing else from democtl.

pub mod event;
pub mod step;
