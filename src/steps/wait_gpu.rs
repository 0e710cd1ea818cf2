//! `wait-gpu`: waits, per GPU MachineSet of the stage, for Machine Running → Node Ready →
//! `nvidia.com/gpu.present` → allocatable `nvidia.com/gpu` ≥ the GPUs per machine, with the
//! counts in the spinner. Watches Machines and Nodes (no polling); a Machine that fails (no
//! capacity in the zone) fails the step at once; a timeout names what is still missing per set.

use std::collections::BTreeMap;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::{Value, json};

use super::gpu_state::{self, SetState};
use super::machineset::{LABEL_MACHINESET, MACHINE_API_NAMESPACE};
use super::{BuildError, StepEnv, boxed, cluster_failure, list_objects};
use crate::cluster::ObjectKey;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{StepParams, WaitGpuParams};
use crate::stage::schema::StepSpec;

/// One GPU MachineSet to wait for.
#[derive(Debug, Clone)]
struct Wanted {
    suffix: String,
    gpus: u32,
    replicas: u32,
}

/// The built step.
pub struct WaitGpu {
    env: StepEnv,
    wanted: Vec<Wanted>,
}

/// Takes the GPUs and replicas per suffix from the stage's `gpu-machinesets` step.
pub fn build(
    spec: &StepSpec,
    p: &WaitGpuParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    let mut all = Vec::new();
    for s in &env.stage.steps {
        if let StepParams::GpuMachinesets(g) = &s.with {
            for m in &g.machinesets {
                all.push(Wanted {
                    suffix: m.suffix.clone(),
                    gpus: m.gpus,
                    replicas: m.replicas,
                });
            }
        }
    }
    let wanted: Vec<Wanted> = if p.machinesets.is_empty() {
        all
    } else {
        all.into_iter()
            .filter(|w| p.machinesets.contains(&w.suffix))
            .collect()
    };
    if wanted.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "wait-gpu",
            what: "a `gpu-machinesets` step in the same stage".into(),
        });
    }
    Ok(Box::new(WaitGpu {
        env: env.clone(),
        wanted,
    }))
}

/// Keeps a watcher's view of a list (names → objects).
#[derive(Default)]
struct View {
    items: BTreeMap<String, Value>,
    pending: BTreeMap<String, Value>,
    synced: bool,
}

impl View {
    fn apply<K: serde::Serialize + kube::Resource>(&mut self, ev: Event<K>) {
        let entry = |o: &K| -> Option<(String, Value)> {
            let name = o.meta().name.clone()?;
            Some((name, serde_json::to_value(o).ok()?))
        };
        match ev {
            Event::Init => self.pending.clear(),
            Event::InitApply(o) => {
                if let Some((n, v)) = entry(&o) {
                    self.pending.insert(n, v);
                }
            }
            Event::InitDone => {
                self.items = std::mem::take(&mut self.pending);
                self.synced = true;
            }
            Event::Apply(o) => {
                if let Some((n, v)) = entry(&o) {
                    self.items.insert(n, v);
                }
            }
            Event::Delete(o) => {
                if let Some(n) = o.meta().name.clone() {
                    self.items.remove(&n);
                }
            }
        }
    }

    fn values(&self) -> Vec<Value> {
        self.items.values().cloned().collect()
    }
}

