//! `wait_ready`: waits until objects are Current per `crate::readiness`, through watches, with
//! re-assessment when a grace period ends, evidence after a quiet period, and fail-fast on
//! Failed.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::{StreamExt, TryFutureExt};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::watch_object;
use serde_json::Value;
use tokio::time::Instant;

use super::client::Cluster;
use super::error::ClusterError;
use super::evidence;
use super::object::{ObjectKey, typed_value};
use super::wait::{Progress, QUIET_PERIOD, WaitError, WaitOutcome, Waited, wait_err};
use crate::readiness::{self, AssessContext, Status};

impl Cluster {
    /// Waits until every object is Current per `crate::readiness`, failing at once when one is
    /// Failed. Returns the final objects in the order of `keys`. On a quiet period (no status
    /// change for [`QUIET_PERIOD`]) the progress line shows the top evidence; on failure or
    /// timeout the error carries the last statuses and the evidence.
    pub async fn wait_ready(
        &self,
        keys: &[ObjectKey],
        deadline: Instant,
        progress: Progress<'_>,
    ) -> Result<Vec<Value>, ClusterError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let board = Board::new(keys);
        let waits = keys.iter().enumerate().map(|(i, key)| {
            self.wait_one_ready(i, key, deadline, &board, progress)
                .map_err(move |e| (i, e))
        });
        let result = futures::future::try_join_all(waits).await;
        match result {
            Ok(values) => Ok(values),
            Err((i, ClusterError::Wait(mut w))) => {
                // Put the deciding object first, then the rest that were not ready.
                let mut objects = Vec::new();
                let statuses = board.snapshot();
                if let Some(first) = w.objects.first().cloned() {
                    objects.push(first);
                }
                for (j, key) in keys.iter().enumerate() {
                    if j == i {
                        continue;
                    }
                    if let Some(s) = statuses.get(&j)
                        && !s.is_current()
                    {
                        objects.push(Waited {
                            object: format!("{}/{}", key.kind, key.name),
                            namespace: key.namespace.clone(),
                            status: s.clone(),
                        });
                    }
                }
                w.objects = objects;
                if w.evidence.is_empty()
                    && let Some(key) = keys.get(i)
                {
                    w.evidence = evidence::collect(self, key).await;
                }
                Err(ClusterError::Wait(w))
            }
            Err((_, e)) => Err(e),
        }
    }

    async fn wait_one_ready(
        &self,
        index: usize,
        key: &ObjectKey,
        deadline: Instant,
        board: &Board,
        progress: Progress<'_>,
    ) -> Result<Value, ClusterError> {
        let resolved = self.resolve_or_missing(key).await?;
        let api = self.api(&resolved.resource, key.namespace.as_deref());
        let status_expected = Some(resolved.subresources.iter().any(|s| s == "status"));
        let mut stream = watch_object(api, &key.name).default_backoff().boxed();
        let mut current: Option<Value> = None;
        let mut related = evidence::Related::default();
        let mut recheck: Option<Instant> = None;
        let mut last_change = Instant::now();
        let mut shown_evidence = false;
        let mut last_status = Status::InProgress {
            reason: "no status yet".into(),
        };
        loop {
            // Wake for: the next watch event, a grace period ending, a quiet period, the deadline.
            let quiet_at = last_change + QUIET_PERIOD;
            let wake = [
                Some(deadline),
                recheck,
                (!shown_evidence).then_some(quiet_at),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(deadline);
            let event = tokio::time::timeout_at(wake, stream.next()).await;
            let now = Instant::now();
            match event {
                Ok(Some(Ok(obj))) => {
                    let next = obj.map(|o| typed_value(o, &resolved.resource));
                    // A Job with a TTL that we saw and is now gone has finished (Flux's rule).
                    if next.is_none()
                        && let Some(seen) = &current
                        && readiness::related::deletes_itself_when_finished(seen)
                    {
                        board.set(
                            index,
                            Status::Current {
                                reason: Some("finished and cleaned up (TTL)".into()),
                            },
                        );
                        return Ok(seen.clone());
                    }
                    current = next;
                    if let Some(obj) = &current
                        && evidence::needs_pods(obj)
                    {
                        related = evidence::Related::fetch(self, obj).await;
                    }
                }
                Ok(Some(Err(_))) => continue,
                Ok(None) => {
                    return Err(ClusterError::Refused(format!(
                        "the watch of {} ended",
                        key.describe()
                    )));
                }
                Err(_) if now >= deadline => {
                    let evidence = evidence::collect(self, key).await;
                    return Err(wait_err(WaitError {
                        outcome: WaitOutcome::TimedOut,
                        objects: vec![Waited {
                            object: format!("{}/{}", key.kind, key.name),
                            namespace: key.namespace.clone(),
                            status: last_status,
                        }],
                        evidence,
                    }));
                }
                Err(_) => {
                    if !shown_evidence && now >= quiet_at {
                        shown_evidence = true;
                        let evidence = evidence::collect(self, key).await;
                        if let Some(first) = evidence.first() {
                            progress(format!("{}/{}: {first}", key.kind, key.name));
                        }
                    }
                    // A grace period may have ended: refresh related pods and re-assess.
                    if let Some(obj) = &current
                        && evidence::needs_pods(obj)
                    {
                        related = evidence::Related::fetch(self, obj).await;
                    }
                }
            }
            let null = Value::Null;
            let obj = current.as_ref().unwrap_or(&null);
            let mut ctx = AssessContext::new(self.now())
                .with_pods(&related.pods)
                .with_events(&related.events)
                .with_storage_classes(&related.storage_classes);
            ctx.status_expected = status_expected;
            let assessment = readiness::evaluate(obj, &ctx);
            recheck = assessment.recheck_at.map(|t| {
                let secs = t.duration_since(self.now()).as_secs_f64().max(0.0);
                Instant::now()
                    + Duration::from_secs_f64(secs.min(3600.0))
                    + Duration::from_millis(50)
            });
            let status = assessment.status;
            board.set(index, status.clone());
            if status != last_status {
                last_change = Instant::now();
                shown_evidence = false;
                progress(board.line(index));
            }
            last_status = status.clone();
            match status {
                Status::Current { .. } => return Ok(obj.clone()),
                Status::Failed { .. } => {
                    let evidence = evidence::collect(self, key).await;
                    return Err(wait_err(WaitError {
                        outcome: WaitOutcome::Failed,
                        objects: vec![Waited {
                            object: format!("{}/{}", key.kind, key.name),
                            namespace: key.namespace.clone(),
                            status,
                        }],
                        evidence,
                    }));
                }
                _ => {}
            }
        }
    }
}

