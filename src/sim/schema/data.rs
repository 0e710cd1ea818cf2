//! The schema data compiled into the binary (`data/`, provenance in `data/SOURCES.md`): the 25 real
//! CRDs of OpenShift AI 2.22 / OpenShift 4.19 and the OpenAPI v3 documents of the built-in groups
//! of a real kube-apiserver. Each file is parsed on first use only, so start-up stays cheap.

use std::sync::{LazyLock, OnceLock};

use serde_json::Value;

/// `(<plural>.<group>, file text)` of every real CRD.
const CRD_FILES: &[(&str, &str)] = &[
    (
        "clusterversions.config.openshift.io",
        include_str!("data/crds/config.openshift.io_clusterversions.yaml"),
    ),
    (
        "infrastructures.config.openshift.io",
        include_str!("data/crds/config.openshift.io_infrastructures.yaml"),
    ),
    (
        "ingresses.config.openshift.io",
        include_str!("data/crds/config.openshift.io_ingresses.yaml"),
    ),
    (
        "datascienceclusters.datasciencecluster.opendatahub.io",
        include_str!("data/crds/datasciencecluster.opendatahub.io_datascienceclusters.yaml"),
    ),
    (
        "dscinitializations.dscinitialization.opendatahub.io",
        include_str!("data/crds/dscinitialization.opendatahub.io_dscinitializations.yaml"),
    ),
    (
        "notebooks.kubeflow.org",
        include_str!("data/crds/kubeflow.org_notebooks.yaml"),
    ),
    (
        "llamastackdistributions.llamastack.io",
        include_str!("data/crds/llamastack.io_llamastackdistributions.yaml"),
    ),
    (
        "machines.machine.openshift.io",
        include_str!("data/crds/machine.openshift.io_machines.yaml"),
    ),
    (
        "machinesets.machine.openshift.io",
        include_str!("data/crds/machine.openshift.io_machinesets.yaml"),
    ),
    (
        "machineconfigpools.machineconfiguration.openshift.io",
        include_str!("data/crds/machineconfiguration.openshift.io_machineconfigpools.yaml"),
    ),
    (
        "machineconfigs.machineconfiguration.openshift.io",
        include_str!("data/crds/machineconfiguration.openshift.io_machineconfigs.yaml"),
    ),
    (
        "modelregistries.modelregistry.opendatahub.io",
        include_str!("data/crds/modelregistry.opendatahub.io_modelregistries.yaml"),
    ),
    (
        "nodefeaturediscoveries.nfd.openshift.io",
        include_str!("data/crds/nfd.openshift.io_nodefeaturediscoveries.yaml"),
    ),
    (
        "clusterpolicies.nvidia.com",
        include_str!("data/crds/nvidia.com_clusterpolicies.yaml"),
    ),
    (
        "clusterserviceversions.operators.coreos.com",
        include_str!("data/crds/operators.coreos.com_clusterserviceversions.yaml"),
    ),
    (
        "operatorgroups.operators.coreos.com",
        include_str!("data/crds/operators.coreos.com_operatorgroups.yaml"),
    ),
    (
        "subscriptions.operators.coreos.com",
        include_str!("data/crds/operators.coreos.com_subscriptions.yaml"),
    ),
    (
        "routes.route.openshift.io",
        include_str!("data/crds/route.openshift.io_routes.yaml"),
    ),
    (
        "inferenceservices.serving.kserve.io",
        include_str!("data/crds/serving.kserve.io_inferenceservices.yaml"),
    ),
    (
        "servingruntimes.serving.kserve.io",
        include_str!("data/crds/serving.kserve.io_servingruntimes.yaml"),
    ),
    (
        "pipelineruns.tekton.dev",
        include_str!("data/crds/tekton.dev_pipelineruns.yaml"),
    ),
    (
        "pipelines.tekton.dev",
        include_str!("data/crds/tekton.dev_pipelines.yaml"),
    ),
    (
        "taskruns.tekton.dev",
        include_str!("data/crds/tekton.dev_taskruns.yaml"),
    ),
    (
        "tasks.tekton.dev",
        include_str!("data/crds/tekton.dev_tasks.yaml"),
    ),
    (
        "lmevaljobs.trustyai.opendatahub.io",
        include_str!("data/crds/trustyai.opendatahub.io_lmevaljobs.yaml"),
    ),
];

