//! GPU MachineSets derived from the cluster's own worker MachineSet (pure).
//!
//! The original scripts rendered MachineSet templates with envsubst from `items[0]` of the
//! MachineSets (AMI, IAM profile, subnets, zone, `${CLUSTER_NAME}` eight times per file). Here
//! the worker MachineSet is cloned as a whole — provider spec included, so AMI, subnets,
//! security groups, IAM profile and user data are exactly the worker's — and only the instance
//! type, root volume, name, labels, taints and replicas change. No network, no templates.

use serde_json::{Map, Value, json};

use crate::stage::params::GpuMachineSetSpec;

/// Namespace of the Machine API.
pub const MACHINE_API_NAMESPACE: &str = "openshift-machine-api";
/// Label on MachineSet, Machine and template naming the cluster's infrastructure.
pub const LABEL_CLUSTER: &str = "machine.openshift.io/cluster-api-cluster";
/// Label selecting a MachineSet's Machines.
pub const LABEL_MACHINESET: &str = "machine.openshift.io/cluster-api-machineset";
/// Machine role label of the template (`worker`).
pub const LABEL_ROLE: &str = "machine.openshift.io/cluster-api-machine-role";
/// Machine type label of the template (`worker`).
pub const LABEL_TYPE: &str = "machine.openshift.io/cluster-api-machine-type";
/// Ownership label democtl's apply puts on what it created.
const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// Why no GPU MachineSet can be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineSetError {
    #[error("no worker MachineSet to clone in `openshift-machine-api`")]
    NoWorker { found: Vec<String> },
    #[error("MachineSet `{name}` does not exist in `openshift-machine-api`")]
    SourceMissing { name: String, found: Vec<String> },
    #[error("worker MachineSet `{name}` has no AWS provider spec")]
    NotAws { name: String, provider_kind: String },
}

impl MachineSetError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            MachineSetError::NoWorker { found } if found.is_empty() => {
                "the cluster has no MachineSets (a single-node or user-provisioned cluster?); add GPU nodes yourself and skip this stage's GPU steps".into()
            }
            MachineSetError::NoWorker { found } => format!(
                "found only {}; name one with `source:` in the stage file",
                list(found)
            ),
            MachineSetError::SourceMissing { found, .. } => {
                format!("the MachineSets are {}", list(found))
            }
            MachineSetError::NotAws { provider_kind, .. } => format!(
                "GPU provisioning supports AWS only (the provider spec is `{provider_kind}`); provision GPU nodes yourself"
            ),
        })
    }
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn name(ms: &Value) -> &str {
    ms.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Whether a MachineSet is a plain worker set (role worker, not created by democtl).
pub fn is_worker(ms: &Value) -> bool {
    let role = str_at(
        ms,
        &format!("/spec/template/metadata/labels/{}", escape(LABEL_ROLE)),
    );
    let managed = str_at(
        ms,
        &format!("/metadata/labels/{}", escape(LABEL_MANAGED_BY)),
    );
    role == Some("worker") && managed != Some("democtl")
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The MachineSet to clone: `source` by name, else the first worker MachineSet by name.
pub fn pick_source<'a>(
    machinesets: &'a [Value],
    source: Option<&str>,
) -> Result<&'a Value, MachineSetError> {
    let mut found: Vec<String> = machinesets.iter().map(|m| name(m).to_string()).collect();
    found.sort();
    if let Some(wanted) = source {
        return machinesets
            .iter()
            .find(|m| name(m) == wanted)
            .ok_or_else(|| MachineSetError::SourceMissing {
                name: wanted.to_string(),
                found,
            });
    }
    let mut workers: Vec<&Value> = machinesets.iter().filter(|m| is_worker(m)).collect();
    workers.sort_by(|a, b| name(a).cmp(name(b)));
    workers
        .first()
        .copied()
        .ok_or(MachineSetError::NoWorker { found })
}

/// Availability zone of an AWS MachineSet.
pub fn zone_of(ms: &Value) -> Option<&str> {
    str_at(
        ms,
        "/spec/template/spec/providerSpec/value/placement/availabilityZone",
    )
}

/// Infrastructure name of a MachineSet (its `cluster-api-cluster` label).
pub fn infra_of(ms: &Value) -> Option<&str> {
    str_at(ms, &format!("/metadata/labels/{}", escape(LABEL_CLUSTER)))
}

/// `<infra>-<suffix>-<zone>` (the OpenShift installer's naming pattern).
pub fn gpu_name(infra: &str, suffix: &str, zone: &str) -> String {
    format!("{infra}-{suffix}-{zone}")
}

