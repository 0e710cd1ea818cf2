//! The cluster lock: a coordination.k8s.io Lease `democtl-lock` in namespace `democtl` that
//! keeps two deploy/teardown runs off one cluster. Renewed in the background while the run
//! lasts; if the process dies the Lease simply expires (unlike Helm's `pending-*` state that
//! survives a Ctrl-C). The error for a second run names the holder, its command and since when.
//!
//! Lease times use the local wall clock of the democtl processes involved (not the simulator's
//! clock): only democtl reads and writes this Lease.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use tokio::task::JoinHandle;

use super::client::Cluster;
use super::error::ClusterError;
use super::inventory::{LABEL_MANAGED_BY, MANAGED_BY, NAMESPACE};
use super::state;

/// Name of the Lease.
pub const LEASE_NAME: &str = "democtl-lock";
/// How long a Lease stays valid without renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(30);
const ANNOTATION_COMMAND: &str = "democtl.io/command";

/// Holds the cluster lock until released or dropped (dropping stops renewal; the Lease then
/// expires after [`LEASE_DURATION`]).
#[derive(Debug)]
pub struct LeaseGuard {
    api: Api<Lease>,
    holder: String,
    renew: Option<JoinHandle<()>>,
    timeout: Duration,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(task) = self.renew.take() {
            task.abort();
        }
    }
}

impl LeaseGuard {
    /// Who holds it (this process).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Stops renewal and deletes the Lease if it is still ours.
    pub async fn release(mut self) -> Result<(), ClusterError> {
        if let Some(task) = self.renew.take() {
            task.abort();
        }
        let lease = match tokio::time::timeout(self.timeout, self.api.get_opt(LEASE_NAME)).await {
            Ok(Ok(Some(l))) => l,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(source)) => return Err(ClusterError::api("read", lease_desc(), source)),
            Err(_) => return Ok(()),
        };
        if lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            != Some(self.holder.as_str())
        {
            return Ok(());
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: lease.metadata.uid.clone(),
                resource_version: lease.metadata.resource_version.clone(),
            }),
            ..DeleteParams::default()
        };
        match tokio::time::timeout(self.timeout, self.api.delete(LEASE_NAME, &dp)).await {
            Ok(Ok(_)) => Ok(()),
            // Gone or changed under us: someone else's now, nothing to release.
            Ok(Err(kube::Error::Api(s))) if s.code == 404 || s.code == 409 => Ok(()),
            Ok(Err(source)) => Err(ClusterError::api("release", lease_desc(), source)),
            Err(_) => Ok(()),
        }
    }
}

fn lease_desc() -> String {
    format!("`Lease/{LEASE_NAME}` in `{NAMESPACE}`")
}

fn now_micro() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn lease_object(holder: &str, command: &str, resource_version: Option<String>) -> Lease {
    let now = now_micro();
    Lease {
        metadata: ObjectMeta {
            name: Some(LEASE_NAME.into()),
            namespace: Some(NAMESPACE.into()),
            resource_version,
            labels: Some([(LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string())].into()),
            annotations: Some([(ANNOTATION_COMMAND.to_string(), command.to_string())].into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            ..LeaseSpec::default()
        }),
    }
}

/// True when the Lease is held and was renewed within its duration.
fn is_live(lease: &Lease, now: jiff::Timestamp) -> bool {
    let Some(spec) = &lease.spec else {
        return false;
    };
    if spec.holder_identity.as_deref().is_none_or(str::is_empty) {
        return false;
    }
    let Some(renewed) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return false;
    };
    let secs = i64::from(
        spec.lease_duration_seconds
            .unwrap_or(LEASE_DURATION.as_secs() as i32),
    );
    match renewed.0.checked_add(jiff::SignedDuration::from_secs(secs)) {
        Ok(expiry) => expiry > now,
        Err(_) => true,
    }
}

fn locked(lease: &Lease) -> ClusterError {
    let spec = lease.spec.clone().unwrap_or_default();
    ClusterError::Locked {
        holder: spec.holder_identity.unwrap_or_else(|| "unknown".into()),
        command: lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_COMMAND).cloned())
            .unwrap_or_else(|| "unknown".into()),
        since: spec
            .acquire_time
            .map(|t| t.0.to_string())
            .unwrap_or_else(|| "unknown".into()),
    }
}

