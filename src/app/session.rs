//! What `deploy` and `plan` (and `teardown`) share: switch values, step selection
//! (`--from`/`--only`/`--resume`), the resume command, the run-log file, the reporters and the
//! signal handler (Ctrl-C, SIGTERM, SIGHUP).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use std::sync::OnceLock;

use indicatif::MultiProgress;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

use super::{AppError, Ctx};
use crate::cluster::lease;
use crate::report::history::Expectations;
use crate::report::html::FilesReporter;
use crate::report::jsonl::{self, JsonlReporter};
use crate::report::screen::Files;
use crate::report::{Fanout, Mode, plain::PlainReporter, tty::TtyReporter};
use crate::runner::event::{ErrorReport, Reporter, RunHeader};
use crate::runner::{Disposition, ResumeCommand};
use crate::stage::{LoadedStage, StageSet, StepSpec, suggest};

/// Switch values of a run: stage defaults, then `--<switch>`/`--no-<switch>`, then `--set-switch`.
pub fn switches(
    stages: &StageSet,
    flags: &BTreeMap<String, bool>,
    set: &[(String, bool)],
) -> Result<BTreeMap<String, bool>, AppError> {
    let declared = stages.switches();
    let mut values: BTreeMap<String, bool> = declared
        .iter()
        .map(|s| (s.name.clone(), s.default))
        .collect();
    let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
    for (name, value) in flags
        .iter()
        .map(|(k, v)| (k, *v))
        .chain(set.iter().map(|(k, v)| (k, *v)))
    {
        if !values.contains_key(name) {
            let hint = match suggest::closest(name, names.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None if names.is_empty() => "the stage files declare no switches".to_owned(),
                None => format!("the switches are {}", suggest::list(&names)),
            };
            return Err(AppError::usage(
                format!("unknown switch `{name}`"),
                Some(hint),
            ));
        }
        values.insert(name.clone(), value);
    }
    Ok(values)
}

/// `--from`/`--only` for the target stage.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub from: Option<(usize, String)>,
    pub only: Option<(usize, String)>,
}

impl Selection {
    /// Checks the step ids against the stage ("did you mean" when unknown).
    pub fn new(
        stage: &LoadedStage,
        from: Option<&str>,
        only: Option<&str>,
    ) -> Result<Selection, AppError> {
        let find = |id: &str| {
            stage
                .step_index(id)
                .map(|i| (i, id.to_owned()))
                .map_err(AppError::UnknownStep)
        };
        Ok(Selection {
            from: from.map(find).transpose()?,
            only: only.map(find).transpose()?,
        })
    }
}

impl Selection {
    /// `--only ID` / `--from ID`, when one was given.
    pub fn flag(&self) -> Option<String> {
        match (&self.only, &self.from) {
            (Some((_, id)), _) => Some(format!("--only {id}")),
            (None, Some((_, id))) => Some(format!("--from {id}")),
            (None, None) => None,
        }
    }
}

/// Whether step `index` of `stage` runs, and why not.
pub fn disposition(
    stage: &LoadedStage,
    index: usize,
    is_target: bool,
    selection: &Selection,
    switches: &BTreeMap<String, bool>,
    completed: &BTreeSet<String>,
) -> Disposition {
    let step: &StepSpec = &stage.stage.steps[index];
    if is_target {
        if let Some((only, id)) = &selection.only
            && *only != index
        {
            return Disposition::Skip(format!("--only {id}"));
        }
        if let Some((from, id)) = &selection.from
            && index < *from
        {
            return Disposition::Skip(format!("before --from {id}"));
        }
    }
    if let Some(switch) = &step.switch
        && switches.get(switch) == Some(&false)
    {
        return Disposition::Skip(format!("--no-{switch}"));
    }
    if completed.contains(&step.id) {
        return Disposition::Skip("done in an earlier run (--resume)".to_owned());
    }
    Disposition::Run
}

