//! `democtl plan <stage>`: the stages and steps a deploy would run, what each applies or waits
//! for, timeouts and expected durations. Offline: renders the overlays, reads no cluster (so
//! earlier stages show as "runs unless deployed and healthy").

use serde::Serialize;
use serde_json::Value;

use super::deploy::prepare;
use super::session;
use super::{AppError, Ctx, print_stdout, structured};
use crate::cli::{OutputFormat, PlanArgs};
use crate::report::render;
use crate::stage::StepSpec;
use crate::stage::params::StepParams;
use crate::steps::selection::component_of;

/// The plan as data (`plan -o json|yaml`).
#[derive(Debug, Serialize)]
struct PlanDoc {
    stage: String,
    title: String,
    expected_seconds: u64,
    /// Earlier stages, each run unless already deployed and healthy.
    first: Vec<String>,
    switches: std::collections::BTreeMap<String, bool>,
    stages: Vec<StageDoc>,
}

#[derive(Debug, Serialize)]
struct StageDoc {
    id: String,
    title: String,
    objects: usize,
    expected_seconds: u64,
    steps: Vec<StepDoc>,
}

#[derive(Debug, Serialize)]
struct StepDoc {
    id: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<u64>,
    runs: String,
    what: String,
}

pub async fn run(ctx: &Ctx, args: PlanArgs) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let stages = ctx.stages(&project)?;
    let prepared = prepare(
        project,
        &stages,
        &args.stage,
        args.from.as_deref(),
        args.only.as_deref(),
        &args.switches,
        &args.set_switch,
    )?;
    let target = &prepared.target.stage;
    let mut out = vec![format!(
        "plan: deploy {} · {} (expected {})",
        target.id,
        target.title,
        humantime::format_duration(target.expected_duration)
    )];
    let earlier: Vec<&str> = prepared
        .chain
        .iter()
        .filter(|s| s.stage.id != target.id)
        .map(|s| s.stage.id.as_str())
        .collect();
    if !earlier.is_empty() {
        out.push(format!(
            "first: {} (each runs unless already deployed and healthy)",
            earlier.join(", ")
        ));
    }
    let on: Vec<String> = prepared
        .switches
        .iter()
        .map(|(k, v)| format!("{k}={}", if *v { "on" } else { "off" }))
        .collect();
    if !on.is_empty() {
        out.push(format!("switches: {}", on.join(", ")));
    }
    let mut doc = PlanDoc {
        stage: target.id.clone(),
        title: target.title.clone(),
        expected_seconds: target.expected_duration.as_secs(),
        first: earlier.iter().map(|s| s.to_string()).collect(),
        switches: prepared.switches.clone().into_iter().collect(),
        stages: Vec::new(),
    };
    for s in &prepared.chain {
        let objects = prepared
            .renders
            .get(&s.stage.id)
            .cloned()
            .unwrap_or_default();
        out.push(String::new());
        out.push(format!(
            "▸ {} · {} — {} objects, expected {}",
            s.stage.id,
            s.stage.title,
            objects.len(),
            humantime::format_duration(s.stage.expected_duration)
        ));
        let is_target = s.stage.id == target.id;
        let mut steps = Vec::new();
        let rows: Vec<Vec<String>> = s
            .stage
            .steps
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let disposition = session::disposition(
                    s,
                    i,
                    is_target,
                    &prepared.selection,
                    &prepared.switches,
                    &Default::default(),
                );
                steps.push(StepDoc {
                    id: spec.id.clone(),
                    kind: spec.kind.as_str().to_owned(),
                    timeout_seconds: spec.timeout.map(|t| t.as_secs()),
                    runs: disposition.describe(),
                    what: what(spec, &objects),
                });
                vec![
                    (i + 1).to_string(),
                    spec.id.clone(),
                    spec.kind.as_str().to_owned(),
                    spec.timeout
                        .map(|t| humantime::format_duration(t).to_string())
                        .unwrap_or_else(|| "-".into()),
                    disposition.describe(),
                    what(spec, &objects),
                ]
            })
            .collect();
        doc.stages.push(StageDoc {
            id: s.stage.id.clone(),
            title: s.stage.title.clone(),
            objects: objects.len(),
            expected_seconds: s.stage.expected_duration.as_secs(),
            steps,
        });
        let header = ["#", "STEP", "KIND", "TIMEOUT", "RUNS", "WHAT"].map(String::from);
        out.extend(
            render::table(&header, &rows)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    match args.output {
        OutputFormat::Table => print_stdout(&(out.join("\n") + "\n"))?,
        format => print_stdout(&structured(format, &doc))?,
    }
    Ok(crate::exit::OK)
}

