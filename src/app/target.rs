//! The cluster a command talks to: the kubeconfig's (`--kubeconfig`, `--context`, KUBECONFIG),
//! or the project's simulated cluster (`--sim`: the background server under
//! `<project>/.democtl/sim/`, started first when none runs; reached through its kubeconfig like
//! any cluster, so nothing of the simulator runs in this process).

use std::sync::Arc;

use super::{AppError, Ctx};
use crate::cluster::{Cluster, ConnectOptions, Identity};
use crate::project::Project;
use crate::runner::event::SimulatedCluster;
use crate::sim::background::{self, Record};

/// A connected cluster.
pub struct Target {
    pub cluster: Arc<Cluster>,
    /// Checked with a SelfSubjectReview: reachable and authenticated.
    pub identity: Identity,
    /// Set on the simulated cluster (`--sim`).
    sim: Option<Sim>,
}

/// The simulated cluster a command talks to.
struct Sim {
    /// Its scenario and speed.
    cluster: SimulatedCluster,
    /// The project whose background server it is (its record is under `sim_dir()`).
    project: Project,
}

/// Warns when the background cluster's record says its state cannot be saved (at the start and
/// at the end of every `--sim` command).
fn warn_if_not_saved(project: &Project, record: &Record) {
    if let Some(e) = &record.save_error {
        super::print_stderr(&format!(
            "warning: the simulated cluster cannot save its state ({e}); `{}` keeps the last good state — see `democtl sim status`\n",
            project
                .relative(&project.sim_dir().join(crate::sim::embedded::STATE_FILE))
                .display()
        ));
    }
}

impl Target {
    /// Connects and checks who we are (exit 3 when unreachable or unauthorised).
    pub async fn connect(ctx: &Ctx, project: Option<&Project>) -> Result<Target, AppError> {
        let (cluster, sim) = if ctx.global.sim {
            let project = match project {
                Some(p) => p.clone(),
                None => ctx.project()?,
            };
            let record = super::sim::ensure_running(ctx, &project, None, true).await?;
            warn_if_not_saved(&project, &record);
            let opts = ConnectOptions {
                kubeconfig: Some(record.kubeconfig.clone()),
                context: None,
            };
            let sim = Sim {
                cluster: SimulatedCluster {
                    scenario: record.scenario.clone(),
                    speed: record.speed,
                },
                project,
            };
            let cluster = Cluster::connect(&opts)
                .await
                .map_err(AppError::cluster)?
                .with_clock(Arc::new(move || record.cluster_now()));
            (cluster, Some(sim))
        } else {
            let opts = ConnectOptions {
                kubeconfig: ctx.global.kubeconfig.clone(),
                context: ctx.global.context.clone(),
            };
            (
                Cluster::connect(&opts).await.map_err(AppError::cluster)?,
                None,
            )
        };
        let cluster = match ctx.global.request_timeout {
            Some(timeout) => cluster.with_request_timeout(timeout),
            None => cluster,
        };
        let identity = cluster.identity().await.map_err(AppError::cluster)?;
        Ok(Target {
            cluster: Arc::new(cluster),
            identity,
            sim,
        })
    }

    /// The simulated cluster's scenario and speed (for the banner); `None` on a real cluster.
    pub fn simulated(&self) -> Option<SimulatedCluster> {
        self.sim.as_ref().map(|s| s.cluster.clone())
    }

    /// The simulated cluster's speed (simulated seconds per real second), on `--sim`.
    pub fn sim_speed(&self) -> Option<f64> {
        self.sim.as_ref().map(|s| s.cluster.speed)
    }

    /// Nothing to release: the simulated cluster keeps running (`democtl sim stop` stops it).
    /// On `--sim`, reads the background cluster's record again and warns when saving its state
    /// failed during the command (a deploy must not end silently on an unsaved cluster). A
    /// record that cannot be read is left to the next command, which reports it.
    pub async fn close(self) -> Result<(), AppError> {
        if let Some(sim) = &self.sim
            && let Ok(Some(record)) = background::read_record(&sim.project.sim_dir())
        {
            warn_if_not_saved(&sim.project, &record);
        }
        Ok(())
    }
}
