//! Issue #12 end to end, on the simulated cluster through the real binary: the demo's own
//! workloads report what they did. LM-Eval scores read from the LMEvalJobs' `status.results`
//! (quantized vs full, in the run log, a file and `status`); the TrustyAI operator restarted
//! after its ConfigMap changed; `--only benchmarks` re-runs the benchmarks (never deleting
//! someone else's Job); collections and chunk counts after stage 2, checked by stage 3; and
//! stage 3's teardown keeping PostgreSQL's data unless `--delete-data`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use democtl::runner::event::{Outcome, RunEvent, RunEventKind, StepOutput};
use serde_json::{Value, json};

use super::e2e::{
    Sim, ar, create_as_team_b, demo, derived, get_in, list, outcomes, stage_state, status_json,
};

const NS: &str = "private-ai-demo";
const RHOAI_NS: &str = "redhat-ods-applications";

fn tables(events: &[RunEvent], step_id: &str) -> Vec<StepOutput> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::OutputProduced { step, output, .. } if step == step_id => {
                Some(output.clone())
            }
            _ => None,
        })
        .collect()
}

#[track_caller]
fn all_succeeded(events: &[RunEvent]) {
    for ((stage, step), outcome) in outcomes(events) {
        assert!(
            matches!(outcome, Outcome::Succeeded),
            "{stage}/{step}: {outcome:?}"
        );
    }
}

/// The TrustyAI operator's pods (uids) that are not being deleted.
async fn operator_pods(c: &kube::Client) -> BTreeSet<String> {
    list(c, &ar("", "v1", "Pod", "pods"), Some(RHOAI_NS))
        .await
        .into_iter()
        .filter(|p| {
            p["metadata"]["labels"]["control-plane"] == "controller-manager"
                && p["metadata"]["labels"]["app.kubernetes.io/part-of"] == "trustyai"
                && p["metadata"]["deletionTimestamp"].is_null()
        })
        // by uid: the ReplicaSet may reuse a name
        .map(|p| p["metadata"]["uid"].as_str().unwrap().to_string())
        .collect()
}

