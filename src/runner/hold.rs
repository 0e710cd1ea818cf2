//! The run's hold on the cluster lock, as the runner sees it. A run that is no longer sure it
//! holds the lock must not write: the runner asks [`Hold::confirm`] before every step attempt and
//! every state record, and stops a running step as soon as [`Hold::doubt`] fires (the lock's
//! expiry passed without a renewal — the process was stopped, the machine slept, the API
//! failed) until the hold is confirmed again or found lost.

use futures::future::BoxFuture;

/// Why the run no longer holds the lock (who holds it now, when it was last renewed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostHold {
    pub message: String,
    pub hint: String,
}

/// The cluster lock held for the run (implemented by `cluster::lease`).
pub trait Hold: Send + Sync {
    /// Resolves when the hold may have lapsed; pending while it is surely held.
    fn doubt(&self) -> BoxFuture<'_, ()>;
    /// `Ok` while held (renewing it first when it is close to or past its expiry); why not once
    /// it is lost. A lost hold stays lost.
    fn confirm(&self) -> BoxFuture<'_, Result<(), LostHold>>;
}
