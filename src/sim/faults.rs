//! Fault injection: decides per API request, from a seeded generator, whether it fails, how
//! (429 with Retry-After, 500, 503, dropped connection) and when (before the request executes,
//! or after it: the change is made and the response lost). Deterministic for a seed and a
//! request order (with several clients at once the order, and so a replay, is only as
//! repeatable as their interleaving). Decides only; the server turns the decision into a
//! response.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::FaultConfig;

/// One injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 429 TooManyRequests.
    TooManyRequests,
    /// 500 InternalError.
    InternalError,
    /// 503 ServiceUnavailable.
    Unavailable,
    /// Drop the connection mid-response.
    ConnectionReset,
}

/// When a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strike {
    /// The request is not executed.
    Before,
    /// The request is executed, then its response is replaced by the fault.
    After,
}

/// The fault generator of one server.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
}

impl Faults {
    /// A generator for `config`.
    pub fn new(config: FaultConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        let faults = Faults {
            config,
            rng: Mutex::new(rng),
        };
        if let Some(line) = faults.describe() {
            // The seed in the server's log is how a failing run is replayed (`api.seed`).
            tracing::info!(target: "democtl::sim::faults", "injecting faults: {line}");
        }
        faults
    }

    /// The configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Decides the fate of one request with `verb`: which fault, and when it strikes.
    pub fn decide(&self, verb: &str) -> Option<(Fault, Strike)> {
        let c = &self.config;
        if c.rate <= 0.0 || (!c.verbs.is_empty() && !c.verbs.iter().any(|v| v == verb)) {
            return None;
        }
        let k = &c.kinds;
        let weights = [
            (Fault::TooManyRequests, k.too_many_requests),
            (Fault::InternalError, k.internal_error),
            (Fault::Unavailable, k.unavailable),
            (Fault::ConnectionReset, k.connection_reset),
        ];
        let total: u32 = weights.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return None;
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rng.random::<f64>() >= c.rate {
            return None;
        }
        let mut pick = rng.random_range(0..total);
        let mut fault = None;
        for (f, w) in weights {
            if pick < w {
                fault = Some(f);
                break;
            }
            pick -= w;
        }
        let fault = fault?;
        // Drawn for every fault so the sequence of a seed does not depend on the kinds.
        let after = rng.random::<f64>() < c.after_execute;
        let strike = if after && fault != Fault::TooManyRequests {
            Strike::After
        } else {
            Strike::Before
        };
        Some((fault, strike))
    }

    /// One line for logs and banners: `10% of requests (429, 500, 503, reset), half of them after
    /// execution, seed 42`; `None` when no faults are injected.
    pub fn describe(&self) -> Option<String> {
        let c = &self.config;
        if c.rate <= 0.0 {
            return None;
        }
        let k = &c.kinds;
        let kinds: Vec<&str> = [
            ("429", k.too_many_requests),
            ("500", k.internal_error),
            ("503", k.unavailable),
            ("reset", k.connection_reset),
        ]
        .iter()
        .filter(|(_, w)| *w > 0)
        .map(|(n, _)| *n)
        .collect();
        let after = match c.after_execute {
            a if a <= 0.0 => "all before execution".to_string(),
            a if a >= 1.0 => "all after execution (response lost)".to_string(),
            a => format!("{:.0}% of them after execution (response lost)", a * 100.0),
        };
        Some(format!(
            "{:.0}% of requests fail ({}), {after}, seed {}",
            c.rate * 100.0,
            kinds.join(", "),
            c.seed
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::config::FaultKinds;

    #[test]
    fn same_seed_same_faults_and_rate_is_respected() {
        let cfg = FaultConfig {
            rate: 0.5,
            seed: 7,
            ..Default::default()
        };
        let a: Vec<_> = {
            let f = Faults::new(cfg.clone());
            (0..200).map(|_| f.decide("get")).collect()
        };
        let f = Faults::new(cfg);
        let b: Vec<_> = (0..200).map(|_| f.decide("get")).collect();
        assert_eq!(a, b);
        let failed = a.iter().filter(|x| x.is_some()).count();
        assert!((60..140).contains(&failed), "{failed}");
        let only = Faults::new(FaultConfig {
            rate: 1.0,
            kinds: FaultKinds {
                too_many_requests: 1,
                internal_error: 0,
                unavailable: 0,
                connection_reset: 0,
            },
            verbs: vec!["create".into()],
            ..Default::default()
        });
        assert_eq!(
            only.decide("create"),
            Some((Fault::TooManyRequests, Strike::Before))
        );
        assert_eq!(only.decide("get"), None);
    }

    #[test]
    fn after_execute_share_is_respected_and_never_for_429() {
        let f = Faults::new(FaultConfig {
            rate: 1.0,
            after_execute: 0.5,
            seed: 3,
            ..Default::default()
        });
        let all: Vec<_> = (0..400).filter_map(|_| f.decide("patch")).collect();
        assert_eq!(all.len(), 400);
        assert!(
            all.iter()
                .all(|(k, s)| *k != Fault::TooManyRequests || *s == Strike::Before)
        );
        let after = all.iter().filter(|(_, s)| *s == Strike::After).count();
        // Half of the three kinds that may strike after: about 3/8 of 400.
        assert!((100..200).contains(&after), "{after}");
        let line = f.describe().unwrap();
        assert_eq!(
            line,
            "100% of requests fail (429, 500, 503, reset), 50% of them after execution (response lost), seed 3"
        );
        assert_eq!(Faults::new(FaultConfig::default()).describe(), None);
    }
}
