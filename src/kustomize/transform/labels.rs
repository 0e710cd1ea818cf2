//! `commonLabels`, `labels` (pairs, includeSelectors, includeTemplates, fields) and
//! `commonAnnotations`, with kustomize's default field specs (selectors and pod templates of
//! the workload kinds). Values are always strings.

use std::collections::BTreeMap;

use serde_json::Value;

use super::config::TransformerConfig;
use crate::kustomize::fieldspec::{FieldSpec, Leaf, visit};
use crate::kustomize::kustomization::Loaded;
use crate::kustomize::resource::Resource;

/// Pod-template label field specs (kustomize `metadataLabelsFieldSpecs`).
fn template_label_specs() -> Vec<FieldSpec> {
    let t = |g: &str, v: &str, k: &str, p: &str| FieldSpec::of(g, v, k, p, true);
    vec![
        t("", "", "", "metadata/labels"),
        t(
            "",
            "v1",
            "ReplicationController",
            "spec/template/metadata/labels",
        ),
        t("", "", "Deployment", "spec/template/metadata/labels"),
        t("", "", "ReplicaSet", "spec/template/metadata/labels"),
        t("", "", "DaemonSet", "spec/template/metadata/labels"),
        t("apps", "", "StatefulSet", "spec/template/metadata/labels"),
        t(
            "apps",
            "",
            "StatefulSet",
            "spec/volumeClaimTemplates[]/metadata/labels",
        ),
        t("batch", "", "Job", "spec/template/metadata/labels"),
        t("batch", "", "CronJob", "spec/jobTemplate/metadata/labels"),
        t(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/labels",
        ),
    ]
}

/// Selector and template field specs (kustomize `commonLabelFieldSpecs`).
fn common_label_specs() -> Vec<FieldSpec> {
    let f = FieldSpec::of;
    let mut v = vec![
        f("", "v1", "Service", "spec/selector", true),
        f("", "v1", "ReplicationController", "spec/selector", true),
        f("", "", "Deployment", "spec/selector/matchLabels", true),
    ];
    let aff = [
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
    ];
    v.extend(aff.iter().map(|p| f("apps", "", "Deployment", p, false)));
    v.push(f("", "", "ReplicaSet", "spec/selector/matchLabels", true));
    v.push(f("", "", "DaemonSet", "spec/selector/matchLabels", true));
    v.push(f(
        "apps",
        "",
        "StatefulSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(f(
        "apps",
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ));
    v.extend(aff.iter().map(|p| f("apps", "", "StatefulSet", p, false)));
    v.push(f("batch", "", "Job", "spec/selector/matchLabels", false));
    v.push(f(
        "batch",
        "",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ));
    v.push(f(
        "policy",
        "",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ));
    v.push(f(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/podSelector/matchLabels",
        false,
    ));
    v.push(f(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ));
    v.push(f(
        "networking.k8s.io",
        "",
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ));
    v.extend(template_label_specs());
    v
}

/// Annotation field specs (kustomize `commonAnnotationFieldSpecs`).
fn annotation_specs() -> Vec<FieldSpec> {
    let t = |g: &str, v: &str, k: &str, p: &str| FieldSpec::of(g, v, k, p, true);
    vec![
        t("", "", "", "metadata/annotations"),
        t(
            "",
            "v1",
            "ReplicationController",
            "spec/template/metadata/annotations",
        ),
        t("", "", "Deployment", "spec/template/metadata/annotations"),
        t("", "", "ReplicaSet", "spec/template/metadata/annotations"),
        t("", "", "DaemonSet", "spec/template/metadata/annotations"),
        t("", "", "StatefulSet", "spec/template/metadata/annotations"),
        t("batch", "", "Job", "spec/template/metadata/annotations"),
        t(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/metadata/annotations",
        ),
        t(
            "batch",
            "",
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/annotations",
        ),
    ]
}

/// Adds `pairs` at every field of `specs` that selects each resource.
pub(crate) fn set_pairs(
    res: &mut [Resource],
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) {
    if pairs.is_empty() {
        return;
    }
    for r in res.iter_mut() {
        let gvk = r.gvk();
        let mut done: Vec<&str> = Vec::new();
        for fs in specs.iter().filter(|fs| fs.selects(&gvk)) {
            // The same path may be listed for several kinds; set it once.
            if done.contains(&fs.path.as_str()) {
                continue;
            }
            done.push(&fs.path);
            let _ = visit::<()>(
                &mut r.obj,
                &fs.segments(),
                fs.create,
                Leaf::Map,
                &mut |node| {
                    if !node.is_object() {
                        *node = Value::Object(Default::default());
                    }
                    if let Some(m) = node.as_object_mut() {
                        for (k, v) in pairs {
                            m.insert(k.clone(), Value::String(v.clone()));
                        }
                    }
                    Ok(())
                },
            );
        }
    }
}

/// Applies `labels` then `commonLabels` (kustomize's LabelTransformer order).
pub(crate) fn apply_labels(l: &Loaded, res: &mut [Resource], config: &TransformerConfig) {
    let common: Vec<FieldSpec> = common_label_specs()
        .into_iter()
        .chain(config.common_labels.iter().cloned())
        .collect();
    for label in &l.k.labels {
        let mut specs: Vec<FieldSpec> = label
            .fields
            .iter()
            .map(|f| FieldSpec::of(&f.group, &f.version, &f.kind, &f.path, f.create))
            .collect();
        if label.include_selectors {
            specs.extend(common.iter().cloned());
        } else {
            specs.push(FieldSpec::of("", "", "", "metadata/labels", true));
            if label.include_templates {
                specs.extend(template_label_specs());
            }
        }
        set_pairs(res, &label.pairs, &specs);
    }
    set_pairs(res, &l.k.common_labels, &common);
}

/// Applies `commonAnnotations`.
pub(crate) fn apply_annotations(l: &Loaded, res: &mut [Resource], config: &TransformerConfig) {
    let specs: Vec<FieldSpec> = annotation_specs()
        .into_iter()
        .chain(config.common_annotations.iter().cloned())
        .collect();
    set_pairs(res, &l.k.common_annotations, &specs);
}
