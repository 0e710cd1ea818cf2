//! Connecting to a cluster with kubectl semantics (`--kubeconfig`, KUBECONFIG, `--context`,
//! `oc login` token kubeconfigs, in-cluster fallback), the `Cluster` handle every other part of
//! the cluster layer uses, and `identity()` through SelfSubjectReview.
//!
//! kube's built-in HTTP retry is switched off (democtl owns retries, crates.md §2.5) and every
//! request goes through [`Cluster::call`], which adds the per-request timeout and maps errors.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube::{Client, Config};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::discovery::Discovery;
use super::error::{ClusterError, is_connection_error};
use super::object::typed_value;
use super::retry::RetryPolicy;

/// The cluster's notion of "now" (system time, or the simulator's clock).
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// Default time one API request may take (watches are not bounded by this).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How to find the cluster: kubectl's `--kubeconfig` and `--context`.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// One kubeconfig file (like `kubectl --kubeconfig`); None = KUBECONFIG (merged, `:`-separated)
    /// or `~/.kube/config`, else in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// Context to use instead of `current-context`.
    pub context: Option<String>,
}

/// Who democtl talks to and as whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub server: String,
    pub user: String,
    pub groups: Vec<String>,
}

/// A connected cluster: kube client, server URL, context name and the per-run discovery cache.
pub struct Cluster {
    client: Client,
    clock: Clock,
    server: String,
    context: Option<String>,
    request_timeout: Duration,
    retry: RetryPolicy,
    discovery: Discovery,
    /// Whether the server has answered this process yet (any response, errors included).
    answered: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("context", &self.context)
            .finish()
    }
}

impl Cluster {
    /// Loads the kubeconfig like kubectl and builds a client. Does not contact the cluster;
    /// call [`Cluster::identity`] to check reachability and credentials.
    pub async fn connect(opts: &ConnectOptions) -> Result<Cluster, ClusterError> {
        let (mut config, context) = load_config(opts).await?;
        config.default_retry = false;
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let client = Client::try_from(config).map_err(|source| ClusterError::Client {
            server: server.clone(),
            source,
        })?;
        let mut cluster = Cluster::from_client(client, server);
        cluster.context = context;
        Ok(cluster)
    }

