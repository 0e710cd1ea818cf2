//! `prereq`: preflight checks. Every check runs (concurrently) and every failure is listed at
//! once, each with its hint: api-reachable, authenticated (SelfSubjectReview), OpenShift version
//! (ClusterVersion), platform (Infrastructure), CRD present, operator installed (CSV
//! Succeeded), can-i (SelfSubjectAccessReview), default StorageClass and its binding mode,
//! secret or env present, earlier stage deployed, Service Mesh control plane Ready, OpenShift AI
//! release serving what the stage uses (`cluster::rhoai_release`). Read-only, so it also runs in
//! dry runs.

use futures::future::{BoxFuture, join_all};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::Api;
use serde_json::Value;

use super::{BuildError, StepEnv, boxed, get_object, list_objects};
use crate::cluster::object::str_at;
use crate::cluster::operators::crd_established;
use crate::cluster::rhoai_release::{self, Uses};
use crate::cluster::state::{self, StageStatus};
use crate::cluster::{ClusterError, ObjectKey};
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{Check, CheckKind, PrereqParams, StepParams};
use crate::stage::schema::StepSpec;

/// The built step.
pub struct Prereq {
    env: StepEnv,
    checks: Vec<Check>,
    /// What the stage uses of OpenShift AI (for `openshift-ai-release`).
    uses: Uses,
}

/// What the stage uses of OpenShift AI's APIs: its DataScienceCluster patches and its rendered
/// InferenceServices.
fn stage_uses(env: &StepEnv) -> Uses {
    let mut uses = Uses::default();
    for step in &env.stage.steps {
        if let StepParams::Patch(p) = &step.with
            && p.target.kind == "DataScienceCluster"
        {
            uses.add_dsc_patch(&p.target.api_version, &p.patch);
        }
    }
    for o in env.objects.iter() {
        uses.add_object(o);
    }
    uses
}

/// Checks that each check has the arguments it needs.
pub fn build(
    spec: &StepSpec,
    p: &PrereqParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    for c in &p.checks {
        let need = |what: &str| BuildError::Invalid {
            step: spec.id.clone(),
            kind: "prereq",
            what: format!("`{what}` for the `{}` check", check_name(c.check)),
        };
        match c.check {
            CheckKind::OpenshiftVersion | CheckKind::Platform if c.value.is_none() => {
                return Err(need("value"));
            }
            CheckKind::Crd
            | CheckKind::Operator
            | CheckKind::Secret
            | CheckKind::Env
            | CheckKind::StageDeployed
            | CheckKind::ServiceMesh
            | CheckKind::OpenshiftAiRelease
                if c.name.is_none() =>
            {
                return Err(need("name"));
            }
            CheckKind::Secret | CheckKind::ServiceMesh | CheckKind::OpenshiftAiRelease
                if c.namespace.is_none() =>
            {
                return Err(need("namespace"));
            }
            CheckKind::CanI if c.verb.is_none() || c.resource.is_none() => {
                return Err(need("verb` and `resource"));
            }
            _ => {}
        }
    }
    Ok(Box::new(Prereq {
        env: env.clone(),
        checks: p.checks.clone(),
        uses: stage_uses(env),
    }))
}

fn check_name(k: CheckKind) -> &'static str {
    match k {
        CheckKind::ApiReachable => "api-reachable",
        CheckKind::Authenticated => "authenticated",
        CheckKind::OpenshiftVersion => "openshift-version",
        CheckKind::Platform => "platform",
        CheckKind::Crd => "crd",
        CheckKind::Operator => "operator",
        CheckKind::CanI => "can-i",
        CheckKind::DefaultStorageClass => "default-storage-class",
        CheckKind::Secret => "secret",
        CheckKind::Env => "env",
        CheckKind::StageDeployed => "stage-deployed",
        CheckKind::ServiceMesh => "service-mesh",
        CheckKind::OpenshiftAiRelease => "openshift-ai-release",
    }
}

/// Outcome of one check: Ok(what was found) or Err(what is wrong, or why it is not known).
type CheckResult = Result<String, Problem>;

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// The cluster answered, and the answer is wrong: the check's hint says what to fix.
    Failed(String),
    /// The cluster did not answer (after the client's retries): nothing is known about the
    /// check, so its hint ("install the operator") would be the wrong fix.
    Unasked(String),
}

