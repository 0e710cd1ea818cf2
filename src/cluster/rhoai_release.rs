//! Which OpenShift AI release serves which DataScienceCluster API and components: a small table,
//! and the comparison of what a stage uses (its DSC patches, its InferenceServices' deployment
//! mode) with the release a cluster runs (the `rhods-operator` ClusterServiceVersion's
//! `spec.version`). The stages are written against 2.22; a later release that renamed or removed
//! something they use fails preflight naming the release and the difference, instead of a
//! patch that silently sets an unknown field or a model that never deploys.
//!
//! Sources: 2.22 from the DataScienceCluster CRD in `src/sim/schema/data/crds` (the branch
//! OpenShift AI 2.22 is built from); 3.0 from opendatahub-operator's `api/datasciencecluster/v2`
//! types and the v1↔v2 conversion (DSC `v2` is the storage version, `v1` stays served through a
//! conversion webhook that carries the components listed below; `datasciencepipelines` is
//! `aipipelines` in v2, `trainer` is new there; ModelMesh and CodeFlare are gone; KServe
//! supports only RawDeployment).

use serde_json::Value;

/// The DataScienceCluster API group.
pub const DSC_GROUP: &str = "datasciencecluster.opendatahub.io";

/// One release line of OpenShift AI, as far as the stages care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// `major.minor` of the first release this entry describes (`2.22`).
    pub since: (u64, u64),
    /// DSC versions served, each with its component keys.
    pub dsc_versions: &'static [(&'static str, &'static [&'static str])],
    /// Components renamed in a DSC version: (version, old key, new key).
    pub renamed: &'static [(&'static str, &'static str, &'static str)],
    /// Whether KServe's Serverless (Knative) deployment mode exists.
    pub kserve_serverless: bool,
}

const DSC_V1_2_22: &[&str] = &[
    "codeflare",
    "dashboard",
    "datasciencepipelines",
    "feastoperator",
    "kserve",
    "kueue",
    "llamastackoperator",
    "modelmeshserving",
    "modelregistry",
    "ray",
    "trainingoperator",
    "trustyai",
    "workbenches",
];

const DSC_V1_3_0: &[&str] = &[
    "dashboard",
    "datasciencepipelines",
    "feastoperator",
    "kserve",
    "kueue",
    "llamastackoperator",
    "modelregistry",
    "ray",
    "trainingoperator",
    "trustyai",
    "workbenches",
];

const DSC_V2_3_0: &[&str] = &[
    "aipipelines",
    "dashboard",
    "feastoperator",
    "kserve",
    "kueue",
    "llamastackoperator",
    "modelregistry",
    "ray",
    "trainer",
    "trainingoperator",
    "trustyai",
    "workbenches",
];

/// Known releases, oldest first. A cluster's release uses the newest entry at or below it.
pub const RELEASES: &[Release] = &[
    Release {
        since: (2, 22),
        dsc_versions: &[("v1", DSC_V1_2_22)],
        renamed: &[],
        kserve_serverless: true,
    },
    Release {
        since: (3, 0),
        dsc_versions: &[("v1", DSC_V1_3_0), ("v2", DSC_V2_3_0)],
        renamed: &[("v2", "datasciencepipelines", "aipipelines")],
        kserve_serverless: false,
    },
];

/// `major.minor` of a version string (`2.22.1` → (2, 22); `v3.0.0-ea.1` → (3, 0)).
pub fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// The table entry for a cluster's release: the newest at or below it.
pub fn release_for(version: &str) -> Option<&'static Release> {
    let v = major_minor(version)?;
    RELEASES.iter().rev().find(|r| r.since <= v)
}

/// What a stage uses of OpenShift AI's APIs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    /// DSC patches: (apiVersion, component key).
    pub dsc_components: Vec<(String, String)>,
    /// Objects asking for KServe's Serverless mode (`Kind/name`).
    pub serverless: Vec<String>,
}

impl Uses {
    /// The component keys of a DataScienceCluster patch (`spec.components.*`).
    pub fn add_dsc_patch(&mut self, api_version: &str, patch: &Value) {
        if let Some(components) = patch.pointer("/spec/components").and_then(Value::as_object) {
            for key in components.keys() {
                let entry = (api_version.to_string(), key.clone());
                if !self.dsc_components.contains(&entry) {
                    self.dsc_components.push(entry);
                }
            }
        }
    }

    /// A rendered object: an InferenceService annotated for Serverless mode is recorded.
    pub fn add_object(&mut self, object: &Value) {
        let serverless = object
            .pointer("/metadata/annotations/serving.kserve.io~1deploymentMode")
            .and_then(Value::as_str)
            == Some("Serverless");
        if serverless && object["kind"] == "InferenceService" {
            self.serverless.push(format!(
                "InferenceService/{}",
                object["metadata"]["name"].as_str().unwrap_or_default()
            ));
        }
    }
}