    /// Wraps an existing client (the simulator's, tests). The client should have
    /// `default_retry = false`.
    pub fn from_client(client: Client, server: impl Into<String>) -> Cluster {
        Cluster {
            discovery: Discovery::default(),
            clock: Arc::new(jiff::Timestamp::now),
            client,
            server: server.into(),
            context: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::from_env(),
            answered: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Changes how transient failures are retried (default: [`RetryPolicy::default`]).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Changes the per-request timeout (default 30 s).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Uses `clock` as "now" for readiness grace periods (the simulator's simulated clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// kubeconfig context in use, when loaded from a kubeconfig.
    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Runs one API request with the per-request timeout and the cluster's [`RetryPolicy`],
    /// mapping failures to `ClusterError` with `action` ("apply", "get") and `object` (already
    /// quoted, see `ObjectKey::describe`). `request` makes the request anew for each attempt.
    ///
    /// Transient failures are retried (see [`super::retry`]); an optimistic-lock conflict is
    /// not (the caller must read again). A write retried after a lost response may meet its own
    /// effect: server-side apply is idempotent, callers of create treat AlreadyExists and
    /// callers of delete NotFound accordingly.
    pub async fn call<T, Fut>(
        &self,
        action: &str,
        object: impl Fn() -> String,
        mut request: impl FnMut() -> Fut,
    ) -> Result<T, ClusterError>
    where
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        use std::sync::atomic::Ordering;
        let mut delays = self.retry.backoff();
        let mut attempt = 1u32;
        loop {
            let err = match tokio::time::timeout(self.request_timeout, request()).await {
                Ok(Ok(v)) => {
                    self.answered.store(true, Ordering::Relaxed);
                    return Ok(v);
                }
                Ok(Err(source)) => {
                    if matches!(source, kube::Error::Api(_)) {
                        self.answered.store(true, Ordering::Relaxed);
                    }
                    ClusterError::api(action, object(), source)
                }
                Err(_) => ClusterError::RequestTimeout {
                    action: action.to_string(),
                    object: object(),
                    after: self.request_timeout,
                },
            };
            if !err.is_transient() || err.is_conflict() {
                return Err(err);
            }
            // A server that never answered and refuses connections (or whose name does not
            // resolve) is a wrong URL or a cluster that is down, not a blip: say so at once,
            // as kubectl does. Once it has answered, a refusal is a restart and is retried.
            if !self.answered.load(Ordering::Relaxed) && err.is_connect_failure() {
                return Err(err);
            }
            let Some(backoff) = delays.next() else {
                return Err(err);
            };
            let delay = self.retry.scale(
                err.retry_after()
                    .map(|d| d.min(self.retry.max_retry_after))
                    .unwrap_or(backoff),
            );
            if super::retry::deadline().is_some_and(|d| tokio::time::Instant::now() + delay >= d) {
                return Err(err);
            }
            attempt += 1;
            super::retry::notify(format!(
                "retrying {action} {} in {}ms (attempt {attempt} of {}): {}",
                object(),
                delay.as_millis(),
                self.retry.max_attempts,
                err.cause()
            ));
            tokio::time::sleep(delay).await;
        }
    }

    /// [`Cluster::call`] for a request about an object that may already be gone (delete, restore,
    /// finalizer removal): NotFound is `Ok(None)`, not an error.
    pub async fn call_if_present<T, Fut>(
        &self,
        action: &str,
        object: impl Fn() -> String,
        request: impl FnMut() -> Fut,
    ) -> Result<Option<T>, ClusterError>
    where
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        match self.call(action, object, request).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Dynamic API for a resource, namespaced or cluster-wide.
    pub fn api(&self, ar: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, ar),
            None => Api::all_with(self.client.clone(), ar),
        }
    }

    /// Lists the objects of `resource` (in `namespace`, or cluster-wide) as JSON, each stamped
    /// with the resource's apiVersion/kind (list items of built-in kinds carry none).
    pub async fn list_values(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
        params: &ListParams,
        what: impl Fn() -> String,
    ) -> Result<Vec<Value>, ClusterError> {
        let api = self.api(resource, namespace);
        let list = self.call("list", what, || api.list(params)).await?;
        Ok(list
            .items
            .into_iter()
            .map(|o| typed_value(o, resource))
            .collect())
    }

    /// Reads one object of `resource` as JSON stamped with its apiVersion/kind; None when it
    /// does not exist.
    pub async fn get_value(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
        name: &str,
        what: impl Fn() -> String,
    ) -> Result<Option<Value>, ClusterError> {
        let api = self.api(resource, namespace);
        let obj = self.call("get", what, || api.get_opt(name)).await?;
        Ok(obj.map(|o| typed_value(o, resource)))
    }

    /// `POST` of a typed object with `fieldValidation=Strict`, as kubectl sends it (kube's
    /// `PostParams` cannot carry the parameter): an unknown field is an error, never dropped.
    pub async fn create_strict<K>(&self, api: &Api<K>, obj: &K) -> Result<K, kube::Error>
    where
        K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    {
        let body = serde_json::to_vec(obj).map_err(kube::Error::SerdeError)?;
        let req = kube::core::Request::new(api.resource_url())
            .create(&PostParams::default(), body)
            .map_err(kube::Error::BuildRequest)?;
        self.client.request::<K>(strict(req)?).await
    }

