//! The cluster a command talks to: the kubeconfig's (`--kubeconfig`, `--context`, KUBECONFIG),
//! or the embedded simulated cluster (`--sim`, state under `<project>/.democtl/sim/`).

use std::sync::Arc;

use super::{AppError, Ctx};
use crate::cluster::{Cluster, ConnectOptions, Identity};
use crate::project::Project;
use crate::sim::{Embedded, EmbeddedError};

/// A connected cluster, and the simulator serving it when `--sim` is on.
pub struct Target {
    pub cluster: Arc<Cluster>,
    /// Checked with a SelfSubjectReview: reachable and authenticated.
    pub identity: Identity,
    sim: Option<Embedded>,
}

impl Target {
    /// Connects and checks who we are (exit 3 when unreachable or unauthorised).
    pub async fn connect(ctx: &Ctx, project: Option<&Project>) -> Result<Target, AppError> {
        let (cluster, sim) = if ctx.global.sim {
            let project = match project {
                Some(p) => p.clone(),
                None => ctx.project()?,
            };
            let embedded = Embedded::start(
                &project.sim_dir(),
                ctx.global.sim_scenario.as_deref(),
                ctx.global.sim_speed,
            )
            .await
            .map_err(sim_error)?;
            let client = embedded.client().map_err(sim_error)?;
            let clock = embedded.clock().clone();
            let cluster = Cluster::from_client(client, embedded.url())
                .with_clock(Arc::new(move || clock.now()));
            (cluster, Some(embedded))
        } else {
            let opts = ConnectOptions {
                kubeconfig: ctx.global.kubeconfig.clone(),
                context: ctx.global.context.clone(),
            };
            (
                Cluster::connect(&opts).await.map_err(AppError::Cluster)?,
                None,
            )
        };
        let identity = match cluster.identity().await {
            Ok(identity) => identity,
            Err(e) => {
                if let Some(sim) = sim {
                    let _ = sim.shutdown().await;
                }
                return Err(AppError::Cluster(e));
            }
        };
        Ok(Target {
            cluster: Arc::new(cluster),
            identity,
            sim,
        })
    }

    /// Stops the embedded simulator (saving its state); nothing for a real cluster.
    pub async fn close(self) -> Result<(), AppError> {
        if let Some(sim) = self.sim {
            sim.shutdown().await.map_err(sim_error)?;
        }
        Ok(())
    }
}

fn sim_error(error: EmbeddedError) -> AppError {
    AppError::Other {
        message: "the embedded simulated cluster failed".into(),
        hint: error.hint(),
        source: Some(Box::new(error)),
        code: crate::exit::USAGE,
    }
}
