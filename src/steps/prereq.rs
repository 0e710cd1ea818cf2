//! `prereq`: preflight checks. Every check runs (concurrently) and every failure is listed at
//! once, each with its hint: api-reachable, authenticated (SelfSubjectReview), OpenShift version
//! (ClusterVersion), platform (Infrastructure), CRD present, operator installed (CSV
//! Succeeded), can-i (SelfSubjectAccessReview), default StorageClass and its binding mode,
//! secret or env present, earlier stage deployed. Read-only, so it also runs in dry runs.

use futures::future::{BoxFuture, join_all};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::Api;
use serde_json::Value;

use super::{BuildError, StepEnv, boxed, get_object, list_objects};
use crate::cluster::object::str_at;
use crate::cluster::operators::crd_established;
use crate::cluster::state::{self, StageStatus};
use crate::cluster::{ClusterError, ObjectKey};
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{Check, CheckKind, PrereqParams};
use crate::stage::schema::StepSpec;

/// The built step.
pub struct Prereq {
    env: StepEnv,
    checks: Vec<Check>,
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
                if c.name.is_none() =>
            {
                return Err(need("name"));
            }
            CheckKind::Secret if c.namespace.is_none() => return Err(need("namespace")),
            CheckKind::CanI if c.verb.is_none() || c.resource.is_none() => {
                return Err(need("verb` and `resource"));
            }
            _ => {}
        }
    }
    Ok(Box::new(Prereq {
        env: env.clone(),
        checks: p.checks.clone(),
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
    }
}

/// Outcome of one check: Ok(what was found) or Err(what is wrong).
type CheckResult = Result<String, String>;

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
                .map_err(|e| err_text(&e)),
            CheckKind::Authenticated => cluster
                .identity()
                .await
                .map(|i| format!("logged in as `{}`", i.user))
                .map_err(|e| err_text(&e)),
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
                            Err("ClusterVersion `version` reports no version".into())
                        } else if version_at_least(&have, &want) {
                            Ok(format!("OpenShift {have}"))
                        } else {
                            Err(format!("OpenShift {have} is older than {want}"))
                        }
                    }
                    Ok(None) => {
                        Err("not an OpenShift cluster (no ClusterVersion `version`)".into())
                    }
                    Err(e) => Err(err_text(&e)),
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
                            Err(format!("platform is {have}, not {want}"))
                        }
                    }
                    Ok(None) => Err("no Infrastructure `cluster` (not OpenShift?)".into()),
                    Err(e) => Err(err_text(&e)),
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
                        Ok(false) => Err(format!("CRD `{name}` is not established yet")),
                        Err(reason) => Err(format!("CRD `{name}`: {reason}")),
                    },
                    Ok(None) => Err(format!("CRD `{name}` is not installed")),
                    Err(e) => Err(err_text(&e)),
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
                .map_err(|e| err_text(&e))?;
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
                        Some(csv) => Err(format!(
                            "operator `{}` is {}",
                            str_at(csv, "/metadata/name").unwrap_or(&name),
                            str_at(csv, "/status/phase").unwrap_or("not ready")
                        )),
                        None => Err(match &c.namespace {
                            Some(ns) => format!("operator `{name}` is not installed in `{ns}`"),
                            None => format!("operator `{name}` is not installed"),
                        }),
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
                    Ok(r) => Err(format!(
                        "cannot {what}{scope}{}",
                        r.status
                            .and_then(|s| s.reason)
                            .filter(|r| !r.is_empty())
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    )),
                    Err(e) => Err(err_text(&e)),
                }
            }
            CheckKind::DefaultStorageClass => {
                let classes =
                    list_objects(cluster, "storage.k8s.io/v1", "StorageClass", None, None)
                        .await
                        .map_err(|e| err_text(&e))?;
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
                    None => Err(format!(
                        "no default StorageClass among {} classes",
                        classes.len()
                    )),
                }
            }
            CheckKind::Secret => {
                let ns = c.namespace.clone().unwrap_or_default();
                let key = ObjectKey::new("v1", "Secret", Some(&ns), &name);
                match get_object(cluster, &key).await {
                    Ok(Some(_)) => Ok(format!("Secret `{name}` in `{ns}` exists")),
                    Ok(None) => Err(format!("Secret `{name}` in `{ns}` is missing")),
                    Err(e) => Err(err_text(&e)),
                }
            }
            CheckKind::Env => {
                if self.env.secrets.lookup(&name).is_some() {
                    Ok(format!("`{name}` is set"))
                } else {
                    Err(format!("`{name}` is not set (environment or .env)"))
                }
            }
            CheckKind::StageDeployed => match state::load(cluster, &name).await {
                Ok(Some(st)) if st.status == StageStatus::Deployed => {
                    Ok(format!("stage `{name}` deployed by run {}", st.run_id))
                }
                Ok(_) if dry_run && self.env.earlier_in_run.contains(&name) => Ok(format!(
                    "stage `{name}` is not deployed yet: planned by this dry run"
                )),
                Ok(Some(st)) => Err(format!("stage `{name}` is {}", st.status.as_str())),
                Ok(None) if name == stage => Ok(format!("stage `{name}` (this stage)")),
                Ok(None) => Err(format!("stage `{name}` is not deployed")),
                Err(e) => Err(err_text(&e)),
            },
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
            let mut hints = Vec::new();
            for (c, r) in active.iter().zip(results) {
                match r {
                    Ok(found) => ctx.progress(format!("✓ {found}")),
                    Err(problem) => {
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
                }
            }
            if failures.is_empty() {
                return Ok(StepDone::Succeeded);
            }
            let n = failures.len();
            let mut err =
                StepError::new(format!("{n} of {} preflight checks failed", active.len()))
                    .with_evidence(failures);
            if n == 1
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_at_least("4.16.3", "4.16"));
        assert!(version_at_least("4.17.0", "4.16"));
        assert!(!version_at_least("4.15.9", "4.16"));
        assert!(version_at_least("4.16", "4.16.0"));
        assert!(!version_at_least("4.9", "4.16"));
    }
}
