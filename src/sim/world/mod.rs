//! The world model: simulated controllers (machines and nodes, scheduler and kubelet, workloads,
//! Jobs, storage, routes, OLM, OpenShift AI operators) that use the Kubernetes API exactly like real
//! ones — watch through kube-runtime watchers, then create/patch objects and their `status`
//! subresource through a `kube::Client`. They never reach into the simulator's storage, so they run
//! against any API server (`democtl sim controllers --kubeconfig FILE`).
//!
//! Controllers are level-triggered: every decision is derived from what is in the cluster (phases,
//! condition `lastTransitionTime`s, Job `startTime`, Machine `lastUpdated`) and the simulated clock,
//! so a restarted world resumes where it stopped. Durations come from the scenario's `delays`.
//! [`seed`] creates a scenario's starting objects; [`run`] plays the controllers until cancelled.

pub mod catalog;
mod informer;
mod machines;
pub mod obj;
mod openshift;
mod pods;
mod rhoai;
mod seed;
mod storage;
mod workloads;

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::clock::{SimClock, parse_rfc3339};
use super::scenario::Scenario;
use informer::{Caches, Kind};

pub use machines::kubelet_version;
pub use seed::seed;

/// Pod annotation holding the simulated container log (newline-separated, last 500 lines); the
/// server's `pods/{name}/log` subresource serves it.
pub const LOG_ANNOTATION: &str = "sim.democtl.io/log";

/// Label that tells the simulated kubelet what a pod does: `model-download`, `benchmark`, `run`
/// (finishes after `delays.job`) or `serve` (runs until deleted). Without it the behaviour is guessed
/// from the Job/pod name and images (see `pods::Behaviour::of`).
pub const BEHAVIOUR_LABEL: &str = "democtl.io/sim-behaviour";

/// Annotation on operator-made objects: hash of the desired object they were made from.
const DESIRED_HASH: &str = "sim.democtl.io/desired-hash";

/// Finalizer the simulated machine controller puts on Machines (as the real one does).
pub const MACHINE_FINALIZER: &str = "machine.machine.openshift.io";

/// Errors of the world model.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// An API call failed.
    #[error("failed to {action} `{object}`")]
    Api {
        /// What was attempted (`create`, `patch status of`, …).
        action: &'static str,
        /// `Kind/namespace/name`.
        object: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// A CRD did not become Established while seeding.
    #[error("CustomResourceDefinition `{name}` did not become Established")]
    CrdNotEstablished {
        /// CRD name.
        name: String,
    },
}

impl WorldError {
    /// A hint for the user.
    pub fn hint(&self) -> Option<String> {
        match self {
            WorldError::Api { .. } => Some(
                "is the API server reachable and does the kubeconfig user have cluster-admin rights?"
                    .to_string(),
            ),
            WorldError::CrdNotEstablished { .. } => {
                Some("the API server must serve CRDs created through the API".to_string())
            }
        }
    }
}

/// Everything a controller needs: the client, the scenario, the clock and the watch caches.
pub(crate) struct Ctx {
    pub client: Client,
    pub scenario: Arc<Scenario>,
    pub clock: SimClock,
    pub caches: Caches,
}

/// When the controller loop must run again (besides on watch events).
#[derive(Debug, Default)]
pub(crate) struct Wake {
    next: Option<Timestamp>,
    retry: bool,
    retry_later: bool,
}

impl Wake {
    /// Run again at simulated time `at`.
    pub fn at(&mut self, at: Timestamp) {
        self.next = Some(self.next.map_or(at, |n| n.min(at)));
    }

    /// A write failed transiently (conflict, throttling, server error, connection); retry soon.
    pub fn retry(&mut self) {
        self.retry = true;
    }

    /// A write was refused (forbidden, invalid, kind not served); retry, but not in a tight loop.
    pub fn retry_later(&mut self) {
        self.retry_later = true;
    }
}

fn object_name(kind: Kind, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{}/{}", kind.kind, name)
    } else {
        format!("{}/{}/{}", kind.kind, namespace, name)
    }
}

impl Ctx {
    /// Current simulated time as RFC 3339.
    pub fn now_s(&self) -> String {
        self.clock.now_rfc3339()
    }

    /// Whether `delay` simulated seconds have passed since the RFC 3339 time `since`; if not,
    /// schedules a wake-up for that moment. A missing or malformed time counts as passed.
    pub fn due(&self, since: Option<&str>, delay: u64, wake: &mut Wake) -> bool {
        let Some(start) = since.and_then(parse_rfc3339) else {
            return true;
        };
        let at = start
            .checked_add(SignedDuration::from_secs(
                i64::try_from(delay).unwrap_or(i64::MAX / 4),
            ))
            .unwrap_or(start);
        if self.clock.now() >= at {
            true
        } else {
            wake.at(at);
            false
        }
    }

    /// Simulated seconds elapsed since `since` (0 if missing).
    pub fn elapsed(&self, since: Option<&str>) -> u64 {
        since
            .and_then(parse_rfc3339)
            .map_or(0, |t| self.clock.since(t).as_secs())
    }

