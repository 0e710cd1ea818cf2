//! The kinds the simulated server serves: a table of built-in Kubernetes kinds (names, verbs,
//! scope, short names, subresources as kube-apiserver 1.33 reports them) plus kinds derived from
//! CustomResourceDefinitions. Pure data; never touches objects or HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// The verbs of an ordinary read-write resource.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One served resource (a group/version/plural).
#[derive(Clone, Debug, PartialEq)]
pub struct KindInfo {
    /// API group (`""` for core).
    pub group: String,
    /// Version (`v1`).
    pub version: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Plural resource name (`deployments`).
    pub plural: String,
    /// Singular name (`deployment`).
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Verbs.
    pub verbs: Vec<String>,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Has a `status` subresource (writes to the main resource ignore `.status`).
    pub status: bool,
    /// Has a `scale` subresource: (specReplicasPath, statusReplicasPath, labelSelectorPath).
    pub scale: Option<(String, String, Option<String>)>,
    /// Has the `log` subresource (pods).
    pub log: bool,
    /// Defined by a CRD.
    pub custom: bool,
    /// Paths (dot-separated, from the root) of lists that are maps keyed by the given fields,
    /// from a CRD's `x-kubernetes-list-type: map` (used by server-side apply).
    pub list_keys: BTreeMap<String, Vec<String>>,
    /// CRD `additionalPrinterColumns` of the served version, for `kubectl get` tables.
    pub printer_columns: Vec<PrinterColumn>,
}

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    /// `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

impl PrinterColumn {
    fn of(c: &Value) -> Option<PrinterColumn> {
        let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Some(PrinterColumn {
            name: c.get("name")?.as_str()?.to_string(),
            type_: text("type"),
            format: text("format"),
            description: text("description"),
            priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            json_path: c.get("jsonPath")?.as_str()?.to_string(),
        })
    }
}

impl KindInfo {
    /// `group/version` or `v1` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `verb` is allowed.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Whether objects of this kind carry `metadata.generation`.
    pub fn has_generation(&self) -> bool {
        self.custom
            || matches!(
                self.plural.as_str(),
                "deployments"
                    | "statefulsets"
                    | "replicasets"
                    | "daemonsets"
                    | "jobs"
                    | "cronjobs"
                    | "poddisruptionbudgets"
                    | "networkpolicies"
                    | "ingresses"
                    | "customresourcedefinitions"
            )
    }
}

struct Row {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
    scale: bool,
    verbs: &'static [&'static str],
}

const CREATE_ONLY: &[&str] = &["create"];
const NS_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

