//! The cluster lock: a coordination.k8s.io Lease `democtl-lock` in namespace `democtl` that
//! keeps two deploy/teardown runs off one cluster. Renewed in the background while the run
//! lasts; if the process dies the Lease simply expires (unlike Helm's `pending-*` state that
//! survives a Ctrl-C). The error for a second run names the holder, its command, since when and
//! when the Lease expires. A Lease held by an ended process of the same user on the same host
//! is taken over at once. A run whose renewals lapse past the expiry, or that finds another
//! holder, has lost the Lease: the runner stops it before its next write (see [`Hold`]).
//!
//! Lease times use the local wall clock of the democtl processes involved (not the simulator's
//! clock): only democtl reads and writes this Lease.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::client::Cluster;
use super::error::ClusterError;
use super::inventory::{LABEL_MANAGED_BY, MANAGED_BY, NAMESPACE};
use super::state;
use crate::runner::hold::{Hold, LostHold};

/// Name of the Lease.
pub const LEASE_NAME: &str = "democtl-lock";
/// How long a Lease stays valid without renewal (unless [`LEASE_SECONDS_ENV`] says otherwise).
pub const LEASE_DURATION: Duration = Duration::from_secs(30);
/// Test knob: the Lease duration in seconds (1–3600), so that a test of a stalled run need not
/// wait 30 s.
pub const LEASE_SECONDS_ENV: &str = "DEMOCTL_LEASE_SECONDS";
/// The longest a second Ctrl-C waits for the Lease to be released before the process exits.
pub const QUICK_RELEASE_TIMEOUT: Duration = Duration::from_secs(5);
const ANNOTATION_COMMAND: &str = "democtl.io/command";

/// The Lease duration: [`LEASE_DURATION`], or [`LEASE_SECONDS_ENV`] when set.
pub fn lease_duration() -> Result<Duration, ClusterError> {
    match std::env::var(LEASE_SECONDS_ENV) {
        Err(_) => Ok(LEASE_DURATION),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(secs @ 1..=3600) => Ok(Duration::from_secs(secs)),
            _ => Err(ClusterError::Refused(format!(
                "{LEASE_SECONDS_ENV} must be a whole number of seconds from 1 to 3600, not `{text}` (unset it for the default of {}s)",
                LEASE_DURATION.as_secs()
            ))),
        },
    }
}

/// The Lease this process holds or is taking, for [`release_held`] (a second Ctrl-C ends the
/// process without unwinding to the guard's owner).
static HELD: Mutex<Option<(Api<Lease>, String)>> = Mutex::new(None);

fn register(api: &Api<Lease>, holder: &str) {
    if let Ok(mut held) = HELD.lock() {
        *held = Some((api.clone(), holder.to_string()));
    }
}

fn unregister(holder: &str) {
    if let Ok(mut held) = HELD.lock()
        && held.as_ref().is_some_and(|(_, h)| h == holder)
    {
        *held = None;
    }
}

/// Releases the Lease this process holds (or was taking), waiting at most `timeout`. For the
/// way out that skips the guard: a second Ctrl-C, an abort while the Lease was being taken.
pub async fn release_held(timeout: Duration) -> Result<(), ClusterError> {
    let held = HELD.lock().ok().and_then(|mut h| h.take());
    let Some((api, holder)) = held else {
        return Ok(());
    };
    match tokio::time::timeout(timeout, delete_if_ours(&api, &holder, timeout)).await {
        Ok(result) => result,
        Err(_) => Err(ClusterError::Refused(format!(
            "could not release {} within {}s; it expires by itself",
            lease_desc(),
            timeout.as_secs()
        ))),
    }
}