impl Problem {
    fn unasked(e: &ClusterError) -> Problem {
        Problem::Unasked(err_text(e))
    }
}

impl From<String> for Problem {
    fn from(s: String) -> Problem {
        Problem::Failed(s)
    }
}

/// A cluster error as one evidence line: the message and its first cause.
fn err_text(e: &ClusterError) -> String {
    match std::error::Error::source(e) {
        Some(src) => format!("{e} ({src})"),
        None => e.to_string(),
    }
}

/// Compares dotted versions numerically (`4.16.3` ≥ `4.16`).
pub fn version_at_least(have: &str, want: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> {
        s.trim_start_matches('v')
            .split(['.', '-', '+'])
            .map_while(|p| p.parse().ok())
            .collect()
    };
    let (h, w) = (parse(have), parse(want));
    for i in 0..w.len().max(h.len()) {
        let (a, b) = (
            h.get(i).copied().unwrap_or(0),
            w.get(i).copied().unwrap_or(0),
        );
        if a != b {
            return a > b;
        }
    }
    true
}

impl Prereq {
    async fn check(&self, c: &Check, stage: &str, dry_run: bool) -> CheckResult {
        let cluster = &self.env.cluster;
        let name = c.name.clone().unwrap_or_default();
        match c.check {
            CheckKind::ApiReachable => cluster
                .call(
                    "reach",
                    || format!("`{}`", cluster.server()),
                    || cluster.client().apiserver_version(),
                )
                .await
                .map(|v| {
                    format!(
                        "{} answers (Kubernetes {})",
                        cluster.server(),
                        v.git_version
                    )
                })
                .map_err(|e| Problem::Failed(err_text(&e))),
            CheckKind::Authenticated => cluster
                .identity()
                .await
                .map(|i| format!("logged in as `{}`", i.user))
                .map_err(|e| Problem::Failed(err_text(&e))),
            CheckKind::OpenshiftVersion => {
                let want = c.value.clone().unwrap_or_default();
                let key =
                    ObjectKey::new("config.openshift.io/v1", "ClusterVersion", None, "version");
                match get_object(cluster, &key).await {
                    Ok(Some(cv)) => {
                        let have = str_at(&cv, "/status/desired/version")
                            .or_else(|| str_at(&cv, "/status/history/0/version"))
                            .unwrap_or("")
                            .to_string();
                        if have.is_empty() {
                            Err(Problem::Failed(
                                "ClusterVersion `version` reports no version".into(),
                            ))
                        } else if version_at_least(&have, &want) {
                            Ok(format!("OpenShift {have}"))
                        } else {
                            Err(Problem::Failed(format!(
                                "OpenShift {have} is older than {want}"
                            )))
                        }
                    }
                    Ok(None) => Err(Problem::Failed(
                        "not an OpenShift cluster (no ClusterVersion `version`)".into(),
                    )),
                    Err(e) => Err(Problem::unasked(&e)),
                }
            }
            CheckKind::Platform => {
                let want = c.value.clone().unwrap_or_default();
                let key =
                    ObjectKey::new("config.openshift.io/v1", "Infrastructure", None, "cluster");
                match get_object(cluster, &key).await {
                    Ok(Some(infra)) => {
                        let have = str_at(&infra, "/status/platformStatus/type")
                            .or_else(|| str_at(&infra, "/status/platform"))
                            .unwrap_or("unknown")
                            .to_string();
                        if have.eq_ignore_ascii_case(&want) {
                            Ok(format!("platform {have}"))
                        } else {
                            Err(Problem::Failed(format!("platform is {have}, not {want}")))
                        }
                    }
                    Ok(None) => Err(Problem::Failed(
                        "no Infrastructure `cluster` (not OpenShift?)".into(),
                    )),
                    Err(e) => Err(Problem::unasked(&e)),
                }
            }
            CheckKind::Crd => {
                let key = ObjectKey::new(
                    "apiextensions.k8s.io/v1",
                    "CustomResourceDefinition",
                    None,
                    &name,
                );
                match get_object(cluster, &key).await {
                    Ok(Some(crd)) => match crd_established(&crd) {
                        Ok(true) => Ok(format!("CRD `{name}` established")),
                        Ok(false) => Err(Problem::Failed(format!(
                            "CRD `{name}` is not established yet"
                        ))),
                        Err(reason) => Err(Problem::Failed(format!("CRD `{name}`: {reason}"))),
                    },
                    Ok(None) => Err(Problem::Failed(format!("CRD `{name}` is not installed"))),
                    Err(e) => Err(Problem::unasked(&e)),
                }
            }
            CheckKind::Operator => {
                let csvs = list_objects(
                    cluster,
                    "operators.coreos.com/v1alpha1",
                    "ClusterServiceVersion",
                    c.namespace.as_deref(),
                    None,
                )
                .await
                .map_err(|e| Problem::unasked(&e))?;
                let found: Vec<&Value> = csvs
                    .iter()
                    .filter(|csv| {
                        let n = str_at(csv, "/metadata/name").unwrap_or("");
                        n == name || n.starts_with(&format!("{name}."))
                    })
                    .collect();
                match found
                    .iter()
                    .find(|csv| str_at(csv, "/status/phase") == Some("Succeeded"))
                {
                    Some(csv) => Ok(format!(
                        "operator `{}` installed",
                        str_at(csv, "/metadata/name").unwrap_or(&name)
                    )),
                    None => match found.first() {
                        Some(csv) => Err(Problem::Failed(format!(
                            "operator `{}` is {}",
                            str_at(csv, "/metadata/name").unwrap_or(&name),
                            str_at(csv, "/status/phase").unwrap_or("not ready")
                        ))),
                        None => Err(Problem::Failed(match &c.namespace {
                            Some(ns) => format!("operator `{name}` is not installed in `{ns}`"),
                            None => format!("operator `{name}` is not installed"),
                        })),
                    },
                }
            }
            CheckKind::CanI => {
                let verb = c.verb.clone().unwrap_or_default();
                let resource = c.resource.clone().unwrap_or_default();
                let review = SelfSubjectAccessReview {
                    spec: SelfSubjectAccessReviewSpec {
                        resource_attributes: Some(ResourceAttributes {
                            verb: Some(verb.clone()),
                            resource: Some(resource.clone()),
                            group: c.group.clone(),
                            namespace: c.namespace.clone(),
                            ..ResourceAttributes::default()
                        }),
                        ..SelfSubjectAccessReviewSpec::default()
                    },
                    ..SelfSubjectAccessReview::default()
                };
                let api: Api<SelfSubjectAccessReview> = Api::all(cluster.client().clone());
                let what = match &c.group {
                    Some(g) if !g.is_empty() => format!("{verb} {resource}.{g}"),
                    _ => format!("{verb} {resource}"),
                };
                let scope = c
                    .namespace
                    .as_deref()
                    .map(|n| format!(" in `{n}`"))
                    .unwrap_or_default();
                match cluster
                    .call(
                        "review access on",
                        || format!("`{}`", cluster.server()),
                        || cluster.create_strict(&api, &review),
                    )
                    .await
                {
                    Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {
                        Ok(format!("can {what}{scope}"))
                    }
                    Ok(r) => Err(Problem::Failed(format!(
                        "cannot {what}{scope}{}",
                        r.status
                            .and_then(|s| s.reason)
                            .filter(|r| !r.is_empty())
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ))),
                    Err(e) => Err(Problem::unasked(&e)),
                }
            }
            CheckKind::DefaultStorageClass => {
                let classes =
                    list_objects(cluster, "storage.k8s.io/v1", "StorageClass", None, None)
                        .await
                        .map_err(|e| Problem::unasked(&e))?;
                let default = classes.iter().find(|sc| {
                    [
                        "storageclass.kubernetes.io/is-default-class",
                        "storageclass.beta.kubernetes.io/is-default-class",
                    ]
                    .iter()
                    .any(|a| {
                        sc.pointer("/metadata/annotations")
                            .and_then(|m| m.get(*a))
                            .and_then(Value::as_str)
                            == Some("true")
                    })
                });
                match default {
                    Some(sc) => Ok(format!(
                        "default StorageClass `{}` (binding {})",
                        str_at(sc, "/metadata/name").unwrap_or("?"),
                        str_at(sc, "/volumeBindingMode").unwrap_or("Immediate")
                    )),
                    None => Err(Problem::Failed(format!(
                        "no default StorageClass among {} classes",
                        classes.len()
                    ))),
                }
            }
            CheckKind::Secret => {
                let ns = c.namespace.clone().unwrap_or_default();
                let key = ObjectKey::new("v1", "Secret", Some(&ns), &name);
                match get_object(cluster, &key).await {
                    Ok(Some(_)) => Ok(format!("Secret `{name}` in `{ns}` exists")),
                    Ok(None) => Err(Problem::Failed(format!(
                        "Secret `{name}` in `{ns}` is missing"
                    ))),
                    Err(e) => Err(Problem::unasked(&e)),
                }
            }
            CheckKind::Env => {
                if self.env.secrets.lookup(&name).is_some() {
                    Ok(format!("`{name}` is set"))
                } else {
                    Err(Problem::Failed(format!(
                        "`{name}` is not set (environment or .env)"
                    )))
                }
            }
            CheckKind::StageDeployed => match state::load(cluster, &name).await {
                Ok(Some(st)) if st.status == StageStatus::Deployed => {
                    Ok(format!("stage `{name}` deployed by run {}", st.run_id))
                }
                Ok(_) if dry_run && self.env.earlier_in_run.contains(&name) => Ok(format!(
                    "stage `{name}` is not deployed yet: planned by this dry run"
                )),
                Ok(Some(st)) => Err(Problem::Failed(format!(
                    "stage `{name}` is {}",
                    st.status.as_str()
                ))),
                Ok(None) if name == stage => Ok(format!("stage `{name}` (this stage)")),
                Ok(None) => Err(Problem::Failed(format!("stage `{name}` is not deployed"))),
                Err(e) => Err(Problem::unasked(&e)),
            },
            CheckKind::ServiceMesh => {
                let ns = c.namespace.clone().unwrap_or_default();
                let key = ObjectKey::new(
                    SMCP_API_VERSION,
                    "ServiceMeshControlPlane",
                    Some(&ns),
                    &name,
                );
                match get_object(cluster, &key).await {
                    Ok(Some(smcp)) => control_plane_ready(&smcp, &name, &ns),
                    Ok(None) => Err(Problem::Failed(format!(
                        "no ServiceMeshControlPlane `{name}` in `{ns}` (KServe serverless needs the mesh OpenShift AI set up)"
                    ))),
                    Err(e) => Err(Problem::unasked(&e)),
                }
            }
            CheckKind::OpenshiftAiRelease => {
                let ns = c.namespace.clone().unwrap_or_default();
                let csvs = list_objects(
                    cluster,
                    "operators.coreos.com/v1alpha1",
                    "ClusterServiceVersion",
                    Some(&ns),
                    None,
                )
                .await
                .map_err(|e| Problem::unasked(&e))?;
                let csv = csvs
                    .iter()
                    .filter(|csv| {
                        let n = str_at(csv, "/metadata/name").unwrap_or("");
                        n.starts_with(&format!("{name}."))
                            && str_at(csv, "/status/phase") == Some("Succeeded")
                    })
                    .max_by_key(|csv| str_at(csv, "/spec/version").map(rhoai_release::major_minor))
                    .ok_or_else(|| {
                        format!("no Succeeded ClusterServiceVersion `{name}.*` in `{ns}`")
                    })?;
                let csv_name = str_at(csv, "/metadata/name").unwrap_or(&name);
                let version = str_at(csv, "/spec/version").ok_or_else(|| {
                    format!("ClusterServiceVersion `{csv_name}` has no spec.version")
                })?;
                let differences = rhoai_release::differences(version, &self.uses);
                if differences.is_empty() {
                    Ok(format!(
                        "OpenShift AI {version} serves the DSC components and APIs this stage uses"
                    ))
                } else {
                    Err(Problem::Failed(format!(
                        "OpenShift AI {version} (`{csv_name}` in `{ns}`) differs from what this stage uses: {}",
                        differences.join("; ")
                    )))
                }
            }
        }
    }
}

