//! Where a GPU MachineSet stands on the way to allocatable GPUs (pure).
//!
//! Per MachineSet: Machine Running → Node Ready → label `nvidia.com/gpu.present=true` →
//! allocatable `nvidia.com/gpu` ≥ the GPUs per machine. The original scripts stopped at
//! "Machine Running", so the models were scheduled before any GPU existed.

use serde_json::Value;

use super::machineset::LABEL_MACHINESET;

/// Node label set by GPU feature discovery once the driver stack runs.
pub const GPU_PRESENT_LABEL: &str = "nvidia.com/gpu.present";
/// Extended resource of NVIDIA GPUs.
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// The stages one machine goes through, in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum MachineStage {
    /// Machine exists, phase given (Provisioning, Provisioned).
    Provisioning { phase: String },
    /// Machine Running, but its node has not joined yet.
    NodeMissing,
    /// Node joined but is not Ready (booting, MachineConfig reboot).
    NodeNotReady { node: String },
    /// Node Ready, GPU operator has not labelled it yet.
    NoGpuLabel { node: String },
    /// Labelled, but fewer GPUs allocatable than wanted.
    GpusPending { node: String, allocatable: u32 },
    /// Everything there.
    Ready { node: String, allocatable: u32 },
}

/// A machine that will never become a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineFailure {
    pub machine: String,
    pub message: String,
}

/// Summary of one MachineSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetState {
    pub suffix: String,
    pub machineset: String,
    pub wanted_machines: u32,
    pub gpus_per_machine: u32,
    /// One entry per machine of the set.
    pub machines: Vec<(String, MachineStage)>,
    pub failed: Vec<MachineFailure>,
}

impl SetState {
    /// Machines whose node has all its GPUs allocatable.
    pub fn ready_machines(&self) -> u32 {
        u32::try_from(
            self.machines
                .iter()
                .filter(|(_, s)| matches!(s, MachineStage::Ready { .. }))
                .count(),
        )
        .unwrap_or(u32::MAX)
    }

    /// GPUs allocatable on the set's nodes.
    pub fn allocatable_gpus(&self) -> u32 {
        self.machines
            .iter()
            .map(|(_, s)| match s {
                MachineStage::Ready { allocatable, .. }
                | MachineStage::GpusPending { allocatable, .. } => *allocatable,
                _ => 0,
            })
            .sum()
    }

    pub fn is_ready(&self) -> bool {
        self.ready_machines() >= self.wanted_machines
    }

    /// One short phrase for the spinner: `gpu-4x 0/4 GPUs (node ip-… Ready, no GPU label yet)`.
    pub fn progress(&self) -> String {
        let wanted = self.wanted_machines * self.gpus_per_machine;
        let gpus = format!(
            "{} {}/{wanted} GPUs",
            self.suffix,
            self.allocatable_gpus().min(wanted)
        );
        if self.is_ready() {
            return format!("{gpus} ✓");
        }
        format!("{gpus} ({})", self.missing())
    }

    /// Where the set stands on Machine Provisioning → Running → Node Ready → GPUs allocatable
    /// (its least advanced machine; too few machines count as provisioning).
    pub fn phase(&self) -> crate::runner::event::GpuPhase {
        use crate::runner::event::GpuPhase;
        if self.is_ready() {
            return GpuPhase::GpusAllocatable;
        }
        if self.machines.len() < self.wanted_machines as usize {
            return GpuPhase::Provisioning;
        }
        let worst = self.machines.iter().map(|(_, s)| s).min();
        match worst {
            None | Some(MachineStage::Provisioning { .. }) => GpuPhase::Provisioning,
            Some(MachineStage::NodeMissing | MachineStage::NodeNotReady { .. }) => {
                GpuPhase::Running
            }
            Some(MachineStage::NoGpuLabel { .. } | MachineStage::GpusPending { .. }) => {
                GpuPhase::NodeReady
            }
            Some(MachineStage::Ready { .. }) => GpuPhase::NodeReady,
        }
    }

    /// The set as the run's events carry it.
    pub fn measure(&self) -> crate::runner::event::GpuProgress {
        crate::runner::event::GpuProgress {
            pool: self.suffix.clone(),
            machineset: self.machineset.clone(),
            phase: self.phase(),
            gpus_allocatable: self.allocatable_gpus(),
            gpus_wanted: self.wanted_machines * self.gpus_per_machine,
        }
    }