/// Shared view of a multi-object wait, for the "3/5 ready — Deployment/x: …" progress line.
struct Board {
    names: Vec<String>,
    statuses: Mutex<BTreeMap<usize, Status>>,
}

impl Board {
    fn new(keys: &[ObjectKey]) -> Self {
        Board {
            names: keys
                .iter()
                .map(|k| format!("{}/{}", k.kind, k.name))
                .collect(),
            statuses: Mutex::new(BTreeMap::new()),
        }
    }

    fn set(&self, i: usize, s: Status) {
        if let Ok(mut m) = self.statuses.lock() {
            m.insert(i, s);
        }
    }

    fn snapshot(&self) -> BTreeMap<usize, Status> {
        self.statuses.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Progress line after object `i` changed.
    fn line(&self, i: usize) -> String {
        let m = self.snapshot();
        let ready = m.values().filter(|s| s.is_current()).count();
        let total = self.names.len();
        let name = self.names.get(i).cloned().unwrap_or_default();
        let status = m.get(&i).map(|s| s.to_string()).unwrap_or_default();
        if total == 1 {
            format!("{name}: {status}")
        } else {
            // Show the changed object unless it just became ready; then the first pending one.
            let (name, status) = match m.get(&i) {
                Some(s) if s.is_current() => m
                    .iter()
                    .find(|(_, s)| !s.is_current())
                    .map(|(j, s)| {
                        (
                            self.names.get(*j).cloned().unwrap_or_default(),
                            s.to_string(),
                        )
                    })
                    .unwrap_or((name, status)),
                _ => (name, status),
            };
            format!("{ready}/{total} ready — {name}: {status}")
        }
    }
}
