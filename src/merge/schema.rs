//! The built-in merge schema: which lists of which core kinds merge by which key, following
//! the `patchMergeKey`/`patchStrategy` struct tags of `k8s.io/api`. Data only; never reads an
//! OpenAPI document. Kinds not listed here (custom resources, OpenShift kinds) have no schema,
//! so every list in them is replaced, as the API server and kustomize do.

/// The type of the object being patched (from its `apiVersion` and `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo<'a> {
    /// `apiVersion`, e.g. `apps/v1` or `v1`.
    pub api_version: &'a str,
    /// `kind`, e.g. `Deployment`.
    pub kind: &'a str,
}

impl<'a> TypeInfo<'a> {
    /// The type of a manifest, read from its `apiVersion` and `kind` fields (empty if absent).
    pub fn of(obj: &'a serde_json::Value) -> Self {
        Self {
            api_version: obj.get("apiVersion").and_then(|v| v.as_str()).unwrap_or(""),
            kind: obj.get("kind").and_then(|v| v.as_str()).unwrap_or(""),
        }
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &'a str {
        match self.api_version.split_once('/') {
            Some((g, _)) => g,
            None => "",
        }
    }
}

/// How a list field is patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStrategy {
    /// The patch's list replaces the target's (no `patchStrategy`, or unknown kind).
    Replace,
    /// Elements are objects merged by the value of this key (`patchStrategy: merge`).
    MergeByKey(&'static str),
    /// Elements are scalars; the patch adds values (`patchStrategy: merge` on `[]string`).
    MergePrimitive,
}

/// Groups and kinds whose schema is built in (`group/Kind`; core group has no prefix).
const KNOWN_KINDS: &[&str] = &[
    "Pod",
    "PodTemplate",
    "Service",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Endpoints",
    "ReplicationController",
    "LimitRange",
    "ResourceQuota",
    "Event",
    "apps/Deployment",
    "apps/ReplicaSet",
    "apps/DaemonSet",
    "apps/StatefulSet",
    "apps/ControllerRevision",
    "extensions/Deployment",
    "extensions/DaemonSet",
    "extensions/ReplicaSet",
    "extensions/Ingress",
    "batch/Job",
    "batch/CronJob",
    "rbac.authorization.k8s.io/Role",
    "rbac.authorization.k8s.io/ClusterRole",
    "rbac.authorization.k8s.io/RoleBinding",
    "rbac.authorization.k8s.io/ClusterRoleBinding",
    "networking.k8s.io/Ingress",
    "networking.k8s.io/NetworkPolicy",
    "networking.k8s.io/IngressClass",
    "policy/PodDisruptionBudget",
    "storage.k8s.io/StorageClass",
    "storage.k8s.io/CSIDriver",
    "storage.k8s.io/VolumeAttachment",
    "apiextensions.k8s.io/CustomResourceDefinition",
    "admissionregistration.k8s.io/MutatingWebhookConfiguration",
    "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
    "autoscaling/HorizontalPodAutoscaler",
    "scheduling.k8s.io/PriorityClass",
    "coordination.k8s.io/Lease",
    "apiregistration.k8s.io/APIService",
];

/// Whether `ty` has a built-in schema (a core Kubernetes kind).
pub fn is_known(ty: &TypeInfo<'_>) -> bool {
    let g = ty.group();
    KNOWN_KINDS.iter().any(|k| match k.split_once('/') {
        Some((kg, kk)) => kg == g && kk == ty.kind,
        None => g.is_empty() && *k == ty.kind,
    })
}

/// Where the pod template's `spec` sits in objects of this kind (field path from the root).
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "PodTemplate" => &["template", "spec"],
        "Deployment"
        | "ReplicaSet"
        | "DaemonSet"
        | "StatefulSet"
        | "Job"
        | "ReplicationController" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    })
}

/// Lists inside a `PodSpec` (path relative to the pod spec).
fn pod_spec_list(rel: &[&str]) -> ListStrategy {
    use ListStrategy::*;
    const CONTAINERS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];
    match rel {
        [c] if CONTAINERS.contains(c) => MergeByKey("name"),
        ["volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims"] => {
            MergeByKey("name")
        }
        ["hostAliases"] => MergeByKey("ip"),
        ["topologySpreadConstraints"] => MergeByKey("topologyKey"),
        [c, field] if CONTAINERS.contains(c) => match *field {
            "env" => MergeByKey("name"),
            "ports" => MergeByKey("containerPort"),
            "volumeMounts" => MergeByKey("mountPath"),
            "volumeDevices" => MergeByKey("devicePath"),
            _ => Replace,
        },
        _ => Replace,
    }
}

