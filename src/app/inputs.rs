//! The input preflight of `deploy`: every secret the run's steps will need is present and
//! well-formed before anything changes — `.env` read strictly, values without surrounding
//! whitespace or line breaks, missing ones asked for now (on a terminal) or listed all at once.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::AppError;
use super::env_file::{self, EnvFile};
use super::prompt::Answer;
use super::secrets::Secrets;
use crate::cluster::Cluster;
use crate::stage::StepSpec;
use crate::stage::params::{SecretParams, SecretSource, StepParams};

/// One input problem: what, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    pub message: String,
    pub hint: String,
}

/// A `secret` step the run will execute.
pub struct SecretStep<'a> {
    pub stage: &'a str,
    pub step: &'a StepSpec,
}

impl SecretStep<'_> {
    fn params(&self) -> Option<&SecretParams> {
        match &self.step.with {
            StepParams::Secret(p) => Some(p),
            _ => None,
        }
    }
}

/// The problems of `.env` itself.
pub fn env_file_problems(file: &EnvFile) -> Vec<InputProblem> {
    file.problems
        .iter()
        .map(|p| InputProblem {
            message: p.to_string(),
            hint: p.hint.clone(),
        })
        .collect()
}

/// Checks every key of every secret step; prompts for the missing ones when it may.
/// `Err(AppError::Interrupted)` when the user pressed Ctrl-C at a prompt.
pub async fn check_secrets(
    cluster: &Cluster,
    steps: &[SecretStep<'_>],
    secrets: &Secrets,
) -> Result<Vec<InputProblem>, AppError> {
    let mut problems = Vec::new();
    for s in steps {
        let Some(p) = s.params() else { continue };
        let mut existing: Option<BTreeMap<String, ()>> = None;
        for (key, source) in &p.data {
            let used_by = format!("{}/{}", s.stage, s.step.id);
            if let Some(problem) = given_value_problem(source, &secrets.env_file, &used_by) {
                problems.push(problem);
                continue;
            }
            if given(source, &secrets.env_file)
                || source.default.is_some()
                || source.generate
                || source.optional
            {
                continue;
            }
            if existing.is_none() {
                existing = Some(existing_keys(cluster, p).await?);
            }
            if existing.as_ref().is_some_and(|e| e.contains_key(key)) {
                continue;
            }
            match (&source.prompt, secrets.can_prompt) {
                (Some(text), true) => match secrets.ask(&source.env, text).await {
                    Ok(Answer::Line(answer)) => {
                        let answer = answer.trim();
                        if answer.is_empty() {
                            problems.push(InputProblem {
                                message: format!(
                                    "nothing entered for `{}` ({used_by})",
                                    source.env
                                ),
                                hint: hint_for(&source.env),
                            });
                        } else {
                            secrets.remember(&source.env, answer.to_owned());
                        }
                    }
                    Ok(Answer::Interrupted) => {
                        return Err(AppError::Other {
                            message: "interrupted at the prompt; nothing was changed".into(),
                            hint: None,
                            source: None,
                            code: crate::exit::INTERRUPTED,
                        });
                    }
                    Ok(Answer::Closed) | Err(_) => problems.push(missing(source, &used_by, p)),
                },
                _ => problems.push(missing(source, &used_by, p)),
            }
        }
    }
    Ok(problems)
}

/// Set in the environment or `.env` (well-formed or not).
fn given(source: &SecretSource, file: &EnvFile) -> bool {
    std::env::var_os(&source.env).is_some() || file.get(&source.env).is_some()
}

/// A value that is given but cannot be used: empty, only whitespace, a line break, spaces
/// around it. The environment wins over `.env`, as in the steps.
fn given_value_problem(
    source: &SecretSource,
    file: &EnvFile,
    used_by: &str,
) -> Option<InputProblem> {
    let key = &source.env;
    match std::env::var(key) {
        Ok(value) => {
            return env_file::malformed(&value).map(|why| InputProblem {
                message: format!("`{key}` in the environment {why} ({used_by})"),
                hint: format!(
                    "set `{key}` again without spaces or line breaks, or `unset {key}` to use `.env` or the value already in the cluster"
                ),
            });
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Some(InputProblem {
                message: format!("`{key}` in the environment is not UTF-8 ({used_by})"),
                hint: format!("set `{key}` again"),
            });
        }
        Err(std::env::VarError::NotPresent) => {}
    }
    let (line, value) = file.get(key)?;
    env_file::malformed(value.expose()).map(|why| InputProblem {
        message: format!(".env:{line}: `{key}` {why} ({used_by})"),
        hint: format!(
            "write `{key}=value` without spaces or line breaks around the value, or remove the line to keep the value already in the cluster"
        ),
    })
}

fn missing(source: &SecretSource, used_by: &str, p: &SecretParams) -> InputProblem {
    InputProblem {
        message: format!(
            "`{}` is not set ({used_by} stores it in Secret `{}` in `{}`)",
            source.env, p.name, p.namespace
        ),
        hint: hint_for(&source.env),
    }
}

fn hint_for(key: &str) -> String {
    format!(
        "set `{key}` in the environment or in `.env` (`{key}=…`), or run on a terminal without `--yes` to be asked"
    )
}

/// The keys the Secret already has in the cluster (none when it or its namespace is missing).
async fn existing_keys(
    cluster: &Cluster,
    p: &SecretParams,
) -> Result<BTreeMap<String, ()>, AppError> {
    let api: Api<Secret> = Api::namespaced(cluster.client().clone(), &p.namespace);
    let what = || format!("`Secret/{}` in `{}`", p.name, p.namespace);
    let secret = cluster
        .call("read", what, || api.get_opt(&p.name))
        .await
        .map_err(AppError::cluster)?;
    Ok(secret
        .and_then(|s| s.data)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.0.is_empty())
        .map(|(k, _)| (k, ()))
        .collect())
}
