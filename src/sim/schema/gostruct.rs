//! A pod template as kube-apiserver prints it in an immutable-field error: the *internal*
//! `core.PodTemplateSpec` Go struct serialised as JSON — untagged field names (`Spec`,
//! `Containers`, `TerminationMessagePath`), every field present (`null`, `""`, `false` for the
//! unset ones), the embedded `ObjectMeta` inlined with its tagged, omit-empty names (`labels`),
//! maps sorted, and the scheme defaults of a pod spec applied (Job's `spec.template: Invalid
//! value: {"labels":…,"Spec":{"Volumes":null,…}}: field is immutable`).
//!
//! The field lists are those of kube v1.36's `pkg/apis/core` types for PodSpec, Container,
//! PodSecurityContext and ResourceRequirements; other nested values (ports, env, probes, …) are
//! shown with their JSON keys capitalised, which matches the Go names for most fields but not
//! the unset ones (see docs/sim-api.md).

use serde_json::{Map, Value, json};

/// How an internal field is shown.
#[derive(Clone, Copy)]
enum Field {
    /// A string (`""` when unset).
    Str,
    /// A bool (`false` when unset).
    Bool,
    /// A pointer, slice or struct shown generically (`null` when unset).
    Any,
    /// A map (`null` when unset; keys sorted).
    Map,
    /// A list of containers.
    Containers,
    /// `ResourceRequirements` (a struct, never null).
    Resources,
    /// `*PodSecurityContext` (defaulted to an empty struct).
    PodSecurity,
}

use Field::{Any, Bool, Containers, Map as M, PodSecurity, Resources, Str};

/// (Go name, v1 JSON name, kind) of `core.PodSpec`.
const POD_SPEC: &[(&str, &str, Field)] = &[
    ("Volumes", "volumes", Any),
    ("InitContainers", "initContainers", Containers),
    ("Containers", "containers", Containers),
    ("EphemeralContainers", "ephemeralContainers", Any),
    ("RestartPolicy", "restartPolicy", Str),
    (
        "TerminationGracePeriodSeconds",
        "terminationGracePeriodSeconds",
        Any,
    ),
    ("ActiveDeadlineSeconds", "activeDeadlineSeconds", Any),
    ("DNSPolicy", "dnsPolicy", Str),
    ("NodeSelector", "nodeSelector", M),
    ("ServiceAccountName", "serviceAccountName", Str),
    (
        "AutomountServiceAccountToken",
        "automountServiceAccountToken",
        Any,
    ),
    ("NodeName", "nodeName", Str),
    ("SecurityContext", "securityContext", PodSecurity),
    ("ImagePullSecrets", "imagePullSecrets", Any),
    ("Hostname", "hostname", Str),
    ("Subdomain", "subdomain", Str),
    ("SetHostnameAsFQDN", "setHostnameAsFQDN", Any),
    ("Affinity", "affinity", Any),
    ("SchedulerName", "schedulerName", Str),
    ("Tolerations", "tolerations", Any),
    ("HostAliases", "hostAliases", Any),
    ("PriorityClassName", "priorityClassName", Str),
    ("Priority", "priority", Any),
    ("PreemptionPolicy", "preemptionPolicy", Any),
    ("DNSConfig", "dnsConfig", Any),
    ("ReadinessGates", "readinessGates", Any),
    ("RuntimeClassName", "runtimeClassName", Any),
    ("Overhead", "overhead", M),
    ("EnableServiceLinks", "enableServiceLinks", Any),
    (
        "TopologySpreadConstraints",
        "topologySpreadConstraints",
        Any,
    ),
    ("OS", "os", Any),
    ("SchedulingGates", "schedulingGates", Any),
    ("ResourceClaims", "resourceClaims", Any),
    ("Resources", "resources", Any),
    ("HostnameOverride", "hostnameOverride", Any),
    ("SchedulingGroup", "schedulingGroup", Any),
];