/// Deletes the Lease if `holder` holds it (preconditions: exactly the version read).
async fn delete_if_ours(
    api: &Api<Lease>,
    holder: &str,
    timeout: Duration,
) -> Result<(), ClusterError> {
    let lease = match tokio::time::timeout(timeout, api.get_opt(LEASE_NAME)).await {
        Ok(Ok(Some(l))) => l,
        Ok(Ok(None)) => return Ok(()),
        Ok(Err(source)) => return Err(ClusterError::api("read", lease_desc(), source)),
        Err(_) => return Ok(()),
    };
    if !held_by(&lease, holder) {
        return Ok(());
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: lease.metadata.uid.clone(),
            resource_version: lease.metadata.resource_version.clone(),
        }),
        ..DeleteParams::default()
    };
    match tokio::time::timeout(timeout, api.delete(LEASE_NAME, &dp)).await {
        Ok(Ok(_)) => Ok(()),
        // Gone or changed under us: someone else's now, nothing to release.
        Ok(Err(kube::Error::Api(s))) if s.code == 404 || s.code == 409 => Ok(()),
        Ok(Err(source)) => Err(ClusterError::api("release", lease_desc(), source)),
        Err(_) => Ok(()),
    }
}

/// Holds the cluster lock until released or dropped (dropping stops renewal; the Lease then
/// expires after its duration).
#[derive(Debug)]
pub struct LeaseGuard {
    shared: Arc<Shared>,
    renew: Option<JoinHandle<()>>,
    took_over: Option<String>,
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
        &self.shared.holder
    }

    /// What the Lease was taken over from (a dead process of this user on this host, or a
    /// holder that stopped renewing), to tell the user.
    pub fn took_over(&self) -> Option<&str> {
        self.took_over.as_deref()
    }

    /// The hold for the runner: it stops the run before its next write once the Lease is lost.
    pub fn hold(&self) -> Arc<dyn Hold> {
        self.shared.clone()
    }

    /// Stops renewal and deletes the Lease if it is still ours, through the cluster's retry
    /// policy (a transient error must not leave the lock held until it expires). `Err` says
    /// why it could not be released; it then expires by itself.
    pub async fn release(mut self, cluster: &Cluster) -> Result<(), ClusterError> {
        if let Some(task) = self.renew.take() {
            task.abort();
        }
        let api = &self.shared.api;
        let holder = &self.shared.holder;
        let current = cluster
            .call("read", lease_desc, || api.get_opt(LEASE_NAME))
            .await?;
        if let Some(lease) = current.filter(|l| held_by(l, holder)) {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: lease.metadata.uid.clone(),
                    resource_version: lease.metadata.resource_version.clone(),
                }),
                ..DeleteParams::default()
            };
            match cluster
                .call_if_present("release", lease_desc, || api.delete(LEASE_NAME, &dp))
                .await
            {
                // Deleted, or gone already (a retry after our own delete's lost response).
                Ok(_) => {}
                // Changed under us: someone else's now, nothing of ours to release.
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e),
            }
        }
        unregister(holder);
        Ok(())
    }
}

/// The one line a command prints when its Lease could not be released at its end.
pub fn release_warning(error: &ClusterError) -> String {
    format!(
        "warning: could not release the cluster lock ({}): {error}; it expires by itself within {}s, and the next run from this machine takes it over at once\n",
        lease_desc(),
        lease_duration().unwrap_or(LEASE_DURATION).as_secs()
    )
}

/// What the guard, its renewal task and the runner share.
#[derive(Debug)]
struct Shared {
    api: Api<Lease>,
    holder: String,
    duration: Duration,
    timeout: Duration,
    /// Our last write of the Lease: its resourceVersion makes each renewal conditional, so a
    /// renewal succeeds only if nobody else wrote the Lease since (then nobody else held it).
    /// One renewal at a time.
    last: tokio::sync::Mutex<Lease>,
    status: watch::Sender<HoldStatus>,
}

#[derive(Debug, Clone)]
struct HoldStatus {
    /// When the last successful renewal was sent.
    renewed: Instant,
    lost: Option<LostHold>,
}

impl Shared {
    fn expiry(&self) -> Instant {
        self.status.borrow().renewed + self.duration
    }

