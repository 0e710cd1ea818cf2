//! The simulated cluster's clock, shared by the API server and the world controllers.
//!
//! It has two readings:
//!
//! - **The cluster's clock** ([`SimClock::now`]): what the server stamps into
//!   `creationTimestamp` and the controllers into conditions, `startTime`, …, and what every
//!   reader compares those stamps with (`sim status`, democtl's readiness graces, the server's
//!   AGE column). While the cluster runs it advances with real time (1 s per second, whatever
//!   the speed); while the cluster is stopped it **stands still**: the server persists the
//!   reading with its state and a restarted cluster resumes from it ([`SimClock::resume`]).
//!   So after stops it is behind the wall clock by the time the cluster was stopped, and it
//!   never goes backwards.
//! - **Simulated process time** ([`SimClock::sim_between`], [`SimClock::sim_since`],
//!   [`SimClock::sim_after`]): how far a simulated process (a model download, an operator
//!   install) started at a stamped moment has got. Each stretch of the cluster's clock counts at
//!   the speed the cluster ran at then (`--sim-speed`): a 600 s download takes 10 s of the
//!   cluster's clock at 60×. The speeds of earlier runs are persisted with the reading
//!   ([`SimClock::timeline`]), so a restart at another speed does not rescale the progress made
//!   before it: a half-done download stays half done.
//!
//! It is built on `tokio::time::Instant`, so tests with paused tokio time drive it
//! deterministically. It never sleeps on its own and owns no tasks.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// At most this many speed changes are remembered (older stamps count at the oldest kept speed).
const MAX_SEGMENTS: usize = 64;

/// From `from` (on the cluster's clock) on, the cluster ran at `speed` (until the next segment).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Where on the cluster's clock this speed began.
    pub from: Timestamp,
    /// Simulated seconds per second of the cluster's clock.
    pub speed: f64,
}

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
    /// Nanoseconds added by `advance`/`resume` (moves every clone's reading).
    offset_ns: AtomicI64,
    /// The speeds the cluster ran at, ascending by `from`; the last one is this run's.
    timeline: RwLock<Vec<Segment>>,
    /// Wakes sleepers when time jumps forward.
    jumped: tokio::sync::Notify,
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new(1.0)
    }
}

/// Seconds from `base` to `t` (negative before it).
fn secs_from(base: Timestamp, t: Timestamp) -> f64 {
    t.duration_since(base).as_secs_f64()
}

impl SimClock {
    /// A clock reading the wall-clock time now, with simulated processes running `speed` times
    /// faster than real time (values below 0.001 or not finite are treated as 1).
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
                timeline: RwLock::new(vec![Segment { from: start, speed }]),
                jumped: tokio::sync::Notify::new(),
            }),
        }
    }

    /// The speed factor of this run (simulated seconds per real second).
    pub fn speed(&self) -> f64 {
        self.inner.speed
    }

    /// The cluster's clock now: what objects are stamped with.
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

    /// Time elapsed on the cluster's clock since `since` (an object's age).
    pub fn since(&self, since: Timestamp) -> Duration {
        let d = self.now().duration_since(since);
        d.try_into().unwrap_or(Duration::ZERO)
    }

    fn segments(&self) -> std::sync::RwLockReadGuard<'_, Vec<Segment>> {
        self.inner
            .timeline
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Simulated process time between two readings of the cluster's clock (zero if `to` is
    /// not after `from`): each stretch counts at the speed the cluster ran at then.
    pub fn sim_between(&self, from: Timestamp, to: Timestamp) -> Duration {
        if to <= from {
            return Duration::ZERO;
        }
        let segs = self.segments();
        let end = secs_from(from, to);
        let mut total = 0.0;
        for (i, seg) in segs.iter().enumerate() {
            // The first speed also covers everything before it; the last one runs on.
            let lo = if i == 0 {
                f64::NEG_INFINITY
            } else {
                secs_from(from, seg.from)
            };
            let hi = segs
                .get(i + 1)
                .map_or(f64::INFINITY, |next| secs_from(from, next.from));
            let span = hi.min(end) - lo.max(0.0);
            if span > 0.0 {
                total += span * seg.speed;
            }
        }
        Duration::try_from_secs_f64(total).unwrap_or(Duration::MAX)
    }

    /// Simulated time elapsed since `since` (how far a process started then has got).
    pub fn sim_since(&self, since: Timestamp) -> Duration {
        self.sim_between(since, self.now())
    }

    /// The moment (on the cluster's clock) at which a process started at `since` has run for
    /// `sim` simulated time (at the speeds run so far, and this run's speed from now on).
    pub fn sim_after(&self, since: Timestamp, sim: Duration) -> Timestamp {
        let segs = self.segments();
        let mut left = sim.as_secs_f64();
        let mut at = 0.0_f64;
        for (i, seg) in segs.iter().enumerate() {
            let hi = segs
                .get(i + 1)
                .map_or(f64::INFINITY, |next| secs_from(since, next.from));
            if hi <= at {
                continue;
            }
            let span = hi - at;
            if span * seg.speed >= left {
                at += left / seg.speed;
                left = 0.0;
                break;
            }
            left -= span * seg.speed;
            at = hi;
        }
        if left > 0.0 {
            return Timestamp::MAX;
        }
        SignedDuration::try_from_secs_f64(at)
            .ok()
            .and_then(|d| since.checked_add(d).ok())
            .unwrap_or(Timestamp::MAX)
    }

    /// Sleeps for `sim` of simulated time (that is `sim / speed` of real time, less when the
    /// clock is advanced meanwhile).
    pub async fn sleep(&self, sim: Duration) {
        let at = self.sim_after(self.now(), sim);
        self.sleep_until(at).await;
    }

    /// Sleeps until the cluster's clock reaches `at` (returns at once if it has passed).
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

    /// Converts a simulated duration into the real duration it takes at this run's speed.
    pub fn to_real(&self, sim: Duration) -> Duration {
        Duration::from_secs_f64(sim.as_secs_f64() / self.inner.speed)
    }

    /// Moves the cluster's clock forward by `d` without waiting (all clones see the jump; the
    /// jump counts at this run's speed).
    pub fn advance(&self, d: Duration) {
        let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX / 2);
        self.inner.offset_ns.fetch_add(ns, Ordering::Relaxed);
        self.inner.jumped.notify_waiters();
    }

    /// Resumes a persisted cluster: the clock reads `at` from now on (where the cluster stopped;
    /// possibly behind the wall clock, never set by anything but a saved reading), and `earlier`
    /// (the saved [`SimClock::timeline`]) says at which speeds the time before `at` ran; this
    /// run's speed applies from `at` on. Call before anything reads the clock.
    pub fn resume(&self, at: Timestamp, earlier: &[Segment]) {
        let shift = at.duration_since(self.now());
        let ns = i64::try_from(shift.as_nanos()).unwrap_or(0);
        self.inner.offset_ns.fetch_add(ns, Ordering::Relaxed);
        let mut segs: Vec<Segment> = earlier
            .iter()
            .copied()
            .filter(|s| s.from < at && s.speed.is_finite() && s.speed >= 0.001)
            .collect();
        segs.sort_by_key(|s| s.from);
        segs.push(Segment {
            from: at,
            speed: self.inner.speed,
        });
        *self
            .inner
            .timeline
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = compact(segs);
        self.inner.jumped.notify_waiters();
    }

    /// The speeds the cluster ran at (ascending; the last is this run's), to persist with the
    /// reading and pass to [`SimClock::resume`].
    pub fn timeline(&self) -> Vec<Segment> {
        self.segments().clone()
    }
}