impl WaitGpu {
    /// MachineSet names per suffix: derived by `gpu-machinesets`, else found by label.
    async fn machineset_names(&self, ctx: &StepCtx) -> Result<Vec<(Wanted, String)>, StepError> {
        let mut out = Vec::new();
        for w in &self.wanted {
            let key = super::value_key(ctx, &format!("gpu.{}.machineset", w.suffix));
            let name = match ctx.value(&key).as_ref().and_then(Value::as_str) {
                Some(n) => n.to_string(),
                None => {
                    let sets = list_objects(
                        &self.env.cluster,
                        "machine.openshift.io/v1beta1",
                        "MachineSet",
                        Some(MACHINE_API_NAMESPACE),
                        Some(&format!("democtl.io/gpu-pool={}", w.suffix)),
                    )
                    .await
                    .map_err(|e| cluster_failure("failed to list the GPU MachineSets", e))?;
                    let first = sets
                        .first()
                        .and_then(|s| s.pointer("/metadata/name"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    first.ok_or_else(|| {
                        StepError::new(format!(
                            "no GPU MachineSet `{}` in `openshift-machine-api`",
                            w.suffix
                        ))
                        .with_hint("run the stage's `gpu-machinesets` step first")
                    })?
                }
            };
            out.push((w.clone(), name));
        }
        Ok(out)
    }
}

fn assess_all(sets: &[(Wanted, String)], machines: &[Value], nodes: &[Value]) -> Vec<SetState> {
    sets.iter()
        .map(|(w, name)| gpu_state::assess(&w.suffix, name, w.replicas, w.gpus, machines, nodes))
        .collect()
}

impl Step for WaitGpu {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let sets = self.machineset_names(ctx).await?;
            if ctx.dry_run {
                return Ok(StepDone::Succeeded);
            }
            let cluster = &self.env.cluster;
            let ms_key = ObjectKey::new(
                "machine.openshift.io/v1beta1",
                "Machine",
                Some(MACHINE_API_NAMESPACE),
                "",
            );
            let resolved = cluster
                .resolve_or_missing(&ms_key)
                .await
                .map_err(|e| cluster_failure("failed to find the Machine API", e))?;
            let machines_api = cluster.api(&resolved.resource, Some(MACHINE_API_NAMESPACE));
            let names: Vec<&str> = sets.iter().map(|(_, n)| n.as_str()).collect();
            let selector = format!("{LABEL_MACHINESET} in ({})", names.join(","));
            let mut machine_events =
                watcher::watcher(machines_api, watcher::Config::default().labels(&selector))
                    .default_backoff()
                    .boxed();
            let nodes_api: Api<Node> = Api::all(cluster.client().clone());
            let mut node_events = watcher::watcher(nodes_api, watcher::Config::default())
                .default_backoff()
                .boxed();
            let mut machines = View::default();
            let mut nodes = View::default();
            let deadline = super::own_deadline(ctx);
            let mut last = String::new();
            let mut states = assess_all(&sets, &[], &[]);
            loop {
                tokio::select! {
                    ev = machine_events.next() => match ev {
                        Some(Ok(ev)) => machines.apply(ev),
                        Some(Err(_)) => continue, // the watcher recovers with backoff
                        None => return Err(StepError::new("the watch of the GPU Machines ended").transient(None)),
                    },
                    ev = node_events.next() => match ev {
                        Some(Ok(ev)) => nodes.apply(ev),
                        Some(Err(_)) => continue,
                        None => return Err(StepError::new("the watch of the Nodes ended").transient(None)),
                    },
                    () = tokio::time::sleep_until(deadline) => {
                        let missing: Vec<String> = states
                            .iter()
                            .filter(|s| !s.is_ready())
                            .map(|s| format!("`{}` (MachineSet `{}`): {}", s.suffix, s.machineset, s.missing()))
                            .collect();
                        return Err(StepError::new(format!(
                            "GPUs not allocatable in time: {}",
                            missing.join("; ")
                        ))
                        .with_evidence(states.iter().map(SetState::progress).collect())
                        .with_hint(
                            "a node without `nvidia.com/gpu.present` or allocatable GPUs points at the NVIDIA GPU operator or NFD (`oc get pods -n nvidia-gpu-operator`, `oc get clusterpolicy`); a Machine that stays Provisioning points at AWS capacity or quotas (`oc get machines -n openshift-machine-api`)",
                        ));
                    }
                }
                if !(machines.synced && nodes.synced) {
                    continue;
                }
                states = assess_all(&sets, &machines.values(), &nodes.values());
                if let Some((s, f)) = states.iter().find_map(|s| s.failed.first().map(|f| (s, f))) {
                    return Err(StepError::new(format!(
                        "machine `{}` of GPU MachineSet `{}` failed",
                        f.machine, s.machineset
                    ))
                    .with_evidence(vec![f.message.clone()])
                    .with_hint("AWS may have no capacity for this instance type in the zone; delete the Machine to retry, or choose another instance type in the stage file"));
                }
                let line = states
                    .iter()
                    .map(SetState::progress)
                    .collect::<Vec<_>>()
                    .join(" · ");
                if line != last {
                    for s in &states {
                        ctx.measure(crate::runner::event::Measure::GpuNodes(s.measure()));
                    }
                    ctx.progress(line.clone());
                    last = line;
                }
                if states.iter().all(SetState::is_ready) {
                    for s in &states {
                        let nodes: Vec<Value> = s
                            .machines
                            .iter()
                            .filter_map(|(_, st)| match st {
                                gpu_state::MachineStage::Ready { node, .. } => Some(json!(node)),
                                _ => None,
                            })
                            .collect();
                        ctx.derive(
                            super::value_key(ctx, &format!("gpu.{}.nodes", s.suffix)),
                            Value::Array(nodes),
                        );
                    }
                    return Ok(StepDone::Succeeded);
                }
            }
        })
    }
}
