//! `democtl status`: what is deployed and how healthy, from the cluster's records and objects.
//! Exit 0 healthy, 4 degraded, 5 not deployed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::session;
use super::target::Target;
use super::{AppError, Ctx, print_stdout};
use crate::cli::{OutputFormat, StatusArgs};
use crate::cluster::Cluster;
use crate::cluster::state::{self, ResumePoint};
use crate::cluster::status::{self, Health, StatusReport};
use crate::report::render;
use crate::stage::StageSet;
use crate::steps::lm_eval_report::{self, EvalSummary};

pub async fn run(ctx: &Ctx, args: StatusArgs) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let stages = ctx.stages(&project)?;
    let ids: Vec<String> = stages.stages().iter().map(|s| s.stage.id.clone()).collect();
    // The labels of the endpoints the stages' summary steps record, by stage and slug.
    let mut labels = std::collections::BTreeMap::new();
    for s in stages.stages() {
        for step in &s.stage.steps {
            if let crate::stage::params::StepParams::Summary(p) = &step.with {
                for e in &p.endpoints {
                    labels.insert(
                        (s.stage.id.clone(), crate::steps::summary::slug(&e.label)),
                        e.label.clone(),
                    );
                }
            }
        }
    }
    let target = Target::connect(ctx, Some(&project)).await?;
    let result = show(ctx, &args, &target, &stages, &ids, &labels).await;
    target.close().await?;
    result
}

