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
mod knative;
mod machines;
mod mesh;
pub mod obj;
mod openshift;
mod pods;
mod rhoai;
mod seed;
mod storage;
mod tekton;
mod workloads;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
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

/// Pod annotation of lines a `run` pod prints when it finishes (newline-separated): what the
/// simulated program reports, e.g. the ingest script's `{"democtl":"ingested",…}` line, set by
/// the controller that makes the pod.
pub const EXIT_LOG_ANNOTATION: &str = "sim.democtl.io/exit-log";

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
    /// An object the world built does not serialise as a Kubernetes object (a bug of the world).
    #[error("malformed object `{object}`: {message}")]
    Malformed {
        /// `Kind/namespace/name`.
        object: String,
        /// What is wrong.
        message: String,
    },
    /// A write the server refused recently is not tried again yet.
    #[error("not retrying the refused {action} of `{object}` yet")]
    Deferred {
        /// What was attempted.
        action: &'static str,
        /// `Kind/namespace/name`.
        object: String,
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
            WorldError::Deferred { .. } | WorldError::Malformed { .. } => None,
        }
    }
}

/// Everything a controller needs: the client, the scenario, the clock, the watch caches and the
/// record of its writes.
pub(crate) struct Ctx {
    pub client: Client,
    pub scenario: Arc<Scenario>,
    pub clock: SimClock,
    pub caches: Caches,
    pub writes: WriteLog,
}

/// A controller write the API server refused (a 4xx other than "already exists" on create and
/// "not found" on patch/delete): on a real server such a write is lost, so in a healthy run there
/// are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `create`, `patch`, `patch status of`, `bind`, `delete`.
    pub verb: &'static str,
    /// `Kind/namespace/name`.
    pub object: String,
    /// The HTTP status code.
    pub code: u16,
    /// The server's message.
    pub message: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {} {}",
            self.verb, self.object, self.code, self.message
        )
    }
}

/// The record of the controllers' writes, shared by every clone: the writes the server refused
/// (for tests and diagnostics), a back-off per refused write so it is not retried on every pass,
/// and the last patch the server accepted per object, so a field the server prunes or defaults
/// does not make the controller patch again forever.
#[derive(Debug, Clone, Default)]
pub struct WriteLog {
    inner: Arc<std::sync::Mutex<WriteLogInner>>,
}

#[derive(Debug, Default)]
struct WriteLogInner {
    rejected: Vec<Rejection>,
    /// `verb object body-hash` → (refusals in a row, no retry before).
    backoff: std::collections::HashMap<String, (u32, tokio::time::Instant)>,
    /// `verb object` → (body hash, resourceVersion the server answered with).
    accepted: std::collections::HashMap<String, (String, String)>,
}

