//! LM-Eval scores as democtl shows them (pure).
//!
//! TrustyAI's LMEvalJob keeps the lm-evaluation-harness output in `status.results`: a JSON
//! document *as a string*, the harness's own results file
//! (`{"results": {"arc_easy": {"alias": "arc_easy", "acc,none": 0.83, "acc_stderr,none": 0.037,
//! "acc_norm,none": 0.8, …}, …}, "versions": {…}, "n-shot": {…}, "config": {…}, …}`). Metric keys
//! are `<metric>,<filter>`. One score per task is shown: its `acc_norm`, else `acc`, else
//! `exact_match`, else its first numeric metric; models side by side (quantized vs full) with
//! the difference of the first two.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runner::event::StepOutput;

/// Metrics shown for a task, best first (length-normalised accuracy is what the harness's
/// leaderboards report for the multiple-choice tasks that have it).
const PREFERRED: &[&str] = &["acc_norm", "acc", "exact_match"];

/// One task's score of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskScore {
    pub task: String,
    /// `acc_norm`, `acc`, …
    pub metric: String,
    /// The harness's filter (`none`, `strict-match`, …).
    pub filter: String,
    /// As the harness reports it (0..1 for accuracies).
    pub value: f64,
    pub stderr: Option<f64>,
}

/// The scores of every model, as saved with the run and recorded for `democtl status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Models in the stage file's order (quantized first).
    pub models: Vec<String>,
    pub rows: Vec<EvalRow>,
}

/// One task/metric, with each model's score (None: that model has no result for it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    pub task: String,
    pub metric: String,
    pub scores: Vec<Option<Score>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<f64>,
}

/// Why an LMEvalJob's `status.results` gave no scores.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("`status.results` is empty")]
    Missing,
    #[error("`status.results` is not a JSON document: {detail}")]
    NotJson { detail: String },
    #[error("`status.results` has no `results` object with a numeric metric")]
    NoScores,
}

/// `acc,none` → (`acc`, `none`); a key without a filter gets `none`.
fn split_key(key: &str) -> (&str, &str) {
    key.split_once(',').unwrap_or((key, "none"))
}

/// The shown score of each task of an lm-eval-harness results document (`status.results`).
pub fn scores(results: &str) -> Result<Vec<TaskScore>, EvalError> {
    if results.trim().is_empty() {
        return Err(EvalError::Missing);
    }
    let doc: Value = serde_json::from_str(results).map_err(|e| EvalError::NotJson {
        detail: e.to_string(),
    })?;
    let tasks = doc
        .get("results")
        .and_then(Value::as_object)
        .ok_or(EvalError::NoScores)?;
    let mut out = Vec::new();
    for (task, metrics) in tasks {
        let Some(metrics) = metrics.as_object() else {
            continue;
        };
        // (metric, filter, value) of every numeric metric that is not a standard error.
        let numeric: Vec<(&str, &str, f64)> = metrics
            .iter()
            .filter_map(|(k, v)| {
                let (metric, filter) = split_key(k);
                if metric.ends_with("_stderr") || metric == "alias" {
                    return None;
                }
                Some((metric, filter, v.as_f64()?))
            })
            .collect();
        let chosen = PREFERRED
            .iter()
            .find_map(|p| numeric.iter().find(|(m, _, _)| m == p))
            .or_else(|| numeric.first());
        let Some(&(metric, filter, value)) = chosen else {
            continue;
        };
        // The harness writes "N/A" when it could not compute one.
        let stderr = metrics
            .get(&format!("{metric}_stderr,{filter}"))
            .and_then(Value::as_f64);
        out.push(TaskScore {
            task: task.clone(),
            metric: metric.to_string(),
            filter: filter.to_string(),
            value,
            stderr,
        });
    }
    if out.is_empty() {
        return Err(EvalError::NoScores);
    }
    Ok(out)
}

/// Puts the models' scores side by side: one row per task and metric, in the order the
/// models first report them.
pub fn summary(per_model: &[(String, Vec<TaskScore>)]) -> EvalSummary {
    let models: Vec<String> = per_model.iter().map(|(m, _)| m.clone()).collect();
    let mut rows: Vec<EvalRow> = Vec::new();
    for (i, (_, scores)) in per_model.iter().enumerate() {
        for s in scores {
            let row = match rows
                .iter_mut()
                .position(|r| r.task == s.task && r.metric == s.metric)
            {
                Some(at) => &mut rows[at],
                None => {
                    rows.push(EvalRow {
                        task: s.task.clone(),
                        metric: s.metric.clone(),
                        scores: vec![None; models.len()],
                    });
                    let last = rows.len() - 1;
                    &mut rows[last]
                }
            };
            row.scores[i] = Some(Score {
                value: s.value,
                stderr: s.stderr,
            });
        }
    }
    EvalSummary { models, rows }
}

