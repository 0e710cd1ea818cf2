//! The `pods/{name}/log` subresource. Controllers keep a pod's log in the annotation
//! `sim.democtl.io/log` (newline-separated; `sim.democtl.io/log.<container>` for one container
//! of a multi-container pod); this serves it as text/plain with `container`, `tailLines` and
//! `follow` (streams new lines until the pod has terminated or is deleted).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::Request;
use crate::sim::error::ApiError;
use crate::sim::server::Shared;
use crate::sim::store::EventType;

/// The annotation holding a pod's log.
pub const LOG_ANNOTATION: &str = "sim.democtl.io/log";

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The log text of one container.
pub fn log_text(pod: &Value, container: &str) -> Option<String> {
    let ann = pod.pointer("/metadata/annotations")?;
    ann.get(format!("{LOG_ANNOTATION}.{container}"))
        .or_else(|| ann.get(LOG_ANNOTATION))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn terminated(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded" | "Failed")
    )
}

fn waiting_reason(pod: &Value, container: &str) -> Option<String> {
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)?;
    let st = statuses
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(container))?;
    st.pointer("/state/waiting/reason")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Lines of `new` not yet sent, given the previously sent text (the annotation keeps only the
/// last lines, so the old tail is located in the new text).
fn new_lines<'a>(old: &str, new: &'a str) -> Vec<&'a str> {
    let o: Vec<&str> = old.lines().collect();
    let n: Vec<&str> = new.lines().collect();
    if n.starts_with(&o) {
        return n[o.len()..].to_vec();
    }
    for k in (1..=o.len().min(n.len())).rev() {
        if o[o.len() - k..] == n[..k] {
            return n[k..].to_vec();
        }
    }
    n
}

fn text_response(body: Body) -> Response {
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// GET `pods/{name}/log`.
pub async fn serve(shared: Arc<Shared>, req: Request) -> Result<Response, ApiError> {
    let name = req.name.clone().unwrap_or_default();
    let (pod, mut rx) = {
        let st = shared.store.lock();
        let pod = st
            .get(&req.gr, req.ns(), &name)
            .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
        (pod, st.subscribe())
    };
    let containers = names(&pod, "containers");
    let all: Vec<String> = containers
        .iter()
        .cloned()
        .chain(names(&pod, "initContainers"))
        .collect();
    let container = match req.query.get("container").filter(|c| !c.is_empty()) {
        Some(c) if all.contains(c) => c.clone(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None if containers.is_empty() => String::new(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let text = log_text(&pod, &container);
    if text.is_none()
        && let Some(reason) = waiting_reason(&pod, &container)
    {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    let text = text.unwrap_or_default();
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(n) = req
        .query
        .get("tailLines")
        .and_then(|t| t.parse::<usize>().ok())
    {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut first = String::new();
    for l in &lines {
        first.push_str(l);
        first.push('\n');
    }
    if !req.flag("follow") || terminated(&pod) {
        return Ok(text_response(Body::from(first)));
    }
    let (tx, out) = mpsc::channel::<Bytes>(64);
    let cancel = shared.cancel.clone();
    let gr = req.gr.clone();
    let ns = req.ns().to_string();
    tokio::spawn(async move {
        if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        let mut sent = text;
        loop {
            let ev = tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tx.closed() => return,
                ev = rx.recv() => ev,
            };
            let ev = match ev {
                Ok(ev) => ev,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            };
            if ev.gr != gr
                || ev.namespace != ns
                || ev.object.pointer("/metadata/name").and_then(Value::as_str)
                    != Some(name.as_str())
            {
                continue;
            }
            let now = log_text(&ev.object, &container).unwrap_or_default();
            let fresh = new_lines(&sent, &now);
            if !fresh.is_empty() {
                let mut chunk = String::new();
                for l in fresh {
                    chunk.push_str(l);
                    chunk.push('\n');
                }
                if tx.send(Bytes::from(chunk)).await.is_err() {
                    return;
                }
            }
            sent = now;
            if ev.kind == EventType::Deleted || terminated(&ev.object) {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(out, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    Ok(text_response(Body::from_stream(stream)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_lines_survive_truncation() {
        assert_eq!(new_lines("a\nb\n", "a\nb\nc\n"), vec!["c"]);
        assert_eq!(new_lines("a\nb\nc", "b\nc\nd\ne"), vec!["d", "e"]);
        assert_eq!(new_lines("", "x"), vec!["x"]);
    }
}
