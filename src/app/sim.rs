//! `democtl sim serve|controllers|reset`: the simulated cluster on its own.

use tokio_util::sync::CancellationToken;

use super::{AppError, Ctx, print_stderr, print_stdout};
use crate::cli::{SimCommand, SimControllersArgs, SimServeArgs};
use crate::sim::scenario::Scenario;
use crate::sim::{Embedded, SimClock, world};

pub async fn run(ctx: &Ctx, command: SimCommand) -> Result<u8, AppError> {
    match command {
        SimCommand::Serve(args) => serve(ctx, args).await,
        SimCommand::Controllers(args) => controllers(ctx, args).await,
        SimCommand::Reset => reset(ctx),
    }
}

/// Wraps a simulator error with what democtl was doing.
fn sim_error(
    message: impl Into<String>,
    hint: Option<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> AppError {
    AppError::Other {
        message: message.into(),
        hint,
        source: Some(Box::new(source)),
        code: crate::exit::FAILED,
    }
}

fn scenario(name: Option<&str>) -> Result<Scenario, AppError> {
    let name = name.unwrap_or("healthy");
    Scenario::resolve(name).map_err(|e| AppError::Other {
        message: format!("cannot load scenario `{name}`"),
        hint: e.hint(),
        source: Some(Box::new(e)),
        code: crate::exit::USAGE,
    })
}

async fn serve(ctx: &Ctx, args: SimServeArgs) -> Result<u8, AppError> {
    let scenario = scenario(args.scenario.as_deref())?;
    let mut config = scenario.server_config();
    config.clock = SimClock::new(ctx.global.sim_speed);
    // kubectl/oc (client-go) send the bearer token only over TLS.
    config.tls = true;
    // Starts and seeds (through an unrestricted server first when the scenario restricts the user).
    let server = crate::sim::start_seeded(config, &scenario)
        .await
        .map_err(|e| {
            let hint = e.hint();
            sim_error("cannot start the simulated cluster", hint, e)
        })?;
    server.write_kubeconfig(&args.kubeconfig_out).map_err(|e| {
        let hint = e.hint();
        sim_error(
            format!("cannot write `{}`", args.kubeconfig_out.display()),
            hint,
            e,
        )
    })?;
    let client = server
        .client()
        .map_err(|e| sim_error("cannot build a client for the simulator", None, e))?;
    let cancel = CancellationToken::new();
    let world_cancel = cancel.clone();
    let clock = server.clock().clone();
    let world_scenario = scenario.clone();
    let run_world = !args.no_controllers;
    let controllers = tokio::spawn(async move {
        if run_world {
            world::run(client, &world_scenario, clock, world_cancel).await
        } else {
            Ok(())
        }
    });
    print_stdout(&format!(
        "simulated cluster at {} (scenario {})\nkubeconfig written to {}\ntry: kubectl --kubeconfig {} get nodes\nCtrl-C stops it\n",
        server.url(),
        args.scenario.as_deref().unwrap_or("healthy"),
        args.kubeconfig_out.display(),
        args.kubeconfig_out.display(),
    ))?;
    let _ = tokio::signal::ctrl_c().await;
    cancel.cancel();
    let _ = controllers.await;
    server
        .shutdown()
        .await
        .map_err(|e| sim_error("cannot stop the simulated API server cleanly", None, e))?;
    Ok(crate::exit::OK)
}

async fn controllers(ctx: &Ctx, args: SimControllersArgs) -> Result<u8, AppError> {
    let scenario = scenario(args.scenario.as_deref())?;
    let opts = crate::cluster::ConnectOptions {
        kubeconfig: ctx.global.kubeconfig.clone(),
        context: ctx.global.context.clone(),
    };
    let cluster = crate::cluster::Cluster::connect(&opts)
        .await
        .map_err(AppError::Cluster)?;
    cluster.identity().await.map_err(AppError::Cluster)?;
    let client = cluster.client().clone();
    world::seed(client.clone(), &scenario).await.map_err(|e| {
        let hint = e.hint();
        sim_error("cannot seed the cluster", hint, e)
    })?;
    if super::chatty(&ctx.output) {
        print_stderr(&format!(
            "playing the simulated controllers against {} (Ctrl-C stops)\n",
            cluster.server()
        ));
    }
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    world::run(
        client,
        &scenario,
        SimClock::new(ctx.global.sim_speed),
        cancel,
    )
    .await
    .map_err(|e| {
        let hint = e.hint();
        sim_error("the simulated controllers stopped", hint, e)
    })?;
    Ok(crate::exit::OK)
}

fn reset(ctx: &Ctx) -> Result<u8, AppError> {
    let project = ctx.project()?;
    let dir = project.sim_dir();
    Embedded::reset(&dir).map_err(|e| {
        let hint = e.hint();
        sim_error(format!("cannot reset `{}`", dir.display()), hint, e)
    })?;
    if super::chatty(&ctx.output) {
        print_stdout(&format!(
            "the simulated cluster in `{}` is reset\n",
            project.relative(&dir).display()
        ))?;
    }
    Ok(crate::exit::OK)
}
