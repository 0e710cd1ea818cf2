//! `benchmark`: runs the benchmark Jobs of the stage (delete-then-create, concurrently; a Job
//! that already succeeded from the same spec is kept, unless `--only` names this step), reads
//! the GuideLLM results document each prints, shows one table (TTFT and ITL p50/p95,
//! throughput per concurrency), saves the results as JSON beside the run log and records them
//! in the stage state for `democtl status`.
//!
//! With `results`, the parsed summaries are also written (server-side apply, owned like every
//! object democtl applies) to a ConfigMap: key `<job>.json` = `{"model", "rows", "finished"}`,
//! `finished` being the Job's completion time, so kept runs write the same content again. With
//! `publish` (and its switch on), a Job that reads that ConfigMap (the Model Registry publisher)
//! then runs; it is kept when it already succeeded from the same spec and the same results.

use std::collections::BTreeMap;

use futures::future::join_all;
use serde_json::{Value, json};

use super::benchmark_report::{self, BenchmarkRow};
use super::job_run::{self, ProgressBoard, RunTarget};
use super::job_state;
use super::{BuildError, StepEnv, boxed, cluster_failure};
use crate::runner::event::StepOutput;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{BenchmarkParams, RunKind};
use crate::stage::schema::StepSpec;

/// Annotation of a benchmark Job naming the model it measures.
pub const MODEL_ANNOTATION: &str = "democtl.io/model";

/// Log lines of the publish Job shown as the step's output.
pub const PUBLISH_OUTPUT_LINES: usize = 10;

/// The built step.
pub struct Benchmark {
    env: StepEnv,
    targets: Vec<RunTarget>,
    namespace: String,
    /// The results ConfigMap's name.
    results: Option<String>,
    publish: Option<Publish>,
}

/// The Job run once the results are written, and the switch it also needs.
struct Publish {
    target: RunTarget,
    switch: Option<String>,
}

/// Checks that every benchmark Job is in the stage's render.
pub fn build(
    spec: &StepSpec,
    p: &BenchmarkParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    let mut targets = Vec::new();
    for job in &p.jobs {
        targets.push(
            RunTarget::from_render(&env.objects, RunKind::Job, &p.namespace, job).ok_or_else(
                || BuildError::NotRendered {
                    step: spec.id.clone(),
                    object: format!("`Job/{job}` in `{}`", p.namespace),
                    overlay: env.stage.overlay.clone(),
                },
            )?,
        );
    }
    if targets.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "benchmark",
            what: "at least one Job in `jobs`".into(),
        });
    }
    let publish = match &p.publish {
        None => None,
        Some(publish) => {
            let target =
                RunTarget::from_render(&env.objects, RunKind::Job, &p.namespace, &publish.job)
                    .ok_or_else(|| BuildError::NotRendered {
                        step: spec.id.clone(),
                        object: format!("`Job/{}` in `{}`", publish.job, p.namespace),
                        overlay: env.stage.overlay.clone(),
                    })?;
            let results = p.results.as_deref().unwrap_or_default();
            if !mounts_config_map(&target.object, results) {
                return Err(BuildError::Invalid {
                    step: spec.id.clone(),
                    kind: "benchmark",
                    what: format!(
                        "a `publish` Job that mounts the results ConfigMap `{results}` (`Job/{}` has no volume with `configMap.name: {results}`)",
                        publish.job
                    ),
                });
            }
            Some(Publish {
                target,
                switch: publish.switch.clone(),
            })
        }
    };
    Ok(Box::new(Benchmark {
        env: env.clone(),
        targets,
        namespace: p.namespace.clone(),
        results: p.results.clone(),
        publish,
    }))
}

/// Whether a Job's pod template has a volume of ConfigMap `name`.
fn mounts_config_map(job: &Value, name: &str) -> bool {
    job.pointer("/spec/template/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|v| v.pointer("/configMap/name").and_then(Value::as_str) == Some(name))
}

/// One benchmark Job's entry of the results ConfigMap, as `publish_benchmarks.py` reads it:
/// `{"model", "rows": [{"load", "ttft_p50_ms", …}], "finished"}`.
pub fn summary(model: &str, rows: &[BenchmarkRow], finished: &str) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "load": r.load,
                "ttft_p50_ms": r.ttft_p50_ms,
                "ttft_p95_ms": r.ttft_p95_ms,
                "itl_p50_ms": r.itl_p50_ms,
                "itl_p95_ms": r.itl_p95_ms,
                "output_tokens_per_second": r.output_tokens_per_second,
                "requests_per_second": r.requests_per_second,
            })
        })
        .collect();
    json!({"model": model, "rows": rows, "finished": finished})
}

