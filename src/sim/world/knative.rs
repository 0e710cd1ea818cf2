//! Knative Serving as KServe's serverless mode uses it: a KServe predictor's Knative Service
//! `<isvc>-predictor` gets one *revision* per change of its template, named
//! `<ksvc>-<generation, 5 digits>` (`mistral-24b-predictor-00002`), each with its own Deployment
//! `<revision>-deployment` (Knative's names). The newest revision takes the traffic only once it
//! is ready; until then the revision before it keeps serving — and keeps its pods, so a
//! predictor that needs all GPUs of its node cannot start while the old one holds them (its pod
//! stays `Unschedulable` with "Insufficient nvidia.com/gpu"). Once the newest is ready, older
//! revisions are scaled to zero (Knative's autoscaler does so for revisions without traffic).

use serde_json::{Value, json};

use super::informer::{DEPLOYMENT, KNATIVE_SERVICE};
use super::{Ctx, Wake, obj};

/// The label Knative puts on a revision's Deployment and pods.
pub(super) const REVISION_LABEL: &str = "serving.knative.dev/revision";
const SERVICE_LABEL: &str = "serving.knative.dev/service";
const CONFIGURATION_LABEL: &str = "serving.knative.dev/configuration";
/// KServe's label on everything of one InferenceService.
const ISVC_LABEL: &str = "serving.kserve.io/inferenceservice";

/// What the revisions of a predictor's Knative Service look like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Revisions {
    /// The newest revision (what the InferenceService's spec asks for).
    pub latest_created: String,
    /// The newest revision that is ready (takes the traffic), if any.
    pub latest_ready: Option<String>,
}

impl Revisions {
    /// Whether the newest revision serves: the InferenceService is up to date.
    pub fn latest_is_ready(&self) -> bool {
        self.latest_ready.as_deref() == Some(self.latest_created.as_str())
    }
}

/// The revision a Knative Service's current template makes (`<name>-<generation:05>`).
fn revision_name(ksvc: &Value) -> String {
    format!("{}-{:05}", obj::name(ksvc), obj::generation(ksvc).max(1))
}

