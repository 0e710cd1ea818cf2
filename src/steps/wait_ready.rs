//! `wait-ready`: waits for listed objects, or every object of the named components, to be
//! Current per `crate::readiness` (watches, deadline, evidence), then derives the `capture`
//! values (`name: {key: /json/pointer}`) from the ready objects.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde_json::Value;

use super::selection::component_of;
use super::{BuildError, StepEnv, boxed, cluster_failure, own_deadline};
use crate::cluster::ObjectKey;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::WaitReadyParams;
use crate::stage::schema::StepSpec;

/// Kinds that are ready as soon as they exist; waiting on them only adds noise.
const TRIVIAL: &[&str] = &[
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "NetworkPolicy",
    "LimitRange",
    "ResourceQuota",
];

/// The built step.
pub struct WaitReady {
    env: StepEnv,
    keys: Vec<ObjectKey>,
    capture: BTreeMap<String, BTreeMap<String, String>>,
}

/// Resolves the objects to wait for; components must be rendered and capture names must be
/// among the waited objects.
pub fn build(
    spec: &StepSpec,
    p: &WaitReadyParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    let mut keys: Vec<ObjectKey> = p
        .objects
        .iter()
        .map(|o| ObjectKey::new(&o.api_version, &o.kind, o.namespace.as_deref(), &o.name))
        .collect();
    for c in &p.components {
        let objs: Vec<&Value> = env
            .objects
            .iter()
            .filter(|o| component_of(o) == Some(c.as_str()))
            .collect();
        if objs.is_empty() {
            return Err(BuildError::NotRendered {
                step: spec.id.clone(),
                object: format!("component `{c}`"),
                overlay: env.stage.overlay.clone(),
            });
        }
        for o in objs {
            if let Some(k) = ObjectKey::from_value(o)
                && !TRIVIAL.contains(&k.kind.as_str())
                && !keys.contains(&k)
            {
                keys.push(k);
            }
        }
    }
    if keys.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "wait-ready",
            what: "`objects` or `components` with objects that have a readiness".into(),
        });
    }
    for name in p.capture.keys() {
        if !keys.iter().any(|k| &k.name == name) {
            return Err(BuildError::Invalid {
                step: spec.id.clone(),
                kind: "wait-ready",
                what: format!("`capture.{name}` to name one of the waited objects"),
            });
        }
    }
    Ok(Box::new(WaitReady {
        env: env.clone(),
        keys,
        capture: p.capture.clone(),
    }))
}

impl Step for WaitReady {
    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            if ctx.dry_run {
                ctx.progress(format!("would wait for {} objects", self.keys.len()));
                return Ok(StepDone::Succeeded);
            }
            let progress = |m: String| ctx.progress(m);
            let objects = self
                .env
                .cluster
                .wait_ready(&self.keys, own_deadline(ctx), &progress)
                .await
                .map_err(|e| {
                    cluster_failure(
                        format!("{} objects did not become ready", self.keys.len()),
                        e,
                    )
                })?;
            let mut missing = Vec::new();
            for (key, obj) in self.keys.iter().zip(&objects) {
                let Some(fields) = self.capture.get(&key.name) else {
                    continue;
                };
                for (value_key, pointer) in fields {
                    match obj.pointer(pointer) {
                        Some(v) if !v.is_null() => ctx.derive(value_key.clone(), v.clone()),
                        _ => missing.push(format!("{} has no `{pointer}`", key.describe())),
                    }
                }
            }
            if missing.is_empty() {
                Ok(StepDone::Succeeded)
            } else {
                Ok(StepDone::Degraded(format!(
                    "ready, but {}",
                    missing.join("; ")
                )))
            }
        })
    }
}
