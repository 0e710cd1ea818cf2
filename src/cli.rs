//! clap types only: no I/O, no logic beyond turning the stage files' switches into flags.
//!
//! Parsing happens in two stages (ripgrep's LowArgs → HiArgs): this file holds what the user
//! typed; `crate::app` resolves it together with the stage files into a plan.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{ArgAction, ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// Deploy the Private AI demo on OpenShift AI, or rehearse it on a simulated cluster.
#[derive(Debug, Parser)]
#[command(name = "democtl", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts (before or after the command name).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The project folder (holding `stages/` and `gitops/`); default: found from the current
    /// directory upward.
    #[arg(long, global = true, value_name = "DIR", env = "DEMOCTL_PROJECT_DIR")]
    pub project_dir: Option<PathBuf>,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config; `oc login` tokens work).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// How long to wait for one API request before giving up on it, as kubectl's flag: `30s`,
    /// `1m`, or plain seconds; `0` waits forever. Default 30s.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_request_timeout)]
    pub request_timeout: Option<std::time::Duration>,
    /// Use the project's simulated cluster (a background process, started first when none
    /// runs; state under `<project>/.democtl/sim/`).
    #[arg(long, global = true, conflicts_with_all = ["kubeconfig", "context"])]
    pub sim: bool,
    /// Speed of simulated time when the simulated cluster starts (`60`: a simulated minute per
    /// second; default 1); a running cluster keeps its speed.
    #[arg(long, global = true, value_name = "FACTOR", value_parser = parse_speed)]
    pub sim_speed: Option<f64>,
    /// Scenario of the simulated cluster (used when its state is first created).
    #[arg(long, global = true, value_name = "NAME")]
    pub sim_scenario: Option<String>,
    /// Where run logs go (default: `<project>/logs`).
    #[arg(long, global = true, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// No colours (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Never prompt: take defaults, fail when a value is missing.
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// More detail: one line per event instead of spinners, and diagnostics (`-vv`).
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors and the final result.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Deploy a stage (and every earlier stage that is not deployed and healthy).
    Deploy(DeployArgs),
    /// Show the steps a deploy would run, what each applies and waits for, expected durations.
    Plan(PlanArgs),
    /// Show what is deployed and how healthy it is (exit 0 healthy, 4 degraded, 5 not deployed).
    Status(StatusArgs),
    /// Remove a stage and every later stage, newest first (or everything with `--all`).
    Teardown(TeardownArgs),
    /// List run logs, or summarise one.
    Logs(LogsArgs),
    /// Play a recorded run through the terminal view, with its timing (the fallback when the
    /// live cluster fails on the day).
    Replay(ReplayArgs),
    /// Check every stage file and render every overlay, offline (`--images`: and ask the
    /// registries whether every image exists).
    Validate(ValidateArgs),
    /// Print the objects of an overlay directory or a stage, like `kustomize build`.
    Render(RenderArgs),
    /// The simulated cluster on its own.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Print a shell completion script (`democtl completions bash > /etc/bash_completion.d/democtl`).
    Completions(CompletionsArgs),
}

/// `democtl completions <shell>`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

impl Command {
    /// The command's name, as used in run-log file names.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Deploy(_) => "deploy",
            Command::Plan(_) => "plan",
            Command::Status(_) => "status",
            Command::Teardown(_) => "teardown",
            Command::Logs(_) => "logs",
            Command::Replay(_) => "replay",
            Command::Validate(_) => "validate",
            Command::Render(_) => "render",
            Command::Sim(_) => "sim",
            Command::Completions(_) => "completions",
        }
    }
}

/// `democtl deploy <stage>`.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// Stage to deploy: `stage1`, `1` or its slug (`sovereign-ai`).
    pub stage: String,
    /// Start at this step (earlier steps of the stage are skipped).
    #[arg(long, value_name = "STEP", conflicts_with = "only")]
    pub from: Option<String>,
    /// Run only this step.
    #[arg(long, value_name = "STEP")]
    pub only: Option<String>,
    /// Server-side dry run: nothing changes; shows what would.
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the steps the last unfinished run of this stage completed.
    #[arg(long, conflicts_with_all = ["from", "only"])]
    pub resume: bool,
    /// Take over objects of the demo's names that exist without democtl's ownership (another
    /// team's, an older install): their previous values are recorded and teardown restores them.
    /// Without it, democtl stops at such an object naming it and its manager.
    #[arg(long)]
    pub adopt: bool,
    /// Set a feature switch: `--set-switch benchmarks=false` (same as `--no-benchmarks`).
    #[arg(long, value_name = "NAME=BOOL", value_parser = parse_switch)]
    pub set_switch: Vec<(String, bool)>,
    /// Full-screen view for a projector: steps, narration, progress, cluster panel (needs a
    /// terminal). The run log is written as always.
    #[arg(long)]
    pub present: bool,
    /// With `--present`: wait for a key before each stage or step (space goes on, `q` stops).
    #[arg(long, value_enum, value_name = "WHEN", requires = "present")]
    pub pause: Option<Pause>,
    /// Switches given as `--<name>` / `--no-<name>` (filled from the matches; see [`with_switches`]).
    #[arg(skip)]
    pub switches: BTreeMap<String, bool>,
}

