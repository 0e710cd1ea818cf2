//! Ownership metadata and the ApplySet (KEP-3659) layout: one parent Secret `applyset-<stage>`
//! in namespace `democtl` per stage, members labelled `applyset.kubernetes.io/part-of`, so
//! `kubectl` (and any ApplySet-aware tool) can see what democtl owns.
//!
//! See https://github.com/kubernetes/enhancements/tree/master/keps/sig-cli/3659-kubectl-apply-prune

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use kube::api::ListParams;

use super::client::Cluster;
use super::error::ClusterError;
use super::object::{ObjectKey, group_kind_dotted, label, set_label, typed_value};

/// democtl's own namespace: state ConfigMaps, ApplySet parents, the Lease.
pub const NAMESPACE: &str = "democtl";
/// Server-side apply field manager.
pub const FIELD_MANAGER: &str = "democtl";

pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "democtl";
pub const LABEL_STAGE: &str = "democtl.io/stage";
pub const LABEL_COMPONENT: &str = "democtl.io/component";

pub const LABEL_APPLYSET_ID: &str = "applyset.kubernetes.io/id";
pub const LABEL_PART_OF: &str = "applyset.kubernetes.io/part-of";
pub const ANNOTATION_TOOLING: &str = "applyset.kubernetes.io/tooling";
pub const ANNOTATION_GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const ANNOTATION_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";

/// Name of the stage's ApplySet parent Secret.
pub fn parent_name(stage: &str) -> String {
    format!("applyset-{stage}")
}

/// The ApplySet id, exactly as KEP-3659 (and kubectl) computes it:
/// `applyset-` + base64url-nopad(sha256("<name>.<namespace>.<kind>.<group>")) + `-v1`.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let unencoded = format!("{name}.{namespace}.{kind}.{group}");
    let hash = Sha256::digest(unencoded.as_bytes());
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash);
    format!("applyset-{b64}-v1")
}

/// The id of a stage's ApplySet (parent Secret in `democtl`).
pub fn stage_applyset_id(stage: &str) -> String {
    applyset_id(&parent_name(stage), NAMESPACE, "Secret", "")
}

/// Adds democtl's ownership labels to an object about to be applied.
pub fn label_object(obj: &mut Value, stage: &str, applyset: bool) {
    set_label(obj, LABEL_MANAGED_BY, MANAGED_BY);
    set_label(obj, LABEL_STAGE, stage);
    if applyset {
        set_label(obj, LABEL_PART_OF, &stage_applyset_id(stage));
    }
}

/// Removes democtl's ownership labels (for objects democtl configures but does not own).
pub fn unlabel_object(obj: &mut Value) {
    if let Some(labels) = obj
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        for k in [LABEL_MANAGED_BY, LABEL_STAGE, LABEL_PART_OF] {
            labels.remove(k);
        }
    }
}

/// Who manages an object democtl does not own, for messages: the field manager of its newest
/// `managedFields` entry other than democtl's (`kubectl-client-side-apply`, an operator), else
/// its `app.kubernetes.io/managed-by` label, else `unknown`.
pub fn manager_of(obj: &Value) -> String {
    let entries: Vec<&Value> = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m.get("manager").and_then(Value::as_str) != Some(FIELD_MANAGER))
        .collect();
    // Whoever wrote the object itself, not a controller that reports its status; the newest
    // (on a tie the earlier entry: the creator).
    let newest = |status: bool| {
        entries
            .iter()
            .filter(|m| m.get("subresource").and_then(Value::as_str).is_some() == status)
            .rev()
            .max_by_key(|m| m.get("time").and_then(Value::as_str).unwrap_or(""))
            .and_then(|m| m.get("manager").and_then(Value::as_str))
    };
    newest(false)
        .or_else(|| newest(true))
        .or_else(|| label(obj, LABEL_MANAGED_BY))
        .unwrap_or("unknown")
        .to_string()
}

/// True when democtl may delete this live object: it carries democtl's managed-by label.
pub fn is_owned(obj: &Value) -> bool {
    label(obj, LABEL_MANAGED_BY) == Some(MANAGED_BY)
}

