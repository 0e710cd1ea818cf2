//! `ServerConfig`: every knob of the simulated API server (identity, denied permissions, faults,
//! latency, CRD establish delay, clock, persistence). Plain data with serde so scenarios can embed
//! the API-facing parts; no behaviour.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock::SimClock;

/// Configuration of a `SimServer`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Bearer token clients must send; a random one when `None`.
    pub token: Option<String>,
    /// The authenticated user name (SelfSubjectReview, 403 messages).
    pub user: String,
    /// The user's groups.
    pub groups: Vec<String>,
    /// Permissions denied to the user (everything else is allowed).
    pub denied: Vec<PermissionRule>,
    /// API faults injected per request.
    pub faults: FaultConfig,
    /// Simulated delay before a new CRD gets NamesAccepted + Established and is served.
    pub crd_establish_delay: Duration,
    /// Simulated delay before the namespace controller deletes a terminating namespace's content.
    pub namespace_delete_delay: Duration,
    /// The simulated clock (timestamps, delays).
    pub clock: SimClock,
    /// Load the store from this file at start and save it (atomically) after writes and on
    /// shutdown.
    pub state_file: Option<PathBuf>,
    /// Changes retained: watches from an older resourceVersion get 410 Expired, and so do lists
    /// with `resourceVersionMatch=Exact` at a resourceVersion older than the oldest retained
    /// change (the store's history, like etcd's before compaction).
    pub event_window: usize,
    /// Real time between watch BOOKMARK events when clients allow them.
    pub bookmark_interval: Duration,
    /// The Kubernetes version `/version` reports (`v1.33.5`).
    pub kubernetes_version: String,
    /// Serve HTTPS with the simulator's loopback certificate (needed by kubectl/oc, which send
    /// tokens only over TLS); plain HTTP otherwise.
    pub tls: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            token: None,
            user: "kube:admin".into(),
            groups: vec![
                "system:cluster-admins".into(),
                "system:authenticated".into(),
            ],
            denied: vec![],
            faults: FaultConfig::default(),
            crd_establish_delay: Duration::from_secs(1),
            namespace_delete_delay: Duration::from_secs(2),
            clock: SimClock::default(),
            state_file: None,
            event_window: 10_000,
            bookmark_interval: Duration::from_secs(60),
            kubernetes_version: "v1.33.5".into(),
            tls: false,
        }
    }
}

/// A permission the user does not have. Each list matches anything when it is empty or holds
/// `*`; a request is denied when every list matches it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionRule {
    /// Verbs (`create`, `list`, `patch`, ...).
    #[serde(default)]
    pub verbs: Vec<String>,
    /// API groups (`""` = core).
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Resources, optionally with a subresource (`pods/log`).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Namespaces (cluster-scoped requests match only an empty list or `*`).
    #[serde(default)]
    pub namespaces: Vec<String>,
}

impl PermissionRule {
    /// Whether this rule denies the request.
    pub fn matches(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: Option<&str>,
        namespace: Option<&str>,
    ) -> bool {
        let any =
            |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == "*" || x == v);
        let full = match sub {
            Some(s) => format!("{resource}/{s}"),
            None => resource.to_string(),
        };
        let res_ok = self.resources.is_empty()
            || self
                .resources
                .iter()
                .any(|r| r == "*" || *r == full || (sub.is_none() && r == resource));
        let ns_ok = match namespace {
            Some(ns) => any(&self.namespaces, ns),
            None => self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == "*"),
        };
        any(&self.verbs, verb) && any(&self.api_groups, group) && res_ok && ns_ok
    }
}

/// Faults injected into API requests (everything under `/api` and `/apis`), deterministic for a
/// given seed and request order. A fault strikes before the request executes (nothing happened)
/// or, for a share `after_execute` of them, after it executed: the change is made and the
/// response is lost (replaced by a 500, 503 or a dropped connection), as when a load balancer or
/// an etcd timeout eats the answer to a write that committed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    /// Probability (0..=1) that a request fails.
    #[serde(default)]
    pub rate: f64,
    /// Relative weights of the failure kinds.
    #[serde(default)]
    pub kinds: FaultKinds,
    /// Seconds sent in `Retry-After` with 429 (and 503).
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u64,
    /// Added to every API request (real time).
    #[serde(default, with = "humantime_serde_opt")]
    pub latency: Duration,
    /// Share (0..=1) of the faults that strike after the request executed (response lost).
    /// 429 is always before: API Priority and Fairness rejects before executing.
    #[serde(default)]
    pub after_execute: f64,
    /// Seed of the fault generator.
    #[serde(default)]
    pub seed: u64,
    /// Only requests with these verbs are affected (all when empty).
    #[serde(default)]
    pub verbs: Vec<String>,
}

fn default_retry_after() -> u64 {
    1
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            rate: 0.0,
            kinds: FaultKinds::default(),
            retry_after_seconds: 1,
            latency: Duration::ZERO,
            after_execute: 0.0,
            seed: 0,
            verbs: vec![],
        }
    }
}

/// Relative weights of the injected failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultKinds {
    /// 429 TooManyRequests with Retry-After.
    #[serde(default)]
    pub too_many_requests: u32,
    /// 500 InternalError.
    #[serde(default)]
    pub internal_error: u32,
    /// 503 ServiceUnavailable.
    #[serde(default)]
    pub unavailable: u32,
    /// The connection is dropped before a complete response.
    #[serde(default)]
    pub connection_reset: u32,
}

impl Default for FaultKinds {
    fn default() -> Self {
        FaultKinds {
            too_many_requests: 1,
            internal_error: 1,
            unavailable: 1,
            connection_reset: 1,
        }
    }
}

/// `Duration` as a humantime string (`250ms`).
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_every_list() {
        let rule = PermissionRule {
            verbs: vec!["create".into(), "patch".into()],
            api_groups: vec!["machine.openshift.io".into()],
            resources: vec!["machinesets".into()],
            namespaces: vec![],
        };
        assert!(rule.matches(
            "create",
            "machine.openshift.io",
            "machinesets",
            None,
            Some("x")
        ));
        assert!(!rule.matches(
            "get",
            "machine.openshift.io",
            "machinesets",
            None,
            Some("x")
        ));
        assert!(!rule.matches("create", "", "pods", None, Some("x")));
        let logs = PermissionRule {
            resources: vec!["pods/log".into()],
            ..Default::default()
        };
        assert!(logs.matches("get", "", "pods", Some("log"), Some("x")));
        assert!(!logs.matches("get", "", "pods", None, Some("x")));
    }
}
