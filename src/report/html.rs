//! The run's files beside its log, written by a reporter of the same events: in
//! `logs/<run>/`, `benchmarks.svg` (both charts, when the run measured anything) and
//! `report.html`, one self-contained page (inline SVG and CSS, no scripts, nothing fetched)
//! with the verdict, the endpoints, the charts, the benchmark tables and the steps.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::chart;
use super::render;
use super::screen::{self, RunFacts};
use crate::runner::event::{Outcome, ReportError, Reporter, RunEvent, RunEventKind, RunSummary};
use crate::runner::sensitive::redact;

/// File names inside the run's folder.
pub const SVG_FILE: &str = "benchmarks.svg";
pub const HTML_FILE: &str = "report.html";

/// Writes the run's report files when the run finishes.
pub struct FilesReporter {
    dir: PathBuf,
    facts: RunFacts,
    summary: Option<RunSummary>,
}

impl FilesReporter {
    /// Files go to `dir` (created when the run finishes).
    pub fn new(dir: &Path) -> FilesReporter {
        FilesReporter {
            dir: dir.to_owned(),
            facts: RunFacts::default(),
            summary: None,
        }
    }

    /// `logs/<run>/report.html` for `logs/<run>.jsonl`.
    pub fn report_path(log: &Path) -> PathBuf {
        log.with_extension("").join(HTML_FILE)
    }

    fn write(&self) -> std::io::Result<()> {
        let Some(summary) = &self.summary else {
            return Ok(());
        };
        std::fs::create_dir_all(&self.dir)?;
        let svg = chart::svg(&self.facts.benchmarks).ok();
        if let Some(svg) = &svg {
            std::fs::write(self.dir.join(SVG_FILE), svg)?;
        }
        let html = page(&self.facts, summary, svg.as_deref());
        std::fs::write(self.dir.join(HTML_FILE), redact(&html).as_bytes())
    }
}

impl Reporter for FilesReporter {
    fn report(&mut self, event: &RunEvent) -> Result<(), ReportError> {
        self.facts.observe(event);
        if let RunEventKind::RunFinished(summary) = &event.kind {
            self.summary = Some(summary.clone());
            self.write().map_err(|source| ReportError {
                reporter: "HTML report",
                source,
            })?;
        }
        Ok(())
    }
}

