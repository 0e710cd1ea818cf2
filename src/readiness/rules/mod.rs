//! Kind-specific rules: core kinds have functions (one file per area), custom kinds are data
//! (`custom::RULES`). Dispatch is by group and kind; the API version is ignored.

pub(crate) mod batch;
pub(crate) mod core;
pub mod custom;
pub(crate) mod pod;
pub(crate) mod storage;
pub(crate) mod workloads;

use serde_json::Value;

use super::{Eval, GroupKind, Status, generic};

/// The kind's own verdict, or `None` to fall through to the generic `Ready`/no-status rules.
pub(crate) fn assess_kind(gk: &GroupKind, obj: &Value, ev: &Eval<'_, '_>) -> Option<Status> {
    let status = match (gk.group.as_str(), gk.kind.as_str()) {
        ("apps" | "extensions", "Deployment") => workloads::deployment(obj, ev),
        ("apps", "StatefulSet") => workloads::statefulset(obj, ev),
        ("apps" | "extensions", "DaemonSet") => workloads::daemonset(obj, ev),
        ("apps" | "extensions", "ReplicaSet") => workloads::replicaset(obj, ev),
        ("", "Pod") => pod::pod(obj, ev),
        ("batch", "Job") => batch::job(obj, ev),
        ("", "PersistentVolumeClaim") => storage::pvc(obj, ev),
        ("", "Service") => core::service(obj, ev),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => core::crd(obj),
        ("", "Namespace") => core::namespace(obj),
        ("", "Node") => core::node(obj),
        ("", "ConfigMap" | "Secret") | ("batch", "CronJob") => {
            Status::current("Resource is always ready")
        }
        ("policy", "PodDisruptionBudget") => {
            Status::current("observed by the disruption controller")
        }
        (group, kind) if custom::is_configuration_kind(group, kind) => {
            Status::current("configuration object (no status)")
        }
        _ => return custom::lookup(gk).map(|rule| custom::apply(rule, obj, ev)),
    };
    Some(status)
}

/// The reason an object with a deletionTimestamp is still there.
pub(crate) fn terminating(gk: &GroupKind, obj: &Value) -> Status {
    if gk.is("", "Namespace")
        && let Some(status) = core::namespace_terminating(obj)
    {
        return status;
    }
    generic::terminating(obj)
}