/// Where `--pause` waits for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pause {
    /// Before each stage.
    Stage,
    /// Before each step.
    Step,
}

impl From<Pause> for crate::report::present::PauseAt {
    fn from(p: Pause) -> Self {
        match p {
            Pause::Stage => crate::report::present::PauseAt::Stage,
            Pause::Step => crate::report::present::PauseAt::Step,
        }
    }
}

/// `democtl plan <stage>`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Stage to plan: `stage1`, `1` or its slug.
    pub stage: String,
    /// Start at this step.
    #[arg(long, value_name = "STEP", conflicts_with = "only")]
    pub from: Option<String>,
    /// Only this step.
    #[arg(long, value_name = "STEP")]
    pub only: Option<String>,
    /// Set a feature switch: `--set-switch benchmarks=false`.
    #[arg(long, value_name = "NAME=BOOL", value_parser = parse_switch)]
    pub set_switch: Vec<(String, bool)>,
    /// Output format (`json`/`yaml`: the plan as data, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[arg(skip)]
    pub switches: BTreeMap<String, bool>,
}

/// `democtl status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Refresh in place until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
}

/// Output formats of `status`, `plan`, `logs` and `teardown --dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

/// `democtl teardown`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["stage", "all"])))]
pub struct TeardownArgs {
    /// Remove this stage and every later one: `3`, `stage3` or its slug.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Remove every stage.
    #[arg(long)]
    pub all: bool,
    /// Show what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Remove stuck finalizers after the timeout.
    #[arg(long)]
    pub force: bool,
    /// Also delete the demo's data (PostgreSQL's volume claim; objects annotated
    /// `democtl.io/data`), which teardown keeps otherwise.
    #[arg(long)]
    pub delete_data: bool,
    /// Output format of `--dry-run` (`json`/`yaml`: the plan as data, for scripts).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// `democtl logs`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// A run: its file name, a unique prefix of it, or its run id.
    #[arg(conflicts_with = "last")]
    pub run: Option<String>,
    /// The most recent run.
    #[arg(long)]
    pub last: bool,
    /// Output format (`json`/`yaml`: the list of runs, or the run's events as recorded).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// `democtl replay`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["run", "last"])))]
pub struct ReplayArgs {
    /// A run: its file name, a unique prefix of it, or its run id (`democtl logs` lists them).
    pub run: Option<String>,
    /// The most recent run.
    #[arg(long)]
    pub last: bool,
    /// Play this many times faster than recorded (`10`: a 10-minute wait in a minute).
    #[arg(long, default_value_t = 1.0, value_parser = parse_replay_speed)]
    pub speed: f64,
    /// Compress every pause longer than this to this (`5s`; after the speed-up).
    #[arg(long, value_name = "DURATION", value_parser = parse_gap)]
    pub max_gap: Option<std::time::Duration>,
    /// The full-screen presenter view (as `deploy --present`), marked as a replay.
    #[arg(long)]
    pub present: bool,
    /// With `--present`: wait for a key before each stage or step (space goes on, `q` stops).
    #[arg(long, value_enum, value_name = "WHEN", requires = "present")]
    pub pause: Option<Pause>,
}

/// Parses `--speed` of `replay`: a finite number above 0.
fn parse_replay_speed(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "the speed must be a finite number above 0 (`10`: ten times faster), got `{text}`"
        )),
    }
}

/// Parses `--max-gap`: `5s`, `500ms`, `1m`.
fn parse_gap(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("expected a duration such as `5s` or `500ms`, got `{text}`: {e}"))
}

/// `democtl render`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Also resolve every image the overlays name against its registry (needs the network; a
    /// registry that cannot be reached is reported as not checked, not as missing).
    #[arg(long)]
    pub images: bool,
    /// How long to wait for each registry request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration, requires = "images")]
    pub registry_timeout: std::time::Duration,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// A kustomization directory, or a stage (`stage1`, `1`, slug) to render its overlay.
    pub target: String,
}