    /// `PUT` of a typed object with `fieldValidation=Strict` (see [`Cluster::create_strict`]).
    pub async fn replace_strict<K>(
        &self,
        api: &Api<K>,
        name: &str,
        obj: &K,
    ) -> Result<K, kube::Error>
    where
        K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    {
        let body = serde_json::to_vec(obj).map_err(kube::Error::SerdeError)?;
        let req = kube::core::Request::new(api.resource_url())
            .replace(name, &PostParams::default(), body)
            .map_err(kube::Error::BuildRequest)?;
        self.client.request::<K>(strict(req)?).await
    }

    /// `PUT` of a subresource (`namespaces/{name}/finalize`) with `fieldValidation=Strict`.
    pub async fn replace_subresource_strict<K>(
        &self,
        api: &Api<K>,
        subresource: &str,
        name: &str,
        obj: &K,
    ) -> Result<K, kube::Error>
    where
        K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    {
        let body = serde_json::to_vec(obj).map_err(kube::Error::SerdeError)?;
        let req = kube::core::Request::new(api.resource_url())
            .replace_subresource(subresource, name, &PostParams::default(), body)
            .map_err(kube::Error::BuildRequest)?;
        self.client.request::<K>(strict(req)?).await
    }

    /// Who we are, through SelfSubjectReview (`oc whoami`). Distinguishes an unreachable
    /// cluster and rejected credentials (exit code 3) from other failures.
    pub async fn identity(&self) -> Result<Identity, ClusterError> {
        let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
        let review = SelfSubjectReview::default();
        let server = || format!("`{}`", self.server);
        let result = self
            .call("review the identity on", server, || {
                self.create_strict(&api, &review)
            })
            .await;
        match result {
            Ok(review) => {
                let info = review.status.and_then(|s| s.user_info).unwrap_or_default();
                Ok(Identity {
                    server: self.server.clone(),
                    user: info.username.unwrap_or_else(|| "unknown".into()),
                    groups: info.groups.unwrap_or_default(),
                })
            }
            Err(ClusterError::Api { source, .. }) if is_connection_error(&source) => {
                Err(ClusterError::Unreachable {
                    server: self.server.clone(),
                    source,
                })
            }
            Err(ClusterError::Api {
                source: kube::Error::Api(s),
                ..
            }) if s.code == 401 || s.code == 403 => Err(ClusterError::Unauthorized {
                server: self.server.clone(),
                source: kube::Error::Api(s),
            }),
            Err(e) => Err(e),
        }
    }
}

/// Adds `fieldValidation=Strict` to a request built by kube's request builder (kube-core and
/// axum share the one `http` crate of the dependency tree).
fn strict(
    mut req: axum::http::Request<Vec<u8>>,
) -> Result<axum::http::Request<Vec<u8>>, kube::Error> {
    let uri = req.uri().to_string();
    let sep = if uri.contains('?') { '&' } else { '?' };
    *req.uri_mut() = format!("{uri}{sep}fieldValidation=Strict")
        .parse()
        .map_err(|e: axum::http::uri::InvalidUri| {
            kube::Error::BuildRequest(kube::core::request::Error::BuildRequest(e.into()))
        })?;
    Ok(req)
}

