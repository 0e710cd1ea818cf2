//! `SimServer`: the HTTP server on 127.0.0.1 (axum), bearer-token authentication, denied
//! permissions (403), fault injection and latency, path routing into discovery and the resource
//! API, CRD establishment after a simulated delay, debounced persistence, kubeconfig output.
//! Never reaches into the world model; controllers are ordinary API clients.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::api::{self, Request, discovery, json_response};
use super::clock::SimClock;
use super::config::ServerConfig;
use super::error::{ApiError, SimError};
use super::faults::{Fault, Faults, Strike};
use super::persist;
use super::resources::Registry;
use super::store::{GroupResource, Store};

/// Request header of [`SimServer::internal_client`]: faults are never injected into its requests.
pub const INTERNAL_HEADER: &str = "x-democtl-sim-internal";

/// State shared by every request handler.
#[derive(Debug)]
pub struct Shared {
    /// The objects.
    pub store: Store,
    /// The configuration.
    pub config: ServerConfig,
    /// The bearer token.
    pub token: String,
    /// The fault generator.
    pub faults: Faults,
    /// Cancelled on shutdown (ends watches and log streams).
    pub cancel: CancellationToken,
    jobs: mpsc::UnboundedSender<Job>,
    address: String,
    /// Why the last save of the state file failed (cleared by the next good save).
    save_error: std::sync::Mutex<Option<String>>,
}

/// Work kube-apiserver's own controllers do a little later.
#[derive(Debug)]
enum Job {
    /// Set NamesAccepted + Established on a CRD and serve it.
    Establish(String),
    /// Run the namespace controller for a terminating namespace.
    SweepNamespace(String),
}

impl Shared {
    /// Whether a denied-permission rule matches the request.
    pub fn denies(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        sub: Option<&str>,
        namespace: Option<&str>,
    ) -> bool {
        self.config
            .denied
            .iter()
            .any(|r| r.matches(verb, group, resource, sub, namespace))
    }

    /// Schedules NamesAccepted/Established for a new CRD after the configured delay.
    pub fn schedule_establish(&self, name: &str) {
        // The receiver only goes away on shutdown, when nothing needs doing any more.
        let _ = self.jobs.send(Job::Establish(name.to_string()));
    }

    /// Schedules the namespace controller for a namespace that started terminating.
    pub fn schedule_namespace_sweep(&self, name: &str) {
        let _ = self.jobs.send(Job::SweepNamespace(name.to_string()));
    }
}