/// What differs between what the stages use and `version`, one line each; empty = compatible.
/// A version older than every table entry (or unreadable) is one difference.
pub fn differences(version: &str, uses: &Uses) -> Vec<String> {
    let Some(release) = release_for(version) else {
        let oldest = RELEASES
            .first()
            .map(|r| format!("{}.{}", r.since.0, r.since.1))
            .unwrap_or_default();
        return vec![format!(
            "release {version} is older than {oldest}, the oldest one democtl knows"
        )];
    };
    let mut out = Vec::new();
    for (api_version, key) in &uses.dsc_components {
        let version_part = api_version
            .strip_prefix(&format!("{DSC_GROUP}/"))
            .unwrap_or(api_version);
        let Some((_, keys)) = release
            .dsc_versions
            .iter()
            .find(|(v, _)| *v == version_part)
        else {
            let served: Vec<String> = release
                .dsc_versions
                .iter()
                .map(|(v, _)| format!("{DSC_GROUP}/{v}"))
                .collect();
            out.push(format!(
                "the DataScienceCluster API `{api_version}` is not served (served: {})",
                served.join(", ")
            ));
            continue;
        };
        if keys.contains(&key.as_str()) {
            continue;
        }
        match release
            .renamed
            .iter()
            .find(|(v, old, _)| *v == version_part && old == key)
        {
            Some((_, _, new)) => out.push(format!(
                "DSC component `{key}` is called `{new}` in `{api_version}`"
            )),
            None => out.push(format!(
                "DSC component `{key}` does not exist in `{api_version}`"
            )),
        }
    }
    if !release.kserve_serverless && !uses.serverless.is_empty() {
        out.push(format!(
            "KServe has no Serverless deployment mode (only RawDeployment), which {} ask for",
            uses.serverless.join(", ")
        ));
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stage1_uses() -> Uses {
        let mut u = Uses::default();
        let dsc = format!("{DSC_GROUP}/v1");
        u.add_dsc_patch(
            &dsc,
            &json!({"spec": {"components": {"kserve": {"managementState": "Managed"},
                                             "trustyai": {"managementState": "Managed"}}}}),
        );
        u.add_dsc_patch(
            &dsc,
            &json!({"spec": {"components": {"modelregistry": {"managementState": "Managed"}}}}),
        );
        u.add_object(
            &json!({"kind": "InferenceService", "metadata": {"name": "mistral-24b",
            "annotations": {"serving.kserve.io/deploymentMode": "Serverless"}}}),
        );
        u.add_object(&json!({"kind": "ServingRuntime", "metadata": {"name": "vllm"}}));
        u
    }

    #[test]
    fn the_stages_fit_2_22_and_its_patch_releases_and_later_2_x() {
        assert_eq!(major_minor("2.22.1"), Some((2, 22)));
        assert_eq!(major_minor("v3.0.0-ea.1"), Some((3, 0)));
        for v in ["2.22.0", "2.22.1", "2.25.0"] {
            assert_eq!(differences(v, &stage1_uses()), Vec::<String>::new(), "{v}");
        }
        assert_eq!(
            stage1_uses().serverless,
            vec!["InferenceService/mistral-24b"]
        );
    }

    #[test]
    fn a_later_release_that_renamed_a_component_names_the_rename() {
        let mut u = Uses::default();
        u.add_dsc_patch(
            &format!("{DSC_GROUP}/v2"),
            &json!({"spec": {"components": {"datasciencepipelines": {"managementState": "Managed"},
                                             "kserve": {"managementState": "Managed"}}}}),
        );
        assert_eq!(
            differences("3.0.0", &u),
            vec![format!(
                "DSC component `datasciencepipelines` is called `aipipelines` in `{DSC_GROUP}/v2`"
            )]
        );
        // The same patch on 2.22: there is no v2 yet.
        let d = differences("2.22.1", &u);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("is not served (served: datasciencecluster.opendatahub.io/v1)"));
    }

    #[test]
    fn release_3_has_no_serverless_kserve_and_no_modelmesh() {
        let d = differences("3.0.0", &stage1_uses());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("no Serverless deployment mode"), "{d:?}");
        assert!(d[0].contains("InferenceService/mistral-24b"), "{d:?}");
        let mut u = Uses::default();
        u.add_dsc_patch(
            &format!("{DSC_GROUP}/v1"),
            &json!({"spec": {"components": {"modelmeshserving": {"managementState": "Removed"}}}}),
        );
        assert_eq!(
            differences("3.0.0", &u),
            vec![format!(
                "DSC component `modelmeshserving` does not exist in `{DSC_GROUP}/v1`"
            )]
        );
        assert!(differences("2.8.0", &u)[0].contains("older than 2.22"));
    }
}
