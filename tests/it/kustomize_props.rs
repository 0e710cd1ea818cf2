//! Property tests for the renderer and the patch engine: arbitrary kustomizations, resources
//! and patches never panic, and every failure is a clear one-line error (naming its subject in
//! backticks) with a hint.
#![allow(clippy::unwrap_used)]

use democtl::kustomize;
use democtl::merge::{self, Flavor, TypeInfo};
use proptest::prelude::*;
use serde_json::{Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(Value::from),
        "[a-z$]{0,6}".prop_map(Value::String),
        Just(json!("delete")),
        Just(json!("replace")),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("name".to_string()),
                        Just("$patch".to_string()),
                        Just("containers".to_string()),
                        Just("env".to_string()),
                        Just("$retainKeys".to_string()),
                        Just("$setElementOrder/containers".to_string()),
                        Just("$deleteFromPrimitiveList/finalizers".to_string()),
                        "[a-z]{1,4}",
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn pod_like(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": spec}}})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn strategic_merge_never_panics(t in json_value(), p in json_value(), kustomize_flavor in any::<bool>()) {
        let target = pod_like(t);
        let patch = json!({"spec": {"template": {"spec": p}}});
        let flavor = if kustomize_flavor { Flavor::Kustomize } else { Flavor::ApiServer };
        let ty = TypeInfo { api_version: "apps/v1", kind: "Deployment" };
        if let Err(e) = merge::strategic::patch_with(&target, &patch, &ty, flavor) {
            let msg = e.to_string();
            prop_assert!(!msg.is_empty() && !msg.contains('\n'));
        }
    }

    #[test]
    fn json_patches_never_panic(t in json_value(), ops in prop::collection::vec((
        prop_oneof![Just("add"), Just("remove"), Just("replace"), Just("move"), Just("copy"), Just("test"), Just("bogus")],
        "(/[a-z0-9-]{0,3}){0,3}",
        json_value(),
    ), 0..4)) {
        let ops: Vec<Value> = ops.into_iter().map(|(op, path, value)| json!({"op": op, "path": path, "from": "/a", "value": value})).collect();
        let _ = merge::json_patch(&t, &Value::Array(ops));
        let _ = merge::json_merge(&t, &t);
    }
}

/// Fragments of kustomization files, valid and invalid.
fn kustomization_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("resources:\n- r.yaml\n".to_string()),
        Just("resources:\n- missing.yaml\n".to_string()),
        Just("resources:\n- ../outside.yaml\n".to_string()),
        Just("resources: 7\n".to_string()),
        Just("namespace: ns\n".to_string()),
        Just("namespace: [x]\n".to_string()),
        Just("namePrefix: p-\n".to_string()),
        Just("commonLabels:\n  a: b\n".to_string()),
        Just("commonLabels: [1]\n".to_string()),
        Just("labels:\n- pairs: {x: y}\n  includeSelectors: true\n".to_string()),
        Just("images:\n- name: nginx\n  newTag: \"2\"\n".to_string()),
        Just("replicas:\n- name: web\n  count: 2\n".to_string()),
        Just("configMapGenerator:\n- name: c\n  literals: [a=1]\n".to_string()),
        Just("configMapGenerator:\n- name: c\n  behavior: merge\n  literals: [a=1]\n".to_string()),
        Just("secretGenerator:\n- name: s\n  literals: [bad]\n".to_string()),
        Just("patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: web}\n    spec: {replicas: 3}\n".to_string()),
        Just("patches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: remove\n      path: /spec/nothing\n".to_string()),
        Just("patches:\n- patch: \"\"\n".to_string()),
        Just("replacements:\n- source: {kind: Deployment}\n  targets:\n  - select: {kind: Service}\n    fieldPaths: [spec.selector.app]\n".to_string()),
        Just("helmCharts: []\n".to_string()),
        Just("vars: []\n".to_string()),
        Just("components:\n- nowhere\n".to_string()),
        Just("bogusField: 1\n".to_string()),
        "[a-zA-Z]{1,8}: [a-z{}\\[\\]:]{0,8}\n",
    ]
}

fn resource_doc() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: nginx\n".to_string()),
        Just("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n".to_string()),
        Just("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n".to_string()),
        Just("kind: NoName\n".to_string()),
        Just("- a\n- b\n".to_string()),
        Just("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n".to_string()),
        "[a-z: \\n{}\\[\\]-]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn renderer_never_panics_and_errors_are_clear(
        lines in prop::collection::vec(kustomization_line(), 0..6),
        docs in prop::collection::vec(resource_doc(), 0..4),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("k");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("kustomization.yaml"), lines.concat()).unwrap();
        std::fs::write(dir.join("r.yaml"), docs.join("---\n")).unwrap();
        std::fs::write(tmp.path().join("outside.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\n").unwrap();
        match kustomize::build(&dir) {
            Ok(objs) => {
                prop_assert!(kustomize::to_yaml(&objs).is_ok());
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(!msg.is_empty(), "empty message");
                prop_assert!(msg.contains('`'), "message names nothing: {msg}");
                prop_assert!(msg.chars().next().is_some_and(|c| !c.is_uppercase()), "not a lowercase fragment: {msg}");
                prop_assert!(e.hint().is_some(), "no hint for: {msg}");
                if let Some(src) = std::error::Error::source(&e) {
                    let cause = src.to_string();
                    prop_assert!(cause.is_empty() || !msg.contains(&cause), "message repeats its cause: {msg}");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever the strings (quoting styles, escapes, wrapping of long values), the text that
    /// `render` prints reads back as the same objects.
    #[test]
    fn rendered_text_reads_back_as_the_same_objects(
        key in "[a-z*#:' -]{1,12}",
        values in prop::collection::vec(r#"[a-z0-9 :#'"*\-\t\[\]{},.!&|>%@`~é😀]{0,120}"#, 1..4),
    ) {
        let obj = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {key.clone(): values[0].clone()}},
            "data": {"list": values.clone()},
        });
        let text = kustomize::to_yaml(std::slice::from_ref(&obj)).unwrap();
        let opts = serde_saphyr::options! { legacy_octal_numbers: true, strict_booleans: true };
        let back: Vec<Value> = serde_saphyr::from_str_multiple_with_options(&text, opts)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back[0], &obj, "{}", text);
    }
}