/// A running simulated API server.
#[derive(Debug)]
pub struct SimServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl SimServer {
    /// Starts a server on 127.0.0.1 with an ephemeral port.
    pub async fn start(config: ServerConfig) -> Result<SimServer, SimError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a server on `addr` (loads the state file first, when configured).
    pub async fn start_on(addr: SocketAddr, config: ServerConfig) -> Result<SimServer, SimError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let store = Store::new(Registry::with_builtins(), config.event_window);
        if let Some(path) = &config.state_file {
            let mut st = store.lock();
            // The cluster's clock stood still while it was stopped: it resumes from the saved
            // reading (so a half-done download stays half done), with the earlier speeds.
            if let Some(loaded) = persist::load(path, &mut st)?
                && let Some(t) = loaded.time
            {
                config.clock.resume(t, &loaded.speeds);
            }
            st.dirty = false;
        }
        let token = config
            .token
            .clone()
            .unwrap_or_else(|| format!("sim-{}", uuid::Uuid::new_v4().simple()));
        let (etx, erx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            store,
            faults: Faults::new(config.faults.clone()),
            config,
            token,
            cancel: CancellationToken::new(),
            jobs: etx,
            address: addr.to_string(),
            save_error: std::sync::Mutex::new(None),
        });
        seed_defaults(&shared);
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let cancel = shared.cancel.clone();
        let tls = shared.config.tls;
        let serve = if tls {
            let acceptor = super::tls::acceptor().map_err(|source| SimError::Bind {
                addr: addr.to_string(),
                source,
            })?;
            let listener = super::tls::TlsListener {
                tcp: listener,
                acceptor,
            };
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { cancel.cancelled().await })
                    .await;
            })
        } else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { cancel.cancelled().await })
                    .await;
            })
        };
        let mut tasks = vec![serve];
        tasks.push(tokio::spawn(controllers(shared.clone(), erx)));
        // CRDs stored before a restart that were never established get their turn now.
        let pending: Vec<String> = {
            let st = shared.store.lock();
            st.list(
                &GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions"),
                None,
            )
            .iter()
            .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
            .filter(|n| !st.registry.is_crd_served(n))
            .map(str::to_string)
            .collect()
        };
        for n in pending {
            shared.schedule_establish(&n);
        }
        let terminating: Vec<String> = shared
            .store
            .lock()
            .list(&GroupResource::new("", "namespaces"), None)
            .iter()
            .filter(|n| n.pointer("/metadata/deletionTimestamp").is_some())
            .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        for n in terminating {
            shared.schedule_namespace_sweep(&n);
        }
        if shared.config.state_file.is_some() {
            tasks.push(tokio::spawn(persister(shared.clone())));
        }
        Ok(SimServer {
            shared,
            addr,
            tasks,
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` with `ServerConfig::tls`).
    pub fn url(&self) -> String {
        let scheme = if self.shared.config.tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token clients must send.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The simulated clock.
    pub fn clock(&self) -> &SimClock {
        &self.shared.config.clock
    }

    /// Cancelled when the server shuts down.
    pub fn cancellation(&self) -> CancellationToken {
        self.shared.cancel.clone()
    }

    /// A kube client config for this server (default namespace `default`, kube's built-in
    /// retry off so injected faults surface at once).
    pub fn kube_config(&self) -> Result<kube::Config, SimError> {
        let uri = self
            .url()
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| SimError::Io {
                path: self.url().into(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
            })?;
        let mut cfg = kube::Config::new(uri);
        cfg.default_namespace = "default".into();
        cfg.default_retry = false;
        cfg.auth_info.token = Some(self.shared.token.clone().into());
        if self.shared.config.tls {
            cfg.root_cert = super::tls::ca_der().map(|c| vec![c]);
        }
        Ok(cfg)
    }

    /// A kube client for this server (see `kube_config`).
    pub fn client(&self) -> Result<kube::Client, SimError> {
        kube::Client::try_from(self.kube_config()?).map_err(|source| SimError::Client { source })
    }

    /// A client for the simulator's own work (seeding, the world's controllers, tests reading
    /// the result): injected faults never strike it, so they test the client under test, not
    /// the simulated operators.
    pub fn internal_client(&self) -> Result<kube::Client, SimError> {
        let mut cfg = self.kube_config()?;
        cfg.headers.push((
            axum::http::HeaderName::from_static(INTERNAL_HEADER),
            axum::http::HeaderValue::from_static("1"),
        ));
        kube::Client::try_from(cfg).map_err(|source| SimError::Client { source })
    }

    /// A kubeconfig document (context `sim`, bearer token, namespace `default`; the CA with TLS).
    pub fn kubeconfig_yaml(&self) -> String {
        use base64::Engine;
        let ca = if self.shared.config.tls {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(super::tls::CA_PEM)
            )
        } else {
            String::new()
        };
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {url}{ca}\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim-user\n    namespace: default\ncurrent-context: sim\nusers:\n- name: sim-user\n  user:\n    token: {token}\n",
            url = self.url(),
            token = self.shared.token
        )
    }

    /// Writes the kubeconfig (mode 0600) to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        let io = |source| SimError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, self.kubeconfig_yaml()).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        Ok(())
    }

    /// Saves the state file now (no-op without one).
    pub fn save(&self) -> Result<(), SimError> {
        save_now(&self.shared)
    }

    /// Why the last save of the state file failed, while it keeps failing (the file on disk
    /// then still holds the last good state).
    pub fn save_error(&self) -> Option<String> {
        self.shared
            .save_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The injected faults in one line (rate, kinds, before/after execution, seed); `None`
    /// when none are injected.
    pub fn faults(&self) -> Option<String> {
        self.shared.faults.describe()
    }

    /// How many objects the server holds.
    pub fn object_count(&self) -> usize {
        self.shared.store.lock().len()
    }

    /// Serves until `cancel` fires, then shuts down (for `democtl sim serve`).
    pub async fn run_until(self, cancel: CancellationToken) -> Result<(), SimError> {
        let mine = self.shared.cancel.clone();
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = mine.cancelled() => {}
        }
        self.shutdown().await
    }

    /// Stops serving (open watches end) and saves the state file.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        self.shared.cancel.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        save_now(&self.shared)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

fn save_now(shared: &Shared) -> Result<(), SimError> {
    let Some(path) = &shared.config.state_file else {
        return Ok(());
    };
    let data = {
        let mut st = shared.store.lock();
        st.dirty = false;
        let clock = &shared.config.clock;
        persist::snapshot(&st, clock.now(), &clock.timeline())
    };
    let result = persist::save(path, &data);
    let mut error = shared
        .save_error
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match &result {
        Ok(()) => *error = None,
        Err(e) => {
            // Saved again on the next change or tick, not lost for good.
            shared.store.lock().dirty = true;
            let cause = std::error::Error::source(e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            *error = Some(format!("{e}{cause}"));
        }
    }
    result
}

/// Saves the state file at most every 200 ms while there are changes.
async fn persister(shared: Arc<Shared>) {
    let mut logged: Option<String> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        if shared.store.lock().dirty {
            let s = shared.clone();
            let result = tokio::task::spawn_blocking(move || save_now(&s)).await;
            // A failing save is retried on every tick; say so when it starts failing (or fails
            // differently) and when it recovers, not 5 times a second.
            let now = shared
                .save_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if now != logged {
                match (&now, &result) {
                    (Some(_), Ok(Err(e))) => {
                        tracing::error!(error = %e, "failed to save the simulated cluster state; the last good state stays on disk")
                    }
                    (None, _) => tracing::info!("the simulated cluster state is saved again"),
                    _ => {}
                }
                logged = now;
            }
        }
    }
}

/// Runs delayed jobs after their simulated delay: CRD establishment (kube-apiserver's naming
/// and establishing controllers) and namespace sweeps (the namespace controller).
async fn controllers(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Job>) {
    loop {
        let job = tokio::select! {
            _ = shared.cancel.cancelled() => return,
            n = rx.recv() => match n { Some(n) => n, None => return },
        };
        let s = shared.clone();
        tokio::spawn(async move {
            let delay = match &job {
                Job::Establish(_) => s.config.crd_establish_delay,
                Job::SweepNamespace(_) => s.config.namespace_delete_delay,
            };
            tokio::select! {
                _ = s.cancel.cancelled() => return,
                _ = s.config.clock.sleep(delay) => {}
            }
            match job {
                Job::Establish(name) => establish(&s, &name),
                Job::SweepNamespace(name) => {
                    let now = s.config.clock.now_rfc3339();
                    let mut st = s.store.lock();
                    api::delete::sweep_namespace(&mut st, &name, &now);
                    api::delete::settle(&mut st, &now);
                }
            }
        });
    }
}

fn establish(shared: &Shared, name: &str) {
    let gr = GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions");
    let now = shared.config.clock.now_rfc3339();
    let mut st = shared.store.lock();
    let Some(crd) = st.get(&gr, "", name) else {
        return;
    };
    if crd.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let mut crd = (*crd).clone();
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut accepted = names.clone();
    if let Some(m) = accepted.as_object_mut() {
        if !m.contains_key("singular") {
            let kind = names.get("kind").and_then(Value::as_str).unwrap_or("");
            m.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if !m.contains_key("listKind") {
            let kind = names.get("kind").and_then(Value::as_str).unwrap_or("");
            m.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    crd["status"]["acceptedNames"] = accepted;
    crd["status"]["conditions"] = json!([
        {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
         "reason": "NoConflicts", "message": "no conflicts found"},
        {"type": "Established", "status": "True", "lastTransitionTime": now,
         "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
    ]);
    st.registry.serve_crd(name, &crd);
    st.put(&gr, "", name, crd);
}

/// What kube-controller-manager puts into every new namespace: the `kube-root-ca.crt` ConfigMap
/// (root-ca-cert-publisher) and the `default` ServiceAccount (serviceaccount controller). Done
/// synchronously with the namespace's creation, like the simulator's garbage collector.
pub fn populate_namespace(st: &mut super::store::State, ns: &str, now: &str) {
    let manager = |fields: Value| {
        json!([{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
            "time": now, "fieldsType": "FieldsV1", "fieldsV1": fields}])
    };
    let meta = |name: &str, fields: Value| {
        json!({"name": name, "namespace": ns, "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": now, "managedFields": manager(fields)})
    };
    let cm = GroupResource::new("", "configmaps");
    if st.get(&cm, ns, "kube-root-ca.crt").is_none() {
        let mut fields = json!({"f:data": {".": {}, "f:ca.crt": {}}});
        fields["f:metadata"] =
            json!({"f:annotations": {".": {}, "f:kubernetes.io/description": {}}});
        let mut m = meta("kube-root-ca.crt", fields);
        m["annotations"] = json!({"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."});
        st.put(
            &cm,
            ns,
            "kube-root-ca.crt",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": m,
                "data": {"ca.crt": super::tls::CA_PEM}}),
        );
    }
    let sa = GroupResource::new("", "serviceaccounts");
    if st.get(&sa, ns, "default").is_none() {
        st.put(
            &sa,
            ns,
            "default",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("default", json!({}))}),
        );
    }
}

/// Objects every cluster has: the `default`, `kube-system` and `kube-public` namespaces.
fn seed_defaults(shared: &Shared) {
    let gr = GroupResource::new("", "namespaces");
    let now = shared.config.clock.now_rfc3339();
    let mut st = shared.store.lock();
    let was_dirty = st.dirty;
    for ns in ["default", "kube-system", "kube-public"] {
        if st.get(&gr, "", ns).is_none() {
            st.put(
                &gr,
                "",
                ns,
                json!({
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(),
                        "creationTimestamp": now, "labels": {"kubernetes.io/metadata.name": ns}},
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }),
            );
        }
        populate_namespace(&mut st, ns, &now);
    }
    // Like kube-apiserver's watch cache, which starts from a list taken after bootstrap: a watch
    // from an older resourceVersion is answered 410 Expired.
    st.start_watch_window();
    st.dirty = was_dirty;
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// What a path addresses.
enum Route {
    CoreVersions,
    GroupList,
    Group(String),
    ResourceList(String, String),
    Resource {
        group: String,
        version: String,
        rest: Vec<String>,
    },
}

fn route(path: &str) -> Option<Route> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    Some(match s.as_slice() {
        ["api"] => Route::CoreVersions,
        ["api", v] => Route::ResourceList(String::new(), v.to_string()),
        ["api", v, ..] => Route::Resource {
            group: String::new(),
            version: v.to_string(),
            rest: segs[2..].to_vec(),
        },
        ["apis"] => Route::GroupList,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::ResourceList(g.to_string(), v.to_string()),
        ["apis", g, v, ..] => Route::Resource {
            group: g.to_string(),
            version: v.to_string(),
            rest: segs[3..].to_vec(),
        },
        _ => return None,
    })
}

fn reset_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// Every request goes through here.
async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    match path.as_str() {
        "/healthz" | "/livez" | "/readyz" => return "ok".into_response(),
        "/version" => {
            return json_response(200, &discovery::version(&shared.config.kubernetes_version));
        }
        _ => {}
    }
    let auth = header_str(&headers, header::AUTHORIZATION);
    if auth.strip_prefix("Bearer ").map(str::trim) != Some(shared.token.as_str()) {
        return ApiError::unauthorized().into_response();
    }
    if path == "/openapi/v2" {
        return openapi_v2_response(&shared, &headers);
    }
    if let Some(rest) = path.strip_prefix("/openapi/v3") {
        return openapi_response(&shared, rest);
    }
    let Some(route) = route(&path) else {
        return ApiError::no_route().into_response();
    };
    let latency = shared.faults.config().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let accept = header_str(&headers, header::ACCEPT);
    let faulty = !headers.contains_key(INTERNAL_HEADER);
    let result = match route {
        Route::CoreVersions | Route::GroupList | Route::Group(_) | Route::ResourceList(..) => {
            if let Some((f, _)) = faulty.then(|| shared.faults.decide("get")).flatten() {
                return fault_response(&shared, f);
            }
            Ok(discovery_response(&shared, route, &accept))
        }
        Route::Resource {
            group,
            version,
            rest,
        } => {
            let query: std::collections::HashMap<String, String> =
                Query::try_from_uri(&uri).map(|q| q.0).unwrap_or_default();
            match resource_request(&shared, method, group, version, rest, query, &headers, body) {
                Err(e) => Err(e),
                Ok(req) => {
                    // The fault hook (rel): before execution the request is refused; after
                    // execution it runs and its response is replaced (the answer is lost).
                    let fault = faulty.then(|| shared.faults.decide(req.verb())).flatten();
                    if let Some((f, Strike::Before)) = fault {
                        return fault_response(&shared, f);
                    }
                    let result = match authorize(&shared, &req) {
                        Err(e) => Err(e),
                        Ok(()) => api::dispatch(shared.clone(), req).await,
                    };
                    if let Some((f, Strike::After)) = fault {
                        drop(result);
                        return fault_response(&shared, f);
                    }
                    result
                }
            }
        }
    };
    match result {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(path, code = e.code, reason = e.reason, "api error");
            e.into_response()
        }
    }
}

fn fault_response(shared: &Shared, fault: Fault) -> Response {
    let retry = shared.faults.config().retry_after_seconds;
    match fault {
        Fault::TooManyRequests => ApiError::too_many_requests(retry).into_response(),
        Fault::InternalError => ApiError::internal("injected fault").into_response(),
        Fault::Unavailable => ApiError::unavailable(Some(retry)).into_response(),
        Fault::ConnectionReset => reset_response(),
    }
}

fn discovery_response(shared: &Shared, route: Route, accept: &str) -> Response {
    let st = shared.store.lock();
    let reg = &st.registry;
    let aggregated = discovery::wants_aggregated(accept);
    let route_group = match &route {
        Route::Group(g) | Route::ResourceList(g, _) => Some(g.clone()),
        _ => None,
    };
    let doc = match route {
        Route::CoreVersions if aggregated => {
            return aggregated_response(discovery::aggregated(reg, true));
        }
        Route::GroupList if aggregated => {
            return aggregated_response(discovery::aggregated(reg, false));
        }
        Route::CoreVersions => Some(discovery::core_versions(&shared.address)),
        Route::GroupList => Some(discovery::group_list(reg)),
        Route::Group(g) => discovery::group(reg, &g),
        Route::ResourceList(g, v) => discovery::resource_list(reg, &g, &v),
        Route::Resource { .. } => None,
    };
    match (doc, route_group) {
        (Some(d), _) => json_response(200, &d),
        // `/api/...` is one go-restful web service (a Status 404); an unserved `/apis/<g>[/<v>]`
        // falls through to Go's plain-text NotFound.
        (None, Some(g)) if !g.is_empty() => ApiError::page_not_found().into_response(),
        (None, _) => ApiError::no_route().into_response(),
    }
}

/// `/openapi/v2` as JSON; an Accept that admits no JSON (client-go's protobuf-only v2 request)
/// is 406, so such clients fall back exactly as they did before v2 was served.
fn openapi_v2_response(shared: &Shared, headers: &HeaderMap) -> Response {
    let accept = header_str(headers, header::ACCEPT);
    let json_ok = accept.is_empty()
        || accept
            .split(',')
            .map(|m| m.split(';').next().unwrap_or("").trim())
            .any(|m| matches!(m, "application/json" | "application/*" | "*/*"));
    if !json_ok {
        return ApiError::not_acceptable().into_response();
    }
    let st = shared.store.lock();
    json_response(200, &api::openapi::v2(&st))
}

fn openapi_response(shared: &Shared, rest: &str) -> Response {
    let st = shared.store.lock();
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let doc = match segs.as_slice() {
        [] => Some(api::openapi::index(&st.registry)),
        ["api", v] => api::openapi::group_version(&st, "", v),
        ["apis", g, v] => api::openapi::group_version(&st, g, v),
        _ => None,
    };
    match doc {
        Some(d) => json_response(200, &d),
        None => ApiError::no_route().into_response(),
    }
}

fn aggregated_response(doc: Value) -> Response {
    let mut r = json_response(200, &doc);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(discovery::AGGREGATED),
    );
    r
}

#[allow(clippy::too_many_arguments)]
fn resource_request(
    shared: &Shared,
    method: Method,
    group: String,
    version: String,
    rest: Vec<String>,
    query: std::collections::HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Request, ApiError> {
    let mut parts: &[String] = &rest;
    let mut namespace = None;
    if parts.first().map(String::as_str) == Some("namespaces")
        && parts.len() > 2
        && !matches!(parts[2].as_str(), "status" | "finalize")
    {
        namespace = Some(parts[1].clone());
        parts = &parts[2..];
    }
    if parts.is_empty() || parts.len() > 3 {
        return Err(ApiError::no_route());
    }
    let kind = {
        let st = shared.store.lock();
        st.registry
            .get(&group, &version, &parts[0])
            .ok_or_else(|| st.registry.unserved(&group, &version))?
    };
    if kind.namespaced != namespace.is_some()
        && !(kind.namespaced && parts.len() == 1 && method == Method::GET)
    {
        // apiextensions-apiserver delegates a scope mismatch to the plain-text NotFound.
        return Err(if kind.custom {
            ApiError::page_not_found()
        } else if kind.namespaced && method == Method::POST {
            ApiError::method_not_allowed()
        } else {
            ApiError::no_route()
        });
    }
    Ok(Request {
        method,
        gr: GroupResource::new(&kind.group, &kind.plural),
        kind,
        namespace,
        name: parts.get(1).cloned(),
        sub: parts.get(2).cloned(),
        query,
        content_type: header_str(headers, header::CONTENT_TYPE),
        accept: header_str(headers, header::ACCEPT),
        user_agent: header_str(headers, header::USER_AGENT),
        identity: crate::sim::auth::identify(&shared.config, headers)?,
        body,
    })
}

fn authorize(shared: &Shared, req: &Request) -> Result<(), ApiError> {
    let verb = req.verb();
    let attrs = crate::sim::auth::Attributes {
        verb,
        group: &req.kind.group,
        resource: &req.kind.plural,
        sub: req.sub.as_deref(),
        name: req.name.as_deref(),
        namespace: req.namespace.as_deref(),
    };
    // The configured user needs no RBAC walk (and no store lock): only the denied rules.
    let allowed = if req.identity.impersonated {
        let st = shared.store.lock();
        crate::sim::auth::authorize(&st, &shared.config, &req.identity, &attrs).allowed
    } else {
        !shared.denies(
            verb,
            attrs.group,
            attrs.resource,
            attrs.sub,
            attrs.namespace,
        )
    };
    if !allowed {
        return Err(ApiError::forbidden(
            &req.identity.user,
            verb,
            &req.kind.group,
            &req.kind.plural,
            req.sub.as_deref(),
            req.name.as_deref(),
            req.namespace.as_deref(),
        ));
    }
    Ok(())
}