async fn uid_of(c: &kube::Client, r: &kube::api::ApiResource, ns: &str, name: &str) -> String {
    get_in(c, r, ns, name).await.unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_show_eval_scores_collections_rerun_benchmarks_and_keep_the_data() {
    let sim = Sim::start(demo(), "healthy").await;
    let c = sim.client();
    // The simulated OpenShift AI starts the TrustyAI operator (a generous deadline, not a
    // timing assertion).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let operator_before = loop {
        let pods = operator_pods(&c).await;
        if !pods.is_empty() {
            break pods;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the simulated OpenShift AI runs no TrustyAI operator"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };

    // Stage 1: every step succeeds — LM-Eval asks for online datasets, which the operator
    // allows only once restarted after the ConfigMap change.
    sim.democtl(&["deploy", "stage1"]).await.expect_code(0);
    let events = sim.events();
    all_succeeded(&events);
    let operator_after = operator_pods(&c).await;
    assert!(
        !operator_after.is_empty() && operator_after.is_disjoint(&operator_before),
        "the TrustyAI operator was restarted: {operator_before:?} → {operator_after:?}"
    );

    // The scores, quantized beside full, at the end of stage 1 (an event of the run log).
    let eval = tables(&events, "wait-eval");
    assert_eq!(eval.len(), 1, "one LM-Eval table");
    assert_eq!(
        eval[0].columns,
        [
            "task",
            "metric",
            "mistral-24b-quantized",
            "mistral-24b",
            "Δ"
        ]
    );
    let tasks: Vec<&str> = eval[0].rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        tasks,
        ["arc_easy", "hellaswag", "winogrande", "truthfulqa_mc2"]
    );
    assert_eq!(eval[0].rows[0][1], "acc_norm");
    assert!(eval[0].rows[0][2].contains(" ± "), "{:?}", eval[0].rows[0]);
    // … saved beside the run log, as TrustyAI reported it
    let values = derived(&events);
    let file = values["stage1.lm-eval.file"].as_str().unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert!(
        saved["eval-mistral-24b"]["results"]["results"]["arc_easy"]["acc_norm,none"].is_number()
    );
    // … and in `status`
    let status = sim.democtl(&["status"]).await;
    status.expect_code(0);
    assert!(
        status.stdout.contains("stage1 LM-Eval accuracy")
            && status.stdout.contains("truthfulqa_mc2"),
        "{}",
        status.stdout
    );
    // Issue #14: the recorded benchmark is drawn too, both models on one chart.
    let chart: Vec<&str> = status
        .stdout
        .lines()
        .skip_while(|l| *l != "GuideLLM benchmark")
        .collect();
    for model in ["mistral-24b-quantized", "mistral-24b"] {
        assert!(
            chart
                .iter()
                .any(|l| l.split_whitespace().any(|w| w == model)),
            "{model} in the status chart: {}",
            status.stdout
        );
    }
    let json_status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    assert_eq!(
        stage_state(&json_status, "stage1")["evaluation"]["models"],
        json!(["mistral-24b-quantized", "mistral-24b"])
    );

    // `--only benchmarks` measures again: the finished Jobs are deleted and recreated.
    let jobs = ar("batch", "v1", "Job", "jobs");
    let first = uid_of(&c, &jobs, NS, "guidellm-benchmark-full").await;
    sim.democtl(&["deploy", "stage1", "--only", "benchmarks"])
        .await
        .expect_code(0);
    let events = sim.events();
    assert_ne!(
        uid_of(&c, &jobs, NS, "guidellm-benchmark-full").await,
        first,
        "the benchmark ran again"
    );
    assert_eq!(tables(&events, "benchmarks")[0].rows.len(), 8);
    // … but a Job of that name someone else made is never deleted.
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(c.clone(), NS, &jobs);
    api.delete(
        "guidellm-benchmark-quantized",
        &kube::api::DeleteParams::foreground(),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while get_in(&c, &jobs, NS, "guidellm-benchmark-quantized")
        .await
        .is_some()
    {
        assert!(std::time::Instant::now() < deadline, "the Job is not gone");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let theirs = create_as_team_b(
        &c,
        &jobs,
        json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "guidellm-benchmark-quantized", "namespace": NS},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "bench", "image": "quay.io/team-b/bench:1"}]}}}}),
    )
    .await;
    let run = sim
        .democtl(&["deploy", "stage1", "--only", "benchmarks"])
        .await;
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("`Job/guidellm-benchmark-quantized`") && run.stderr.contains("team-b"),
        "{}",
        run.stderr
    );
    assert_eq!(
        uid_of(&c, &jobs, NS, "guidellm-benchmark-quantized").await,
        theirs["metadata"]["uid"].as_str().unwrap(),
        "their Job is untouched"
    );
    api.delete(
        "guidellm-benchmark-quantized",
        &kube::api::DeleteParams::foreground(),
    )
    .await
    .unwrap();

    // Stage 2: each ingestion run reports its collection and chunk count; `status` keeps them.
    sim.democtl(&["deploy", "stage2"]).await.expect_code(0);
    let events = sim.events();
    all_succeeded(&events);
    let acme = tables(&events, "ingest-acme");
    let collections = acme.iter().find(|t| t.title == "Collections").unwrap();
    assert_eq!(collections.rows[0][0], "acme-manufacturing");
    assert_eq!(collections.rows[0][1], "milvus-remote");
    assert_eq!(collections.rows[0][2], "3", "three ACME documents");
    let chunks: u64 = collections.rows[0][3].parse().unwrap();
    assert!(chunks >= 3, "{chunks} chunks");
    let status = sim.democtl(&["status"]).await;
    for needle in [
        "stage2 collections",
        "acme-manufacturing",
        "eu-ai-act-docs",
        &chunks.to_string(),
    ] {
        assert!(
            status.stdout.contains(needle),
            "{needle}: {}",
            status.stdout
        );
    }
    let json_status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    let recorded = &stage_state(&json_status, "stage2")["collections"];
    assert_eq!(recorded["acme-manufacturing"]["chunks"], chunks);
    assert_eq!(recorded.as_object().unwrap().len(), 3, "{recorded}");

    // Stage 3 checks its collection before it deploys anything.
    sim.democtl(&["deploy", "stage3"]).await.expect_code(0);
    let events = sim.events();
    all_succeeded(&events);

    // Teardown of stage 3 keeps PostgreSQL's data and says so; `--delete-data` removes it.
    let pvcs = ar("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims");
    let claim = uid_of(&c, &pvcs, NS, "postgresql-data").await;
    let plan = sim
        .democtl(&["teardown", "--stage", "3", "--dry-run"])
        .await;
    plan.expect_code(0);
    let keep_line = plan
        .stdout
        .lines()
        .find(|l| l.contains("postgresql-data"))
        .unwrap_or_else(|| panic!("{}", plan.stdout));
    assert!(
        keep_line.trim_start().starts_with("keep") && keep_line.contains("`--delete-data`"),
        "{keep_line}"
    );
    let plan = sim
        .democtl(&["teardown", "--stage", "3", "--dry-run", "--delete-data"])
        .await;
    assert!(
        plan.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("delete") && l.contains("postgresql-data")),
        "{}",
        plan.stdout
    );
    sim.democtl(&["teardown", "--stage", "3"])
        .await
        .expect_code(0);
    assert_eq!(
        uid_of(&c, &pvcs, NS, "postgresql-data").await,
        claim,
        "the database's claim is kept"
    );
    let json_status = status_json(&sim.democtl(&["status", "-o", "json"]).await);
    assert_eq!(stage_state(&json_status, "stage3")["state"], "not-deployed");

    sim.stop().await;
}