/// `democtl sim …`.
#[derive(Debug, Clone, Subcommand)]
pub enum SimCommand {
    /// Start the project's simulated cluster in the background (kept running until `sim stop`).
    Start(SimStartArgs),
    /// Stop the project's simulated cluster (its state is saved and kept).
    Stop,
    /// Whether the simulated cluster runs: since when, scenario, speed, simulated time, objects
    /// (exit 0 running, 3 not running, 1 running but its state cannot be saved).
    Status,
    /// Print the path of the simulated cluster's kubeconfig (`export KUBECONFIG=$(democtl sim kubeconfig)`).
    Kubeconfig,
    /// Stop the simulated cluster and forget its state (refused while a deploy or teardown runs).
    Reset(SimResetArgs),
    /// Run the project's simulated cluster in the foreground until Ctrl-C: the same cluster
    /// `sim start` runs in the background (`--ephemeral`: a throwaway one).
    Serve(SimServeArgs),
    /// Play the simulated controllers against another API server (`--kubeconfig FILE`).
    Controllers(SimControllersArgs),
    /// The background server itself (started by `sim start`).
    #[command(hide = true)]
    Daemon(SimDaemonArgs),
}

/// `democtl sim start`.
#[derive(Debug, Clone, Args)]
pub struct SimStartArgs {
    /// Scenario for a new cluster (built-in name or file; default `healthy`).
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: Option<String>,
}

/// `democtl sim reset`.
#[derive(Debug, Clone, Args)]
pub struct SimResetArgs {
    /// Reset even while a deploy or teardown holds the cluster lock (that run then fails).
    #[arg(long)]
    pub force: bool,
}

/// `democtl sim daemon` (internal).
#[derive(Debug, Clone, Args)]
pub struct SimDaemonArgs {
    /// The state directory.
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Identifies this start (recorded, and checked before `sim stop` signals the process).
    #[arg(long)]
    pub nonce: String,
    /// Scenario for a new cluster.
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: Option<String>,
}

/// `democtl sim serve`.
#[derive(Debug, Clone, Args)]
pub struct SimServeArgs {
    /// Also write the kubeconfig here (required with `--ephemeral`).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Scenario (built-in name or file; for the project's cluster, only when it is created).
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: Option<String>,
    /// A throwaway cluster in memory instead of the project's: not persisted, not seen by
    /// `--sim` commands (a test bed for kubectl and scripts).
    #[arg(long, requires = "kubeconfig_out")]
    pub ephemeral: bool,
    /// Serve the API only, like a bare kube-apiserver: no simulated operators, schedulers or
    /// kubelets (the namespace, garbage-collector, service-account and root-CA controllers
    /// still run), and the kubeconfig's user is `system:admin` in `system:masters` (unless the
    /// scenario names a user). Pair it with `democtl sim controllers` to play them from another
    /// process. Implies `--ephemeral`.
    #[arg(long, requires = "kubeconfig_out")]
    pub no_controllers: bool,
}

/// `democtl sim controllers`.
#[derive(Debug, Clone, Args)]
pub struct SimControllersArgs {
    /// Scenario (built-in name or file).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
}

/// Largest `--sim-speed`: beyond it a simulated hour passes in under 40 ms and the simulated
/// controllers cannot keep up with their own deadlines.
pub const MAX_SIM_SPEED: f64 = 100_000.0;

/// Parses `--sim-speed`: a finite number above 0 (and at most [`MAX_SIM_SPEED`]).
/// `--request-timeout`: kubectl's forms — a plain number of seconds, or a duration with a unit
/// (`30s`, `1m`, `1h`); `0` means no timeout (an effectively unbounded one).
pub fn parse_request_timeout(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let parsed = match text.parse::<u64>() {
        Ok(secs) => Ok(std::time::Duration::from_secs(secs)),
        Err(_) => humantime::parse_duration(text)
            .map_err(|_| format!("expected a duration such as `30s`, `1m` or `45`, got `{text}`")),
    }?;
    // No timeout: a year is as good as forever for one request.
    Ok(if parsed.is_zero() {
        std::time::Duration::from_secs(365 * 24 * 3600)
    } else {
        parsed
    })
}

pub fn parse_speed(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("expected a number such as `60`, got `{text}`"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!(
            "the speed must be a finite number above 0 (`60`: a simulated minute per second), got `{text}`"
        ));
    }
    if value > MAX_SIM_SPEED {
        return Err(format!(
            "the speed must be at most {MAX_SIM_SPEED}, got `{text}`"
        ));
    }
    Ok(value)
}

