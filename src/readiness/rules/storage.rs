//! PersistentVolumeClaims: Bound is Current, Lost is Failed, Pending is InProgress — except a
//! Pending claim whose StorageClass binds `WaitForFirstConsumer` and that no pod has claimed yet
//! (no `volume.kubernetes.io/selected-node` annotation): it binds only once its consumer is
//! scheduled, so waiting for it before creating that consumer would deadlock
//! (helm/helm#10196). Such a claim is Current with reason "waits for first consumer".

use serde_json::Value;

use super::super::evidence::events_for;
use super::super::generic::str_at;
use super::super::{Eval, Status};

/// The annotation the scheduler sets once a consumer pod has been placed.
pub const SELECTED_NODE_ANNOTATION: &str = "volume.kubernetes.io/selected-node";
/// The annotation that marks the default StorageClass.
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// The status of one PVC.
pub(crate) fn pvc(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    match str_at(obj, "/status/phase") {
        Some("Bound") => Status::current("PVC is Bound"),
        Some("Lost") => Status::failed("PVC lost its PersistentVolume"),
        phase => pending(obj, phase.unwrap_or("unknown"), ev),
    }
}

fn pending(obj: &Value, phase: &str, ev: &Eval<'_, '_>) -> Status {
    let selected = obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SELECTED_NODE_ANNOTATION))
        .and_then(Value::as_str);
    let events = events_for(obj, ev.ctx.events);
    let latest = events.last();
    if let Some(node) = selected {
        let mut text = format!("PVC is not Bound. phase: {phase}; provisioning for node {node}");
        if let Some(e) = latest.filter(|e| e.is_warning()) {
            text.push_str(&format!("; {}", e.line()));
        }
        return Status::in_progress(text);
    }
    let waits = match binding_mode(obj, ev.ctx.storage_classes) {
        Some(mode) => mode == "WaitForFirstConsumer",
        // No class known: the PV controller's own event says so.
        None => events.iter().any(|e| e.reason == "WaitForFirstConsumer"),
    };
    if waits {
        return Status::current(
            "waits for first consumer (StorageClass binds WaitForFirstConsumer)",
        );
    }
    let mut text = format!("PVC is not Bound. phase: {phase}");
    if let Some(e) = latest {
        text.push_str(&format!("; {}", e.line()));
    }
    Status::in_progress(text)
}

/// The claim's StorageClass `volumeBindingMode` (`Immediate` when the class does not say), from
/// `spec.storageClassName` or, when unset, the default class. `None` when the class is unknown.
pub fn binding_mode<'c>(pvc: &Value, classes: &'c [Value]) -> Option<&'c str> {
    let class = match pvc.pointer("/spec/storageClassName") {
        // An explicit "" means "no class": static binding, never WaitForFirstConsumer.
        Some(Value::String(name)) if name.is_empty() => return Some("Immediate"),
        Some(Value::String(name)) => classes
            .iter()
            .find(|c| str_at(c, "/metadata/name") == Some(name)),
        _ => classes.iter().find(|c| {
            c.pointer("/metadata/annotations")
                .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                .and_then(Value::as_str)
                == Some("true")
        }),
    }?;
    Some(str_at(class, "/volumeBindingMode").unwrap_or("Immediate"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::AssessContext;
    use super::super::super::testutil::{Want, check, ctx_at, now, objs};

    // kstatus TestPVCStatus.
    const KSTATUS_PVC: &[(&str, &str, Want)] = &[
        (
            "pvcNoStatus",
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  generation: 1\n  name: test\n",
            Want::InProgress("PVC is not Bound. phase: unknown"),
        ),
        (
            "pvcBound",
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  generation: 1\n  name: test\nstatus:\n  phase: Bound\n",
            Want::Current(""),
        ),
        (
            "pvcLost",
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: test}\nstatus: {phase: Lost}\n",
            Want::Failed("lost"),
        ),
    ];

    #[test]
    fn kstatus_pvc_vectors() {
        check(KSTATUS_PVC, &ctx_at());
    }

    const CLASSES: &str = "- {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: gp3-csi, annotations: {storageclass.kubernetes.io/is-default-class: 'true'}}, volumeBindingMode: WaitForFirstConsumer}\n- {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: fast}, volumeBindingMode: Immediate}\n- {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: legacy}}\n";

    #[test]
    fn wait_for_first_consumer_does_not_block() {
        let classes = objs(CLASSES);
        let ctx = AssessContext::new(now()).with_storage_classes(&classes);
        check(
            &[
                (
                    "default class waits",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models}\nstatus: {phase: Pending}\n",
                    Want::Current("waits for first consumer"),
                ),
                (
                    "named wffc class",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models}\nspec: {storageClassName: gp3-csi}\nstatus: {phase: Pending}\n",
                    Want::Current("waits for first consumer"),
                ),
                (
                    "consumer scheduled: provisioning",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models, annotations: {volume.kubernetes.io/selected-node: ip-10-0-1-5}}\nspec: {storageClassName: gp3-csi}\nstatus: {phase: Pending}\n",
                    Want::InProgress("provisioning for node ip-10-0-1-5"),
                ),
                (
                    "immediate class pending",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models}\nspec: {storageClassName: fast}\nstatus: {phase: Pending}\n",
                    Want::InProgress("phase: Pending"),
                ),
                (
                    "class without mode is immediate",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models}\nspec: {storageClassName: legacy}\nstatus: {phase: Pending}\n",
                    Want::InProgress("phase: Pending"),
                ),
                (
                    "empty class name is static binding",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models}\nspec: {storageClassName: ''}\nstatus: {phase: Pending}\n",
                    Want::InProgress("phase: Pending"),
                ),
                (
                    "unknown class",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models}\nspec: {storageClassName: nope}\nstatus: {phase: Pending}\n",
                    Want::InProgress("phase: Pending"),
                ),
            ],
            &ctx,
        );
    }

    #[test]
    fn events_explain_pending_claims() {
        let events = objs(
            "- {apiVersion: v1, kind: Event, type: Normal, reason: WaitForFirstConsumer, message: waiting for first consumer to be created before binding, involvedObject: {kind: PersistentVolumeClaim, name: models, namespace: ai}, lastTimestamp: '2026-01-01T00:09:00Z'}\n- {apiVersion: v1, kind: Event, type: Warning, reason: ProvisioningFailed, message: 'failed to provision volume: quota exceeded', involvedObject: {kind: PersistentVolumeClaim, name: data, namespace: ai}, lastTimestamp: '2026-01-01T00:09:00Z'}\n",
        );
        let ctx = AssessContext::new(now()).with_events(&events);
        check(
            &[
                (
                    "wffc known from the event",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: models, namespace: ai}\nstatus: {phase: Pending}\n",
                    Want::Current("waits for first consumer"),
                ),
                (
                    "provisioning failure shown",
                    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: ai}\nstatus: {phase: Pending}\n",
                    Want::InProgress(
                        "Warning ProvisioningFailed: failed to provision volume: quota exceeded",
                    ),
                ),
            ],
            &ctx,
        );
    }
}