/// `(group, version, file text)` of every built-in OpenAPI v3 document.
const BUILTIN_FILES: &[(&str, &str, &str)] = &[
    ("", "v1", include_str!("data/builtin/api_v1.json")),
    (
        "apiextensions.k8s.io",
        "v1",
        include_str!("data/builtin/apis_apiextensions.k8s.io_v1.json"),
    ),
    ("apps", "v1", include_str!("data/builtin/apis_apps_v1.json")),
    (
        "authentication.k8s.io",
        "v1",
        include_str!("data/builtin/apis_authentication.k8s.io_v1.json"),
    ),
    (
        "authorization.k8s.io",
        "v1",
        include_str!("data/builtin/apis_authorization.k8s.io_v1.json"),
    ),
    (
        "autoscaling",
        "v2",
        include_str!("data/builtin/apis_autoscaling_v2.json"),
    ),
    (
        "batch",
        "v1",
        include_str!("data/builtin/apis_batch_v1.json"),
    ),
    (
        "coordination.k8s.io",
        "v1",
        include_str!("data/builtin/apis_coordination.k8s.io_v1.json"),
    ),
    (
        "discovery.k8s.io",
        "v1",
        include_str!("data/builtin/apis_discovery.k8s.io_v1.json"),
    ),
    (
        "events.k8s.io",
        "v1",
        include_str!("data/builtin/apis_events.k8s.io_v1.json"),
    ),
    (
        "networking.k8s.io",
        "v1",
        include_str!("data/builtin/apis_networking.k8s.io_v1.json"),
    ),
    (
        "policy",
        "v1",
        include_str!("data/builtin/apis_policy_v1.json"),
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        include_str!("data/builtin/apis_rbac.authorization.k8s.io_v1.json"),
    ),
    (
        "scheduling.k8s.io",
        "v1",
        include_str!("data/builtin/apis_scheduling.k8s.io_v1.json"),
    ),
    (
        "storage.k8s.io",
        "v1",
        include_str!("data/builtin/apis_storage.k8s.io_v1.json"),
    ),
];

/// The `description` strings stripped from the built-in documents, restored from the Kubernetes
/// v1.36.0 definitions (`data/builtin_descriptions.py` regenerates it; provenance in SOURCES.md):
/// `{component: {"": schema description, property: description}}`. Only `/openapi` serves them
/// (`kubectl explain`); validation reads the documents without them.
const BUILTIN_DESCRIPTIONS: &str = include_str!("data/builtin/descriptions.json");

static CRDS: LazyLock<Vec<OnceLock<Option<Value>>>> =
    LazyLock::new(|| CRD_FILES.iter().map(|_| OnceLock::new()).collect());
static BUILTINS: LazyLock<Vec<OnceLock<Option<Value>>>> =
    LazyLock::new(|| BUILTIN_FILES.iter().map(|_| OnceLock::new()).collect());
static DESCRIBED_BUILTINS: LazyLock<Vec<OnceLock<Option<Value>>>> =
    LazyLock::new(|| BUILTIN_FILES.iter().map(|_| OnceLock::new()).collect());
static DESCRIPTIONS: LazyLock<Option<serde_json::Map<String, Value>>> =
    LazyLock::new(|| serde_json::from_str(BUILTIN_DESCRIPTIONS).ok());

/// The API doc of property `property` of built-in component `component`
/// (`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`, `name`), as kube's tables describe
/// their NAME and AGE columns.
pub fn builtin_property_description(component: &str, property: &str) -> Option<String> {
    DESCRIPTIONS
        .as_ref()?
        .get(component)?
        .get(property)?
        .as_str()
        .map(str::to_string)
}

/// Names (`<plural>.<group>`) of the real CRDs the data carries.
pub fn crd_names() -> impl Iterator<Item = &'static str> {
    CRD_FILES.iter().map(|(n, _)| *n)
}

