//! The hand-written validation kube-apiserver applies to built-in kinds (and CRD objects) beyond
//! their schemas, for what matters to the demo: object names (DNS-1123 subdomain/label,
//! DNS-1035 for Services), label keys and values, ConfigMap keys, required fields, pod specs
//! (volumes, mounts, containers), selector/template agreement, immutable fields and the
//! restricted pod update. Messages and causes are kube-apiserver's.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::sim::error::{ApiError, Cause};
use crate::sim::resources::KindInfo;

static SUBDOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").ok()
});
static LABEL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").ok());
static DNS1035: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z]([-a-z0-9]*[a-z0-9])?$").ok());
static QUALIFIED_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").ok());
static LABEL_VALUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$").ok());
static CONFIG_KEY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[-._a-zA-Z0-9]+$").ok());

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

fn cause(reason: &str, field: &str, message: String) -> Cause {
    Cause {
        reason: reason.into(),
        message,
        field: field.into(),
    }
}

/// Checks the name of an object about to be created.
pub fn name_causes(kind: &KindInfo, name: &str) -> Vec<Cause> {
    if name.is_empty() {
        return vec![cause(
            "FieldValueRequired",
            "metadata.name",
            "Required value: name or generateName is required".into(),
        )];
    }
    let is_match = |re: &LazyLock<Option<Regex>>| re.as_ref().is_some_and(|r| r.is_match(name));
    if kind.plural == "namespaces" {
        if name.len() > 63 || !is_match(&LABEL) {
            return vec![cause(
                "FieldValueInvalid",
                "metadata.name",
                format!(
                    "Invalid value: {name:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                ),
            )];
        }
    } else if kind.custom || kind.group == "rbac.authorization.k8s.io" {
        for bad in ["/", "%"] {
            if name.contains(bad) {
                return vec![cause(
                    "FieldValueInvalid",
                    "metadata.name",
                    format!("Invalid value: {name:?}: may not contain '{bad}'"),
                )];
            }
        }
        if name == "." || name == ".." {
            return vec![cause(
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: {name:?}: may not be '{name}'"),
            )];
        }
    } else if kind.group.is_empty() && kind.plural == "services" {
        if name.len() > 63 || !is_match(&DNS1035) {
            return vec![cause(
                "FieldValueInvalid",
                "metadata.name",
                format!(
                    "Invalid value: {name:?}: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                ),
            )];
        }
    } else if name.len() > 253 {
        return vec![cause(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: {name:?}: must be no more than 253 characters"),
        )];
    } else if !is_match(&SUBDOMAIN) {
        return vec![cause(
            "FieldValueInvalid",
            "metadata.name",
            format!(
                "Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ),
        )];
    }
    vec![]
}

/// Decode-level checks the schema cannot express: Secret `data` is base64 (400, as the Go
/// decoder of `[]byte` fields answers).
pub fn decode(kind: &KindInfo, obj: &Value) -> Result<(), ApiError> {
    if kind.group.is_empty()
        && kind.plural == "secrets"
        && let Some(m) = obj.pointer("/data").and_then(Value::as_object)
    {
        use base64::Engine;
        for v in m.values().filter_map(Value::as_str) {
            if base64::engine::general_purpose::STANDARD.decode(v).is_err() {
                return Err(ApiError::bad_request(format!(
                    "Secret in version {:?} cannot be handled as a Secret: illegal base64 data",
                    kind.version
                )));
            }
        }
    }
    Ok(())
}

fn missing(obj: &Value, pointer: &str) -> bool {
    match obj.pointer(pointer) {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// The pod spec of a kind's objects (a pod's own, a workload's template), as a JSON pointer and
/// the field path kube reports.
fn pod_spec_at(kind: &KindInfo) -> Option<(&'static str, &'static str)> {
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "pods") => Some(("/spec", "spec")),
        ("", "replicationcontrollers")
        | ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
        | ("batch", "jobs") => Some(("/spec/template/spec", "spec.template.spec")),
        ("batch", "cronjobs") => Some((
            "/spec/jobTemplate/spec/template/spec",
            "spec.jobTemplate.spec.template.spec",
        )),
        _ => None,
    }
}

/// Fields that may not change after creation and the restricted pod update (422 causes), like
/// the `ValidateUpdate` of kube-apiserver's strategies. Values in messages are JSON where kube
/// prints Go structs.
pub fn update_causes(kind: &KindInfo, old: &Value, new: &Value) -> Vec<Cause> {
    let immutable = |pointer: &str, field: &str| -> Option<Cause> {
        let (a, b) = (old.pointer(pointer), new.pointer(pointer));
        (a != b).then(|| {
            cause(
                "FieldValueInvalid",
                field,
                format!(
                    "Invalid value: {}: field is immutable",
                    b.map_or("null".into(), super::structural::show)
                ),
            )
        })
    };
    let mut out = vec![];
    match (kind.group.as_str(), kind.plural.as_str()) {
        ("batch", "jobs") => {
            out.extend(immutable("/spec/selector", "spec.selector"));
            // kube prints the internal Go struct of the (defaulted) template.
            if old.pointer("/spec/template") != new.pointer("/spec/template") {
                let t = new
                    .pointer("/spec/template")
                    .cloned()
                    .unwrap_or(Value::Null);
                out.push(cause(
                    "FieldValueInvalid",
                    "spec.template",
                    format!(
                        "Invalid value: {}: field is immutable",
                        super::gostruct::pod_template(&t)
                    ),
                ));
            }
            out.extend(immutable("/spec/completions", "spec.completions"));
            out.extend(immutable("/spec/completionMode", "spec.completionMode"));
        }
        ("apps", "deployments" | "replicasets" | "daemonsets" | "statefulsets") => {
            out.extend(immutable("/spec/selector", "spec.selector"));
        }
        ("", "services") => {
            let ip = |o: &Value| {
                o.pointer("/spec/clusterIP")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let (before, after) = (ip(old), ip(new));
            // An omitted clusterIP keeps the allocated one (kube-apiserver patches it back).
            if !before.is_empty() && !after.is_empty() && before != after {
                out.push(cause(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    format!("Invalid value: [{after:?}]: may not change once set"),
                ));
            }
        }
        ("", "persistentvolumeclaims") => {
            let mut a = old.get("spec").cloned().unwrap_or(Value::Null);
            let mut b = new.get("spec").cloned().unwrap_or(Value::Null);
            for s in [&mut a, &mut b] {
                if let Some(m) = s.as_object_mut() {
                    m.remove("volumeAttributesClassName");
                    if let Some(r) = m.get_mut("resources").and_then(Value::as_object_mut) {
                        r.remove("requests");
                    }
                }
            }
            // The retroactive default StorageClass (the PV controller sets
            // storageClassName on a claim created without one) is allowed.
            if old
                .pointer("/spec/storageClassName")
                .is_none_or(Value::is_null)
            {
                for s in [&mut a, &mut b] {
                    if let Some(m) = s.as_object_mut() {
                        m.remove("storageClassName");
                    }
                }
            }
            for s in [&mut a, &mut b] {
                if let Some(m) = s.as_object_mut()
                    && m.get("resources")
                        .is_some_and(|r| r.as_object().is_some_and(|r| r.is_empty()))
                {
                    m.remove("resources");
                }
            }
            // Binding (setting volumeName on an unbound claim) is allowed.
            if old
                .pointer("/spec/volumeName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
                && let Some(m) = b.as_object_mut()
            {
                m.remove("volumeName");
                if let Some(m) = a.as_object_mut() {
                    m.remove("volumeName");
                }
            }
            if a != b {
                out.push(cause(
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims".into(),
                ));
            }
        }
        ("", "pods") => out.extend(pod_update_cause(old, new)),
        _ => {}
    }
    out
}

/// kube-apiserver's restricted pod update: only images, activeDeadlineSeconds, added
/// tolerations, terminationGracePeriodSeconds and removed scheduling gates may change
/// (`spec.nodeName` is set through `pods/binding`).
fn pod_update_cause(old: &Value, new: &Value) -> Option<Cause> {
    let (Some(a), Some(b)) = (old.get("spec"), new.get("spec")) else {
        return None;
    };
    let mut a = a.clone();
    let mut b = b.clone();
    for list in ["containers", "initContainers"] {
        if let (Some(xs), Some(ys)) = (
            a.get_mut(list).and_then(Value::as_array_mut),
            b.get(list).and_then(Value::as_array),
        ) && xs.len() == ys.len()
        {
            for (x, y) in xs.iter_mut().zip(ys) {
                x["image"] = y.get("image").cloned().unwrap_or(Value::Null);
            }
        }
    }
    let tolerations_added = {
        let before = a
            .get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let after = b
            .get("tolerations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        before.iter().all(|t| after.contains(t))
    };
    let gates_removed = {
        let before = a
            .get("schedulingGates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let after = b
            .get("schedulingGates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        after.iter().all(|g| before.contains(g))
    };
    for free in ["activeDeadlineSeconds", "terminationGracePeriodSeconds"] {
        a[free] = b.get(free).cloned().unwrap_or(Value::Null);
    }
    if tolerations_added {
        a["tolerations"] = b.get("tolerations").cloned().unwrap_or(Value::Null);
    }
    if gates_removed {
        a["schedulingGates"] = b.get("schedulingGates").cloned().unwrap_or(Value::Null);
    }
    let strip_nulls = |v: &mut Value| {
        if let Some(m) = v.as_object_mut() {
            m.retain(|_, x| !x.is_null());
        }
    };
    strip_nulls(&mut a);
    strip_nulls(&mut b);
    (a != b).then(|| {
        cause(
            "FieldValueForbidden",
            "spec",
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)".into(),
        )
    })
}

/// Label keys and values, annotation keys (422 causes at `metadata.labels`/`annotations`).
fn meta_causes(obj: &Value) -> Vec<Cause> {
    let mut out = vec![];
    let key_cause = |field: &str, key: &str| -> Option<Cause> {
        let (prefix, name) = match key.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, key),
        };
        if let Some(p) = prefix
            && (p.len() > 253 || !matches(&SUBDOMAIN, p))
        {
            return Some(cause(
                "FieldValueInvalid",
                field,
                format!(
                    "Invalid value: {key:?}: prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                ),
            ));
        }
        if name.len() > 63 {
            return Some(cause(
                "FieldValueInvalid",
                field,
                format!("Invalid value: {key:?}: name part must be no more than 63 characters"),
            ));
        }
        (!matches(&QUALIFIED_NAME, name)).then(|| {
            cause(
                "FieldValueInvalid",
                field,
                format!(
                    "Invalid value: {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
                ),
            )
        })
    };
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            out.extend(key_cause("metadata.labels", k));
            let v = v.as_str().unwrap_or("");
            if v.len() > 63 {
                out.push(cause(
                    "FieldValueInvalid",
                    "metadata.labels",
                    format!("Invalid value: {v:?}: must be no more than 63 characters"),
                ));
            } else if !matches(&LABEL_VALUE, v) {
                out.push(cause(
                    "FieldValueInvalid",
                    "metadata.labels",
                    format!(
                        "Invalid value: {v:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
                    ),
                ));
            }
        }
    }
    if let Some(annotations) = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for k in annotations.keys() {
            out.extend(key_cause("metadata.annotations", &k.to_lowercase()));
        }
    }
    out
}

/// A pod spec's containers and volumes (422 causes under `at`).
fn pod_spec_causes(spec: &Value, at: &str) -> Vec<Cause> {
    let mut out = vec![];
    let volumes = spec
        .get("volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut names: Vec<&str> = vec![];
    for (i, v) in volumes.iter().enumerate() {
        let field = format!("{at}.volumes[{i}]");
        match v.get("name").and_then(Value::as_str).unwrap_or("") {
            "" => out.push(cause(
                "FieldValueRequired",
                &format!("{field}.name"),
                "Required value".into(),
            )),
            n if names.contains(&n) => out.push(cause(
                "FieldValueDuplicate",
                &format!("{field}.name"),
                format!("Duplicate value: {n:?}"),
            )),
            n => names.push(n),
        }
        if let Some(cm) = v.get("configMap")
            && cm
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
        {
            out.push(cause(
                "FieldValueRequired",
                &format!("{field}.configMap.name"),
                "Required value".into(),
            ));
        }
        if let Some(s) = v.get("secret")
            && s.get("secretName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
        {
            out.push(cause(
                "FieldValueRequired",
                &format!("{field}.secret.secretName"),
                "Required value".into(),
            ));
        }
        if let Some(c) = v.get("persistentVolumeClaim")
            && c.get("claimName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
        {
            out.push(cause(
                "FieldValueRequired",
                &format!("{field}.persistentVolumeClaim.claimName"),
                "Required value".into(),
            ));
        }
    }
    for list in ["initContainers", "containers"] {
        let mut seen: Vec<&str> = vec![];
        for (i, c) in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let field = format!("{at}.{list}[{i}]");
            match c.get("name").and_then(Value::as_str).unwrap_or("") {
                "" => out.push(cause(
                    "FieldValueRequired",
                    &format!("{field}.name"),
                    "Required value".into(),
                )),
                n if seen.contains(&n) => out.push(cause(
                    "FieldValueDuplicate",
                    &format!("{field}.name"),
                    format!("Duplicate value: {n:?}"),
                )),
                n => seen.push(n),
            }
            if c.get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                out.push(cause(
                    "FieldValueRequired",
                    &format!("{field}.image"),
                    "Required value".into(),
                ));
            }
            for (j, m) in c
                .get("volumeMounts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let mfield = format!("{field}.volumeMounts[{j}]");
                match m.get("name").and_then(Value::as_str).unwrap_or("") {
                    "" => out.push(cause(
                        "FieldValueRequired",
                        &format!("{mfield}.name"),
                        "Required value".into(),
                    )),
                    n if !names.contains(&n) => out.push(cause(
                        "FieldValueNotFound",
                        &format!("{mfield}.name"),
                        format!("Not found: {n:?}"),
                    )),
                    _ => {}
                }
                if m.get("mountPath")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    out.push(cause(
                        "FieldValueRequired",
                        &format!("{mfield}.mountPath"),
                        "Required value".into(),
                    ));
                }
            }
        }
    }
    out
}

/// Whether a label selector (`matchLabels`/`matchExpressions`) selects `labels`.
fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let by_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let by_expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .is_none_or(|es| {
            es.iter().all(|e| {
                let key = e.get("key").and_then(Value::as_str).unwrap_or("");
                let values: Vec<&str> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e.get("operator").and_then(Value::as_str) {
                    Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                    Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                    Some("Exists") => label(key).is_some(),
                    Some("DoesNotExist") => label(key).is_none(),
                    _ => false,
                }
            })
        });
    by_labels && by_expressions
}

/// Workloads whose selector must select their own template (Deployments, ReplicaSets,
/// StatefulSets, DaemonSets, Jobs with `manualSelector`).
fn selector_causes(kind: &KindInfo, obj: &Value) -> Vec<Cause> {
    let checked = match (kind.group.as_str(), kind.plural.as_str()) {
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") => true,
        ("batch", "jobs") => {
            obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true)
        }
        _ => false,
    };
    let Some(selector) = obj.pointer("/spec/selector").filter(|_| checked) else {
        return vec![];
    };
    let empty = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|m| m.is_empty())
        && selector
            .get("matchExpressions")
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty());
    if empty && kind.group == "apps" {
        return vec![cause(
            "FieldValueInvalid",
            "spec.selector",
            format!(
                "Invalid value: {}: empty selector is invalid for {}",
                selector, kind.singular
            ),
        )];
    }
    let labels = obj
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if selects(selector, &labels) {
        return vec![];
    }
    vec![cause(
        "FieldValueInvalid",
        "spec.template.metadata.labels",
        format!(
            "Invalid value: {}: `selector` does not match template `labels`",
            Value::Object(labels)
        ),
    )]
}

