//! What a pod does once its containers run (its behaviour) and the log it writes meanwhile:
//! model-download progress, GuideLLM-style benchmark output with a JSON results document last,
//! generic run-to-completion, or a long-running server.

use serde_json::{Value, json};

use super::super::{BEHAVIOUR_LABEL, Ctx, obj};
use super::containers;

/// What a pod does once its containers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    /// Downloads a model, printing progress.
    ModelDownload,
    /// Runs a GuideLLM-style benchmark, printing a JSON document last.
    Benchmark,
    /// Runs to completion after `delays.job`.
    Run,
    /// Runs until deleted.
    Serve,
}

impl Behaviour {
    /// The behaviour of a pod: the `democtl.io/sim-behaviour` label, else a heuristic on the Job
    /// name, pod name and images (`download`/`huggingface` → model-download, `guidellm`/`benchmark`
    /// → benchmark), else `serve` for restartPolicy Always and `run` otherwise.
    pub(super) fn of(pod: &Value) -> Behaviour {
        match obj::label(pod, BEHAVIOUR_LABEL) {
            Some("model-download") => return Behaviour::ModelDownload,
            Some("benchmark") => return Behaviour::Benchmark,
            Some("run") => return Behaviour::Run,
            Some("serve") => return Behaviour::Serve,
            _ => {}
        }
        let restart = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always");
        if restart == "Always" {
            return Behaviour::Serve;
        }
        let mut text = format!(
            "{} {}",
            obj::label(pod, "job-name").unwrap_or_default(),
            obj::name(pod)
        );
        for c in containers(pod) {
            text.push(' ');
            text.push_str(c["image"].as_str().unwrap_or_default());
        }
        let text = text.to_ascii_lowercase();
        let name = obj::label(pod, "job-name")
            .unwrap_or(obj::name(pod))
            .to_ascii_lowercase();
        // `copy-benchmark-results` is a copy job, not a benchmark.
        let benchmark_name = name.contains("benchmark") && !name.contains("result");
        if text.contains("guidellm") || benchmark_name {
            Behaviour::Benchmark
        } else if text.contains("download") || text.contains("huggingface") {
            Behaviour::ModelDownload
        } else {
            Behaviour::Run
        }
    }
}

pub(super) struct LogOutput {
    pub(super) lines: Vec<String>,
    /// Exit code once the container finished.
    pub(super) exit_code: Option<i64>,
    /// Elapsed seconds at which the log changes next.
    pub(super) next_change: Option<u64>,
}

fn env_and_args(pod: &Value) -> String {
    let mut s = String::new();
    for c in containers(pod) {
        for part in ["command", "args"] {
            for a in c[part].as_array().into_iter().flatten() {
                s.push_str(a.as_str().unwrap_or_default());
                s.push('\n');
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "{}={}\n",
                e["name"].as_str().unwrap_or_default(),
                e["value"].as_str().unwrap_or_default()
            ));
        }
    }
    s
}