/// The results ConfigMap: one `<job>.json` key per benchmark Job (sorted, compact JSON).
pub fn results_config_map(
    name: &str,
    namespace: &str,
    component: Option<&str>,
    summaries: &BTreeMap<String, Value>,
) -> Value {
    let data: serde_json::Map<String, Value> = summaries
        .iter()
        .map(|(job, s)| (format!("{job}.json"), Value::String(s.to_string())))
        .collect();
    let mut labels = serde_json::Map::new();
    if let Some(c) = component {
        labels.insert(super::selection::COMPONENT_LABEL.into(), json!(c));
    }
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": data,
    })
}

/// The publish Job with a spec digest that also covers the results it reads: the same spec
/// with other results is another run.
fn with_inputs(target: &RunTarget, config_map: &Value) -> RunTarget {
    use sha2::Digest;
    let mut t = target.clone();
    let text = format!(
        "{}\n{}",
        target.hash().unwrap_or_default(),
        serde_json::to_string(&config_map["data"]).unwrap_or_default()
    );
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    if let Some(a) = t
        .object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.insert(job_run::SPEC_HASH_ANNOTATION.into(), Value::String(hash));
    }
    t
}

/// When a Job finished (`status.completionTime`), else now.
async fn finished_at(cluster: &crate::cluster::Cluster, t: &RunTarget) -> String {
    super::get_object(cluster, &t.key)
        .await
        .ok()
        .flatten()
        .and_then(|j| {
            j.pointer("/status/completionTime")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cluster.now().to_string())
}

/// The model a benchmark Job measures (its annotation, else the Job name).
fn model_of(t: &RunTarget) -> String {
    t.object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(MODEL_ANNOTATION))
        .and_then(Value::as_str)
        .unwrap_or(&t.key.name)
        .to_string()
}

