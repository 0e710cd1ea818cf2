//! Restarting an operator after `patch` changed its configuration: operators such as
//! TrustyAI's read their ConfigMap only when they start. Its pods — those of its Deployment's
//! own `spec.selector`, or of a label selector — that were created before the patched object's
//! last change are deleted (their ReplicaSet creates new ones), then the step waits until every
//! pod is a new one and ready. Pods created after the change already run with it: a re-run
//! restarts nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use serde_json::Value;
use tokio::time::Instant;

use super::cluster_failure;
use crate::cluster::{Cluster, ObjectKey};
use crate::readiness::related::render_selector;
use crate::runner::step::{StepCtx, StepError};
use crate::stage::params::RestartPods;

/// How often the new pods are looked at.
const POLL: Duration = Duration::from_secs(1);

/// The time of an object's last write: the newest `metadata.managedFields[].time`.
pub fn last_changed(obj: &Value) -> Option<jiff::Timestamp> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .filter_map(|m| m.get("time")?.as_str()?.parse::<jiff::Timestamp>().ok())
        .max()
}

fn created(pod: &Value) -> Option<jiff::Timestamp> {
    pod.pointer("/metadata/creationTimestamp")?
        .as_str()?
        .parse()
        .ok()
}

/// Pods that started before `changed` (and so run with the old configuration).
pub fn stale(pods: &[Value], changed: jiff::Timestamp) -> Vec<&Value> {
    pods.iter()
        .filter(|p| created(p).is_none_or(|c| c < changed))
        .collect()
}

