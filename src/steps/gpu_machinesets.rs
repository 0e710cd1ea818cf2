//! `gpu-machinesets`: derives the GPU MachineSets from the cluster's own worker MachineSet and
//! applies them (see [`super::machineset`] for the cloning). Everything cluster-specific —
//! infrastructure name, region, zone, the cloned MachineSet — is derived here and recorded in
//! the run log; nothing is templated.

use serde_json::{Value, json};

use super::machineset::{self, MACHINE_API_NAMESPACE};
use super::{BuildError, StepEnv, boxed, cluster_failure, get_object, list_objects};
use crate::cluster::ObjectKey;
use crate::runner::event::StepOutput;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::GpuMachinesetsParams;
use crate::stage::schema::StepSpec;

/// The built step.
pub struct GpuMachinesets {
    env: StepEnv,
    params: GpuMachinesetsParams,
}

pub fn build(
    spec: &StepSpec,
    p: &GpuMachinesetsParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    if p.machinesets.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "gpu-machinesets",
            what: "at least one entry in `machinesets`".into(),
        });
    }
    Ok(Box::new(GpuMachinesets {
        env: env.clone(),
        params: p.clone(),
    }))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

impl Step for GpuMachinesets {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let cluster = &self.env.cluster;
            ctx.progress("reading the cluster's infrastructure");
            let infra_key =
                ObjectKey::new("config.openshift.io/v1", "Infrastructure", None, "cluster");
            let infra = get_object(cluster, &infra_key)
                .await
                .map_err(|e| cluster_failure("failed to read `Infrastructure/cluster`", e))?
                .ok_or_else(|| {
                    StepError::new("`Infrastructure/cluster` does not exist")
                        .with_hint("GPU provisioning needs OpenShift's Machine API (an installer-provisioned cluster)")
                })?;
            let platform = str_at(&infra, "/status/platformStatus/type")
                .or_else(|| str_at(&infra, "/status/platform"))
                .unwrap_or("unknown");
            if platform != "AWS" {
                return Err(StepError::new(format!("the cluster runs on `{platform}`, not AWS"))
                    .with_hint("GPU provisioning clones AWS worker MachineSets; add GPU nodes yourself and run without this step"));
            }
            let sets = list_objects(
                cluster,
                "machine.openshift.io/v1beta1",
                "MachineSet",
                Some(MACHINE_API_NAMESPACE),
                None,
            )
            .await
            .map_err(|e| {
                cluster_failure(
                    "failed to list the MachineSets of `openshift-machine-api`",
                    e,
                )
            })?;
            let source =
                machineset::pick_source(&sets, self.params.source.as_deref()).map_err(|e| {
                    let hint = e.hint();
                    let mut err = StepError::new(e.to_string());
                    if let Some(h) = hint {
                        err = err.with_hint(h);
                    }
                    err
                })?;
            let source_name = str_at(source, "/metadata/name").unwrap_or("").to_string();
            let infra_name = str_at(&infra, "/status/infrastructureName")
                .or_else(|| machineset::infra_of(source))
                .ok_or_else(|| {
                    StepError::new("`Infrastructure/cluster` has no `status.infrastructureName`")
                })?
                .to_string();
            ctx.derive(
                super::value_key(ctx, "cluster.infrastructure-name"),
                json!(infra_name),
            );
            if let Some(region) = str_at(&infra, "/status/platformStatus/aws/region") {
                ctx.derive(super::value_key(ctx, "cluster.region"), json!(region));
            }
            ctx.derive(
                super::value_key(ctx, "gpu.source-machineset"),
                json!(source_name),
            );

            let mut objects = Vec::new();
            let mut rows = Vec::new();
            for spec in &self.params.machinesets {
                let ms = machineset::clone_for(source, spec, &infra_name).map_err(|e| {
                    let hint = e.hint();
                    let mut err = StepError::new(e.to_string());
                    if let Some(h) = hint {
                        err = err.with_hint(h);
                    }
                    err
                })?;
                let name = str_at(&ms, "/metadata/name").unwrap_or("").to_string();
                let zone = machineset::zone_of(&ms).unwrap_or("").to_string();
                let prefix = format!("gpu.{}", spec.suffix);
                ctx.derive(
                    super::value_key(ctx, &format!("{prefix}.machineset")),
                    json!(name),
                );
                ctx.derive(
                    super::value_key(ctx, &format!("{prefix}.zone")),
                    json!(zone),
                );
                ctx.derive(
                    super::value_key(ctx, &format!("{prefix}.instance-type")),
                    json!(spec.instance_type),
                );
                rows.push(vec![
                    name,
                    spec.instance_type.clone(),
                    zone,
                    spec.gpus.to_string(),
                    spec.replicas.to_string(),
                ]);
                objects.push(ms);
            }
            super::apply_objects(&self.env, ctx, &objects)
                .await
                .map_err(|e| cluster_failure("failed to apply the GPU MachineSets", e))?;
            ctx.output(StepOutput {
                title: format!("GPU MachineSets (cloned from {source_name})"),
                columns: [
                    "MachineSet",
                    "instance type",
                    "zone",
                    "GPUs each",
                    "replicas",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect(),
                rows,
            });
            Ok(StepDone::Succeeded)
        })
    }
}
