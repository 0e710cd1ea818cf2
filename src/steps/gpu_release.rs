//! `free-gpus`: before a changed InferenceService is applied, give its GPUs back.
//!
//! In KServe's serverless mode a changed InferenceService becomes a new Knative revision whose
//! predictor pod needs its own GPUs, while the old revision keeps serving — and keeps its GPUs —
//! until the new one is ready. A model that takes every GPU of its node (the full Mistral 24B:
//! 4 of a g6.12xlarge's 4) therefore never starts: the new pod stays `Unschedulable`
//! ("Insufficient nvidia.com/gpu") and the wait for the model times out. The original scripts
//! deleted the InferenceServices before applying them; this step does the same, but only for
//! InferenceServices whose rendered spec differs from the cluster's (a server-side dry-run
//! apply says so) and whose pods hold GPUs: it deletes them (foreground, so their revisions and
//! pods go first), waits until their pods are gone, and shows a table of what it freed. The
//! apply step after it creates them anew. Unchanged ones are not touched.
//!
//! Ownership as everywhere: an InferenceService democtl does not own is only deleted with
//! `--adopt`; otherwise the step fails naming it and its manager.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use tokio::time::Instant;

use super::selection::component_of;
use super::{BuildError, StepEnv, boxed, cluster_failure, list_objects, select_objects};
use crate::cluster::apply::{ApplyOptions, ApplyResult};
use crate::cluster::{ClusterError, ObjectKey};
use crate::runner::event::StepOutput;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{ApplyParams, FreeGpusParams};
use crate::stage::schema::StepSpec;

const ISVC_KIND: &str = "InferenceService";
/// KServe's label on every pod of one InferenceService (all its revisions).
const ISVC_POD_LABEL: &str = "serving.kserve.io/inferenceservice";

/// The built step.
pub struct FreeGpus {
    env: StepEnv,
    selection: ApplyParams,
}

/// Checks that every named component is rendered and renders at least one InferenceService.
pub fn build(
    spec: &StepSpec,
    p: &FreeGpusParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    for c in &p.components {
        let renders_isvc = env
            .objects
            .iter()
            .any(|o| component_of(o) == Some(c.as_str()) && o["kind"] == ISVC_KIND);
        if !renders_isvc {
            return Err(BuildError::NotRendered {
                step: spec.id.clone(),
                object: format!("an InferenceService of component `{c}`"),
                overlay: env.stage.overlay.clone(),
            });
        }
    }
    Ok(Box::new(FreeGpus {
        env: env.clone(),
        selection: ApplyParams {
            components: p.components.clone(),
            kinds: vec![ISVC_KIND.to_string()],
            ..ApplyParams::default()
        },
    }))
}

/// GPUs that the pods of one InferenceService hold: those bound to a node and not finished
/// (requests or limits, whichever is larger, of every container). A pending pod holds none.
pub fn gpus_held(pods: &[Value]) -> u64 {
    pods.iter()
        .filter(|p| holds_node(p))
        .flat_map(|p| p["spec"]["containers"].as_array().into_iter().flatten())
        .map(|c| {
            let count = |which: &str| {
                let q = &c["resources"][which]["nvidia.com/gpu"];
                q.as_str()
                    .and_then(|q| q.parse::<u64>().ok())
                    .or_else(|| q.as_u64())
                    .unwrap_or(0)
            };
            count("requests").max(count("limits"))
        })
        .sum()
}

fn holds_node(pod: &Value) -> bool {
    pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty())
        && !matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        )
}

/// Whether a new revision's pod waits for GPUs that an older pod of the same InferenceService
/// holds: a re-deploy that was applied before (by an earlier run, or by hand) and is stuck.
pub fn waits_for_own_gpus(pods: &[Value]) -> bool {
    let unschedulable = pods.iter().any(|p| {
        p["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == "PodScheduled"
                    && c["status"] == "False"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("Insufficient nvidia.com/gpu"))
            })
        })
    });
    unschedulable && gpus_held(pods) > 0
}

/// One InferenceService whose GPUs are to be freed.
struct Changed {
    key: ObjectKey,
    gpus: u64,
    /// Why: its spec changed, or its newest revision already waits for the GPUs.
    why: &'static str,
}

impl FreeGpus {
    /// The rendered InferenceServices whose pods hold GPUs and that the apply would change, or
    /// whose newest revision already waits behind their own old pod. New ones hold none.
    async fn changed(&self, ctx: &StepCtx) -> Result<Vec<Changed>, StepError> {
        let objects = select_objects(&self.env.objects, &self.selection, &|k| ctx.value(k))
            .map_err(|e| StepError::new(e.to_string()))?;
        let mut opts = ApplyOptions::new(self.env.stage.id.clone());
        opts.dry_run = true;
        opts.adopt = self.env.adopt;
        opts.step = ctx.step.clone();
        let quiet = |_: String| {};
        let plan = crate::cluster::apply(&self.env.cluster, &objects, &opts, &quiet)
            .await
            .map_err(|e| cluster_failure("failed to compare the InferenceServices", e))?;
        let mut changed = Vec::new();
        for o in plan
            .objects
            .iter()
            .filter(|o| o.result != ApplyResult::Created)
        {
            let selector = format!("{ISVC_POD_LABEL}={}", o.key.name);
            let pods = list_objects(
                &self.env.cluster,
                "v1",
                "Pod",
                o.key.namespace.as_deref(),
                Some(&selector),
            )
            .await
            .map_err(|e| {
                cluster_failure(
                    format!("failed to list the pods of {}", o.key.describe()),
                    e,
                )
            })?;
            let why = if o.result == ApplyResult::Unchanged {
                if !waits_for_own_gpus(&pods) {
                    continue;
                }
                "its newest revision waits for the GPUs its old one holds"
            } else {
                "its new revision needs the GPUs the old one holds"
            };
            let gpus = gpus_held(&pods);
            if gpus > 0 {
                changed.push(Changed {
                    key: o.key.clone(),
                    gpus,
                    why,
                });
            }
        }
        Ok(changed)
    }

