//! GuideLLM results as democtl shows them (pure).
//!
//! The benchmark Jobs print their GuideLLM report as one JSON document between the lines
//! `DEMOCTL-RESULTS-BEGIN` and `DEMOCTL-RESULTS-END` (see
//! `gitops/components/benchmarking/`). The report is GuideLLM's own format:
//! `{"benchmarks": [{"args": {"strategy": {"type_": "concurrent", "streams": 5}},
//!   "metrics": {"time_to_first_token_ms": {"successful": {"median": …, "percentiles": {"p95": …}}},
//!   "inter_token_latency_ms": …, "output_tokens_per_second": …, "requests_per_second": …}}]}`.
//! Without the markers, the last log line that is a JSON object with `benchmarks` is used, and
//! a flat form (`{"concurrency", "ttft_ms": {"p50", "p95"}, "itl_ms", …}`) is read as well.
//! One row per benchmark: concurrency, TTFT p50/p95, ITL p50/p95, output tokens/s, requests/s.

use serde::Serialize;
use serde_json::Value;

use crate::runner::event::StepOutput;

/// First line of the results document in a benchmark Job's log.
pub const BEGIN_MARKER: &str = "DEMOCTL-RESULTS-BEGIN";
/// Line after the results document.
pub const END_MARKER: &str = "DEMOCTL-RESULTS-END";

/// One benchmark run at one load level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkRow {
    pub model: String,
    /// Concurrent streams (or the request rate for rate-based strategies), as shown.
    pub load: String,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    pub itl_p50_ms: Option<f64>,
    pub itl_p95_ms: Option<f64>,
    pub output_tokens_per_second: Option<f64>,
    pub requests_per_second: Option<f64>,
}

/// Why a log held no usable results.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("no results document in the log")]
    Missing,
    #[error("the results document is not valid JSON")]
    NotJson { detail: String },
    #[error("the results document has no `benchmarks`")]
    NoBenchmarks,
}

/// Extracts the results document from a Job's log.
pub fn extract(log: &str) -> Result<Value, ReportError> {
    let mut inside = false;
    let mut text = String::new();
    let mut seen = false;
    for line in log.lines() {
        let trimmed = line.trim();
        if trimmed == BEGIN_MARKER {
            inside = true;
            seen = true;
            text.clear();
            continue;
        }
        if trimmed == END_MARKER {
            inside = false;
            continue;
        }
        if inside {
            text.push_str(line);
            text.push('\n');
        }
    }
    if !seen {
        // Without markers: the last line that is a JSON document with `benchmarks`.
        return log
            .lines()
            .rev()
            .map(str::trim)
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v.get("benchmarks").is_some())
            .ok_or(ReportError::Missing);
    }
    serde_json::from_str(&text).map_err(|e| ReportError::NotJson {
        detail: e.to_string(),
    })
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// p50 and p95 of a GuideLLM distribution (`{"successful": {"median", "percentiles": {…}}}`),
/// also accepting a plain `{"p50", "p95"}` object.
fn percentiles(metric: Option<&Value>) -> (Option<f64>, Option<f64>) {
    let Some(m) = metric else {
        return (None, None);
    };
    let d = m.get("successful").unwrap_or(m);
    let p = d.get("percentiles");
    let p50 = num(p.and_then(|p| p.get("p50")))
        .or_else(|| num(d.get("median")))
        .or_else(|| num(d.get("p50")));
    let p95 = num(p.and_then(|p| p.get("p95"))).or_else(|| num(d.get("p95")));
    (p50, p95)
}

fn mean(metric: Option<&Value>) -> Option<f64> {
    let m = metric?;
    if let Some(n) = m.as_f64() {
        return Some(n);
    }
    let d = m.get("successful").unwrap_or(m);
    num(d.get("mean")).or_else(|| num(d.get("median")))
}

fn load_of(benchmark: &Value) -> String {
    let strategy = benchmark.pointer("/args/strategy");
    let field = |k: &str| strategy.and_then(|s| s.get(k));
    if let Some(streams) = field("streams").and_then(Value::as_u64) {
        return streams.to_string();
    }
    if let Some(rate) = field("rate").and_then(Value::as_f64) {
        return format!("{rate} req/s");
    }
    if let Some(c) = benchmark.get("concurrency").and_then(Value::as_u64) {
        return c.to_string();
    }
    match field("type_").and_then(Value::as_str) {
        Some("synchronous") => "1".into(),
        Some(other) => other.to_string(),
        None => "?".into(),
    }
}

/// Rows of one model's report, in the report's order.
pub fn rows(model: &str, report: &Value) -> Result<Vec<BenchmarkRow>, ReportError> {
    let benchmarks = report
        .get("benchmarks")
        .and_then(Value::as_array)
        .filter(|b| !b.is_empty())
        .ok_or(ReportError::NoBenchmarks)?;
    Ok(benchmarks
        .iter()
        .map(|b| {
            let metrics = b.get("metrics").unwrap_or(b);
            let metric = |long: &str, short: &str| metrics.get(long).or_else(|| metrics.get(short));
            let (ttft_p50_ms, ttft_p95_ms) =
                percentiles(metric("time_to_first_token_ms", "ttft_ms"));
            let (itl_p50_ms, itl_p95_ms) = percentiles(metric("inter_token_latency_ms", "itl_ms"));
            BenchmarkRow {
                model: model.to_string(),
                load: load_of(b),
                ttft_p50_ms,
                ttft_p95_ms,
                itl_p50_ms,
                itl_p95_ms,
                output_tokens_per_second: mean(metrics.get("output_tokens_per_second")),
                requests_per_second: mean(metrics.get("requests_per_second")),
            }
        })
        .collect())
}