/// A Hugging Face repo id mentioned in the pod (env `*MODEL*`/`REPO_ID` or `repo_id="org/name"`).
fn model_id(pod: &Value) -> Option<String> {
    let text = env_and_args(pod);
    let re = regex::Regex::new(r#"(?:repo_id\s*=\s*["']|(?:MODEL[A-Z_]*|REPO_ID|HF_REPO)=)([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"#).ok()?;
    re.captures(&text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

fn benchmark_target(pod: &Value) -> String {
    let text = env_and_args(pod);
    regex::Regex::new(r#"(https?://[^\s"']+)"#)
        .ok()
        .and_then(|re| {
            re.captures(&text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
        .unwrap_or_else(|| "http://localhost:8080/v1".to_string())
}

pub(super) fn log_lines(ctx: &Ctx, pod: &Value, behaviour: Behaviour, elapsed: u64) -> LogOutput {
    let delays = &ctx.scenario.delays;
    match behaviour {
        Behaviour::ModelDownload => download_log(ctx, pod, elapsed, delays.model_download.max(1)),
        Behaviour::Benchmark => benchmark_log(pod, elapsed, delays.benchmark.max(1)),
        Behaviour::Run => {
            let name = obj::label(pod, "job-name").unwrap_or(obj::name(pod));
            let mut lines = vec![format!("Starting {name}")];
            let done = elapsed >= delays.job;
            if done {
                lines.push(format!("{name} finished successfully"));
            }
            LogOutput {
                lines,
                exit_code: done.then_some(0),
                next_change: (!done).then_some(delays.job),
            }
        }
        Behaviour::Serve => {
            let image = containers(pod)
                .first()
                .and_then(|c| c["image"].as_str())
                .unwrap_or_default()
                .to_string();
            let lines = if image.contains("vllm")
                || obj::label(pod, "serving.kserve.io/inferenceservice").is_some()
            {
                vec![
                    "INFO Starting vLLM server".to_string(),
                    "INFO Loading model weights from /mnt/models".to_string(),
                    "INFO Started server process".to_string(),
                    "INFO Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)"
                        .to_string(),
                ]
            } else {
                vec![format!("Started container from {image}")]
            };
            LogOutput {
                lines,
                exit_code: None,
                next_change: None,
            }
        }
    }
}

const DOWNLOAD_FILES: u64 = 10;

fn download_log(ctx: &Ctx, pod: &Value, elapsed: u64, duration: u64) -> LogOutput {
    let job = obj::label(pod, "job-name")
        .unwrap_or(obj::name(pod))
        .to_string();
    let model = model_id(pod).unwrap_or_else(|| job.trim_start_matches("download-").to_string());
    let failure = ctx.scenario.failures.model_downloads.iter().find(|f| {
        job.contains(f.job.as_str()) && f.exclude.as_ref().is_none_or(|x| !job.contains(x.as_str()))
    });
    let fail_at = failure.map(|f| u64::from(f.at_percent.min(100)));
    let mut lines = vec![
        "Successfully installed huggingface_hub-0.34.4 hf-transfer-0.1.9".to_string(),
        format!("Downloading {model}"),
        format!("Fetching {} files", DOWNLOAD_FILES + 3),
    ];
    // Progress in 5% steps of the whole download; each file is 10% of it.
    let step = duration.div_ceil(20).max(1);
    let percent = ((elapsed / step) * 5).min(100);
    let shown = fail_at.map_or(percent, |f| percent.min(f));
    let mut p = 5;
    while p <= shown {
        let file = ((p - 1) / (100 / DOWNLOAD_FILES)) + 1;
        let file_pct = (p - (file - 1) * (100 / DOWNLOAD_FILES)) * DOWNLOAD_FILES;
        lines.push(format!(
            "Downloading model-{file:05}-of-{DOWNLOAD_FILES:05}.safetensors: {file_pct}%"
        ));
        p += 5;
    }
    if let (Some(f), Some(at)) = (failure, fail_at)
        && percent >= at
    {
        lines.push(f.message.clone());
        lines.push(format!("ERROR: download of {model} failed"));
        return LogOutput {
            lines,
            exit_code: Some(1),
            next_change: None,
        };
    }
    if percent >= 100 {
        lines.push(format!(
            "Download complete: {model} ({DOWNLOAD_FILES} safetensors files)"
        ));
        return LogOutput {
            lines,
            exit_code: Some(0),
            next_change: None,
        };
    }
    LogOutput {
        lines,
        exit_code: None,
        next_change: Some((elapsed / step + 1) * step),
    }
}

const CONCURRENCIES: &[u64] = &[1, 5, 10, 25];

fn benchmark_log(pod: &Value, elapsed: u64, duration: u64) -> LogOutput {
    let target = benchmark_target(pod);
    let job = obj::label(pod, "job-name")
        .unwrap_or(obj::name(pod))
        .to_string();
    let quantized = job.contains("quant") || target.contains("quant");
    let mut lines = vec![
        "GuideLLM 0.3.0".to_string(),
        format!("Target: {target}"),
        format!(
            "Profile: concurrent, rates {:?}, max seconds {}",
            CONCURRENCIES,
            duration / CONCURRENCIES.len() as u64
        ),
    ];
    let per = duration.div_ceil(CONCURRENCIES.len() as u64).max(1);
    let done = (elapsed / per).min(CONCURRENCIES.len() as u64) as usize;
    let mut results = Vec::new();
    for (i, c) in CONCURRENCIES.iter().enumerate() {
        // Deterministic, plausible numbers: a quantized model is faster; latency grows with load.
        let seed = obj::hash_num(&format!("{job}/{c}"), 1000) as f64 / 1000.0;
        let base_ttft = if quantized { 45.0 } else { 85.0 };
        let base_itl = if quantized { 11.0 } else { 21.0 };
        let load = *c as f64;
        let ttft50 = (base_ttft * (1.0 + load * 0.18) * (0.95 + seed * 0.1) * 10.0).round() / 10.0;
        let itl50 = (base_itl * (1.0 + load * 0.06) * (0.95 + seed * 0.1) * 10.0).round() / 10.0;
        let tokens = ((load * 1000.0 / itl50) * 10.0).round() / 10.0;
        let rps = ((tokens / 256.0) * 100.0).round() / 100.0;
        let requests = (rps * per as f64).round() as u64;
        if i < done {
            lines.push(format!(
                "Benchmark concurrency={c}: {requests} requests, 0 errors, {tokens} output tokens/s"
            ));
        }
        results.push(json!({
            "concurrency": c,
            "requests_completed": requests,
            "requests_errored": 0,
            "requests_per_second": rps,
            "output_tokens_per_second": tokens,
            "ttft_ms": {"p50": ttft50, "p95": (ttft50 * 1.8 * 10.0).round() / 10.0},
            "itl_ms": {"p50": itl50, "p95": (itl50 * 1.4 * 10.0).round() / 10.0},
        }));
    }
    if done >= CONCURRENCIES.len() {
        lines.push("Benchmark results saved to /results/benchmarks.json".to_string());
        let doc = json!({"guidellm_version": "0.3.0", "target": target, "benchmarks": results});
        lines.push(doc.to_string());
        return LogOutput {
            lines,
            exit_code: Some(0),
            next_change: None,
        };
    }
    LogOutput {
        lines,
        exit_code: None,
        next_change: Some((done as u64 + 1) * per),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviour_heuristics() {
        let pod = json!({"metadata": {"name": "download-mistral-24b-abcde", "labels": {"job-name": "download-mistral-24b"}},
            "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "d", "image": "python:3.11-slim"}]}});
        assert_eq!(Behaviour::of(&pod), Behaviour::ModelDownload);
        let pod = json!({"metadata": {"name": "x", "labels": {"job-name": "guidellm-benchmark-full"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "d", "image": "quay.io/x/y:1"}]}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Benchmark);
        let pod = json!({"metadata": {"name": "x", "labels": {"job-name": "copy-benchmark-results"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "registry.access.redhat.com/ubi9/ubi-minimal"}]}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Run);
        let pod = json!({"metadata": {"name": "x", "labels": {"democtl.io/sim-behaviour": "run"}},
            "spec": {"containers": []}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Run);
        let pod = json!({"metadata": {"name": "x"}, "spec": {"containers": []}});
        assert_eq!(Behaviour::of(&pod), Behaviour::Serve);
    }

    #[test]
    fn model_id_from_env_or_script() {
        let pod = json!({"spec": {"containers": [{"env": [{"name": "MODEL_ID", "value": "RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16"}]}]}});
        assert_eq!(
            model_id(&pod).as_deref(),
            Some("RedHatAI/Mistral-Small-24B-Instruct-2501-quantized.w4a16")
        );
        let pod = json!({"spec": {"containers": [{"args": ["python -c 'snapshot_download(repo_id=\"mistralai/M\", local_dir=x)'"]}]}});
        assert_eq!(model_id(&pod).as_deref(), Some("mistralai/M"));
    }

    #[test]
    fn benchmark_log_ends_with_json() {
        let pod = json!({"metadata": {"name": "b", "labels": {"job-name": "guidellm-benchmark-quantized"}}, "spec": {"containers": []}});
        let out = benchmark_log(&pod, 1000, 240);
        assert_eq!(out.exit_code, Some(0));
        let last: Value = serde_json::from_str(out.lines.last().map(String::as_str).unwrap_or(""))
            .unwrap_or_default();
        assert_eq!(last["benchmarks"].as_array().map(Vec::len), Some(4));
        assert!(
            last["benchmarks"][0]["ttft_ms"]["p95"].as_f64()
                > last["benchmarks"][0]["ttft_ms"]["p50"].as_f64()
        );
    }
}
