//! Commands: resolve arguments and stage files into a plan, connect, pick reporters, run.
//! The only layer that prompts, reads `.env` or the environment for secrets, and decides
//! exit codes. One file per command.

mod deploy;
pub mod env_file;
mod error;
mod inputs;
mod logs;
mod plan;
mod prompt;
mod render;
mod replay;
pub mod secrets;
pub(crate) mod session;
mod sim;
mod state;
mod status;
mod target;
mod teardown;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use error::AppError;

use crate::cli::{self, Cli, Command, SwitchFlag};
use crate::project::Project;
use crate::report::{Mode, Output};
use crate::runner::event::ErrorReport;
use crate::stage::StageSet;

/// What every command gets: the global flags, where it runs, the terminal settings.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub global: cli::GlobalArgs,
    pub cwd: PathBuf,
    pub output: Output,
    /// The command line as typed (for the run-log header).
    pub command_line: Vec<String>,
}

impl Ctx {
    /// The project (from `--project-dir` or the current directory upward).
    pub fn project(&self) -> Result<Project, AppError> {
        Project::find(self.global.project_dir.as_deref(), &self.cwd).map_err(AppError::Project)
    }

    /// Every stage file, loaded and validated.
    pub fn stages(&self, project: &Project) -> Result<StageSet, AppError> {
        StageSet::load(project.root()).map_err(AppError::Stages)
    }
}

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let switches = prescan_switches(&args, &cwd);
    let matches = match cli::trim_help(cli::with_switches(Cli::command(), &switches))
        .try_get_matches_from(&args)
    {
        Ok(matches) => matches,
        Err(e) => return clap_exit(&e),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    match &mut cli.command {
        Command::Deploy(args) => {
            if let Some(sub) = matches.subcommand_matches("deploy") {
                args.switches = cli::switches_from(sub, &switches);
            }
        }
        Command::Plan(args) => {
            if let Some(sub) = matches.subcommand_matches("plan") {
                args.switches = cli::switches_from(sub, &switches);
            }
        }
        _ => {}
    }
    let output = Output::detect(cli.global.no_color, cli.global.quiet, cli.global.verbose);
    if cli.global.verbose >= 2 {
        // `-vv`: diagnostics (kube's HTTP requests, democtl's debug events) on stderr.
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,democtl=debug,kube=debug")
        });
        // Colour only where the reporters use it (a terminal, no --no-color/NO_COLOR):
        // never escape codes in a pipe or a CI log.
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(output.color)
            .with_env_filter(filter)
            .try_init();
    }
    let ctx = Ctx {
        global: cli.global.clone(),
        cwd,
        output,
        command_line: args,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let error = AppError::Other {
                message: "cannot start the async runtime".into(),
                hint: None,
                source: Some(Box::new(e)),
                code: crate::exit::FAILED,
            };
            print_error(&error, &output);
            return ExitCode::from(error.exit_code());
        }
    };
    let result = runtime.block_on(dispatch(cli.command, &ctx));
    // Background tasks (the embedded simulator, watches) must not hold the process open.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if error.needs_message() {
                print_error(&error, &output);
            }
            ExitCode::from(error.exit_code())
        }
    }
}

async fn dispatch(command: Command, ctx: &Ctx) -> Result<u8, AppError> {
    match command {
        Command::Validate(args) => validate::run(ctx, &args).await,
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Replay(args) => replay::run(ctx, args).await,
        Command::Deploy(args) => deploy::run(ctx, args).await,
        Command::Plan(args) => plan::run(ctx, args).await,
        Command::Teardown(args) => teardown::run(ctx, args).await,
        Command::Sim(command) => sim::run(ctx, command).await,
        Command::Status(args) => status::run(ctx, args).await,
        Command::Render(args) => render::run(ctx, args).await,
        Command::Completions(args) => completions(args),
    }
}

/// `democtl completions <shell>`: clap_complete's script for the whole command tree, on stdout.
fn completions(args: cli::CompletionsArgs) -> Result<u8, AppError> {
    let mut command = cli::trim_help(Cli::command());
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "democtl", &mut script);
    print_stdout(&String::from_utf8_lossy(&script))?;
    Ok(crate::exit::OK)
}

/// Prints clap's message; usage errors exit 2, `--help`/`--version` exit 0.
fn clap_exit(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    ExitCode::from(if error.use_stderr() {
        crate::exit::USAGE
    } else {
        crate::exit::OK
    })
}

/// The switches the stage files declare, for `--<switch>`/`--no-<switch>`. Problems are ignored
/// here: the command itself reports them.
fn prescan_switches(args: &[String], cwd: &Path) -> Vec<SwitchFlag> {
    let explicit = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--project-dir" {
            args.get(i + 1).map(PathBuf::from)
        } else {
            a.strip_prefix("--project-dir=").map(PathBuf::from)
        }
    });
    let explicit = explicit.or_else(|| std::env::var_os("DEMOCTL_PROJECT_DIR").map(PathBuf::from));
    let Ok(project) = Project::find(explicit.as_deref(), cwd) else {
        return Vec::new();
    };
    let (set, _) = StageSet::load_all(project.root());
    set.switches()
        .into_iter()
        .map(|s| SwitchFlag {
            name: s.name,
            default: s.default,
            description: s.description,
        })
        .collect()
}

/// An error as a report: message, cause chain, hint, and (for stage files) every problem.
pub fn error_report(error: &AppError) -> ErrorReport {
    // `transparent` variants share the message of their first source; `chain_of` drops it.
    let message = error.to_string();
    let chain = ErrorReport::chain_of(error, &message);
    let evidence = error.evidence();
    ErrorReport {
        message,
        chain,
        hint: error.hint(),
        evidence,
        transient: false,
    }
}

/// Prints a top-level error to stderr (`-q` too: errors are always shown).
pub fn print_error(error: &AppError, output: &Output) {
    let report = error_report(error);
    let lines = crate::report::render::error_lines(&report, "  ");
    let mut stderr = std::io::stderr().lock();
    for (i, line) in lines.iter().enumerate() {
        let line = if i == 0 && output.color {
            let rest = line.strip_prefix("error:").unwrap_or(line);
            format!(
                "{}{rest}",
                console::style("error:").red().bold().force_styling(true)
            )
        } else {
            line.clone()
        };
        if writeln!(stderr, "{line}").is_err() {
            return;
        }
    }
}

/// Writes command output to stdout; a closed pipe (`democtl render 1 | head`) ends the process
/// quietly with success, as ripgrep does.
pub fn print_stdout(text: &str) -> Result<(), AppError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(AppError::io("<stdout>", e)),
    }
}

/// `value` as pretty JSON or YAML (`-o json|yaml`), ending in a newline.
pub fn structured(format: crate::cli::OutputFormat, value: &impl serde::Serialize) -> String {
    use crate::cli::OutputFormat;
    match format {
        OutputFormat::Yaml => serde_saphyr::to_string(value).unwrap_or_default(),
        OutputFormat::Json | OutputFormat::Table => {
            serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
        }
    }
}

/// Writes human notes to stderr; a closed stderr is not worth failing for.
pub fn print_stderr(text: &str) {
    let text = crate::report::layout::fit_terminal_lines(text);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Whether human chatter (not results) should be shown.
pub fn chatty(output: &Output) -> bool {
    output.mode != Mode::Quiet
}
