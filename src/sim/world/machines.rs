//! Machine API, nodes and GPUs: MachineSet replicas → Machines (Provisioning → Provisioned →
//! Running, with providerID/addresses) → Nodes that register NotReady and become Ready; nodes of GPU
//! instance types get NFD/GPU-operator labels and `nvidia.com/gpu` capacity after `delays.gpu_operator`
//! (only with a ClusterPolicy and a NodeFeatureDiscovery, and never for `failures.gpus_never_arrive`);
//! deleted Machines take their Node with them; MachineConfigPools count their nodes and report
//! `Updated`. Also builds the Machine/Node objects the seed uses, so seeded and grown nodes look alike.

use serde_json::{Value, json};

use super::catalog::instance_shape;
use super::informer::{CLUSTER_POLICY, MACHINE, MACHINE_SET, MCP, NFD, NODE};
use super::obj;
use super::{Ctx, MACHINE_FINALIZER, Wake};
use crate::sim::scenario::Scenario;

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    machine_sets(ctx, wake).await;
    machines(ctx, wake).await;
    gpus(ctx, wake).await;
    pools(ctx, wake).await;
}

/// Kubernetes version shipped with an OpenShift version (4.19 → 1.32).
pub fn kubelet_version(openshift_version: &str) -> String {
    let minor = openshift_version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(19);
    format!("v1.{}.7", minor + 13)
}

fn provider_value(ms_or_machine: &Value, template: bool) -> &Value {
    if template {
        &ms_or_machine["spec"]["template"]["spec"]["providerSpec"]["value"]
    } else {
        &ms_or_machine["spec"]["providerSpec"]["value"]
    }
}

