//! API discovery cached per run: apiVersion + kind → `ApiResource` (plural) + scope.
//!
//! Resolves lazily, one `GET /api/v1` or `/apis/{group}/{version}` per group-version actually
//! used, instead of discovering every group up front: on OpenShift a full `Discovery::run()`
//! costs ~100 sequential requests, and aggregated discovery silently returns nothing on servers
//! that do not implement it (crates.md §2.6). Group-versions that are not served are cached as
//! such until [`Discovery::refresh`], which apply calls after CRDs become Established.
//! Concurrent lookups of the same group-version share one request (apply resolves a tier's
//! objects at once; without this, each of them would fetch the same group-version).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::discovery::ApiResource;

use super::client::Cluster;
use super::error::ClusterError;
use super::object::split_api_version;

/// A kind the cluster serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
    /// Subresources served for it (`status`, `log`, …).
    pub subresources: Vec<String>,
}

/// What one group-version serves (kind → resource), or that it is not served at all.
#[derive(Debug, Clone)]
enum GroupVersion {
    Served(HashMap<String, Resolved>),
    NotServed,
}

/// One group-version's entry: filled by the first lookup, awaited by concurrent ones. A failed
/// fetch leaves it empty, so the next lookup asks again.
type Entry = Arc<tokio::sync::OnceCell<GroupVersion>>;

/// The per-run discovery cache (owned by [`Cluster`]).
#[derive(Debug, Default)]
pub struct Discovery {
    cache: Mutex<HashMap<String, Entry>>,
    /// Group-version requests made (what a benchmark or test counts).
    fetches: std::sync::atomic::AtomicUsize,
}

impl Discovery {
    /// Forgets everything learned, so newly established CRDs become resolvable.
    pub fn refresh(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// How many group-version discovery requests this cache has made.
    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn entry(&self, api_version: &str) -> Entry {
        match self.cache.lock() {
            Ok(mut c) => c.entry(api_version.to_string()).or_default().clone(),
            // A poisoned cache still answers, uncached.
            Err(_) => Entry::default(),
        }
    }
}

impl Cluster {
    /// Resolves `apiVersion`/`kind` to its resource; `Ok(None)` when the cluster does not serve
    /// it (CRD missing or not yet established).
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resolved>, ClusterError> {
        let entry = self.discovery().entry(api_version);
        let gv = entry
            .get_or_try_init(|| self.fetch_group_version(api_version))
            .await?;
        Ok(match gv {
            GroupVersion::Served(kinds) => kinds.get(kind).cloned(),
            GroupVersion::NotServed => None,
        })
    }

    /// Like [`Cluster::resolve`] but a missing kind is an error naming the object and, when
    /// known, the operator that provides it.
    pub async fn resolve_or_missing(
        &self,
        key: &super::ObjectKey,
    ) -> Result<Resolved, ClusterError> {
        match self.resolve(&key.api_version, &key.kind).await? {
            Some(r) => Ok(r),
            None => Err(ClusterError::MissingKind {
                object: key.describe(),
                api_version: key.api_version.clone(),
                kind: key.kind.clone(),
                operator: super::operators::operator_for_group(key.group()).map(str::to_string),
            }),
        }
    }

    async fn fetch_group_version(&self, api_version: &str) -> Result<GroupVersion, ClusterError> {
        let (group, _) = split_api_version(api_version);
        self.discovery()
            .fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let client = self.client();
        let what = || format!("`{api_version}`");
        let list = if group.is_empty() {
            self.call("discover", what, || {
                client.list_core_api_resources(api_version)
            })
            .await
        } else {
            self.call("discover", what, || {
                client.list_api_group_resources(api_version)
            })
            .await
        };
        let list = match list {
            Ok(l) => l,
            Err(e) if e.is_not_found() => return Ok(GroupVersion::NotServed),
            Err(e) => return Err(e),
        };
        let (group, version) = split_api_version(&list.group_version);
        let mut kinds: HashMap<String, Resolved> = HashMap::new();
        for r in &list.resources {
            if r.name.contains('/') {
                continue;
            }
            kinds.insert(
                r.kind.clone(),
                Resolved {
                    resource: ApiResource {
                        group: group.to_string(),
                        version: version.to_string(),
                        api_version: list.group_version.clone(),
                        kind: r.kind.clone(),
                        plural: r.name.clone(),
                    },
                    namespaced: r.namespaced,
                    subresources: Vec::new(),
                },
            );
        }
        for r in &list.resources {
            if let Some((base, sub)) = r.name.split_once('/')
                && let Some(entry) = kinds.values_mut().find(|k| k.resource.plural == base)
            {
                entry.subresources.push(sub.to_string());
            }
        }
        Ok(GroupVersion::Served(kinds))
    }
}