/// Required fields of the built-in kinds (422 causes).
pub fn spec_causes(kind: &KindInfo, obj: &Value) -> Vec<Cause> {
    let required: &[&str] = match (kind.group.as_str(), kind.plural.as_str()) {
        ("", "pods") => &["/spec/containers"],
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") => {
            &["/spec/selector", "/spec/template/spec/containers"]
        }
        ("batch", "jobs") => &["/spec/template/spec/containers"],
        ("apiextensions.k8s.io", _) => &[
            "/spec/group",
            "/spec/names/plural",
            "/spec/names/kind",
            "/spec/versions",
            "/spec/scope",
        ],
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => &["/roleRef/name"],
        _ => &[],
    };
    let mut out: Vec<Cause> = required
        .iter()
        .filter(|p| missing(obj, p))
        .map(|p| {
            cause(
                "FieldValueRequired",
                &p.trim_start_matches('/').replace('/', "."),
                "Required value".into(),
            )
        })
        .collect();
    out.extend(meta_causes(obj));
    if kind.group.is_empty() && kind.plural == "configmaps" {
        for map in ["data", "binaryData"] {
            for k in obj
                .get(map)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                if !matches(&CONFIG_KEY, k) {
                    out.push(cause(
                        "FieldValueInvalid",
                        &format!("{map}[{k}]"),
                        format!("Invalid value: {k:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"),
                    ));
                }
            }
        }
    }
    if let Some((pointer, field)) = pod_spec_at(kind)
        && let Some(spec) = obj.pointer(pointer)
    {
        out.extend(pod_spec_causes(spec, field));
    }
    out.extend(selector_causes(kind, obj));
    if kind.plural == "customresourcedefinitions" && out.is_empty() {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        let want = format!("{}.{}", s("/spec/names/plural"), s("/spec/group"));
        let name = s("/metadata/name");
        if name != want {
            out.push(cause(
                "FieldValueInvalid",
                "metadata.name",
                format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
            ));
        }
        let storage = obj
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .map(|vs| {
                vs.iter()
                    .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                    .count()
            })
            .unwrap_or(0);
        if storage != 1 {
            out.push(cause(
                "FieldValueInvalid",
                "spec.versions",
                format!("Invalid value: []apiextensions.CustomResourceDefinitionVersion{{...}}: must have exactly one version marked as storage version (found {storage})"),
            ));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::resources::builtins;
    use serde_json::json;

    fn kind(plural: &str) -> KindInfo {
        builtins().into_iter().find(|k| k.plural == plural).unwrap()
    }

    #[test]
    fn names_and_types() {
        assert!(name_causes(&kind("configmaps"), "ok.name-1").is_empty());
        assert_eq!(
            name_causes(&kind("configmaps"), "Bad_Name")[0].reason,
            "FieldValueInvalid"
        );
        assert_eq!(name_causes(&kind("namespaces"), "a.b").len(), 1);
        assert!(name_causes(&kind("clusterroles"), "system:foo").is_empty());
        // Wrong value types are refused by schema admission (structural.rs tests).
        let c = spec_causes(&kind("pods"), &json!({"spec": {}}));
        assert_eq!(c[0].field, "spec.containers");
    }
}