    /// Deletes one InferenceService (foreground: its revisions and pods first) and waits until
    /// it and its pods are gone.
    async fn free(&self, ctx: &StepCtx, key: &ObjectKey) -> Result<(), ClusterError> {
        let cluster = &self.env.cluster;
        let Some(r) = cluster.resolve(&key.api_version, &key.kind).await? else {
            return Ok(());
        };
        let api = cluster.api(&r.resource, key.namespace.as_deref());
        let Some(live) = cluster
            .call("get", || key.describe(), || api.get_opt(&key.name))
            .await?
        else {
            return Ok(());
        };
        let uid = live.metadata.uid.clone();
        let value = crate::cluster::object::typed_value(live, &r.resource);
        if !self.env.adopt && !crate::cluster::inventory::is_owned(&value) {
            return Err(ClusterError::NotOurs {
                object: key.describe(),
                manager: crate::cluster::inventory::manager_of(&value),
                action: "delete and recreate",
            });
        }
        let dp = kube::api::DeleteParams::foreground();
        match cluster
            .call("delete", || key.describe(), || api.delete(&key.name, &dp))
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let deadline = super::own_deadline(ctx);
        let progress = |m: String| ctx.progress(m);
        cluster
            .wait_deleted(key, uid.as_deref(), deadline, &progress)
            .await?;
        // A server whose garbage collector does not hold the owner back still has the pods:
        // the GPUs are free only once they are gone.
        let selector = format!("{ISVC_POD_LABEL}={}", key.name);
        loop {
            let pods = list_objects(
                cluster,
                "v1",
                "Pod",
                key.namespace.as_deref(),
                Some(&selector),
            )
            .await?;
            if pods.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::Refused(format!(
                    "{} pods of {} are still there",
                    pods.len(),
                    key.describe()
                )));
            }
            ctx.progress(format!(
                "waiting for {} pods of {} to terminate",
                pods.len(),
                key.describe()
            ));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

impl Step for FreeGpus {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let changed = self.changed(ctx).await?;
            if changed.is_empty() {
                ctx.progress("no changed InferenceService holds GPUs");
                return Ok(StepDone::Succeeded);
            }
            let verb = if ctx.dry_run { "would free" } else { "freed" };
            let rows: Vec<Vec<String>> = changed
                .iter()
                .map(|c| {
                    vec![
                        c.key.namespace.clone().unwrap_or_default(),
                        c.key.name.clone(),
                        c.gpus.to_string(),
                        format!(
                            "{} and recreated by the next step: {}",
                            if ctx.dry_run {
                                "would be deleted"
                            } else {
                                "deleted"
                            },
                            c.why
                        ),
                    ]
                })
                .collect();
            if !ctx.dry_run {
                for c in &changed {
                    ctx.progress(format!(
                        "deleting {} to free its {} GPUs",
                        c.key.describe(),
                        c.gpus
                    ));
                    self.free(ctx, &c.key).await.map_err(|e| {
                        cluster_failure(
                            format!("failed to free the GPUs of {}", c.key.describe()),
                            e,
                        )
                    })?;
                }
            }
            ctx.output(StepOutput {
                title: format!("GPUs {verb} for changed InferenceServices"),
                columns: ["namespace", "InferenceService", "GPUs", "what"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
                rows,
            });
            Ok(StepDone::Succeeded)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gpus_held_counts_pods_bound_to_a_node_that_have_not_finished() {
        let pods = vec![
            json!({"spec": {"nodeName": "gpu-4x", "containers": [
                {"resources": {"requests": {"nvidia.com/gpu": "4"}, "limits": {"nvidia.com/gpu": "4"}}},
                {"name": "queue-proxy"}]}, "status": {"phase": "Running"}}),
            json!({"spec": {"nodeName": "gpu-1x", "containers": [{"resources": {"limits": {"nvidia.com/gpu": 1}}}]},
                   "status": {"phase": "Pending"}}),
            json!({"spec": {"nodeName": "gpu-1x", "containers": [{"resources": {"limits": {"nvidia.com/gpu": "2"}}}]},
                   "status": {"phase": "Succeeded"}}),
            json!({"spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "4"}}}]},
                   "status": {"phase": "Pending"}}),
        ];
        assert_eq!(gpus_held(&pods), 5);
        assert_eq!(gpus_held(&[]), 0);
    }

    #[test]
    fn a_pending_revision_behind_its_own_running_one_waits_for_its_gpus() {
        let running = json!({"spec": {"nodeName": "n", "containers": [
            {"resources": {"limits": {"nvidia.com/gpu": "4"}}}]}, "status": {"phase": "Running"}});
        let pending = json!({"spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "4"}}}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "reason": "Unschedulable", "message": "0/7 nodes are available: 1 Insufficient nvidia.com/gpu, 6 node(s) didn't match Pod's node affinity/selector."}]}});
        assert!(waits_for_own_gpus(&[running.clone(), pending.clone()]));
        assert!(
            !waits_for_own_gpus(std::slice::from_ref(&pending)),
            "no GPU node yet: nothing to free"
        );
        assert!(!waits_for_own_gpus(&[running]));
    }
}
