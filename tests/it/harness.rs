//! The `Demo` builder: a project in a temporary folder (empty, or a copy of the repository's
//! own `stages/` and `gitops/`), the real `democtl` binary run in it, and its results: exit
//! code, stdout, stderr and the events of the run log it wrote.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use democtl::report::replay::{self, RunLog};
use democtl::runner::event::RunEvent;
use democtl::sim::{background, embedded};

/// A project to run democtl in.
pub struct Demo {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What one democtl invocation did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Demo {
    /// An empty project (`stages/` and `gitops/` exist, nothing in them).
    pub fn empty() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("stages")).unwrap();
        std::fs::create_dir_all(dir.path().join("gitops")).unwrap();
        Demo {
            dir,
            env: Vec::new(),
        }
    }

    /// A copy of the repository's own stage files and gitops tree.
    pub fn repo() -> Demo {
        let demo = Demo::empty();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&root.join("stages"), &demo.path().join("stages"));
        copy_dir(&root.join("gitops"), &demo.path().join("gitops"));
        demo
    }

    /// Writes a file (parents created).
    pub fn file(self, path: &str, text: &str) -> Demo {
        let path = self.dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Sets an environment variable for every run.
    pub fn env(mut self, key: &str, value: &str) -> Demo {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `democtl args…` in the project (plain output: not a terminal, NO_COLOR).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.dir.path(), args)
    }

    /// `program` set up as democtl runs here (in `cwd`, the project's environment), e.g.
    /// `script` to give democtl a terminal.
    pub fn command_in(
        &self,
        cwd: &Path,
        program: impl AsRef<std::ffi::OsStr>,
    ) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.current_dir(cwd)
            .env_remove("KUBECONFIG")
            .env_remove("DEMOCTL_PROJECT_DIR")
            .env_remove("HF_TOKEN")
            // CI machines set `CI=true`, which turns the live view into plain lines (as
            // `Output::detect` means it to): the tests choose the view themselves.
            .env_remove("CI")
            .env("NO_COLOR", "1")
            .env("HOME", self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs in another folder.
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let mut cmd = self.command_in(cwd, assert_cmd::cargo::cargo_bin("democtl"));
        cmd.args(args);
        let output = assert_cmd::Command::from_std(cmd).output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The run logs written so far, oldest first.
    pub fn logs(&self) -> Vec<PathBuf> {
        replay::list(&self.dir.path().join("logs")).unwrap()
    }

    /// The events of the latest run log.
    pub fn last_events(&self) -> Vec<RunEvent> {
        let path = self.logs().pop().expect("no run log");
        RunLog::read(&path).unwrap().events
    }
}

impl Run {
    /// Fails with everything printed when the exit code is not `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Stops the project's background simulated cluster when the test ends, pass or fail (see
/// [`stop_sim`]).
pub struct StopSim<'a>(pub &'a Demo);

impl Drop for StopSim<'_> {
    fn drop(&mut self) {
        stop_sim(self.0);
    }
}

/// Stops the project's background simulated cluster (`sim stop`, then SIGKILL if it still
/// serves) and, unless the test is already failing, asserts that nothing serves the project
/// any more: no test leaves a process behind.
pub fn stop_sim(demo: &Demo) {
    let dir = demo.path().join(".democtl/sim");
    let served = || embedded::is_served(&dir).unwrap_or(false);
    let pid = background::read_record(&dir).ok().flatten().map(|r| r.pid);
    let _ = demo.run(&["sim", "stop"]);
    if served()
        && let Some(pid) = pid
    {
        let _ = std::process::Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .status();
        // The kernel releases the process's file lock once it is gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while served() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    if !std::thread::panicking() {
        assert!(!served(), "a simulated cluster process was left running");
    }
}

/// A child process of the test, killed (and reaped) on drop unless it was waited for: an
/// assertion that fails while it runs leaves nothing behind.
pub struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    pub fn new(child: Child) -> KillOnDrop {
        KillOnDrop(Some(child))
    }

    /// Waits for the child to exit and collects its output.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        self.0.take().unwrap().wait_with_output()
    }

    /// Kills the child and collects what it printed (for watchers such as `kubectl -w`).
    pub fn kill_with_output(mut self) -> std::io::Result<Output> {
        let mut child = self.0.take().unwrap();
        let _ = child.kill();
        child.wait_with_output()
    }
}

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().unwrap()
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
