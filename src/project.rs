//! Finds the project root (the folder holding `stages/` and `gitops/`) from the current directory
//! upward, like cargo finds `Cargo.toml`. Knows the project's layout; reads nothing else.

use std::path::{Path, PathBuf};

/// A democtl project: the folder holding `stages/` and `gitops/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    root: PathBuf,
}

/// No project where one was expected.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// `--project-dir` names a folder without `stages/` and `gitops/`.
    #[error("`{}` is not a democtl project (it needs `stages/` and `gitops/`)", dir.display())]
    NotAProject { dir: PathBuf },
    /// Nothing found from the current directory upward.
    #[error("no democtl project in `{}` or any parent folder", start.display())]
    NotFound { start: PathBuf },
}

impl ProjectError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        Some(
            "run democtl inside the demo repository (the folder holding `stages/` and `gitops/`), \
             or pass `--project-dir DIR`"
                .to_owned(),
        )
    }
}

impl Project {
    /// `explicit` (from `--project-dir`) must be a project; otherwise searches `start` and its
    /// parents.
    pub fn find(explicit: Option<&Path>, start: &Path) -> Result<Project, ProjectError> {
        if let Some(dir) = explicit {
            let dir = absolute(dir, start);
            return if is_project(&dir) {
                Ok(Project { root: dir })
            } else {
                Err(ProjectError::NotAProject { dir })
            };
        }
        let start = absolute(start, start);
        start
            .ancestors()
            .find(|dir| is_project(dir))
            .map(|dir| Project {
                root: dir.to_path_buf(),
            })
            .ok_or(ProjectError::NotFound { start })
    }

    /// A project at `root`, unchecked (tests, `render <dir>`).
    pub fn at(root: impl Into<PathBuf>) -> Project {
        Project { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn stages_dir(&self) -> PathBuf {
        self.root.join("stages")
    }

    pub fn gitops_dir(&self) -> PathBuf {
        self.root.join("gitops")
    }

    /// Default run-log folder.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// State of the embedded simulated cluster.
    pub fn sim_dir(&self) -> PathBuf {
        self.root.join(".democtl").join("sim")
    }

    /// Secrets for the secret step (KEY=VALUE lines; never committed).
    pub fn env_file(&self) -> PathBuf {
        self.root.join(".env")
    }

    /// A path relative to the project root, for messages.
    pub fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}

fn is_project(dir: &Path) -> bool {
    dir.join("stages").is_dir() && dir.join("gitops").is_dir()
}

fn absolute(path: &Path, base: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("stages")).unwrap();
        std::fs::create_dir_all(dir.path().join("gitops/overlays")).unwrap();
        dir
    }

    #[test]
    fn finds_the_project_upward() {
        let dir = project();
        let found = Project::find(None, &dir.path().join("gitops/overlays")).unwrap();
        assert_eq!(found.root(), dir.path());
    }

    #[test]
    fn explicit_dir_must_be_a_project() {
        let dir = project();
        let err = Project::find(Some(&dir.path().join("gitops")), Path::new("/")).unwrap_err();
        assert!(matches!(err, ProjectError::NotAProject { .. }), "{err}");
        assert!(Project::find(Some(dir.path()), Path::new("/")).is_ok());
    }

    #[test]
    fn nothing_found_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Project::find(None, dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "no democtl project in `{}` or any parent folder",
                dir.path().display()
            )
        );
    }
}