impl Step for Benchmark {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let cluster = &self.env.cluster;
            // A benchmark that already succeeded from the same spec, with its results still in
            // its log, is kept: deploying again changes nothing.
            // `--only <this step>` asks for new measurements: nothing is kept.
            let rerun = self.env.rerun.as_deref() == Some(ctx.step.as_str());
            let mut kept = Vec::new();
            for t in &self.targets {
                let done = !rerun
                    && job_run::already_done(cluster, t).await.map_err(|e| {
                        cluster_failure(format!("failed to read {}", t.key.describe()), e)
                    })?;
                let log = if done {
                    job_run::job_log(cluster, t, None).await
                } else {
                    None
                };
                match log.filter(|l| benchmark_report::extract(l).is_ok()) {
                    Some(log) => {
                        ctx.progress(format!(
                            "{} already ran with this spec; results kept",
                            t.label()
                        ));
                        kept.push(Some(log));
                    }
                    None => {
                        job_run::recreate(&self.env, ctx, t).await?;
                        kept.push(None);
                    }
                }
            }
            if ctx.dry_run {
                return Ok(StepDone::Succeeded);
            }
            let board = ProgressBoard::default();
            let deadline = super::own_deadline(ctx);
            let runs = self.targets.iter().zip(kept).map(|(t, kept)| {
                let board = &board;
                async move {
                    if let Some(log) = kept {
                        return (t, Ok(job_run::Finished { log }));
                    }
                    let report = |m: String| ctx.progress(board.set(&model_of(t), m));
                    let r = job_run::wait_finished(cluster, t, deadline, &report).await;
                    ctx.progress(
                        board.set(&model_of(t), if r.is_ok() { "done" } else { "failed" }),
                    );
                    (t, r)
                }
            });
            let mut rows: Vec<BenchmarkRow> = Vec::new();
            let mut documents = serde_json::Map::new();
            let mut summaries: BTreeMap<String, Value> = BTreeMap::new();
            let mut first_error = None;
            for (t, result) in join_all(runs).await {
                let finished = match result {
                    Ok(f) => f,
                    Err(failure) => {
                        if first_error.is_none() {
                            first_error = Some(failure.into_step_error(cluster, t).await);
                        }
                        continue;
                    }
                };
                let model = model_of(t);
                let parsed = benchmark_report::extract(&finished.log)
                    .and_then(|doc| benchmark_report::rows(&model, &doc).map(|r| (doc, r)));
                match parsed {
                    Ok((doc, r)) => {
                        let finished = finished_at(cluster, t).await;
                        summaries.insert(t.key.name.clone(), summary(&model, &r, &finished));
                        documents.insert(
                            t.key.name.clone(),
                            json!({"model": model, "rows": r, "report": doc}),
                        );
                        rows.extend(r);
                    }
                    Err(e) => {
                        let evidence =
                            job_state::last_lines(&finished.log, job_run::FAILURE_LOG_LINES)
                                .into_iter()
                                .map(|l| format!("log: {l}"))
                                .collect();
                        if first_error.is_none() {
                            first_error = Some(
                                StepError::new(format!(
                                    "{} finished without usable results",
                                    t.key.describe()
                                ))
                                .with_evidence(evidence)
                                .with_hint(format!(
                                    "the Job must print its GuideLLM report between `{}` and `{}`",
                                    benchmark_report::BEGIN_MARKER,
                                    benchmark_report::END_MARKER
                                ))
                                .with_source(e),
                            );
                        }
                    }
                }
            }
            if !rows.is_empty() {
                ctx.output(benchmark_report::table(&rows));
                ctx.benchmarks(rows.iter().map(benchmark_report::point).collect());
                let results = Value::Object(documents);
                let file = self
                    .env
                    .artifacts_dir
                    .join(format!("{}-benchmarks.json", self.env.stage.id));
                let saved = std::fs::create_dir_all(&self.env.artifacts_dir).and_then(|()| {
                    serde_json::to_vec_pretty(&results)
                        .map_err(std::io::Error::other)
                        .and_then(|bytes| std::fs::write(&file, bytes))
                });
                match saved {
                    Ok(()) => ctx.derive(
                        super::value_key(ctx, "benchmarks.file"),
                        json!(file.display().to_string()),
                    ),
                    Err(e) => ctx.warn(format!(
                        "could not save the benchmark results to `{}`: {e}",
                        file.display()
                    )),
                }
                let summary: Value = json!(rows);
                if let Err(e) =
                    crate::cluster::state::record_benchmarks(cluster, &self.env.stage.id, &summary)
                        .await
                {
                    let err = cluster_failure(
                        "failed to record the benchmark results in the stage state",
                        e,
                    );
                    ctx.warn(err.message);
                }
            }
            if let Some(e) = first_error {
                // The results ConfigMap keeps the last complete set; nothing is published.
                return Err(e);
            }
            if let Some(name) = &self.results {
                let component = self.targets.iter().find_map(|t| {
                    t.object
                        .pointer("/metadata/labels")
                        .and_then(|l| l.get(super::selection::COMPONENT_LABEL))
                        .and_then(Value::as_str)
                });
                let config_map = results_config_map(name, &self.namespace, component, &summaries);
                super::apply_objects(&self.env, ctx, std::slice::from_ref(&config_map))
                    .await
                    .map_err(|e| {
                        cluster_failure(
                            format!("failed to write `ConfigMap/{name}` in `{}`", self.namespace),
                            e,
                        )
                    })?;
                if let Some(publish) = &self.publish {
                    self.publish(ctx, publish, &config_map, rerun).await?;
                }
            }
            Ok(StepDone::Succeeded)
        })
    }
}