/// Lists inside an `ObjectMeta` (path relative to the metadata).
fn metadata_list(rel: &[&str]) -> ListStrategy {
    match rel {
        ["ownerReferences"] => ListStrategy::MergeByKey("uid"),
        ["finalizers"] => ListStrategy::MergePrimitive,
        _ => ListStrategy::Replace,
    }
}

/// How the list at `path` (field names from the object root) of an object of type `ty` is
/// patched.
pub fn list_strategy(ty: &TypeInfo<'_>, path: &[&str]) -> ListStrategy {
    if !is_known(ty) {
        return ListStrategy::Replace;
    }
    if let Some(rel) = path.strip_prefix(&["metadata"][..]) {
        return metadata_list(rel);
    }
    if let Some(ps) = pod_spec_path(ty.kind) {
        if let Some(rel) = path.strip_prefix(ps) {
            return pod_spec_list(rel);
        }
        // The pod template's metadata sits beside its spec.
        let (_, parent) = ps.split_last().unwrap_or((&"", &[]));
        if let Some(rel) = path
            .strip_prefix(parent)
            .and_then(|r| r.strip_prefix(&["metadata"][..]))
            && !parent.is_empty()
        {
            return metadata_list(rel);
        }
    }
    match (ty.kind, path) {
        ("Service", ["spec", "ports"]) => ListStrategy::MergeByKey("port"),
        ("ServiceAccount", ["secrets"]) => ListStrategy::MergeByKey("name"),
        ("Node", ["status", "addresses"]) => ListStrategy::MergeByKey("type"),
        (_, ["status", "conditions"]) => ListStrategy::MergeByKey("type"),
        _ => ListStrategy::Replace,
    }
}

/// Whether the map at `path` carries `patchStrategy: retainKeys` (pod volumes' sources).
pub fn retains_keys(ty: &TypeInfo<'_>, path: &[&str]) -> bool {
    is_known(ty)
        && pod_spec_path(ty.kind)
            .and_then(|ps| path.strip_prefix(ps))
            .is_some_and(|rel| matches!(rel, ["volumes"] | ["resourceClaims"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_strategy_table() {
        let dep = TypeInfo {
            api_version: "apps/v1",
            kind: "Deployment",
        };
        let pod = TypeInfo {
            api_version: "v1",
            kind: "Pod",
        };
        let cj = TypeInfo {
            api_version: "batch/v1",
            kind: "CronJob",
        };
        let svc = TypeInfo {
            api_version: "v1",
            kind: "Service",
        };
        let cr = TypeInfo {
            api_version: "example.com/v1",
            kind: "Deployment",
        };
        let t = |ty, p: &[&str]| list_strategy(ty, p);
        use ListStrategy::*;
        assert_eq!(
            t(&dep, &["spec", "template", "spec", "containers"]),
            MergeByKey("name")
        );
        assert_eq!(
            t(&dep, &["spec", "template", "spec", "containers", "env"]),
            MergeByKey("name")
        );
        assert_eq!(
            t(&dep, &["spec", "template", "spec", "containers", "args"]),
            Replace
        );
        assert_eq!(
            t(&dep, &["spec", "template", "spec", "tolerations"]),
            Replace
        );
        assert_eq!(
            t(&dep, &["spec", "template", "metadata", "finalizers"]),
            MergePrimitive
        );
        assert_eq!(
            t(&pod, &["spec", "initContainers", "ports"]),
            MergeByKey("containerPort")
        );
        assert_eq!(
            t(&pod, &["spec", "containers", "volumeMounts"]),
            MergeByKey("mountPath")
        );
        assert_eq!(
            t(
                &cj,
                &["spec", "jobTemplate", "spec", "template", "spec", "volumes"]
            ),
            MergeByKey("name")
        );
        assert_eq!(t(&svc, &["spec", "ports"]), MergeByKey("port"));
        assert_eq!(t(&pod, &["metadata", "ownerReferences"]), MergeByKey("uid"));
        assert_eq!(t(&cr, &["spec", "template", "spec", "containers"]), Replace);
        assert!(retains_keys(&pod, &["spec", "volumes"]));
        assert!(!retains_keys(&cr, &["spec", "volumes"]));
    }
}
