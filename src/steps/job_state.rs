//! What a batch Job, a Tekton PipelineRun and their pods say about progress (pure).
//!
//! Jobs are judged by their conditions — `Complete` or `Failed`, whichever comes first — never
//! by waiting for `Complete` until a timeout (the original scripts noticed a failed download
//! only after an hour). Progress comes from the last log lines: a percentage, a `done/total`
//! count, or the line itself.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::readiness::{self, AssessContext, Status};

/// Where a Job (or PipelineRun) stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Running,
    Succeeded,
    Failed { reason: String },
}

fn conditions(obj: &Value) -> impl Iterator<Item = &Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn cond_str<'a>(c: &'a Value, key: &str) -> &'a str {
    c.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Where a Job or PipelineRun stands, by the readiness rules (`crate::readiness`): `Complete`
/// or `Succeeded=True` is success, `Failed`/`FailureTarget` or `Succeeded=False` is failure —
/// whichever comes first, never a wait for success until a timeout.
pub fn run_state(obj: &Value, now: jiff::Timestamp) -> RunState {
    match readiness::assess(obj, &AssessContext::new(now)) {
        Status::Current { .. } => RunState::Succeeded,
        Status::Failed { reason } => RunState::Failed { reason },
        Status::InProgress { .. } | Status::Terminating { .. } | Status::NotFound => {
            RunState::Running
        }
    }
}

/// A PipelineRun's progress message (`Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0`).
pub fn pipelinerun_progress(run: &Value) -> Option<String> {
    conditions(run)
        .find(|c| cond_str(c, "type") == "Succeeded")
        .map(|c| cond_str(c, "message").to_string())
        .filter(|m| !m.is_empty())
}

/// Pod waiting reasons that will not fix themselves.
const HOPELESS: [&str; 4] = [
    "CreateContainerConfigError",
    "InvalidImageName",
    "ImagePullBackOff",
    "ErrImageNeverPull",
];

/// A reason a Job's pod cannot start (missing Secret key, bad image), with its message.
pub fn pod_blocked(pod: &Value) -> Option<String> {
    let statuses = ["/status/initContainerStatuses", "/status/containerStatuses"];
    for pointer in statuses {
        for s in pod
            .pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(waiting) = s.pointer("/state/waiting") else {
                continue;
            };
            let reason = cond_str(waiting, "reason");
            if HOPELESS.contains(&reason) {
                let container = cond_str(s, "name");
                let message = cond_str(waiting, "message");
                return Some(if message.is_empty() {
                    format!("container `{container}`: {reason}")
                } else {
                    format!("container `{container}`: {reason}: {message}")
                });
            }
        }
    }
    None
}

static PERCENT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(\d{1,3}(?:\.\d+)?)\s?%").ok());
static COUNT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\b(\d+)\s?/\s?(\d+)\b").ok());
static SHARD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(\d+)-of-(\d+)").ok());

/// Progress from the last log lines: `42%`, `7/12`, `file 3/10 50%` (sharded weights), or the
/// last non-empty line (shortened).
pub fn progress_from_log(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .flat_map(|l| l.split('\r'))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    for line in lines.iter().rev().take(5) {
        if let Some(re) = PERCENT.as_ref()
            && let Some(m) = re.captures_iter(line).last()
            && let Some(p) = m.get(1)
            && p.as_str().parse::<f64>().is_ok_and(|v| v <= 100.0)
        {
            if let Some(re) = SHARD.as_ref()
                && let Some(m) = re.captures(line)
                && let (Some(a), Some(b)) = (m.get(1), m.get(2))
                && let (Ok(a), Ok(b)) = (a.as_str().parse::<u64>(), b.as_str().parse::<u64>())
            {
                return Some(format!("file {a}/{b} {}%", p.as_str()));
            }
            return Some(format!("{}%", p.as_str()));
        }
        if let Some(re) = COUNT.as_ref()
            && let Some(m) = re.captures_iter(line).last()
            && let (Some(a), Some(b)) = (m.get(1), m.get(2))
            && let (Ok(a), Ok(b)) = (a.as_str().parse::<u64>(), b.as_str().parse::<u64>())
            && b > 0
            && a <= b
        {
            return Some(format!("{a}/{b}"));
        }
    }
    lines.last().map(|l| shorten(l, 60))
}

/// The last machine-readable download line of a log: `{"democtl":"progress","file":…,
/// "bytes_done":…,"bytes_total":…,"files_done":…,"files_total":…}` or, at the end,
/// `{"democtl":"done","bytes_total":…,"files_total":…}` (one JSON object per line, printed by
/// the download script and by the simulator's download Jobs). Other lines are ignored.
pub fn download_progress(log: &str, job: &str) -> Option<crate::runner::event::DownloadProgress> {
    log.lines().rev().find_map(|line| {
        let line = line.trim();
        if !line.starts_with('{') || !line.contains("\"democtl\"") {
            return None;
        }
        let v: Value = serde_json::from_str(line).ok()?;
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        let bytes_total = n("bytes_total")?;
        let files_total = n("files_total").unwrap_or(0);
        match v.get("democtl").and_then(Value::as_str)? {
            "progress" => Some(crate::runner::event::DownloadProgress {
                job: job.to_owned(),
                file: v.get("file").and_then(Value::as_str).map(str::to_owned),
                bytes_done: n("bytes_done")?.min(bytes_total),
                bytes_total,
                files_done: n("files_done").unwrap_or(0),
                files_total,
                done: false,
            }),
            "done" => Some(crate::runner::event::DownloadProgress {
                job: job.to_owned(),
                file: None,
                bytes_done: bytes_total,
                bytes_total,
                files_done: files_total,
                files_total,
                done: true,
            }),
            _ => None,
        }
    })
}