/// Parses `name=true|false` for `--set-switch`.
fn parse_switch(text: &str) -> Result<(String, bool), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected `NAME=true` or `NAME=false`, got `{text}`"))?;
    let value = match value {
        "true" | "on" | "yes" | "1" => true,
        "false" | "off" | "no" | "0" => false,
        other => {
            return Err(format!(
                "expected `true` or `false` after `=`, got `{other}`"
            ));
        }
    };
    Ok((name.to_owned(), value))
}

/// A switch the stage files declare, as a flag pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchFlag {
    pub name: String,
    pub default: bool,
    pub description: String,
}

/// Adds `--<name>` / `--no-<name>` to `deploy` and `plan` for each switch the stage files declare.
pub fn with_switches(mut command: clap::Command, switches: &[SwitchFlag]) -> clap::Command {
    for sub in ["deploy", "plan"] {
        command = command.mut_subcommand(sub, |mut sub| {
            for switch in switches {
                // A switch whose name clashes with a built-in flag cannot be offered as a flag;
                // `validate` reports it, and `--set-switch` still works.
                if sub
                    .get_arguments()
                    .any(|a| a.get_long() == Some(switch.name.as_str()))
                {
                    continue;
                }
                let default = if switch.default { "on" } else { "off" };
                sub = sub
                    .arg(
                        clap::Arg::new(switch_id(&switch.name))
                            .long(switch.name.clone())
                            .action(ArgAction::SetTrue)
                            .help(format!("{} (default: {default})", switch.description))
                            .help_heading("Switches"),
                    )
                    .arg(
                        clap::Arg::new(no_switch_id(&switch.name))
                            .long(format!("no-{}", switch.name))
                            .action(ArgAction::SetTrue)
                            .conflicts_with(switch_id(&switch.name))
                            .hide(true),
                    );
            }
            sub
        });
    }
    command
}

/// Reads the switch flags back from the matches of `deploy`/`plan`.
pub fn switches_from(
    matches: &clap::ArgMatches,
    switches: &[SwitchFlag],
) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    for switch in switches {
        let on = matches
            .try_get_one::<bool>(&switch_id(&switch.name))
            .ok()
            .flatten()
            .copied();
        let off = matches
            .try_get_one::<bool>(&no_switch_id(&switch.name))
            .ok()
            .flatten()
            .copied();
        if on == Some(true) {
            out.insert(switch.name.clone(), true);
        } else if off == Some(true) {
            out.insert(switch.name.clone(), false);
        }
    }
    out
}

/// Global flags a command has no use for, kept out of its `--help` (they are still accepted,
/// as everywhere, so a flag put before or after any command never fails).
const UNUSED_GLOBALS: &[(&[&str], &[&str])] = &[
    (
        &["validate", "render", "replay"],
        &[
            "kubeconfig",
            "context",
            "request_timeout",
            "sim",
            "sim_speed",
            "sim_scenario",
            "yes",
        ],
    ),
    (
        &["completions"],
        &[
            "project_dir",
            "kubeconfig",
            "context",
            "request_timeout",
            "sim",
            "sim_speed",
            "sim_scenario",
            "log_dir",
            "yes",
        ],
    ),
    (
        &["sim start", "sim serve"],
        &[
            "kubeconfig",
            "context",
            "request_timeout",
            "sim",
            "sim_scenario",
            "log_dir",
            "yes",
        ],
    ),
    (
        &["sim controllers"],
        &["sim", "sim_scenario", "log_dir", "yes"],
    ),
    (
        &["sim stop", "sim status", "sim kubeconfig", "sim reset"],
        &[
            "kubeconfig",
            "context",
            "request_timeout",
            "sim",
            "sim_speed",
            "sim_scenario",
            "log_dir",
            "yes",
        ],
    ),
];

/// Hides, in each subcommand's help, the global flags it does not use (`sim serve --help`
/// shows no `--kubeconfig` beside its `--kubeconfig-out`): the subcommand gets its own hidden
/// copy of the flag, which clap's propagation of global flags then leaves in place.
pub fn trim_help(mut command: clap::Command) -> clap::Command {
    let globals: Vec<clap::Arg> = command.get_arguments().cloned().collect();
    for (paths, hidden) in UNUSED_GLOBALS {
        for path in *paths {
            let names: Vec<&str> = path.split(' ').collect();
            command = mut_path(command, &names, &|mut sub: clap::Command| {
                for arg in globals
                    .iter()
                    .filter(|a| hidden.contains(&a.get_id().as_str()))
                {
                    sub = sub.arg(arg.clone().hide(true));
                }
                sub
            });
        }
    }
    command
}