async fn show(
    ctx: &Ctx,
    args: &StatusArgs,
    target: &Target,
    stages: &StageSet,
    ids: &[String],
    labels: &std::collections::BTreeMap<(String, String), String>,
) -> Result<u8, AppError> {
    loop {
        let mut report = status::collect(&target.cluster, ids)
            .await
            .map_err(AppError::cluster)?;
        for s in &mut report.stages {
            for e in &mut s.endpoints {
                e.label = labels.get(&(s.stage.clone(), e.slug.clone())).cloned();
            }
        }
        // A stage recorded in progress while nobody holds the cluster lock was interrupted
        // (killed, Ctrl-C, lost connection): say so, with the command that resumes it.
        let lock_free = if report.stages.iter().any(|s| s.state == "in-progress") {
            crate::cluster::lease::current_holder(&target.cluster)
                .await
                .map(|holder| holder.is_none())
                .unwrap_or(false)
        } else {
            false
        };
        let interrupted: Vec<&str> = report
            .stages
            .iter()
            .filter(|s| lock_free && s.state == "in-progress")
            .map(|s| s.stage.as_str())
            .collect();
        let resumes = if interrupted.is_empty() {
            BTreeMap::new()
        } else {
            resume_commands(ctx, stages, &target.cluster, &interrupted).await
        };
        let text = match args.output {
            OutputFormat::Json => {
                serde_json::to_string_pretty(&data(&report, &resumes)).unwrap_or_default() + "\n"
            }
            OutputFormat::Yaml => {
                serde_saphyr::to_string(&data(&report, &resumes)).unwrap_or_default()
            }
            // `-q`: the verdict only (the exit code says it too).
            OutputFormat::Table if ctx.output.mode == crate::report::Mode::Quiet => {
                format!("{}\n", verdict(report.health))
            }
            OutputFormat::Table => {
                let term = console::Term::stdout();
                let width = if term.is_term() {
                    usize::from(term.size().1)
                } else {
                    80
                };
                let chart = Some((width, ctx.output.color && term.is_term()));
                match target.simulated() {
                    // Nobody mistakes a rehearsal for the real cluster.
                    Some(sim) => format!(
                        "cluster: simulated (scenario {}, {}×)\n{}",
                        sim.scenario,
                        sim.speed,
                        table(&report, &resumes, "democtl --sim", chart)
                    ),
                    None => table(&report, &resumes, "democtl", chart),
                }
            }
        };
        if !args.watch {
            print_stdout(&text)?;
            return Ok(exit_code(report.health));
        }
        // Refresh in place: clear the screen when stdout is a terminal.
        let term = console::Term::stdout();
        if term.is_term() {
            let _ = term.clear_screen();
        }
        print_stdout(&text)?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(exit_code(report.health)),
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

/// The command that resumes each interrupted stage, built as the deploy's own `to resume:` line
/// is ([`session::resume_command`]) from the point its record keeps: the step the run was at,
/// the stage it was deploying and its switch values. A record without a point (written by an
/// older democtl) gets `deploy <stage>`.
async fn resume_commands(
    ctx: &Ctx,
    stages: &StageSet,
    cluster: &Cluster,
    interrupted: &[&str],
) -> BTreeMap<String, String> {
    let records = state::load_all(cluster).await.unwrap_or_default();
    let prefix = session::command_prefix(ctx);
    interrupted
        .iter()
        .map(|&stage| {
            let point = records
                .iter()
                .find(|r| r.stage == stage)
                .and_then(|r| r.resume.clone());
            let command = match point {
                Some(ResumePoint {
                    target,
                    step: Some(step),
                    switches,
                }) => session::resume_command(ctx, stages, &target, &switches, false)(
                    stage, &step, None,
                ),
                Some(ResumePoint {
                    target, switches, ..
                }) => format!(
                    "{prefix} deploy {target}{}",
                    session::switch_flags(stages, &switches)
                ),
                None => format!("{prefix} deploy {stage}"),
            };
            (stage.to_owned(), command)
        })
        .collect()
}

/// The report as `-o json|yaml` prints it: an interrupted stage also carries
/// `interrupted: true` and the `resume` command.
fn data(report: &StatusReport, resumes: &BTreeMap<String, String>) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(stages) = value
        .get_mut("stages")
        .and_then(serde_json::Value::as_array_mut)
    {
        for s in stages {
            let resume = s
                .get("stage")
                .and_then(serde_json::Value::as_str)
                .and_then(|id| resumes.get(id))
                .cloned();
            if let (Some(resume), Some(object)) = (resume, s.as_object_mut()) {
                object.insert("interrupted".into(), true.into());
                object.insert("resume".into(), resume.into());
            }
        }
    }
    value
}

fn exit_code(health: Health) -> u8 {
    match health {
        Health::Healthy => crate::exit::OK,
        Health::Degraded => crate::exit::DEGRADED,
        Health::NotDeployed => crate::exit::NOT_DEPLOYED,
    }
}

/// The human screen. `resumes`: the interrupted stages and the commands that resume them.
/// `democtl` is how the commands of the notes start (`democtl --sim` on the simulated cluster).
/// `chart`: the width and colour of the benchmark charts drawn under each benchmark table.
pub fn table(
    report: &StatusReport,
    resumes: &BTreeMap<String, String>,
    democtl: &str,
    chart: Option<(usize, bool)>,
) -> String {
    let mut out = Vec::new();
    let mut who = vec![format!("cluster {}", report.server)];
    if let Some(context) = &report.context {
        who.push(format!("context {context}"));
    }
    if let Some(user) = &report.user {
        who.push(format!("user {user}"));
    }
    out.push(who.join(" · "));
    out.push(String::new());
    let now = jiff::Timestamp::now();
    let rows: Vec<Vec<String>> = report
        .stages
        .iter()
        .map(|s| {
            vec![
                s.stage.clone(),
                if resumes.contains_key(&s.stage) {
                    "interrupted".to_string()
                } else {
                    s.state.clone()
                },
                s.finished_at
                    .as_deref()
                    .or(s.started_at.as_deref())
                    .map(|t| ago(t, now))
                    .unwrap_or_default(),
                s.run_id.clone().unwrap_or_default(),
                s.user.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.extend(render::table(
        &[
            "STAGE".into(),
            "STATE".into(),
            "WHEN".into(),
            "RUN".into(),
            "BY".into(),
        ],
        &rows,
    ));
    if let Some((last, resume)) = report
        .stages
        .iter()
        .rev()
        .find_map(|s| resumes.get(&s.stage).map(|r| (s, r)))
    {
        out.push(format!(
            "{} was interrupted{}; to resume: {resume}",
            last.stage,
            last.run_id
                .as_deref()
                .map(|r| format!(" (run {r})"))
                .unwrap_or_default(),
        ));
    }
    for s in report.stages.iter().filter(|s| !s.unrecorded.is_empty()) {
        let n = s.unrecorded.len();
        let some: Vec<&str> = s.unrecorded.iter().take(3).map(String::as_str).collect();
        let more = if n > 3 { ", …" } else { "" };
        let (objects, are) = if n == 1 {
            ("object carries", "is")
        } else {
            ("objects carry", "are")
        };
        if s.run_id.is_some() {
            out.push(format!(
                "note: {n} {objects} the ApplySet labels of {} but {are} not in its state record (it is short, e.g. after an interrupted write); counted below: {}{more}",
                s.stage,
                some.join(", ")
            ));
        } else {
            out.push(format!(
                "note: {} has no state record, but {n} {objects} its ApplySet labels ({}{more}): `{democtl} deploy {}` takes them over, `{democtl} teardown --stage {}` removes them",
                s.stage,
                some.join(", "),
                s.stage,
                s.stage
            ));
        }
    }
    for s in report.stages.iter().filter(|s| !s.components.is_empty()) {
        out.push(String::new());
        out.push(format!("{} components", s.stage));
        let rows: Vec<Vec<String>> = s
            .components
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    health_word(&c.status).to_string(),
                    format!("{}/{}", c.ready, c.total),
                    c.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let lines = render::table(
            &[
                "COMPONENT".into(),
                "STATUS".into(),
                "READY".into(),
                "REASON".into(),
            ],
            &rows,
        );
        out.extend(lines.into_iter().map(|l| format!("  {l}")));
    }
    if !report.gpu_nodes.is_empty() {
        out.push(String::new());
        out.push("GPU nodes".into());
        let rows: Vec<Vec<String>> = report
            .gpu_nodes
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    n.instance_type.clone().unwrap_or_default(),
                    n.gpus.to_string(),
                    if n.ready {
                        "ready".into()
                    } else {
                        "not ready".into()
                    },
                ]
            })
            .collect();
        let lines = render::table(
            &["NODE".into(), "TYPE".into(), "GPUS".into(), "STATE".into()],
            &rows,
        );
        out.extend(lines.into_iter().map(|l| format!("  {l}")));
    }
    let mut seen = std::collections::BTreeSet::new();
    let endpoints: Vec<Vec<String>> = report
        .stages
        .iter()
        .filter(|s| s.state != "not-deployed")
        .flat_map(|s| {
            s.endpoints.iter().map(|e| {
                vec![
                    e.label.clone().unwrap_or_else(|| e.slug.clone()),
                    e.url.clone(),
                    s.stage.clone(),
                ]
            })
        })
        // A later stage that shows an earlier stage's endpoint again (Llama Stack) adds no row.
        .filter(|row| seen.insert((row[0].clone(), row[1].clone())))
        .collect();
    if !endpoints.is_empty() {
        out.push(String::new());
        out.push("Endpoints".into());
        let lines = render::table(
            &["ENDPOINT".into(), "URL".into(), "STAGE".into()],
            &endpoints,
        );
        out.extend(lines.into_iter().map(|l| format!("  {l}")));
    }
    if !report.inference_services.is_empty() {
        out.push(String::new());
        out.push("Inference services".into());
        let rows: Vec<Vec<String>> = report
            .inference_services
            .iter()
            .map(|e| {
                vec![
                    format!("{}/{}", e.namespace, e.name),
                    e.url.clone().unwrap_or_else(|| "-".into()),
                    if e.ready {
                        "ready".into()
                    } else {
                        "not ready".into()
                    },
                ]
            })
            .collect();
        let lines = render::table(&["SERVICE".into(), "URL".into(), "STATE".into()], &rows);
        out.extend(lines.into_iter().map(|l| format!("  {l}")));
    }
    for s in report.stages.iter().filter(|s| s.state != "not-deployed") {
        if let Some(summary) = s
            .evaluation
            .as_ref()
            .and_then(|v| serde_json::from_value::<EvalSummary>(v.clone()).ok())
        {
            let t = lm_eval_report::table(&summary);
            out.push(String::new());
            out.push(format!("{} {}", s.stage, t.title));
            let lines = render::table(&upper(&t.columns), &t.rows);
            out.extend(lines.into_iter().map(|l| format!("  {l}")));
        }
        if !s.collections.is_empty() {
            out.push(String::new());
            out.push(format!("{} collections", s.stage));
            let rows: Vec<Vec<String>> = s
                .collections
                .iter()
                .map(|(name, c)| {
                    let field = |k: &str| match &c[k] {
                        serde_json::Value::String(v) => v.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    vec![
                        name.clone(),
                        field("provider_id"),
                        field("documents"),
                        field("chunks"),
                    ]
                })
                .collect();
            let header = ["COLLECTION", "PROVIDER", "DOCUMENTS", "CHUNKS"].map(String::from);
            let lines = render::table(&header, &rows);
            out.extend(lines.into_iter().map(|l| format!("  {l}")));
        }
    }
    for s in &report.stages {
        if let Some(bench) = &s.benchmarks {
            out.push(String::new());
            out.push(format!("{} last benchmark", s.stage));
            out.extend(json_table(bench).into_iter().map(|l| format!("  {l}")));
            // The recorded rows are the benchmark step's points: both models on one chart.
            if let Some((width, color)) = chart
                && let Ok(points) = serde_json::from_value::<
                    Vec<crate::runner::event::BenchmarkPoint>,
                >(bench.clone())
            {
                let lines = crate::report::chart::terminal(&points, width, color);
                if !lines.is_empty() {
                    out.push(String::new());
                    out.extend(lines);
                }
            }
        }
    }
    out.push(String::new());
    out.push(verdict(report.health).into());
    out.join("\n") + "\n"
}

fn upper(columns: &[String]) -> Vec<String> {
    columns.iter().map(|c| c.to_uppercase()).collect()
}

fn verdict(health: Health) -> &'static str {
    match health {
        Health::Healthy => "healthy",
        Health::Degraded => "degraded",
        Health::NotDeployed => "not deployed",
    }
}

/// The table's word for a kstatus result (`-o json` keeps kstatus's own words).
fn health_word(kstatus: &str) -> &str {
    match kstatus {
        "Current" => "Healthy",
        "InProgress" => "Progressing",
        "Failed" => "Degraded",
        "NotFound" => "Missing",
        other => other,
    }
}

/// `12m ago` for an RFC 3339 time (exact times stay in `-o json`); the text as it is when it
/// does not parse.
fn ago(time: &str, now: jiff::Timestamp) -> String {
    let Ok(at) = time.parse::<jiff::Timestamp>() else {
        return time.to_string();
    };
    let secs = now.duration_since(at).as_secs();
    if secs < 0 {
        return "just now".into();
    }
    let (n, unit) = match secs {
        0..60 => return "just now".into(),
        60..3600 => (secs / 60, "m"),
        3600..86400 => (secs / 3600, "h"),
        _ => (secs / 86400, "d"),
    };
    format!("{n}{unit} ago")
}

/// A JSON array of flat objects as a table (columns from the first object); anything else as
/// one line of JSON.
fn json_table(value: &serde_json::Value) -> Vec<String> {
    let rows = value.as_array().map(Vec::as_slice).unwrap_or_default();
    let Some(first) = rows.first().and_then(serde_json::Value::as_object) else {
        return vec![serde_json::to_string(value).unwrap_or_default()];
    };
    let columns: Vec<String> = first.keys().cloned().collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| match row.get(c) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    let header: Vec<String> = columns.iter().map(|c| c.to_uppercase()).collect();
    render::table(&header, &cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_ages() {
        let now: jiff::Timestamp = "2026-12-03T12:00:00Z".parse().unwrap_or_default();
        assert_eq!(ago("2026-12-03T11:59:30.123456789Z", now), "just now");
        assert_eq!(ago("2026-12-03T11:48:00Z", now), "12m ago");
        assert_eq!(ago("2026-12-03T09:00:00Z", now), "3h ago");
        assert_eq!(ago("2026-11-30T12:00:00Z", now), "3d ago");
        assert_eq!(ago("2026-12-03T12:05:00Z", now), "just now");
        assert_eq!(ago("yesterday", now), "yesterday");
    }

    fn stage(run: Option<&str>, unrecorded: &[&str]) -> crate::cluster::status::StageReport {
        let state = if run.is_some() {
            "deployed"
        } else {
            "not-deployed"
        };
        crate::cluster::status::StageReport {
            run_id: run.map(str::to_string),
            unrecorded: unrecorded.iter().map(|s| s.to_string()).collect(),
            ..crate::cluster::status::StageReport::new("stage2", state)
        }
    }

    #[test]
    fn objects_missing_from_the_record_are_said() {
        let report = |stages| StatusReport {
            server: "https://api".into(),
            context: None,
            user: None,
            health: crate::cluster::status::Health::Healthy,
            stages,
            gpu_nodes: Vec::new(),
            inference_services: Vec::new(),
        };
        let short = table(
            &report(vec![stage(Some("run-1"), &["ConfigMap/two"])]),
            &BTreeMap::new(),
            "democtl",
            None,
        );
        assert!(
            short.contains("note: 1 object carries the ApplySet labels of stage2 but is not in its state record (it is short, e.g. after an interrupted write); counted below: ConfigMap/two"),
            "{short}"
        );
        let none = table(
            &report(vec![stage(
                None,
                &[
                    "Namespace/rag",
                    "ConfigMap/one",
                    "ConfigMap/two",
                    "ConfigMap/x",
                ],
            )]),
            &BTreeMap::new(),
            "democtl",
            None,
        );
        assert!(
            none.contains("note: stage2 has no state record, but 4 objects carry its ApplySet labels (Namespace/rag, ConfigMap/one, ConfigMap/two, …): `democtl deploy stage2` takes them over, `democtl teardown --stage stage2` removes them"),
            "{none}"
        );
        let fine = table(
            &report(vec![stage(Some("run-1"), &[])]),
            &BTreeMap::new(),
            "democtl",
            None,
        );
        assert!(!fine.contains("note:"), "{fine}");
    }

    #[test]
    fn kstatus_words_become_health_words() {
        assert_eq!(health_word("Current"), "Healthy");
        assert_eq!(health_word("InProgress"), "Progressing");
        assert_eq!(health_word("Failed"), "Degraded");
        assert_eq!(health_word("NotFound"), "Missing");
        assert_eq!(health_word("Terminating"), "Terminating");
    }
}
