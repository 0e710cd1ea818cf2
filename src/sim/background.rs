//! The background simulated cluster: one long-lived process per state directory
//! (`<project>/.democtl/sim/`) serving an [`Embedded`] cluster over HTTPS, like a `kind` or
//! `minikube` cluster started once. `democtl sim start` (or the first `democtl --sim …`) spawns
//! it; every other command is an ordinary client of it through its kubeconfig.
//!
//! The process writes `server.json` ([`Record`]: pid, a per-start nonce, address, scenario,
//! speed, an anchor of the cluster's clock, object count, save health) once it answers, rewrites
//! it when the counts change, and removes it on a clean stop. Whether it runs is decided by the
//! state directory's `lock` file, which the serving process holds for its whole life (the kernel
//! releases it when the process dies, whatever the cause), never by a pid alone: a recycled pid
//! cannot pass for the cluster, and `stop` signals a pid only after checking the nonce in its
//! command line. Never prints (the serving process logs through `tracing`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::embedded::{self, Embedded, EmbeddedError, EmbeddedOptions};
use super::persist;

/// The record of the serving process, under the state directory.
pub const RECORD_FILE: &str = "server.json";
/// The serving process's stdout/stderr, under the state directory (appended to).
pub const LOG_FILE: &str = "server.log";

/// What the serving process tells its clients (`server.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The serving process.
    pub pid: u32,
    /// Random per start, also on the process's command line (`--nonce`): proves a pid is ours.
    pub nonce: String,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The kubeconfig it wrote.
    pub kubeconfig: PathBuf,
    /// The scenario it was seeded with (name or path).
    pub scenario: String,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// The injected API faults with their seed (so a failing rehearsal can be replayed with
    /// `api.seed`); `None` without faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<String>,
    /// When it started (wall clock).
    pub started_at: Timestamp,
    /// The cluster's clock at `clock_wall` (what the server stamps objects with; it runs at one
    /// second per second while the cluster runs and stands still while it is stopped, so it is
    /// behind the wall clock by the time the cluster was stopped).
    pub clock_sim: Timestamp,
    /// A wall-clock instant (see `clock_sim`).
    pub clock_wall: Timestamp,
    /// Objects in the cluster at `updated_at`.
    pub objects: usize,
    /// Why saving the state keeps failing (the state file then holds the last good state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_error: Option<String>,
    /// When the record was last written.
    pub updated_at: Timestamp,
    /// Served in the foreground by `sim serve` (a terminal's process), not by `sim start`.
    #[serde(default)]
    pub foreground: bool,
    /// The serving process's start time (`/proc/PID/stat`, clock ticks since boot): with the
    /// pid, names the process even where its command line carries no nonce (`sim serve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
}

impl Record {
    /// The cluster's clock now (from the recorded anchor): the time the server would stamp an
    /// object with. Every reader of the simulated cluster's time uses it — `sim status` and the
    /// clock democtl measures readiness grace periods with — so it compares like with like: a
    /// `creationTimestamp` the server just stamped is "just now", whatever the speed.
    pub fn cluster_now(&self) -> Timestamp {
        cluster_time_at(self.clock_sim, self.clock_wall, Timestamp::now())
    }

    /// How far the cluster's clock is behind the wall clock: the time it was stopped (constant
    /// while it runs).
    pub fn clock_behind(&self) -> SignedDuration {
        self.clock_wall.duration_since(self.clock_sim)
    }
}

/// The cluster's clock at wall-clock `at`, for a cluster whose clock showed `sim` at `wall`
/// (one second per second: the speed scales simulated processes, not the clock).
pub fn cluster_time_at(sim: Timestamp, wall: Timestamp, at: Timestamp) -> Timestamp {
    sim.checked_add(at.duration_since(wall)).unwrap_or(sim)
}

/// Whether the background cluster of a state directory runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Liveness {
    /// Nothing serves it, and it was stopped cleanly (or never started).
    Stopped,
    /// A process serves it and has written its record.
    Running(Record),
    /// A process holds the lock but has written no record yet (starting, or not a background
    /// server: `sim serve`-style use of the directory by a test or another tool).
    Starting,
    /// Its record is there but no process serves it: it died without stopping (killed, crashed).
    Died(Record),
}

