//! What a batch Job, a Tekton PipelineRun and their pods say about progress (pure).
//!
//! Jobs are judged by their conditions — `Complete` or `Failed`, whichever comes first — never
//! by waiting for `Complete` until a timeout (the original scripts noticed a failed download
//! only after an hour). Progress comes from the last log lines: a percentage, a `done/total`
//! count, or the line itself.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

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

/// State of a `batch/v1` Job from its conditions.
pub fn job_state(job: &Value) -> RunState {
    for c in conditions(job) {
        if cond_str(c, "status") != "True" {
            continue;
        }
        match cond_str(c, "type") {
            "Failed" => {
                let reason = match (cond_str(c, "reason"), cond_str(c, "message")) {
                    ("", "") => "the Job failed".to_string(),
                    (r, "") => r.to_string(),
                    ("", m) => m.to_string(),
                    (r, m) => format!("{r}: {m}"),
                };
                return RunState::Failed { reason };
            }
            "Complete" | "SuccessCriteriaMet" => {
                // SuccessCriteriaMet comes before Complete; either means success.
                return RunState::Succeeded;
            }
            _ => {}
        }
    }
    RunState::Running
}

/// State of a Tekton PipelineRun from its `Succeeded` condition.
pub fn pipelinerun_state(run: &Value) -> RunState {
    for c in conditions(run) {
        if cond_str(c, "type") != "Succeeded" {
            continue;
        }
        return match cond_str(c, "status") {
            "True" => RunState::Succeeded,
            "False" => RunState::Failed {
                reason: match (cond_str(c, "reason"), cond_str(c, "message")) {
                    (r, "") => r.to_string(),
                    (_, m) => m.to_string(),
                },
            },
            _ => RunState::Running,
        };
    }
    RunState::Running
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

    #[test]
    fn job_state_from_conditions() {
        assert_eq!(job_state(&json!({})), RunState::Running);
        assert_eq!(
            job_state(&json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})),
            RunState::Succeeded
        );
        assert_eq!(
            job_state(&json!({"status": {"conditions": [
                {"type": "FailureTarget", "status": "True"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                 "message": "Job has reached the specified backoff limit"}]}})),
            RunState::Failed {
                reason: "BackoffLimitExceeded: Job has reached the specified backoff limit".into()
            }
        );
        assert_eq!(
            job_state(&json!({"status": {"conditions": [{"type": "Failed", "status": "False"}]}})),
            RunState::Running
        );
    }

    #[test]
    fn pipelinerun_state_from_succeeded() {
        let run = |status: &str, msg: &str| {
            json!({"status": {"conditions": [{"type": "Succeeded", "status": status,
                                               "reason": "Running", "message": msg}]}})
        };
        assert_eq!(
            pipelinerun_state(&run("Unknown", "Tasks Completed: 1")),
            RunState::Running
        );
        assert_eq!(pipelinerun_state(&run("True", "")), RunState::Succeeded);
        assert_eq!(
            pipelinerun_state(&run("False", "Task convert failed")),
            RunState::Failed {
                reason: "Task convert failed".into()
            }
        );
        assert_eq!(
            pipelinerun_progress(&run("Unknown", "Tasks Completed: 1")).unwrap(),
            "Tasks Completed: 1"
        );
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
    fn last_lines_skips_blank_lines() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), ["b", "c"]);
        assert_eq!(last_lines("a\n", 5), ["a"]);
    }
}
