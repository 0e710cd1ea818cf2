//! `democtl sim start|stop|status|kubeconfig|reset|serve|controllers`: the project's simulated
//! cluster, a background process of its own (see `sim::background`), and what `--sim` commands
//! do to find it or start it ([`ensure_running`]).

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{AppError, Ctx, print_stderr, print_stdout};
use crate::cli::{SimCommand, SimControllersArgs, SimDaemonArgs, SimResetArgs, SimServeArgs};
use crate::cluster::{Cluster, ConnectOptions, lease};
use crate::project::Project;
use crate::sim::background::{self, Liveness, Record, Stopped};
use crate::sim::embedded::{self, EmbeddedOptions};
use crate::sim::scenario::{Scenario, UserSpec};
use crate::sim::{Embedded, SimClock, world};

/// Speed of a new simulated cluster when `--sim-speed` is not given.
pub const DEFAULT_SPEED: f64 = 1.0;
/// How long a new background cluster may take to answer (a fresh seed included).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `sim stop` waits for the cluster to save and exit before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// How long a running cluster may take to answer one probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(ctx: &Ctx, command: SimCommand) -> Result<u8, AppError> {
    match command {
        SimCommand::Start(args) => start(ctx, args.scenario).await,
        SimCommand::Stop => stop(ctx).await,
        SimCommand::Status => status(ctx).await,
        SimCommand::Kubeconfig => kubeconfig(ctx),
        SimCommand::Reset(args) => reset(ctx, args).await,
        SimCommand::Serve(args) => serve(ctx, args).await,
        SimCommand::Controllers(args) => controllers(ctx, args).await,
        SimCommand::Daemon(args) => daemon(ctx, args).await,
    }
}