/// The ApplySet parent Secret for `stage` covering `keys`, merged with what an existing parent
/// already lists (an ApplySet only grows between prunes).
pub fn parent_object(stage: &str, keys: &[ObjectKey], existing: Option<&Value>) -> Value {
    let mut group_kinds: BTreeSet<String> = keys
        .iter()
        .map(|k| group_kind_dotted(k.group(), &k.kind))
        .collect();
    let mut namespaces: BTreeSet<String> = keys
        .iter()
        .filter_map(|k| k.namespace.clone())
        .filter(|ns| ns != NAMESPACE)
        .collect();
    if let Some(existing) = existing {
        for (annotation, set) in [
            (ANNOTATION_GROUP_KINDS, &mut group_kinds),
            (ANNOTATION_NAMESPACES, &mut namespaces),
        ] {
            if let Some(v) = existing
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(annotation))
                .and_then(Value::as_str)
            {
                set.extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_string));
            }
        }
    }
    let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": parent_name(stage),
            "namespace": NAMESPACE,
            "labels": {
                LABEL_APPLYSET_ID: stage_applyset_id(stage),
                LABEL_MANAGED_BY: MANAGED_BY,
                LABEL_STAGE: stage,
            },
            "annotations": {
                ANNOTATION_TOOLING: format!("democtl/{}", env!("CARGO_PKG_VERSION")),
                ANNOTATION_GROUP_KINDS: join(&group_kinds),
                ANNOTATION_NAMESPACES: join(&namespaces),
            },
        },
        "type": "Opaque",
    })
}

/// democtl's namespace as an object to apply.
pub fn namespace_object() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {LABEL_MANAGED_BY: MANAGED_BY}},
    })
}

// Reading the ApplySet back from the cluster (teardown's and status's second source besides
// the state record, which an interrupted write can leave short).

/// Keys of the members of the stage's ApplySet ([`member_objects`]).
pub async fn members(cluster: &Cluster, stage: &str) -> Result<Vec<ObjectKey>, ClusterError> {
    Ok(member_objects(cluster, stage)
        .await?
        .iter()
        .filter_map(ObjectKey::from_value)
        .collect())
}