/// `core.Container`.
const CONTAINER: &[(&str, &str, Field)] = &[
    ("Name", "name", Str),
    ("Image", "image", Str),
    ("Command", "command", Any),
    ("Args", "args", Any),
    ("WorkingDir", "workingDir", Str),
    ("Ports", "ports", Any),
    ("EnvFrom", "envFrom", Any),
    ("Env", "env", Any),
    ("Resources", "resources", Resources),
    ("ResizePolicy", "resizePolicy", Any),
    ("RestartPolicy", "restartPolicy", Any),
    ("RestartPolicyRules", "restartPolicyRules", Any),
    ("VolumeMounts", "volumeMounts", Any),
    ("VolumeDevices", "volumeDevices", Any),
    ("LivenessProbe", "livenessProbe", Any),
    ("ReadinessProbe", "readinessProbe", Any),
    ("StartupProbe", "startupProbe", Any),
    ("Lifecycle", "lifecycle", Any),
    ("TerminationMessagePath", "terminationMessagePath", Str),
    ("TerminationMessagePolicy", "terminationMessagePolicy", Str),
    ("ImagePullPolicy", "imagePullPolicy", Str),
    ("SecurityContext", "securityContext", Any),
    ("Stdin", "stdin", Bool),
    ("StdinOnce", "stdinOnce", Bool),
    ("TTY", "tty", Bool),
];

/// `core.PodSecurityContext`; the host namespaces live here internally (v1 has them on the
/// pod spec).
const POD_SECURITY: &[(&str, &str, Field)] = &[
    ("HostNetwork", "hostNetwork", Bool),
    ("HostPID", "hostPID", Bool),
    ("HostIPC", "hostIPC", Bool),
    ("ShareProcessNamespace", "shareProcessNamespace", Any),
    ("HostUsers", "hostUsers", Any),
    ("SELinuxOptions", "seLinuxOptions", Any),
    ("WindowsOptions", "windowsOptions", Any),
    ("RunAsUser", "runAsUser", Any),
    ("RunAsGroup", "runAsGroup", Any),
    ("RunAsNonRoot", "runAsNonRoot", Any),
    ("SupplementalGroups", "supplementalGroups", Any),
    ("SupplementalGroupsPolicy", "supplementalGroupsPolicy", Any),
    ("FSGroup", "fsGroup", Any),
    ("FSGroupChangePolicy", "fsGroupChangePolicy", Any),
    ("Sysctls", "sysctls", Any),
    ("SeccompProfile", "seccompProfile", Any),
    ("AppArmorProfile", "appArmorProfile", Any),
    ("SELinuxChangePolicy", "seLinuxChangePolicy", Any),
];

/// The tagged `ObjectMeta` fields in struct order (shown when not empty).
const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
];

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), m[k].clone()))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// A nested value without a field list: JSON keys capitalised as Go names mostly are.
fn generic(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut name: Vec<char> = k.chars().collect();
                    if let Some(c) = name.first_mut() {
                        *c = c.to_ascii_uppercase();
                    }
                    (name.into_iter().collect(), generic(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(generic).collect()),
        other => other.clone(),
    }
}

fn fields(src: &Value, list: &[(&str, &str, Field)], defaults: &[(&str, Value)]) -> Value {
    let mut out = Map::new();
    for (go, js, kind) in list {
        let v = src.get(*js).filter(|v| !v.is_null()).cloned().or_else(|| {
            defaults
                .iter()
                .find(|(k, _)| k == go)
                .map(|(_, d)| d.clone())
        });
        let shown = match (kind, v) {
            (Str, v) => v.unwrap_or(json!("")),
            (Bool, v) => v.unwrap_or(json!(false)),
            (Any, v) => v.as_ref().map_or(Value::Null, generic),
            (M, v) => v.as_ref().map_or(Value::Null, sorted),
            (Containers, Some(Value::Array(cs))) => {
                Value::Array(cs.iter().map(container).collect())
            }
            (Containers, _) => Value::Null,
            (Resources, v) => {
                let r = v.unwrap_or(json!({}));
                json!({
                    "Limits": r.get("limits").map_or(Value::Null, sorted),
                    "Requests": r.get("requests").map_or(Value::Null, sorted),
                    "Claims": r.get("claims").map_or(Value::Null, generic),
                })
            }
            (PodSecurity, _) => Value::Null,
        };
        out.insert((*go).to_string(), shown);
    }
    Value::Object(out)
}

