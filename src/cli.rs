//! clap types only: no I/O, no logic.

use clap::Parser;

/// Deploy the Private AI demo on OpenShift AI.
#[derive(Debug, Parser)]
#[command(name = "democtl", version)]
pub struct Cli {}