/// Errors of the background cluster's lifecycle.
#[derive(Debug, thiserror::Error)]
pub enum BackgroundError {
    /// A file under the state directory could not be read or written.
    #[error("failed to access `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `server.json` is not a record.
    #[error("`{path}` is not a record of the simulated cluster")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// Starting or serving the cluster failed.
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    /// The recorded pid is not the serving process.
    #[error(
        "process {pid} is not the simulated cluster recorded in `{record}` (neither its command line nor its start time match the record)"
    )]
    NotOurs {
        /// The pid.
        pid: u32,
        /// The record file.
        record: PathBuf,
    },
    /// Signalling the process failed.
    #[error("cannot signal process {pid}")]
    Signal {
        /// The pid.
        pid: u32,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The process did not exit after SIGTERM and SIGKILL.
    #[error("process {pid} did not exit within {waited:?}")]
    StillRunning {
        /// The pid.
        pid: u32,
        /// How long we waited.
        waited: Duration,
    },
    /// Not supported on this platform.
    #[error("the background simulated cluster needs a Unix system")]
    Unsupported,
}

impl BackgroundError {
    /// A hint for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            BackgroundError::Embedded(e) => e.hint(),
            BackgroundError::BadRecord { path, .. } => Some(format!(
                "delete `{}` (the cluster's state is kept in state.json)",
                path.display()
            )),
            BackgroundError::NotOurs { record, .. } => Some(format!(
                "the cluster died and its pid was reused; delete `{}` and run `democtl sim start`",
                record.display()
            )),
            BackgroundError::StillRunning { pid, .. } => Some(format!("`kill -9 {pid}`")),
            _ => None,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackgroundError + '_ {
    move |source| BackgroundError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads `server.json` (`None` when there is none).
pub fn read_record(state_dir: &Path) -> Result<Option<Record>, BackgroundError> {
    read_record_attempt(state_dir, 0)
}

fn read_record_attempt(state_dir: &Path, attempt: u32) -> Result<Option<Record>, BackgroundError> {
    let path = state_dir.join(RECORD_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(BackgroundError::Io { path, source }),
    };
    match serde_json::from_slice(&text) {
        Ok(record) => Ok(Some(record)),
        // Caught mid-rewrite (the in-place fallback of `write_record`): read it again.
        Err(_) if attempt < 3 => {
            std::thread::sleep(Duration::from_millis(20));
            read_record_attempt(state_dir, attempt + 1)
        }
        Err(source) => Err(BackgroundError::BadRecord { path, source }),
    }
}

/// Writes the record atomically; where the directory refuses new files (read-only, full) it is
/// rewritten in place, so that the reason (a failing save) still reaches the clients.
fn write_record(state_dir: &Path, record: &Record) -> Result<(), BackgroundError> {
    let path = state_dir.join(RECORD_FILE);
    let text = serde_json::to_vec_pretty(record).map_err(|source| BackgroundError::BadRecord {
        path: path.clone(),
        source,
    })?;
    persist::write_atomic(&path, &text)
        .or_else(|atomic| {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&path)
                .map_err(|_| atomic)?;
            file.write_all(&text)?;
            file.sync_all()
        })
        .map_err(io(&path))
}

/// Removes `server.json` (missing is fine).
pub fn remove_record(state_dir: &Path) -> Result<(), BackgroundError> {
    let path = state_dir.join(RECORD_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackgroundError::Io { path, source }),
    }
}

/// Whether the background cluster of `state_dir` runs (see [`Liveness`]).
pub fn liveness(state_dir: &Path) -> Result<Liveness, BackgroundError> {
    // The record first: a server that exits between the two reads is then seen as died or
    // stopped, never as running without a record.
    let record = read_record(state_dir)?;
    let served = embedded::is_served(state_dir)?;
    Ok(match (served, record) {
        (true, Some(r)) => Liveness::Running(r),
        (true, None) => Liveness::Starting,
        (false, Some(r)) => Liveness::Died(r),
        (false, None) => Liveness::Stopped,
    })
}

/// How [`serve`] runs the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The background process of `sim start`: leaves the terminal's session first.
    Detached,
    /// `sim serve`: stays in the terminal, which stops it with Ctrl-C.
    Foreground,
}