fn ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn name(pod: &Value) -> String {
    pod.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn uid(pod: &Value) -> String {
    pod.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The label selector of the pods: the Deployment's `spec.selector` (`None`: no such
/// Deployment), or the one given.
async fn selector_of(cluster: &Cluster, r: &RestartPods) -> Result<Option<String>, StepError> {
    let Some(name) = &r.deployment else {
        return Ok(r.selector.clone());
    };
    let key = ObjectKey::new("apps/v1", "Deployment", Some(&r.namespace), name.clone());
    let dep = super::get_object(cluster, &key).await.map_err(|e| {
        cluster_failure(
            format!(
                "failed to read {} (`Deployment/{name}` in `{}`)",
                r.what, r.namespace
            ),
            e,
        )
    })?;
    let Some(dep) = dep else { return Ok(None) };
    render_selector(&dep["spec"]["selector"])
        .map(Some)
        .ok_or_else(|| {
            StepError::new(format!(
                "`Deployment/{name}` in `{}` has no label selector democtl can use",
                r.namespace
            ))
            .with_hint("name its pods with `selector:` instead of `deployment:`")
        })
}

/// Where the pods are, for messages: `Deployment/x` or `-l a=b`.
fn source(r: &RestartPods, selector: &str) -> String {
    match &r.deployment {
        Some(d) => format!("`Deployment/{d}` (`{selector}`)"),
        None => format!("`{selector}`"),
    }
}

async fn pods(cluster: &Cluster, r: &RestartPods, selector: &str) -> Result<Vec<Value>, StepError> {
    super::list_objects(cluster, "v1", "Pod", Some(&r.namespace), Some(selector))
        .await
        .map_err(|e| {
            cluster_failure(
                format!(
                    "failed to list the pods of {} ({})",
                    r.what,
                    source(r, selector)
                ),
                e,
            )
        })
}

/// Restarts the pods of `r` that started before `changed`; waits until the new ones are ready.
pub async fn restart(
    cluster: &Cluster,
    ctx: &StepCtx,
    r: &RestartPods,
    changed: jiff::Timestamp,
    deadline: Instant,
) -> Result<(), StepError> {
    let Some(selector) = selector_of(cluster, r).await? else {
        ctx.warn(format!(
            "{} (`Deployment/{}` in `{}`) is not there: it may not pick up the change until it restarts",
            r.what,
            r.deployment.as_deref().unwrap_or_default(),
            r.namespace
        ));
        return Ok(());
    };
    let all = pods(cluster, r, &selector).await?;
    if all.is_empty() {
        ctx.warn(format!(
            "no pods of {} match {} in `{}`: it may not pick up the change until it restarts",
            r.what,
            source(r, &selector),
            r.namespace
        ));
        return Ok(());
    }
    // By uid: a ReplicaSet may give the new pod a name the old one had.
    let stale_pods = stale(&all, changed);
    let old: BTreeSet<String> = stale_pods.iter().map(|p| uid(p)).collect();
    if old.is_empty() {
        ctx.progress(format!("{} already runs with this configuration", r.what));
        return Ok(());
    }
    let api: Api<Pod> = Api::namespaced(cluster.client().clone(), &r.namespace);
    let dp = DeleteParams::default();
    for pod in stale_pods.iter().map(|p| name(p)) {
        ctx.progress(format!("restarting {}: deleting pod {pod}", r.what));
        match cluster
            .call(
                "delete",
                || format!("`Pod/{pod}` in `{}`", r.namespace),
                || api.delete(&pod, &dp),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(cluster_failure(format!("failed to restart {}", r.what), e)),
        }
    }
    loop {
        // An old pod still terminating no longer counts: it was told to stop.
        let now: Vec<Value> = pods(cluster, r, &selector)
            .await?
            .into_iter()
            .filter(|p| {
                p.pointer("/metadata/deletionTimestamp")
                    .is_none_or(Value::is_null)
            })
            .collect();
        let fresh: Vec<&Value> = now.iter().filter(|p| !old.contains(&uid(p))).collect();
        let waiting_old = now.iter().any(|p| old.contains(&uid(p)));
        if !fresh.is_empty() && !waiting_old && fresh.iter().all(|p| ready(p)) {
            ctx.progress(format!("{} restarted: {} ready", r.what, fresh.len()));
            return Ok(());
        }
        let state = if waiting_old {
            "old pod still running".to_string()
        } else {
            format!(
                "{}/{} new pods ready",
                fresh.iter().filter(|p| ready(p)).count(),
                fresh.len()
            )
        };
        if Instant::now() + POLL > deadline {
            return Err(StepError::new(format!(
                "{} did not come back ready after its restart ({state})",
                r.what
            ))
            .with_hint(format!(
                "check its pods: `oc get pods -n {} -l '{}'`; then run the same command again",
                r.namespace, selector
            )));
        }
        ctx.progress(format!("restarting {}: {state}", r.what));
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pods_older_than_the_last_change_are_stale() {
        let cm = json!({"metadata": {"managedFields": [
            {"manager": "rhods-operator", "time": "2026-12-07T01:00:00Z"},
            {"manager": "democtl", "time": "2026-12-07T02:00:00Z"}]}});
        let changed = last_changed(&cm).unwrap();
        assert_eq!(changed.to_string(), "2026-12-07T02:00:00Z");
        let pod = |n: &str, t: &str| json!({"metadata": {"name": n, "creationTimestamp": t}});
        let pods = vec![
            pod("old", "2026-12-07T01:30:00Z"),
            pod("new", "2026-12-07T02:00:01Z"),
        ];
        let s: Vec<String> = stale(&pods, changed).into_iter().map(name).collect();
        assert_eq!(s, ["old"]);
        assert_eq!(last_changed(&json!({"metadata": {}})), None);
    }

    #[test]
    fn a_deployments_selector_becomes_selector_text() {
        let sel = json!({"matchLabels": {"control-plane": "controller-manager"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "x", "operator": "Exists"},
                {"key": "y", "operator": "DoesNotExist"}]});
        assert_eq!(
            render_selector(&sel).unwrap(),
            "control-plane=controller-manager,tier in (a,b),x,!y"
        );
        assert_eq!(render_selector(&json!({})), None);
        assert_eq!(
            render_selector(&json!({"matchExpressions": [{"key": "k", "operator": "Odd"}]})),
            None
        );
    }
}
