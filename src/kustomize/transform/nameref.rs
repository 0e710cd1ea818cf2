//! Name references: after every rename (prefix/suffix, hash suffix, namespace), fix the
//! fields that refer to renamed objects by name — ConfigMap/Secret/ServiceAccount/PVC
//! references in pod templates, RoleBinding `roleRef` and `subjects`, Service names in
//! Ingresses, and the rest of kustomize's default `nameReference` table (a port of
//! `api/filters/nameref`). Run once, at the end of the build.

use serde_json::Value;

use super::config::TransformerConfig;
use crate::kustomize::error::RenderError;
use crate::kustomize::fieldspec::{FieldSpec, Leaf, split_path, visit};
use crate::kustomize::resource::{Gvk, Resource, invalid};

/// A kind that can be referred to, and the fields that refer to it.
struct Referral<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    fields: Vec<FieldSpec>,
}

const POD_PREFIXES: [(&str, &str, &str, &str); 8] = [
    ("", "v1", "Pod", "spec/"),
    ("", "", "PodTemplate", "template/spec/"),
    ("", "", "Deployment", "spec/template/spec/"),
    ("", "", "ReplicaSet", "spec/template/spec/"),
    ("", "", "DaemonSet", "spec/template/spec/"),
    ("", "", "StatefulSet", "spec/template/spec/"),
    ("", "", "Job", "spec/template/spec/"),
    ("", "", "CronJob", "spec/jobTemplate/spec/template/spec/"),
];

fn pod_fields(rel: &[&str]) -> Vec<FieldSpec> {
    let mut out = Vec::new();
    for (g, v, k, prefix) in POD_PREFIXES {
        for r in rel {
            out.push(FieldSpec::of(g, v, k, &format!("{prefix}{r}"), false));
        }
    }
    out
}

fn kinds_field(kinds: &[(&str, &str)], path_for: impl Fn(&str) -> String) -> Vec<FieldSpec> {
    kinds
        .iter()
        .map(|(g, k)| FieldSpec::of(g, "", k, &path_for(k), false))
        .collect()
}

fn template_path(kind: &str, rel: &str) -> String {
    match kind {
        "Pod" => format!("spec/{rel}"),
        "CronJob" => format!("spec/jobTemplate/spec/template/spec/{rel}"),
        _ => format!("spec/template/spec/{rel}"),
    }
}

const WORKLOADS: [(&str, &str); 7] = [
    ("", "Pod"),
    ("", "StatefulSet"),
    ("", "Deployment"),
    ("", "ReplicationController"),
    ("", "CronJob"),
    ("", "Job"),
    ("", "DaemonSet"),
];

