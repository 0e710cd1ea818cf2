//! Evidence: short, human lines that say why something is not ready, built from the object's
//! pods, events and log text. Shown after a quiet period or when a wait fails. Pure: the caller
//! lists the pods/events and fetches logs; nothing here talks to the cluster or prints.

use jiff::Timestamp;
use serde_json::Value;

use super::generic::{condition, conditions, name_of, str_at};
use super::rules::pod::{shorten, waiting_containers};
use super::{AssessContext, timestamp_at};

/// Longest message kept in one evidence line.
const MAX_MESSAGE: usize = 240;

/// One event, from either core/v1 `Event` or `events.k8s.io/v1` `Event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// The machine reason (`FailedScheduling`, `BackOff`, …).
    pub reason: String,
    /// The message (core/v1 `message`, events.k8s.io `note`).
    pub message: String,
    /// How many times it happened (at least 1).
    pub count: i64,
    /// When it last happened, if the event says.
    pub last_seen: Option<Timestamp>,
    /// `Kind/name` of the object it is about.
    pub object: String,
}

impl EventSummary {
    /// Parse one event object; `None` if it has no reason and no message.
    pub fn parse(event: &Value) -> Option<Self> {
        let involved = event
            .get("involvedObject")
            .or_else(|| event.get("regarding"));
        let reason = str_at(event, "/reason").unwrap_or("").to_string();
        let message = str_at(event, "/message")
            .or_else(|| str_at(event, "/note"))
            .unwrap_or("")
            .trim()
            .to_string();
        if reason.is_empty() && message.is_empty() {
            return None;
        }
        let count = event
            .pointer("/series/count")
            .or_else(|| event.get("count"))
            .or_else(|| event.get("deprecatedCount"))
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(1);
        let last_seen = [
            "/series/lastObservedTime",
            "/lastTimestamp",
            "/deprecatedLastTimestamp",
            "/eventTime",
            "/firstTimestamp",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .find_map(|p| timestamp_at(event, p));
        let object = involved
            .map(|o| {
                format!(
                    "{}/{}",
                    str_at(o, "/kind").unwrap_or("?"),
                    str_at(o, "/name").unwrap_or("?")
                )
            })
            .unwrap_or_default();
        Some(EventSummary {
            type_: str_at(event, "/type").unwrap_or("Normal").to_string(),
            reason,
            message,
            count,
            last_seen,
            object,
        })
    }

    /// True for `Warning` events.
    pub fn is_warning(&self) -> bool {
        self.type_ == "Warning"
    }

    /// "Warning FailedScheduling: 0/6 nodes are available: … (x5)".
    pub fn line(&self) -> String {
        let mut line = format!("{} {}", self.type_, self.reason);
        if !self.message.is_empty() {
            line.push_str(": ");
            line.push_str(&shorten(&self.message, MAX_MESSAGE));
        }
        if self.count > 1 {
            line.push_str(&format!(" (x{})", self.count));
        }
        line
    }
}

/// Whether an event is about `obj` (by UID when both have one, else kind, name and namespace).
pub fn is_about(event: &Value, obj: &Value) -> bool {
    let Some(involved) = event
        .get("involvedObject")
        .or_else(|| event.get("regarding"))
    else {
        return false;
    };
    if let (Some(a), Some(b)) = (str_at(involved, "/uid"), str_at(obj, "/metadata/uid")) {
        return a == b;
    }
    str_at(involved, "/kind") == str_at(obj, "/kind")
        && str_at(involved, "/name") == str_at(obj, "/metadata/name")
        && str_at(involved, "/namespace").unwrap_or("")
            == str_at(obj, "/metadata/namespace").unwrap_or("")
}

/// The events about `obj`, oldest first.
pub fn events_for(obj: &Value, events: &[Value]) -> Vec<EventSummary> {
    let mut out: Vec<EventSummary> = events
        .iter()
        .filter(|e| is_about(e, obj))
        .filter_map(EventSummary::parse)
        .collect();
    out.sort_by_key(|e| e.last_seen);
    out
}

/// Up to `limit` Warning events, newest first, repeated reason+message pairs merged. Lines name
/// their object (`Pod/x: …`) when the events concern more than one object.
pub fn warning_lines(events: &[Value], limit: usize) -> Vec<String> {
    let mut warnings: Vec<EventSummary> = events
        .iter()
        .filter_map(EventSummary::parse)
        .filter(EventSummary::is_warning)
        .collect();
    warnings.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
    let several = warnings.iter().any(|e| e.object != warnings[0].object);
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for e in warnings {
        let key = (e.reason.clone(), e.message.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.push(if several && !e.object.is_empty() {
            format!("{}: {}", e.object, e.line())
        } else {
            e.line()
        });
        if out.len() == limit {
            break;
        }
    }
    out
}

/// What each unready pod is stuck on, one line per problem:
/// "pod download-mistral-24b-x7k2: ImagePullBackOff: Back-off pulling image \"…\"". Multi-
/// container pods name the container. Ready and completed pods give no line.
pub fn pod_lines(pods: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for pod in pods {
        let name = name_of(pod);
        let conds = conditions(pod);
        let phase = str_at(pod, "/status/phase").unwrap_or("");
        let ready = condition(&conds, "Ready").is_some_and(|c| c.is_true());
        if phase == "Succeeded" || (phase == "Running" && ready) {
            continue;
        }
        if phase == "Failed" {
            let why = [
                str_at(pod, "/status/reason"),
                str_at(pod, "/status/message"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
            out.push(if why.is_empty() {
                format!("pod {name}: Failed")
            } else {
                format!("pod {name}: Failed: {}", shorten(&why, MAX_MESSAGE))
            });
            continue;
        }
        let before = out.len();
        if let Some(s) = condition(&conds, "PodScheduled").filter(|c| c.is_false()) {
            out.push(format!("pod {name}: {}", s.explain("not scheduled")));
        }
        let multi = container_count(pod) > 1;
        for stuck in waiting_containers(pod) {
            if matches!(
                stuck.reason.as_str(),
                "ContainerCreating" | "PodInitializing"
            ) {
                continue;
            }
            out.push(format!("pod {name}: {}", stuck.describe(multi)));
        }
        if out.len() == before && !phase.is_empty() {
            out.push(format!("pod {name}: {phase}, not ready"));
        }
    }
    out
}

/// How many containers (init included) the pod declares or reports.
pub(crate) fn container_count(pod: &Value) -> usize {
    let len = |p: &str| pod.pointer(p).and_then(Value::as_array).map_or(0, Vec::len);
    let spec = len("/spec/containers") + len("/spec/initContainers");
    let status = len("/status/containerStatuses") + len("/status/initContainerStatuses");
    spec.max(status)
}

/// The last `n` non-empty lines of a container log, each cut to a readable length, with control
/// characters (terminal escapes, progress-bar carriage returns) removed.
pub fn log_tail(log: &str, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = log
        .lines()
        // A progress bar redraws with '\r': keep what the terminal would show last.
        .map(|l| l.rsplit('\r').find(|s| !s.trim().is_empty()).unwrap_or(""))
        .map(|l| strip_control(l).trim_end().to_string())
        .filter(|l| !l.trim().is_empty())
        .collect();
    let skip = lines.len().saturating_sub(n);
    lines.drain(..skip);
    lines.into_iter().map(|l| shorten(&l, 300)).collect()
}

/// Remove ANSI escape sequences and other control characters (tabs kept).
fn strip_control(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte (0x40..=0x7e).
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&d) {
                        break;
                    }
                }
            }
            continue;
        }
        if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// Everything the context knows about why `obj` is not ready: its pods' problems, then the
/// newest Warning events about it or its pods (at most `max_events`).
pub fn lines(obj: &Value, ctx: &AssessContext<'_>, max_events: usize) -> Vec<String> {
    let mut out = pod_lines(ctx.pods);
    let relevant: Vec<Value> = ctx
        .events
        .iter()
        .filter(|e| is_about(e, obj) || ctx.pods.iter().any(|p| is_about(e, p)))
        .cloned()
        .collect();
    for line in warning_lines(&relevant, max_events) {
        if !out.iter().any(|l| l.ends_with(&line)) {
            out.push(line);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::{now, obj, objs};
    use super::*;

    const PODS: &str = "- apiVersion: v1\n  kind: Pod\n  metadata: {name: download-mistral-24b-x7k2, namespace: ai}\n  spec: {containers: [{name: download}]}\n  status:\n    phase: Pending\n    containerStatuses:\n    - name: download\n      state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"quay.io/x/downloader:1\"'}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: vllm-0, namespace: ai}\n  status:\n    phase: Pending\n    conditions:\n    - {type: PodScheduled, status: 'False', reason: Unschedulable, message: '0/6 nodes are available: 6 Insufficient nvidia.com/gpu.'}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: ok-1, namespace: ai}\n  status: {phase: Running, conditions: [{type: Ready, status: 'True'}]}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: init-1, namespace: ai}\n  spec: {initContainers: [{name: fetch}], containers: [{name: main}]}\n  status:\n    phase: Pending\n    initContainerStatuses:\n    - name: fetch\n      lastState: {terminated: {reason: Error, exitCode: 1}}\n      state: {waiting: {reason: CrashLoopBackOff, message: back-off 40s}}\n    containerStatuses:\n    - name: main\n      state: {waiting: {reason: PodInitializing}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: evicted-1, namespace: ai}\n  status: {phase: Failed, reason: Evicted, message: low on memory}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: slow-1, namespace: ai}\n  status: {phase: Running, conditions: [{type: Ready, status: 'False'}]}\n";

    #[test]
    fn pod_lines_say_what_each_pod_is_stuck_on() {
        let want = [
            "pod download-mistral-24b-x7k2: ImagePullBackOff: Back-off pulling image \"quay.io/x/downloader:1\"",
            "pod vllm-0: Unschedulable: 0/6 nodes are available: 6 Insufficient nvidia.com/gpu.",
            "pod init-1: init container fetch: CrashLoopBackOff: back-off 40s (last exit: Error, code 1)",
            "pod evicted-1: Failed: Evicted: low on memory",
            "pod slow-1: Running, not ready",
        ];
        assert_eq!(pod_lines(&objs(PODS)), want);
    }

    const EVENTS: &str = "- {apiVersion: v1, kind: Event, type: Warning, reason: FailedScheduling, message: '0/6 nodes are available: 6 Insufficient nvidia.com/gpu.', count: 5, involvedObject: {kind: Pod, name: vllm-0, namespace: ai}, lastTimestamp: '2026-01-01T00:09:00Z'}\n- {apiVersion: v1, kind: Event, type: Normal, reason: Scheduled, message: assigned, involvedObject: {kind: Pod, name: vllm-0, namespace: ai}, lastTimestamp: '2026-01-01T00:09:30Z'}\n- {apiVersion: events.k8s.io/v1, kind: Event, type: Warning, reason: BackOff, note: Back-off restarting failed container, regarding: {kind: Pod, name: vllm-0, namespace: ai}, series: {count: 3, lastObservedTime: '2026-01-01T00:09:50Z'}}\n- {apiVersion: v1, kind: Event, type: Warning, reason: FailedScheduling, message: '0/6 nodes are available: 6 Insufficient nvidia.com/gpu.', count: 2, involvedObject: {kind: Pod, name: vllm-0, namespace: ai}, lastTimestamp: '2026-01-01T00:08:00Z'}\n- {apiVersion: v1, kind: Event, type: Warning, reason: Other, message: elsewhere, involvedObject: {kind: Pod, name: other, namespace: ai}, lastTimestamp: '2026-01-01T00:00:00Z'}\n";

    #[test]
    fn warning_lines_newest_first_deduplicated() {
        let events = objs(EVENTS);
        let vllm = obj("{apiVersion: v1, kind: Pod, metadata: {name: vllm-0, namespace: ai}}");
        let about: Vec<Value> = events
            .iter()
            .filter(|e| is_about(e, &vllm))
            .cloned()
            .collect();
        assert_eq!(
            warning_lines(&about, 5),
            [
                "Warning BackOff: Back-off restarting failed container (x3)",
                "Warning FailedScheduling: 0/6 nodes are available: 6 Insufficient nvidia.com/gpu. (x5)",
            ]
        );
        let all = warning_lines(&events, 2);
        assert_eq!(all.len(), 2);
        assert!(all[0].starts_with("Pod/vllm-0: Warning BackOff"), "{all:?}");
        let summary = events_for(&vllm, &events);
        assert_eq!(summary.len(), 4);
        assert_eq!(summary.last().unwrap().reason, "BackOff");
    }

    #[test]
    fn is_about_prefers_uid() {
        let e = obj("{involvedObject: {kind: Pod, name: a, namespace: n, uid: u1}}");
        assert!(is_about(
            &e,
            &obj("{kind: Pod, metadata: {name: a, namespace: n, uid: u1}}")
        ));
        assert!(!is_about(
            &e,
            &obj("{kind: Pod, metadata: {name: a, namespace: n, uid: u2}}")
        ));
        assert!(is_about(
            &e,
            &obj("{kind: Pod, metadata: {name: a, namespace: n}}")
        ));
        assert!(!is_about(
            &e,
            &obj("{kind: Pod, metadata: {name: a, namespace: m}}")
        ));
    }

    #[test]
    fn log_tail_keeps_the_last_visible_lines() {
        let log = "start\n\nDownloading 10%\rDownloading 55%\r\n\u{1b}[32mok\u{1b}[0m step 2\nlast line   \n";
        assert_eq!(
            log_tail(log, 3),
            ["Downloading 55%", "ok step 2", "last line"]
        );
        assert_eq!(log_tail("", 3), Vec::<String>::new());
        assert_eq!(log_tail("a\nb", 10), ["a", "b"]);
    }

    #[test]
    fn lines_combine_pods_and_events() {
        let pods = objs(PODS);
        let events = objs(EVENTS);
        let ctx = AssessContext::new(now())
            .with_pods(&pods[1..2])
            .with_events(&events);
        let deploy =
            obj("{apiVersion: apps/v1, kind: Deployment, metadata: {name: vllm, namespace: ai}}");
        assert_eq!(
            lines(&deploy, &ctx, 3),
            [
                "pod vllm-0: Unschedulable: 0/6 nodes are available: 6 Insufficient nvidia.com/gpu.",
                "Warning BackOff: Back-off restarting failed container (x3)",
                "Warning FailedScheduling: 0/6 nodes are available: 6 Insufficient nvidia.com/gpu. (x5)",
            ]
        );
    }
}
