//! Commands: resolve arguments and stage files into a plan, connect, pick reporters, run.

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::from(crate::exit::OK)
}