/// `&`, `<`, `>`, `"` escaped for HTML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "–".into(),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1240px;color:#222}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.ok{color:#1a7f37}.bad{color:#c62828}.warn{color:#b26a00}code,pre{font-family:ui-monospace,monospace}\
pre{background:#f6f6f6;padding:.6rem;white-space:pre-wrap}";

/// The whole page.
pub fn page(facts: &RunFacts, summary: &RunSummary, svg: Option<&str>) -> String {
    let verdict = screen::verdict(facts, summary);
    let class = match &summary.outcome {
        Outcome::Succeeded => "ok",
        Outcome::Degraded { .. } | Outcome::Skipped { .. } => "warn",
        _ => "bad",
    };
    let mut h = String::new();
    let title = facts
        .header
        .as_ref()
        .map(|h| h.command_line.join(" "))
        .unwrap_or_else(|| "democtl run".into());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(&title)
    );
    let _ = writeln!(h, "<h1 class=\"{class}\">{}</h1>", escape(&verdict));
    if let Some(header) = &facts.header {
        let _ = writeln!(
            h,
            "<p>run <code>{}</code> · <code>{}</code>{}</p>",
            escape(&header.run_id),
            escape(&title),
            header
                .cluster_server
                .as_deref()
                .map(|s| format!(" · cluster <code>{}</code>", escape(s)))
                .unwrap_or_default()
        );
    }
    if let Some((_, error)) = summary
        .steps
        .iter()
        .find_map(|s| render::failure(&s.outcome).map(|f| (s, f.0)))
    {
        let _ = writeln!(
            h,
            "<h2>Error</h2><pre>{}</pre>",
            escape(&render::error_lines(error, "  ").join("\n"))
        );
    }
    if let Some(next) = &summary.next {
        let _ = writeln!(h, "<p>To resume: <code>{}</code></p>", escape(next));
    }
    if !facts.endpoints.is_empty() {
        h.push_str(
            "<h2>Endpoints</h2>\n<table><tr><th>endpoint</th><th>URL</th><th>try</th></tr>\n",
        );
        for (_, e) in &facts.endpoints {
            let url = e.url.as_deref().unwrap_or("not available");
            let link = if url.starts_with("https://") || url.starts_with("http://") {
                format!("<a href=\"{0}\">{0}</a>", escape(url))
            } else {
                escape(url)
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{link}</td><td><code>{}</code></td></tr>",
                escape(&e.label),
                escape(e.example.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</table>\n");
    }
    if !facts.benchmarks.is_empty() {
        h.push_str("<h2>GuideLLM benchmark</h2>\n");
        if let Some(svg) = svg {
            let _ = writeln!(h, "<figure id=\"benchmark-chart\">{svg}</figure>");
        }
        for s in chart::series(&facts.benchmarks) {
            let _ = writeln!(
                h,
                "<h3>{}</h3>\n<table class=\"benchmark\" data-model=\"{}\"><tr><th>concurrency</th><th>TTFT p50 ms</th><th>TTFT p95 ms</th><th>ITL p50 ms</th><th>ITL p95 ms</th><th>output tok/s</th><th>req/s</th></tr>",
                escape(&s.model),
                escape(&s.model)
            );
            for (_, p) in &s.points {
                let _ = writeln!(
                    h,
                    "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape(&p.load),
                    cell(p.ttft_p50_ms),
                    cell(p.ttft_p95_ms),
                    cell(p.itl_p50_ms),
                    cell(p.itl_p95_ms),
                    cell(p.output_tokens_per_second),
                    cell(p.requests_per_second)
                );
            }
            h.push_str("</table>\n");
        }
    }
    h.push_str(
        "<h2>Steps</h2>\n<table><tr><th>stage</th><th>step</th><th>result</th><th>time</th></tr>\n",
    );
    for s in &summary.steps {
        let took = if matches!(s.outcome, Outcome::Skipped { .. }) {
            String::new()
        } else {
            render::duration(s.duration)
        };
        let detail = match &s.outcome {
            Outcome::Skipped { reason } | Outcome::Degraded { reason } => format!(": {reason}"),
            _ => String::new(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}{}</td><td class=\"n\">{took}</td></tr>",
            escape(&s.stage),
            escape(&s.title),
            render::outcome_word(&s.outcome),
            escape(&detail)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runner::event::{BenchmarkPoint, Endpoint, RunEvent, StepSummary};

    fn event(kind: RunEventKind) -> RunEvent {
        RunEvent {
            at: "2026-12-03T08:00:00Z".into(),
            elapsed: Duration::ZERO,
            kind,
        }
    }

    #[test]
    fn the_page_has_verdict_endpoints_charts_and_tables() {
        let dir = std::env::temp_dir().join(format!("democtl-html-{}", std::process::id()));
        let mut r = FilesReporter::new(&dir);
        let points: Vec<BenchmarkPoint> = crate::report::chart::tests::sample();
        for kind in [
            RunEventKind::EndpointsFound {
                stage: "stage1".into(),
                step: "summary".into(),
                title: "Sovereign AI endpoints".into(),
                endpoints: vec![Endpoint {
                    label: "Dashboard <main>".into(),
                    url: Some("https://dash.example".into()),
                    example: None,
                }],
            },
            RunEventKind::BenchmarksMeasured {
                stage: "stage1".into(),
                step: "benchmarks".into(),
                results: points,
            },
            RunEventKind::RunFinished(RunSummary {
                outcome: Outcome::Succeeded,
                steps: vec![StepSummary {
                    stage: "stage1".into(),
                    step: "benchmarks".into(),
                    title: "Benchmark both models".into(),
                    outcome: Outcome::Succeeded,
                    duration: Duration::from_secs(3),
                }],
                duration: Duration::from_secs(3),
                next: None,
            }),
        ] {
            r.report(&event(kind)).unwrap_or_else(|e| panic!("{e}"));
        }
        let html = std::fs::read_to_string(dir.join(HTML_FILE)).unwrap_or_default();
        let svg = std::fs::read_to_string(dir.join(SVG_FILE)).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(html.contains("✓ stage1 deployed in 3.0s"), "{html}");
        assert!(html.contains("Dashboard &lt;main&gt;"));
        assert!(html.contains("<a href=\"https://dash.example\">"));
        assert!(html.contains("data-model=\"mistral-24b-quantized\""));
        assert!(html.contains("data-model=\"mistral-24b\""));
        assert!(html.contains("<svg"));
        assert!(svg.starts_with("<svg"));
        assert!(!html.contains("<script"));
    }
}