/// Cuts `text` to at most `max` characters, with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// The last `n` non-empty lines of a log.
pub fn last_lines(log: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::UNIX_EPOCH
    }

    #[test]
    fn job_state_from_conditions() {
        let job = |status: Value| {
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "dl"}, "status": status})
        };
        assert_eq!(run_state(&job(json!({})), now()), RunState::Running);
        assert_eq!(
            run_state(
                &job(json!({"conditions": [{"type": "Complete", "status": "True"}]})),
                now()
            ),
            RunState::Succeeded
        );
        assert!(matches!(
            run_state(&job(json!({"conditions": [{"type": "Failed", "status": "True",
                "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})), now()),
            RunState::Failed { reason } if reason.contains("BackoffLimitExceeded")
        ));
        assert_eq!(
            run_state(
                &job(json!({"startTime": "1970-01-01T00:00:00Z",
                "conditions": [{"type": "Failed", "status": "False"}]})),
                now()
            ),
            RunState::Running
        );
    }

    #[test]
    fn pipelinerun_state_from_succeeded() {
        let run = |status: &str, message: &str| {
            json!({"apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun", "metadata": {"name": "ingest"},
            "status": {"conditions": [{"type": "Succeeded", "status": status, "message": message}]}})
        };
        let fresh = json!({"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "metadata": {"name": "ingest"}});
        assert_eq!(run_state(&fresh, now()), RunState::Running);
        assert_eq!(
            run_state(&run("Unknown", "Tasks Completed: 1"), now()),
            RunState::Running
        );
        assert_eq!(run_state(&run("True", ""), now()), RunState::Succeeded);
        assert!(matches!(
            run_state(&run("False", "Task convert failed"), now()),
            RunState::Failed { reason } if reason.contains("Task convert failed")
        ));
    }

    #[test]
    fn pods_blocked_by_missing_secrets_or_images() {
        let pod = json!({"status": {"containerStatuses": [{"name": "download",
            "state": {"waiting": {"reason": "CreateContainerConfigError",
                                   "message": "secret \"huggingface-token\" not found"}}}]}});
        assert_eq!(
            pod_blocked(&pod).unwrap(),
            "container `download`: CreateContainerConfigError: secret \"huggingface-token\" not found"
        );
        let fine = json!({"status": {"containerStatuses": [{"name": "d",
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert_eq!(pod_blocked(&fine), None);
    }

    #[test]
    fn progress_prefers_percentages_then_counts_then_the_line() {
        assert_eq!(
            progress_from_log("Fetching 12 files:  42%|####      | 5/12 [01:10<01:30]\n").unwrap(),
            "42%"
        );
        assert_eq!(
            progress_from_log("downloaded shard 3/10\n").unwrap(),
            "3/10"
        );
        assert_eq!(progress_from_log("a: 10%\rb: 57.5%\r").unwrap(), "57.5%");
        assert_eq!(progress_from_log("starting\n\n").unwrap(), "starting");
        assert_eq!(progress_from_log(""), None);
        assert_eq!(
            progress_from_log("date 2025/11/25 nonsense 999%").unwrap(),
            "date 2025/11/25 nonsense 999%"
        );
        let long = "x".repeat(100);
        assert_eq!(progress_from_log(&long).unwrap().chars().count(), 60);
    }

    #[test]
    fn download_lines_follow_the_contract_and_other_lines_are_ignored() {
        let log = concat!(
            "Fetching 10 files\n",
            r#"{"democtl":"progress","file":"model-00001-of-00010.safetensors","file_bytes":123,"file_total":456,"bytes_done":789,"bytes_total":1011,"files_done":3,"files_total":10}"#,
            "\nsome other line\n"
        );
        let p = download_progress(log, "download-a").unwrap();
        assert_eq!(
            (p.bytes_done, p.bytes_total, p.files_done, p.files_total),
            (789, 1011, 3, 10)
        );
        assert_eq!(p.file.as_deref(), Some("model-00001-of-00010.safetensors"));
        assert!(!p.done);
        let done = format!(
            "{log}{}\n",
            r#"{"democtl":"done","bytes_total":1011,"files_total":10}"#
        );
        let p = download_progress(&done, "download-a").unwrap();
        assert!(p.done);
        assert_eq!(p.bytes_done, 1011);
        assert_eq!(download_progress("42%\n{\"other\": 1}\n", "a"), None);
        assert_eq!(download_progress(r#"{"democtl":"progress"}"#, "a"), None);
    }

    #[test]
    fn last_lines_skips_blank_lines() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(last_lines("a\n", 5), ["a"]);
    }
}
