//! `lm-eval`: waits for the stage's TrustyAI LMEvalJobs to complete, reads each one's scores
//! from `status.results` (the lm-evaluation-harness output, see [`super::lm_eval_report`]),
//! shows them side by side (quantized vs full), saves them as JSON beside the run log and
//! records them (`<stage>.lm-eval.results`) for `democtl status`. A job that failed or gave no
//! scores fails the step after the others' scores are shown.

use futures::future::join_all;
use serde_json::{Value, json};

use super::lm_eval_report::{self, TaskScore};
use super::{BuildError, StepEnv, boxed, cluster_failure};
use crate::cluster::ObjectKey;
use crate::cluster::operators::Decision;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::LmEvalParams;
use crate::stage::schema::StepSpec;

const API_VERSION: &str = "trustyai.opendatahub.io/v1alpha1";
const KIND: &str = "LMEvalJob";
/// Label of an LMEvalJob naming the model it evaluates (else its name is shown).
pub const MODEL_LABEL: &str = "democtl.io/model";

/// The value key the scores are recorded under (after the stage id).
pub const RESULTS_KEY: &str = "lm-eval.results";

/// One LMEvalJob of the render.
struct EvalTarget {
    key: ObjectKey,
    model: String,
}

/// The built step.
pub struct LmEval {
    env: StepEnv,
    targets: Vec<EvalTarget>,
}

/// Checks that every LMEvalJob is in the stage's render.
pub fn build(
    spec: &StepSpec,
    p: &LmEvalParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    let mut targets = Vec::new();
    for job in &p.jobs {
        let object = super::selection::find(&env.objects, KIND, job, Some(&p.namespace))
            .ok_or_else(|| BuildError::NotRendered {
                step: spec.id.clone(),
                object: format!("`{KIND}/{job}` in `{}`", p.namespace),
                overlay: env.stage.overlay.clone(),
            })?;
        let model = object
            .pointer("/metadata/labels")
            .and_then(|l| l.get(MODEL_LABEL))
            .and_then(Value::as_str)
            .unwrap_or(job)
            .to_string();
        targets.push(EvalTarget {
            key: ObjectKey::new(API_VERSION, KIND, Some(&p.namespace), job),
            model,
        });
    }
    if targets.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "lm-eval",
            what: "at least one LMEvalJob in `jobs`".into(),
        });
    }
    Ok(Box::new(LmEval {
        env: env.clone(),
        targets,
    }))
}

/// Where an LMEvalJob stands, from its status (TrustyAI's states and reasons).
fn decide(obj: Option<&Value>) -> Decision<String> {
    let Some(obj) = obj else {
        return Decision::Pending("not created yet".into());
    };
    let status = &obj["status"];
    let state = status["state"].as_str().unwrap_or("New");
    let message = status["message"].as_str().unwrap_or_default();
    match (state, status["reason"].as_str()) {
        ("Complete", Some("Succeeded")) => {
            Decision::Done(status["results"].as_str().unwrap_or_default().to_string())
        }
        ("Complete", reason) | ("Cancelled", reason) => Decision::Failed(format!(
            "{state} ({}){}",
            reason.unwrap_or("no reason"),
            if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            }
        )),
        (other, _) => Decision::Pending(other.to_string()),
    }
}

/// `: <why>` for a wait that ended with the job failed or still running (its last state).
fn reason_of(e: &crate::cluster::ClusterError) -> String {
    match e {
        crate::cluster::ClusterError::Wait(w) => w
            .objects
            .first()
            .map(|o| crate::cluster::wait::status_reason(&o.status))
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

impl Step for LmEval {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            if ctx.dry_run {
                ctx.progress(format!(
                    "would wait for {} LMEvalJobs and show their scores",
                    self.targets.len()
                ));
                return Ok(StepDone::Succeeded);
            }
            let cluster = &self.env.cluster;
            let board = super::job_run::ProgressBoard::default();
            let deadline = super::own_deadline(ctx);
            let waits = self.targets.iter().map(|t| {
                let board = &board;
                async move {
                    let report = |m: String| ctx.progress(board.set(&t.model, m));
                    (
                        t,
                        cluster.wait_until(&t.key, deadline, &report, decide).await,
                    )
                }
            });
            let mut per_model: Vec<(String, Vec<TaskScore>)> = Vec::new();
            let mut raw = serde_json::Map::new();
            let mut first_error = None;
            for (t, result) in join_all(waits).await {
                let parsed = match result {
                    Ok(text) => lm_eval_report::scores(&text)
                        .map(|s| (text, s))
                        .map_err(|e| {
                            StepError::new(format!(
                                "{} completed without usable scores",
                                t.key.describe()
                            ))
                            .with_hint(
                                "TrustyAI writes the lm-eval-harness output to `status.results`; \
                             see the job's pod log (`oc logs` of `status.podName`)",
                            )
                            .with_source(e)
                        }),
                    Err(e) => Err(cluster_failure(
                        format!("{} did not complete{}", t.key.describe(), reason_of(&e)),
                        e,
                    )
                    .with_hint(
                        "see the job's pod log (`oc logs` of `status.podName`); fix the cause, \
                         delete the LMEvalJob and deploy again",
                    )),
                };
                match parsed {
                    Ok((text, scores)) => {
                        let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        raw.insert(
                            t.key.name.clone(),
                            json!({"model": t.model, "results": doc}),
                        );
                        per_model.push((t.model.clone(), scores));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if !per_model.is_empty() {
                let summary = lm_eval_report::summary(&per_model);
                ctx.output(lm_eval_report::table(&summary));
                ctx.derive(super::value_key(ctx, RESULTS_KEY), json!(summary));
                let file = self
                    .env
                    .artifacts_dir
                    .join(format!("{}-lm-eval.json", self.env.stage.id));
                let saved = std::fs::create_dir_all(&self.env.artifacts_dir).and_then(|()| {
                    serde_json::to_vec_pretty(&Value::Object(raw))
                        .map_err(std::io::Error::other)
                        .and_then(|bytes| std::fs::write(&file, bytes))
                });
                match saved {
                    Ok(()) => ctx.derive(
                        super::value_key(ctx, "lm-eval.file"),
                        json!(file.display().to_string()),
                    ),
                    Err(e) => ctx.warn(format!(
                        "could not save the LM-Eval results to `{}`: {e}",
                        file.display()
                    )),
                }
            }
            match first_error {
                Some(e) => Err(e),
                None => Ok(StepDone::Succeeded),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn trustyai_states_decide_the_wait() {
        assert!(matches!(decide(None), Decision::Pending(_)));
        let job = |status: Value| json!({"status": status});
        assert!(matches!(
            decide(Some(&job(json!({"state": "Running", "reason": "NoReason"})))),
            Decision::Pending(s) if s == "Running"
        ));
        assert!(matches!(
            decide(Some(&job(json!({"state": "Complete", "reason": "Succeeded", "results": "{}"})))),
            Decision::Done(r) if r == "{}"
        ));
        assert!(matches!(
            decide(Some(&job(json!({"state": "Complete", "reason": "Failed",
                                    "message": "model endpoint returned 404"})))),
            Decision::Failed(m) if m == "Complete (Failed): model endpoint returned 404"
        ));
    }
}