fn table() -> Vec<Referral<'static>> {
    let f = FieldSpec::of;
    let rbac = "rbac.authorization.k8s.io";
    let mut cm = pod_fields(&[
        "volumes/configMap/name",
        "containers/env/valueFrom/configMapKeyRef/name",
        "initContainers/env/valueFrom/configMapKeyRef/name",
        "containers/envFrom/configMapRef/name",
        "initContainers/envFrom/configMapRef/name",
        "volumes/projected/sources/configMap/name",
    ]);
    cm.extend([
        f("", "", "Node", "spec/configSource/configMap", false),
        f("", "", "Role", "rules/resourceNames", false),
        f("", "", "ClusterRole", "rules/resourceNames", false),
        f(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
            false,
        ),
    ]);
    let mut secret = pod_fields(&[
        "volumes/secret/secretName",
        "containers/env/valueFrom/secretKeyRef/name",
        "initContainers/env/valueFrom/secretKeyRef/name",
        "containers/envFrom/secretRef/name",
        "initContainers/envFrom/secretRef/name",
        "imagePullSecrets/name",
        "volumes/projected/sources/secret/name",
    ]);
    secret.extend([
        f("", "", "Ingress", "spec/tls/secretName", false),
        f(
            "",
            "",
            "Ingress",
            "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
            false,
        ),
        f(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
            false,
        ),
        f(
            "",
            "",
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
            false,
        ),
        f("", "", "ServiceAccount", "imagePullSecrets/name", false),
        f("", "", "StorageClass", "parameters/secretName", false),
        f("", "", "StorageClass", "parameters/adminSecretName", false),
        f("", "", "StorageClass", "parameters/userSecretName", false),
        f("", "", "StorageClass", "parameters/secretRef", false),
        f("", "", "Role", "rules/resourceNames", false),
        f("", "", "ClusterRole", "rules/resourceNames", false),
        f(
            "serving.knative.dev",
            "v1",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
            false,
        ),
        f(
            "",
            "",
            "PersistentVolume",
            "spec/azureFile/secretName",
            false,
        ),
    ]);
    let service = vec![
        f("apps", "", "StatefulSet", "spec/serviceName", false),
        f(
            "",
            "",
            "Ingress",
            "spec/rules/http/paths/backend/serviceName",
            false,
        ),
        f("", "", "Ingress", "spec/backend/serviceName", false),
        f(
            "",
            "",
            "Ingress",
            "spec/rules/http/paths/backend/service/name",
            false,
        ),
        f("", "", "Ingress", "spec/defaultBackend/service/name", false),
        f(
            "apiregistration.k8s.io",
            "",
            "APIService",
            "spec/service/name",
            false,
        ),
        f(
            "admissionregistration.k8s.io",
            "",
            "ValidatingWebhookConfiguration",
            "webhooks/clientConfig/service",
            false,
        ),
        f(
            "admissionregistration.k8s.io",
            "",
            "MutatingWebhookConfiguration",
            "webhooks/clientConfig/service",
            false,
        ),
        f("", "", "HTTPRoute", "spec/rules/backendRefs/name", false),
    ];
    let mut sa = vec![
        f(rbac, "", "RoleBinding", "subjects", false),
        f(rbac, "", "ClusterRoleBinding", "subjects", false),
    ];
    sa.extend(kinds_field(&WORKLOADS, |k| {
        template_path(k, "serviceAccountName")
    }));
    let pvc = kinds_field(&WORKLOADS, |k| {
        template_path(k, "volumes/persistentVolumeClaim/claimName")
    });
    let prio = kinds_field(&WORKLOADS, |k| template_path(k, "priorityClassName"));
    let hpa = || {
        vec![f(
            "",
            "",
            "HorizontalPodAutoscaler",
            "spec/scaleTargetRef/name",
            false,
        )]
    };
    vec![
        Referral {
            group: "",
            version: "",
            kind: "Deployment",
            fields: hpa(),
        },
        Referral {
            group: "",
            version: "",
            kind: "ReplicationController",
            fields: hpa(),
        },
        Referral {
            group: "",
            version: "",
            kind: "ReplicaSet",
            fields: hpa(),
        },
        Referral {
            group: "",
            version: "",
            kind: "StatefulSet",
            fields: hpa(),
        },
        Referral {
            group: "",
            version: "v1",
            kind: "ConfigMap",
            fields: cm,
        },
        Referral {
            group: "",
            version: "v1",
            kind: "Secret",
            fields: secret,
        },
        Referral {
            group: "",
            version: "v1",
            kind: "Service",
            fields: service,
        },
        Referral {
            group: rbac,
            version: "",
            kind: "Role",
            fields: vec![f(rbac, "", "RoleBinding", "roleRef/name", false)],
        },
        Referral {
            group: rbac,
            version: "",
            kind: "ClusterRole",
            fields: vec![
                f(rbac, "", "RoleBinding", "roleRef/name", false),
                f(rbac, "", "ClusterRoleBinding", "roleRef/name", false),
            ],
        },
        Referral {
            group: "",
            version: "v1",
            kind: "ServiceAccount",
            fields: sa,
        },
        Referral {
            group: "",
            version: "v1",
            kind: "PersistentVolumeClaim",
            fields: pvc,
        },
        Referral {
            group: "",
            version: "v1",
            kind: "PersistentVolume",
            fields: vec![
                f("", "", "PersistentVolumeClaim", "spec/volumeName", false),
                f("", "", "ClusterRole", "rules/resourceNames", false),
            ],
        },
        Referral {
            group: "storage.k8s.io",
            version: "v1",
            kind: "StorageClass",
            fields: vec![
                f("", "", "PersistentVolume", "spec/storageClassName", false),
                f(
                    "",
                    "",
                    "PersistentVolumeClaim",
                    "spec/storageClassName",
                    false,
                ),
                f(
                    "",
                    "",
                    "StatefulSet",
                    "spec/volumeClaimTemplates/spec/storageClassName",
                    false,
                ),
            ],
        },
        Referral {
            group: "scheduling.k8s.io",
            version: "v1",
            kind: "PriorityClass",
            fields: prio,
        },
        Referral {
            group: "admissionregistration.k8s.io",
            version: "",
            kind: "ValidatingAdmissionPolicy",
            fields: vec![f(
                "admissionregistration.k8s.io",
                "",
                "ValidatingAdmissionPolicyBinding",
                "spec/policyName",
                false,
            )],
        },
    ]
}

