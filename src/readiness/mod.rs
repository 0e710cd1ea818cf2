//! Readiness rules, kstatus-compatible, plus the rules kstatus lacks (failed Jobs, image pull
//! failures, OpenShift AI kinds). Pure: takes an object (and related objects as evidence),
//! returns a [`Status`] with a reason. No network, no tokio.

use serde::{Deserialize, Serialize};

/// Where an object stands. Never a bool: "not ready" must say whether it is coming or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Status {
    /// Reconciled and ready.
    Current {
        reason: Option<String>,
    },
    /// Still converging; the reason says on what.
    InProgress {
        reason: String,
    },
    /// Will not converge without a change (Job Failed, ImagePullBackOff past its grace).
    Failed {
        reason: String,
    },
    /// Has a deletionTimestamp.
    Terminating {
        reason: Option<String>,
    },
    NotFound,
}