/// Wraps a simulator error with what democtl was doing.
fn sim_error(
    message: impl Into<String>,
    hint: Option<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> AppError {
    AppError::Other {
        message: message.into(),
        hint,
        source: Some(Box::new(source)),
        code: crate::exit::FAILED,
    }
}

fn background_error(message: impl Into<String>, e: background::BackgroundError) -> AppError {
    let hint = e.hint();
    sim_error(message, hint, e)
}

fn not_running(message: String, hint: String) -> AppError {
    AppError::Other {
        message,
        hint: Some(hint),
        source: None,
        code: crate::exit::CLUSTER,
    }
}

fn scenario(name: Option<&str>) -> Result<Scenario, AppError> {
    let name = name.unwrap_or("healthy");
    Scenario::resolve(name).map_err(|e| AppError::Other {
        message: format!("cannot load scenario `{name}`"),
        hint: e.hint(),
        source: Some(Box::new(e)),
        code: crate::exit::USAGE,
    })
}

/// `60×`, `0.5×`.
pub fn speed_label(speed: f64) -> String {
    format!("{speed}×")
}

/// `scenario healthy, 60×` (the banner's words for the simulated cluster), with the injected
/// faults and their seed when there are any.
pub fn describe(record: &Record) -> String {
    let faults = record
        .faults
        .as_deref()
        .map(|f| format!(", faults: {f}"))
        .unwrap_or_default();
    format!(
        "scenario {}, {}{faults}",
        record.scenario,
        speed_label(record.speed)
    )
}

/// The running cluster a `--sim` command (or `sim start`) uses: the project's background
/// cluster, started first when none runs (`announce`: one line on stderr says so). A cluster
/// that died, hangs or lost its port is an error with the fix, never a connection error.
pub async fn ensure_running(
    ctx: &Ctx,
    project: &Project,
    scenario_arg: Option<&str>,
    from_sim_flag: bool,
) -> Result<Record, AppError> {
    let dir = project.sim_dir();
    let scenario_asked = scenario_arg.or(ctx.global.sim_scenario.as_deref());
    let mut live = background::liveness(&dir)
        .map_err(|e| background_error("cannot read the simulated cluster's state", e))?;
    if live == Liveness::Starting {
        // Another command is starting it: wait for its record.
        live = wait_for_record(&dir, None, START_TIMEOUT, None).await?;
    }
    match live {
        Liveness::Running(record) => {
            check_matches(ctx, project, &record, scenario_asked)?;
            probe(project, &record).await?;
            Ok(record)
        }
        Liveness::Died(record) if from_sim_flag => Err(not_running(
            format!(
                "the simulated cluster stopped unexpectedly (pid {}, started {}){}",
                record.pid,
                local_time(record.started_at),
                record
                    .save_error
                    .as_deref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ),
            format!(
                "`democtl sim start` starts it again with its saved state (its log: {})",
                project.relative(&dir.join(background::LOG_FILE)).display()
            ),
        )),
        Liveness::Died(record) => {
            if super::chatty(&ctx.output) {
                print_stderr(&format!(
                    "the simulated cluster had stopped unexpectedly (pid {}); starting it again with its saved state\n",
                    record.pid
                ));
            }
            background::remove_record(&dir)
                .map_err(|e| background_error("cannot clear the old record", e))?;
            spawn(ctx, project, scenario_asked, from_sim_flag).await
        }
        Liveness::Stopped => spawn(ctx, project, scenario_asked, from_sim_flag).await,
        Liveness::Starting => Err(not_running(
            format!(
                "a process holds `{}` but the simulated cluster did not come up within {}s",
                project.relative(&dir.join(embedded::LOCK_FILE)).display(),
                START_TIMEOUT.as_secs()
            ),
            "`democtl sim stop`, then `democtl sim start`".into(),
        )),
    }
}

/// A `--sim-speed` or scenario that differs from the running cluster's is an error that says
/// how to change it (the running cluster keeps its speed: commands and `kubectl -w` beside them
/// must see one consistent clock).
fn check_matches(
    ctx: &Ctx,
    project: &Project,
    record: &Record,
    scenario: Option<&str>,
) -> Result<(), AppError> {
    if let Some(speed) = ctx.global.sim_speed
        && speed != record.speed
    {
        return Err(AppError::usage(
            format!(
                "the simulated cluster runs at {}, not {}",
                speed_label(record.speed),
                speed_label(speed)
            ),
            Some(format!(
                "leave out --sim-speed, or restart it at the new speed (its state is kept): `democtl sim stop && democtl sim start --sim-speed {speed}`"
            )),
        ));
    }
    if let Some(asked) = scenario
        && asked != record.scenario
    {
        return Err(scenario_mismatch(project, &record.scenario, asked));
    }
    Ok(())
}

fn scenario_mismatch(project: &Project, recorded: &str, asked: &str) -> AppError {
    AppError::usage(
        format!(
            "the simulated cluster in `{}` was created from scenario `{recorded}`, not `{asked}`",
            project.relative(&project.sim_dir()).display()
        ),
        Some(format!(
            "leave out the scenario, or start over with it: `democtl sim reset && democtl sim start --scenario {asked}`"
        )),
    )
}

/// Checks that the recorded server answers with its token.
async fn probe(project: &Project, record: &Record) -> Result<(), AppError> {
    let fix = "`democtl sim stop && democtl sim start` restarts it (its state is kept)".to_string();
    let opts = ConnectOptions {
        kubeconfig: Some(record.kubeconfig.clone()),
        context: None,
    };
    let cluster = Cluster::connect(&opts).await.map_err(|e| AppError::Other {
        message: format!(
            "cannot read the simulated cluster's kubeconfig `{}`",
            project.relative(&record.kubeconfig).display()
        ),
        hint: Some(fix.clone()),
        source: Some(Box::new(e)),
        code: crate::exit::CLUSTER,
    })?;
    let cluster = cluster.with_request_timeout(PROBE_TIMEOUT);
    match tokio::time::timeout(PROBE_TIMEOUT, cluster.identity()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(AppError::Other {
            message: format!(
                "the simulated cluster (pid {}) does not answer at {}",
                record.pid, record.url
            ),
            hint: Some(fix),
            source: Some(Box::new(e)),
            code: crate::exit::CLUSTER,
        }),
        Err(_) => Err(not_running(
            format!(
                "the simulated cluster (pid {}) does not answer at {} within {}s",
                record.pid,
                record.url,
                PROBE_TIMEOUT.as_secs()
            ),
            fix,
        )),
    }
}

/// Starts the background server and waits until it answers.
/// How the project's cluster is (re)started: its recorded scenario and speed, or those asked
/// for a new one.
struct Launch {
    scenario_name: String,
    /// No saved state: the cluster is created (seeded with `scenario_name`).
    new: bool,
    speed: f64,
}

/// Checks the asked scenario against the saved state (a bad one is the user's error, reported
/// here rather than in the server's log) and creates the state directory.
fn launch(ctx: &Ctx, project: &Project, scenario: Option<&str>) -> Result<Launch, AppError> {
    let dir = project.sim_dir();
    let recorded = embedded::recorded_scenario(&dir);
    if let (Some(recorded), Some(asked)) = (&recorded, scenario)
        && recorded != asked
    {
        return Err(scenario_mismatch(project, recorded, asked));
    }
    let new = recorded.is_none();
    let scenario_name = recorded
        .or_else(|| scenario.map(str::to_string))
        .unwrap_or_else(|| "healthy".into());
    if new {
        self::scenario(Some(&scenario_name))?;
    }
    let speed = ctx
        .global
        .sim_speed
        .or_else(|| embedded::recorded_speed(&dir))
        .unwrap_or(DEFAULT_SPEED);
    std::fs::create_dir_all(&dir).map_err(|e| AppError::io(&dir, e))?;
    Ok(Launch {
        scenario_name,
        new,
        speed,
    })
}

async fn spawn(
    ctx: &Ctx,
    project: &Project,
    scenario: Option<&str>,
    from_sim_flag: bool,
) -> Result<Record, AppError> {
    let dir = project.sim_dir();
    let Launch {
        scenario_name,
        new,
        speed,
    } = launch(ctx, project, scenario)?;
    if from_sim_flag && super::chatty(&ctx.output) {
        print_stderr(&format!(
            "starting the simulated cluster (scenario {scenario_name}, {}) in the background: `democtl sim status` shows it, `democtl sim stop` stops it\n",
            speed_label(speed)
        ));
    }
    let log_path = dir.join(background::LOG_FILE);
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| AppError::io(&log_path, e))?;
    let log_start = log.seek(std::io::SeekFrom::End(0)).unwrap_or(0);
    let exe = std::env::current_exe().map_err(|e| AppError::io("<democtl executable>", e))?;
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut command = std::process::Command::new(exe);
    command
        .arg("sim")
        .arg("daemon")
        .arg("--state-dir")
        .arg(&dir)
        .arg("--nonce")
        .arg(&nonce)
        .arg("--sim-speed")
        .arg(speed.to_string())
        .current_dir(project.root())
        .stdin(std::process::Stdio::null())
        .env_remove("DEMOCTL_PROJECT_DIR");
    if new {
        command.arg("--scenario").arg(&scenario_name);
    }
    let stderr = log.try_clone().map_err(|e| AppError::io(&log_path, e))?;
    command.stdout(log).stderr(stderr);
    let mut child = command
        .spawn()
        .map_err(|e| AppError::io("<democtl sim daemon>", e))?;
    let ready = wait_for_record(
        &dir,
        Some(&nonce),
        START_TIMEOUT,
        Some((&mut child, &log_path, log_start)),
    )
    .await;
    match ready? {
        Liveness::Running(record) => Ok(record),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            Err(not_running(
                format!(
                    "the simulated cluster did not come up within {}s",
                    START_TIMEOUT.as_secs()
                ),
                format!("see its log: {}", project.relative(&log_path).display()),
            ))
        }
    }
}

