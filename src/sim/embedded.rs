//! A persisted simulated cluster: a [`SimServer`] whose state is kept under a directory
//! (`.democtl/sim/`), seeded with the scenario's starting cluster on the first start only, with the
//! world's controllers running in the same process. The background server behind `democtl sim
//! start` / `democtl --sim …` (see `sim::background`) runs one; tests run one in-process.
//! The cluster's clock stands still while the cluster is stopped: the server resumes it from the
//! reading saved with the state (see `sim::clock`), and the controllers are level-triggered, so a
//! half-finished Job continues from its recorded `startTime` where it was.
//!
//! Files under the state directory: `state.json` (the server's objects), `scenario` (the name or
//! path of the scenario it was seeded with; written once seeding completed), `kubeconfig`, `lock`
//! (held by the one process serving the cluster).
//! Never prints.

use std::path::{Path, PathBuf};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::clock::SimClock;
use super::scenario::{Scenario, ScenarioError};
use super::world::{self, WorldError};
use super::{ServerConfig, SimError, SimServer};

/// Errors starting or stopping the embedded cluster.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The state directory could not be created or a file in it written.
    #[error("failed to access `{path}`")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The scenario could not be loaded.
    #[error("failed to load the simulator scenario")]
    Scenario(#[source] Box<ScenarioError>),
    /// The persisted cluster was seeded from another scenario than the one asked for.
    #[error(
        "the simulated cluster in `{dir}` was created from scenario `{recorded}`, not `{requested}`"
    )]
    ScenarioMismatch {
        /// The state directory.
        dir: PathBuf,
        /// The scenario it was seeded with.
        recorded: String,
        /// The scenario asked for.
        requested: String,
    },
    /// Another process serves the same simulated cluster.
    #[error("the simulated cluster in `{dir}` is in use by another democtl process")]
    Busy {
        /// The state directory.
        dir: PathBuf,
    },
    /// The API server failed.
    #[error("the simulated API server failed")]
    Server(#[source] SimError),
    /// Seeding the starting cluster failed.
    #[error("failed to seed the simulated cluster")]
    Seed(#[source] WorldError),
}

impl EmbeddedError {
    /// A hint for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            EmbeddedError::ScenarioMismatch { .. } => Some(
                "run `democtl sim reset` to start a fresh simulated cluster with another scenario"
                    .to_string(),
            ),
            EmbeddedError::Scenario(e) => e.hint(),
            EmbeddedError::Server(e) => e.hint(),
            EmbeddedError::Seed(e) => e.hint(),
            EmbeddedError::Busy { .. } => {
                Some("`democtl sim status` shows it; `democtl sim stop` stops it".to_string())
            }
            EmbeddedError::Io { .. } => None,
        }
    }
}

/// A running embedded simulated cluster.
#[derive(Debug)]
pub struct Embedded {
    server: SimServer,
    /// The scenario as recorded (shipped name or path).
    scenario_name: String,
    scenario: Scenario,
    kubeconfig: PathBuf,
    cancel: CancellationToken,
    controllers: JoinHandle<()>,
    /// Held (file lock) while running: one process per state directory.
    _lock: std::fs::File,
}

/// Starts a server with `config` and seeds `scenario` into it (for `democtl sim serve` and the
/// first start of the embedded cluster). Seeding plays the installer, so when the scenario restricts
/// the user (`rbac-denied`) it goes through an unrestricted server on the same state file first —
/// a temporary file under the system temp directory when `config.state_file` is not set.
pub async fn start_seeded(
    mut config: ServerConfig,
    scenario: &Scenario,
) -> Result<SimServer, EmbeddedError> {
    if config.denied.is_empty() {
        let server = SimServer::start(config)
            .await
            .map_err(EmbeddedError::Server)?;
        let client = server.internal_client().map_err(EmbeddedError::Server)?;
        world::seed(client, scenario)
            .await
            .map_err(EmbeddedError::Seed)?;
        return Ok(server);
    }
    if config.state_file.is_none() {
        let file = std::env::temp_dir().join(format!(
            "democtl-sim-{}.json",
            uuid::Uuid::new_v4().simple()
        ));
        config.state_file = Some(file);
    }
    let mut admin = config.clone();
    admin.denied.clear();
    let server = SimServer::start(admin)
        .await
        .map_err(EmbeddedError::Server)?;
    let client = server.internal_client().map_err(EmbeddedError::Server)?;
    world::seed(client, scenario)
        .await
        .map_err(EmbeddedError::Seed)?;
    server.shutdown().await.map_err(EmbeddedError::Server)?;
    SimServer::start(config)
        .await
        .map_err(EmbeddedError::Server)
}

