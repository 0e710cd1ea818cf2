//! The repository's own gitops tree and stage files, checked offline with democtl's renderer:
//! progressive overlays, a component on every object, no duplicates, no template leftovers, no
//! cluster-specific values, pinned images, DataScienceCluster patches of the stage files equal
//! to the overlays, and every step of every stage buildable against its stage's render.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use democtl::cluster::Cluster;
use democtl::stage::StageSet;
use democtl::stage::params::StepParams;
use democtl::stage::schema::StepKind;
use democtl::steps::{SecretProvider, SecretValue, StepEnv};
use futures::future::BoxFuture;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn render(dir: &str) -> Vec<Value> {
    democtl::kustomize::build(&root().join(dir))
        .unwrap_or_else(|e| panic!("`{dir}` does not render: {e}"))
}

type Key = (String, Option<String>, String);

fn key(o: &Value) -> Key {
    (
        o["kind"].as_str().unwrap().to_string(),
        o["metadata"]["namespace"].as_str().map(str::to_string),
        o["metadata"]["name"].as_str().unwrap().to_string(),
    )
}

fn keys(objs: &[Value]) -> BTreeSet<Key> {
    objs.iter().map(key).collect()
}

fn overlays() -> Vec<(u8, Vec<Value>)> {
    (1..=3)
        .map(|n| (n, render(&format!("gitops/overlays/stage{n}"))))
        .collect()
}

fn kustomization_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            kustomization_dirs(&path, out);
        } else if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
            out.push(dir.to_path_buf());
        }
    }
}

#[test]
fn every_kustomization_renders_and_stages_build_on_each_other() {
    let mut dirs = Vec::new();
    kustomization_dirs(&root().join("gitops"), &mut dirs);
    assert!(
        dirs.len() >= 20,
        "expected the whole tree, found {}",
        dirs.len()
    );
    for d in &dirs {
        democtl::kustomize::build(d)
            .unwrap_or_else(|e| panic!("`{}` does not render: {e}", d.display()));
    }
    let o = overlays();
    for pair in o.windows(2) {
        let (lower, higher) = (keys(&pair[0].1), keys(&pair[1].1));
        let lost: Vec<_> = lower.difference(&higher).collect();
        assert!(
            lost.is_empty(),
            "stage{} drops objects of stage{}: {lost:?}",
            pair[1].0,
            pair[0].0
        );
        assert!(higher.len() > lower.len());
    }
}

#[test]
fn every_object_has_a_component_and_appears_once() {
    for (n, objs) in overlays() {
        let mut seen = BTreeSet::new();
        for o in &objs {
            let k = key(o);
            assert!(seen.insert(k.clone()), "stage{n}: {k:?} is rendered twice");
            assert!(
                o["metadata"]["labels"]["democtl.io/component"].is_string(),
                "stage{n}: {k:?} has no democtl.io/component label"
            );
            // Selectors never carry the component label (includeSelectors: false).
            let sel = o.pointer("/spec/selector/matchLabels");
            assert!(
                sel.is_none_or(|s| s.get("democtl.io/component").is_none()),
                "stage{n}: {k:?} selects on the component label"
            );
        }
    }
}

#[test]
fn no_template_variable_or_cluster_specific_value_reaches_the_cluster() {
    let forbidden = regex::Regex::new(
        r"\$\{|\.apps\.|ami-[0-9a-f]{6,}|opentlc|sandbox[0-9]|cluster-[a-z0-9]{5}\b|registered-model-id|model-version-id",
    )
    .unwrap();
    for (n, objs) in overlays() {
        for o in &objs {
            let text = serde_json::to_string(o).unwrap();
            if let Some(m) = forbidden.find(&text) {
                panic!("stage{n}: {:?} contains `{}`", key(o), m.as_str());
            }
        }
    }
}

fn images(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "image"
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_string());
                }
                images(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| images(v, out)),
        _ => {}
    }
}

#[test]
fn every_image_is_pinned_by_tag_or_digest() {
    let objs = render("gitops/overlays/stage3");
    let mut all = Vec::new();
    for o in &objs {
        images(o, &mut all);
    }
    assert!(all.len() >= 15, "found only {} images", all.len());
    for image in all {
        let last = image.rsplit('/').next().unwrap();
        let pinned = image.contains("@sha256:")
            || last
                .split_once(':')
                .is_some_and(|(_, tag)| tag != "latest" && !tag.is_empty());
        assert!(pinned, "image `{image}` is not pinned by tag or digest");
    }
}

