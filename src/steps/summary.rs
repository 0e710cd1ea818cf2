//! `summary`: the endpoints of the stage, discovered from the cluster (Route hosts,
//! InferenceService URLs), shown as one table with a sample request, and recorded as derived
//! values (`<stage>.endpoint.<label>`) for `status` and later stages. A missing endpoint that is
//! not optional makes the step degraded — the summary never claims success for what is not there.

use serde_json::{Value, json};

use super::{BuildError, StepEnv, boxed, get_object};
use crate::cluster::ObjectKey;
use crate::runner::event::Endpoint;
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{EndpointSpec, SummaryParams};
use crate::stage::schema::StepSpec;

/// The built step.
pub struct Summary {
    env: StepEnv,
    endpoints: Vec<EndpointSpec>,
}

pub fn build(
    _spec: &StepSpec,
    p: &SummaryParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    Ok(Box::new(Summary {
        env: env.clone(),
        endpoints: p.endpoints.clone(),
    }))
}

/// `Llama Stack` → `llama-stack`.
pub fn slug(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The shown value: `format` with `{}` replaced, or the value itself.
pub fn render(value: &str, format: Option<&str>) -> String {
    match format {
        Some(f) => f.replace("{}", value),
        None => value.to_string(),
    }
}

impl Step for Summary {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            let mut rows = Vec::new();
            let mut missing = Vec::new();
            for e in &self.endpoints {
                let key = ObjectKey::new(
                    e.object.api_version.clone(),
                    e.object.kind.clone(),
                    e.object.namespace.as_deref(),
                    e.object.name.clone(),
                );
                ctx.progress(format!("looking up {}", e.label));
                let value = match get_object(&self.env.cluster, &key).await {
                    Ok(Some(obj)) => obj
                        .pointer(&e.pointer)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                    Ok(None) => None,
                    Err(err) => {
                        ctx.warn(format!("could not read {}: {err}", key.describe()));
                        None
                    }
                };
                match value {
                    Some(v) => {
                        let url = render(&v, e.format.as_deref());
                        ctx.derive(
                            super::value_key(ctx, &format!("endpoint.{}", slug(&e.label))),
                            json!(url),
                        );
                        let example = e.example.as_deref().map(|x| x.replace("{}", &url));
                        rows.push(Endpoint {
                            label: e.label.clone(),
                            url: Some(url),
                            example,
                        });
                    }
                    None => {
                        let why = format!("{} (`{}` of {})", e.label, e.pointer, key.describe());
                        if e.optional {
                            ctx.warn(format!("no endpoint for {why}"));
                        } else {
                            missing.push(why);
                        }
                        rows.push(Endpoint {
                            label: e.label.clone(),
                            url: None,
                            example: None,
                        });
                    }
                }
            }
            ctx.endpoints(format!("{} endpoints", self.env.stage.title), rows);
            if missing.is_empty() {
                Ok(StepDone::Succeeded)
            } else if ctx.dry_run {
                // Nothing was deployed: endpoints a deploy would create are simply not there yet.
                ctx.progress(format!("known after the deploy: {}", missing.join(", ")));
                Ok(StepDone::Succeeded)
            } else {
                Ok(StepDone::Degraded(format!(
                    "no endpoint for {}",
                    missing.join(", ")
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_formats() {
        assert_eq!(
            slug("Mistral 24B quantized (1 GPU)"),
            "mistral-24b-quantized-1-gpu"
        );
        assert_eq!(slug("OpenShift AI dashboard"), "openshift-ai-dashboard");
        assert_eq!(
            render("a.apps.example", Some("https://{}")),
            "https://a.apps.example"
        );
        assert_eq!(render("https://x", None), "https://x");
    }
}