fn mut_path(
    command: clap::Command,
    path: &[&str],
    f: &dyn Fn(clap::Command) -> clap::Command,
) -> clap::Command {
    match path.split_first() {
        None => f(command),
        Some((first, rest)) => command.mut_subcommand(*first, |sub| mut_path(sub, rest, f)),
    }
}

fn switch_id(name: &str) -> String {
    format!("switch:{name}")
}

fn no_switch_id(name: &str) -> String {
    format!("switch:no-{name}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let switches = [SwitchFlag {
            name: "benchmarks".into(),
            default: true,
            description: "Run the GuideLLM benchmarks".into(),
        }];
        let matches =
            trim_help(with_switches(Cli::command(), &switches)).try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        if let Command::Deploy(deploy) = &mut cli.command {
            let sub = matches.subcommand_matches("deploy").unwrap();
            deploy.switches = switches_from(sub, &switches);
        }
        Ok(cli)
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
        trim_help(with_switches(Cli::command(), &[])).debug_assert();
    }

    fn help(path: &[&str]) -> String {
        let mut command = trim_help(Cli::command());
        command.build();
        let mut sub = &mut command;
        for name in path {
            sub = sub.find_subcommand_mut(name).unwrap();
        }
        sub.render_long_help().to_string()
    }

    #[test]
    fn help_lists_global_flags_once_under_a_heading_and_only_where_they_apply() {
        let deploy = help(&["deploy"]);
        assert!(deploy.contains("Global options:"), "{deploy}");
        assert!(deploy.contains("--kubeconfig"), "{deploy}");
        assert_eq!(deploy.matches("--project-dir").count(), 1, "{deploy}");
        let serve = help(&["sim", "serve"]);
        assert!(serve.contains("--kubeconfig-out"), "{serve}");
        assert!(!serve.contains("--kubeconfig <"), "{serve}");
        assert!(!serve.contains("--sim-scenario"), "{serve}");
        assert!(!serve.contains("  --sim "), "{serve}");
        assert!(serve.contains("--sim-speed"), "{serve}");
        let controllers = help(&["sim", "controllers"]);
        assert!(controllers.contains("--kubeconfig <"), "{controllers}");
        // Hidden from help, still accepted.
        assert!(parse(&["democtl", "sim", "status", "--kubeconfig", "x"]).is_ok());
    }

    #[test]
    fn deploy_switches_become_flags() {
        let cli = parse(&["democtl", "deploy", "1", "--no-benchmarks"]).unwrap();
        let Command::Deploy(deploy) = cli.command else {
            panic!("not deploy")
        };
        assert_eq!(deploy.switches.get("benchmarks"), Some(&false));
        let cli = parse(&[
            "democtl",
            "deploy",
            "1",
            "--benchmarks",
            "--set-switch",
            "x=off",
        ])
        .unwrap();
        let Command::Deploy(deploy) = cli.command else {
            panic!("not deploy")
        };
        assert_eq!(deploy.switches.get("benchmarks"), Some(&true));
        assert_eq!(deploy.set_switch, vec![("x".to_owned(), false)]);
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = parse(&["democtl", "status", "--sim", "-o", "json", "-q"]).unwrap();
        assert!(cli.global.sim && cli.global.quiet);
    }

    #[test]
    fn teardown_needs_stage_or_all() {
        assert!(parse(&["democtl", "teardown"]).is_err());
        assert!(parse(&["democtl", "teardown", "--stage", "2", "--all"]).is_err());
        assert!(parse(&["democtl", "teardown", "--all", "--dry-run"]).is_ok());
    }

    #[test]
    fn sim_speed_must_be_finite_and_positive() {
        for bad in ["0", "NaN", "-5", "inf", "-inf", "fast", "1e9"] {
            let arg = format!("--sim-speed={bad}");
            let err = parse(&["democtl", "--sim", &arg, "status"]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{bad}: {err}");
        }
        let cli = parse(&["democtl", "status", "--sim-speed", "0.5"]).unwrap();
        assert_eq!(cli.global.sim_speed, Some(0.5));
        assert_eq!(
            parse(&["democtl", "status"]).unwrap().global.sim_speed,
            None
        );
    }

    #[test]
    fn set_switch_rejects_bad_values() {
        let err = parse(&["democtl", "deploy", "1", "--set-switch", "x=maybe"]).unwrap_err();
        assert!(
            err.to_string().contains("expected `true` or `false`"),
            "{err}"
        );
    }
}