#[test]
fn secrets_and_operator_namespaces_are_never_declared() {
    let objs = render("gitops/overlays/stage3");
    for o in &objs {
        let (kind, _, name) = key(o);
        assert_ne!(kind, "Secret", "Secret `{name}` is committed");
        assert!(
            !(kind == "Namespace" && name == "rhoai-model-registries"),
            "the OpenShift AI registries namespace must not be owned by the demo"
        );
        assert_ne!(
            kind, "MachineSet",
            "MachineSets are derived at run time, never templated"
        );
    }
}

#[test]
fn limitrange_admits_mesh_sidecars() {
    let objs = render("gitops/base");
    let lr = objs.iter().find(|o| o["kind"] == "LimitRange").unwrap();
    for limit in lr["spec"]["limits"].as_array().unwrap() {
        assert!(
            limit.get("min").is_none(),
            "a LimitRange minimum rejects ~15Mi sidecars: {limit}"
        );
    }
    let full = objs
        .iter()
        .find(|o| o["kind"] == "InferenceService" && o["metadata"]["name"] == "mistral-24b")
        .unwrap();
    let args: Vec<&str> = full["spec"]["predictor"]["model"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.contains(&"--disable-custom-all-reduce"));
    assert!(args.contains(&"--tensor-parallel-size=4"));
    assert_eq!(
        full["spec"]["predictor"]["model"]["resources"]["limits"]["nvidia.com/gpu"],
        "4"
    );
}

