//! Which operator provides which API group (data), and waiting for an operator that is being
//! installed: Subscription → ClusterServiceVersion `Succeeded` → CRD `Established`.

use std::time::Duration;

use futures::StreamExt;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use serde_json::Value;
use tokio::time::Instant;

use super::client::Cluster;
use super::error::ClusterError;
use super::object::{ObjectKey, condition, condition_true, str_at};
use super::wait::{Progress, WaitError};

/// CRD API group → the operator to install for it. The first matching suffix wins.
pub const OPERATORS: &[(&str, &str)] = &[
    ("serving.kserve.io", "Red Hat OpenShift AI (KServe)"),
    ("serving.knative.dev", "Red Hat OpenShift Serverless"),
    ("datasciencecluster.opendatahub.io", "Red Hat OpenShift AI"),
    ("dscinitialization.opendatahub.io", "Red Hat OpenShift AI"),
    ("components.platform.opendatahub.io", "Red Hat OpenShift AI"),
    (
        "modelregistry.opendatahub.io",
        "Red Hat OpenShift AI (Model Registry component)",
    ),
    (
        "trustyai.opendatahub.io",
        "Red Hat OpenShift AI (TrustyAI component)",
    ),
    (
        "datasciencepipelinesapplications.opendatahub.io",
        "Red Hat OpenShift AI (AI Pipelines component)",
    ),
    (
        "llamastack.io",
        "Red Hat OpenShift AI (Llama Stack operator component)",
    ),
    ("kubeflow.org", "Red Hat OpenShift AI (Workbenches)"),
    ("nvidia.com", "NVIDIA GPU Operator"),
    ("nfd.openshift.io", "Node Feature Discovery"),
    ("tekton.dev", "Red Hat OpenShift Pipelines"),
    ("docling.github.io", "Docling (community operators catalog)"),
    ("grafana.integreatly.org", "Grafana Operator"),
    ("opentelemetry.io", "Red Hat build of OpenTelemetry"),
    ("maistra.io", "Red Hat OpenShift Service Mesh"),
    ("operators.coreos.com", "Operator Lifecycle Manager (OLM)"),
    (
        "machine.openshift.io",
        "OpenShift Machine API (installer-provisioned infrastructure)",
    ),
    ("monitoring.coreos.com", "OpenShift monitoring"),
];

/// The operator that provides CRDs of `group`, if known.
pub fn operator_for_group(group: &str) -> Option<&'static str> {
    OPERATORS
        .iter()
        .find(|(g, _)| group == *g || group.ends_with(&format!(".{g}")))
        .map(|(_, op)| *op)
}

/// CRD readiness as apply needs it: `Ok(true)` Established and names accepted, `Ok(false)`
/// still installing, `Err(reason)` failed (names not accepted).
pub fn crd_established(crd: &Value) -> Result<bool, String> {
    if let Some(c) = condition(crd, "NamesAccepted")
        && c.get("status").and_then(Value::as_str) == Some("False")
    {
        return Err(format!(
            "names not accepted: {}",
            c.get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
        ));
    }
    Ok(condition_true(crd, "Established"))
}

/// Waits until a CRD serving `group`/`kind` exists and is Established, watching CRDs.
/// Progress names the operator being waited for.
pub async fn wait_for_crd_of_kind(
    cluster: &Cluster,
    group: &str,
    kind: &str,
    deadline: Instant,
    progress: Progress<'_>,
) -> Result<(), ClusterError> {
    let crds = cluster.crd_api().await?;
    let operator = operator_for_group(group).unwrap_or("its operator");
    progress(format!(
        "waiting for {operator} to install the `{kind}.{group}` CRD"
    ));
    let mut stream = watcher(crds, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    let target = format!("CRD of `{kind}.{group}`");
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        match next {
            Err(_) => {
                return Err(ClusterError::Wait(Box::new(WaitError::timed_out(
                    target,
                    format!("{operator} has not installed it"),
                    Vec::new(),
                ))));
            }
            Ok(None) => continue,
            Ok(Some(Err(_))) => continue,
            Ok(Some(Ok(obj))) => {
                let v = serde_json::to_value(&obj).unwrap_or(Value::Null);
                if str_at(&v, "/spec/group") == Some(group)
                    && str_at(&v, "/spec/names/kind") == Some(kind)
                {
                    match crd_established(&v) {
                        Ok(true) => {
                            cluster.discovery().refresh();
                            return Ok(());
                        }
                        Ok(false) => progress(format!("CRD of `{kind}.{group}` installing")),
                        Err(reason) => {
                            return Err(ClusterError::Wait(Box::new(WaitError::failed(
                                target,
                                reason,
                                Vec::new(),
                            ))));
                        }
                    }
                }
            }
        }
    }
}