/// Waits for a record (with `nonce` when given). With `child`, a server that exits before its
/// record appears is an error quoting its log from `log_start`.
async fn wait_for_record(
    dir: &Path,
    nonce: Option<&str>,
    timeout: Duration,
    mut child: Option<(&mut std::process::Child, &Path, u64)>,
) -> Result<Liveness, AppError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut nonce = nonce;
    loop {
        let live = background::liveness(dir)
            .map_err(|e| background_error("cannot read the simulated cluster's state", e))?;
        match &live {
            Liveness::Running(r) if nonce.is_none_or(|n| n == r.nonce) => return Ok(live),
            Liveness::Stopped | Liveness::Died(_) if child.is_none() => return Ok(live),
            _ => {}
        }
        if let Some((process, log, from)) = child.as_mut()
            && let Ok(Some(status)) = process.try_wait()
        {
            // Another command started the cluster at the same moment and won the state
            // directory's lock: use that one.
            match background::liveness(dir) {
                Ok(Liveness::Running(_)) | Ok(Liveness::Starting) => {
                    nonce = None;
                    child = None;
                    continue;
                }
                _ => {}
            }
            let tail = log_tail(log, *from);
            return Err(AppError::Other {
                message: format!("the simulated cluster failed to start ({status}){tail}"),
                hint: Some(format!("its log: {}", log.display())),
                source: None,
                code: crate::exit::FAILED,
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(live);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The error lines the server logged since `from` (at most 5), as `:\n  line…`.
fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path)
        && f.seek(std::io::SeekFrom::Start(from)).is_ok()
    {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(5)..];
    if last.is_empty() {
        return String::new();
    }
    format!(":\n  {}", last.join("\n  "))
}

/// `sim status`'s simulated time: the cluster's clock (what it stamps objects with), and how far
/// it is behind the wall clock when it stood still while the cluster was stopped.
fn sim_time_line(record: &Record) -> String {
    let now = crate::sim::clock::rfc3339(record.cluster_now());
    let behind = record.clock_behind().as_secs();
    if behind < 1 {
        return now;
    }
    let behind = humantime::format_duration(Duration::from_secs(behind.unsigned_abs()));
    format!(
        "{now} (cluster clock, {behind} behind the wall clock: it stands still while the cluster is stopped)"
    )
}

fn local_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

async fn start(ctx: &Ctx, scenario: Option<String>) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let was_running = matches!(
        background::liveness(&project.sim_dir()),
        Ok(Liveness::Running(_))
    );
    let record = ensure_running(ctx, &project, scenario.as_deref(), false).await?;
    let kubeconfig = project.relative(&record.kubeconfig).display().to_string();
    let state = if was_running {
        "is already running"
    } else {
        "is running"
    };
    if super::chatty(&ctx.output) {
        print_stdout(&format!(
            "simulated cluster {state} at {} ({}, pid {})\nkubeconfig: {kubeconfig}\ntry: kubectl --kubeconfig {kubeconfig} get pods -A -w\nstop it with: democtl sim stop\n",
            record.url,
            describe(&record),
            record.pid,
        ))?;
    }
    Ok(crate::exit::OK)
}

async fn stop(ctx: &Ctx) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let stopped = background::stop(&project.sim_dir(), STOP_GRACE)
        .await
        .map_err(|e| background_error("cannot stop the simulated cluster", e))?;
    let text = match stopped {
        Stopped::Stopped(r) => format!(
            "simulated cluster stopped (pid {}); its state is kept: `democtl sim start` resumes it\n",
            r.pid
        ),
        Stopped::Killed(r) => format!(
            "simulated cluster killed (pid {} did not stop within {}s); its state is kept as last saved\n",
            r.pid,
            STOP_GRACE.as_secs()
        ),
        Stopped::WasDead(r) => format!(
            "the simulated cluster was not running (pid {} had stopped unexpectedly); its state is kept\n",
            r.pid
        ),
        Stopped::NotRunning => "the simulated cluster is not running\n".to_string(),
    };
    if super::chatty(&ctx.output) {
        print_stdout(&text)?;
    }
    Ok(crate::exit::OK)
}