macro_rules! row {
    ($g:expr, $v:expr, $k:expr, $p:expr, $ns:expr, $short:expr, $status:expr, $scale:expr) => {
        Row {
            group: $g,
            version: $v,
            kind: $k,
            plural: $p,
            namespaced: $ns,
            short: $short,
            status: $status,
            scale: $scale,
            verbs: ALL_VERBS,
        }
    };
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            verbs: NS_VERBS,
            ..row!(
                "",
                "v1",
                "Namespace",
                "namespaces",
                false,
                &["ns"],
                true,
                false
            )
        },
        row!("", "v1", "Node", "nodes", false, &["no"], true, false),
        row!("", "v1", "Pod", "pods", true, &["po"], true, false),
        Row {
            verbs: ALL_VERBS,
            ..row!("", "v1", "Service", "services", true, &["svc"], true, false)
        },
        row!(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            &["cm"],
            false,
            false
        ),
        row!("", "v1", "Secret", "secrets", true, &[], false, false),
        row!(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["sa"],
            false,
            false
        ),
        row!(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            &["pvc"],
            true,
            false
        ),
        row!(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            false,
            &["pv"],
            true,
            false
        ),
        row!(
            "",
            "v1",
            "Endpoints",
            "endpoints",
            true,
            &["ep"],
            false,
            false
        ),
        row!("", "v1", "Event", "events", true, &["ev"], false, false),
        row!(
            "",
            "v1",
            "LimitRange",
            "limitranges",
            true,
            &["limits"],
            false,
            false
        ),
        row!(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            true,
            &["quota"],
            true,
            false
        ),
        row!(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            true,
            &["deploy"],
            true,
            true
        ),
        row!(
            "apps",
            "v1",
            "StatefulSet",
            "statefulsets",
            true,
            &["sts"],
            true,
            true
        ),
        row!(
            "apps",
            "v1",
            "ReplicaSet",
            "replicasets",
            true,
            &["rs"],
            true,
            true
        ),
        row!(
            "apps",
            "v1",
            "DaemonSet",
            "daemonsets",
            true,
            &["ds"],
            true,
            false
        ),
        row!("batch", "v1", "Job", "jobs", true, &[], true, false),
        row!(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            true,
            &["cj"],
            true,
            false
        ),
        row!(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
            false,
            false
        ),
        row!(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            &[],
            false,
            false
        ),
        row!(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
            false,
            false
        ),
        row!(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            &[],
            false,
            false
        ),
        row!(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
            &["netpol"],
            false,
            false
        ),
        row!(
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            true,
            &["ing"],
            true,
            false
        ),
        row!(
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            false,
            &["sc"],
            false,
            false
        ),
        row!(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            &[],
            false,
            false
        ),
        row!(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
            &["pdb"],
            true,
            false
        ),
        row!(
            "scheduling.k8s.io",
            "v1",
            "PriorityClass",
            "priorityclasses",
            false,
            &["pc"],
            false,
            false
        ),
        row!(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
            true,
            false
        ),
        Row {
            verbs: CREATE_ONLY,
            ..row!(
                "authorization.k8s.io",
                "v1",
                "SelfSubjectAccessReview",
                "selfsubjectaccessreviews",
                false,
                &[],
                false,
                false
            )
        },
        Row {
            verbs: CREATE_ONLY,
            ..row!(
                "authorization.k8s.io",
                "v1",
                "SelfSubjectRulesReview",
                "selfsubjectrulesreviews",
                false,
                &[],
                false,
                false
            )
        },
        Row {
            verbs: CREATE_ONLY,
            ..row!(
                "authentication.k8s.io",
                "v1",
                "SelfSubjectReview",
                "selfsubjectreviews",
                false,
                &[],
                false,
                false
            )
        },
    ]
}

/// The kinds `kubectl get all` includes.
const CATEGORY_ALL: &[&str] = &[
    "pods",
    "services",
    "deployments",
    "statefulsets",
    "replicasets",
    "daemonsets",
    "jobs",
    "cronjobs",
];

/// The built-in kind `group`/`plural` (tests).
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn builtin(group: &str, plural: &str) -> KindInfo {
    builtins()
        .into_iter()
        .find(|k| k.group == group && k.plural == plural)
        .unwrap()
}

/// The built-in kinds.
pub fn builtins() -> Vec<KindInfo> {
    rows()
        .into_iter()
        .map(|r| KindInfo {
            group: r.group.into(),
            version: r.version.into(),
            kind: r.kind.into(),
            plural: r.plural.into(),
            singular: r.kind.to_lowercase(),
            namespaced: r.namespaced,
            verbs: r.verbs.iter().map(|s| s.to_string()).collect(),
            short_names: r.short.iter().map(|s| s.to_string()).collect(),
            categories: if CATEGORY_ALL.contains(&r.plural) {
                vec!["all".into()]
            } else {
                vec![]
            },
            status: r.status,
            scale: r.scale.then(|| {
                (
                    ".spec.replicas".to_string(),
                    ".status.replicas".to_string(),
                    // Built-in Scales render the workload's own label selector.
                    Some(".spec.selector".to_string()),
                )
            }),
            log: r.plural == "pods",
            custom: false,
            list_keys: BTreeMap::new(),
            printer_columns: vec![],
        })
        .collect()
}