/// Runs the cluster in this process until SIGTERM, SIGINT or `stop`: starts the cluster under
/// `state_dir`, writes the record (with `nonce`), calls `ready` with it, refreshes it every
/// second while something changed, then stops the cluster (saving it) and removes the record.
pub async fn serve(
    state_dir: &Path,
    options: &EmbeddedOptions,
    nonce: &str,
    mode: Mode,
    stop: CancellationToken,
    ready: impl FnOnce(&Record),
) -> Result<(), BackgroundError> {
    if mode == Mode::Detached {
        detach();
    }
    let sim = Embedded::start_with(state_dir, options).await?;
    let started_at = Timestamp::now();
    let process_start = process_start(std::process::id());
    let snapshot = |sim: &Embedded| Record {
        pid: std::process::id(),
        nonce: nonce.to_string(),
        url: sim.url(),
        kubeconfig: sim.kubeconfig_path().to_path_buf(),
        scenario: sim.scenario_name().to_string(),
        speed: sim.clock().speed(),
        faults: sim.faults(),
        started_at,
        clock_sim: sim.clock().now(),
        clock_wall: Timestamp::now(),
        objects: sim.object_count(),
        save_error: sim.save_error(),
        updated_at: Timestamp::now(),
        foreground: mode == Mode::Foreground,
        process_start,
    };
    let mut written = snapshot(&sim);
    if let Err(e) = write_record(state_dir, &written) {
        let _ = sim.shutdown().await;
        return Err(e);
    }
    ready(&written);
    tracing::info!(url = %written.url, scenario = %written.scenario, speed = written.speed, pid = written.pid, "simulated cluster serving");
    let signals = signals(stop.clone());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = snapshot(&sim);
        if now.objects != written.objects || now.save_error != written.save_error {
            match write_record(state_dir, &now) {
                Ok(()) => written = now,
                Err(e) => tracing::warn!(error = %e, "cannot update the server record"),
            }
        }
    }
    signals.abort();
    tracing::info!("stopping the simulated cluster");
    let saved = sim.shutdown().await;
    match saved {
        Ok(()) => {
            remove_record(state_dir)?;
            tracing::info!("simulated cluster stopped; state saved");
            Ok(())
        }
        Err(e) => {
            // The record stays, with the reason: the next command reports a cluster that
            // did not stop cleanly, and why.
            let mut failed = written;
            failed.save_error = Some(error_chain(&e));
            let _ = write_record(state_dir, &failed);
            Err(e.into())
        }
    }
}

/// `error: cause: cause`, for records and logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Leaves the terminal's session, so the terminal's Ctrl-C or hang-up do not reach the server.
fn detach() {
    #[cfg(unix)]
    if let Err(e) = rustix::process::setsid() {
        // Already a session leader (started by hand): nothing to leave.
        tracing::debug!(error = %e, "setsid");
    }
}

/// Cancels `stop` on SIGTERM or SIGINT.
fn signals(stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        stop.cancel();
    })
}

/// Whether process `pid` is the one that wrote `record`: its command line holds the nonce
/// (`sim start`), or it started at the recorded moment (`sim serve`, whose command line is the
/// user's). Where `/proc` cannot be read, the lock held on the state directory is the proof.
fn is_ours(record: &Record) -> bool {
    match std::fs::read(format!("/proc/{}/cmdline", record.pid)) {
        Ok(cmdline) => {
            cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == record.nonce.as_bytes())
                || (record.foreground
                    && record.process_start.is_some()
                    && process_start(record.pid) == record.process_start)
        }
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// When process `pid` started, in clock ticks since boot (field 22 of `/proc/PID/stat`);
/// None where there is no `/proc`.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// How `stop` ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Stopped {
    /// It was running and stopped cleanly (state saved).
    Stopped(Record),
    /// It had to be killed (did not stop within the grace period; the state file holds what
    /// the last periodic save wrote).
    Killed(Record),
    /// Nothing was running.
    NotRunning,
    /// It had died before; its record is now cleared.
    WasDead(Record),
}

/// Stops the background cluster of `state_dir`: SIGTERM to the recorded pid once it is proven
/// to be ours, waits `grace` for it to save and exit, then SIGKILL.
pub async fn stop(state_dir: &Path, grace: Duration) -> Result<Stopped, BackgroundError> {
    let record = match liveness(state_dir)? {
        Liveness::Stopped => return Ok(Stopped::NotRunning),
        Liveness::Died(r) => {
            remove_record(state_dir)?;
            return Ok(Stopped::WasDead(r));
        }
        Liveness::Starting => {
            // A starting server writes its record within moments.
            tokio::time::sleep(Duration::from_secs(2)).await;
            match liveness(state_dir)? {
                Liveness::Running(r) => r,
                Liveness::Stopped => return Ok(Stopped::NotRunning),
                Liveness::Died(r) => {
                    remove_record(state_dir)?;
                    return Ok(Stopped::WasDead(r));
                }
                Liveness::Starting => {
                    return Err(BackgroundError::Embedded(EmbeddedError::Busy {
                        dir: state_dir.to_path_buf(),
                    }));
                }
            }
        }
        Liveness::Running(r) => r,
    };
    if !is_ours(&record) {
        return Err(BackgroundError::NotOurs {
            pid: record.pid,
            record: state_dir.join(RECORD_FILE),
        });
    }
    signal(record.pid, false)?;
    if wait_unserved(state_dir, grace).await? {
        wait_exited(&record, Duration::from_secs(5)).await;
        // The lock is released only after the final save, so a process still winding down
        // (a loaded machine) loses nothing when killed; `stop` promises it is gone.
        if is_ours(&record) {
            signal(record.pid, true)?;
            wait_exited(&record, Duration::from_secs(5)).await;
        }
        remove_record(state_dir)?;
        return Ok(Stopped::Stopped(record));
    }
    if is_ours(&record) {
        signal(record.pid, true)?;
    }
    let waited = Duration::from_secs(5);
    if wait_unserved(state_dir, waited).await? {
        wait_exited(&record, waited).await;
        remove_record(state_dir)?;
        return Ok(Stopped::Killed(record));
    }
    Err(BackgroundError::StillRunning {
        pid: record.pid,
        waited: grace + waited,
    })
}

