//! Core kinds without pods: Service, CustomResourceDefinition, Namespace, Node.

use serde_json::Value;

use super::super::generic::{condition, conditions, str_at};
use super::super::{Eval, Status};

/// Service: ExternalName and ClusterIP/NodePort Services are Current; a LoadBalancer needs a
/// cluster IP (kstatus) and, unless `wait_for_load_balancer` is off or the Service has
/// `externalIPs` (Helm), an ingress point in `status.loadBalancer.ingress`.
pub(crate) fn service(obj: &Value, ev: &Eval<'_, '_>) -> Status {
    match str_at(obj, "/spec/type") {
        Some("ExternalName") => Status::current(format!(
            "ExternalName {}",
            str_at(obj, "/spec/externalName").unwrap_or("")
        )),
        Some("LoadBalancer") => {
            if str_at(obj, "/spec/clusterIP").is_none_or(str::is_empty) {
                return Status::in_progress("No cluster IP assigned yet");
            }
            let has_external_ips = obj
                .pointer("/spec/externalIPs")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if !ev.ctx.wait_for_load_balancer || has_external_ips {
                return Status::current("Service is ready");
            }
            let ingress = obj
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .and_then(|a| a.first());
            match ingress {
                Some(i) => Status::current(format!(
                    "load balancer at {}",
                    str_at(i, "/hostname")
                        .or_else(|| str_at(i, "/ip"))
                        .unwrap_or("(unnamed ingress)")
                )),
                None => Status::in_progress("waiting for the load balancer's address"),
            }
        }
        _ => Status::current("Service is ready"),
    }
}

/// CustomResourceDefinition (kstatus): `NamesAccepted=False` → Failed; `Established=False` for a
/// reason other than `Installing` → Failed; `Established=True` → Current; else InProgress.
pub(crate) fn crd(obj: &Value) -> Status {
    for c in conditions(obj) {
        match (c.type_, c.status) {
            ("NamesAccepted", "False") => {
                return Status::failed(format!(
                    "names not accepted: {}",
                    c.explain("NamesAccepted=False")
                ));
            }
            ("Established", "False") if c.reason != Some("Installing") => {
                return Status::failed(format!(
                    "not established: {}",
                    c.explain("Established=False")
                ));
            }
            ("Established", "True") => return Status::current("CRD is established"),
            _ => {}
        }
    }
    Status::in_progress("Installing")
}

/// Namespace: `Active` (or no phase yet) is Current; `Terminating` without a deletionTimestamp
/// cannot happen, the deletionTimestamp path handles it.
pub(crate) fn namespace(obj: &Value) -> Status {
    match str_at(obj, "/status/phase") {
        None | Some("Active") => Status::current("Namespace is active"),
        Some(other) => Status::in_progress(format!("phase {other}")),
    }
}

/// Why a deleting Namespace is still there, from the namespace controller's conditions: content
/// left ("Some resources are remaining: inferenceservices.serving.kserve.io has 1 resource
/// instances"), finalizers left ("Some content in the namespace has finalizers remaining: …"),
/// discovery or deletion failures.
pub(crate) fn namespace_terminating(obj: &Value) -> Option<Status> {
    let lines: Vec<String> = conditions(obj)
        .iter()
        .filter(|c| c.is_true() && c.type_.starts_with("Namespace"))
        .map(|c| c.explain(c.type_))
        .collect();
    (!lines.is_empty()).then(|| Status::Terminating {
        reason: Some(lines.join("; ")),
    })
}