/// `71.2 ± 3.6` (percent points) for a 0..1 score; other metrics as they are.
fn cell(score: Option<&Score>) -> String {
    let Some(s) = score else {
        return "–".into();
    };
    if (0.0..=1.0).contains(&s.value) {
        match s.stderr {
            Some(e) => format!("{:.1} ± {:.1}", s.value * 100.0, e * 100.0),
            None => format!("{:.1}", s.value * 100.0),
        }
    } else {
        format!("{:.2}", s.value)
    }
}

/// The table the presenter sees: task, metric, one column per model and, for two models, the
/// difference of the first to the second (quantized − full) in points.
pub fn table(summary: &EvalSummary) -> StepOutput {
    let pair = summary.models.len() == 2;
    let mut columns = vec!["task".to_string(), "metric".to_string()];
    columns.extend(summary.models.iter().cloned());
    if pair {
        columns.push("Δ".into());
    }
    let rows = summary
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![r.task.clone(), r.metric.clone()];
            row.extend(r.scores.iter().map(|s| cell(s.as_ref())));
            if pair {
                row.push(match (&r.scores[0], &r.scores[1]) {
                    (Some(a), Some(b)) if (0.0..=1.0).contains(&a.value) => {
                        format!("{:+.1}", (a.value - b.value) * 100.0)
                    }
                    (Some(a), Some(b)) => format!("{:+.2}", a.value - b.value),
                    _ => "–".into(),
                });
            }
            row
        })
        .collect();
    StepOutput {
        title: "LM-Eval accuracy, % ± standard error".into(),
        columns,
        rows,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The shape of an lm-evaluation-harness 0.4 results file, as TrustyAI stores it.
    fn harness_output(arc: f64, wino: f64) -> String {
        json!({
            "results": {
                "arc_easy": {"alias": "arc_easy", "acc,none": arc - 0.02, "acc_stderr,none": 0.04,
                             "acc_norm,none": arc, "acc_norm_stderr,none": 0.041},
                "winogrande": {"alias": "winogrande", "acc,none": wino, "acc_stderr,none": "N/A"},
                "gsm8k": {"alias": "gsm8k", "exact_match,strict-match": 0.55,
                          "exact_match_stderr,strict-match": 0.05, "exact_match,flexible-extract": 0.6}
            },
            "group_subtasks": {"arc_easy": [], "winogrande": [], "gsm8k": []},
            "versions": {"arc_easy": 1.0, "winogrande": 1.0, "gsm8k": 3.0},
            "n-shot": {"arc_easy": 0, "winogrande": 0, "gsm8k": 5},
            "config": {"model": "local-completions", "limit": 100.0}
        })
        .to_string()
    }

    #[test]
    fn one_score_per_task_prefers_normalised_accuracy() {
        let s = scores(&harness_output(0.8, 0.7)).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].task.as_str(), s[0].metric.as_str(), s[0].value),
            ("arc_easy", "acc_norm", 0.8)
        );
        assert_eq!(s[0].stderr, Some(0.041));
        assert_eq!((s[1].metric.as_str(), s[1].stderr), ("acc", None));
        assert_eq!(
            (s[2].metric.as_str(), s[2].filter.as_str(), s[2].value),
            ("exact_match", "strict-match", 0.55)
        );
        assert_eq!(scores("").unwrap_err(), EvalError::Missing);
        assert!(matches!(
            scores("{results").unwrap_err(),
            EvalError::NotJson { .. }
        ));
        assert_eq!(
            scores(r#"{"results": {"t": {"alias": "t"}}}"#).unwrap_err(),
            EvalError::NoScores
        );
    }

    #[test]
    fn the_table_puts_quantized_beside_full_with_the_difference() {
        let q = scores(&harness_output(0.78, 0.70)).unwrap();
        let mut f = scores(&harness_output(0.80, 0.72)).unwrap();
        f.pop(); // the full model has no gsm8k result
        let sum = summary(&[("quantized".into(), q), ("full".into(), f)]);
        assert_eq!(sum.rows.len(), 3);
        let t = table(&sum);
        assert_eq!(t.columns, ["task", "metric", "quantized", "full", "Δ"]);
        assert_eq!(
            t.rows[0],
            ["arc_easy", "acc_norm", "78.0 ± 4.1", "80.0 ± 4.1", "-2.0"]
        );
        assert_eq!(t.rows[1][2..], ["70.0", "72.0", "-2.0"]);
        assert_eq!(t.rows[2][3..], ["–", "–"]);
        // what status reads back is what was recorded
        let back: EvalSummary =
            serde_json::from_value(serde_json::to_value(&sum).unwrap()).unwrap();
        assert_eq!(back, sum);
    }
}
