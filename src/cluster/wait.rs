//! Waiting on the cluster: watches (kube-runtime `watch_object`/`watcher`), never sleep-polling.
//! Every wait has a deadline, pushes live progress text through a callback, and on timeout or
//! failure returns the last status it saw plus evidence (pod waiting reasons, Warning events,
//! last log lines).

use std::fmt;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watch_object};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use super::client::Cluster;
use super::error::ClusterError;
use super::object::{ObjectKey, typed_value};
use super::operators::Decision;
use crate::readiness::Status;

/// Live progress text for the spinner. Plain callback so the cluster layer never imports the
/// runner.
pub type Progress<'a> = &'a (dyn Fn(String) + Send + Sync);

/// How long a wait may be quiet (no status change) before it shows evidence.
pub const QUIET_PERIOD: Duration = Duration::from_secs(30);

/// How a wait ended badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitOutcome {
    TimedOut,
    Failed,
}

/// One object that was not ready when the wait ended, with the last status seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waited {
    /// `Kind/name` (namespace in `namespace`).
    pub object: String,
    pub namespace: Option<String>,
    pub status: Status,
}

/// A wait that timed out or saw a terminal failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitError {
    pub outcome: WaitOutcome,
    /// The objects that were not ready, first the one that decided the outcome.
    pub objects: Vec<Waited>,
    /// Pod waiting reasons, recent Warning events, last log lines.
    pub evidence: Vec<String>,
}

impl std::error::Error for WaitError {}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(first) = self.objects.first() else {
            return f.write_str("wait ended without a result");
        };
        let name = match &first.namespace {
            _ if first.object.contains('`') => first.object.clone(),
            Some(ns) => format!("`{}` in `{ns}`", first.object),
            None => format!("`{}`", first.object),
        };
        let more = match self.objects.len() {
            1 => String::new(),
            n => format!(" (and {} more not ready)", n - 1),
        };
        let reason = status_reason(&first.status);
        match self.outcome {
            WaitOutcome::TimedOut => write!(f, "timed out waiting for {name}{more}: {reason}"),
            WaitOutcome::Failed => write!(f, "{name} failed{more}: {reason}"),
        }
    }
}

impl WaitError {
    /// A timeout on one target with its last reason.
    pub fn timed_out(
        target: impl Into<String>,
        reason: impl Into<String>,
        evidence: Vec<String>,
    ) -> Self {
        WaitError {
            outcome: WaitOutcome::TimedOut,
            objects: vec![Waited {
                object: target.into(),
                namespace: None,
                status: Status::InProgress {
                    reason: reason.into(),
                },
            }],
            evidence,
        }
    }

    /// A terminal failure of one target.
    pub fn failed(
        target: impl Into<String>,
        reason: impl Into<String>,
        evidence: Vec<String>,
    ) -> Self {
        WaitError {
            outcome: WaitOutcome::Failed,
            objects: vec![Waited {
                object: target.into(),
                namespace: None,
                status: Status::Failed {
                    reason: reason.into(),
                },
            }],
            evidence,
        }
    }

    /// Waits are never retried by the runner: the deadline was the budget.
    pub fn is_transient(&self) -> bool {
        false
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self.outcome {
            WaitOutcome::TimedOut => {
                "it may still finish: run the same command again to keep waiting, or `democtl status` to look".into()
            }
            WaitOutcome::Failed => "fix the cause shown in the evidence, then run the same command again".into(),
        })
    }
}

/// The reason of a status, or its name when it has none.
pub fn status_reason(s: &Status) -> String {
    match s {
        Status::Current { reason: Some(r) } | Status::Terminating { reason: Some(r) } => r.clone(),
        Status::InProgress { reason } | Status::Failed { reason } => reason.clone(),
        Status::Current { reason: None } => "Current".into(),
        Status::Terminating { reason: None } => "Terminating".into(),
        Status::NotFound => "NotFound".into(),
    }
}

pub(crate) fn wait_err(e: WaitError) -> ClusterError {
    ClusterError::Wait(Box::new(e))
}

impl Cluster {
    /// The CRD API (cluster-scoped, apiextensions.k8s.io/v1).
    pub async fn crd_api(&self) -> Result<Api<DynamicObject>, ClusterError> {
        let key = ObjectKey::new(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "",
        );
        let r = self.resolve_or_missing(&key).await?;
        Ok(self.api(&r.resource, None))
    }

    /// The current clock for readiness grace periods.
    pub fn now(&self) -> jiff::Timestamp {
        (self.clock())()
    }