/// Waits (at most `timeout`) until the process is gone: it releases the state directory's lock
/// a moment before it exits, and `sim stop` promises that the process has ended. Not by
/// [`is_ours`]: an exiting process's `/proc/PID/cmdline` is empty before it is gone, so this
/// watches its `stat` (same start time, not yet a zombie).
async fn wait_exited(record: &Record, timeout: Duration) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Some(started) = process_start(record.pid) else {
        return;
    };
    let deadline = tokio::time::Instant::now() + timeout;
    while running(record.pid, started) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Process `pid`, started at `started` (clock ticks since boot), still runs: not gone, not a
/// zombie, not a later process with the same pid.
fn running(pid: u32, started: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    // After the command name: the state, then (as in `process_start`) field 22 of the file.
    let mut fields = rest.split_whitespace();
    let state = fields.next().unwrap_or("");
    let start = fields.nth(18).and_then(|s| s.parse::<u64>().ok());
    !matches!(state, "Z" | "X" | "x") && start == Some(started)
}

/// Waits until nothing holds the state directory's lock; false after `timeout`.
async fn wait_unserved(state_dir: &Path, timeout: Duration) -> Result<bool, BackgroundError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if !embedded::is_served(state_dir)? {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(unix)]
fn signal(pid: u32, kill: bool) -> Result<(), BackgroundError> {
    use rustix::process::{Pid, Signal, kill_process};
    let raw = i32::try_from(pid).ok().and_then(Pid::from_raw);
    let Some(target) = raw else {
        return Err(BackgroundError::Signal {
            pid,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a process id"),
        });
    };
    let sig = if kill { Signal::KILL } else { Signal::TERM };
    match kill_process(target, sig) {
        Ok(()) => Ok(()),
        // Exited meanwhile.
        Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(e) => Err(BackgroundError::Signal {
            pid,
            source: e.into(),
        }),
    }
}

#[cfg(not(unix))]
fn signal(_pid: u32, _kill: bool) -> Result<(), BackgroundError> {
    Err(BackgroundError::Unsupported)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_clock_follows_the_anchor_whatever_the_speed() {
        let sim: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let wall: Timestamp = "2026-12-03T08:00:00Z".parse().unwrap();
        let at: Timestamp = "2026-12-03T08:00:10Z".parse().unwrap();
        assert_eq!(
            cluster_time_at(sim, wall, at).to_string(),
            "2026-01-01T00:00:10Z"
        );
    }

    #[test]
    fn a_process_is_named_by_its_start_time() {
        let me = process_start(std::process::id());
        if Path::new("/proc/self").exists() {
            assert!(me.is_some());
            // Stable for the process's life; another process started at another moment.
            assert_eq!(process_start(std::process::id()), me);
            assert_ne!(process_start(1), me);
        }
    }

    #[test]
    fn liveness_needs_the_lock_not_just_a_record() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(liveness(dir.path()).unwrap(), Liveness::Stopped);
        let record = Record {
            pid: std::process::id(),
            nonce: "n".into(),
            url: "https://127.0.0.1:1".into(),
            kubeconfig: dir.path().join("kubeconfig"),
            scenario: "healthy".into(),
            speed: 60.0,
            faults: None,
            started_at: Timestamp::now(),
            clock_sim: Timestamp::now(),
            clock_wall: Timestamp::now(),
            objects: 3,
            save_error: None,
            updated_at: Timestamp::now(),
            foreground: false,
            process_start: None,
        };
        write_record(dir.path(), &record).unwrap();
        // A record without a process holding the lock: it died.
        assert_eq!(
            liveness(dir.path()).unwrap(),
            Liveness::Died(record.clone())
        );
        let lock = std::fs::File::create(dir.path().join(embedded::LOCK_FILE)).unwrap();
        lock.lock().unwrap();
        assert_eq!(
            liveness(dir.path()).unwrap(),
            Liveness::Running(record.clone())
        );
        remove_record(dir.path()).unwrap();
        assert_eq!(liveness(dir.path()).unwrap(), Liveness::Starting);
        drop(lock);
        assert_eq!(liveness(dir.path()).unwrap(), Liveness::Stopped);
    }
}