/// Longest pause before a refused write is tried again (real time).
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl WriteLog {
    /// Every write the server refused so far, oldest first.
    pub fn rejected(&self) -> Vec<Rejection> {
        self.inner
            .lock()
            .map(|i| i.rejected.clone())
            .unwrap_or_default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut WriteLogInner) -> T) -> Option<T> {
        self.inner.lock().ok().map(|mut i| f(&mut i))
    }

    /// Whether the write `key` was refused recently and must wait.
    fn backing_off(&self, key: &str) -> bool {
        self.with(|i| {
            i.backoff
                .get(key)
                .is_some_and(|(_, until)| tokio::time::Instant::now() < *until)
        })
        .unwrap_or(false)
    }

    fn refused(&self, key: String, rejection: Rejection) {
        tracing::warn!(
            verb = rejection.verb,
            object = %rejection.object,
            code = rejection.code,
            message = %rejection.message,
            "sim world: the API server refused a controller write"
        );
        self.with(|i| {
            let n = i.backoff.get(&key).map_or(0, |(n, _)| *n) + 1;
            let pause = Duration::from_secs(1u64 << n.min(6)).min(MAX_BACKOFF);
            i.backoff
                .insert(key, (n, tokio::time::Instant::now() + pause));
            i.rejected.push(rejection);
        });
    }

    fn succeeded(&self, key: &str) {
        self.with(|i| i.backoff.remove(key));
    }

    /// Whether the server already accepted exactly this patch of the object and the object has
    /// not changed since (what differs is what the server pruned or defaulted).
    fn already_accepted(&self, target: &str, body_hash: &str, resource_version: &str) -> bool {
        self.with(|i| {
            i.accepted
                .get(target)
                .is_some_and(|(h, rv)| h == body_hash && rv == resource_version)
        })
        .unwrap_or(false)
    }

    fn accepted(&self, target: String, body_hash: String, resource_version: String) {
        self.with(|i| i.accepted.insert(target, (body_hash, resource_version)));
    }
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
    /// The current time as RFC 3339 (wall time, what the API server stamps too): the value of
    /// every timestamp a controller writes.
    pub fn now_s(&self) -> String {
        self.clock.now_rfc3339()
    }

    /// Whether a process that started at the RFC 3339 time `since` has run for `delay` simulated
    /// seconds; if not, schedules a wake-up for that moment. A missing or malformed time counts as
    /// passed.
    pub fn due(&self, since: Option<&str>, delay: u64, wake: &mut Wake) -> bool {
        let Some(start) = since.and_then(parse_rfc3339) else {
            return true;
        };
        let at = self.clock.sim_after(start, Duration::from_secs(delay));
        if self.clock.now() >= at {
            true
        } else {
            wake.at(at);
            false
        }
    }

    /// Simulated seconds elapsed since `since` (0 if missing): real elapsed time × speed.
    pub fn elapsed(&self, since: Option<&str>) -> u64 {
        since
            .and_then(parse_rfc3339)
            .map_or(0, |t| self.clock.sim_since(t).as_secs())
    }

    /// The moment at which a process started at `since` has run for `secs` simulated seconds.
    pub fn after(&self, since: &str, secs: u64) -> Option<Timestamp> {
        Some(
            self.clock
                .sim_after(parse_rfc3339(since)?, Duration::from_secs(secs)),
        )
    }

    fn api(&self, kind: Kind, namespace: &str) -> Api<DynamicObject> {
        let ar = kind.api_resource();
        if kind.namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        }
    }

    /// Runs one write through the write log: a write refused recently waits for its back-off; a
    /// 4xx answer (other than the `tolerated` codes, which count as success) is logged and
    /// recorded as a [`Rejection`]; transient errors are returned for a quick retry.
    async fn guarded<T, Fut>(
        &self,
        verb: &'static str,
        object: String,
        body: &Value,
        tolerated: &[u16],
        op: Fut,
    ) -> Result<Option<T>, WorldError>
    where
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let key = format!("{verb} {object} {}", obj::hash_chars(&body.to_string(), 16));
        if self.writes.backing_off(&key) {
            return Err(WorldError::Deferred {
                action: verb,
                object,
            });
        }
        match op.await {
            Ok(o) => {
                self.writes.succeeded(&key);
                Ok(Some(o))
            }
            Err(kube::Error::Api(s)) if tolerated.contains(&s.code) => {
                self.writes.succeeded(&key);
                Ok(None)
            }
            Err(kube::Error::Api(s)) if (400..500).contains(&s.code) && s.code != 429 => {
                let rejection = Rejection {
                    verb,
                    object: object.clone(),
                    code: s.code,
                    message: s.message.clone(),
                };
                self.writes.refused(key, rejection);
                Err(WorldError::Api {
                    action: verb,
                    object,
                    source: kube::Error::Api(s),
                })
            }
            Err(source) => Err(WorldError::Api {
                action: verb,
                object,
                source,
            }),
        }
    }

    /// Creates an object without touching its status subresource; AlreadyExists is success.
    pub async fn create_only(&self, kind: Kind, obj: Value) -> Result<(), WorldError> {
        self.create_object(kind, obj).await.map(|_| ())
    }

    /// Creates an object (apiVersion/kind filled in); returns what the server stored, `None` when
    /// it already existed.
    async fn create_object(&self, kind: Kind, mut obj: Value) -> Result<Option<Value>, WorldError> {
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.kind);
        let ns = obj::namespace(&obj).to_string();
        let name = obj::name(&obj).to_string();
        let object = object_name(kind, &ns, &name);
        let dynamic: DynamicObject =
            serde_json::from_value(obj.clone()).map_err(|e| WorldError::Malformed {
                object: object.clone(),
                message: e.to_string(),
            })?;
        let api = self.api(kind, &ns);
        let created = self
            .guarded(
                "create",
                object,
                &obj,
                &[409],
                api.create(&PostParams::default(), &dynamic),
            )
            .await?;
        Ok(created.map(|c| serde_json::to_value(&c).unwrap_or_default()))
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

    /// Creates an object (apiVersion/kind filled in) and then writes its `status` through the
    /// subresource (a create ignores status when the kind has one); AlreadyExists is success.
    pub async fn create(&self, kind: Kind, obj: Value) -> Result<(), WorldError> {
        let status = obj.get("status").filter(|s| !s.is_null()).cloned();
        if let Some(created) = self.create_object(kind, obj).await?
            && let Some(status) = status
        {
            self.patch_status(kind, &created, status).await?;
        }
        Ok(())
    }

    /// Creates `obj` owned by an operator, or — when the existing object was made from a different
    /// desired state (annotation `sim.democtl.io/desired-hash`) — merge-patches its spec to `obj`'s,
    /// so edits of the owner (an InferenceService's resources, a LlamaStack's env) roll out.
    ///
    /// An object of the same name that another owner controls (an earlier owner of the same
    /// name, deleted, whose dependents the garbage collector has not removed yet) is left alone,
    /// as controllers do (`metav1.IsControlledBy`): patching it would roll the new owner's spec
    /// out inside the old object. The next pass, once it is gone, creates this one.
    pub async fn ensure(&self, kind: Kind, mut obj: Value) -> Result<(), WorldError> {
        let hash = obj::hash_chars(&obj.to_string(), 16);
        obj["metadata"]["annotations"][DESIRED_HASH] = json!(hash);
        let current = self.caches.get(kind, obj::namespace(&obj), obj::name(&obj));
        match current {
            Some(cur) if !obj::same_controller(&cur, &obj) => Ok(()),
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
    /// an error (a controller's next pass sees it gone). Skipped when the patch would change
    /// nothing, and when the server already accepted this very patch and the object has not
    /// changed since (the difference is what the server pruned or defaulted: patching again
    /// would loop).
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
        let verb = if status { "patch status of" } else { "patch" };
        let object = object_name(kind, ns, name);
        let target = format!("{verb} {object}");
        let body_hash = obj::hash_chars(&patch.to_string(), 16);
        let rv = current["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if self.writes.already_accepted(&target, &body_hash, rv) {
            return Ok(());
        }
        let api = self.api(kind, ns);
        let (params, body) = (PatchParams::default(), Patch::Merge(&patch));
        let patched = if status {
            self.guarded(verb, object.clone(), &patch, &[404], async {
                api.patch_status(name, &params, &body).await
            })
            .await?
        } else {
            self.guarded(verb, object.clone(), &patch, &[404], async {
                api.patch(name, &params, &body).await
            })
            .await?
        };
        if let Some(patched) = patched {
            let patched = serde_json::to_value(&patched).unwrap_or_default();
            if obj::merge_changes(&patched, &patch) {
                tracing::debug!(object = %object, verb, "sim world: the server pruned or changed fields of a patch");
            }
            let rv = patched["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.writes.accepted(target, body_hash, rv);
        }
        Ok(())
    }

    /// Deletes an object (background propagation); NotFound is success.
    pub async fn delete(&self, kind: Kind, namespace: &str, name: &str) -> Result<(), WorldError> {
        self.delete_with(kind, namespace, name, DeleteParams::background())
            .await
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
        self.delete_with(kind, namespace, name, params).await
    }

    async fn delete_with(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        params: DeleteParams,
    ) -> Result<(), WorldError> {
        let object = object_name(kind, namespace, name);
        let api = self.api(kind, namespace);
        self.guarded("delete", object, &Value::Null, &[404], async {
            api.delete(name, &params).await
        })
        .await
        .map(|_| ())
    }

    /// Binds a pod to a node through the `pods/{name}/binding` subresource, as kube-scheduler does
    /// (the API server refuses to set `spec.nodeName` by patch or update).
    pub async fn bind(&self, pod: &Value, node: &str) -> Result<(), WorldError> {
        let (ns, name) = (obj::namespace(pod), obj::name(pod));
        let binding = json!({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": ns, "uid": obj::uid(pod)},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        });
        let object = object_name(informer::POD, ns, name);
        let api = self.api(informer::POD, ns);
        let params = PostParams::default();
        self.guarded(
            "bind",
            object,
            &binding,
            &[404],
            api.create_subresource::<Value, Value>("binding", name, &params, &binding),
        )
        .await
        .map(|_| ())
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
            if let WorldError::Malformed { .. } = &e {
                tracing::warn!(error = %e, "sim world: cannot write");
            } else {
                tracing::debug!(error = %e, cause = ?std::error::Error::source(&e).map(|s| s.to_string()), "sim world write failed");
            }
            let transient = match &e {
                WorldError::Api {
                    source: kube::Error::Api(s),
                    ..
                } => {
                    matches!(s.code, 409 | 429 | 500 | 502 | 503 | 504)
                }
                WorldError::Api { .. } => true,
                WorldError::CrdNotEstablished { .. }
                | WorldError::Deferred { .. }
                | WorldError::Malformed { .. } => false,
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
    run_recorded(client, scenario, clock, cancel, WriteLog::default()).await
}

/// [`run`], recording the controllers' writes in `writes` (tests read its rejections).
pub async fn run_recorded(
    client: Client,
    scenario: &Scenario,
    clock: SimClock,
    cancel: CancellationToken,
    writes: WriteLog,
) -> Result<(), WorldError> {
    let ctx = Ctx {
        client,
        scenario: Arc::new(scenario.clone()),
        clock,
        caches: Caches::default(),
        writes,
    };
    let notify = Arc::new(Notify::new());
    let watch_cancel = cancel.child_token();
    informer::start(&ctx.client, &ctx.caches, &notify, &watch_cancel);
    loop {
        if !ctx.caches.all_synced() {
            // Acting on a partial view would undo the state a restarted world resumes from.
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = notify.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            continue;
        }
        let mut wake = Wake::default();
        reconcile_all(&ctx, &mut wake).await;
        let sleep_for = if wake.retry {
            Duration::from_millis(100)
        } else {
            let timed = wake.next.map(|at| {
                let now = ctx.clock.now();
                let real: Duration = at.duration_since(now).try_into().unwrap_or(Duration::ZERO);
                // Timestamps have second precision: wake slightly after the second has turned.
                real + Duration::from_millis(2)
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
    mesh::reconcile(ctx, wake).await;
    tekton::reconcile(ctx, wake).await;
}
