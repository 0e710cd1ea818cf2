//! `patch`: JSON-merge-patches an object the stage does not own (a DataScienceCluster
//! component, an operator ConfigMap). Before changing anything it records, in the stage state,
//! a merge patch that restores the previous values, so `teardown` puts them back; a re-run
//! keeps the first record (the original values, not democtl's own). Then it waits for the CRDs
//! the patch makes an operator install (`waitForCrds`) and restarts the operator that reads the
//! object only at start (`restartPods`, see [`super::restart`]).

use futures::future::BoxFuture;
use kube::api::{Patch, PatchParams as KubePatchParams};
use serde_json::Value;

use super::{BuildError, StepEnv, boxed, cluster_failure, own_deadline};
use crate::cluster::inventory::FIELD_MANAGER;
use crate::cluster::object::str_at;
use crate::cluster::operators::{Decision, crd_established, operator_for_group};
use crate::cluster::state::{self, PatchedObject, restore_patch};
use crate::cluster::{ClusterError, ObjectKey};
use crate::runner::event::ObjectRecord;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::PatchParams;
use crate::stage::schema::StepSpec;

/// The built step.
pub struct PatchStep {
    env: StepEnv,
    step: String,
    target: ObjectKey,
    patch: Value,
    wait_for_crds: Vec<String>,
    restart_pods: Option<crate::stage::params::RestartPods>,
}

/// The patch must be a JSON object (RFC 7386 patches of whole objects only).
pub fn build(spec: &StepSpec, p: &PatchParams, env: &StepEnv) -> Result<Box<dyn Step>, BuildError> {
    if !p.patch.is_object() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "patch",
            what: "`patch` to be a mapping (a JSON merge patch)".into(),
        });
    }
    let t = &p.target;
    Ok(Box::new(PatchStep {
        env: env.clone(),
        step: spec.id.clone(),
        target: ObjectKey::new(&t.api_version, &t.kind, t.namespace.as_deref(), &t.name),
        patch: p.patch.clone(),
        wait_for_crds: p.wait_for_crds.clone(),
        restart_pods: p.restart_pods.clone(),
    }))
}

/// True when applying `patch` to `live` changes nothing.
pub fn already_applied(patch: &Value, live: &Value) -> bool {
    let mut merged = live.clone();
    json_patch::merge(&mut merged, patch);
    &merged == live
}

impl PatchStep {
    async fn run_inner(&self, ctx: &StepCtx) -> Result<StepDone, StepError> {
        let cluster = &self.env.cluster;
        let target = &self.target;
        let fail = |what: &str, e: ClusterError| {
            cluster_failure(format!("failed to {what} {}", target.describe()), e)
        };
        let resolved = cluster
            .resolve_or_missing(target)
            .await
            .map_err(|e| fail("patch", e))?;
        let api = cluster.api(&resolved.resource, target.namespace.as_deref());
        let live = cluster
            .call("get", || target.describe(), || api.get_opt(&target.name))
            .await
            .map_err(|e| fail("read", e))?;
        let Some(live) = live else {
            return Err(StepError::new(format!("{} does not exist", target.describe()))
                .with_hint("the operator that owns it creates it; check that it is installed and its instance exists"));
        };
        let live = crate::cluster::object::typed_value(live, &resolved.resource);
        let unchanged = already_applied(&self.patch, &live);
        if !ctx.dry_run {
            state::record_patch(
                cluster,
                &ctx.stage,
                PatchedObject {
                    target: target.clone(),
                    restore: restore_patch(&self.patch, &live),
                    step: self.step.clone(),
                },
            )
            .await
            .map_err(|e| fail("record the previous values of", e))?;
        }
        if unchanged {
            ctx.progress(format!("{} already has these values", target.describe()));
        } else {
            let mut params = KubePatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..KubePatchParams::default()
            }
            .validation_strict();
            if ctx.dry_run {
                params = params.dry_run();
            }
            let merge = Patch::Merge(&self.patch);
            cluster
                .call(
                    "patch",
                    || target.describe(),
                    || api.patch(&target.name, &params, &merge),
                )
                .await
                .map_err(|e| fail("patch", e))?;
        }
        ctx.object_applied(ObjectRecord {
            api_version: target.api_version.clone(),
            kind: target.kind.clone(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            uid: str_at(&live, "/metadata/uid").map(str::to_string),
            result: match (unchanged, ctx.dry_run) {
                (true, _) => "unchanged".into(),
                (false, true) => "patch".into(),
                (false, false) => "patched".into(),
            },
        });
        if ctx.dry_run {
            return Ok(StepDone::Succeeded);
        }
        if let Some(r) = &self.restart_pods {
            // The object as it is now: its last write is the change the pods must have seen.
            let now = cluster
                .call("get", || target.describe(), || api.get_opt(&target.name))
                .await
                .map_err(|e| fail("read", e))?
                .map(|o| crate::cluster::object::typed_value(o, &resolved.resource));
            if let Some(changed) = now.as_ref().and_then(super::restart::last_changed) {
                super::restart::restart(cluster, ctx, r, changed, own_deadline(ctx)).await?;
            }
        }
        if self.wait_for_crds.is_empty() {
            return Ok(StepDone::Succeeded);
        }
        let deadline = own_deadline(ctx);
        let progress = |m: String| ctx.progress(m);
        let waits = self.wait_for_crds.iter().map(|name| {
            let key = ObjectKey::new(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                name,
            );
            let group = name.split_once('.').map(|(_, g)| g).unwrap_or("");
            let operator = operator_for_group(group).unwrap_or("the operator");
            let progress = &progress;
            async move {
                cluster
                    .wait_until(&key, deadline, progress, |obj| match obj {
                        None => Decision::Pending(format!(
                            "waiting for {operator} to install CRD `{name}`"
                        )),
                        Some(o) => match crd_established(o) {
                            Ok(true) => Decision::Done(()),
                            Ok(false) => Decision::Pending(format!("CRD `{name}` installing")),
                            Err(reason) => Decision::Failed(reason),
                        },
                    })
                    .await
                    .map_err(|e| cluster_failure(format!("CRD `{name}` was not installed"), e))
            }
        });
        futures::future::try_join_all(waits).await?;
        cluster.discovery().refresh();
        Ok(StepDone::Succeeded)
    }
}

impl Step for PatchStep {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(self.run_inner(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn restore_patches_bring_back_previous_values() {
        let live = json!({"metadata": {"name": "dsc", "annotations": {"keep": "x"}},
            "spec": {"components": {"kserve": {"managementState": "Removed"}, "dashboard": {"managementState": "Managed"}}}});
        let patch = json!({"spec": {"components": {
            "kserve": {"managementState": "Managed"},
            "trustyai": {"managementState": "Managed"}}},
            "metadata": {"annotations": {"opendatahub.io/managed": "false"}}});
        let restore = restore_patch(&patch, &live);
        assert_eq!(
            restore,
            json!({"spec": {"components": {"kserve": {"managementState": "Removed"},
                "trustyai": null}},
                "metadata": {"annotations": {"opendatahub.io/managed": null}}})
        );
        let mut patched = live.clone();
        json_patch::merge(&mut patched, &patch);
        assert!(!already_applied(&patch, &live));
        assert!(already_applied(&patch, &patched));
        json_patch::merge(&mut patched, &restore);
        assert_eq!(patched, live);
    }
}