/// What a step applies or waits for, in a few words.
fn what(spec: &StepSpec, objects: &[Value]) -> String {
    let list = |items: &[String]| items.join(", ");
    let count = |components: &[String], kinds: &[String], exclude: &[String]| {
        objects
            .iter()
            .filter(|o| {
                components.is_empty()
                    || component_of(o).is_some_and(|c| components.iter().any(|x| x == c))
            })
            .filter(|o| {
                let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
                (kinds.is_empty() || kinds.iter().any(|k| k == kind))
                    && !exclude.iter().any(|k| k == kind)
            })
            .count()
    };
    match &spec.with {
        StepParams::Prereq(p) => format!("{} checks", p.checks.len()),
        StepParams::Apply(p) => {
            let n = count(&p.components, &p.kinds, &p.exclude_kinds);
            let wait = if p.wait { ", waits until ready" } else { "" };
            if p.components.is_empty() {
                format!("{}{wait}", objects_word(n))
            } else {
                format!("{} of {}{wait}", objects_word(n), list(&p.components))
            }
        }
        StepParams::WaitReady(p) => {
            let mut parts = Vec::new();
            if !p.components.is_empty() {
                parts.push(format!(
                    "{} of {}",
                    objects_word(count(&p.components, &[], &[])),
                    list(&p.components)
                ));
            }
            parts.extend(p.objects.iter().map(|o| format!("{}/{}", o.kind, o.name)));
            format!("ready: {}", parts.join(", "))
        }
        StepParams::GpuMachinesets(p) => {
            let sets: Vec<String> = p
                .machinesets
                .iter()
                .map(|m| format!("{} ({} × {} GPUs)", m.suffix, m.instance_type, m.gpus))
                .collect();
            format!("MachineSets {}", sets.join(", "))
        }
        StepParams::WaitGpu(p) if p.machinesets.is_empty() => "GPUs of every GPU MachineSet".into(),
        StepParams::WaitGpu(p) => format!("GPUs of {}", list(&p.machinesets)),
        StepParams::FreeGpus(p) => format!(
            "GPUs of changed InferenceServices of {}",
            list(&p.components)
        ),
        StepParams::WaitJobs(p) => format!("Jobs {} in {}", list(&p.jobs), p.namespace),
        StepParams::RunJob(p) => format!("Job {} in {}", p.job, p.namespace),
        StepParams::Benchmark(p) => {
            let mut text = format!("benchmark Jobs {} in {}", list(&p.jobs), p.namespace);
            if let Some(results) = &p.results {
                text.push_str(&format!(", results to ConfigMap {results}"));
            }
            if let Some(publish) = &p.publish {
                text.push_str(&format!(", then Job {}", publish.job));
                if let Some(switch) = &publish.switch {
                    text.push_str(&format!(" (needs {switch})"));
                }
            }
            text
        }
        StepParams::LmEval(p) => format!("LMEvalJobs {} in {}", list(&p.jobs), p.namespace),
        StepParams::Collections(p) => {
            let names: Vec<String> = p.collections.iter().map(|c| c.name.clone()).collect();
            format!("collections {} of {}", list(&names), p.stage)
        }
        StepParams::Patch(p) => format!("patch {}/{}", p.target.kind, p.target.name),
        StepParams::Secret(p) => {
            let keys: Vec<String> = p.data.keys().cloned().collect();
            format!("Secret {}/{} ({})", p.namespace, p.name, list(&keys))
        }
        StepParams::Summary(p) => format!("{} endpoints", p.endpoints.len()),
    }
}

fn objects_word(n: usize) -> String {
    if n == 1 {
        "1 object".to_owned()
    } else {
        format!("{n} objects")
    }
}
