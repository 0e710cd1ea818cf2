//! `democtl status`: what is deployed and how healthy, from the cluster's records and objects.
//! Exit 0 healthy, 4 degraded, 5 not deployed.

use std::time::Duration;

use super::target::Target;
use super::{AppError, Ctx, print_stdout};
use crate::cli::{OutputFormat, StatusArgs};
use crate::cluster::status::{self, Health, StatusReport};
use crate::report::render;

pub async fn run(ctx: &Ctx, args: StatusArgs) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let stages = ctx.stages(&project)?;
    let ids: Vec<String> = stages.stages().iter().map(|s| s.stage.id.clone()).collect();
    let target = Target::connect(ctx, Some(&project)).await?;
    let result = show(&args, &target, &ids).await;
    target.close().await?;
    result
}

async fn show(args: &StatusArgs, target: &Target, ids: &[String]) -> Result<u8, AppError> {
    loop {
        let report = status::collect(&target.cluster, ids)
            .await
            .map_err(AppError::cluster)?;
        let text = match args.output {
            OutputFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
            OutputFormat::Yaml => serde_saphyr::to_string(&report).unwrap_or_default(),
            OutputFormat::Table => match target.simulated() {
                // Nobody mistakes a rehearsal for the real cluster.
                Some(sim) => format!(
                    "cluster: simulated (scenario {}, {}×)\n{}",
                    sim.scenario,
                    sim.speed,
                    table(&report)
                ),
                None => table(&report),
            },
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

fn exit_code(health: Health) -> u8 {
    match health {
        Health::Healthy => crate::exit::OK,
        Health::Degraded => crate::exit::DEGRADED,
        Health::NotDeployed => crate::exit::NOT_DEPLOYED,
    }
}

/// The human screen.
pub fn table(report: &StatusReport) -> String {
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
    let rows: Vec<Vec<String>> = report
        .stages
        .iter()
        .map(|s| {
            vec![
                s.stage.clone(),
                s.state.clone(),
                s.finished_at
                    .clone()
                    .or_else(|| s.started_at.clone())
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
    for s in report.stages.iter().filter(|s| !s.components.is_empty()) {
        out.push(String::new());
        out.push(format!("{} components", s.stage));
        let rows: Vec<Vec<String>> = s
            .components
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    c.status.clone(),
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
    for s in &report.stages {
        if let Some(bench) = &s.benchmarks {
            out.push(String::new());
            out.push(format!("{} last benchmark", s.stage));
            out.extend(json_table(bench).into_iter().map(|l| format!("  {l}")));
        }
    }
    out.push(String::new());
    out.push(match report.health {
        Health::Healthy => "healthy".into(),
        Health::Degraded => "degraded".into(),
        Health::NotDeployed => "not deployed".into(),
    });
    out.join("\n") + "\n"
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