/// Fixes every name reference in `res` to renamed objects.
pub(crate) fn fix(
    res: &mut [Resource],
    file: &std::path::Path,
    config: &TransformerConfig,
) -> Result<(), RenderError> {
    // Only renamed objects can be referral targets; nothing renamed, nothing to fix.
    if res.iter().all(|r| r.prev.is_empty()) {
        return Ok(());
    }
    let mut table: Vec<Referral<'_>> = table();
    // `configurations`' nameReference entries add referring fields, to a kind already in the
    // table or as a new one.
    for n in &config.name_reference {
        match table
            .iter_mut()
            .find(|r| r.group == n.group && r.version == n.version && r.kind == n.kind)
        {
            Some(r) => r.fields.extend(n.fields.iter().cloned()),
            None => table.push(Referral {
                group: &n.group,
                version: &n.version,
                kind: &n.kind,
                fields: n.fields.clone(),
            }),
        }
    }
    let index = ReferralIndex::new(res);
    for i in 0..res.len() {
        let referrer_gvk = res[i].gvk();
        let specs: Vec<(&Referral, &FieldSpec)> = table
            .iter()
            .flat_map(|r| {
                r.fields
                    .iter()
                    .filter(|fs| fs.selects(&referrer_gvk))
                    .map(move |fs| (r, fs))
            })
            .collect();
        if specs.is_empty() {
            continue;
        }
        let mut obj = res[i].obj.clone();
        for (referral, fs) in specs {
            {
                let ctx = Ctx {
                    res,
                    index: &index,
                    referrer: &res[i],
                    referral,
                    role_ref: fs.path.ends_with("roleRef/name"),
                };
                let role_ref_gvk = role_ref(&res[i].obj);
                visit::<String>(
                    &mut obj,
                    &split_path(&fs.path),
                    false,
                    Leaf::Scalar,
                    &mut |node| ctx.set(node, role_ref_gvk.as_ref()),
                )
                .map_err(|reason| invalid(file, "nameReference", reason))?;
            }
        }
        res[i].obj = obj;
    }
    Ok(())
}

fn role_ref(obj: &Value) -> Option<Gvk> {
    let rr = obj.get("roleRef")?;
    Some(Gvk {
        group: rr.get("apiGroup")?.as_str()?.to_string(),
        version: String::new(),
        kind: rr.get("kind")?.as_str()?.to_string(),
    })
}

/// What a reference can resolve to, indexed once per build so that fixing N references among
/// N objects stays linear: objects by every name they had before a rename (only renamed
/// objects are referral targets), and the effective namespaces objects started in.
struct ReferralIndex {
    by_previous_name: std::collections::HashMap<String, Vec<usize>>,
    original_namespaces: std::collections::HashSet<String>,
}