/// Reads the kubeconfig as kubectl would and returns the config and the context name.
async fn load_config(opts: &ConnectOptions) -> Result<(Config, Option<String>), ClusterError> {
    let kubeconfig = match &opts.kubeconfig {
        Some(path) => {
            Some(
                Kubeconfig::read_from(path).map_err(|source| ClusterError::Kubeconfig {
                    path: Some(path.clone()),
                    source,
                })?,
            )
        }
        None => match Kubeconfig::from_env() {
            Ok(Some(kc)) => Some(kc),
            Ok(None) => match home_kubeconfig() {
                Some(path) if path.exists() => {
                    Some(Kubeconfig::read_from(&path).map_err(|source| {
                        ClusterError::Kubeconfig {
                            path: Some(path),
                            source,
                        }
                    })?)
                }
                _ => None,
            },
            Err(source) => return Err(ClusterError::Kubeconfig { path: None, source }),
        },
    };
    let Some(kubeconfig) = kubeconfig else {
        if opts.context.is_some() {
            return Err(ClusterError::NoKubeconfig);
        }
        // kubectl falls back to the pod's service account.
        return Config::incluster()
            .map(|c| (c, None))
            .map_err(|_| ClusterError::NoKubeconfig);
    };
    let context = opts
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone());
    let available = || kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    match context.as_deref() {
        None | Some("") => {
            return Err(ClusterError::NoCurrentContext {
                path: opts.kubeconfig.clone(),
                available: available(),
            });
        }
        Some(ctx) if !kubeconfig.contexts.iter().any(|c| c.name == ctx) => {
            return Err(ClusterError::UnknownContext {
                context: ctx.to_owned(),
                available: available(),
            });
        }
        Some(_) => {}
    }
    let options = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|source| ClusterError::Kubeconfig {
            path: opts.kubeconfig.clone(),
            source,
        })?;
    Ok((config, context))
}

fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: c1
  cluster: { server: "https://api.one.example.com:6443" }
- name: c2
  cluster: { server: "http://127.0.0.1:1" }
users:
- name: kube:admin/one
  user: { token: "sha256~secret" }
contexts:
- name: admin
  context: { cluster: c1, user: kube:admin/one, namespace: default }
- name: local
  context: { cluster: c2, user: kube:admin/one }
"#;

    fn write(dir: &tempfile::TempDir) -> PathBuf {
        let p = dir.path().join("kubeconfig");
        std::fs::write(&p, KUBECONFIG).unwrap();
        p
    }

    #[tokio::test]
    async fn oc_login_token_kubeconfig_and_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir);
        let c = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(path.clone()),
            context: None,
        })
        .await
        .unwrap();
        assert_eq!(c.server(), "https://api.one.example.com:6443");
        assert_eq!(c.context(), Some("admin"));
        let c = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(path.clone()),
            context: Some("local".into()),
        })
        .await
        .unwrap();
        assert_eq!(c.server(), "http://127.0.0.1:1");
        assert_eq!(c.context(), Some("local"));
    }

    #[tokio::test]
    async fn unknown_context_lists_the_available_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir);
        let err = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(path),
            context: Some("prod".into()),
        })
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "context `prod` is not in the kubeconfig");
        assert_eq!(err.hint().unwrap(), "available contexts: admin, local");
        assert_eq!(err.exit_code(), crate::exit::USAGE);
    }

    #[tokio::test]
    async fn unreadable_kubeconfig_names_the_file() {
        let err = Cluster::connect(&ConnectOptions {
            kubeconfig: Some("/nonexistent/kc".into()),
            context: None,
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to load the kubeconfig `/nonexistent/kc`"
        );
    }

    #[tokio::test]
    async fn unreachable_cluster_is_exit_3() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir);
        let c = Cluster::connect(&ConnectOptions {
            kubeconfig: Some(path),
            context: Some("local".into()),
        })
        .await
        .unwrap();
        let err = c.identity().await.unwrap_err();
        assert!(matches!(err, ClusterError::Unreachable { .. }), "{err:?}");
        assert_eq!(err.exit_code(), crate::exit::CLUSTER);
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn a_server_that_never_answered_and_refuses_is_not_retried() {
        // Port 1 on loopback refuses; the default policy would try 8 times over ≈ 20 s.
        let config = Config::new("http://127.0.0.1:1".parse().unwrap());
        let cluster = Cluster::from_client(Client::try_from(config).unwrap(), "http://127.0.0.1:1")
            .with_retry_policy(RetryPolicy::default());
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client().clone());
        let err = cluster
            .call(
                "get",
                || "Namespace/default".into(),
                || {
                    attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    api.get("default")
                },
            )
            .await
            .unwrap_err();
        assert!(err.is_connect_failure(), "{err:?}");
        assert_eq!(attempts.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