/// The global flags that pick the cluster and project, for commands we print.
pub fn command_prefix(ctx: &Ctx) -> String {
    let mut parts = vec!["democtl".to_owned()];
    if ctx.global.sim {
        parts.push("--sim".into());
        if let Some(speed) = ctx.global.sim_speed {
            parts.push(format!("--sim-speed {speed}"));
        }
    }
    if let Some(k) = &ctx.global.kubeconfig {
        parts.push(format!(
            "--kubeconfig {}",
            shell_word(&k.display().to_string())
        ));
    }
    if let Some(c) = &ctx.global.context {
        parts.push(format!("--context {}", shell_word(c)));
    }
    if let Some(p) = &ctx.global.project_dir {
        parts.push(format!(
            "--project-dir {}",
            shell_word(&p.display().to_string())
        ));
    }
    parts.join(" ")
}

/// Switch flags that differ from the defaults (`--no-benchmarks`).
pub fn switch_flags(stages: &StageSet, switches: &BTreeMap<String, bool>) -> String {
    let mut out = String::new();
    for s in stages.switches() {
        match switches.get(&s.name) {
            Some(&v) if v != s.default => {
                out.push_str(if v { " --" } else { " --no-" });
                out.push_str(&s.name);
            }
            _ => {}
        }
    }
    out
}

/// The command to run after a failure or Ctrl-C: `democtl deploy stage1 --from wait-models`,
/// then the target if it is another stage. The step is the failed (or interrupted) one, unless
/// the error names a secret variable (`HF_TOKEN`) that an earlier `secret` step stores: then
/// that step, so the fix the hint asks for is picked up. After a dry run: the same dry run.
pub fn resume_command(
    ctx: &Ctx,
    stages: &StageSet,
    target: &str,
    switches: &BTreeMap<String, bool>,
    dry_run: bool,
) -> ResumeCommand {
    let prefix = command_prefix(ctx);
    let flags = switch_flags(stages, switches);
    let target = target.to_owned();
    let typed = typed_command(ctx);
    // (stage, step, index, variables) of every secret step, in deploy order.
    let order: Vec<(String, Vec<String>)> = stages
        .stages()
        .iter()
        .map(|s| {
            (
                s.stage.id.clone(),
                s.stage.steps.iter().map(|st| st.id.clone()).collect(),
            )
        })
        .collect();
    let secret_steps: Vec<(String, String, Vec<String>)> = stages
        .stages()
        .iter()
        .flat_map(|s| {
            s.stage.steps.iter().filter_map(|st| match &st.with {
                crate::stage::params::StepParams::Secret(p) => Some((
                    s.stage.id.clone(),
                    st.id.clone(),
                    p.data.values().map(|src| src.env.clone()).collect(),
                )),
                _ => None,
            })
        })
        .collect();
    Arc::new(
        move |stage: &str, step: &str, error: Option<&ErrorReport>| {
            if dry_run {
                return typed.clone();
            }
            let position = |stage: &str, step: &str| {
                order.iter().enumerate().find_map(|(i, (id, steps))| {
                    (id == stage).then(|| (i, steps.iter().position(|s| s == step).unwrap_or(0)))
                })
            };
            let failed_at = position(stage, step);
            let (stage, step) = error
                .and_then(|error| {
                    let text = error_text(error);
                    secret_steps.iter().find(|(st, sp, vars)| {
                        let before = match (position(st, sp), failed_at) {
                            (Some(a), Some(b)) => a <= b,
                            _ => false,
                        };
                        before && vars.iter().any(|v| mentions(&text, v))
                    })
                })
                .map_or((stage, step), |(st, sp, _)| (st.as_str(), sp.as_str()));
            let first = format!("{prefix} deploy {stage} --from {step}{flags}");
            if stage == target {
                first
            } else {
                format!("{first} && {prefix} deploy {target}{flags}")
            }
        },
    )
}