/// The revision number of a revision name (`…-00002` → 2).
fn revision_number(name: &str) -> u64 {
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The Knative Service KServe writes for a serverless predictor: the predictor pod (`template`,
/// from the InferenceService and its ServingRuntime) as the revision template; `min_scale` is
/// the InferenceService's `minReplicas` (KServe's `autoscaling.knative.dev/min-scale`).
pub(super) fn predictor_service(
    isvc: &Value,
    name: &str,
    template: &Value,
    min_scale: u64,
) -> Value {
    let isvc_name = obj::name(isvc);
    let mut template = template.clone();
    template["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"] =
        json!(min_scale.to_string());
    json!({
        "metadata": {"name": name, "namespace": obj::namespace(isvc),
                     "labels": {ISVC_LABEL: isvc_name, "component": "predictor"},
                     "ownerReferences": [obj::controller_ref(isvc)]},
        "spec": {"template": template},
    })
}

/// The revision Deployments of a Knative Service (newest last).
fn revision_deployments(ctx: &Ctx, ksvc: &Value) -> Vec<Value> {
    let mut mine: Vec<Value> = ctx
        .caches
        .list(DEPLOYMENT)
        .values()
        .filter(|d| {
            obj::namespace(d) == obj::namespace(ksvc)
                && obj::is_owned_by(d, obj::uid(ksvc))
                && obj::label(d, REVISION_LABEL).is_some()
        })
        .cloned()
        .collect();
    mine.sort_by_key(|d| revision_number(obj::label(d, REVISION_LABEL).unwrap_or_default()));
    mine
}

fn available(deployment: &Value) -> bool {
    !obj::is_deleting(deployment)
        && obj::condition_true(deployment, "Available")
        && deployment["spec"]["replicas"].as_u64().unwrap_or(1) > 0
}

/// The revisions of the predictor Knative Service `name` of `isvc`, read from their Deployments
/// (None before the Knative Service exists). A Knative Service of an earlier InferenceService of
/// the same name (deleted, still in the cache) is not this one's.
pub(super) fn revisions(ctx: &Ctx, isvc: &Value, name: &str) -> Option<Revisions> {
    let ksvc = ctx
        .caches
        .get(KNATIVE_SERVICE, obj::namespace(isvc), name)
        .filter(|k| !obj::is_deleting(k) && obj::is_owned_by(k, obj::uid(isvc)))?;
    let latest_created = revision_name(&ksvc);
    let latest_ready = revision_deployments(ctx, &ksvc)
        .iter()
        .rev()
        .find(|d| available(d))
        .and_then(|d| obj::label(d, REVISION_LABEL).map(str::to_string));
    Some(Revisions {
        latest_created,
        latest_ready,
    })
}

/// The Deployment of revision `revision` from the Knative Service's template.
fn revision_deployment(ksvc: &Value, revision: &str) -> Value {
    let template = &ksvc["spec"]["template"];
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels[REVISION_LABEL] = json!(revision);
    labels[SERVICE_LABEL] = json!(obj::name(ksvc));
    labels[CONFIGURATION_LABEL] = json!(obj::name(ksvc));
    labels["app"] = json!(revision);
    let replicas = template["metadata"]["annotations"]["autoscaling.knative.dev/min-scale"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    json!({
        "metadata": {"name": format!("{revision}-deployment"), "namespace": obj::namespace(ksvc),
                     "labels": labels.clone(),
                     "ownerReferences": [obj::controller_ref(ksvc)]},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {REVISION_LABEL: revision}},
            "template": {"metadata": {"labels": labels, "annotations": template["metadata"]["annotations"].clone()},
                         "spec": template["spec"].clone()},
        },
    })
}

/// Reconciles the revisions of a KServe predictor's Knative Service and its status.
pub(super) async fn predictor_revisions(ctx: &Ctx, ksvc: &Value, domain: &str, wake: &mut Wake) {
    let latest = revision_name(ksvc);
    // A revision is immutable (a new template is a new generation, so a new revision): its
    // Deployment is created once, never patched. One of the same name that is not this
    // service's (an earlier service of the same name, being collected) is waited out.
    let deployment = revision_deployment(ksvc, &latest);
    if ctx
        .caches
        .get(DEPLOYMENT, obj::namespace(ksvc), obj::name(&deployment))
        .is_none()
    {
        ctx.note(ctx.create(DEPLOYMENT, deployment).await, wake);
    }
    let deployments = revision_deployments(ctx, ksvc);
    let latest_ready = deployments
        .iter()
        .any(|d| obj::label(d, REVISION_LABEL) == Some(latest.as_str()) && available(d));
    if latest_ready {
        // The newest revision took the traffic: the older ones scale to zero.
        for old in deployments
            .iter()
            .filter(|d| obj::label(d, REVISION_LABEL) != Some(latest.as_str()))
            .filter(|d| d["spec"]["replicas"].as_u64() != Some(0))
        {
            ctx.note(
                ctx.patch(DEPLOYMENT, old, json!({"spec": {"replicas": 0}}))
                    .await,
                wake,
            );
        }
    }
    let (ns, name) = (obj::namespace(ksvc), obj::name(ksvc));
    let revs = Revisions {
        latest_created: latest.clone(),
        latest_ready: deployments
            .iter()
            .rev()
            .find(|d| available(d))
            .and_then(|d| obj::label(d, REVISION_LABEL).map(str::to_string)),
    };
    let now = ctx.now_s();
    let ready = revs.latest_is_ready();
    let (reason, message) = if ready {
        ("", String::new())
    } else {
        (
            "RevisionMissing",
            format!("Configuration \"{name}\" is waiting for a Revision to become ready."),
        )
    };
    let c = |t: &str| obj::make_condition(ksvc, t, ready, reason, &message, &now);
    let mut status = json!({
        "observedGeneration": obj::generation(ksvc),
        "url": format!("https://{}", super::openshift::default_host(name, ns, domain)),
        "address": {"url": format!("http://{name}.{ns}.svc.cluster.local")},
        "latestCreatedRevisionName": revs.latest_created,
        "conditions": [c("ConfigurationsReady"), c("Ready"), c("RoutesReady")],
    });
    if let Some(r) = &revs.latest_ready {
        status["latestReadyRevisionName"] = json!(r);
        status["traffic"] = json!([{"revisionName": r, "latestRevision": ready, "percent": 100}]);
    }
    ctx.note(ctx.patch_status(KNATIVE_SERVICE, ksvc, status).await, wake);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revision_is_named_after_the_generation_of_its_service() {
        let ksvc = json!({"metadata": {"name": "m-predictor", "generation": 2}});
        assert_eq!(revision_name(&ksvc), "m-predictor-00002");
        assert_eq!(revision_number("m-predictor-00012"), 12);
        let d = revision_deployment(
            &json!({"metadata": {"name": "m-predictor", "namespace": "ns", "uid": "u"},
                    "spec": {"template": {"metadata": {"labels": {ISVC_LABEL: "m"},
                        "annotations": {"autoscaling.knative.dev/min-scale": "2"}},
                        "spec": {"containers": []}}}}),
            "m-predictor-00002",
        );
        assert_eq!(d["metadata"]["name"], "m-predictor-00002-deployment");
        assert_eq!(d["spec"]["replicas"], 2);
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"][REVISION_LABEL],
            "m-predictor-00002"
        );
        assert_eq!(d["spec"]["template"]["metadata"]["labels"][ISVC_LABEL], "m");
    }
}
