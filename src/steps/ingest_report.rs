//! What an ingestion run reports (pure): the ingest script
//! (`gitops/components/docling-pipeline/scripts/ingest_documents.py`) prints one JSON line when
//! a collection is filled, `{"democtl":"ingested","vector_db":"acme-manufacturing",
//! "provider_id":"milvus-remote","documents":3,"chunks":42}`; `run-job` reads it from the
//! PipelineRun's pod logs and records it as `<stage>.collection.<vector_db>`.

use serde::{Deserialize, Serialize};

use crate::runner::event::StepOutput;

/// The value key prefix of recorded collections (after the stage id).
pub const COLLECTION_KEY: &str = "collection";

/// One filled collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingested {
    pub vector_db: String,
    pub provider_id: String,
    pub documents: u64,
    pub chunks: u64,
}

#[derive(Deserialize)]
struct Line {
    democtl: String,
    #[serde(flatten)]
    ingested: Ingested,
}

/// The `ingested` lines of a log, one per collection (the last one wins; other lines, and
/// JSON of other shapes, ignored), in the order the collections first appear.
pub fn ingested(log: &str) -> Vec<Ingested> {
    let mut out: Vec<Ingested> = Vec::new();
    for line in log
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .filter(|l| l.democtl == "ingested")
    {
        match out
            .iter_mut()
            .find(|c| c.vector_db == line.ingested.vector_db)
        {
            Some(c) => *c = line.ingested,
            None => out.push(line.ingested),
        }
    }
    out
}

/// The table the presenter sees after an ingestion run.
pub fn table(collections: &[Ingested]) -> StepOutput {
    StepOutput {
        title: "Collections".into(),
        columns: ["collection", "provider", "documents", "chunks"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows: collections
            .iter()
            .map(|c| {
                vec![
                    c.vector_db.clone(),
                    c.provider_id.clone(),
                    c.documents.to_string(),
                    c.chunks.to_string(),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ingested_lines_of_a_log() {
        let log = "vector db acme registered on provider milvus-remote\n\
                   [1/2] a.md: 3 chunks inserted into acme\n\
                   {\"democtl\":\"progress\",\"bytes_done\":1}\n\
                   {\"democtl\":\"ingested\",\"vector_db\":\"acme\",\"provider_id\":\"milvus-remote\",\"documents\":2,\"chunks\":5}\n\
                   {\"democtl\":\"ingested\",\"vector_db\":\"broken\"}\n\
                   {\"democtl\":\"ingested\",\"vector_db\":\"acme\",\"provider_id\":\"milvus-remote\",\"documents\":2,\"chunks\":5}\n";
        let got = ingested(log);
        assert_eq!(
            got,
            [Ingested {
                vector_db: "acme".into(),
                provider_id: "milvus-remote".into(),
                documents: 2,
                chunks: 5
            }]
        );
        assert_eq!(table(&got).rows[0], ["acme", "milvus-remote", "2", "5"]);
        assert!(ingested("no json here").is_empty());
    }
}
