//! Simulated time, shared by the API server and the world controllers. The clock *reads* wall time
//! (what the server stamps into `creationTimestamp` and the controllers into conditions, as on a
//! real cluster, so `kubectl get` shows true ages); the *speed* only scales durations of simulated
//! processes: a 600 s model download takes 600 / speed real seconds ([`SimClock::sim_since`],
//! [`SimClock::to_real`]). It is built on `tokio::time::Instant`, so tests with paused tokio time
//! drive it deterministically. It never sleeps on its own and owns no tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// A shared, cheaply cloneable simulated clock.
#[derive(Clone, Debug)]
pub struct SimClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin_real: tokio::time::Instant,
    origin_sim: Timestamp,
    speed: f64,
    /// Nanoseconds added by `advance_to`/`advance` (persisted clusters resume where they stopped).
    offset_ns: AtomicI64,
    /// Wakes sleepers when time jumps forward.
    jumped: tokio::sync::Notify,
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl SimClock {
    /// A clock reading the wall-clock time, with simulated processes running `speed` times faster
    /// than real time (values below 0.001 or not finite are treated as 1).
    pub fn new(speed: f64) -> Self {
        Self::starting_at(Timestamp::now(), speed)
    }

    /// A clock reading `start` now and advancing with real time; simulated processes run `speed`
    /// times faster.
    pub fn starting_at(start: Timestamp, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed >= 0.001 {
            speed
        } else {
            1.0
        };
        SimClock {
            inner: Arc::new(Inner {
                origin_real: tokio::time::Instant::now(),
                origin_sim: start,
                speed,
                offset_ns: AtomicI64::new(0),
                jumped: tokio::sync::Notify::new(),
            }),
        }
    }

    /// The speed factor (simulated seconds per real second).
    pub fn speed(&self) -> f64 {
        self.inner.speed
    }

    /// The current time (wall time, plus any `advance`): what objects are stamped with.
    pub fn now(&self) -> Timestamp {
        let real = self.inner.origin_real.elapsed();
        let sim_ns = i64::try_from(real.as_nanos()).unwrap_or(i64::MAX / 2)
            + self.inner.offset_ns.load(Ordering::Relaxed);
        self.inner
            .origin_sim
            .checked_add(SignedDuration::from_nanos(sim_ns))
            .unwrap_or(self.inner.origin_sim)
    }

    /// The current time as RFC 3339 with second precision (`2026-11-25T19:30:00Z`),
    /// the format Kubernetes uses for `metav1.Time`.
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.now())
    }

    /// Time elapsed since `since` on this clock (wall time: an object's age).
    pub fn since(&self, since: Timestamp) -> Duration {
        let d = self.now().duration_since(since);
        d.try_into().unwrap_or(Duration::ZERO)
    }

    /// Simulated time elapsed since `since`: `since(since) × speed` (how far a process started
    /// then has got).
    pub fn sim_since(&self, since: Timestamp) -> Duration {
        Duration::from_secs_f64(self.since(since).as_secs_f64() * self.inner.speed)
    }

    /// The moment (on this clock) at which a process started at `since` has run for `sim`
    /// simulated time.
    pub fn sim_after(&self, since: Timestamp, sim: Duration) -> Timestamp {
        let real = SignedDuration::try_from(self.to_real(sim)).unwrap_or(SignedDuration::MAX);
        since.checked_add(real).unwrap_or(Timestamp::MAX)
    }

    /// Sleeps for `sim` of simulated time (that is `sim / speed` of real time, less when the
    /// clock is advanced meanwhile).
    pub async fn sleep(&self, sim: Duration) {
        let at = self.sim_after(self.now(), sim);
        self.sleep_until(at).await;
    }

    /// Sleeps until the clock reaches `at` (returns at once if it has passed).
    pub async fn sleep_until(&self, at: Timestamp) {
        loop {
            let now = self.now();
            if at <= now {
                return;
            }
            let d: Duration = at.duration_since(now).try_into().unwrap_or(Duration::ZERO);
            let jumped = self.inner.jumped.notified();
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = jumped => {}
            }
        }
    }

    /// Converts a simulated duration into the real duration it takes on this clock.
    pub fn to_real(&self, sim: Duration) -> Duration {
        Duration::from_secs_f64(sim.as_secs_f64() / self.inner.speed)
    }

    /// Moves simulated time forward by `sim` without waiting (all clones see the jump).
    pub fn advance(&self, sim: Duration) {
        let ns = i64::try_from(sim.as_nanos()).unwrap_or(i64::MAX / 2);
        self.inner.offset_ns.fetch_add(ns, Ordering::Relaxed);
        self.inner.jumped.notify_waiters();
    }

    /// Moves simulated time forward to `at` if it is in the future; never moves it backwards.
    /// Used when a persisted cluster is loaded so that new timestamps follow the stored ones.
    pub fn advance_to(&self, at: Timestamp) {
        let now = self.now();
        if at > now {
            let d: Duration = at.duration_since(now).try_into().unwrap_or(Duration::ZERO);
            self.advance(d);
        }
    }
}

/// Formats a timestamp the way Kubernetes serialises `metav1.Time` (RFC 3339, seconds, UTC).
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses an RFC 3339 timestamp as written by Kubernetes.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn speed_converts_durations() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = SimClock::starting_at(start, 60.0);
        assert_eq!(
            clock.to_real(Duration::from_secs(120)),
            Duration::from_secs(2)
        );
        assert!(clock.now_rfc3339().starts_with("2026-01-01T00:0"));
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_rfc3339().starts_with("2026-01-01T01:0"));
        // An hour of clock time is 60 simulated hours of process time.
        assert!(clock.sim_since(start) >= Duration::from_secs(3600 * 60));
        assert_eq!(
            clock.sim_after(start, Duration::from_secs(600)),
            "2026-01-01T00:00:10Z".parse().unwrap()
        );
    }

    #[test]
    fn the_clock_reads_wall_time_whatever_the_speed() {
        let clock = SimClock::new(1000.0);
        let drift = clock.now().duration_since(Timestamp::now()).abs();
        assert!(drift < SignedDuration::from_secs(5), "{drift:?}");
    }

    #[test]
    fn advance_to_never_goes_back() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = SimClock::starting_at(start, 0.001);
        clock.advance_to("2025-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(clock.now_rfc3339(), "2026-01-01T00:00:00Z");
        clock.advance_to("2026-01-02T00:00:00Z".parse().unwrap());
        assert_eq!(clock.now_rfc3339(), "2026-01-02T00:00:00Z");
        assert_eq!(
            parse_rfc3339("2026-01-02T00:00:00Z").map(rfc3339),
            Some(clock.now_rfc3339())
        );
    }
}