impl Step for Prereq {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let active: Vec<&Check> = self
                .checks
                .iter()
                .filter(|c| {
                    c.switch
                        .as_ref()
                        .is_none_or(|s| self.env.switches.get(s).copied().unwrap_or(false))
                })
                .collect();
            ctx.progress(format!("running {} checks", active.len()));
            let results = join_all(
                active
                    .iter()
                    .map(|c| self.check(c, &ctx.stage, ctx.dry_run)),
            )
            .await;
            let mut failures = Vec::new();
            let mut unasked = Vec::new();
            let mut hints = Vec::new();
            for (c, r) in active.iter().zip(results) {
                match r {
                    Ok(found) => ctx.progress(format!("✓ {found}")),
                    Err(Problem::Failed(problem)) => {
                        let hint = c
                            .hint
                            .clone()
                            .map(|h| format!(" — {h}"))
                            .unwrap_or_default();
                        failures.push(format!("{}: {problem}{hint}", check_name(c.check)));
                        if let Some(h) = &c.hint {
                            hints.push(h.clone());
                        }
                    }
                    // Not the check's hint: nothing says the operator or CRD is missing.
                    Err(Problem::Unasked(why)) => unasked.push(format!(
                        "{}: could not ask the cluster: {why}",
                        check_name(c.check)
                    )),
                }
            }
            if failures.is_empty() && unasked.is_empty() {
                return Ok(StepDone::Succeeded);
            }
            let (n, u, total) = (failures.len(), unasked.len(), active.len());
            let headline = match (n, u) {
                (0, _) => format!("{u} of {total} preflight checks could not ask the cluster"),
                (_, 0) => format!("{n} of {total} preflight checks failed"),
                _ => format!(
                    "{n} of {total} preflight checks failed and {u} could not ask the cluster"
                ),
            };
            failures.extend(unasked);
            let mut err = StepError::new(headline).with_evidence(failures);
            if u > 0 {
                err = err.with_hint(if n == 0 {
                    "the API server did not answer these after retries (see each line): check the connection and your permissions, then run the same command again"
                } else {
                    "fix every listed problem; the ones that could not ask the cluster need a working connection: then run the same command again"
                });
            } else if n == 1
                && let Some(h) = hints.pop()
            {
                err = err.with_hint(h);
            } else {
                err = err.with_hint("fix every listed problem, then run the same command again");
            }
            Err(err)
        })
    }
}