    fn lose(&self, lost: LostHold) -> LostHold {
        self.status.send_modify(|s| {
            s.lost.get_or_insert(lost.clone());
        });
        self.status.borrow().lost.clone().unwrap_or(lost)
    }

    /// Renews `renewTime` with a write conditional on our last one. `Err` once the Lease is
    /// lost: another holder wrote it, or renewal failed past its expiry. `Ok(false)`: it failed
    /// before the expiry (try again soon).
    async fn renew(&self) -> Result<bool, LostHold> {
        let mut last = self.last.lock().await;
        if let Some(lost) = self.status.borrow().lost.clone() {
            return Err(lost);
        }
        // Twice: after a lost response our own renewal moved the resourceVersion on.
        for _ in 0..2 {
            let mut lease = last.clone();
            if let Some(spec) = lease.spec.as_mut() {
                spec.renew_time = Some(now_micro());
            }
            let sent = Instant::now();
            let written = tokio::time::timeout(
                self.timeout,
                self.api.replace(LEASE_NAME, &PostParams::default(), &lease),
            )
            .await;
            let problem = match written {
                Ok(Ok(lease)) => {
                    *last = lease;
                    self.status.send_modify(|s| s.renewed = sent);
                    return Ok(true);
                }
                Ok(Err(kube::Error::Api(s))) if s.code == 409 || s.code == 404 => {
                    match tokio::time::timeout(self.timeout, self.api.get_opt(LEASE_NAME)).await {
                        Ok(Ok(Some(current))) if held_by(&current, &self.holder) => {
                            *last = current;
                            continue;
                        }
                        Ok(Ok(current)) => return Err(self.lose(self.taken(current.as_ref()))),
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => format!("no answer within {}s", self.timeout.as_secs()),
                    }
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {}s", self.timeout.as_secs()),
            };
            if Instant::now() < self.expiry() {
                return Ok(false);
            }
            // Past the expiry after a failed write (often a request whose timer ran out while
            // the process was stopped or asleep): who holds the Lease now decides — another
            // holder means it is lost to them; still ours means nobody took it, so renew again.
            match tokio::time::timeout(self.timeout, self.api.get_opt(LEASE_NAME)).await {
                Ok(Ok(Some(current))) if held_by(&current, &self.holder) => {
                    *last = current;
                    continue;
                }
                Ok(Ok(current)) => return Err(self.lose(self.taken(current.as_ref()))),
                _ => return Err(self.lose(self.expired(&problem))),
            }
        }
        Ok(false)
    }

    fn renewed_ago(&self) -> String {
        let ago = self.status.borrow().renewed.elapsed().as_secs();
        format!(
            "last renewed {ago}s ago, lease duration {}s",
            self.duration.as_secs()
        )
    }

    fn taken(&self, current: Option<&Lease>) -> LostHold {
        let now = match current {
            Some(lease) => {
                let (holder, command, since) = holder_command_since(lease);
                format!("`{holder}` holds it now, running `{command}` since {since}")
            }
            None => "another run took it over and has released it".to_string(),
        };
        LostHold {
            message: format!(
                "lost the cluster lock ({}): {now} ({})",
                lease_desc(),
                self.renewed_ago()
            ),
            hint: LOST_HINT.to_string(),
        }
    }

    fn expired(&self, problem: &str) -> LostHold {
        LostHold {
            message: format!(
                "lost the cluster lock ({}): it expired and could not be renewed: {problem} ({})",
                lease_desc(),
                self.renewed_ago()
            ),
            hint: LOST_HINT.to_string(),
        }
    }
}

const LOST_HINT: &str = "this run stopped before its next change because another run may be changing the cluster (was this process stopped or the machine asleep?); let that run finish (`democtl status` shows it), then run this command again";

impl Hold for Shared {
    fn doubt(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut status = self.status.subscribe();
            loop {
                let now = status.borrow_and_update().clone();
                if now.lost.is_some() {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(now.renewed + self.duration) => return,
                    changed = status.changed() => {
                        if changed.is_err() {
                            return std::future::pending().await;
                        }
                    }
                }
            }
        })
    }

    fn confirm(&self) -> BoxFuture<'_, Result<(), LostHold>> {
        Box::pin(async move {
            let status = self.status.borrow().clone();
            if let Some(lost) = status.lost {
                return Err(lost);
            }
            // Close to its expiry a write could race a takeover: renew first.
            if Instant::now() < status.renewed + self.duration.mul_f64(2.0 / 3.0) {
                return Ok(());
            }
            self.renew().await.map(|_| ())
        })
    }
}

