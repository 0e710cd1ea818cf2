//! `benchmark`: runs the benchmark Jobs of the stage (delete-then-create, concurrently; a Job
//! that already succeeded from the same spec is kept, unless `--only` names this step), reads
//! the GuideLLM results document each prints, shows one table (TTFT and ITL p50/p95,
//! throughput per concurrency), saves the results as JSON beside the run log and records them
//! in the stage state for `democtl status`.

use futures::future::join_all;
use serde_json::{Value, json};

use super::benchmark_report::{self, BenchmarkRow};
use super::job_run::{self, ProgressBoard, RunTarget};
use super::job_state;
use super::{BuildError, StepEnv, boxed, cluster_failure};
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{BenchmarkParams, RunKind};
use crate::stage::schema::StepSpec;

/// Annotation of a benchmark Job naming the model it measures.
pub const MODEL_ANNOTATION: &str = "democtl.io/model";

/// The built step.
pub struct Benchmark {
    env: StepEnv,
    targets: Vec<RunTarget>,
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
    Ok(Box::new(Benchmark {
        env: env.clone(),
        targets,
    }))
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
            match first_error {
                Some(e) => Err(e),
                None => Ok(StepDone::Succeeded),
            }
        })
    }
}