/// Message, causes and hint of an error, as one text to search.
fn error_text(error: &ErrorReport) -> String {
    let mut text = error.message.clone();
    for part in error.chain.iter().chain(error.hint.iter()) {
        text.push('\n');
        text.push_str(part);
    }
    text
}

/// Whether `text` names the variable `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The command line as typed, `democtl` first, each word shell-quoted (secrets redacted).
pub fn typed_command(ctx: &Ctx) -> String {
    let mut words = vec!["democtl".to_owned()];
    words.extend(
        ctx.command_line
            .iter()
            .skip(1)
            .map(|a| shell_word(&crate::runner::sensitive::redact(a))),
    );
    words.join(" ")
}

fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The reporters of a run: the terminal's and the JSON-lines log. Returns the log's path and
/// the spinners' handle (to pause them for a prompt).
pub struct Reporters {
    pub fanout: Fanout,
    pub log_path: PathBuf,
    pub progress: Option<MultiProgress>,
}

/// Creates `logs/<UTC>-<command>-<stage>.jsonl` and the terminal reporter for the mode.
pub fn reporters(ctx: &Ctx, command: &str, stage: Option<&str>) -> Result<Reporters, AppError> {
    let dir = super::logs::log_dir(ctx)?;
    let now = jiff::Timestamp::now();
    let mut path = dir.join(jsonl::file_name(now, command, stage));
    for n in 2.. {
        if !path.exists() {
            break;
        }
        let stem = jsonl::file_name(now, command, stage)
            .trim_end_matches(".jsonl")
            .to_owned();
        path = dir.join(format!("{stem}-{n}.jsonl"));
    }
    let log = JsonlReporter::create(&path).map_err(|e| AppError::io(&path, e))?;
    // The result screen names the run log and the HTML report beside it (`logs/<run>/`).
    let report = FilesReporter::report_path(&path);
    let shown = |p: &std::path::Path| p.strip_prefix(&ctx.cwd).unwrap_or(p).display().to_string();
    let files = Files {
        log: Some(shown(&path)),
        report: Some(shown(&report)),
    };
    let verbose = ctx.output.verbose > 0;
    // Progress and diagnostics on stderr, the result (verdict, endpoints, files) on stdout, as
    // kubectl and cargo do; on a terminal showing both, the result stays in the live screen.
    let stdout = || Box::new(std::io::stdout()) as Box<dyn std::io::Write + Send>;
    let (terminal, progress): (Box<dyn Reporter>, Option<MultiProgress>) = match ctx.output.mode {
        Mode::Tty => {
            let multi = MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
            let _ = SPINNERS.set(multi.clone());
            let mut tty = TtyReporter::with_multi(multi.clone(), ctx.output.color, true)
                .expected(Expectations::learn(&dir))
                .files(files);
            if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                tty = tty.results(stdout());
            }
            (Box::new(tty), Some(multi))
        }
        Mode::Plain => (
            Box::new(
                PlainReporter::new(std::io::stderr(), false)
                    .verbose(verbose)
                    .files(files)
                    .results(stdout()),
            ),
            None,
        ),
        Mode::Quiet => (
            Box::new(
                PlainReporter::new(std::io::stderr(), true)
                    .files(files)
                    .results(stdout()),
            ),
            None,
        ),
    };
    let html = FilesReporter::new(&path.with_extension(""));
    Ok(Reporters {
        fanout: Fanout(vec![terminal, Box::new(log), Box::new(html)]),
        log_path: path,
        progress,
    })
}

/// The run-log header.
pub fn header(
    ctx: &Ctx,
    command: &str,
    server: Option<String>,
    context: Option<String>,
    user: Option<String>,
) -> RunHeader {
    RunHeader {
        format_version: jsonl::FORMAT_VERSION,
        run_id: run_id(),
        democtl_version: env!("CARGO_PKG_VERSION").to_owned(),
        // argv[0] is wherever the binary lives; the log says what was run.
        command_line: ctx
            .command_line
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if i == 0 {
                    "democtl".to_owned()
                } else {
                    crate::runner::sensitive::redact(a).into_owned()
                }
            })
            .collect(),
        command: command.to_owned(),
        cluster_server: server,
        context,
        user,
        simulated: None,
    }
}

