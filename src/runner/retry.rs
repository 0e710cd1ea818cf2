//! Backoff for transient step errors (backon's exponential builder with jitter). Whether an
//! error is transient is the error's own decision (`StepError::transient`, set by the layer
//! that understands it); the runner never matches strings.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::plan::RetryPolicy;

/// The delays between attempts of one step.
pub struct Backoff {
    inner: backon::ExponentialBackoff,
    cap: std::time::Duration,
}

impl Backoff {
    /// `seed` makes the jitter reproducible (tests).
    pub fn new(policy: &RetryPolicy, seed: Option<u64>) -> Backoff {
        let mut builder = ExponentialBuilder::default()
            .with_min_delay(policy.base)
            .with_max_delay(policy.cap.max(policy.base))
            .with_max_times(policy.attempts.saturating_sub(1) as usize)
            .with_jitter();
        if let Some(seed) = seed {
            builder = builder.with_jitter_seed(seed);
        }
        Backoff {
            inner: builder.build(),
            cap: policy.cap.max(policy.base),
        }
    }

    /// The next delay, at least `retry_after` when the server asked for it; None when no
    /// attempts are left.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        // backon's jitter adds up to 100 % of the delay; the stage file's `cap` stays a cap.
        let delay = self.inner.next()?.min(self.cap);
        Some(retry_after.map_or(delay, |after| after.max(delay)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_run_out() {
        let policy = RetryPolicy {
            attempts: 6,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(10),
        };
        let mut backoff = Backoff::new(&policy, Some(7));
        let delays: Vec<Duration> = std::iter::from_fn(|| backoff.next(None)).collect();
        assert_eq!(delays.len(), 5);
        // Jitter adds up to one `base` on top of the exponential delay, which is capped.
        assert!(
            delays[0] >= Duration::from_secs(2) && delays[0] <= Duration::from_secs(4),
            "{delays:?}"
        );
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(12)),
            "{delays:?}"
        );
        assert!(delays[2] >= Duration::from_secs(8), "{delays:?}");
    }

    #[test]
    fn retry_after_wins_when_longer() {
        let policy = RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        let mut backoff = Backoff::new(&policy, Some(1));
        assert_eq!(
            backoff.next(Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let policy = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(Backoff::new(&policy, None).next(None), None);
    }
}
