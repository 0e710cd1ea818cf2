//! `AppError`: everything that can end a command early. Exit codes: `crate::exit`.

use std::path::PathBuf;

use super::inputs::InputProblem;
use crate::cluster::ClusterError;
use crate::project::ProjectError;
use crate::runner::event::ReportError;
use crate::stage::{LoadError, UnknownStage, UnknownStep};

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No project found.
    #[error(transparent)]
    Project(ProjectError),
    /// Stage files that do not load or validate (every problem is listed).
    #[error(transparent)]
    Stages(LoadError),
    /// `validate` found problems (same content as `Stages`, but the check itself failed: exit 1).
    #[error(transparent)]
    Invalid(LoadError),
    /// A stage name that names no stage.
    #[error(transparent)]
    UnknownStage(UnknownStage),
    /// A step id (`--from`, `--only`) the stage does not have.
    #[error(transparent)]
    UnknownStep(UnknownStep),
    /// The cluster could not be reached, refused us, or failed a request.
    #[error(transparent)]
    Cluster(Box<ClusterError>),
    /// A bad combination of arguments or values.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A file or folder democtl needs could not be read or written.
    #[error("cannot access `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Inputs the run needs (secrets, `.env`) are missing or malformed; nothing was changed.
    #[error("{}", inputs_message(.0))]
    Inputs(Vec<InputProblem>),
    /// The run failed; the reporters have shown why.
    #[error("the run failed")]
    RunFailed,
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
    /// A reporter could not write (not a broken pipe: that ends the process quietly).
    #[error(transparent)]
    Report(ReportError),
    /// Something else, with its context (`anyhow` chain).
    #[error("{message}")]
    Other {
        message: String,
        hint: Option<String>,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
        /// Exit code to use (see `crate::exit`).
        code: u8,
    },
}

impl AppError {
    /// A cluster failure (boxed: `ClusterError` carries evidence and is large).
    pub fn cluster(e: ClusterError) -> Self {
        AppError::Cluster(Box::new(e))
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            AppError::Project(e) => e.hint(),
            AppError::Stages(e) | AppError::Invalid(e) => e.hint(),
            AppError::Cluster(e) => e.hint(),
            AppError::UnknownStage(e) => Some(e.hint.clone()),
            AppError::UnknownStep(e) => Some(e.hint.clone()),
            AppError::Usage { hint, .. } | AppError::Other { hint, .. } => hint.clone(),
            AppError::Inputs(problems) => match problems.as_slice() {
                [one] => Some(one.hint.clone()),
                _ => Some("fix them, then run the same command again".into()),
            },
            AppError::Io { path, source } => io_hint(path, source),
            AppError::RunFailed | AppError::Interrupted | AppError::Report(_) => None,
        }
    }

    /// Whether the message still has to be printed (a failed run was already reported).
    pub fn needs_message(&self) -> bool {
        !matches!(self, AppError::RunFailed | AppError::Interrupted)
    }

    /// The evidence lines of a multi-problem error (each with its hint).
    pub fn evidence(&self) -> Vec<String> {
        match self {
            AppError::Stages(load) | AppError::Invalid(load) if load.problems.len() > 1 => load
                .problems
                .iter()
                .map(|p| match &p.hint {
                    Some(h) => format!("{p}\n  hint: {h}"),
                    None => p.to_string(),
                })
                .collect(),
            AppError::Inputs(problems) if problems.len() > 1 => problems
                .iter()
                .map(|p| format!("{}\n  hint: {}", p.message, p.hint))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>, hint: Option<String>) -> Self {
        AppError::Usage {
            message: message.into(),
            hint,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AppError::Io {
            path: path.into(),
            source,
        }
    }
}

/// What to do about a file that cannot be read or written, from the kind of failure.
fn io_hint(path: &std::path::Path, e: &std::io::Error) -> Option<String> {
    use std::io::ErrorKind;
    let path = path.display();
    Some(match e.kind() {
        ErrorKind::NotFound => {
            format!("check the path: `{path}` or a folder above it does not exist")
        }
        ErrorKind::PermissionDenied => {
            format!("check its permissions (`ls -ld {path}`): this user may not use it")
        }
        ErrorKind::IsADirectory => format!("`{path}` is a folder; a file is expected there"),
        ErrorKind::NotADirectory => format!("a part of `{path}` is a file, not a folder"),
        ErrorKind::InvalidData => format!("`{path}` is not UTF-8 text; save it as UTF-8"),
        ErrorKind::ReadOnlyFilesystem => format!("`{path}` is on a read-only file system"),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            "the disk is full: free some space and run the same command again".into()
        }
        _ => return None,
    })
}

fn inputs_message(problems: &[InputProblem]) -> String {
    match problems {
        [one] => format!("{}; nothing was changed", one.message),
        _ => format!(
            "{} inputs of the run are missing or malformed; nothing was changed",
            problems.len()
        ),
    }
}