/// Waits for a Subscription to install its operator: `status.installedCSV` set and that CSV
/// `Succeeded` (fails at once on CSV `Failed` or Subscription resolution failures).
pub async fn wait_for_subscription(
    cluster: &Cluster,
    subscription: &ObjectKey,
    deadline: Instant,
    progress: Progress<'_>,
) -> Result<(), ClusterError> {
    let sub = cluster
        .wait_until(subscription, deadline, progress, |obj| {
            let Some(obj) = obj else {
                return Decision::Pending("Subscription not found yet".into());
            };
            for t in [
                "ResolutionFailed",
                "InstallPlanFailed",
                "CatalogSourcesUnhealthy",
            ] {
                if condition_true(obj, t) {
                    let msg = condition(obj, t)
                        .and_then(|c| c.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or(t);
                    return Decision::Failed(format!("{t}: {msg}"));
                }
            }
            match str_at(obj, "/status/installedCSV") {
                Some(csv) => Decision::Done(csv.to_string()),
                None => Decision::Pending(format!(
                    "Subscription `{}` resolving ({})",
                    subscription.name,
                    str_at(obj, "/status/state").unwrap_or("no state yet")
                )),
            }
        })
        .await?;
    let csv = ObjectKey::new(
        "operators.coreos.com/v1alpha1",
        "ClusterServiceVersion",
        subscription.namespace.as_deref(),
        sub,
    );
    cluster
        .wait_until(&csv, deadline, progress, |obj| {
            let Some(obj) = obj else {
                return Decision::Pending("ClusterServiceVersion not created yet".into());
            };
            match str_at(obj, "/status/phase") {
                Some("Succeeded") => Decision::Done(String::new()),
                Some("Failed") => Decision::Failed(format!(
                    "ClusterServiceVersion failed: {}",
                    str_at(obj, "/status/message").unwrap_or("no message")
                )),
                phase => Decision::Pending(format!(
                    "operator `{}` {}",
                    csv.name,
                    phase.unwrap_or("pending")
                )),
            }
        })
        .await?;
    Ok(())
}

/// What a watch predicate decided about the current object.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<T> {
    Done(T),
    Pending(String),
    Failed(String),
}

/// Default bound for operator installs (OLM on a busy cluster takes minutes).
pub const OPERATOR_INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operator_table() {
        assert_eq!(
            operator_for_group("serving.kserve.io"),
            Some("Red Hat OpenShift AI (KServe)")
        );
        assert_eq!(
            operator_for_group("nvidia.com"),
            Some("NVIDIA GPU Operator")
        );
        assert_eq!(operator_for_group("example.com"), None);
    }

    #[test]
    fn crd_conditions() {
        let ok = json!({"status": {"conditions": [
            {"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "True"}]}});
        assert_eq!(crd_established(&ok), Ok(true));
        let installing =
            json!({"status": {"conditions": [{"type": "NamesAccepted", "status": "True"}]}});
        assert_eq!(crd_established(&installing), Ok(false));
        let bad = json!({"status": {"conditions": [
            {"type": "NamesAccepted", "status": "False", "message": "plural taken"}]}});
        assert_eq!(
            crd_established(&bad),
            Err("names not accepted: plural taken".into())
        );
    }
}