/// Node: the kubelet's `Ready` condition. A cordoned node is still Current (it runs what it
/// has), with the reason saying so.
pub(crate) fn node(obj: &Value) -> Status {
    let conds = conditions(obj);
    let Some(ready) = condition(&conds, "Ready") else {
        return Status::in_progress("kubelet has not reported Ready yet");
    };
    if !ready.is_true() {
        return Status::in_progress(format!(
            "Node not Ready: {}",
            ready.explain(&format!("Ready={}", ready.status))
        ));
    }
    if obj.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        return Status::current("Node is Ready (cordoned)");
    }
    Status::current("Node is Ready")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::AssessContext;
    use super::super::super::testutil::{Want, check, ctx_at, now};

    // kstatus TestServiceStatus (deviation marked).
    const SERVICES: &[(&str, &str, Want)] = &[
        (
            "serviceDefault",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: test\n  generation: 1\n",
            Want::Current(""),
        ),
        (
            "serviceNodePort",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: test\n  generation: 1\nspec:\n  type: NodePort\n",
            Want::Current(""),
        ),
        (
            "serviceLBnok",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: test\n  generation: 1\nspec:\n  type: LoadBalancer\n",
            Want::InProgress("No cluster IP"),
        ),
        (
            // Deviation by default: waits for status.loadBalancer.ingress (kstatus: Current).
            "serviceLBok",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: test\n  generation: 1\nspec:\n  type: LoadBalancer\n  clusterIP: \"1.2.3.4\"\n",
            Want::InProgress("load balancer"),
        ),
        (
            "lb with ingress",
            "apiVersion: v1\nkind: Service\nmetadata: {name: t}\nspec: {type: LoadBalancer, clusterIP: 1.2.3.4}\nstatus: {loadBalancer: {ingress: [{hostname: a1.elb.amazonaws.com}]}}\n",
            Want::Current("a1.elb.amazonaws.com"),
        ),
        (
            "lb with external IPs",
            "apiVersion: v1\nkind: Service\nmetadata: {name: t}\nspec: {type: LoadBalancer, clusterIP: 1.2.3.4, externalIPs: [5.6.7.8]}\n",
            Want::Current(""),
        ),
        (
            "external name",
            "apiVersion: v1\nkind: Service\nmetadata: {name: t}\nspec: {type: ExternalName, externalName: db.example.com}\n",
            Want::Current("db.example.com"),
        ),
    ];

    #[test]
    fn service_vectors() {
        check(SERVICES, &ctx_at());
        let mut lax = AssessContext::new(now());
        lax.wait_for_load_balancer = false;
        check(&[(SERVICES[3].0, SERVICES[3].1, Want::Current(""))], &lax);
    }

    // kstatus TestCRDStatus.
    const CRDS: &[(&str, &str, Want)] = &[
        (
            "crdNoConditions",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  generation: 1\n",
            Want::InProgress("Installing"),
        ),
        (
            "crdInstalling",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  generation: 1\nstatus:\n  conditions:\n  - type: NamesAccepted\n    status: \"True\"\n    reason: NoConflicts\n  - type: Established\n    status: \"False\"\n    reason: Installing\n",
            Want::InProgress("Installing"),
        ),
        (
            "crdNamesNotAccepted",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  generation: 1\nstatus:\n  conditions:\n  - type: NamesAccepted\n    status: \"False\"\n    reason: SomeReason\n",
            Want::Failed("SomeReason"),
        ),
        (
            "crdEstablished",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  generation: 1\nstatus:\n  conditions:\n  - type: NamesAccepted\n    status: \"True\"\n    reason: NoConflicts\n  - type: Established\n    status: \"True\"\n    reason: InitialNamesAccepted\n",
            Want::Current(""),
        ),
        (
            "crdNotEstablishedOtherReason",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nstatus:\n  conditions:\n  - {type: Established, status: 'False', reason: Conflict, message: name clash}\n",
            Want::Failed("Conflict: name clash"),
        ),
    ];

    #[test]
    fn crd_vectors() {
        check(CRDS, &ctx_at());
    }

    #[test]
    fn namespace_and_node() {
        check(
            &[
                (
                    "ns active",
                    "apiVersion: v1\nkind: Namespace\nmetadata: {name: ai}\nstatus: {phase: Active}\n",
                    Want::Current(""),
                ),
                (
                    "ns no status",
                    "apiVersion: v1\nkind: Namespace\nmetadata: {name: ai}\n",
                    Want::Current(""),
                ),
                (
                    "ns terminating with content",
                    "apiVersion: v1\nkind: Namespace\nmetadata: {name: ai, deletionTimestamp: '2026-01-01T00:00:00Z'}\nstatus:\n  phase: Terminating\n  conditions:\n  - {type: NamespaceDeletionDiscoveryFailure, status: 'False'}\n  - {type: NamespaceContentRemaining, status: 'True', reason: SomeResourcesRemain, message: 'Some resources are remaining: inferenceservices.serving.kserve.io has 1 resource instances'}\n  - {type: NamespaceFinalizersRemaining, status: 'True', reason: SomeFinalizersRemain, message: 'Some content in the namespace has finalizers remaining: serving.kserve.io/inferenceservice in 1 resource instances'}\n",
                    Want::Terminating(
                        "SomeResourcesRemain: Some resources are remaining: inferenceservices.serving.kserve.io has 1 resource instances; SomeFinalizersRemain: Some content",
                    ),
                ),
                (
                    "ns terminating, nothing reported",
                    "apiVersion: v1\nkind: Namespace\nmetadata: {name: ai, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [kubernetes]}\n",
                    Want::Terminating("kubernetes"),
                ),
                (
                    "node ready",
                    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {conditions: [{type: MemoryPressure, status: 'False'}, {type: Ready, status: 'True', reason: KubeletReady}]}\n",
                    Want::Current("Node is Ready"),
                ),
                (
                    "node cordoned",
                    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {unschedulable: true}\nstatus: {conditions: [{type: Ready, status: 'True'}]}\n",
                    Want::Current("cordoned"),
                ),
                (
                    "node not ready",
                    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {conditions: [{type: Ready, status: 'False', reason: KubeletNotReady, message: 'container runtime network not ready'}]}\n",
                    Want::InProgress("KubeletNotReady: container runtime network not ready"),
                ),
                (
                    "node unknown",
                    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {conditions: [{type: Ready, status: Unknown, reason: NodeStatusUnknown}]}\n",
                    Want::InProgress("NodeStatusUnknown"),
                ),
                (
                    "node new",
                    "apiVersion: v1\nkind: Node\nmetadata: {name: n}\n",
                    Want::InProgress("not reported"),
                ),
                (
                    "configmap",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
                    Want::Current("always ready"),
                ),
                (
                    "secret",
                    "apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n",
                    Want::Current("always ready"),
                ),
            ],
            &ctx_at(),
        );
    }
}