fn lease_desc() -> String {
    format!("`Lease/{LEASE_NAME}` in `{NAMESPACE}`")
}

fn now_micro() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn lease_object(
    holder: &str,
    command: &str,
    duration: Duration,
    resource_version: Option<String>,
) -> Lease {
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
            lease_duration_seconds: Some(i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)),
            ..LeaseSpec::default()
        }),
    }
}

/// When the Lease expires unless renewed (`None`: not held).
fn expiry(lease: &Lease) -> Option<jiff::Timestamp> {
    let spec = lease.spec.as_ref()?;
    if spec.holder_identity.as_deref().is_none_or(str::is_empty) {
        return None;
    }
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?;
    let secs = i64::from(
        spec.lease_duration_seconds
            .unwrap_or(LEASE_DURATION.as_secs() as i32),
    );
    Some(
        renewed
            .0
            .checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap_or(jiff::Timestamp::MAX),
    )
}

/// True when the Lease is held and was renewed within its duration.
fn is_live(lease: &Lease, now: jiff::Timestamp) -> bool {
    expiry(lease).is_some_and(|expiry| expiry > now)
}

/// `expires in 24s, at 21:04:05` (local time).
fn expires_text(lease: &Lease, now: jiff::Timestamp) -> String {
    let Some(expiry) = expiry(lease) else {
        return "is not held".into();
    };
    let secs = expiry.duration_since(now).as_secs().max(0);
    let at = expiry
        .to_zoned(jiff::tz::TimeZone::system())
        .strftime("%H:%M:%S")
        .to_string();
    format!("expires in {secs}s, at {at}, unless its holder renews it")
}

fn holder_command_since(lease: &Lease) -> (String, String, String) {
    let spec = lease.spec.clone().unwrap_or_default();
    (
        spec.holder_identity.unwrap_or_else(|| "unknown".into()),
        lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_COMMAND).cloned())
            .unwrap_or_else(|| "unknown".into()),
        spec.acquire_time
            .map(|t| t.0.to_string())
            .unwrap_or_else(|| "unknown".into()),
    )
}

fn locked(lease: &Lease) -> ClusterError {
    let (holder, command, since) = holder_command_since(lease);
    ClusterError::Locked {
        holder,
        command,
        since,
        expires: expires_text(lease, jiff::Timestamp::now()),
    }
}

/// `user@host pid N` split into its parts (`None` for another format).
fn parse_holder(holder: &str) -> Option<(&str, &str, u32)> {
    let (who, pid) = holder.rsplit_once(" pid ")?;
    let (user, host) = who.rsplit_once('@')?;
    Some((user, host, pid.trim().parse().ok()?))
}

/// Whether process `pid` of this host still runs. A zombie has ended (PID 1 of a container may
/// never reap it).
fn process_runs(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) if std::path::Path::new("/proc/self/stat").exists() => false,
        // No /proc (macOS): ask the kernel; "no permission" means it exists.
        Err(_) => match rustix::process::Pid::from_raw(pid.try_into().unwrap_or(i32::MAX)) {
            Some(pid) => !matches!(
                rustix::process::test_kill_process(pid),
                Err(rustix::io::Errno::SRCH)
            ),
            None => true,
        },
    }
}

/// The Lease's holder when it is a process of `ours`' user on `ours`' host that has ended:
/// the Lease may be taken over at once.
fn dead_local_holder(lease: &Lease, ours: &str) -> Option<String> {
    let theirs = lease.spec.as_ref()?.holder_identity.as_deref()?;
    let (user, host, pid) = parse_holder(theirs)?;
    let (our_user, our_host, our_pid) = parse_holder(ours)?;
    (user == our_user && host == our_host && pid != our_pid && !process_runs(pid))
        .then(|| theirs.to_string())
}