/// The real CustomResourceDefinition object named `name`, parsed on first use.
pub fn real_crd(name: &str) -> Option<&'static Value> {
    let i = CRD_FILES.iter().position(|(n, _)| *n == name)?;
    CRDS[i]
        .get_or_init(|| serde_saphyr::from_str::<Value>(CRD_FILES[i].1).ok())
        .as_ref()
}

/// The built-in OpenAPI v3 document of a group-version, parsed on first use.
pub fn builtin_doc(group: &str, version: &str) -> Option<&'static Value> {
    let i = BUILTIN_FILES
        .iter()
        .position(|(g, v, _)| *g == group && *v == version)?;
    BUILTINS[i]
        .get_or_init(|| serde_json::from_str::<Value>(BUILTIN_FILES[i].2).ok())
        .as_ref()
}

/// The built-in OpenAPI v3 document of a group-version with its descriptions, as kube-apiserver
/// serves it at `/openapi/v3/...`; built on first use.
pub fn builtin_doc_described(group: &str, version: &str) -> Option<&'static Value> {
    let i = BUILTIN_FILES
        .iter()
        .position(|(g, v, _)| *g == group && *v == version)?;
    DESCRIBED_BUILTINS[i]
        .get_or_init(|| {
            let mut doc = builtin_doc(group, version)?.clone();
            let descriptions = DESCRIPTIONS.as_ref()?;
            if let Some(schemas) = doc
                .pointer_mut("/components/schemas")
                .and_then(Value::as_object_mut)
            {
                for (name, schema) in schemas.iter_mut() {
                    if let Some(entry) = descriptions.get(name).and_then(Value::as_object) {
                        describe(schema, entry);
                    }
                }
            }
            Some(doc)
        })
        .as_ref()
}

/// Puts a component's descriptions back: the schema's own under `""`, each property's by name.
fn describe(schema: &mut Value, entry: &serde_json::Map<String, Value>) {
    for (prop, text) in entry {
        let target = if prop.is_empty() {
            Some(&mut *schema)
        } else {
            schema.pointer_mut(&format!(
                "/properties/{}",
                prop.replace('~', "~0").replace('/', "~1")
            ))
        };
        if let Some(Value::Object(m)) = target {
            m.insert("description".into(), text.clone());
        }
    }
}

/// The group-versions the built-in documents cover.
pub fn builtin_group_versions() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUILTIN_FILES.iter().map(|(g, v, _)| (*g, *v))
}

/// The component name (`io.k8s.api.core.v1.ConfigMap`) of a built-in kind's schema.
pub fn builtin_component(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    let doc = builtin_doc(group, version)?;
    let schemas = doc.pointer("/components/schemas")?.as_object()?;
    schemas.iter().find_map(|(name, s)| {
        let gvks = s.get("x-kubernetes-group-version-kind")?.as_array()?;
        gvks.iter()
            .any(|g| {
                g.get("group").and_then(Value::as_str) == Some(group)
                    && g.get("version").and_then(Value::as_str) == Some(version)
                    && g.get("kind").and_then(Value::as_str) == Some(kind)
            })
            .then_some(name.as_str())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_and_names_itself() {
        for name in crd_names() {
            let crd = real_crd(name).unwrap_or_else(|| panic!("{name} does not parse"));
            assert_eq!(crd["metadata"]["name"], name);
        }
        for (g, v) in builtin_group_versions() {
            assert!(builtin_doc(g, v).is_some(), "{g}/{v}");
        }
        assert_eq!(
            builtin_component("", "v1", "ConfigMap"),
            Some("io.k8s.api.core.v1.ConfigMap")
        );
        let described = builtin_doc_described("", "v1").unwrap();
        let data = &described["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"]["properties"]
            ["data"];
        assert!(
            data["description"]
                .as_str()
                .unwrap()
                .starts_with("Data contains the configuration data."),
            "{data}"
        );
        assert!(
            builtin_doc("", "v1").unwrap()["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"]
                ["properties"]["data"]
                .get("description")
                .is_none(),
            "validation reads the documents without descriptions"
        );
        assert_eq!(
            builtin_component("apps", "v1", "Deployment"),
            Some("io.k8s.api.apps.v1.Deployment")
        );
    }
}