/// Whether an image reference has no tag or the `latest` tag (`IfNotPresent` otherwise).
fn pulls_always(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

fn container(c: &Value) -> Value {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let pull = if pulls_always(image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    fields(
        c,
        CONTAINER,
        &[
            ("TerminationMessagePath", json!("/dev/termination-log")),
            ("TerminationMessagePolicy", json!("File")),
            ("ImagePullPolicy", json!(pull)),
        ],
    )
}

/// The dump of a v1 pod template (`spec.template` of a workload).
pub fn pod_template(template: &Value) -> String {
    let mut out = Map::new();
    let meta = template.get("metadata").cloned().unwrap_or(json!({}));
    for key in OBJECT_META {
        let Some(v) = meta.get(*key) else { continue };
        let empty = v.is_null()
            || v.as_str() == Some("")
            || v.as_object().is_some_and(Map::is_empty)
            || v.as_array().is_some_and(Vec::is_empty);
        if !empty {
            let v = if matches!(*key, "labels" | "annotations") {
                sorted(v)
            } else {
                v.clone()
            };
            out.insert((*key).to_string(), v);
        }
    }
    let spec = template.get("spec").cloned().unwrap_or(json!({}));
    let mut shown = fields(
        &spec,
        POD_SPEC,
        &[
            ("RestartPolicy", json!("Always")),
            ("TerminationGracePeriodSeconds", json!(30)),
            ("DNSPolicy", json!("ClusterFirst")),
            ("SchedulerName", json!("default-scheduler")),
        ],
    );
    // The pod security context is defaulted to an empty struct and carries the host namespaces.
    let mut security = spec.get("securityContext").cloned().unwrap_or(json!({}));
    for key in [
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "shareProcessNamespace",
        "hostUsers",
    ] {
        if let Some(v) = spec.get(key) {
            security[key] = v.clone();
        }
    }
    shown["SecurityContext"] = fields(&security, POD_SECURITY, &[]);
    out.insert("Spec".into(), shown);
    Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_template_dumps_like_kube() {
        let t = json!({"metadata": {"labels": {"job-name": "j", "controller-uid": "u"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:2"}]}});
        let dump = pod_template(&t);
        assert!(
            dump.starts_with(
                r#"{"labels":{"controller-uid":"u","job-name":"j"},"Spec":{"Volumes":null,"InitContainers":null,"Containers":[{"Name":"c","Image":"busybox:2","Command":null,"#
            ),
            "{dump}"
        );
        assert!(dump.contains(r#""Resources":{"Limits":null,"Requests":null,"Claims":null}"#));
        assert!(dump.contains(r#""TerminationMessagePath":"/dev/termination-log","TerminationMessagePolicy":"File","ImagePullPolicy":"IfNotPresent","SecurityContext":null,"Stdin":false,"StdinOnce":false,"TTY":false}]"#));
        assert!(dump.contains(r#""RestartPolicy":"Never","TerminationGracePeriodSeconds":30,"ActiveDeadlineSeconds":null,"DNSPolicy":"ClusterFirst""#));
        assert!(dump.contains(r#""SecurityContext":{"HostNetwork":false,"HostPID":false,"HostIPC":false,"ShareProcessNamespace":null,"#));
        assert!(dump.ends_with(r#""HostnameOverride":null,"SchedulingGroup":null}}"#));
    }

    #[test]
    fn image_pull_policy_defaults_from_the_tag() {
        assert!(pulls_always("busybox"));
        assert!(pulls_always("busybox:latest"));
        assert!(pulls_always("localhost:5000/busybox"));
        assert!(!pulls_always("localhost:5000/busybox:1"));
        assert!(!pulls_always("busybox@sha256:abc"));
    }
}