/// Why the restart is there: without it the TrustyAI operator keeps the configuration it
/// started with, the LM-Eval jobs that need online datasets fail, and stage 1 ends degraded
/// with the operator's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_operator_restart_lm_eval_fails_with_the_operators_reason() {
    let stage1 = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stages/stage1.yaml"),
    )
    .unwrap();
    let start = stage1.find("      restartPods:").unwrap();
    let end = start
        + stage1[start..]
            .find("        what: the TrustyAI operator\n")
            .unwrap();
    let end = end + "        what: the TrustyAI operator\n".len();
    let edited = format!("{}{}", &stage1[..start], &stage1[end..]);
    let sim = Sim::start(demo().file("stages/stage1.yaml", &edited), "healthy").await;
    let run = sim.democtl(&["deploy", "stage1", "--no-benchmarks"]).await;
    let events = sim.events();
    let outcome = outcomes(&events)
        .remove(&("stage1".to_string(), "wait-eval".to_string()))
        .unwrap();
    let text = format!("{outcome:?}");
    assert!(
        !matches!(outcome, Outcome::Succeeded) && text.contains("lmes-allow-online"),
        "{text}\n{}",
        run.stderr
    );
    sim.stop().await;
}

/// Teardown restores the TrustyAI operator's ConfigMap and restarts the operator, as the
/// `patch` step did: it reads the ConfigMap only when it starts, so without the restart it
/// would keep allowing online datasets after the demo is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_restarts_the_operator_whose_configuration_it_restores() {
    let sim = Sim::start(demo(), "healthy").await;
    let c = sim.client();
    let cms = ar("", "v1", "ConfigMap", "configmaps");
    let config = "trustyai-service-operator-config";
    sim.democtl(&["deploy", "stage1", "--no-benchmarks", "--no-model-registry"])
        .await
        .expect_code(0);
    let deployed = get_in(&c, &cms, RHOAI_NS, config).await.unwrap();
    assert_eq!(deployed["data"]["lmes-allow-online"], "true");
    let operator_deployed = operator_pods(&c).await;
    assert!(!operator_deployed.is_empty());

    let run = sim.democtl(&["teardown", "--stage", "1"]).await;
    run.expect_code(0);
    let restored = get_in(&c, &cms, RHOAI_NS, config).await.unwrap();
    assert_ne!(
        restored["data"]["lmes-allow-online"], "true",
        "restored: {restored}"
    );
    let operator_after = operator_pods(&c).await;
    assert!(
        !operator_after.is_empty() && operator_after.is_disjoint(&operator_deployed),
        "the TrustyAI operator was restarted after the restore: {operator_deployed:?} → {operator_after:?}\n{}",
        run.stderr
    );
    let said = sim.events().iter().any(|e| {
        matches!(&e.kind, RunEventKind::StepProgressed { message, .. }
            if message.starts_with("the TrustyAI operator restarted"))
    });
    assert!(said, "the teardown says it restarted the operator");
    sim.stop().await;
}