/// The server's objects, under the state directory.
pub const STATE_FILE: &str = "state.json";
/// The scenario the cluster was seeded with (name or path), under the state directory.
pub const SCENARIO_FILE: &str = "scenario";
/// The kubeconfig of the running server, under the state directory.
pub const KUBECONFIG_FILE: &str = "kubeconfig";
/// Locked (advisory file lock) by the process serving the cluster, under the state directory.
pub const LOCK_FILE: &str = "lock";
/// The speed the cluster last ran at, under the state directory (a restart keeps it).
pub const SPEED_FILE: &str = "speed";

/// The speed the cluster in `state_dir` last ran at.
pub fn recorded_speed(state_dir: &Path) -> Option<f64> {
    std::fs::read_to_string(state_dir.join(SPEED_FILE))
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
}

/// How to start an [`Embedded`] cluster.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedOptions {
    /// A shipped scenario name or a YAML path, for a directory that holds no cluster yet
    /// (default `healthy`); for an existing cluster `None` or the recorded one.
    pub scenario: Option<String>,
    /// Simulated seconds per real second (`--sim-speed`); when `None`, the speed it last ran
    /// at, else 1.
    pub speed: Option<f64>,
    /// Serve HTTPS (kubectl and oc send tokens only over TLS).
    pub tls: bool,
}

/// Whether some process holds the lock of the cluster in `state_dir` (serves it). `Ok(false)`
/// when the directory or lock file does not exist.
pub fn is_served(state_dir: &Path) -> Result<bool, EmbeddedError> {
    let path = state_dir.join(LOCK_FILE);
    let file = match std::fs::OpenOptions::new().write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(EmbeddedError::Io { path, source }),
    };
    match file.try_lock() {
        // Dropping the file releases the probe's lock at once.
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(source)) => Err(EmbeddedError::Io { path, source }),
    }
}