/// Takes the cluster lock for `holder` (e.g. `alice@laptop pid 4242 run 20261125-…`) running
/// `command` (`deploy stage1`). Fails with [`ClusterError::Locked`] naming the current holder
/// while another live run holds it; takes over an expired Lease.
pub async fn acquire(
    cluster: &Cluster,
    holder: &str,
    command: &str,
) -> Result<LeaseGuard, ClusterError> {
    state::ensure_namespace(cluster).await?;
    let api: Api<Lease> = Api::namespaced(cluster.client().clone(), NAMESPACE);
    let existing = cluster
        .call("read", lease_desc, || api.get_opt(LEASE_NAME))
        .await?;
    match existing {
        None => {
            let lease = lease_object(holder, command, None);
            match cluster
                .call("create", lease_desc, || cluster.create_strict(&api, &lease))
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_conflict() => {
                    // Created by someone else between our read and our create — or by us, when
                    // the response to our create was lost and the retry met our own Lease.
                    let current = cluster
                        .call("read", lease_desc, || api.get_opt(LEASE_NAME))
                        .await?;
                    if !current.as_ref().is_some_and(|c| held_by(c, holder)) {
                        return Err(current.as_ref().map(locked).unwrap_or_else(|| e));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Some(current) => {
            let ours = held_by(&current, holder);
            if is_live(&current, jiff::Timestamp::now()) && !ours {
                return Err(locked(&current));
            }
            let lease = lease_object(holder, command, current.metadata.resource_version.clone());
            match cluster
                .call("take over", lease_desc, || {
                    cluster.replace_strict(&api, LEASE_NAME, &lease)
                })
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_conflict() => {
                    let current = cluster
                        .call("read", lease_desc, || api.get_opt(LEASE_NAME))
                        .await?;
                    if !current.as_ref().is_some_and(|c| held_by(c, holder)) {
                        return Err(current.as_ref().map(locked).unwrap_or_else(|| e));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    let renew = tokio::spawn(renew_loop(
        api.clone(),
        holder.to_string(),
        cluster.request_timeout(),
    ));
    Ok(LeaseGuard {
        api,
        holder: holder.to_string(),
        renew: Some(renew),
        timeout: cluster.request_timeout(),
    })
}

/// Renews `renewTime` every third of the lease duration while the run lasts. Failures are
/// retried on the next tick; if the Lease was taken over, renewal stops.
async fn renew_loop(api: Api<Lease>, holder: String, timeout: Duration) {
    let mut tick = tokio::time::interval(LEASE_DURATION / 3);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Ok(Ok(Some(mut lease))) = tokio::time::timeout(timeout, api.get_opt(LEASE_NAME)).await
        else {
            continue;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(holder.as_str()) {
            return;
        }
        spec.renew_time = Some(now_micro());
        let _ = tokio::time::timeout(
            timeout,
            api.replace(LEASE_NAME, &PostParams::default(), &lease),
        )
        .await;
    }
}

/// Who holds the cluster lock now, as the [`ClusterError::Locked`] a second run would get
/// (`None` when it is free or expired). For commands that must not disturb a running deploy
/// (`democtl sim reset`).
pub async fn current_holder(cluster: &Cluster) -> Result<Option<ClusterError>, ClusterError> {
    let api: Api<Lease> = Api::namespaced(cluster.client().clone(), NAMESPACE);
    let existing = cluster
        .call("read", lease_desc, || api.get_opt(LEASE_NAME))
        .await?;
    Ok(existing
        .filter(|l| is_live(l, jiff::Timestamp::now()))
        .map(|l| locked(&l)))
}

/// Whether `lease` names `holder` as its holder.
fn held_by(lease: &Lease, holder: &str) -> bool {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        == Some(holder)
}

/// The default holder identity: `user@host pid N`.
pub fn default_holder(user: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "unknown-host".into());
    format!("{user}@{host} pid {}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_renew_time() {
        let mut lease = lease_object("a", "deploy stage1", None);
        let now = jiff::Timestamp::now();
        assert!(is_live(&lease, now));
        let later = now
            .checked_add(jiff::SignedDuration::from_secs(31))
            .unwrap_or(now);
        assert!(!is_live(&lease, later));
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
        }
        assert!(!is_live(&lease, now));
    }

    #[test]
    fn locked_error_names_holder_command_and_since() {
        let lease = lease_object("alice@laptop pid 7", "deploy stage2", None);
        let err = locked(&lease);
        let msg = err.to_string();
        assert!(msg.starts_with(
            "another democtl run holds the cluster lock (`alice@laptop pid 7` running `deploy stage2` since "
        ), "{msg}");
        assert!(err.hint().is_some());
    }
}