/// Takes the cluster lock for `holder` (`alice@laptop pid 4242`, see [`default_holder`])
/// running `command` (`deploy stage1`). Fails with [`ClusterError::Locked`] naming the current
/// holder and when the Lease expires while another live run holds it; takes over an expired
/// Lease, and at once one held by a process of the same user on the same host that has ended.
pub async fn acquire(
    cluster: &Cluster,
    holder: &str,
    command: &str,
) -> Result<LeaseGuard, ClusterError> {
    acquire_for(cluster, holder, command, lease_duration()?).await
}

/// [`acquire`] with a Lease of `duration` (whole seconds, at least one; tests use short ones).
pub async fn acquire_for(
    cluster: &Cluster,
    holder: &str,
    command: &str,
    duration: Duration,
) -> Result<LeaseGuard, ClusterError> {
    state::ensure_namespace(cluster).await?;
    let api: Api<Lease> = Api::namespaced(cluster.client().clone(), NAMESPACE);
    let existing = cluster
        .call("read", lease_desc, || api.get_opt(LEASE_NAME))
        .await?;
    let mut took_over = None;
    // From here an abort (Ctrl-C twice) may leave a Lease behind: `release_held` finds it.
    register(&api, holder);
    let written = match existing {
        None => {
            let lease = lease_object(holder, command, duration, None);
            match cluster
                .call("create", lease_desc, || cluster.create_strict(&api, &lease))
                .await
            {
                Ok(written) => written,
                Err(e) if e.is_conflict() => {
                    // Created by someone else between our read and our create — or by us, when
                    // the response to our create was lost and the retry met our own Lease.
                    mine_after_conflict(cluster, &api, holder, e).await?
                }
                Err(e) => return Err(e),
            }
        }
        Some(current) => {
            let ours = held_by(&current, holder);
            if !ours {
                let (previous, previous_command, since) = holder_command_since(&current);
                if let Some(dead) = dead_local_holder(&current, holder) {
                    took_over = Some(format!(
                        "took over the cluster lock from `{dead}` (`{previous_command}` since {since}): that process has ended"
                    ));
                } else if is_live(&current, jiff::Timestamp::now()) {
                    return Err(locked(&current));
                } else if expiry(&current).is_some() {
                    took_over = Some(format!(
                        "took over the cluster lock from `{previous}` (`{previous_command}` since {since}): it expired unrenewed"
                    ));
                }
            }
            let lease = lease_object(
                holder,
                command,
                duration,
                current.metadata.resource_version.clone(),
            );
            match cluster
                .call("take over", lease_desc, || {
                    cluster.replace_strict(&api, LEASE_NAME, &lease)
                })
                .await
            {
                Ok(written) => written,
                Err(e) if e.is_conflict() => mine_after_conflict(cluster, &api, holder, e).await?,
                Err(e) => return Err(e),
            }
        }
    };
    let (status, _) = watch::channel(HoldStatus {
        renewed: Instant::now(),
        lost: None,
    });
    let shared = Arc::new(Shared {
        api,
        holder: holder.to_string(),
        duration,
        timeout: cluster.request_timeout(),
        last: tokio::sync::Mutex::new(written),
        status,
    });
    let renew = tokio::spawn(renew_loop(shared.clone()));
    Ok(LeaseGuard {
        shared,
        renew: Some(renew),
        took_over,
    })
}

/// After a conflicting write: the Lease as it is when it is ours (our own write whose response
/// was lost), else who holds it.
async fn mine_after_conflict(
    cluster: &Cluster,
    api: &Api<Lease>,
    holder: &str,
    conflict: ClusterError,
) -> Result<Lease, ClusterError> {
    let current = cluster
        .call("read", lease_desc, || api.get_opt(LEASE_NAME))
        .await?;
    match current {
        Some(current) if held_by(&current, holder) => Ok(current),
        Some(current) => Err(locked(&current)),
        None => Err(conflict),
    }
}