/// The scenario recorded for the cluster in `state_dir`, once it was seeded.
pub fn recorded_scenario(state_dir: &Path) -> Option<String> {
    std::fs::read_to_string(state_dir.join(SCENARIO_FILE))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl Embedded {
    /// Starts the cluster persisted under `state_dir` (created if needed), over plain HTTP.
    /// `scenario` (a shipped name or a YAML path) is used when the directory holds no cluster yet
    /// (default `healthy`); for an existing cluster it must be `None` or the recorded one.
    /// `speed` is the simulated-time factor (`--sim-speed`).
    pub async fn start(
        state_dir: &Path,
        scenario: Option<&str>,
        speed: f64,
    ) -> Result<Embedded, EmbeddedError> {
        Self::start_with(
            state_dir,
            &EmbeddedOptions {
                scenario: scenario.map(str::to_string),
                speed: Some(speed),
                tls: false,
            },
        )
        .await
    }

    /// Starts the cluster persisted under `state_dir` with `options`; fails with
    /// [`EmbeddedError::Busy`] while another process serves it.
    pub async fn start_with(
        state_dir: &Path,
        options: &EmbeddedOptions,
    ) -> Result<Embedded, EmbeddedError> {
        let scenario = options.scenario.as_deref();
        let speed = options
            .speed
            .or_else(|| recorded_speed(state_dir))
            .unwrap_or(1.0);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EmbeddedError::Io { path, source }
        };
        std::fs::create_dir_all(state_dir).map_err(io(state_dir))?;
        let lock_path = state_dir.join(LOCK_FILE);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EmbeddedError::Busy {
                    dir: state_dir.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(EmbeddedError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        // Only the lock holder saves, so temp files a crashed save left are garbage now.
        super::persist::remove_temp_files(&state_dir.join(STATE_FILE));
        let scenario_file = state_dir.join(SCENARIO_FILE);
        let recorded = recorded_scenario(state_dir);
        let fresh = recorded.is_none();
        let name = match (&recorded, scenario) {
            (Some(r), Some(asked)) if r != asked => {
                return Err(EmbeddedError::ScenarioMismatch {
                    dir: state_dir.to_path_buf(),
                    recorded: r.clone(),
                    requested: asked.to_string(),
                });
            }
            (Some(r), _) => r.clone(),
            (None, asked) => asked.unwrap_or("healthy").to_string(),
        };
        let loaded = Scenario::resolve(&name).map_err(|e| EmbeddedError::Scenario(Box::new(e)))?;
        let mut config = loaded.server_config();
        config.clock = SimClock::new(speed);
        config.state_file = Some(state_dir.join(STATE_FILE));
        config.tls = options.tls;
        let server = if fresh {
            start_seeded(config, &loaded).await?
        } else {
            SimServer::start(config)
                .await
                .map_err(EmbeddedError::Server)?
        };
        let client = server.internal_client().map_err(EmbeddedError::Server)?;
        let kubeconfig = state_dir.join(KUBECONFIG_FILE);
        server
            .write_kubeconfig(&kubeconfig)
            .map_err(EmbeddedError::Server)?;
        if fresh {
            server.save().map_err(EmbeddedError::Server)?;
            // Recorded only after a complete seed: an interrupted seed is redone next time.
            std::fs::write(&scenario_file, format!("{name}\n")).map_err(io(&scenario_file))?;
        }
        let speed_file = state_dir.join(SPEED_FILE);
        std::fs::write(&speed_file, format!("{speed}\n")).map_err(io(&speed_file))?;
        let cancel = CancellationToken::new();
        let run_cancel = cancel.clone();
        let clock = server.clock().clone();
        let world_scenario = loaded.clone();
        let controllers = tokio::spawn(async move {
            if let Err(e) = world::run(client, &world_scenario, clock, run_cancel).await {
                tracing::warn!(error = %e, "simulated controllers stopped");
            }
        });
        Ok(Embedded {
            server,
            scenario_name: name,
            scenario: loaded,
            kubeconfig,
            cancel,
            controllers,
            _lock: lock,
        })
    }

    /// A kube client for the embedded cluster (kube's built-in retry off; injected faults never
    /// strike it).
    pub fn client(&self) -> Result<kube::Client, EmbeddedError> {
        self.server.internal_client().map_err(EmbeddedError::Server)
    }

    /// The kubeconfig written for this run (`<state_dir>/kubeconfig`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The server's URL (`http://127.0.0.1:PORT`, `https://` with TLS).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The scenario the cluster was seeded with.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The scenario as recorded: a shipped name (`healthy`) or the path it was given as.
    pub fn scenario_name(&self) -> &str {
        &self.scenario_name
    }

    /// The simulated clock.
    pub fn clock(&self) -> &SimClock {
        self.server.clock()
    }

    /// The bearer token clients must send.
    pub fn token(&self) -> &str {
        self.server.token()
    }

    /// Why saving the state keeps failing, if it does (the file holds the last good state).
    pub fn save_error(&self) -> Option<String> {
        self.server.save_error()
    }

    /// The injected faults in one line, with their seed; `None` when none are injected.
    pub fn faults(&self) -> Option<String> {
        self.server.faults()
    }

    /// How many objects the cluster holds.
    pub fn object_count(&self) -> usize {
        self.server.object_count()
    }

    /// Stops the controllers, then the server, and saves the state.
    pub async fn shutdown(self) -> Result<(), EmbeddedError> {
        self.cancel.cancel();
        let _ = self.controllers.await;
        self.server.shutdown().await.map_err(EmbeddedError::Server)
    }

    /// Deletes the persisted cluster under `state_dir` (for `democtl sim reset`); missing files are
    /// fine.
    pub fn reset(state_dir: &Path) -> Result<(), EmbeddedError> {
        super::persist::remove_temp_files(&state_dir.join(STATE_FILE));
        for f in [STATE_FILE, SCENARIO_FILE, KUBECONFIG_FILE, SPEED_FILE] {
            let path = state_dir.join(f);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(EmbeddedError::Io { path, source }),
            }
        }
        Ok(())
    }
}