    /// What is still missing, in words (for the spinner and the timeout message).
    pub fn missing(&self) -> String {
        if self.machines.is_empty() {
            return format!("no Machine of MachineSet `{}` yet", self.machineset);
        }
        let worst = self
            .machines
            .iter()
            .filter(|(_, s)| !matches!(s, MachineStage::Ready { .. }))
            .min_by(|a, b| a.1.cmp(&b.1));
        match worst {
            None => format!(
                "{} of {} machines ready",
                self.ready_machines(),
                self.wanted_machines
            ),
            Some((machine, stage)) => match stage {
                MachineStage::Provisioning { phase } => {
                    format!("machine `{machine}` {}", phase.to_lowercase())
                }
                MachineStage::NodeMissing => {
                    format!("machine `{machine}` running, its node has not joined")
                }
                MachineStage::NodeNotReady { node } => format!("node `{node}` not Ready"),
                MachineStage::NoGpuLabel { node } => {
                    format!("node `{node}` Ready, no `{GPU_PRESENT_LABEL}` label yet")
                }
                MachineStage::GpusPending { node, allocatable } => format!(
                    "node `{node}` has {allocatable}/{} `{GPU_RESOURCE}` allocatable",
                    self.gpus_per_machine
                ),
                MachineStage::Ready { .. } => String::new(),
            },
        }
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Whether a node's Ready condition is True.
pub fn node_ready(node: &Value) -> bool {
    node.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Allocatable GPUs of a node (quantities are strings like `"4"`).
pub fn allocatable_gpus(node: &Value) -> u32 {
    match node
        .pointer("/status/allocatable")
        .and_then(|a| a.get(GPU_RESOURCE))
    {
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        _ => 0,
    }
}

/// Where one machine stands, given all nodes.
pub fn machine_stage(machine: &Value, nodes: &[Value], gpus: u32) -> MachineStage {
    let phase = str_at(machine, "/status/phase").unwrap_or("Pending");
    if phase != "Running" {
        return MachineStage::Provisioning {
            phase: phase.to_string(),
        };
    }
    let Some(node_name) = str_at(machine, "/status/nodeRef/name") else {
        return MachineStage::NodeMissing;
    };
    let Some(node) = nodes
        .iter()
        .find(|n| str_at(n, "/metadata/name") == Some(node_name))
    else {
        return MachineStage::NodeMissing;
    };
    let node_name = node_name.to_string();
    if !node_ready(node) {
        return MachineStage::NodeNotReady { node: node_name };
    }
    let labelled = node
        .pointer("/metadata/labels")
        .and_then(|l| l.get(GPU_PRESENT_LABEL))
        .and_then(Value::as_str)
        == Some("true");
    if !labelled {
        return MachineStage::NoGpuLabel { node: node_name };
    }
    let allocatable = allocatable_gpus(node);
    if allocatable < gpus {
        return MachineStage::GpusPending {
            node: node_name,
            allocatable,
        };
    }
    MachineStage::Ready {
        node: node_name,
        allocatable,
    }
}

/// The state of one GPU MachineSet from the Machines and Nodes of the cluster.
pub fn assess(
    suffix: &str,
    machineset: &str,
    wanted_machines: u32,
    gpus_per_machine: u32,
    machines: &[Value],
    nodes: &[Value],
) -> SetState {
    let mut state = SetState {
        suffix: suffix.to_string(),
        machineset: machineset.to_string(),
        wanted_machines,
        gpus_per_machine,
        machines: Vec::new(),
        failed: Vec::new(),
    };
    let selector = format!("/metadata/labels/{}", LABEL_MACHINESET.replace('/', "~1"));
    let mut mine: Vec<&Value> = machines
        .iter()
        .filter(|m| str_at(m, &selector) == Some(machineset))
        .filter(|m| m.pointer("/metadata/deletionTimestamp").is_none())
        .collect();
    mine.sort_by_key(|m| str_at(m, "/metadata/name").unwrap_or(""));
    for m in mine {
        let name = str_at(m, "/metadata/name").unwrap_or("").to_string();
        if str_at(m, "/status/phase") == Some("Failed") {
            let message = str_at(m, "/status/errorMessage")
                .or_else(|| str_at(m, "/status/errorReason"))
                .unwrap_or("the machine failed")
                .to_string();
            state.failed.push(MachineFailure {
                machine: name.clone(),
                message,
            });
        }
        let stage = machine_stage(m, nodes, gpus_per_machine);
        state.machines.push((name, stage));
    }
    state
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn machine(name: &str, set: &str, phase: &str, node: Option<&str>) -> Value {
        let mut m = json!({"metadata": {"name": name,
                            "labels": {"machine.openshift.io/cluster-api-machineset": set}},
                           "status": {"phase": phase}});
        if let Some(n) = node {
            m["status"]["nodeRef"] = json!({"kind": "Node", "name": n});
        }
        m
    }

    fn node(name: &str, ready: bool, label: bool, gpus: Option<&str>) -> Value {
        let mut n = json!({"metadata": {"name": name, "labels": {}},
                           "status": {"conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}],
                                      "allocatable": {"cpu": "48"}}});
        if label {
            n["metadata"]["labels"]["nvidia.com/gpu.present"] = json!("true");
        }
        if let Some(g) = gpus {
            n["status"]["allocatable"]["nvidia.com/gpu"] = json!(g);
        }
        n
    }

    #[test]
    fn each_stage_in_order() {
        let nodes = vec![
            node("n-notready", false, false, None),
            node("n-nolabel", true, false, None),
            node("n-pending", true, true, Some("2")),
            node("n-ready", true, true, Some("4")),
        ];
        let st = |m: Value| machine_stage(&m, &nodes, 4);
        assert_eq!(
            st(machine("m", "s", "Provisioned", None)),
            MachineStage::Provisioning {
                phase: "Provisioned".into()
            }
        );
        assert_eq!(
            st(machine("m", "s", "Running", None)),
            MachineStage::NodeMissing
        );
        assert_eq!(
            st(machine("m", "s", "Running", Some("gone"))),
            MachineStage::NodeMissing
        );
        assert_eq!(
            st(machine("m", "s", "Running", Some("n-notready"))),
            MachineStage::NodeNotReady {
                node: "n-notready".into()
            }
        );
        assert_eq!(
            st(machine("m", "s", "Running", Some("n-nolabel"))),
            MachineStage::NoGpuLabel {
                node: "n-nolabel".into()
            }
        );
        assert_eq!(
            st(machine("m", "s", "Running", Some("n-pending"))),
            MachineStage::GpusPending {
                node: "n-pending".into(),
                allocatable: 2
            }
        );
        assert_eq!(
            st(machine("m", "s", "Running", Some("n-ready"))),
            MachineStage::Ready {
                node: "n-ready".into(),
                allocatable: 4
            }
        );
    }

    #[test]
    fn a_set_is_ready_when_enough_machines_have_all_their_gpus() {
        let nodes = vec![
            node("a", true, true, Some("1")),
            node("b", true, false, None),
        ];
        let machines = vec![
            machine("m1", "gpu-1x-set", "Running", Some("a")),
            machine("m2", "gpu-1x-set", "Running", Some("b")),
            machine("other", "worker-set", "Running", Some("a")),
        ];
        let one = assess("gpu-1x", "gpu-1x-set", 1, 1, &machines, &nodes);
        assert_eq!(one.machines.len(), 2);
        assert!(one.is_ready());
        assert_eq!(one.progress(), "gpu-1x 1/1 GPUs ✓");
        assert_eq!(one.phase(), crate::runner::event::GpuPhase::GpusAllocatable);
        let two = assess("gpu-1x", "gpu-1x-set", 2, 1, &machines, &nodes);
        assert!(!two.is_ready());
        // The least advanced machine decides: `b` is Ready without GPUs.
        assert_eq!(two.phase(), crate::runner::event::GpuPhase::NodeReady);
        assert_eq!(two.measure().gpus_wanted, 2);
        assert_eq!(two.measure().gpus_allocatable, 1);
        let three = assess("gpu-1x", "gpu-1x-set", 3, 1, &machines, &nodes);
        assert_eq!(three.phase(), crate::runner::event::GpuPhase::Provisioning);
        assert_eq!(
            two.progress(),
            "gpu-1x 1/2 GPUs (node `b` Ready, no `nvidia.com/gpu.present` label yet)"
        );
    }

    #[test]
    fn missing_names_the_least_advanced_machine_and_failures_are_collected() {
        let machines = vec![json!({"metadata": {"name": "m1",
                    "labels": {"machine.openshift.io/cluster-api-machineset": "s"}},
                    "status": {"phase": "Failed", "errorMessage": "InsufficientInstanceCapacity: no g6.12xlarge in us-east-2a"}})];
        let st = assess("gpu-4x", "s", 1, 4, &machines, &[]);
        assert_eq!(st.failed.len(), 1);
        assert!(
            st.failed[0]
                .message
                .contains("InsufficientInstanceCapacity")
        );
        let empty = assess("gpu-4x", "s", 1, 4, &[], &[]);
        assert_eq!(empty.missing(), "no Machine of MachineSet `s` yet");
        assert_eq!(
            empty.progress(),
            "gpu-4x 0/4 GPUs (no Machine of MachineSet `s` yet)"
        );
    }

    #[test]
    fn allocatable_accepts_strings_and_numbers() {
        assert_eq!(allocatable_gpus(&node("n", true, true, Some("4"))), 4);
        let mut n = node("n", true, true, None);
        assert_eq!(allocatable_gpus(&n), 0);
        n["status"]["allocatable"]["nvidia.com/gpu"] = json!(2);
        assert_eq!(allocatable_gpus(&n), 2);
    }
}
