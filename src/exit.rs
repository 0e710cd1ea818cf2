//! Exit codes, documented in the README. One place, one match.

use crate::app::AppError;

/// Success; `status`: healthy.
pub const OK: u8 = 0;
/// A step failed.
pub const FAILED: u8 = 1;
/// Usage or configuration error (bad flag, bad stage file).
pub const USAGE: u8 = 2;
/// Cluster unreachable or unauthorised.
pub const CLUSTER: u8 = 3;
/// `status`: deployed but degraded.
pub const DEGRADED: u8 = 4;
/// `status`: not deployed.
pub const NOT_DEPLOYED: u8 = 5;
/// A confirmation was declined (`teardown` answered `n`): nothing changed.
pub const DECLINED: u8 = 6;
/// Interrupted by SIGHUP (the terminal closed).
pub const HANGUP: u8 = 129;
/// Interrupted (Ctrl-C).
pub const INTERRUPTED: u8 = 130;
/// Terminated by SIGTERM (`timeout`, CI cancellation, systemd, `docker stop`).
pub const TERMINATED: u8 = 143;

impl AppError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Project(_)
            | AppError::Stages(_)
            | AppError::UnknownStage(_)
            | AppError::UnknownStep(_)
            | AppError::Usage { .. }
            | AppError::Inputs(_)
            | AppError::Io { .. } => USAGE,
            AppError::RunFailed | AppError::Report(_) | AppError::Invalid(_) => FAILED,
            // The signal that interrupted the run picks the code (130 without one: a Ctrl-C
            // read as a key at a prompt).
            AppError::Interrupted => crate::app::session::received()
                .map_or(INTERRUPTED, crate::app::session::Interrupt::exit_code),
            AppError::Cluster(e) => e.exit_code(),
            AppError::Other { code, .. } => *code,
        }
    }
}