/// A Job's `status.<field>` time.
fn job_time(job: &Value, field: &str) -> jiff::Timestamp {
    job["status"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no status.{field}: {job}"))
        .parse()
        .unwrap()
}

/// Issue #12: the benchmark results reach the Model Registry. The benchmark step writes
/// ConfigMap `benchmark-results` (one `<job>.json` summary per model, owned by democtl), then
/// Job `publish-benchmarks` runs; a re-deploy changes neither, `--only benchmarks` re-publishes,
/// `--no-model-registry` says why nothing is published, and teardown removes the ConfigMap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benchmark_results_are_published_to_the_model_registry() {
    let sim = Sim::start(demo(), "healthy").await;
    let c = sim.client();
    let jobs = ar("batch", "v1", "Job", "jobs");
    let cms = ar("", "v1", "ConfigMap", "configmaps");
    sim.democtl(&["deploy", "stage1", "--no-eval"])
        .await
        .expect_code(0);
    let events = sim.events();
    for ((stage, step), outcome) in outcomes(&events) {
        assert!(
            matches!(outcome, Outcome::Succeeded | Outcome::Skipped { .. }),
            "{stage}/{step}: {outcome:?}"
        );
    }

    // One summary per benchmark Job, exactly as publish_benchmarks.py reads it.
    let cm = get_in(&c, &cms, NS, "benchmark-results")
        .await
        .expect("ConfigMap benchmark-results is written");
    let data = cm["data"].as_object().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        [
            "guidellm-benchmark-full.json",
            "guidellm-benchmark-quantized.json"
        ]
    );
    for (job, model) in [
        ("guidellm-benchmark-full", "mistral-24b"),
        ("guidellm-benchmark-quantized", "mistral-24b-quantized"),
    ] {
        let summary: Value =
            serde_json::from_str(data[&format!("{job}.json")].as_str().unwrap()).unwrap();
        let mut fields: Vec<&str> = summary
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, ["finished", "model", "rows"], "{summary}");
        assert_eq!(summary["model"], model);
        let rows = summary["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 4, "{summary}");
        assert_eq!(rows[0]["load"], "1");
        assert!(rows[0]["ttft_p50_ms"].is_number(), "{summary}");
        assert!(rows[0]["output_tokens_per_second"].is_number(), "{summary}");
        let bench = get_in(&c, &jobs, NS, job).await.unwrap();
        assert_eq!(
            summary["finished"]
                .as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap(),
            job_time(&bench, "completionTime"),
            "finished is the Job's completion time"
        );
    }
    // Owned like every object democtl applies.
    let labels = &cm["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "democtl");
    assert_eq!(labels["democtl.io/stage"], "stage1");
    assert!(
        labels["applyset.kubernetes.io/part-of"].is_string(),
        "{labels}"
    );

    // The publisher succeeded, after both benchmarks, and found both files.
    let publish = get_in(&c, &jobs, NS, "publish-benchmarks")
        .await
        .expect("Job publish-benchmarks ran");
    assert_eq!(publish["status"]["succeeded"], 1, "{publish}");
    for job in ["guidellm-benchmark-full", "guidellm-benchmark-quantized"] {
        let bench = get_in(&c, &jobs, NS, job).await.unwrap();
        assert!(
            job_time(&publish, "startTime") >= job_time(&bench, "completionTime"),
            "publish-benchmarks started after {job}"
        );
    }
    let output = tables(&events, "benchmarks");
    let log = output
        .iter()
        .find(|t| t.title == "Output of Job/publish-benchmarks")
        .unwrap_or_else(|| panic!("{output:?}"));
    assert!(
        log.rows.iter().any(|r| r[0]
            == "/results: 2 files from ConfigMap benchmark-results: guidellm-benchmark-full.json, guidellm-benchmark-quantized.json"),
        "{log:?}"
    );

    // Deploying again changes nothing: same results, same publisher run.
    let version = cm["metadata"]["resourceVersion"].clone();
    let first = uid_of(&c, &jobs, NS, "publish-benchmarks").await;
    sim.democtl(&["deploy", "stage1", "--no-eval"])
        .await
        .expect_code(0);
    let again = get_in(&c, &cms, NS, "benchmark-results").await.unwrap();
    assert_eq!(again["metadata"]["resourceVersion"], version, "unchanged");
    assert_eq!(uid_of(&c, &jobs, NS, "publish-benchmarks").await, first);

    // `--only benchmarks` measures again and re-publishes.
    sim.democtl(&["deploy", "stage1", "--only", "benchmarks"])
        .await
        .expect_code(0);
    let second = uid_of(&c, &jobs, NS, "publish-benchmarks").await;
    assert_ne!(second, first, "the publisher ran again");
    let publish = get_in(&c, &jobs, NS, "publish-benchmarks").await.unwrap();
    assert_eq!(publish["status"]["succeeded"], 1, "{publish}");
    let cm = get_in(&c, &cms, NS, "benchmark-results").await.unwrap();
    assert_ne!(cm["data"], again["data"], "new measurements, new summaries");

    // Without the Model Registry nothing is published, and the step says why.
    sim.democtl(&["deploy", "stage1", "--no-eval", "--no-model-registry"])
        .await
        .expect_code(0);
    let events = sim.events();
    let output = tables(&events, "benchmarks");
    assert!(
        output.iter().any(|t| t
            .rows
            .iter()
            .any(|r| r[0].contains("not run: switch `model-registry` is off"))),
        "{output:?}"
    );
    assert_eq!(uid_of(&c, &jobs, NS, "publish-benchmarks").await, second);

    // Teardown removes the ConfigMap with the rest of the stage.
    sim.democtl(&["teardown", "--stage", "1", "--delete-data"])
        .await
        .expect_code(0);
    assert!(
        get_in(&c, &cms, NS, "benchmark-results").await.is_none(),
        "teardown removed ConfigMap benchmark-results"
    );

    sim.stop().await;
}