/// The kinds a CRD object defines (one per served version), or `None` when it is malformed.
pub fn kinds_from_crd(crd: &Value) -> Option<Vec<KindInfo>> {
    let spec = crd.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let names = spec.get("names")?;
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let singular = names
        .get("singular")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let strs = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let short_names = strs(names.get("shortNames"));
    let categories = strs(names.get("categories"));
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let mut out = vec![];
    for v in spec.get("versions")?.as_array()? {
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let version = v.get("name")?.as_str()?.to_string();
        let sub = v.get("subresources");
        let status = sub.and_then(|s| s.get("status")).is_some();
        let scale = sub.and_then(|s| s.get("scale")).map(|sc| {
            let p = |k: &str| sc.get(k).and_then(Value::as_str).map(str::to_string);
            (
                p("specReplicasPath").unwrap_or_else(|| ".spec.replicas".into()),
                p("statusReplicasPath").unwrap_or_else(|| ".status.replicas".into()),
                p("labelSelectorPath"),
            )
        });
        let mut list_keys = BTreeMap::new();
        if let Some(schema) = v.pointer("/schema/openAPIV3Schema") {
            collect_list_keys(schema, "", &mut list_keys);
        }
        let printer_columns = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| cols.iter().filter_map(PrinterColumn::of).collect())
            .unwrap_or_default();
        out.push(KindInfo {
            group: group.clone(),
            version,
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            verbs: ALL_VERBS.iter().map(|s| s.to_string()).collect(),
            short_names: short_names.clone(),
            categories: categories.clone(),
            status,
            scale,
            log: false,
            custom: true,
            list_keys,
            printer_columns,
        });
    }
    Some(out)
}

/// Records `x-kubernetes-list-type: map` lists of a CRD schema as dot paths.
fn collect_list_keys(schema: &Value, path: &str, out: &mut BTreeMap<String, Vec<String>>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, sub) in props {
            collect_list_keys(sub, &format!("{path}.{k}"), out);
        }
    }
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map")
        && let Some(keys) = schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
    {
        let keys: Vec<String> = keys
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        out.insert(path.to_string(), keys);
    }
    if let Some(items) = schema.get("items") {
        collect_list_keys(items, &format!("{path}[]"), out);
    }
}

/// Orders versions the way kube-apiserver does (GA > beta > alpha, then by number, then by name).
pub fn version_priority(v: &str) -> (u8, u32, u32, String) {
    let parse = |s: &str| -> Option<(u8, u32, u32)> {
        let rest = s.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u32 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((3, major, 0));
        }
        for (name, rank) in [("beta", 2u8), ("alpha", 1u8)] {
            if let Some(n) = tail.strip_prefix(name) {
                let minor: u32 = n.parse().ok()?;
                return Some((rank, major, minor));
            }
        }
        None
    };
    match parse(v) {
        Some((rank, major, minor)) => (rank, major, minor, String::new()),
        None => (0, 0, 0, v.to_string()),
    }
}

/// All served kinds: built-ins plus CRD-derived ones.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    /// (group, version, plural) → kind.
    by_gvr: BTreeMap<(String, String, String), Arc<KindInfo>>,
    /// CRD name → (group, plural) it registered.
    crds: BTreeMap<String, (String, String)>,
}