    /// Watches one object until `decide` returns Done (its value is returned) or Failed, or
    /// the deadline passes. `decide` sees `None` while the object does not exist.
    pub async fn wait_until<T>(
        &self,
        key: &ObjectKey,
        deadline: Instant,
        progress: Progress<'_>,
        mut decide: impl FnMut(Option<&Value>) -> Decision<T>,
    ) -> Result<T, ClusterError> {
        let resolved = self.resolve_or_missing(key).await?;
        let api = self.api(&resolved.resource, key.namespace.as_deref());
        let mut stream = watch_object(api, &key.name).default_backoff().boxed();
        let mut last = String::from("no status yet");
        let resource = &resolved.resource;
        loop {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => {
                    return Err(wait_err(WaitError {
                        outcome: WaitOutcome::TimedOut,
                        objects: vec![Waited {
                            object: format!("{}/{}", key.kind, key.name),
                            namespace: key.namespace.clone(),
                            status: Status::InProgress { reason: last },
                        }],
                        evidence: Vec::new(),
                    }));
                }
                Ok(None) => {
                    return Err(ClusterError::Refused(format!(
                        "the watch of {} ended",
                        key.describe()
                    )));
                }
                // The watcher recovers by itself (with backoff); transient errors are not news.
                Ok(Some(Err(_))) => continue,
                Ok(Some(Ok(obj))) => {
                    let value = obj.map(|o| typed_value(o, resource));
                    match decide(value.as_ref()) {
                        Decision::Done(t) => return Ok(t),
                        Decision::Failed(reason) => {
                            return Err(wait_err(WaitError {
                                outcome: WaitOutcome::Failed,
                                objects: vec![Waited {
                                    object: format!("{}/{}", key.kind, key.name),
                                    namespace: key.namespace.clone(),
                                    status: Status::Failed { reason },
                                }],
                                evidence: Vec::new(),
                            }));
                        }
                        Decision::Pending(msg) => {
                            if msg != last {
                                progress(msg.clone());
                                last = msg;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Waits until the object is gone (or replaced under a new uid).
    pub async fn wait_deleted(
        &self,
        key: &ObjectKey,
        uid: Option<&str>,
        deadline: Instant,
        progress: Progress<'_>,
    ) -> Result<(), ClusterError> {
        let uid = uid.map(str::to_string);
        self.wait_until(key, deadline, progress, |obj| match obj {
            None => Decision::Done(()),
            Some(o)
                if uid.is_some()
                    && o.pointer("/metadata/uid").and_then(Value::as_str) != uid.as_deref() =>
            {
                Decision::Done(())
            }
            Some(o) => {
                let blockers = deletion_blockers(o);
                if blockers.is_empty() {
                    Decision::Pending(format!("deleting {}", key.describe()))
                } else {
                    Decision::Pending(format!(
                        "deleting {}: {}",
                        key.describe(),
                        blockers.join("; ")
                    ))
                }
            }
        })
        .await
    }
}

/// Namespace conditions that say why a terminating namespace is still there (set by the
/// namespace controller while it deletes the content).
const NAMESPACE_BLOCKERS: [&str; 5] = [
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
    "NamespaceDeletionContentFailure",
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
];

/// What keeps an object that is being deleted: its `metadata.finalizers`; for a Namespace also
/// `spec.finalizers` (`kubernetes`, removed by the namespace controller once the content is
/// gone) and the namespace conditions that are True, with their messages.
pub fn deletion_blockers(live: &Value) -> Vec<String> {
    let strings = |pointer: &str| -> Vec<&str> {
        live.pointer(pointer)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let finalizers = strings("/metadata/finalizers");
    if !finalizers.is_empty() {
        out.push(format!("waits on finalizers: {}", finalizers.join(", ")));
    }
    let spec_finalizers = strings("/spec/finalizers");
    if !spec_finalizers.is_empty() && live.get("kind").and_then(Value::as_str) == Some("Namespace")
    {
        out.push(format!(
            "waits on namespace finalizers (spec.finalizers): {}",
            spec_finalizers.join(", ")
        ));
    }
    for c in NAMESPACE_BLOCKERS {
        if let Some(cond) = super::object::condition(live, c)
            && cond.get("status").and_then(Value::as_str) == Some("True")
        {
            let message = cond.get("message").and_then(Value::as_str).unwrap_or("");
            out.push(format!("{c}: {message}"));
        }
    }
    out
}

/// Watches all objects of a kind in a namespace (or cluster-wide) and returns the stream of
/// applied objects; used by operator waits.
pub fn watch_all(
    api: Api<DynamicObject>,
) -> impl futures::Stream<Item = Result<DynamicObject, watcher::Error>> {
    watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_error_messages() {
        let e = WaitError {
            outcome: WaitOutcome::Failed,
            objects: vec![
                Waited {
                    object: "Job/download".into(),
                    namespace: Some("demo".into()),
                    status: Status::Failed {
                        reason: "BackoffLimitExceeded".into(),
                    },
                },
                Waited {
                    object: "Deployment/x".into(),
                    namespace: None,
                    status: Status::InProgress {
                        reason: "LessReady".into(),
                    },
                },
            ],
            evidence: vec![],
        };
        assert_eq!(
            e.to_string(),
            "`Job/download` in `demo` failed (and 1 more not ready): BackoffLimitExceeded"
        );
        let t = WaitError::timed_out("CRD of `X.g`", "not installed", vec![]);
        assert_eq!(
            t.to_string(),
            "timed out waiting for CRD of `X.g`: not installed"
        );
    }
}