async fn status(ctx: &Ctx) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let dir = project.sim_dir();
    let rel = |p: &Path| project.relative(p).display().to_string();
    let state_file = dir.join(embedded::STATE_FILE);
    let live = background::liveness(&dir)
        .map_err(|e| background_error("cannot read the simulated cluster's state", e))?;
    let record = match live {
        Liveness::Running(r) => r,
        Liveness::Starting => {
            print_stdout("simulated cluster: starting\n")?;
            return Ok(crate::exit::CLUSTER);
        }
        Liveness::Died(r) => {
            print_stdout(&format!(
                "simulated cluster: not running — it stopped unexpectedly (pid {}, started {}){}\n  state       {}\n  log         {}\n`democtl sim start` starts it again with its saved state\n",
                r.pid,
                local_time(r.started_at),
                r.save_error
                    .as_deref()
                    .map(|e| format!("\n  last error  {e}"))
                    .unwrap_or_default(),
                rel(&state_file),
                rel(&dir.join(background::LOG_FILE)),
            ))?;
            return Ok(crate::exit::CLUSTER);
        }
        Liveness::Stopped => {
            let saved = if state_file.exists() {
                format!(
                    "its state is kept in {} (scenario {})",
                    rel(&state_file),
                    embedded::recorded_scenario(&dir).unwrap_or_else(|| "unknown".into())
                )
            } else {
                "no state yet".to_string()
            };
            print_stdout(&format!(
                "simulated cluster: not running; {saved}\n`democtl sim start` (or any `democtl --sim …` command) starts it\n"
            ))?;
            return Ok(crate::exit::CLUSTER);
        }
    };
    let answering = probe(&project, &record).await;
    let now = jiff::Timestamp::now();
    let up = now.duration_since(record.started_at);
    let up = humantime::format_duration(Duration::from_secs(up.as_secs().max(0) as u64));
    let mut text = format!(
        "simulated cluster: running (pid {}{}) since {} ({up})\n  address     {}\n  kubeconfig  {}\n  scenario    {}\n  speed       {}\n  sim time    {}\n  objects     {}\n  state       {}\n  log         {}\n",
        record.pid,
        if record.foreground {
            ", in the foreground: democtl sim serve"
        } else {
            ""
        },
        local_time(record.started_at),
        record.url,
        rel(&record.kubeconfig),
        record.scenario,
        speed_label(record.speed),
        sim_time_line(&record),
        record.objects,
        match &record.save_error {
            None => format!("saved to {}", rel(&state_file)),
            Some(e) => format!(
                "NOT SAVED — {e}; {} holds the last good state",
                rel(&state_file)
            ),
        },
        rel(&dir.join(background::LOG_FILE)),
    );
    if let Some(faults) = &record.faults {
        text.push_str(&format!("  faults      {faults}\n"));
    }
    let code = match (&answering, &record.save_error) {
        (Err(_), _) => crate::exit::CLUSTER,
        (Ok(()), Some(_)) => crate::exit::FAILED,
        (Ok(()), None) => crate::exit::OK,
    };
    if let Err(e) = &answering {
        text.push_str(&format!("  answers     no — {e}\n"));
    }
    print_stdout(&text)?;
    answering?;
    if let Some(e) = &record.save_error {
        return Err(AppError::Other {
            message: format!("the simulated cluster cannot save its state: {e}"),
            hint: Some(format!(
                "free disk space or make `{}` writable; the server retries on its own",
                rel(&dir)
            )),
            source: None,
            code,
        });
    }
    Ok(code)
}