/// Members of the stage's ApplySet: for each group-kind the parent lists, objects labelled
/// `part-of` the set (in the parent's namespaces, or cluster-wide for cluster-scoped kinds).
pub async fn member_objects(cluster: &Cluster, stage: &str) -> Result<Vec<Value>, ClusterError> {
    let parent = ObjectKey::new("v1", "Secret", Some(NAMESPACE), parent_name(stage));
    let Some(r) = cluster.resolve("v1", "Secret").await? else {
        return Ok(Vec::new());
    };
    let api = cluster.api(&r.resource, Some(NAMESPACE));
    let Some(p) = cluster
        .call("get", || parent.describe(), || api.get_opt(&parent.name))
        .await?
    else {
        return Ok(Vec::new());
    };
    let p = typed_value(p, &r.resource);
    let ann = |a: &str| {
        p.pointer("/metadata/annotations")
            .and_then(|m| m.get(a))
            .and_then(Value::as_str)
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let group_kinds = ann(ANNOTATION_GROUP_KINDS);
    let mut namespaces = ann(ANNOTATION_NAMESPACES);
    namespaces.push(NAMESPACE.to_string());
    let selector = format!("{LABEL_PART_OF}={}", stage_applyset_id(stage));
    // Every group-kind resolved, then listed, at once: status reads these on each run.
    let resolved = futures::future::join_all(group_kinds.iter().map(|gk| async move {
        let (kind, group) = gk.split_once('.').unwrap_or((gk.as_str(), ""));
        resolve_group_kind(cluster, group, kind)
            .await
            .map(|r| r.map(|r| (gk.as_str(), r)))
    }))
    .await;
    // One cluster-wide list per group-kind (a namespaced kind's members across all its
    // namespaces at once); a user who may not list cluster-wide gets one list per namespace.
    let lp = ListParams::default().labels(&selector);
    let lists = futures::future::join_all(resolved.into_iter().map(|r| {
        let namespaces = &namespaces;
        let lp = &lp;
        async move {
            let Some((gk, resolved)) = r? else {
                return Ok(Vec::new());
            };
            let what = move || format!("`{gk}`");
            if !resolved.namespaced {
                return skip_missing(
                    cluster
                        .list_values(&resolved.resource, None, lp, what)
                        .await,
                );
            }
            match cluster
                .list_values(&resolved.resource, None, lp, what)
                .await
            {
                Ok(all) => Ok(all
                    .into_iter()
                    .filter(|o| {
                        o.pointer("/metadata/namespace")
                            .and_then(Value::as_str)
                            .is_some_and(|n| namespaces.iter().any(|m| m == n))
                    })
                    .collect()),
                Err(e) if e.code() == 403 => {
                    let per_ns = futures::future::join_all(namespaces.iter().map(|n| {
                        cluster.list_values(&resolved.resource, Some(n.as_str()), lp, what)
                    }))
                    .await;
                    let mut out = Vec::new();
                    for l in per_ns {
                        out.extend(skip_missing(l)?);
                    }
                    Ok(out)
                }
                Err(e) => skip_missing(Err(e)),
            }
        }
    }))
    .await;
    let mut out = Vec::new();
    for list in lists {
        out.extend(list?);
    }
    Ok(out)
}

/// A list of a kind or namespace that no longer exists is empty.
fn skip_missing(list: Result<Vec<Value>, ClusterError>) -> Result<Vec<Value>, ClusterError> {
    match list {
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        other => other,
    }
}

/// Resolves a group-kind without a version: tries the versions democtl deploys.
async fn resolve_group_kind(
    cluster: &Cluster,
    group: &str,
    kind: &str,
) -> Result<Option<super::discovery::Resolved>, ClusterError> {
    const VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1", "v1beta2", "v2", "v1alpha2"];
    for v in VERSIONS {
        let av = if group.is_empty() {
            v.to_string()
        } else {
            format!("{group}/{v}")
        };
        if let Some(r) = cluster.resolve(&av, kind).await? {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn applyset_id_matches_kubectl() {
        // kubectl: sha256("<name>.<namespace>.<kind>.<group>"), RawURLEncoding, applyset-%s-v1.
        let id = applyset_id("applyset-stage1", "democtl", "Secret", "");
        let hash = Sha256::digest(b"applyset-stage1.democtl.Secret.");
        let expected = format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
        );
        assert_eq!(id, expected);
        assert!(id.len() <= 63, "label values are at most 63 characters");
        assert!(!id.contains('=') && !id.contains('+') && !id.contains('/'));
        assert_eq!(stage_applyset_id("stage1"), id);
    }

    #[test]
    fn parent_lists_group_kinds_and_namespaces() {
        let keys = vec![
            ObjectKey::new("apps/v1", "Deployment", Some("demo"), "a"),
            ObjectKey::new("v1", "Namespace", None, "demo"),
            ObjectKey::new(
                "serving.kserve.io/v1beta1",
                "InferenceService",
                Some("demo"),
                "m",
            ),
            ObjectKey::new("v1", "ConfigMap", Some("other"), "c"),
        ];
        let p = parent_object("stage1", &keys, None);
        let ann = p.pointer("/metadata/annotations").unwrap();
        assert_eq!(
            ann[ANNOTATION_GROUP_KINDS],
            "ConfigMap,Deployment.apps,InferenceService.serving.kserve.io,Namespace"
        );
        assert_eq!(ann[ANNOTATION_NAMESPACES], "demo,other");
        let grown = parent_object(
            "stage1",
            &[ObjectKey::new("batch/v1", "Job", Some("x"), "j")],
            Some(&p),
        );
        let ann = grown.pointer("/metadata/annotations").unwrap();
        assert_eq!(
            ann[ANNOTATION_GROUP_KINDS],
            "ConfigMap,Deployment.apps,InferenceService.serving.kserve.io,Job.batch,Namespace"
        );
        assert_eq!(ann[ANNOTATION_NAMESPACES], "demo,other,x");
    }

    #[test]
    fn labels_mark_ownership() {
        let mut o =
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(!is_owned(&o));
        label_object(&mut o, "stage2", true);
        assert!(is_owned(&o));
        assert_eq!(label(&o, LABEL_STAGE), Some("stage2"));
        assert_eq!(
            label(&o, LABEL_PART_OF),
            Some(stage_applyset_id("stage2").as_str())
        );
    }
}
