//! What a pod does once its containers run (its behaviour) and the log it writes meanwhile:
//! model-download progress, GuideLLM-style benchmark output with a JSON results document last,
//! generic run-to-completion, or a long-running server.

use serde_json::{Value, json};

use super::super::informer::CONFIG_MAP;
use super::super::{BEHAVIOUR_LABEL, Ctx, EXIT_LOG_ANNOTATION, obj};
use super::containers;
use crate::sim::scenario::DownloadFailure;

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
        Behaviour::ModelDownload => download_log(
            &ctx.scenario.failures.model_downloads,
            pod,
            elapsed,
            delays.model_download.max(1),
        ),
        Behaviour::Benchmark => benchmark_log(pod, elapsed, delays.benchmark.max(1)),
        Behaviour::Run => {
            let name = obj::label(pod, "job-name").unwrap_or(obj::name(pod));
            let mut lines = vec![format!("Starting {name}")];
            lines.extend(optional_config_maps(ctx, pod));
            // A Tekton TaskRun's pod runs for `delays.pipeline_run`, any other for `delays.job`.
            let run_time = if obj::label(pod, "tekton.dev/taskRun").is_some() {
                delays.pipeline_run
            } else {
                delays.job
            };
            let done = elapsed >= run_time;
            if done {
                if let Some(out) = obj::annotation(pod, EXIT_LOG_ANNOTATION) {
                    lines.extend(out.lines().map(str::to_string));
                }
                lines.push(format!("{name} finished successfully"));
            }
            LogOutput {
                lines,
                exit_code: done.then_some(0),
                next_change: (!done).then_some(run_time),
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

/// What a run-to-completion pod finds in its optional ConfigMap volumes (the publisher's
/// `benchmark-results`): the files mounted, or that the ConfigMap is missing and the directory
/// empty — so a run without its input says so in its log. Nothing before the caches are synced.
fn optional_config_maps(ctx: &Ctx, pod: &Value) -> Vec<String> {
    if !ctx.caches.is_synced(CONFIG_MAP) {
        return Vec::new();
    }
    let mounts: Vec<&Value> = containers(pod)
        .first()
        .and_then(|c| c["volumeMounts"].as_array())
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let Some(name) = v["configMap"]["name"].as_str() else {
            continue;
        };
        if v["configMap"]["optional"] != true {
            continue;
        }
        let Some(path) = mounts
            .iter()
            .find(|m| m["name"] == v["name"])
            .and_then(|m| m["mountPath"].as_str())
        else {
            continue;
        };
        match ctx.caches.get(CONFIG_MAP, obj::namespace(pod), name) {
            Some(cm) => {
                let files: Vec<&str> = cm["data"]
                    .as_object()
                    .map(|d| d.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                lines.push(format!(
                    "{path}: {} files from ConfigMap {name}: {}",
                    files.len(),
                    files.join(", ")
                ));
            }
            None => lines.push(format!(
                "{path}: empty (optional ConfigMap {name} not found)"
            )),
        }
    }
    lines
}

/// The safetensors files of a simulated model: (count, total bytes). The full Mistral Small 24B
/// is ten files (~60 GB), the w4a16-quantized one three (~15 GB).
fn model_files(model: &str) -> (u64, u64) {
    const GB: u64 = 1_000_000_000;
    if model.to_ascii_lowercase().contains("quant") {
        (3, 15 * GB + 371_204_096)
    } else {
        (10, 60 * GB + 118_476_800)
    }
}

/// Sizes of the `files` files of a model of `total` bytes: equal shards, the last one about 60 %
/// of the others (as `save_pretrained` shards them).
fn file_sizes(files: u64, total: u64) -> Vec<u64> {
    if files <= 1 {
        return vec![total];
    }
    let shard = total * 10 / (10 * (files - 1) + 6);
    let mut sizes: Vec<u64> = (0..files - 1).map(|_| shard).collect();
    sizes.push(total.saturating_sub(shard * (files - 1)));
    sizes
}

/// Progress lines per file are written at every tenth of a file (the contract's chunk).
const CHUNKS_PER_FILE: u64 = 10;

fn download_log(
    failures: &[DownloadFailure],
    pod: &Value,
    elapsed: u64,
    duration: u64,
) -> LogOutput {
    let job = obj::label(pod, "job-name")
        .unwrap_or(obj::name(pod))
        .to_string();
    let model = model_id(pod).unwrap_or_else(|| job.trim_start_matches("download-").to_string());
    let failure = failures.iter().find(|f| {
        job.contains(f.job.as_str()) && f.exclude.as_ref().is_none_or(|x| !job.contains(x.as_str()))
    });
    let (files, total) = model_files(&format!("{model} {job}"));
    let sizes = file_sizes(files, total);
    let mut lines = vec![
        "Successfully installed huggingface_hub-0.34.4 hf-transfer-0.1.9".to_string(),
        format!("Downloading {model}"),
        format!("Fetching {} files", files + 3),
    ];
    // A constant rate over the whole download; a failure stops at its share of the bytes.
    let rate_total = |secs: u64| -> u64 {
        ((u128::from(total) * u128::from(secs.min(duration))) / u128::from(duration.max(1))) as u64
    };
    let limit = failure.map_or(total, |f| {
        ((u128::from(total) * u128::from(f.at_percent.min(100))) / 100) as u64
    });
    let bytes_now = rate_total(elapsed).min(limit);
    let mut done_before = 0u64;
    let mut next_boundary: Option<u64> = None;
    for (i, &size) in sizes.iter().enumerate() {
        let chunk = size.div_ceil(CHUNKS_PER_FILE).max(1);
        let name = format!("model-{:05}-of-{files:05}.safetensors", i + 1);
        for c in 1..=CHUNKS_PER_FILE {
            let in_file = (chunk * c).min(size);
            let at = done_before + in_file;
            if at > bytes_now {
                if next_boundary.is_none() && at <= limit {
                    next_boundary = Some(at);
                }
                break;
            }
            let files_done = i as u64 + u64::from(in_file == size);
            // Field order as in the contract (RULES.md), which readers need not rely on.
            lines.push(format!(
                r#"{{"democtl":"progress","file":"{name}","file_bytes":{in_file},"file_total":{size},"bytes_done":{at},"bytes_total":{total},"files_done":{files_done},"files_total":{files}}}"#
            ));
            if in_file == size {
                break;
            }
        }
        done_before += size;
        if done_before > bytes_now {
            break;
        }
    }
    if let Some(f) = failure
        && bytes_now >= limit
        && limit < total
    {
        lines.push(f.message.clone());
        lines.push(format!("ERROR: download of {model} failed"));
        return LogOutput {
            lines,
            exit_code: Some(1),
            next_change: None,
        };
    }
    if bytes_now >= total {
        lines.push(format!(
            "Download complete: {model} ({files} safetensors files)"
        ));
        lines.push(format!(
            r#"{{"democtl":"done","bytes_total":{total},"files_total":{files}}}"#
        ));
        return LogOutput {
            lines,
            exit_code: Some(0),
            next_change: None,
        };
    }
    // The simulated second at which the next chunk lands (rounded up).
    let next = next_boundary.unwrap_or(limit);
    let secs = (u128::from(next) * u128::from(duration.max(1))).div_ceil(u128::from(total.max(1)));
    LogOutput {
        lines,
        exit_code: None,
        next_change: Some((secs as u64).max(elapsed + 1)),
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

    fn download_pod(job: &str) -> Value {
        json!({"metadata": {"name": format!("{job}-x"), "labels": {"job-name": job}},
               "spec": {"containers": [{"name": "d", "image": "python:3.11"}]}})
    }

    fn progress(lines: &[String]) -> Vec<Value> {
        lines
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["democtl"] == "progress")
            .collect()
    }

    #[test]
    fn download_log_follows_the_progress_contract() {
        let pod = download_pod("download-mistral-24b");
        let half = download_log(&[], &pod, 300, 600);
        assert_eq!(half.exit_code, None);
        let p = progress(&half.lines);
        let last = p.last().cloned().unwrap_or_default();
        assert_eq!(last["files_total"], 10);
        assert_eq!(last["bytes_total"], 60_118_476_800u64);
        let done = last["bytes_done"].as_u64().unwrap_or(0);
        assert!(done > 28_000_000_000 && done <= 30_059_238_400, "{last}");
        // Monotonic, per-file totals add up, file sizes realistic.
        let bytes: Vec<u64> = p.iter().filter_map(|v| v["bytes_done"].as_u64()).collect();
        assert!(bytes.windows(2).all(|w| w[0] < w[1]));
        assert!(half.next_change.is_some_and(|n| n > 300 && n < 310));

        let full = download_log(&[], &pod, 600, 600);
        assert_eq!(full.exit_code, Some(0));
        let end: Value = serde_json::from_str(full.lines.last().map(String::as_str).unwrap_or(""))
            .unwrap_or_default();
        assert_eq!(
            end,
            json!({"democtl": "done", "bytes_total": 60_118_476_800u64, "files_total": 10})
        );
        let p = progress(&full.lines);
        assert_eq!(p.len(), 100);
        let sum: u64 = p
            .iter()
            .filter(|v| v["file_bytes"] == v["file_total"])
            .filter_map(|v| v["file_total"].as_u64())
            .sum();
        assert_eq!(sum, 60_118_476_800);
        assert_eq!(p.last().map(|v| v["files_done"].clone()), Some(json!(10)));

        let quantized = download_log(
            &[],
            &download_pod("download-mistral-24b-quantized"),
            600,
            600,
        );
        let p = progress(&quantized.lines);
        assert_eq!(p.last().map(|v| v["files_total"].clone()), Some(json!(3)));
        assert_eq!(
            p.last().map(|v| v["bytes_done"].clone()),
            Some(json!(15_371_204_096u64))
        );
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
