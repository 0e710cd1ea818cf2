//! `secret`: creates or updates a Secret from the environment, `.env` (through
//! [`SecretProvider`]), an existing value, a default, a generated password or a hidden prompt.
//!
//! Per key, in this order: a value from the environment/`.env` (so a wrong token is fixed by
//! setting it again), the value already in the cluster, the stage file's `default`, a generated
//! random value (`generate`, database passwords — generated once, then kept), a hidden prompt.
//! Values never reach a message, an output, a derived value or the run log: the step reports
//! only where each value came from.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use rand::Rng;
use serde_json::{Map, Value, json};

use super::{BuildError, SecretProvider, SecretValue, StepEnv, boxed, cluster_failure};
use crate::runner::event::StepOutput;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{SecretParams, SecretSource};
use crate::stage::schema::StepSpec;

/// Length of generated values (alphanumeric: ~143 bits).
pub const GENERATED_LENGTH: usize = 24;

/// The built step.
pub struct SecretStep {
    env: StepEnv,
    params: SecretParams,
}

pub fn build(
    spec: &StepSpec,
    p: &SecretParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    if p.data.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "secret",
            what: "at least one key in `data`".into(),
        });
    }
    Ok(Box::new(SecretStep {
        env: env.clone(),
        params: p.clone(),
    }))
}

/// Where a key's value came from (shown; the value never is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Environment,
    Kept,
    Default,
    Generated,
    Prompted,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Environment => "from the environment / .env",
            Origin::Kept => "kept (already in the cluster)",
            Origin::Default => "default",
            Origin::Generated => "generated",
            Origin::Prompted => "entered at the prompt",
        }
    }
}

/// What the non-interactive sources give for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Value(SecretValue, Origin),
    /// Ask the user (the key has a prompt).
    Prompt(String),
    /// Optional and nowhere to be found: leave the key out.
    Absent,
    /// Required and nowhere to be found.
    Missing,
}

/// Resolves one key without prompting.
pub fn resolve(
    key: &str,
    source: &SecretSource,
    provider: &dyn SecretProvider,
    existing: &BTreeMap<String, SecretValue>,
    generate: &mut dyn FnMut() -> String,
) -> Resolution {
    if let Some(v) = provider.lookup(&source.env) {
        return Resolution::Value(v, Origin::Environment);
    }
    if let Some(v) = existing.get(key) {
        return Resolution::Value(v.clone(), Origin::Kept);
    }
    if let Some(d) = &source.default {
        return Resolution::Value(SecretValue::new(d.clone()), Origin::Default);
    }
    if source.generate {
        return Resolution::Value(SecretValue::new(generate()), Origin::Generated);
    }
    if let Some(p) = &source.prompt {
        return Resolution::Prompt(p.clone());
    }
    if source.optional {
        Resolution::Absent
    } else {
        Resolution::Missing
    }
}

/// A random alphanumeric value.
pub fn generate_value() -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(GENERATED_LENGTH)
        .map(char::from)
        .collect()
}

/// The Secret manifest (data base64-encoded).
pub fn manifest(p: &SecretParams, values: &BTreeMap<String, SecretValue>) -> Value {
    let data: Map<String, Value> = values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                json!(base64::engine::general_purpose::STANDARD.encode(v.expose())),
            )
        })
        .collect();
    let mut labels = Map::new();
    if let Some(c) = &p.component {
        labels.insert(super::selection::COMPONENT_LABEL.into(), json!(c));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": p.name, "namespace": p.namespace, "labels": labels},
        "type": "Opaque",
        "data": data,
    })
}

impl SecretStep {
    async fn existing(&self) -> Result<BTreeMap<String, SecretValue>, StepError> {
        let api: Api<Secret> =
            Api::namespaced(self.env.cluster.client().clone(), &self.params.namespace);
        let what = || {
            format!(
                "`Secret/{}` in `{}`",
                self.params.name, self.params.namespace
            )
        };
        let secret = self
            .env
            .cluster
            .call("read", what, || api.get_opt(&self.params.name))
            .await
            .map_err(|e| cluster_failure(format!("failed to read {}", what()), e))?;
        Ok(secret
            .and_then(|s| s.data)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| {
                String::from_utf8(v.0)
                    .ok()
                    .map(|s| (k, SecretValue::new(s)))
            })
            .collect())
    }
}

