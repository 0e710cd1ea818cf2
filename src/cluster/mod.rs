//! Everything that calls the Kubernetes API through kube-rs: client and kubeconfig, discovery,
//! ordered server-side apply, watches and waits, teardown, status, the run lease and the stage
//! state records. Uses `crate::readiness` for what "ready" means. Never prints: progress goes
//! through plain callbacks ([`wait::Progress`]) and results are returned as data.

pub mod apply;
pub mod client;
pub mod diff;
pub mod discovery;
pub mod error;
pub mod evidence;
pub mod inventory;
pub mod lease;
pub mod object;
pub mod operators;
pub mod ready;
pub mod retry;
pub mod rhoai_release;
pub mod state;
pub mod status;
pub mod teardown;
pub mod wait;

pub use apply::{ApplyOptions, ApplyReport, apply};
pub use client::{Cluster, ConnectOptions, Identity};
pub use error::ClusterError;
pub use object::ObjectKey;
pub use wait::{Progress, WaitError};