/// The GPU MachineSet for `spec`, cloned from `source`. `infra` is the cluster's
/// infrastructure name (Infrastructure `cluster`).
pub fn clone_for(
    source: &Value,
    spec: &GpuMachineSetSpec,
    infra: &str,
) -> Result<Value, MachineSetError> {
    let source_name = name(source).to_string();
    let provider_kind = str_at(source, "/spec/template/spec/providerSpec/value/kind").unwrap_or("");
    if provider_kind != "AWSMachineProviderConfig" {
        return Err(MachineSetError::NotAws {
            name: source_name,
            provider_kind: if provider_kind.is_empty() {
                "none".into()
            } else {
                provider_kind.into()
            },
        });
    }
    let zone = zone_of(source).unwrap_or("");
    let ms_name = if zone.is_empty() {
        format!("{infra}-{}", spec.suffix)
    } else {
        gpu_name(infra, &spec.suffix, zone)
    };

    let mut provider = source
        .pointer("/spec/template/spec/providerSpec/value")
        .cloned()
        .unwrap_or_else(|| json!({}));
    // The installer writes `metadata: {creationTimestamp: null}` into provider specs; a null is
    // "unset" to the API server, which drops it from an apply, so sending it would make every
    // apply look like a change.
    crate::cluster::diff::drop_nulls(&mut provider);
    provider["instanceType"] = json!(spec.instance_type);
    if let Some(size) = spec.root_volume_gib
        && let Some(devices) = provider
            .get_mut("blockDevices")
            .and_then(Value::as_array_mut)
        && let Some(root) = devices
            .iter_mut()
            .find(|d| d.get("deviceName").is_none())
            .and_then(|d| d.get_mut("ebs"))
    {
        root["volumeSize"] = json!(size);
    }
    // The tags naming the MachineSet are the installer's; keep the cluster's ownership tag only.
    if let Some(tags) = provider.get_mut("tags").and_then(Value::as_array_mut) {
        tags.retain(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("kubernetes.io/cluster/"))
        });
    }

    let role = str_at(
        source,
        &format!("/spec/template/metadata/labels/{}", escape(LABEL_ROLE)),
    )
    .unwrap_or("worker");
    let mtype = str_at(
        source,
        &format!("/spec/template/metadata/labels/{}", escape(LABEL_TYPE)),
    )
    .unwrap_or("worker");

    let node_labels: Map<String, Value> = spec
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let taints: Vec<Value> = spec
        .taints
        .iter()
        .map(|t| {
            let mut taint = json!({"key": t.key, "effect": t.effect});
            if let Some(v) = &t.value {
                taint["value"] = json!(v);
            }
            taint
        })
        .collect();

    Ok(json!({
        "apiVersion": "machine.openshift.io/v1beta1",
        "kind": "MachineSet",
        "metadata": {
            "name": ms_name,
            "namespace": MACHINE_API_NAMESPACE,
            "labels": {
                LABEL_CLUSTER: infra,
                "democtl.io/component": "gpu-provisioning",
                "democtl.io/gpu-pool": spec.suffix,
            },
            "annotations": {
                "democtl.io/cloned-from": source_name,
                "democtl.io/gpus-per-machine": spec.gpus.to_string(),
            },
        },
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": {LABEL_CLUSTER: infra, LABEL_MACHINESET: ms_name}},
            "template": {
                "metadata": {"labels": {
                    LABEL_CLUSTER: infra,
                    LABEL_ROLE: role,
                    LABEL_TYPE: mtype,
                    LABEL_MACHINESET: ms_name,
                }},
                "spec": {
                    "metadata": {"labels": node_labels},
                    "taints": taints,
                    "providerSpec": {"value": provider},
                },
            },
        },
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::stage::params::TaintSpec;

    fn worker(name: &str, zone: &str) -> Value {
        json!({
            "apiVersion": "machine.openshift.io/v1beta1", "kind": "MachineSet",
            "metadata": {"name": name, "namespace": "openshift-machine-api",
                         "labels": {"machine.openshift.io/cluster-api-cluster": "demo-x7k2p"},
                         "uid": "u1", "resourceVersion": "42"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"machine.openshift.io/cluster-api-machineset": name}},
                "template": {
                    "metadata": {"labels": {
                        "machine.openshift.io/cluster-api-cluster": "demo-x7k2p",
                        "machine.openshift.io/cluster-api-machine-role": "worker",
                        "machine.openshift.io/cluster-api-machine-type": "worker",
                        "machine.openshift.io/cluster-api-machineset": name}},
                    "spec": {"providerSpec": {"value": {
                        "kind": "AWSMachineProviderConfig",
                        "apiVersion": "machine.openshift.io/v1beta1",
                        "ami": {"id": "ami-0abc"},
                        "instanceType": "m6i.xlarge",
                        "placement": {"availabilityZone": zone, "region": "us-east-2"},
                        "iamInstanceProfile": {"id": "demo-x7k2p-worker-profile"},
                        "subnet": {"filters": [{"name": "tag:Name", "values": [format!("demo-x7k2p-subnet-private-{zone}")]}]},
                        "blockDevices": [{"ebs": {"volumeSize": 120, "volumeType": "gp3", "encrypted": true}}],
                        "tags": [{"name": "kubernetes.io/cluster/demo-x7k2p", "value": "owned"},
                                 {"name": "Name", "value": name}],
                        "userDataSecret": {"name": "worker-user-data"}
                    }}}
                }
            },
            "status": {"replicas": 2, "readyReplicas": 2}
        })
    }

    fn spec() -> GpuMachineSetSpec {
        GpuMachineSetSpec {
            suffix: "gpu-4x".into(),
            instance_type: "g6.12xlarge".into(),
            gpus: 4,
            replicas: 1,
            labels: BTreeMap::from([
                ("node-role.kubernetes.io/worker-gpu".into(), "".into()),
                ("democtl.io/gpu-pool".into(), "gpu-4x".into()),
            ]),
            taints: vec![TaintSpec {
                key: "nvidia.com/gpu".into(),
                value: Some("true".into()),
                effect: "NoSchedule".into(),
            }],
            root_volume_gib: Some(1000),
        }
    }

    #[test]
    fn picks_the_first_worker_by_name_and_never_a_democtl_one() {
        let mut ours = worker("demo-x7k2p-gpu-1x-us-east-2a", "us-east-2a");
        ours["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("democtl");
        let mut infra = worker("demo-x7k2p-infra-us-east-2a", "us-east-2a");
        infra["spec"]["template"]["metadata"]["labels"]["machine.openshift.io/cluster-api-machine-role"] =
            json!("infra");
        let sets = vec![
            ours,
            worker("demo-x7k2p-worker-us-east-2b", "us-east-2b"),
            infra,
            worker("demo-x7k2p-worker-us-east-2a", "us-east-2a"),
        ];
        assert_eq!(
            name(pick_source(&sets, None).unwrap()),
            "demo-x7k2p-worker-us-east-2a"
        );
        assert_eq!(
            name(pick_source(&sets, Some("demo-x7k2p-worker-us-east-2b")).unwrap()),
            "demo-x7k2p-worker-us-east-2b"
        );
        let err = pick_source(&sets, Some("nope")).unwrap_err();
        assert!(
            err.hint()
                .unwrap()
                .contains("`demo-x7k2p-worker-us-east-2a`")
        );
        let err = pick_source(&[], None).unwrap_err();
        assert_eq!(err, MachineSetError::NoWorker { found: vec![] });
    }

    #[test]
    fn clone_keeps_the_provider_spec_and_changes_only_what_a_gpu_set_needs() {
        let source = worker("demo-x7k2p-worker-us-east-2a", "us-east-2a");
        let ms = clone_for(&source, &spec(), "demo-x7k2p").unwrap();
        assert_eq!(ms["metadata"]["name"], "demo-x7k2p-gpu-4x-us-east-2a");
        assert_eq!(ms["metadata"]["namespace"], "openshift-machine-api");
        assert!(ms["metadata"].get("uid").is_none());
        assert!(ms["metadata"].get("resourceVersion").is_none());
        assert!(ms.get("status").is_none());
        assert_eq!(ms["spec"]["replicas"], 1);
        let sel = &ms["spec"]["selector"]["matchLabels"];
        assert_eq!(
            sel["machine.openshift.io/cluster-api-machineset"],
            "demo-x7k2p-gpu-4x-us-east-2a"
        );
        let tmpl = &ms["spec"]["template"];
        // the selector matches the template
        for (k, v) in sel.as_object().unwrap() {
            assert_eq!(&tmpl["metadata"]["labels"][k], v);
        }
        let p = &tmpl["spec"]["providerSpec"]["value"];
        assert_eq!(p["instanceType"], "g6.12xlarge");
        assert_eq!(p["ami"]["id"], "ami-0abc");
        assert_eq!(p["iamInstanceProfile"]["id"], "demo-x7k2p-worker-profile");
        assert_eq!(p["placement"]["availabilityZone"], "us-east-2a");
        assert_eq!(p["blockDevices"][0]["ebs"]["volumeSize"], 1000);
        assert_eq!(p["blockDevices"][0]["ebs"]["volumeType"], "gp3");
        assert_eq!(
            p["tags"],
            json!([{"name": "kubernetes.io/cluster/demo-x7k2p", "value": "owned"}])
        );
        assert_eq!(
            tmpl["spec"]["metadata"]["labels"]["democtl.io/gpu-pool"],
            "gpu-4x"
        );
        assert_eq!(
            tmpl["spec"]["taints"],
            json!([{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}])
        );
        assert_eq!(
            ms["metadata"]["labels"]["democtl.io/component"],
            "gpu-provisioning"
        );
        // the source is untouched
        assert_eq!(
            source["spec"]["template"]["spec"]["providerSpec"]["value"]["instanceType"],
            "m6i.xlarge"
        );
    }

    #[test]
    fn clone_refuses_non_aws_provider_specs() {
        let mut source = worker("w", "z");
        source["spec"]["template"]["spec"]["providerSpec"]["value"]["kind"] =
            json!("GCPMachineProviderSpec");
        let err = clone_for(&source, &spec(), "demo").unwrap_err();
        assert!(matches!(err, MachineSetError::NotAws { .. }));
        assert!(err.hint().unwrap().contains("GCPMachineProviderSpec"));
    }
}