fn kubeconfig(ctx: &Ctx) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let dir = project.sim_dir();
    let path = dir.join(embedded::KUBECONFIG_FILE);
    let running = matches!(background::liveness(&dir), Ok(Liveness::Running(_)));
    print_stdout(&format!("{}\n", path.display()))?;
    if !running {
        print_stderr(
            "note: the simulated cluster is not running; `democtl sim start` starts it (the path stays the same)\n",
        );
    }
    Ok(crate::exit::OK)
}

async fn reset(ctx: &Ctx, args: SimResetArgs) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let dir = project.sim_dir();
    let live = background::liveness(&dir)
        .map_err(|e| background_error("cannot read the simulated cluster's state", e))?;
    if let Liveness::Running(record) = &live
        && !args.force
    {
        refuse_while_locked(&project, record).await?;
    }
    let stopped = background::stop(&dir, STOP_GRACE)
        .await
        .map_err(|e| background_error("cannot stop the simulated cluster", e))?;
    if embedded::is_served(&dir).unwrap_or(false) {
        return Err(AppError::Other {
            message: "the simulated cluster is still being served by another process".into(),
            hint: Some("`democtl sim stop`, then `democtl sim reset`".into()),
            source: None,
            code: crate::exit::FAILED,
        });
    }
    Embedded::reset(&dir).map_err(|e| {
        let hint = e.hint();
        sim_error(format!("cannot reset `{}`", dir.display()), hint, e)
    })?;
    if super::chatty(&ctx.output) {
        let what = match stopped {
            Stopped::Stopped(_) | Stopped::Killed(_) => "stopped and reset",
            _ => "reset",
        };
        print_stdout(&format!(
            "the simulated cluster in `{}` is {what}; the next `democtl sim start` or `democtl --sim …` creates a new one\n",
            project.relative(&dir).display()
        ))?;
    }
    Ok(crate::exit::OK)
}