fn dsc_components(objs: &[Value]) -> BTreeMap<String, String> {
    let dsc = objs
        .iter()
        .find(|o| o["kind"] == "DataScienceCluster")
        .unwrap();
    assert_eq!(dsc["apiVersion"], "datasciencecluster.opendatahub.io/v1");
    dsc["spec"]["components"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v["managementState"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The DSC components the stage files' `patch` steps set, stages 1..=n.
fn patched_components(set: &StageSet, n: u8) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in set.stages() {
        if s.stage.number > n {
            continue;
        }
        for step in &s.stage.steps {
            if let StepParams::Patch(p) = &step.with
                && p.target.kind == "DataScienceCluster"
            {
                for (k, v) in p.patch["spec"]["components"].as_object().unwrap() {
                    out.insert(
                        k.clone(),
                        v["managementState"].as_str().unwrap().to_string(),
                    );
                }
            }
        }
    }
    out
}

#[test]
fn stage_files_patch_the_dsc_exactly_as_the_overlays_declare() {
    let set = StageSet::load(&root()).unwrap();
    let base = dsc_components(&render("gitops/base"));
    for (n, objs) in overlays() {
        let overlay = dsc_components(&objs);
        let patched = patched_components(&set, n);
        for (component, state) in &patched {
            assert_eq!(
                overlay.get(component),
                Some(state),
                "stage{n}: `{component}`"
            );
        }
        for (component, state) in &overlay {
            if base.get(component) != Some(state) {
                assert_eq!(
                    patched.get(component),
                    Some(state),
                    "stage{n}: overlay sets `{component}`, no patch step does"
                );
            }
            assert_eq!(
                state, "Managed",
                "stage{n}: `{component}` must not be switched off by the demo"
            );
        }
    }
    assert_eq!(
        patched_components(&set, 1)
            .get("modelregistry")
            .map(String::as_str),
        Some("Managed")
    );
    assert_eq!(
        patched_components(&set, 1)
            .get("trustyai")
            .map(String::as_str),
        Some("Managed")
    );
    assert_eq!(
        patched_components(&set, 2)
            .get("workbenches")
            .map(String::as_str),
        Some("Managed")
    );
    assert_eq!(
        patched_components(&set, 2)
            .get("llamastackoperator")
            .map(String::as_str),
        Some("Managed")
    );
}

struct NoSecrets;

impl SecretProvider for NoSecrets {
    fn lookup(&self, _: &str) -> Option<SecretValue> {
        None
    }
    fn prompt<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Option<SecretValue>> {
        Box::pin(async { None })
    }
}

#[tokio::test]
async fn every_step_of_every_stage_builds_against_its_render() {
    // Building never contacts the cluster: an unreachable address proves it.
    let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let cluster = Arc::new(Cluster::from_client(client, "http://127.0.0.1:9"));
    let set = StageSet::load(&root()).unwrap();
    let mut kinds = BTreeSet::new();
    for s in set.stages() {
        let env = StepEnv {
            cluster: cluster.clone(),
            stage: s.stage.clone(),
            objects: Arc::new(render(&s.stage.overlay)),
            secrets: Arc::new(NoSecrets),
            project_dir: root(),
            artifacts_dir: std::env::temp_dir(),
            switches: BTreeMap::new(),
            adopt: false,
            earlier_in_run: Vec::new(),
            rerun: None,
        };
        for step in &s.stage.steps {
            democtl::steps::build(step, &env).unwrap_or_else(|e| {
                panic!("{}: step `{}` does not build: {e}", s.stage.id, step.id)
            });
            kinds.insert(step.kind.as_str());
            assert!(
                step.timeout.is_some(),
                "{}: step `{}` has no timeout",
                s.stage.id,
                step.id
            );
        }
        for st in &s.stage.steps {
            assert!(
                st.narration.is_some(),
                "{}: step `{}` has no narration line",
                s.stage.id,
                st.id
            );
        }
    }
    // The three stages use every step kind.
    let unused: Vec<&str> = StepKind::ALL
        .iter()
        .map(|k| k.as_str())
        .filter(|k| !kinds.contains(k))
        .collect();
    assert!(unused.is_empty(), "unused kinds: {unused:?}");
}

#[tokio::test]
async fn a_step_naming_an_object_the_render_lacks_fails_to_build() {
    let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    let cluster = Arc::new(Cluster::from_client(
        kube::Client::try_from(config).unwrap(),
        "x",
    ));
    let set = StageSet::load(&root()).unwrap();
    let s = set.resolve("stage1").unwrap();
    let env = StepEnv {
        cluster,
        stage: s.stage.clone(),
        // stage 1's steps against an empty render
        objects: Arc::new(Vec::new()),
        secrets: Arc::new(NoSecrets),
        project_dir: root(),
        artifacts_dir: std::env::temp_dir(),
        switches: BTreeMap::new(),
        adopt: false,
        earlier_in_run: Vec::new(),
        rerun: None,
    };
    let step = s
        .stage
        .steps
        .iter()
        .find(|st| st.id == "wait-downloads")
        .unwrap();
    let err = democtl::steps::build(step, &env).err().unwrap();
    assert!(
        err.to_string()
            .contains("`Job/download-mistral-24b-quantized`"),
        "{err}"
    );
    assert!(err.hint().is_some());
}

/// `$(params.x)` references of `text` replaced from `params`.
fn substitute_params(text: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in params {
        out = out.replace(&format!("$(params.{k})"), v);
    }
    out
}

/// String params of a `params` list (`[{name, value|default}]`).
fn param_values(list: &Value, field: &str) -> BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["name"].as_str()?.to_string(),
                p.get(field)?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// What each PipelineRun of the render makes its TaskRun pods mount: every ConfigMap volume
/// of every Task, with the run's, the Pipeline's and the Task's parameters substituted as
/// Tekton does. A real API server rejects a pod whose ConfigMap volume has an empty name
/// (`spec.volumes[1].configMap.name: Required value`), and one naming a ConfigMap that does
/// not exist never starts.
#[test]
fn every_pipelinerun_mounts_configmaps_the_render_contains() {
    let find = |objs: &[Value], kind: &str, name: &str| {
        objs.iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .cloned()
    };
    let mut checked = 0;
    for (n, objs) in overlays() {
        let configmaps: BTreeSet<String> = objs
            .iter()
            .filter(|o| o["kind"] == "ConfigMap")
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        for run in objs.iter().filter(|o| o["kind"] == "PipelineRun") {
            let run_name = run["metadata"]["name"].as_str().unwrap();
            let pipeline_name = run["spec"]["pipelineRef"]["name"].as_str().unwrap();
            let pipeline = find(&objs, "Pipeline", pipeline_name)
                .unwrap_or_else(|| panic!("stage{n}: {run_name} runs missing {pipeline_name}"));
            let mut run_params = param_values(&pipeline["spec"]["params"], "default");
            run_params.extend(param_values(&run["spec"]["params"], "value"));
            for task_ref in pipeline["spec"]["tasks"].as_array().unwrap() {
                let task_name = task_ref["taskRef"]["name"].as_str().unwrap();
                let task = find(&objs, "Task", task_name).unwrap_or_else(|| {
                    panic!("stage{n}: {pipeline_name} uses missing {task_name}")
                });
                let mut params = param_values(&task["spec"]["params"], "default");
                for (k, v) in param_values(&task_ref["params"], "value") {
                    params.insert(k, substitute_params(&v, &run_params));
                }
                for vol in task["spec"]["volumes"].as_array().into_iter().flatten() {
                    let Some(cm) = vol.get("configMap") else {
                        continue;
                    };
                    let name = substitute_params(cm["name"].as_str().unwrap_or(""), &params);
                    let at = format!(
                        "stage{n}: PipelineRun {run_name}, Task {task_name}, volume {}",
                        vol["name"]
                    );
                    assert!(!name.is_empty(), "{at}: configMap.name is empty");
                    assert!(!name.contains("$("), "{at}: unresolved `{name}`");
                    if cm["optional"] != true {
                        assert!(
                            configmaps.contains(&name),
                            "{at}: ConfigMap `{name}` is not in the render"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 0, "no PipelineRun volume was checked");
}
