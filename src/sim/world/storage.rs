//! Storage: the CSI provisioner and PV binder. A PVC binds (a PV `pvc-<uid>` is created, the PVC gets
//! `spec.volumeName`, the bind annotations and phase Bound) after `delays.volume_provisioning` when
//! its StorageClass (or the default one) exists — at once for `Immediate`, and for
//! `WaitForFirstConsumer` only once a scheduled pod uses it (the volume lands in that node's zone).
//! Without a usable StorageClass the PVC stays Pending.

use serde_json::{Value, json};

use super::informer::{NODE, POD, PV, PVC, STORAGE_CLASS};
use super::{Ctx, Wake, obj};

pub(super) fn default_class(ctx: &Ctx) -> Option<Value> {
    ctx.caches
        .list(STORAGE_CLASS)
        .values()
        .find(|s| crate::sim::api::write::is_default_storage_class(s))
        .cloned()
}

/// The PV controller's reclaim: a bound PV whose claim is gone (deleted, or recreated with another
/// uid) is deleted with its `pv-protection` finalizer released when its reclaim policy is
/// `Delete` (the CSI driver deletes the volume), and becomes `Released` when it is `Retain`.
async fn reclaim(ctx: &Ctx, wake: &mut Wake) {
    if !ctx.caches.is_synced(PVC) {
        return;
    }
    for pv in ctx.caches.list(PV).values() {
        let claim = &pv["spec"]["claimRef"];
        let Some(claim_name) = claim["name"].as_str() else {
            continue;
        };
        let ns = claim["namespace"].as_str().unwrap_or_default();
        let alive = ctx
            .caches
            .get(PVC, ns, claim_name)
            .is_some_and(|c| claim["uid"].is_null() || claim["uid"] == c["metadata"]["uid"]);
        if alive {
            continue;
        }
        if pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" {
            if pv["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
            {
                let patch = json!({"metadata": {"finalizers": null}});
                ctx.note(ctx.patch(PV, pv, patch).await, wake);
            }
            if !obj::is_deleting(pv) {
                ctx.note(ctx.delete(PV, "", obj::name(pv)).await, wake);
            }
        } else {
            let status = json!({"phase": "Released"});
            ctx.note(ctx.patch_status(PV, pv, status).await, wake);
        }
    }
}

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    reclaim(ctx, wake).await;
    let pods = ctx.caches.list(POD);
    for pvc in ctx.caches.list(PVC).values() {
        if obj::is_deleting(pvc) || pvc["status"]["phase"] == "Bound" {
            continue;
        }
        let (ns, name) = (obj::namespace(pvc), obj::name(pvc));
        let class = match pvc["spec"]["storageClassName"].as_str() {
            Some(n) => ctx.caches.get(STORAGE_CLASS, "", n),
            None => default_class(ctx),
        };
        let Some(class) = class else {
            ctx.note(
                ctx.patch_status(PVC, pvc, json!({"phase": "Pending"}))
                    .await,
                wake,
            );
            continue;
        };
        let wffc = class["volumeBindingMode"] == "WaitForFirstConsumer";
        let consumer = pods.values().find(|p| {
            obj::namespace(p) == ns
                && !p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
                && p["spec"]["volumes"].as_array().is_some_and(|vs| {
                    vs.iter()
                        .any(|v| v["persistentVolumeClaim"]["claimName"] == name)
                })
        });
        let node = consumer.and_then(|p| {
            ctx.caches
                .get(NODE, "", p["spec"]["nodeName"].as_str().unwrap_or_default())
        });
        if wffc && node.is_none() {
            ctx.note(
                ctx.patch_status(PVC, pvc, json!({"phase": "Pending"}))
                    .await,
                wake,
            );
            continue;
        }
        // The provisioning clock starts when binding may begin: first sight, or the consumer's scheduling.
        let since = match consumer {
            Some(p) => obj::condition(p, "PodScheduled")
                .and_then(|c| c["lastTransitionTime"].as_str())
                .map(str::to_string),
            None => pvc["metadata"]["creationTimestamp"]
                .as_str()
                .map(str::to_string),
        };
        if !ctx.due(
            since.as_deref(),
            ctx.scenario.delays.volume_provisioning,
            wake,
        ) {
            continue;
        }
        let zone = node
            .as_ref()
            .and_then(|n| obj::label(n, "topology.kubernetes.io/zone").map(str::to_string))
            .or_else(|| {
                ctx.scenario
                    .cluster
                    .machine_sets
                    .first()
                    .map(|m| m.zone.clone())
            })
            .unwrap_or_default();
        let pv_name = format!("pvc-{}", obj::uid(pvc));
        let size = pvc["spec"]["resources"]["requests"]["storage"].clone();
        let access = pvc["spec"]["accessModes"].clone();
        let provisioner = class["provisioner"].as_str().unwrap_or("ebs.csi.aws.com");
        let mut pv = json!({
            "metadata": {
                "name": pv_name,
                "annotations": {"pv.kubernetes.io/provisioned-by": provisioner,
                                "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                                "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                "finalizers": ["kubernetes.io/pv-protection"],
            },
            "spec": {
                "accessModes": access,
                "capacity": {"storage": size},
                "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name,
                             "namespace": ns, "uid": obj::uid(pvc),
                             "resourceVersion": pvc["metadata"]["resourceVersion"]},
                "csi": {"driver": provisioner, "fsType": "ext4",
                        "volumeHandle": format!("vol-0{}", obj::hash_chars(obj::uid(pvc), 16))},
                "persistentVolumeReclaimPolicy": class["reclaimPolicy"].as_str().unwrap_or("Delete"),
                "storageClassName": obj::name(&class),
                "volumeMode": pvc["spec"]["volumeMode"].as_str().unwrap_or("Filesystem"),
            },
            "status": {"phase": "Bound"},
        });
        if !zone.is_empty() {
            pv["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}});
        }
        ctx.note(ctx.create(PV, pv).await, wake);
        let mut annotations = json!({
            "pv.kubernetes.io/bind-completed": "yes",
            "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.beta.kubernetes.io/storage-provisioner": provisioner,
            "volume.kubernetes.io/storage-provisioner": provisioner,
            "sim.democtl.io/zone": zone,
        });
        if let Some(n) = &node {
            annotations["volume.kubernetes.io/selected-node"] = json!(obj::name(n));
        }
        let mut patch =
            json!({"metadata": {"annotations": annotations}, "spec": {"volumeName": pv_name}});
        if pvc["spec"]["storageClassName"].is_null() {
            patch["spec"]["storageClassName"] = json!(obj::name(&class));
        }
        ctx.note(ctx.patch(PVC, pvc, patch).await, wake);
        let status = json!({"phase": "Bound", "accessModes": pvc["spec"]["accessModes"], "capacity": {"storage": size}});
        ctx.note(ctx.patch_status(PVC, pvc, status).await, wake);
    }
}