/// A row as the run's events carry it (charts read these numbers).
pub fn point(r: &BenchmarkRow) -> crate::runner::event::BenchmarkPoint {
    crate::runner::event::BenchmarkPoint {
        model: r.model.clone(),
        load: r.load.clone(),
        ttft_p50_ms: r.ttft_p50_ms,
        ttft_p95_ms: r.ttft_p95_ms,
        itl_p50_ms: r.itl_p50_ms,
        itl_p95_ms: r.itl_p95_ms,
        output_tokens_per_second: r.output_tokens_per_second,
        requests_per_second: r.requests_per_second,
    }
}

fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "–".into(),
    }
}

/// The table the presenter sees.
pub fn table(rows: &[BenchmarkRow]) -> StepOutput {
    StepOutput {
        title: "GuideLLM benchmark results".into(),
        columns: [
            "model",
            "concurrency",
            "TTFT p50 ms",
            "TTFT p95 ms",
            "ITL p50 ms",
            "ITL p95 ms",
            "output tok/s",
            "req/s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.model.clone(),
                    r.load.clone(),
                    cell(r.ttft_p50_ms),
                    cell(r.ttft_p95_ms),
                    cell(r.itl_p50_ms),
                    cell(r.itl_p95_ms),
                    cell(r.output_tokens_per_second),
                    cell(r.requests_per_second),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn guidellm_bench(streams: u64, ttft: f64) -> Value {
        json!({"type_": "generative_benchmark",
               "args": {"strategy": {"type_": "concurrent", "streams": streams}},
               "metrics": {
                   "time_to_first_token_ms": {"successful": {"mean": ttft, "median": ttft,
                        "percentiles": {"p50": ttft, "p95": ttft * 2.0}}},
                   "inter_token_latency_ms": {"successful": {"median": 21.5,
                        "percentiles": {"p50": 21.5, "p95": 30.25}}},
                   "output_tokens_per_second": {"successful": {"mean": 412.3}},
                   "requests_per_second": {"successful": {"mean": 1.6}}}})
    }

    #[test]
    fn extracts_the_document_between_the_markers() {
        let doc = json!({"benchmarks": [guidellm_bench(1, 80.0)]});
        let log = format!(
            "Creating backend...\n100%|#####| 4/4 [00:02]\n{BEGIN_MARKER}\n{doc}\n{END_MARKER}\nbye\n"
        );
        assert_eq!(extract(&log).unwrap(), doc);
        assert_eq!(
            extract("no results here").unwrap_err(),
            ReportError::Missing
        );
        let bad = format!("{BEGIN_MARKER}\n{{not json\n{END_MARKER}\n");
        assert!(matches!(
            extract(&bad).unwrap_err(),
            ReportError::NotJson { .. }
        ));
        // a document printed over several lines, and the last document wins
        let multi = format!(
            "{BEGIN_MARKER}\n{{}}\n{END_MARKER}\n{BEGIN_MARKER}\n{{\n  \"benchmarks\": []\n}}\n{END_MARKER}\n"
        );
        assert_eq!(extract(&multi).unwrap(), json!({"benchmarks": []}));
    }

    #[test]
    fn rows_read_guidellm_percentiles_per_concurrency() {
        let doc = json!({"benchmarks": [guidellm_bench(1, 80.0), guidellm_bench(25, 640.0)]});
        let r = rows("mistral-24b-quantized", &doc).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].load, "1");
        assert_eq!(r[1].load, "25");
        assert_eq!(r[1].ttft_p50_ms, Some(640.0));
        assert_eq!(r[1].ttft_p95_ms, Some(1280.0));
        assert_eq!(r[0].itl_p95_ms, Some(30.25));
        assert_eq!(r[0].output_tokens_per_second, Some(412.3));
        let t = table(&r);
        assert_eq!(t.columns.len(), 8);
        assert_eq!(
            t.rows[1],
            [
                "mistral-24b-quantized",
                "25",
                "640",
                "1280",
                "21.5",
                "30.2",
                "412",
                "1.6"
            ]
        );
        assert_eq!(
            rows("m", &json!({"benchmarks": []})).unwrap_err(),
            ReportError::NoBenchmarks
        );
    }

    #[test]
    fn rows_accept_a_flat_document_and_rate_strategies() {
        let doc = json!({"benchmarks": [
            {"concurrency": 5, "ttft_ms": {"p50": 100.0, "p95": 150.0},
             "itl_ms": {"p50": 20.0, "p95": 25.0},
             "output_tokens_per_second": 300.0, "requests_per_second": 2.0},
            {"args": {"strategy": {"type_": "constant", "rate": 2.5}}, "metrics": {}},
            {"args": {"strategy": {"type_": "synchronous"}}, "metrics": {}}]});
        let r = rows("m", &doc).unwrap();
        assert_eq!(r[0].load, "5");
        assert_eq!(r[0].ttft_p95_ms, Some(150.0));
        assert_eq!(r[0].output_tokens_per_second, Some(300.0));
        assert_eq!(r[1].load, "2.5 req/s");
        assert_eq!(r[1].ttft_p50_ms, None);
        assert_eq!(r[2].load, "1");
        assert_eq!(table(&r).rows[1][2], "–");
    }
}