/// The Service Mesh 2 control plane API.
const SMCP_API_VERSION: &str = "maistra.io/v2";

/// A ServiceMeshControlPlane is usable when its `Ready` condition is True.
fn control_plane_ready(smcp: &Value, name: &str, ns: &str) -> CheckResult {
    let conditions = smcp
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ready = conditions.iter().find(|c| c["type"] == "Ready");
    match ready {
        Some(c) if c["status"] == "True" => Ok(format!(
            "ServiceMeshControlPlane `{name}` in `{ns}` is Ready"
        )),
        Some(c) => Err(Problem::Failed(format!(
            "ServiceMeshControlPlane `{name}` in `{ns}` is not Ready ({}: {})",
            c["reason"].as_str().unwrap_or("no reason"),
            c["message"].as_str().unwrap_or("")
        ))),
        None => Err(Problem::Failed(format!(
            "ServiceMeshControlPlane `{name}` in `{ns}` reports no Ready condition yet"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_plane_is_ready_only_with_ready_true() {
        let smcp = |s: &str| {
            serde_json::json!({"status": {"conditions": [
                {"type": "Reconciled", "status": "True"},
                {"type": "Ready", "status": s, "reason": "ComponentsNotReady", "message": "istiod not ready"}]}})
        };
        assert!(control_plane_ready(&smcp("True"), "data-science-smcp", "istio-system").is_ok());
        let not_ready = control_plane_ready(&smcp("False"), "data-science-smcp", "istio-system");
        assert_eq!(
            not_ready,
            Err(Problem::Failed("ServiceMeshControlPlane `data-science-smcp` in `istio-system` is not Ready (ComponentsNotReady: istiod not ready)".to_string()))
        );
        let none = control_plane_ready(&serde_json::json!({}), "x", "y");
        assert_eq!(
            none,
            Err(Problem::Failed(
                "ServiceMeshControlPlane `x` in `y` reports no Ready condition yet".to_string()
            ))
        );
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_at_least("4.16.3", "4.16"));
        assert!(version_at_least("4.17.0", "4.16"));
        assert!(!version_at_least("4.15.9", "4.16"));
        assert!(version_at_least("4.16", "4.16.0"));
        assert!(!version_at_least("4.9", "4.16"));
    }
}
