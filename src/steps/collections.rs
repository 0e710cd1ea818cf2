//! `collections`: checks that the vector-store collections a stage needs were ingested by an
//! earlier stage. The ingestion runs record each collection they filled, with its chunk count,
//! as `<stage>.collection.<name>` (see [`super::ingest_report`]); a collection with no record,
//! or with no chunks, fails the step naming it and the command that ingests it.

use serde_json::Value;

use super::ingest_report::COLLECTION_KEY;
use super::{BuildError, StepEnv, boxed};
use crate::runner::step::{Step, StepCtx, StepDone, StepError};
use crate::stage::params::{CollectionRef, CollectionsParams};
use crate::stage::schema::StepSpec;

/// The built step.
pub struct Collections {
    env: StepEnv,
    stage: String,
    collections: Vec<CollectionRef>,
}

pub fn build(
    spec: &StepSpec,
    p: &CollectionsParams,
    env: &StepEnv,
) -> Result<Box<dyn Step>, BuildError> {
    if p.collections.is_empty() {
        return Err(BuildError::Invalid {
            step: spec.id.clone(),
            kind: "collections",
            what: "at least one collection in `collections`".into(),
        });
    }
    Ok(Box::new(Collections {
        env: env.clone(),
        stage: p.stage.clone(),
        collections: p.collections.clone(),
    }))
}

/// The chunk count recorded for a collection (None: no record).
fn chunks(record: &Value) -> Option<u64> {
    record.get("chunks").and_then(Value::as_u64)
}

impl Step for Collections {
    fn run<'a>(
        &'a self,
        ctx: &'a StepCtx,
    ) -> futures::future::BoxFuture<'a, Result<StepDone, StepError>> {
        boxed(async move {
            // A dry run that also plans the ingesting stage cannot have its records yet.
            if ctx.dry_run && self.env.earlier_in_run.contains(&self.stage) {
                ctx.progress(format!(
                    "collections planned by this dry run of {}",
                    self.stage
                ));
                return Ok(StepDone::Succeeded);
            }
            let mut found = Vec::new();
            for c in &self.collections {
                let key = format!("{}.{COLLECTION_KEY}.{}", self.stage, c.name);
                match ctx.value(&key).as_ref().and_then(chunks) {
                    Some(n) if n > 0 => found.push(format!("{} ({n} chunks)", c.name)),
                    recorded => {
                        let why = match recorded {
                            Some(_) => "holds no chunks".to_string(),
                            None => {
                                format!("was never ingested ({} has no record of it)", self.stage)
                            }
                        };
                        return Err(StepError::new(format!(
                            "collection `{}` does not exist: it {why}",
                            c.name
                        ))
                        .with_hint(format!(
                            "ingest it with `democtl deploy {} --only {}` (switch `scenarios` on), then run this stage again",
                            self.stage, c.ingested_by
                        )));
                    }
                }
            }
            ctx.progress(found.join(", "));
            Ok(StepDone::Succeeded)
        })
    }
}
