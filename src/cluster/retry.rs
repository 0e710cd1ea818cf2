//! The one retry policy of every API call democtl makes ([`Cluster::call`](super::Cluster::call)):
//! transient errors (429 honouring Retry-After, 500/502/503/504, dropped or refused connections,
//! timeouts, etcd leader changes) are retried with exponential backoff and jitter, bounded by
//! the attempts of the policy and by the deadline of the step or command in progress. Each retry
//! is logged (tracing) and shown to the reporters through the [`RetryScope`] of the step.
//!
//! The scope is task-local: the steps layer wraps every step's future in one (so a retry shows
//! as the step's progress), commands may wrap their own calls; without one, retries are only
//! logged.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

/// How a [`Cluster`](super::Cluster) retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A server's Retry-After is honoured up to this long.
    pub max_retry_after: Duration,
    /// Factor applied to every delay (1.0; lower only in tests, see [`RetryPolicy::from_env`]).
    pub delay_scale: f64,
}

impl Default for RetryPolicy {
    /// 8 attempts, 200 ms doubling to 5 s with jitter (≈ 20 s in all): long enough to ride out an
    /// API server restart or a burst of throttling, short enough that a dead cluster is reported
    /// within the step.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            delay_scale: 1.0,
        }
    }
}

impl RetryPolicy {
    /// No retries (tests that want to see the first failure).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The default policy with every delay (backoff and honoured Retry-After) multiplied by
    /// `DEMOCTL_RETRY_DELAY_SCALE` when set (a test knob: fault-injection tests at a fast
    /// simulated clock would otherwise spend minutes in real-time waits).
    pub fn from_env() -> Self {
        let scale = std::env::var("DEMOCTL_RETRY_DELAY_SCALE")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && (0.0..=1.0).contains(s));
        match scale {
            Some(s) => RetryPolicy {
                delay_scale: s,
                ..RetryPolicy::default()
            },
            None => RetryPolicy::default(),
        }
    }

    /// `delay` scaled by the policy's delay scale.
    pub(crate) fn scale(&self, delay: Duration) -> Duration {
        delay.mul_f64(self.delay_scale)
    }

    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build()
    }
}

/// Where retries of the calls made inside a scope are shown, and the deadline they must fit in.
#[derive(Clone)]
pub struct RetryScope {
    /// Receives one line per retry (`retrying get `Lease/democtl-lock` in `democtl` in 400ms
    /// (attempt 2 of 8): 503 ServiceUnavailable: …`).
    pub notify: Arc<dyn Fn(String) + Send + Sync>,
    /// No retry is started that would end after this.
    pub deadline: Option<Instant>,
}

tokio::task_local! {
    static SCOPE: RetryScope;
}

/// Runs `fut` with `scope` for the API calls it makes.
pub async fn scoped<F: std::future::Future>(scope: RetryScope, fut: F) -> F::Output {
    SCOPE.scope(scope, fut).await
}

/// The deadline of the current scope, if any.
pub(crate) fn deadline() -> Option<Instant> {
    SCOPE.try_with(|s| s.deadline).ok().flatten()
}

/// Logs a retry and shows it to the scope's reporter.
pub(crate) fn notify(line: String) {
    tracing::warn!(target: "democtl::retry", "{line}");
    let _ = SCOPE.try_with(|s| (s.notify)(line));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_by_the_attempts() {
        let p = RetryPolicy::default();
        let delays: Vec<Duration> = p.backoff().collect();
        assert_eq!(delays.len(), 7);
        assert!(delays.iter().all(|d| *d <= p.max_delay * 2), "{delays:?}");
        assert_eq!(RetryPolicy::none().backoff().count(), 0);
    }

    #[tokio::test]
    async fn notices_reach_the_scope() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let scope = RetryScope {
            notify: Arc::new(move |l| sink.lock().unwrap_or_else(|e| e.into_inner()).push(l)),
            deadline: None,
        };
        scoped(scope, async { notify("retrying x".into()) }).await;
        notify("outside".into());
        assert_eq!(
            *seen.lock().unwrap_or_else(|e| e.into_inner()),
            vec!["retrying x".to_string()]
        );
    }
}