    /// Simulated seconds → a `Timestamp` after `since`.
    pub fn after(since: &str, secs: u64) -> Option<Timestamp> {
        parse_rfc3339(since)?
            .checked_add(SignedDuration::from_secs(secs as i64))
            .ok()
    }

    fn api(&self, kind: Kind, namespace: &str) -> Api<DynamicObject> {
        let ar = kind.api_resource();
        if kind.namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        }
    }

    /// Creates an object without touching its status subresource; AlreadyExists is success.
    pub async fn create_only(&self, kind: Kind, mut obj: Value) -> Result<(), WorldError> {
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.kind);
        let ns = obj::namespace(&obj).to_string();
        let name = obj::name(&obj).to_string();
        let Ok(dynamic) = serde_json::from_value::<DynamicObject>(obj) else {
            return Ok(());
        };
        match self
            .api(kind, &ns)
            .create(&PostParams::default(), &dynamic)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(source) => Err(WorldError::Api {
                action: "create",
                object: object_name(kind, &ns, &name),
                source,
            }),
        }
    }

    /// Reads one object.
    pub async fn get(&self, kind: Kind, namespace: &str, name: &str) -> Result<Value, WorldError> {
        match self.api(kind, namespace).get(name).await {
            Ok(o) => Ok(serde_json::to_value(&o).unwrap_or_default()),
            Err(source) => Err(WorldError::Api {
                action: "get",
                object: object_name(kind, namespace, name),
                source,
            }),
        }
    }

    /// Creates an object (apiVersion/kind filled in); AlreadyExists is success.
    pub async fn create(&self, kind: Kind, mut obj: Value) -> Result<(), WorldError> {
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.kind);
        let ns = obj::namespace(&obj).to_string();
        let name = obj::name(&obj).to_string();
        let dynamic: DynamicObject = match serde_json::from_value(obj.clone()) {
            Ok(d) => d,
            Err(_) => return Ok(()),
        };
        match self
            .api(kind, &ns)
            .create(&PostParams::default(), &dynamic)
            .await
        {
            Ok(created) => {
                // Kinds with a status subresource ignore status on create; write it separately.
                if let Some(status) = obj.get("status").filter(|s| !s.is_null()) {
                    let created = serde_json::to_value(&created).unwrap_or_default();
                    self.patch_status(kind, &created, status.clone()).await?;
                }
                Ok(())
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(source) => Err(WorldError::Api {
                action: "create",
                object: object_name(kind, &ns, &name),
                source,
            }),
        }
    }

    /// Creates `obj` owned by an operator, or — when the existing object was made from a different
    /// desired state (annotation `sim.democtl.io/desired-hash`) — merge-patches its spec to `obj`'s,
    /// so edits of the owner (an InferenceService's resources, a LlamaStack's env) roll out.
    pub async fn ensure(&self, kind: Kind, mut obj: Value) -> Result<(), WorldError> {
        let hash = obj::hash_chars(&obj.to_string(), 16);
        obj["metadata"]["annotations"][DESIRED_HASH] = json!(hash);
        let current = self.caches.get(kind, obj::namespace(&obj), obj::name(&obj));
        match current {
            Some(cur) if obj::annotation(&cur, DESIRED_HASH) != Some(hash.as_str()) => {
                let patch = json!({
                    "metadata": {"annotations": {DESIRED_HASH: hash}},
                    "spec": obj["spec"].clone(),
                });
                self.patch(kind, &cur, patch).await
            }
            Some(_) => Ok(()),
            None => self.create(kind, obj).await,
        }
    }

    /// Merge-patches `status` of `current` (skipped when nothing would change).
    pub async fn patch_status(
        &self,
        kind: Kind,
        current: &Value,
        status: Value,
    ) -> Result<(), WorldError> {
        self.merge_patch(kind, current, json!({ "status": status }), true)
            .await
    }

    /// Merge-patches the main resource of `current` (skipped when nothing would change).
    pub async fn patch(&self, kind: Kind, current: &Value, patch: Value) -> Result<(), WorldError> {
        self.merge_patch(kind, current, patch, false).await
    }

    /// Merge-patches `current` or its `status` subresource; an object deleted meanwhile is not
    /// an error (a controller's next pass sees it gone).
    async fn merge_patch(
        &self,
        kind: Kind,
        current: &Value,
        patch: Value,
        status: bool,
    ) -> Result<(), WorldError> {
        if !obj::merge_changes(current, &patch) {
            return Ok(());
        }
        let (ns, name) = (obj::namespace(current), obj::name(current));
        let api = self.api(kind, ns);
        let (params, body) = (PatchParams::default(), Patch::Merge(&patch));
        let result = if status {
            api.patch_status(name, &params, &body).await
        } else {
            api.patch(name, &params, &body).await
        };
        match result {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(source) => Err(WorldError::Api {
                action: if status { "patch status of" } else { "patch" },
                object: object_name(kind, ns, name),
                source,
            }),
        }
    }

    /// Deletes an object (background propagation); NotFound is success.
    pub async fn delete(&self, kind: Kind, namespace: &str, name: &str) -> Result<(), WorldError> {
        match self
            .api(kind, namespace)
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(source) => Err(WorldError::Api {
                action: "delete",
                object: object_name(kind, namespace, name),
                source,
            }),
        }
    }

    /// Deletes an object at once (grace period 0), as the kubelet does once containers stopped.
    pub async fn delete_now(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<(), WorldError> {
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::background()
        };
        match self.api(kind, namespace).delete(name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(source) => Err(WorldError::Api {
                action: "delete",
                object: object_name(kind, namespace, name),
                source,
            }),
        }
    }

    /// Sets the simulated log of a pod (the whole text, last 500 lines).
    pub async fn set_log(&self, pod: &Value, lines: &[String]) -> Result<(), WorldError> {
        let start = lines.len().saturating_sub(500);
        let text = lines[start..].join("\n");
        if obj::annotation(pod, LOG_ANNOTATION) == Some(text.as_str()) {
            return Ok(());
        }
        self.patch(
            informer::POD,
            pod,
            json!({"metadata": {"annotations": {LOG_ANNOTATION: text}}}),
        )
        .await
    }

    /// Records an Event about `involved` (what `oc describe` shows). The name is derived from the
    /// object, reason and message, so the same event is created once.
    pub async fn event(
        &self,
        involved: &Value,
        type_: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) -> Result<(), WorldError> {
        let ns = match obj::namespace(involved) {
            "" => "default",
            ns => ns,
        };
        let now = self.now_s();
        let name = format!(
            "{}.{}",
            obj::name(involved),
            obj::hash_chars(&format!("{}/{reason}/{message}", obj::uid(involved)), 16)
        );
        let event = json!({
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": obj::name(involved),
                "namespace": obj::namespace(involved),
                "uid": obj::uid(involved),
            },
            "type": type_,
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "reportingComponent": component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        });
        self.create_only(informer::written::EVENT, event).await
    }

    /// Records a failed write and schedules a retry: soon for transient errors, after a few
    /// seconds for refusals (403/404/422…), so a restricted user does not make a busy loop.
    pub fn note(&self, result: Result<(), WorldError>, wake: &mut Wake) {
        if let Err(e) = result {
            tracing::debug!(error = %e, cause = ?std::error::Error::source(&e).map(|s| s.to_string()), "sim world write failed");
            let transient = match &e {
                WorldError::Api {
                    source: kube::Error::Api(s),
                    ..
                } => {
                    matches!(s.code, 409 | 429 | 500 | 502 | 503 | 504)
                }
                WorldError::Api { .. } => true,
                WorldError::CrdNotEstablished { .. } => false,
            };
            if transient {
                wake.retry();
            } else {
                wake.retry_later();
            }
        }
    }

    /// The cluster's ingress domain (Ingress `cluster` spec.domain, else the scenario's).
    pub fn ingress_domain(&self) -> String {
        self.caches
            .get(informer::INGRESS_CONFIG, "", "cluster")
            .and_then(|i| i["spec"]["domain"].as_str().map(str::to_string))
            .unwrap_or_else(|| self.scenario.cluster.ingress_domain())
    }
}