impl ReferralIndex {
    fn new(res: &[Resource]) -> Self {
        let mut by_previous_name: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        for (i, r) in res.iter().enumerate() {
            let mut names: Vec<&str> = r.prev.iter().map(|id| id.name.as_str()).collect();
            names.dedup();
            for n in names {
                let list = by_previous_name.entry(n.to_string()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        let original_namespaces = res
            .iter()
            .map(|r| r.org_id().effective_namespace().to_string())
            .collect();
        Self {
            by_previous_name,
            original_namespaces,
        }
    }

    /// The objects once named `old`, in build order.
    fn once_named<'r>(&self, res: &'r [Resource], old: &str) -> Vec<&'r Resource> {
        self.by_previous_name
            .get(old)
            .map(|ids| ids.iter().map(|&i| &res[i]).collect())
            .unwrap_or_default()
    }
}

struct Ctx<'a> {
    res: &'a [Resource],
    index: &'a ReferralIndex,
    referrer: &'a Resource,
    referral: &'a Referral<'a>,
    role_ref: bool,
}

impl Ctx<'_> {
    fn set(&self, node: &mut Value, role_ref: Option<&Gvk>) -> Result<(), String> {
        match node {
            Value::String(old) => {
                let cands = self.index.once_named(self.res, old);
                if let Some(r) = self.select(old, cands, role_ref, false)? {
                    *old = r.name().to_string();
                }
                Ok(())
            }
            Value::Object(m) => {
                let Some(old) = m.get("name").and_then(Value::as_str).map(str::to_string) else {
                    return Ok(());
                };
                let named = self.index.once_named(self.res, &old);
                let cands: Vec<&Resource> = match m.get("namespace").and_then(Value::as_str) {
                    None => named,
                    // Grouped by effective namespace (an unset namespace counts as `default`):
                    // by the namespace objects started in when any started there, else by
                    // the current one.
                    Some(ns) if self.index.original_namespaces.contains(ns) => named
                        .into_iter()
                        .filter(|r| r.org_id().effective_namespace() == ns)
                        .collect(),
                    Some(ns) => named
                        .into_iter()
                        .filter(|r| r.cur_id().effective_namespace() == ns)
                        .collect(),
                };
                if let Some(r) = self.select(&old, cands, role_ref, true)? {
                    if r.name() == old && r.namespace().is_empty() {
                        return Ok(());
                    }
                    m.insert("name".into(), Value::String(r.name().into()));
                    if !r.namespace().is_empty() {
                        m.insert("namespace".into(), Value::String(r.namespace().into()));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// kustomize's `selectReferral`.
    fn select<'r>(
        &self,
        old: &str,
        cands: Vec<&'r Resource>,
        role_ref: Option<&Gvk>,
        with_ns: bool,
    ) -> Result<Option<&'r Resource>, String> {
        let rf = self.referral;
        let referrer_cur = self.referrer.cur_id();
        let cands: Vec<&Resource> = cands
            .into_iter()
            .filter(|r| {
                r.prev
                    .iter()
                    .any(|id| id.gvk.is_selected_by(rf.group, rf.version, rf.kind))
            })
            .filter(|r| {
                !self.role_ref
                    || role_ref.is_none_or(|g| {
                        r.prev
                            .iter()
                            .any(|id| id.gvk.is_selected_by(&g.group, "", &g.kind))
                    })
            })
            .filter(|r| {
                referrer_cur.gvk.is_cluster_scoped()
                    || r.gvk().is_cluster_scoped()
                    || r.kind() == "ServiceAccount"
                    || referrer_cur.effective_namespace() == r.cur_id().effective_namespace()
            })
            .collect();
        match cands.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            [first, rest @ ..] => {
                let same = rest.iter().all(|r| {
                    r.name() == first.name() && (!with_ns || r.namespace() == first.namespace())
                });
                if same {
                    Ok(Some(*first))
                } else {
                    Err(format!(
                        "found multiple possible referrals for `{old}` in `{referrer_cur}`"
                    ))
                }
            }
        }
    }
}