/// Refuses while a deploy or teardown holds the cluster lock, naming the holder.
async fn refuse_while_locked(project: &Project, record: &Record) -> Result<(), AppError> {
    probe(project, record).await?;
    let opts = ConnectOptions {
        kubeconfig: Some(record.kubeconfig.clone()),
        context: None,
    };
    let cluster = Cluster::connect(&opts).await.map_err(AppError::cluster)?;
    match lease::current_holder(&cluster).await {
        Ok(None) => Ok(()),
        Ok(Some(locked)) => Err(AppError::Other {
            message: format!("refusing to reset the simulated cluster: {locked}"),
            hint: Some(
                "wait for that run to finish, or `democtl sim reset --force` (that run then fails)"
                    .into(),
            ),
            source: None,
            code: crate::exit::FAILED,
        }),
        Err(e) => Err(AppError::Other {
            message: "cannot check the cluster lock before resetting".into(),
            hint: Some("`democtl sim reset --force` resets without checking".into()),
            source: Some(Box::new(e)),
            code: crate::exit::FAILED,
        }),
    }
}

/// `sim daemon`: the background server (stdout/stderr go to `server.log`).
async fn daemon(ctx: &Ctx, args: SimDaemonArgs) -> Result<u8, AppError> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEMOCTL_SIM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,democtl::sim=info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
    let options = EmbeddedOptions {
        scenario: args.scenario,
        speed: ctx.global.sim_speed,
        tls: true,
    };
    let dir: PathBuf = args.state_dir;
    background::serve(
        &dir,
        &options,
        &args.nonce,
        background::Mode::Detached,
        CancellationToken::new(),
        |_| {},
    )
    .await
    .map_err(|e| {
            tracing::error!(error = %background::error_chain(&e), "the simulated cluster stopped with an error");
            background_error("the simulated cluster failed", e)
        })?;
    Ok(crate::exit::OK)
}

/// `sim serve`: the project's cluster in the foreground, the same server `sim start` runs in
/// the background (its state, record and kubeconfig, so `--sim` commands and `sim status` use
/// it); `--ephemeral` / `--no-controllers`: a throwaway one.
async fn serve(ctx: &Ctx, args: SimServeArgs) -> Result<u8, AppError> {
    if args.ephemeral || args.no_controllers {
        return serve_ephemeral(ctx, args).await;
    }
    let project = ctx.project().map_err(|e| match e {
        AppError::Project(e) => AppError::usage(
            e.to_string(),
            Some(format!(
                "{}; or serve a throwaway cluster: `democtl sim serve --ephemeral --kubeconfig-out FILE`",
                e.hint().unwrap_or_default()
            )),
        ),
        other => other,
    })?;
    let dir = project.sim_dir();
    match background::liveness(&dir)
        .map_err(|e| background_error("cannot read the simulated cluster's state", e))?
    {
        Liveness::Running(r) => {
            return Err(AppError::usage(
                format!(
                    "the simulated cluster already runs (pid {}, at {})",
                    r.pid, r.url
                ),
                Some(
                    "use it as it is (`democtl sim kubeconfig`), or `democtl sim stop` first"
                        .into(),
                ),
            ));
        }
        Liveness::Starting => {
            return Err(AppError::usage(
                "the simulated cluster is starting in another process".to_string(),
                Some("`democtl sim status` shows it once it runs".into()),
            ));
        }
        Liveness::Died(_) => background::remove_record(&dir)
            .map_err(|e| background_error("cannot clear the old record", e))?,
        Liveness::Stopped => {}
    }
    let scenario_asked = args
        .scenario
        .as_deref()
        .or(ctx.global.sim_scenario.as_deref());
    let launch = launch(ctx, &project, scenario_asked)?;
    let options = EmbeddedOptions {
        scenario: launch.new.then(|| launch.scenario_name.clone()),
        speed: Some(launch.speed),
        tls: true,
    };
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut shown: Result<(), AppError> = Ok(());
    let out = args.kubeconfig_out.clone();
    let served = background::serve(
        &dir,
        &options,
        &nonce,
        background::Mode::Foreground,
        CancellationToken::new(),
        |record| {
            shown = show_served(&project, record, out.as_deref());
        },
    )
    .await;
    served.map_err(|e| background_error("the simulated cluster failed", e))?;
    shown?;
    Ok(crate::exit::OK)
}

/// What `sim serve` prints once the project's cluster answers.
fn show_served(project: &Project, record: &Record, out: Option<&Path>) -> Result<(), AppError> {
    let kubeconfig = match out {
        Some(out) => {
            std::fs::copy(&record.kubeconfig, out).map_err(|e| AppError::io(out, e))?;
            out.display().to_string()
        }
        None => project.relative(&record.kubeconfig).display().to_string(),
    };
    print_stdout(&format!(
        "simulated cluster at {} ({}, pid {}), in the foreground\nkubeconfig: {kubeconfig}\ntry: kubectl --kubeconfig {kubeconfig} get pods -A -w\n`democtl --sim …` commands use it; Ctrl-C stops it (its state is kept)\n",
        record.url,
        describe(record),
        record.pid,
    ))
}

