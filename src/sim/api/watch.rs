//! Watches: newline-delimited `{"type":…,"object":…}` events (ADDED / MODIFIED / DELETED /
//! BOOKMARK / ERROR) from a resourceVersion, with synthetic ADDED events for the current state
//! when none (or `0`) is given or `sendInitialEvents=true`, label/field selectors (objects
//! entering or leaving the selection become ADDED / DELETED), bookmarks, timeoutSeconds, and a
//! 410 Expired ERROR event when the resourceVersion is older than the retained window.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::read::Selectors;
use super::{Request, for_version};
use crate::sim::error::ApiError;
use crate::sim::resources::KindInfo;
use crate::sim::server::Shared;
use crate::sim::store::{Event, EventType, WatchStart};

/// Real time a watch lasts without `timeoutSeconds` (kube-apiserver's default minimum).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

fn line(kind: &str, object: Value) -> Bytes {
    let mut s = json!({"type": kind, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn bookmark(kind: &KindInfo, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        json!({"kind": kind.kind, "apiVersion": kind.api_version(), "metadata": meta}),
    )
}

fn expired(message: String) -> Bytes {
    line("ERROR", ApiError::expired(message).status())
}

struct Filter {
    kind: Arc<KindInfo>,
    namespace: Option<String>,
    name: Option<String>,
    sel: Selectors,
}

impl Filter {
    fn selects(&self, obj: &Value) -> bool {
        self.name
            .as_deref()
            .is_none_or(|n| obj.pointer("/metadata/name").and_then(Value::as_str) == Some(n))
            && self.sel.matches(obj)
    }

    /// The event a watcher sees for a stored change, if any.
    fn translate(&self, ev: &Event) -> Option<Bytes> {
        if ev.gr.group != self.kind.group || ev.gr.resource != self.kind.plural {
            return None;
        }
        if self
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != ev.namespace)
        {
            return None;
        }
        let now = self.selects(&ev.object);
        let kind = match ev.kind {
            EventType::Modified => {
                let before = ev.prev.as_deref().is_some_and(|p| self.selects(p));
                match (before, now) {
                    (true, true) => "MODIFIED",
                    (false, true) => "ADDED",
                    (true, false) => "DELETED",
                    (false, false) => return None,
                }
            }
            other if now => other.as_str(),
            _ => return None,
        };
        let api_version = self.kind.api_version();
        let (v, json) = ev.rendered.get_or_init(|| {
            let json: Arc<str> = for_version(&self.kind, &ev.object).to_string().into();
            (api_version.clone(), json)
        });
        if *v != api_version {
            return Some(line(kind, for_version(&self.kind, &ev.object)));
        }
        Some(Bytes::from(format!(
            "{{\"type\":\"{kind}\",\"object\":{json}}}\n"
        )))
    }
}

/// Serves `?watch=true`.
pub fn serve(shared: Arc<Shared>, req: Request) -> Result<Response, ApiError> {
    let sel = Selectors::from_request(&req)?;
    let bookmarks = req.flag("allowWatchBookmarks");
    let send_initial = req.flag("sendInitialEvents");
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT);
    let from = super::read::resource_version(&req)?.filter(|rv| *rv != 0);
    let filter = Filter {
        kind: req.kind.clone(),
        namespace: req.namespace.clone(),
        name: req.name.clone(),
        sel,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(512);
    let mut first: Vec<Bytes> = vec![];
    let (mut live, mut last_rv) = {
        let st = shared.store.lock();
        let current = st.rv();
        let initial = from.is_none() || send_initial;
        if initial {
            for o in st.list(&req.gr, req.namespace.as_deref()) {
                if filter.selects(&o) {
                    first.push(line("ADDED", for_version(&req.kind, &o)));
                }
            }
            if send_initial && bookmarks {
                first.push(bookmark(&req.kind, current, true));
            }
            (Some(st.subscribe()), current)
        } else {
            let from = from.unwrap_or(0);
            match st.watch_from(from) {
                WatchStart::Ok(backlog, rx) => {
                    first.extend(backlog.iter().filter_map(|e| filter.translate(e)));
                    (Some(rx), current)
                }
                WatchStart::TooOld { oldest } => {
                    first.push(expired(format!(
                        "too old resource version: {from} ({oldest})"
                    )));
                    (None, current)
                }
            }
        }
    };
    let cancel = shared.cancel.clone();
    let bookmark_every = shared.config.bookmark_interval;
    tokio::spawn(async move {
        for b in first {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let Some(rx) = live.as_mut() else { return };
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(bookmark_every);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tx.closed() => return,
                _ = &mut deadline => {
                    if bookmarks {
                        let _ = tx.send(bookmark(&filter.kind, last_rv, false)).await;
                    }
                    return;
                }
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(bookmark(&filter.kind, last_rv, false)).await.is_err() {
                        return;
                    }
                }
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        last_rv = last_rv.max(ev.rv);
                        if let Some(b) = filter.translate(&ev)
                            && tx.send(b).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let _ = tx.send(expired(format!(
                            "too old resource version: {last_rv} (watcher fell behind)"
                        ))).await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