async fn machine_sets(ctx: &Ctx, wake: &mut Wake) {
    let machines = ctx.caches.list(MACHINE);
    for ms in ctx.caches.list(MACHINE_SET).values() {
        if obj::is_deleting(ms) {
            continue;
        }
        let (ns, ms_name) = (obj::namespace(ms), obj::name(ms));
        let want = ms["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let mut owned: Vec<&Value> = machines
            .values()
            .filter(|m| obj::namespace(m) == ns && obj::is_owned_by(m, obj::uid(ms)))
            .collect();
        owned.sort_by_key(|m| {
            m["metadata"]["creationTimestamp"]
                .as_str()
                .unwrap_or_default()
        });
        let live: Vec<&Value> = owned
            .iter()
            .copied()
            .filter(|m| !obj::is_deleting(m))
            .collect();
        if live.len() < want {
            // Deterministic names: the i-th attempt always gets the same name.
            let mut i = 0usize;
            let mut created = live.len();
            while created < want && i < want + owned.len() + 8 {
                let name = format!("{ms_name}-{}", obj::suffix(&format!("{ns}/{ms_name}/{i}")));
                i += 1;
                if owned.iter().any(|m| obj::name(m) == name) {
                    continue;
                }
                let machine = machine_from_set(ms, &name);
                ctx.note(ctx.create(MACHINE, machine).await, wake);
                created += 1;
            }
        } else if live.len() > want {
            // Scale down: newest first.
            for m in live.iter().rev().take(live.len() - want) {
                ctx.note(ctx.delete(MACHINE, ns, obj::name(m)).await, wake);
            }
        }
        let count = |f: &dyn Fn(&Value) -> bool| live.iter().filter(|m| f(m)).count();
        let ready = count(&|m| m["status"]["phase"] == "Running" && node_ready_for(ctx, m));
        let status = json!({
            "replicas": live.len(),
            "fullyLabeledReplicas": live.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": obj::generation(ms),
        });
        ctx.note(ctx.patch_status(MACHINE_SET, ms, status).await, wake);
    }
    // Machines whose MachineSet is gone (the API server's garbage collector normally does this).
    if ctx.caches.is_synced(MACHINE_SET) && ctx.caches.is_synced(MACHINE) {
        let sets = ctx.caches.list(MACHINE_SET);
        for m in machines.values() {
            let owner = m["metadata"]["ownerReferences"]
                .as_array()
                .and_then(|r| r.iter().find(|r| r["kind"] == "MachineSet"));
            if let Some(owner) = owner {
                let uid = owner["uid"].as_str().unwrap_or_default();
                let alive = sets.values().any(|s| obj::uid(s) == uid);
                if !alive && !obj::is_deleting(m) {
                    ctx.note(
                        ctx.delete(MACHINE, obj::namespace(m), obj::name(m)).await,
                        wake,
                    );
                }
            }
        }
    }
}

fn node_ready_for(ctx: &Ctx, machine: &Value) -> bool {
    machine["status"]["nodeRef"]["name"]
        .as_str()
        .and_then(|n| ctx.caches.get(NODE, "", n))
        .is_some_and(|n| obj::condition_true(&n, "Ready"))
}

fn machine_from_set(ms: &Value, name: &str) -> Value {
    let tpl = &ms["spec"]["template"];
    let mut labels = tpl["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["machine.openshift.io/cluster-api-machineset"] = json!(obj::name(ms));
    if let Some(it) = provider_value(ms, true)["instanceType"].as_str() {
        labels["machine.openshift.io/instance-type"] = json!(it);
    }
    if let Some(r) = provider_value(ms, true)["placement"]["region"].as_str() {
        labels["machine.openshift.io/region"] = json!(r);
    }
    if let Some(z) = provider_value(ms, true)["placement"]["availabilityZone"].as_str() {
        labels["machine.openshift.io/zone"] = json!(z);
    }
    json!({
        "metadata": {
            "name": name,
            "namespace": obj::namespace(ms),
            "labels": labels,
            "annotations": tpl["metadata"]["annotations"].clone(),
            "finalizers": [MACHINE_FINALIZER],
            "ownerReferences": [obj::controller_ref(ms)],
        },
        "spec": tpl["spec"].clone(),
    })
}

/// Network identity of a machine: (private IP, private DNS name, instance id).
pub(super) fn identity(region: &str, seed: &str) -> (String, String, String) {
    let n = obj::hash_num(seed, 1 << 24);
    let ip = format!("10.0.{}.{}", 16 + (n >> 8) % 200, 4 + (n & 0xff) % 250);
    let dns = if region.is_empty() {
        format!("ip-{}.cluster.local", ip.replace('.', "-"))
    } else {
        format!("ip-{}.{region}.compute.internal", ip.replace('.', "-"))
    };
    let instance = format!("i-0{:016x}", obj::hash_num(&format!("i/{seed}"), u64::MAX));
    (ip, dns, instance)
}

async fn machines(ctx: &Ctx, wake: &mut Wake) {
    let delays = &ctx.scenario.delays;
    for m in ctx.caches.list(MACHINE).values() {
        let (ns, name) = (obj::namespace(m), obj::name(m));
        let phase = m["status"]["phase"].as_str().unwrap_or_default();
        let since = m["status"]["lastUpdated"].as_str();
        let pv = provider_value(m, false);
        let zone = pv["placement"]["availabilityZone"]
            .as_str()
            .unwrap_or_default();
        let region = pv["placement"]["region"].as_str().unwrap_or_default();
        let instance_type = pv["instanceType"].as_str().unwrap_or("m6i.xlarge");
        let now = ctx.now_s();
        if obj::is_deleting(m) {
            if phase != "Deleting" {
                let status = json!({"phase": "Deleting", "lastUpdated": now});
                ctx.note(ctx.patch_status(MACHINE, m, status).await, wake);
                continue;
            }
            if ctx.due(since, delays.machine_delete, wake) {
                if let Some(node) = m["status"]["nodeRef"]["name"].as_str() {
                    ctx.note(ctx.delete(NODE, "", node).await, wake);
                }
                let finalizers: Vec<Value> = m["metadata"]["finalizers"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter(|f| *f != MACHINE_FINALIZER)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                let patch = json!({"metadata": {"finalizers": finalizers}});
                ctx.note(ctx.patch(MACHINE, m, patch).await, wake);
            }
            continue;
        }
        let (ip, dns, instance) = identity(region, &format!("{ns}/{name}"));
        match phase {
            "" => {
                let status = json!({
                    "phase": "Provisioning",
                    "lastUpdated": now,
                    "providerStatus": {
                        "apiVersion": "machine.openshift.io/v1beta1",
                        "kind": "AWSMachineProviderStatus",
                        "conditions": [{"type": "MachineCreation", "status": "True",
                            "reason": "MachineCreationSucceeded", "message": "Machine successfully created",
                            "lastTransitionTime": now}],
                        "instanceId": instance,
                        "instanceState": "pending",
                    },
                });
                ctx.note(ctx.patch_status(MACHINE, m, status).await, wake);
            }
            "Provisioning" if ctx.due(since, delays.machine_provisioning, wake) => {
                let patch = json!({
                    "metadata": {"annotations": {"machine.openshift.io/instance-state": "running"}},
                    "spec": {"providerID": format!("aws:///{zone}/{instance}")},
                });
                ctx.note(ctx.patch(MACHINE, m, patch).await, wake);
                let status = json!({
                    "phase": "Provisioned",
                    "lastUpdated": now,
                    "addresses": [
                        {"type": "InternalIP", "address": ip},
                        {"type": "InternalDNS", "address": dns},
                        {"type": "Hostname", "address": dns},
                    ],
                    "providerStatus": {"instanceState": "running"},
                });
                ctx.note(ctx.patch_status(MACHINE, m, status).await, wake);
            }
            "Provisioned" if ctx.due(since, delays.machine_running, wake) => {
                let node = node_object(
                    ctx.scenario.as_ref(),
                    m,
                    &dns,
                    &ip,
                    instance_type,
                    zone,
                    region,
                    false,
                    &now,
                );
                ctx.note(ctx.create(NODE, node).await, wake);
                let uid = ctx
                    .caches
                    .get(NODE, "", &dns)
                    .map(|n| obj::uid(&n).to_string())
                    .unwrap_or_default();
                let status = json!({
                    "phase": "Running",
                    "lastUpdated": now,
                    "nodeRef": {"kind": "Node", "name": dns, "uid": uid},
                    "conditions": [
                        {"type": "Drainable", "status": "True", "lastTransitionTime": now},
                        {"type": "InstanceExists", "status": "True", "reason": "InstanceExists",
                         "message": "Instance exists", "lastTransitionTime": now},
                        {"type": "Terminable", "status": "True", "lastTransitionTime": now},
                    ],
                });
                ctx.note(ctx.patch_status(MACHINE, m, status).await, wake);
            }
            "Running" => {
                // The kubelet side: the node turns Ready after `node_ready`.
                let Some(node_name) = m["status"]["nodeRef"]["name"].as_str() else {
                    continue;
                };
                let Some(node) = ctx.caches.get(NODE, "", node_name) else {
                    continue;
                };
                if !obj::condition_true(&node, "Ready") {
                    let registered = node["metadata"]["creationTimestamp"].as_str();
                    if ctx.due(registered, delays.node_ready, wake) {
                        let taints: Vec<Value> = node["spec"]["taints"]
                            .as_array()
                            .map(|t| {
                                t.iter()
                                    .filter(|t| t["key"] != "node.kubernetes.io/not-ready")
                                    .cloned()
                                    .collect()
                            })
                            .unwrap_or_default();
                        ctx.note(
                            ctx.patch(NODE, &node, json!({"spec": {"taints": taints}}))
                                .await,
                            wake,
                        );
                        let status = json!({"conditions": node_conditions(true, &now)});
                        ctx.note(ctx.patch_status(NODE, &node, status).await, wake);
                    }
                }
                if m["status"]["nodeRef"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
                {
                    let status = json!({"nodeRef": {"uid": obj::uid(&node)}});
                    ctx.note(ctx.patch_status(MACHINE, m, status).await, wake);
                }
            }
            _ => {}
        }
    }
}

/// Node conditions as the kubelet reports them.
pub(super) fn node_conditions(ready: bool, now: &str) -> Value {
    let c = |t: &str, s: &str, r: &str, msg: &str| {
        json!({"type": t, "status": s, "reason": r, "message": msg,
               "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!([
        c(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        c(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        c(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        if ready {
            c(
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
            )
        } else {
            c(
                "Ready",
                "False",
                "KubeletNotReady",
                "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: no CNI configuration file in /etc/kubernetes/cni/net.d/. Has your network provider started?",
            )
        },
    ])
}

/// A Node object for a machine (or a static node when `machine` is null).
#[expect(clippy::too_many_arguments, reason = "a flat description of one node")]
pub(super) fn node_object(
    scenario: &Scenario,
    machine: &Value,
    name: &str,
    ip: &str,
    instance_type: &str,
    zone: &str,
    region: &str,
    ready: bool,
    now: &str,
) -> Value {
    let shape = instance_shape(instance_type);
    let role = machine["metadata"]["labels"]["machine.openshift.io/cluster-api-machine-role"]
        .as_str()
        .unwrap_or("worker");
    let mut labels = json!({
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": instance_type,
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name.split('.').next().unwrap_or(name),
        "kubernetes.io/os": "linux",
        format!("node-role.kubernetes.io/{role}"): "",
        "node.kubernetes.io/instance-type": instance_type,
        "node.openshift.io/os_id": "rhcos",
    });
    if role == "master" {
        labels["node-role.kubernetes.io/control-plane"] = json!("");
    }
    if !zone.is_empty() {
        labels["topology.kubernetes.io/zone"] = json!(zone);
        labels["failure-domain.beta.kubernetes.io/zone"] = json!(zone);
        labels["topology.ebs.csi.aws.com/zone"] = json!(zone);
    }
    if !region.is_empty() {
        labels["topology.kubernetes.io/region"] = json!(region);
        labels["failure-domain.beta.kubernetes.io/region"] = json!(region);
    }
    if let Some(extra) = machine["spec"]["metadata"]["labels"].as_object() {
        for (k, v) in extra {
            labels[k] = v.clone();
        }
    }
    let mut taints: Vec<Value> = machine["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if role == "master" {
        taints.push(json!({"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}));
    }
    if !ready {
        taints.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": now}));
    }
    let mem_ki = u64::from(shape.memory_gib) * 1024 * 1024;
    let capacity = json!({
        "cpu": shape.cpu.to_string(),
        "memory": format!("{mem_ki}Ki"),
        "ephemeral-storage": "125238252Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": "250",
    });
    let allocatable = json!({
        "cpu": format!("{}m", shape.cpu * 1000 - 500),
        "memory": format!("{}Ki", mem_ki.saturating_sub(1_500_000)),
        "ephemeral-storage": "114345831029",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": "250",
    });
    let mut annotations = json!({
        "machineconfiguration.openshift.io/state": "Done",
        "machineconfiguration.openshift.io/currentConfig": format!("rendered-{role}-{}", obj::hash_chars(role, 10)),
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    });
    if !machine.is_null() {
        annotations["machine.openshift.io/machine"] = json!(format!(
            "{}/{}",
            obj::namespace(machine),
            obj::name(machine)
        ));
    }
    let mut spec = json!({"taints": taints});
    if let Some(pid) = machine["spec"]["providerID"].as_str() {
        spec["providerID"] = json!(pid);
    }
    json!({
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": node_conditions(ready, now),
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": uuid_like(&format!("boot/{name}")),
                "containerRuntimeVersion": "cri-o://1.32.6-2.rhaos4.19.git1b2c3d4.el9",
                "kernelVersion": "5.14.0-570.35.1.el9_6.x86_64",
                "kubeProxyVersion": "",
                "kubeletVersion": kubelet_version(&scenario.cluster.openshift_version),
                "machineID": obj::hash_chars(&format!("mid/{name}"), 32),
                "operatingSystem": "linux",
                "osImage": "Red Hat Enterprise Linux CoreOS 9.6.20250811-0 (Plow)",
                "systemUUID": uuid_like(&format!("sys/{name}")),
            },
        },
    })
}

fn uuid_like(seed: &str) -> String {
    let a = obj::hash_num(seed, u64::MAX);
    let b = obj::hash_num(&format!("{seed}/2"), u64::MAX);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Whether GPUs of this node are blocked by `failures.gpus_never_arrive`.
fn gpu_blocked(scenario: &Scenario, node: &Value) -> bool {
    let it = obj::label(node, "node.kubernetes.io/instance-type").unwrap_or_default();
    let machine = obj::annotation(node, "machine.openshift.io/machine").unwrap_or_default();
    scenario.failures.gpus_never_arrive.iter().any(|f| {
        f == it
            || machine
                .split('/')
                .nth(1)
                .is_some_and(|m| m.starts_with(f.as_str()))
    })
}

async fn gpus(ctx: &Ctx, wake: &mut Wake) {
    let gpu_operator = !ctx.caches.list(CLUSTER_POLICY).is_empty();
    let nfd = !ctx.caches.list(NFD).is_empty();
    for node in ctx.caches.list(NODE).values() {
        let it = obj::label(node, "node.kubernetes.io/instance-type").unwrap_or_default();
        let shape = instance_shape(it);
        if shape.gpus == 0 || obj::is_deleting(node) {
            continue;
        }
        let Some(ready) = obj::condition(node, "Ready").filter(|c| c["status"] == "True") else {
            continue;
        };
        let ready_since = ready["lastTransitionTime"].as_str();
        let mut labels = json!({});
        if nfd && ctx.due(ready_since, ctx.scenario.delays.gpu_operator / 3, wake) {
            labels["feature.node.kubernetes.io/pci-10de.present"] = json!("true");
            labels["feature.node.kubernetes.io/cpu-model.vendor_id"] = json!("Intel");
        }
        let gpu_ok = nfd && gpu_operator && !gpu_blocked(&ctx.scenario, node);
        if gpu_ok && ctx.due(ready_since, ctx.scenario.delays.gpu_operator, wake) {
            labels["nvidia.com/gpu.present"] = json!("true");
            labels["nvidia.com/gpu.count"] = json!(shape.gpus.to_string());
            labels["nvidia.com/gpu.product"] = json!(shape.gpu_product);
            labels["nvidia.com/gpu.memory"] = json!(shape.gpu_memory_mib.to_string());
            labels["nvidia.com/gpu.deploy.driver"] = json!("true");
            labels["nvidia.com/gpu.deploy.device-plugin"] = json!("true");
            labels["nvidia.com/cuda.driver.major"] = json!("570");
            ctx.note(
                ctx.patch(NODE, node, json!({"metadata": {"labels": labels}}))
                    .await,
                wake,
            );
            let n = shape.gpus.to_string();
            let status = json!({
                "capacity": {"nvidia.com/gpu": n},
                "allocatable": {"nvidia.com/gpu": n},
            });
            ctx.note(ctx.patch_status(NODE, node, status).await, wake);
        } else if labels.as_object().is_some_and(|l| !l.is_empty()) {
            ctx.note(
                ctx.patch(NODE, node, json!({"metadata": {"labels": labels}}))
                    .await,
                wake,
            );
        }
    }
}

async fn pools(ctx: &Ctx, wake: &mut Wake) {
    let nodes = ctx.caches.list(NODE);
    for pool in ctx.caches.list(MCP).values() {
        let selector = &pool["spec"]["nodeSelector"];
        let count = nodes
            .values()
            .filter(|n| obj::selector_matches(selector, &n["metadata"]["labels"]))
            .count();
        let now = ctx.now_s();
        let generation = obj::generation(pool);
        let observed = pool["status"]["observedGeneration"].as_i64().unwrap_or(0);
        let counted = pool["status"]["machineCount"].as_u64().map(|c| c as usize);
        let rendered = format!(
            "rendered-{}-{}",
            obj::name(pool),
            obj::hash_chars(&format!("{}/{generation}", obj::name(pool)), 32)
        );
        let updating = obj::condition_true(pool, "Updating");
        let (done, updated_count) = if observed != generation || counted != Some(count) {
            // Spec or membership changed: start a rollout (Updating) now.
            (false, 0)
        } else if updating {
            let since =
                obj::condition(pool, "Updating").and_then(|c| c["lastTransitionTime"].as_str());
            let due = count == 0 || ctx.due(since, ctx.scenario.delays.machine_config_pool, wake);
            (due, if due { count } else { 0 })
        } else {
            (true, count)
        };
        let cond = |t: &str, s: bool, reason: &str, msg: &str| {
            obj::make_condition(pool, t, s, reason, msg, &now)
        };
        let conditions = if done {
            json!([
                cond("RenderDegraded", false, "", ""),
                cond("NodeDegraded", false, "", ""),
                cond("Degraded", false, "", ""),
                cond(
                    "Updated",
                    true,
                    "",
                    &format!("All nodes are updated with {rendered}")
                ),
                cond("Updating", false, "", ""),
            ])
        } else {
            json!([
                cond("RenderDegraded", false, "", ""),
                cond("NodeDegraded", false, "", ""),
                cond("Degraded", false, "", ""),
                cond("Updated", false, "", ""),
                cond(
                    "Updating",
                    true,
                    "",
                    &format!("All nodes are updating to {rendered}")
                ),
            ])
        };
        let status = json!({
            "observedGeneration": generation,
            "machineCount": count,
            "updatedMachineCount": updated_count,
            "readyMachineCount": updated_count,
            "unavailableMachineCount": count - updated_count,
            "degradedMachineCount": 0,
            "configuration": {"name": rendered},
            "conditions": conditions,
        });
        ctx.note(ctx.patch_status(MCP, pool, status).await, wake);
    }
}