impl Registry {
    /// A registry with the built-in kinds.
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        for k in builtins() {
            r.insert(k);
        }
        r
    }

    fn insert(&mut self, k: KindInfo) {
        self.by_gvr.insert(
            (k.group.clone(), k.version.clone(), k.plural.clone()),
            Arc::new(k),
        );
    }

    /// Looks up a served resource.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<KindInfo>> {
        self.by_gvr
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Any served version of group/plural (storage is version-agnostic).
    pub fn any_version(&self, group: &str, plural: &str) -> Option<Arc<KindInfo>> {
        self.by_gvr
            .values()
            .find(|k| k.group == group && k.plural == plural)
            .cloned()
    }

    /// Looks up by group + kind (any version).
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<Arc<KindInfo>> {
        self.by_gvr
            .values()
            .find(|k| k.group == group && k.kind == kind)
            .cloned()
    }

    /// Every served kind.
    pub fn all(&self) -> impl Iterator<Item = &Arc<KindInfo>> {
        self.by_gvr.values()
    }

    /// Groups with their versions, preferred version first.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (g, v, _) in self.by_gvr.keys() {
            let vs = out.entry(g.clone()).or_default();
            if !vs.contains(v) {
                vs.push(v.clone());
            }
        }
        for vs in out.values_mut() {
            vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    /// Serves the kinds of an established CRD (replacing what it served before).
    pub fn serve_crd(&mut self, name: &str, crd: &Value) {
        self.unserve_crd(name);
        if let Some(kinds) = kinds_from_crd(crd) {
            if let Some(k) = kinds.first() {
                self.crds
                    .insert(name.to_string(), (k.group.clone(), k.plural.clone()));
            }
            for k in kinds {
                self.insert(k);
            }
        }
    }

    /// Stops serving a CRD's kinds; returns the (group, plural) it served.
    pub fn unserve_crd(&mut self, name: &str) -> Option<(String, String)> {
        let (g, p) = self.crds.remove(name)?;
        self.by_gvr
            .retain(|(kg, _, kp), k| !(k.custom && *kg == g && *kp == p));
        Some((g, p))
    }

    /// Whether a group/version is served by a compiled-in API group (a go-restful web service
    /// in kube-apiserver, which answers unknown paths under it with a JSON Status 404). The core
    /// group always is: `/api` is one web service.
    pub fn is_builtin_group_version(&self, group: &str, version: &str) -> bool {
        group.is_empty()
            || self
                .by_gvr
                .iter()
                .any(|((g, v, _), k)| g == group && v == version && !k.custom)
    }

    /// The 404 for a resource path of a group/version that serves no such resource: a JSON
    /// Status under a built-in group/version, else (a CRD group, or a group nobody serves) Go's
    /// plain-text `404 page not found`, as apiextensions-apiserver delegates such paths.
    pub fn unserved(&self, group: &str, version: &str) -> crate::sim::error::ApiError {
        if self.is_builtin_group_version(group, version) {
            crate::sim::error::ApiError::no_route()
        } else {
            crate::sim::error::ApiError::page_not_found()
        }
    }

    /// Whether a CRD is currently served.
    pub fn is_crd_served(&self, name: &str) -> bool {
        self.crds.contains_key(name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_sort_like_kube() {
        let mut v = vec!["v1alpha1", "v1", "v2beta1", "v1beta2", "foo"];
        v.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(v, vec!["v1", "v2beta1", "v1beta2", "v1alpha1", "foo"]);
    }

    #[test]
    fn crd_kinds_carry_subresources_and_list_keys() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"properties": {"status": {"properties": {"conditions": {
                    "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}}}}}}},
              {"name": "v1beta1", "served": false}]}});
        let kinds = kinds_from_crd(&crd).unwrap();
        assert_eq!(kinds.len(), 1);
        assert!(kinds[0].status);
        assert_eq!(kinds[0].short_names, vec!["wd"]);
        assert_eq!(
            kinds[0].list_keys.get(".status.conditions"),
            Some(&vec!["type".to_string()])
        );
        let mut r = Registry::with_builtins();
        r.serve_crd("widgets.example.com", &crd);
        assert!(r.get("example.com", "v1", "widgets").is_some());
        r.unserve_crd("widgets.example.com");
        assert!(r.get("example.com", "v1", "widgets").is_none());
        assert!(r.get("apps", "v1", "deployments").is_some());
    }
}