/// Renews every third of the lease duration while the run lasts, a failed renewal again soon
/// (a flaky API must not cost the Lease); stops once the Lease is lost (the runner learns it
/// from the shared status).
async fn renew_loop(shared: Arc<Shared>) {
    let every = shared.duration / 3;
    let soon = (shared.duration / 10).min(Duration::from_secs(1));
    let mut wait = every;
    loop {
        tokio::time::sleep(wait).await;
        wait = match shared.renew().await {
            Ok(true) => every,
            Ok(false) => soon,
            Err(_) => return,
        };
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

/// The default holder identity: `user@host pid N` (what a later run on this host needs to see
/// that the holder has ended).
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
        let mut lease = lease_object("a", "deploy stage1", LEASE_DURATION, None);
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
    fn locked_error_names_holder_command_since_and_expiry() {
        let lease = lease_object("alice@laptop pid 7", "deploy stage2", LEASE_DURATION, None);
        let err = locked(&lease);
        let msg = err.to_string();
        assert!(msg.starts_with(
            "another democtl run holds the cluster lock (`alice@laptop pid 7` running `deploy stage2` since "
        ), "{msg}");
        // 30 s from now, give or take the second that passed while building it.
        assert!(
            msg.contains("expires in 30s, at ") || msg.contains("expires in 29s, at "),
            "{msg}"
        );
        assert!(msg.ends_with(", unless its holder renews it"), "{msg}");
        assert!(err.hint().is_some());
    }

    #[test]
    fn holder_identities_carry_user_host_and_pid() {
        assert_eq!(
            parse_holder("alice@example.com@laptop pid 42"),
            Some(("alice@example.com", "laptop", 42))
        );
        assert_eq!(
            parse_holder("kube:admin@pod-7 pid 1"),
            Some(("kube:admin", "pod-7", 1))
        );
        assert_eq!(parse_holder("someone else"), None);
        let ours = default_holder("alice");
        let (user, _, pid) = parse_holder(&ours).unwrap_or_default();
        assert_eq!((user, pid), ("alice", std::process::id()));
    }

    #[test]
    fn only_an_ended_process_of_the_same_user_and_host_is_dead() {
        let ours = default_holder("alice");
        let (_, host, _) = parse_holder(&ours).unwrap_or_default();
        // A child that has exited and been reaped.
        let mut child = match std::process::Command::new("true").spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot run `true`: {e}"),
        };
        let _ = child.wait();
        let dead = child.id();
        let lease = |holder: String| lease_object(&holder, "deploy stage1", LEASE_DURATION, None);
        let gone = format!("alice@{host} pid {dead}");
        assert_eq!(dead_local_holder(&lease(gone.clone()), &ours), Some(gone));
        // Alive (this very test process under another holder name is not "us" by pid).
        let parent = std::os::unix::process::parent_id();
        assert_eq!(
            dead_local_holder(&lease(format!("alice@{host} pid {parent}")), &ours),
            None
        );
        // Another user or another host: never judged from here.
        assert_eq!(
            dead_local_holder(&lease(format!("bob@{host} pid {dead}")), &ours),
            None
        );
        assert_eq!(
            dead_local_holder(&lease(format!("alice@elsewhere pid {dead}")), &ours),
            None
        );
    }

    #[test]
    fn a_zombie_has_ended() {
        // Not reaped: the child stays a zombie until `wait`.
        let mut child = match std::process::Command::new("true").spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot run `true`: {e}"),
        };
        let pid = child.id();
        let mut zombie = false;
        for _ in 0..200 {
            zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "));
            if zombie {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(zombie, "the child did not become a zombie");
        assert!(!process_runs(pid));
        let _ = child.wait();
        assert!(!process_runs(pid));
        assert!(process_runs(std::process::id()));
    }
}
