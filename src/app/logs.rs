//! `democtl logs`: list run logs; `democtl logs <run>|--last`: replay one through the plain
//! reporter (the same words the run printed).

use std::path::PathBuf;

use serde::Serialize;

use super::{AppError, Ctx, print_stdout, structured};
use crate::cli::{LogsArgs, OutputFormat};
use crate::report::plain::PlainReporter;
use crate::report::render;
use crate::report::replay::{self, RunLog};
use crate::runner::event::Reporter;

/// The folder run logs go to: `--log-dir`, else `<project>/logs`.
pub fn log_dir(ctx: &Ctx) -> Result<PathBuf, AppError> {
    match &ctx.global.log_dir {
        Some(dir) if dir.is_absolute() => Ok(dir.clone()),
        Some(dir) => Ok(ctx.cwd.join(dir)),
        None => Ok(ctx.project()?.logs_dir()),
    }
}

/// The run log `run` names (file name, unique prefix, run id), or the latest one.
pub fn pick(ctx: &Ctx, run: Option<&str>) -> Result<PathBuf, AppError> {
    let dir = log_dir(ctx)?;
    let files = replay::list(&dir).map_err(|e| AppError::io(&dir, e))?;
    match run {
        None => files.last().cloned().ok_or_else(|| no_runs(&dir)),
        Some(wanted) => find(&files, wanted),
    }
}

pub async fn run(ctx: &Ctx, args: LogsArgs) -> Result<u8, AppError> {
    let dir = log_dir(ctx)?;
    let files = replay::list(&dir).map_err(|e| AppError::io(&dir, e))?;
    if args.run.is_none() && !args.last {
        return list(&files, args.output);
    }
    let path = pick(ctx, args.run.as_deref())?;
    let log = RunLog::read(&path).map_err(|e| AppError::io(&path, e))?;
    if args.output != OutputFormat::Table {
        let doc = RunDoc {
            file: path.display().to_string(),
            finished: log.summary().is_some(),
            unreadable_lines: log.unreadable,
            events: &log.events,
        };
        print_stdout(&structured(args.output, &doc))?;
        return Ok(crate::exit::OK);
    }
    let mut out = Vec::new();
    // The full step table too: `logs` is where it lives now.
    let mut reporter = PlainReporter::new(&mut out, false).verbose(true);
    for event in &log.events {
        reporter.report(event).map_err(AppError::Report)?;
    }
    reporter.finish().map_err(AppError::Report)?;
    drop(reporter);
    let mut text = format!("run log {}\n", path.display());
    text.push_str(&String::from_utf8_lossy(&out));
    if log.summary().is_none() {
        text.push_str("the run did not finish: it was killed, or is still running\n");
    }
    if log.unreadable > 0 {
        text.push_str(&format!(
            "{} lines of the log could not be read (written by a newer democtl?)\n",
            log.unreadable
        ));
    }
    print_stdout(&text)?;
    Ok(crate::exit::OK)
}

/// One run as data (`logs RUN -o json|yaml`): its events exactly as the log holds them.
#[derive(Serialize)]
struct RunDoc<'a> {
    file: String,
    finished: bool,
    unreadable_lines: usize,
    events: &'a [crate::runner::event::RunEvent],
}

/// A row of `logs -o json|yaml`.
#[derive(Serialize)]
struct RunRow {
    run: String,
    file: String,
    command: String,
    /// The outcome as the table shows it (`ok`, `failed`, …), or `unfinished` / `unreadable`.
    result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_seconds: Option<f64>,
}

fn no_runs(dir: &std::path::Path) -> AppError {
    AppError::usage(
        format!("no run logs in `{}`", dir.display()),
        Some(
            "run logs are written by `deploy` and `teardown`; `--log-dir` picks another folder"
                .into(),
        ),
    )
}

/// A run by file name, stem, unique prefix of the stem, or run id.
fn find(files: &[PathBuf], wanted: &str) -> Result<PathBuf, AppError> {
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let name = |p: &PathBuf| {
        p.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if let Some(p) = files
        .iter()
        .find(|p| name(p) == wanted || stem(p) == wanted)
    {
        return Ok(p.clone());
    }
    let prefixed: Vec<&PathBuf> = files
        .iter()
        .filter(|p| stem(p).starts_with(wanted))
        .collect();
    match prefixed.as_slice() {
        [one] => return Ok((*one).clone()),
        [] => {}
        many => {
            let names: Vec<String> = many.iter().map(|p| stem(p)).collect();
            return Err(AppError::usage(
                format!("`{wanted}` matches {} runs", many.len()),
                Some(format!("be more specific: {}", names.join(", "))),
            ));
        }
    }
    for p in files {
        if let Ok(log) = RunLog::read(p)
            && log.header().is_some_and(|h| h.run_id == wanted)
        {
            return Ok(p.clone());
        }
    }
    Err(AppError::usage(
        format!("no run `{wanted}`"),
        Some("`democtl logs` lists the runs; `--last` shows the latest".into()),
    ))
}

fn list(files: &[PathBuf], format: OutputFormat) -> Result<u8, AppError> {
    let mut rows = Vec::new();
    let mut data = Vec::new();
    for path in files {
        let run = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(log) = RunLog::read(path) else {
            data.push(RunRow {
                run: run.clone(),
                file: path.display().to_string(),
                command: String::new(),
                result: "unreadable".into(),
                duration_seconds: None,
            });
            rows.push(vec![run, String::new(), "unreadable".into(), String::new()]);
            continue;
        };
        let command = log
            .header()
            .map(|h| {
                h.command_line
                    .iter()
                    .skip(1)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let (result, took, seconds) = match log.summary() {
            Some(s) => (
                render::outcome_word(&s.outcome).to_owned(),
                render::duration(s.duration),
                Some(s.duration.as_secs_f64()),
            ),
            None => ("unfinished".to_owned(), String::new(), None),
        };
        data.push(RunRow {
            run: run.clone(),
            file: path.display().to_string(),
            command: command.clone(),
            result: result.clone(),
            duration_seconds: seconds,
        });
        rows.push(vec![run, command, result, took]);
    }
    if format != OutputFormat::Table {
        print_stdout(&structured(format, &data))?;
        return Ok(crate::exit::OK);
    }
    let text = if rows.is_empty() {
        "no runs yet\n".to_owned()
    } else {
        let lines = render::table(
            &[
                "RUN".into(),
                "COMMAND".into(),
                "RESULT".into(),
                "TIME".into(),
            ],
            &rows,
        );
        lines.join("\n") + "\n"
    };
    print_stdout(&text)?;
    Ok(crate::exit::OK)
}
