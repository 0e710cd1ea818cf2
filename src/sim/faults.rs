//! Fault injection: decides per API request, from a seeded generator, whether it fails and how
//! (429 with Retry-After, 500, 503, dropped connection). Deterministic for a seed and a request
//! order. Decides only; the server turns the decision into a response.

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
        Faults {
            config,
            rng: Mutex::new(rng),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Decides the fate of one request with `verb`.
    pub fn decide(&self, verb: &str) -> Option<Fault> {
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
        for (f, w) in weights {
            if pick < w {
                return Some(f);
            }
            pick -= w;
        }
        None
    }
}

#[cfg(test)]
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
        assert_eq!(only.decide("create"), Some(Fault::TooManyRequests));
        assert_eq!(only.decide("get"), None);
    }
}
