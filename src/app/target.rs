//! The cluster a command talks to: the kubeconfig's (`--kubeconfig`, `--context`, KUBECONFIG),
//! or the embedded simulated cluster (`--sim`, state under `<project>/.democtl/sim/`).

use std::sync::Arc;

use super::{AppError, Ctx};
use crate::cluster::{Cluster, ConnectOptions, Identity};
use crate::project::Project;

/// A connected cluster.
pub struct Target {
    pub cluster: Arc<Cluster>,
    /// Checked with a SelfSubjectReview: reachable and authenticated.
    pub identity: Identity,
}

impl Target {
    /// Connects and checks who we are (exit 3 when unreachable or unauthorised).
    pub async fn connect(ctx: &Ctx, project: Option<&Project>) -> Result<Target, AppError> {
        if ctx.global.sim {
            let _ = project;
            return Err(AppError::usage(
                "the embedded simulated cluster is not available in this build yet",
                Some("run `democtl sim serve --kubeconfig-out FILE` elsewhere and pass `--kubeconfig FILE`".into()),
            ));
        }
        let opts = ConnectOptions {
            kubeconfig: ctx.global.kubeconfig.clone(),
            context: ctx.global.context.clone(),
        };
        let cluster = Cluster::connect(&opts).await.map_err(AppError::Cluster)?;
        let identity = cluster.identity().await.map_err(AppError::Cluster)?;
        Ok(Target {
            cluster: Arc::new(cluster),
            identity,
        })
    }

    /// Stops the embedded simulator (saving its state); nothing for a real cluster.
    pub async fn close(self) -> Result<(), AppError> {
        Ok(())
    }
}