impl Step for SecretStep {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let p = &self.params;
            let existing = self.existing().await?;
            let mut values = BTreeMap::new();
            let mut rows = Vec::new();
            let mut missing = Vec::new();
            let mut generate = generate_value;
            for (key, source) in &p.data {
                let resolution = resolve(
                    key,
                    source,
                    self.env.secrets.as_ref(),
                    &existing,
                    &mut generate,
                );
                let resolved = match resolution {
                    Resolution::Value(v, o) => Some((v, o)),
                    Resolution::Prompt(text) => {
                        ctx.progress(format!("waiting for {}", source.env));
                        self.env
                            .secrets
                            .prompt(&source.env, &text)
                            .await
                            .map(|v| (v, Origin::Prompted))
                    }
                    Resolution::Absent => {
                        rows.push(vec![
                            key.clone(),
                            format!("not set (`{}` is optional)", source.env),
                        ]);
                        continue;
                    }
                    Resolution::Missing => None,
                };
                match resolved {
                    Some((v, o)) if !v.expose().is_empty() => {
                        rows.push(vec![key.clone(), o.describe().into()]);
                        values.insert(key.clone(), v);
                    }
                    _ if source.optional => {
                        rows.push(vec![
                            key.clone(),
                            format!("not set (`{}` is optional)", source.env),
                        ]);
                    }
                    _ => missing.push(source.env.clone()),
                }
            }
            if !missing.is_empty() {
                let list = missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(StepError::new(format!(
                    "no value for {list} (Secret `{}` in `{}`)",
                    p.name, p.namespace
                ))
                .with_hint(format!(
                    "set {list} in the environment or in `.env` as KEY=VALUE, or run in a terminal without --yes to be asked"
                )));
            }
            let title = format!("Secret {} in {}", p.name, p.namespace);
            if values.is_empty() {
                rows.push(vec![
                    "(all keys)".into(),
                    "nothing set: the Secret is not created".into(),
                ]);
                ctx.output(StepOutput {
                    title,
                    columns: vec!["key".into(), "value".into()],
                    rows,
                });
                return Ok(StepDone::Succeeded);
            }
            let object = manifest(p, &values);
            super::apply_objects(&self.env, ctx, std::slice::from_ref(&object))
                .await
                .map_err(|e| {
                    cluster_failure(
                        format!("failed to write `Secret/{}` in `{}`", p.name, p.namespace),
                        e,
                    )
                })?;
            ctx.output(StepOutput {
                title,
                columns: vec!["key".into(), "value".into()],
                rows,
            });
            Ok(StepDone::Succeeded)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use futures::future::BoxFuture;

    use super::*;

    struct Env(BTreeMap<&'static str, &'static str>);

    impl SecretProvider for Env {
        fn lookup(&self, key: &str) -> Option<SecretValue> {
            self.0.get(key).map(|v| SecretValue::new(*v))
        }
        fn prompt<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Option<SecretValue>> {
            Box::pin(async { None })
        }
    }

    fn src(env: &str) -> SecretSource {
        SecretSource {
            env: env.into(),
            prompt: None,
            generate: false,
            default: None,
            optional: false,
        }
    }

    #[test]
    fn environment_wins_then_existing_then_default_then_generated_then_prompt() {
        let provider = Env(BTreeMap::from([("HF_TOKEN", "hf_new")]));
        let existing = BTreeMap::from([("kept".to_string(), SecretValue::new("old"))]);
        let mut make = || "generated-value".to_string();
        let r = |key: &str, s: &SecretSource, make: &mut dyn FnMut() -> String| {
            resolve(key, s, &provider, &existing, make)
        };
        assert_eq!(
            r("HF_TOKEN", &src("HF_TOKEN"), &mut make),
            Resolution::Value(SecretValue::new("hf_new"), Origin::Environment)
        );
        assert_eq!(
            r(
                "kept",
                &SecretSource {
                    generate: true,
                    ..src("X")
                },
                &mut make
            ),
            Resolution::Value(SecretValue::new("old"), Origin::Kept)
        );
        assert_eq!(
            r(
                "db",
                &SecretSource {
                    default: Some("acme".into()),
                    ..src("X")
                },
                &mut make
            ),
            Resolution::Value(SecretValue::new("acme"), Origin::Default)
        );
        assert_eq!(
            r(
                "pw",
                &SecretSource {
                    generate: true,
                    ..src("X")
                },
                &mut make
            ),
            Resolution::Value(SecretValue::new("generated-value"), Origin::Generated)
        );
        assert_eq!(
            r(
                "t",
                &SecretSource {
                    prompt: Some("Token".into()),
                    ..src("X")
                },
                &mut make
            ),
            Resolution::Prompt("Token".into())
        );
        assert_eq!(
            r(
                "w",
                &SecretSource {
                    optional: true,
                    ..src("X")
                },
                &mut make
            ),
            Resolution::Absent
        );
        assert_eq!(r("w", &src("X"), &mut make), Resolution::Missing);
    }

    #[test]
    fn generated_values_are_long_and_different() {
        let a = generate_value();
        assert_eq!(a.len(), GENERATED_LENGTH);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate_value());
    }

    #[test]
    fn manifest_encodes_data_and_never_shows_values_in_debug() {
        let p = SecretParams {
            namespace: "private-ai-demo".into(),
            name: "huggingface-token".into(),
            component: Some("model-loader".into()),
            data: BTreeMap::new(),
        };
        let values = BTreeMap::from([("HF_TOKEN".to_string(), SecretValue::new("hf_abc"))]);
        let m = manifest(&p, &values);
        assert_eq!(m["data"]["HF_TOKEN"], "aGZfYWJj");
        assert_eq!(
            m["metadata"]["labels"]["democtl.io/component"],
            "model-loader"
        );
        assert!(!format!("{values:?}").contains("hf_abc"));
    }
}