/// Plays the scenario's controllers against the API server behind `client` until `cancel` fires.
/// Write failures (faults, conflicts) are retried; nothing here returns early on an API error.
pub async fn run(
    client: Client,
    scenario: &Scenario,
    clock: SimClock,
    cancel: CancellationToken,
) -> Result<(), WorldError> {
    let ctx = Ctx {
        client,
        scenario: Arc::new(scenario.clone()),
        clock,
        caches: Caches::default(),
    };
    let notify = Arc::new(Notify::new());
    let watch_cancel = cancel.child_token();
    informer::start(&ctx.client, &ctx.caches, &notify, &watch_cancel);
    loop {
        let mut wake = Wake::default();
        reconcile_all(&ctx, &mut wake).await;
        let sleep_for = if wake.retry {
            Duration::from_millis(100)
        } else {
            let timed = wake.next.map(|at| {
                let now = ctx.clock.now();
                let sim: Duration = at.duration_since(now).try_into().unwrap_or(Duration::ZERO);
                // Timestamps have second precision: wake slightly after the second has turned.
                ctx.clock.to_real(sim) + Duration::from_millis(2)
            });
            let idle = if wake.retry_later {
                Duration::from_secs(5)
            } else {
                Duration::from_secs(30)
            };
            timed.map_or(idle, |t| t.min(idle))
        };
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = notify.notified() => {
                // Let a burst of events land before the next pass.
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            _ = tokio::time::sleep(sleep_for) => {}
        }
    }
    watch_cancel.cancel();
    Ok(())
}

async fn reconcile_all(ctx: &Ctx, wake: &mut Wake) {
    machines::reconcile(ctx, wake).await;
    storage::reconcile(ctx, wake).await;
    workloads::reconcile(ctx, wake).await;
    pods::reconcile(ctx, wake).await;
    openshift::reconcile(ctx, wake).await;
    rhoai::reconcile(ctx, wake).await;
}