impl Benchmark {
    /// Runs the publish Job (unless its switch is off, or it already succeeded from the same
    /// spec and results and this step was not named by `--only`) and shows its last lines.
    async fn publish(
        &self,
        ctx: &StepCtx,
        publish: &Publish,
        config_map: &Value,
        rerun: bool,
    ) -> Result<(), StepError> {
        let cluster = &self.env.cluster;
        let label = publish.target.label();
        let title = format!("Output of {label}");
        if let Some(switch) = &publish.switch
            && self.env.switches.get(switch) == Some(&false)
        {
            let why = format!("{label} not run: switch `{switch}` is off (--no-{switch})");
            ctx.progress(why.clone());
            ctx.output(StepOutput {
                title,
                columns: vec!["log".into()],
                rows: vec![vec![why]],
            });
            return Ok(());
        }
        let target = with_inputs(&publish.target, config_map);
        let done = !rerun
            && job_run::already_done(cluster, &target).await.map_err(|e| {
                cluster_failure(format!("failed to read {}", target.key.describe()), e)
            })?;
        let log = if done {
            ctx.progress(format!(
                "{label} already ran with this spec and these results; kept"
            ));
            job_run::job_log(cluster, &target, None)
                .await
                .unwrap_or_default()
        } else {
            job_run::recreate(&self.env, ctx, &target).await?;
            ctx.progress(format!("{label} started"));
            let report = |m: String| ctx.progress(format!("{label}: {m}"));
            match job_run::wait_finished(cluster, &target, super::own_deadline(ctx), &report).await
            {
                Ok(f) => f.log,
                Err(failure) => return Err(failure.into_step_error(cluster, &target).await),
            }
        };
        if !log.trim().is_empty() {
            ctx.output(StepOutput {
                title,
                columns: vec!["log".into()],
                rows: job_state::last_lines(&log, PUBLISH_OUTPUT_LINES)
                    .into_iter()
                    .map(|l| vec![l])
                    .collect(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(model: &str, load: &str, ttft: f64, tokens: f64) -> BenchmarkRow {
        BenchmarkRow {
            model: model.into(),
            load: load.into(),
            ttft_p50_ms: Some(ttft),
            ttft_p95_ms: Some(ttft * 1.5),
            itl_p50_ms: Some(12.25),
            itl_p95_ms: None,
            output_tokens_per_second: Some(tokens),
            requests_per_second: Some(0.5),
        }
    }

    /// The ConfigMap democtl writes for two benchmark Jobs.
    fn two_models() -> Value {
        let summaries = BTreeMap::from([
            (
                "guidellm-benchmark-quantized".to_string(),
                summary(
                    "mistral-24b-quantized",
                    &[
                        row("mistral-24b-quantized", "1", 41.5, 80.0),
                        row("mistral-24b-quantized", "25", 300.0, 900.0),
                    ],
                    "2026-12-03T08:00:00Z",
                ),
            ),
            (
                "guidellm-benchmark-full".to_string(),
                summary(
                    "mistral-24b",
                    &[row("mistral-24b", "1", 55.0, 60.0)],
                    "2026-12-03T08:05:00Z",
                ),
            ),
        ]);
        results_config_map(
            "benchmark-results",
            "private-ai-demo",
            Some("benchmarking"),
            &summaries,
        )
    }

    /// The layout publish_benchmarks.py reads (tests/python reads the same file): one
    /// `<job>.json` key per Job holding `{"model", "rows", "finished"}`, rows without the model.
    #[test]
    fn the_results_config_map_is_the_contract_the_publisher_reads() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/contracts/benchmark-results.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let contract: Value = serde_json::from_str(&text).unwrap();
        let contract = &contract["configMap"];
        assert_eq!(&two_models(), contract, "{path} differs");
        let s: Value = serde_json::from_str(
            contract["data"]["guidellm-benchmark-quantized.json"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            s.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["model", "rows", "finished"]
        );
        assert!(s["rows"][0].get("model").is_none());
        assert!(s["rows"][0]["itl_p95_ms"].is_null());
    }

    #[test]
    fn the_publish_digest_follows_the_results() {
        let objects = vec![json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "publish-benchmarks", "namespace": "private-ai-demo"},
            "spec": {"template": {"spec": {"volumes": [
                {"name": "results", "configMap": {"name": "benchmark-results"}}]}}}})];
        let t = RunTarget::from_render(
            &objects,
            RunKind::Job,
            "private-ai-demo",
            "publish-benchmarks",
        )
        .unwrap();
        assert!(mounts_config_map(&t.object, "benchmark-results"));
        assert!(!mounts_config_map(&t.object, "other"));
        let cm = two_models();
        let a = with_inputs(&t, &cm);
        assert_eq!(
            a.hash(),
            with_inputs(&t, &cm).hash(),
            "same results, same run"
        );
        assert_ne!(a.hash(), t.hash());
        let mut other = cm.clone();
        other["data"]["guidellm-benchmark-full.json"] = json!("{}");
        assert_ne!(a.hash(), with_inputs(&t, &other).hash());
    }
}