/// `20261125-201502-3f9a`: sortable and short enough to say aloud.
fn run_id() -> String {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{stamp}-{}", &random[..4])
}

/// A signal that interrupts a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C).
    CtrlC,
    /// SIGTERM (`timeout`, CI cancellation, systemd, `docker stop`).
    Terminate,
    /// SIGHUP (the terminal went away).
    Hangup,
}

impl Interrupt {
    /// The exit code of a run it interrupted: 128 + the signal's number, as shells report it.
    pub fn exit_code(self) -> u8 {
        match self {
            Interrupt::CtrlC => crate::exit::INTERRUPTED,
            Interrupt::Terminate => crate::exit::TERMINATED,
            Interrupt::Hangup => crate::exit::HANGUP,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Interrupt::CtrlC => "Ctrl-C",
            Interrupt::Terminate => "SIGTERM",
            Interrupt::Hangup => "SIGHUP",
        }
    }
}

/// The run's spinners, if any: the signal handler's lines go above them, not through them.
static SPINNERS: OnceLock<MultiProgress> = OnceLock::new();

fn say(text: &str) {
    match SPINNERS.get() {
        Some(spinners) => spinners.suspend(|| super::print_stderr(text)),
        None => super::print_stderr(text),
    }
}

/// The first interrupting signal this process received.
static RECEIVED: OnceLock<Interrupt> = OnceLock::new();
/// The process's one interrupt token (every command that takes it shares the handler).
static TOKEN: OnceLock<CancellationToken> = OnceLock::new();

/// The first interrupting signal received, if any.
pub fn received() -> Option<Interrupt> {
    RECEIVED.get().copied()
}

/// Cancels the returned token on the first SIGINT, SIGTERM or SIGHUP: the run stops at its next
/// safe point, writes its interrupt record, releases the cluster lock and exits 130 (143 for
/// SIGTERM, 129 for SIGHUP). A second signal skips that wind-down: it releases the cluster
/// lock within [`lease::QUICK_RELEASE_TIMEOUT`] and exits at once. Install it before taking
/// the lock, so that no signal can end the process with the lock held.
pub fn cancel_on_signals() -> CancellationToken {
    TOKEN
        .get_or_init(|| {
            let token = CancellationToken::new();
            match Signals::new() {
                Ok(signals) => {
                    tokio::spawn(on_signals(signals, token.clone()));
                }
                // Without handlers the default actions stay: the process ends, the Lease expires.
                Err(e) => tracing::warn!("cannot handle signals: {e}"),
            }
            token
        })
        .clone()
}

/// The streams of the three signals, registered once (a stream created later would miss a
/// signal that came in between).
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Interrupt {
        tokio::select! {
            _ = self.interrupt.recv() => Interrupt::CtrlC,
            _ = self.terminate.recv() => Interrupt::Terminate,
            _ = self.hangup.recv() => Interrupt::Hangup,
        }
    }
}

async fn on_signals(mut signals: Signals, token: CancellationToken) {
    let first = signals.next().await;
    let _ = RECEIVED.set(first);
    say(&format!(
        "\n{}: stopping at a safe point ({} again to stop at once)\n",
        first.name(),
        first.name()
    ));
    token.cancel();
    let second = signals.next().await;
    super::prompt::restore_terminal();
    crate::report::present::restore();
    say(&format!(
        "{}: stopping at once, releasing the cluster lock first\n",
        second.name()
    ));
    if let Err(e) = lease::release_held(lease::QUICK_RELEASE_TIMEOUT).await {
        say(&format!("warning: {e}\n"));
    }
    std::process::exit(i32::from(first.exit_code()));
}