/// `sim serve --ephemeral`: a cluster in memory for kubectl, gone at Ctrl-C.
async fn serve_ephemeral(ctx: &Ctx, args: SimServeArgs) -> Result<u8, AppError> {
    let Some(kubeconfig_out) = args.kubeconfig_out.clone() else {
        return Err(AppError::usage(
            "a throwaway cluster needs `--kubeconfig-out FILE`".to_string(),
            Some("`democtl sim serve --ephemeral --kubeconfig-out /tmp/sim.kubeconfig`".into()),
        ));
    };
    let scenario = scenario(args.scenario.as_deref())?;
    let mut config = scenario.server_config();
    if args.no_controllers && scenario.cluster.user == UserSpec::default() {
        // A bare kube-apiserver's admin credential is in `system:masters` (as OpenShift's
        // installer kubeconfig, `system:admin`); kube:admin, the OAuth login, is an OpenShift
        // user bound through `system:cluster-admins`. A scenario's own user is kept.
        config.user = "system:admin".into();
        config.groups = vec!["system:masters".into(), "system:authenticated".into()];
    }
    config.clock = SimClock::new(ctx.global.sim_speed.unwrap_or(DEFAULT_SPEED));
    // kubectl/oc (client-go) send the bearer token only over TLS.
    config.tls = true;
    // Starts and seeds (through an unrestricted server first when the scenario restricts the user).
    let server = crate::sim::start_seeded(config, &scenario)
        .await
        .map_err(|e| {
            let hint = e.hint();
            sim_error("cannot start the simulated cluster", hint, e)
        })?;
    server.write_kubeconfig(&kubeconfig_out).map_err(|e| {
        let hint = e.hint();
        sim_error(
            format!("cannot write `{}`", kubeconfig_out.display()),
            hint,
            e,
        )
    })?;
    let client = server
        .internal_client()
        .map_err(|e| sim_error("cannot build a client for the simulator", None, e))?;
    let cancel = CancellationToken::new();
    let world_cancel = cancel.clone();
    let clock = server.clock().clone();
    let world_scenario = scenario.clone();
    let run_world = !args.no_controllers;
    let controllers = tokio::spawn(async move {
        if run_world {
            world::run(client, &world_scenario, clock, world_cancel).await
        } else {
            Ok(())
        }
    });
    print_stdout(&format!(
        "throwaway simulated cluster at {} (scenario {}), not persisted\nkubeconfig written to {}\ntry: kubectl --kubeconfig {} get nodes\nCtrl-C stops it\n",
        server.url(),
        args.scenario.as_deref().unwrap_or("healthy"),
        kubeconfig_out.display(),
        kubeconfig_out.display(),
    ))?;
    let _ = tokio::signal::ctrl_c().await;
    cancel.cancel();
    let _ = controllers.await;
    server
        .shutdown()
        .await
        .map_err(|e| sim_error("cannot stop the simulated API server cleanly", None, e))?;
    Ok(crate::exit::OK)
}

async fn controllers(ctx: &Ctx, args: SimControllersArgs) -> Result<u8, AppError> {
    let scenario = scenario(args.scenario.as_deref())?;
    let opts = crate::cluster::ConnectOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
    };
    let cluster = crate::cluster::Cluster::connect(&opts)
        .await
        .map_err(AppError::cluster)?;
    cluster.identity().await.map_err(AppError::cluster)?;
    let client = cluster.client().clone();
    world::seed(client.clone(), &scenario).await.map_err(|e| {
        let hint = e.hint();
        sim_error("cannot seed the cluster", hint, e)
    })?;
    if super::chatty(&ctx.output) {
        print_stderr(&format!(
            "playing the simulated controllers against {} (Ctrl-C stops)\n",
            cluster.server()
        ));
    }
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    world::run(
        client,
        &scenario,
        SimClock::new(ctx.global.sim_speed.unwrap_or(DEFAULT_SPEED)),
        cancel,
    )
    .await
    .map_err(|e| {
        let hint = e.hint();
        sim_error("the simulated controllers stopped", hint, e)
    })?;
    Ok(crate::exit::OK)
}