/// Merges neighbours of the same speed and keeps the newest [`MAX_SEGMENTS`].
fn compact(segs: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    for s in segs {
        match out.last() {
            Some(last) if last.speed == s.speed => {}
            _ => out.push(s),
        }
    }
    let drop = out.len().saturating_sub(MAX_SEGMENTS);
    out.drain(..drop);
    out
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

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn speed_converts_durations() {
        let start = ts("2026-01-01T00:00:00Z");
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
            ts("2026-01-01T00:00:10Z")
        );
    }

    #[test]
    fn a_new_clock_reads_wall_time_whatever_the_speed() {
        let clock = SimClock::new(1000.0);
        let drift = clock.now().duration_since(Timestamp::now()).abs();
        assert!(drift < SignedDuration::from_secs(5), "{drift:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_resumed_clock_continues_from_the_saved_reading() {
        // Saved an hour ago (the cluster stopped then): the clock reads the saved time, not
        // the wall clock, and runs on at one second per second.
        let saved = Timestamp::now() - SignedDuration::from_hours(1);
        let clock = SimClock::new(200.0);
        clock.resume(saved, &[]);
        assert_eq!(clock.now(), saved);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(clock.now(), saved + SignedDuration::from_secs(3));
        assert_eq!(clock.sim_since(saved), Duration::from_secs(600));
        // Clones share the reading.
        assert_eq!(clock.clone().now(), clock.now());
        assert_eq!(
            parse_rfc3339(&saved.to_string()),
            Some(saved),
            "saved with full precision"
        );
    }

    #[test]
    fn progress_made_at_an_earlier_speed_is_not_rescaled() {
        let t0 = ts("2026-01-01T00:00:00Z");
        let t1 = ts("2026-01-01T00:00:10Z");
        // 10 s at 60× (600 simulated s), then stopped; restarted at 200×.
        let clock = SimClock::starting_at(t1, 200.0);
        clock.resume(
            t1,
            &[Segment {
                from: t0,
                speed: 60.0,
            }],
        );
        assert_eq!(clock.sim_between(t0, t1), Duration::from_secs(600));
        assert!(clock.sim_since(t0) >= Duration::from_secs(600));
        let t2 = ts("2026-01-01T00:00:12Z");
        assert_eq!(clock.sim_between(t0, t2), Duration::from_secs(1000));
        assert_eq!(clock.sim_between(t2, t0), Duration::ZERO);
        // 1000 simulated s after t0: the first 600 at 60×, the remaining 400 at 200× (2 s).
        assert_eq!(clock.sim_after(t0, Duration::from_secs(1000)), t2);
        assert_eq!(
            clock.sim_after(t0, Duration::from_secs(300)),
            ts("2026-01-01T00:00:05Z")
        );
        // Stamps older than every segment count at the oldest speed.
        assert_eq!(
            clock.sim_between(ts("2025-12-31T23:59:50Z"), t0),
            Duration::from_secs(600)
        );
        let timeline = clock.timeline();
        assert_eq!(
            timeline,
            vec![
                Segment {
                    from: t0,
                    speed: 60.0
                },
                Segment {
                    from: t1,
                    speed: 200.0
                }
            ]
        );
        // The same speed again adds no segment.
        let again = SimClock::starting_at(t2, 200.0);
        again.resume(t2, &timeline);
        assert_eq!(again.timeline(), timeline);
    }
}
