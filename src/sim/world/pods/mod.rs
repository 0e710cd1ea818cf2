//! Scheduler and kubelet for pods. The scheduler binds pending pods to Ready nodes that tolerate
//! their taints, match nodeSelector/required node affinity, have enough allocatable `nvidia.com/gpu`
//! and can reach their volumes; otherwise it sets PodScheduled=False/Unschedulable with the
//! kube-scheduler message ("0/6 nodes are available: 3 Insufficient nvidia.com/gpu, …").
//! The kubelet pulls images (or stays in ErrImagePull/ImagePullBackOff for images named in
//! `failures.image_pull_backoff`), starts containers, turns pods Ready, and plays each pod's
//! behaviour, writing its log to the `sim.democtl.io/log` annotation:
//! - `model-download`: prints per-file download progress, then succeeds (or fails as injected);
//! - `benchmark`: prints GuideLLM-style progress and a one-line JSON results document last;
//! - `run`: any other Job pod, succeeds after `delays.job`;
//! - `serve`: long-running; a KServe predictor crash-loops until its model's download Job is
//!   Complete, then loads the model for `delays.model_load` and becomes Ready.

mod behaviour;
mod kubelet;
mod scheduler;

use serde_json::Value;

use super::informer::POD;
use super::{Ctx, Wake, obj};

fn containers(pod: &Value) -> Vec<&Value> {
    pod["spec"]["containers"]
        .as_array()
        .map(|c| c.iter().collect())
        .unwrap_or_default()
}

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    let pods = ctx.caches.list(POD);
    for pod in pods.values() {
        if obj::is_deleting(pod) {
            // The kubelet has stopped the containers: remove the pod for good.
            let no_finalizers = pod["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty());
            if no_finalizers {
                let r = ctx
                    .delete_now(POD, obj::namespace(pod), obj::name(pod))
                    .await;
                ctx.note(r, wake);
            }
            continue;
        }
        let phase = pod["status"]["phase"].as_str().unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            continue;
        }
        if pod["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            scheduler::schedule(ctx, pod, &pods, wake).await;
        } else {
            kubelet::kubelet(ctx, pod, wake).await;
        }
    }
}
