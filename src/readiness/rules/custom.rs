//! Readiness of custom resources as data: one [`CustomRule`] per group/kind, a list of
//! [`Step`]s evaluated in order. Each step looks at one thing (a condition, a string field, a
//! counter pair, a field's presence) and either decides (Current / InProgress / Failed) or passes
//! to the next step; a rule whose steps all pass is Current. The generic kstatus checks
//! (deletion, observedGeneration, Reconciling/Stalled) run before the rule. Adding a kind means
//! adding a table entry in [`RULES`], never code.

use serde_json::Value;

use super::super::generic::{
    Condition, condition, conditions, conditions_in, first_problem, int_at, is_stale, str_at,
};
use super::super::{Eval, GroupKind, Status, timestamp_at};
use super::pod::with_pods;

/// What a step concludes from what it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Not decisive: go on with the next step.
    Next,
    /// Stop: Current.
    Current,
    /// Stop: InProgress.
    InProgress,
    /// Stop: Failed.
    Failed,
    /// Failed once the state has lasted `Graces::flapping_failure` (measured from the
    /// condition's `lastTransitionTime`, or the field's `since`, or the object's creation);
    /// InProgress before that. For states operators set and often clear again.
    FailedAfterGrace,
}

/// Where a condition step finds its conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondSource {
    /// `status.conditions`.
    Status,
    /// The `conditions` of every entry of a list (Route `/status/ingress`): the condition counts
    /// as True if any entry has it True, else False if any has it False, else Unknown/absent.
    EachOf(&'static str),
}

/// A condition step: the act for each status of condition `type_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cond {
    /// Where the conditions are.
    pub source: CondSource,
    /// The condition type (`Ready`, `Succeeded`, `Degraded`).
    pub type_: &'static str,
    /// Act when the condition is True.
    pub on_true: Act,
    /// Act when it is False.
    pub on_false: Act,
    /// Act when it is Unknown (or any other value).
    pub on_unknown: Act,
    /// Act when the object has no such condition.
    pub on_absent: Act,
}

impl Cond {
    /// A readiness condition: True → Current, anything else → InProgress.
    pub const fn ready(type_: &'static str) -> Cond {
        Cond {
            source: CondSource::Status,
            type_,
            on_true: Act::Current,
            on_false: Act::InProgress,
            on_unknown: Act::InProgress,
            on_absent: Act::InProgress,
        }
    }

    /// A condition that must be True before later steps are looked at.
    pub const fn gate(type_: &'static str) -> Cond {
        Cond {
            on_true: Act::Next,
            ..Cond::ready(type_)
        }
    }

    /// A failure flag: True → Failed, anything else → next step.
    pub const fn failure(type_: &'static str) -> Cond {
        Cond {
            source: CondSource::Status,
            type_,
            on_true: Act::Failed,
            on_false: Act::Next,
            on_unknown: Act::Next,
            on_absent: Act::Next,
        }
    }
}

/// A string-field step (`status.phase`, `status.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// JSON pointer to the field.
    pub pointer: &'static str,
    /// What to call it in reasons ("phase", "state").
    pub label: &'static str,
    /// Values meaning Current.
    pub current: &'static [&'static str],
    /// Values meaning Failed.
    pub failed: &'static [&'static str],
    /// Values meaning Failed once they have lasted the flapping grace.
    pub failed_after_grace: &'static [&'static str],
    /// Any other value.
    pub other: Act,
    /// Field missing.
    pub absent: Act,
    /// A field holding the human explanation (`/status/message`, `/status/errorMessage`).
    pub message: Option<&'static str>,
    /// A timestamp field for when the value was set (grace start).
    pub since: Option<&'static str>,
}

impl Field {
    /// A field whose unknown values are InProgress; fill in `current`/`failed`.
    pub const fn of(pointer: &'static str, label: &'static str) -> Field {
        Field {
            pointer,
            label,
            current: &[],
            failed: &[],
            failed_after_grace: &[],
            other: Act::InProgress,
            absent: Act::InProgress,
            message: None,
            since: None,
        }
    }
}

/// A counter step: InProgress while `have` < `want` (missing `have` counts as 0; missing `want`
/// uses `want_default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// JSON pointer to the count reached (`/status/readyReplicas`).
    pub have: &'static str,
    /// JSON pointer to the count wanted (`/spec/replicas`); `None` = always `want_default`.
    pub want: Option<&'static str>,
    /// The wanted count when `want` is missing.
    pub want_default: i64,
    /// "ready replicas" → "ready replicas 1/2".
    pub label: &'static str,
}

/// A presence step: the act when the field is there (non-empty) and when it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Present {
    /// JSON pointer to the field.
    pub pointer: &'static str,
    /// What to call it in reasons ("URL", "error").
    pub label: &'static str,
    /// Act when the field is set (not null, not "").
    pub present: Act,
    /// Act when it is not.
    pub absent: Act,
}

/// One check of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Look at a condition.
    Condition(Cond),
    /// Look at a string field.
    Field(Field),
    /// Compare two counters.
    Count(Count),
    /// Check that a field is set.
    Present(Present),
}

/// The readiness rule of one custom kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomRule {
    /// API group (`serving.kserve.io`).
    pub group: &'static str,
    /// Kind (`InferenceService`).
    pub kind: &'static str,
    /// Evaluated in order; all passing → Current.
    pub steps: &'static [Step],
    /// A field quoted in the Current reason (an InferenceService's URL, a Route's host).
    pub summary: Option<(&'static str, &'static str)>,
    /// The label the operator puts on the kind's pods, valued with the object's name
    /// (`serving.kserve.io/inferenceservice=<name>`); see `related::pod_selector`.
    pub pods_label: Option<&'static str>,
}

const POD_FAILURES: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CrashLoopBackOff",
];

/// The shipped rules. Field names and values are those of the operators' current APIs.
/// The OpenDataHub operator's `status.phase` (DataScienceCluster and DSCInitialization).
const OPENDATAHUB_PHASE: &[Step] = &[Step::Field(Field {
    current: &["Ready"],
    failed: &["Error", "Failed"],
    ..Field::of("/status/phase", "phase")
})];

pub static RULES: &[CustomRule] = &[
    CustomRule {
        group: "serving.kserve.io",
        kind: "InferenceService",
        steps: &[
            Step::Field(Field {
                failed: &["BlockedByFailedLoad", "InvalidSpec"],
                other: Act::Next,
                absent: Act::Next,
                message: Some("/status/modelStatus/lastFailureInfo/message"),
                ..Field::of("/status/modelStatus/transitionStatus", "model")
            }),
            Step::Condition(Cond::gate("Ready")),
            Step::Present(Present {
                pointer: "/status/url",
                label: "URL",
                present: Act::Next,
                absent: Act::InProgress,
            }),
        ],
        summary: Some(("/status/url", "url")),
        pods_label: Some("serving.kserve.io/inferenceservice"),
    },
    CustomRule {
        group: "datasciencecluster.opendatahub.io",
        kind: "DataScienceCluster",
        steps: OPENDATAHUB_PHASE,
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "dscinitialization.opendatahub.io",
        kind: "DSCInitialization",
        steps: OPENDATAHUB_PHASE,
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "nvidia.com",
        kind: "ClusterPolicy",
        steps: &[Step::Field(Field {
            current: &["ready"],
            // Another ClusterPolicy is active; this one will never be reconciled.
            failed: &["ignored"],
            ..Field::of("/status/state", "state")
        })],
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "operators.coreos.com",
        kind: "Subscription",
        steps: &[
            Step::Field(Field {
                current: &["AtLatestKnown"],
                other: Act::Next,
                absent: Act::Next,
                ..Field::of("/status/state", "state")
            }),
            Step::Condition(Cond::failure("ResolutionFailed")),
            Step::Condition(Cond::failure("InstallPlanFailed")),
            Step::Condition(Cond {
                on_true: Act::FailedAfterGrace,
                ..Cond::failure("CatalogSourcesUnhealthy")
            }),
            Step::Condition(Cond {
                on_true: Act::InProgress,
                ..Cond::failure("InstallPlanPending")
            }),
            Step::Field(Field {
                current: &["AtLatestKnown"],
                ..Field::of("/status/state", "state")
            }),
        ],
        summary: Some(("/status/installedCSV", "installed")),
        pods_label: None,
    },
    CustomRule {
        group: "operators.coreos.com",
        kind: "ClusterServiceVersion",
        steps: &[Step::Field(Field {
            current: &["Succeeded"],
            // OLM sets Failed for requirements it later finds met; give it the grace.
            failed_after_grace: &["Failed"],
            message: Some("/status/message"),
            since: Some("/status/lastTransitionTime"),
            ..Field::of("/status/phase", "phase")
        })],
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "machine.openshift.io",
        kind: "Machine",
        steps: &[Step::Field(Field {
            current: &["Running"],
            failed: &["Failed"],
            message: Some("/status/errorMessage"),
            ..Field::of("/status/phase", "phase")
        })],
        summary: Some(("/status/nodeRef/name", "node")),
        pods_label: None,
    },
    CustomRule {
        group: "machine.openshift.io",
        kind: "MachineSet",
        steps: &[
            Step::Present(Present {
                pointer: "/status/errorMessage",
                label: "error",
                present: Act::Failed,
                absent: Act::Next,
            }),
            Step::Count(Count {
                have: "/status/readyReplicas",
                want: Some("/spec/replicas"),
                want_default: 1,
                label: "ready replicas",
            }),
            Step::Count(Count {
                have: "/status/availableReplicas",
                want: Some("/spec/replicas"),
                want_default: 1,
                label: "available replicas",
            }),
        ],
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "machineconfiguration.openshift.io",
        kind: "MachineConfigPool",
        steps: &[
            Step::Condition(Cond {
                on_true: Act::FailedAfterGrace,
                ..Cond::failure("Degraded")
            }),
            Step::Condition(Cond {
                on_true: Act::Current,
                ..Cond::failure("Updated")
            }),
            Step::Count(Count {
                have: "/status/updatedMachineCount",
                want: Some("/status/machineCount"),
                want_default: 0,
                label: "updated machines",
            }),
            Step::Condition(Cond::gate("Updated")),
        ],
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "llamastack.io",
        kind: "LlamaStackDistribution",
        steps: &[Step::Field(Field {
            current: &["Ready"],
            failed: &["Failed"],
            ..Field::of("/status/phase", "phase")
        })],
        summary: None,
        pods_label: Some("llamastack.io/distribution"),
    },
    CustomRule {
        group: "kubeflow.org",
        kind: "Notebook",
        steps: &[
            Step::Field(Field {
                failed_after_grace: POD_FAILURES,
                other: Act::Next,
                absent: Act::Next,
                message: Some("/status/containerState/waiting/message"),
                ..Field::of("/status/containerState/waiting/reason", "container")
            }),
            Step::Count(Count {
                have: "/status/readyReplicas",
                want: None,
                want_default: 1,
                label: "ready replicas",
            }),
        ],
        summary: None,
        pods_label: Some("notebook-name"),
    },
    CustomRule {
        group: "tekton.dev",
        kind: "PipelineRun",
        steps: &[Step::Condition(Cond {
            on_false: Act::Failed,
            ..Cond::ready("Succeeded")
        })],
        summary: None,
        pods_label: Some("tekton.dev/pipelineRun"),
    },
    CustomRule {
        group: "tekton.dev",
        kind: "TaskRun",
        steps: &[Step::Condition(Cond {
            on_false: Act::Failed,
            ..Cond::ready("Succeeded")
        })],
        summary: None,
        pods_label: Some("tekton.dev/taskRun"),
    },
    CustomRule {
        group: "trustyai.opendatahub.io",
        kind: "LMEvalJob",
        steps: &[
            // A Complete job may still have failed: status.reason says how it ended.
            Step::Field(Field {
                failed: &["Failed", "Cancelled"],
                other: Act::Next,
                absent: Act::Next,
                message: Some("/status/message"),
                ..Field::of("/status/reason", "result")
            }),
            Step::Field(Field {
                current: &["Complete"],
                failed: &["Failed", "Cancelled"],
                message: Some("/status/message"),
                ..Field::of("/status/state", "state")
            }),
        ],
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "route.openshift.io",
        kind: "Route",
        steps: &[Step::Condition(Cond {
            source: CondSource::EachOf("/status/ingress"),
            on_false: Act::Failed,
            ..Cond::ready("Admitted")
        })],
        summary: Some(("/spec/host", "host")),
        pods_label: None,
    },
    CustomRule {
        group: "modelregistry.opendatahub.io",
        kind: "ModelRegistry",
        steps: &[
            Step::Condition(Cond {
                on_true: Act::FailedAfterGrace,
                ..Cond::failure("Degraded")
            }),
            Step::Condition(Cond::ready("Available")),
        ],
        summary: None,
        pods_label: None,
    },
    CustomRule {
        group: "serving.knative.dev",
        kind: "Service",
        steps: &[Step::Condition(Cond {
            on_false: Act::FailedAfterGrace,
            ..Cond::ready("Ready")
        })],
        summary: Some(("/status/url", "url")),
        pods_label: Some("serving.knative.dev/service"),
    },
];

/// Custom kinds that only hold configuration and never get a status from a controller: Current
/// at once, without the no-status grace (waiting 15 s on every Tekton Task would be noticeable).
pub static CONFIGURATION_KINDS: &[(&str, &str)] = &[
    ("tekton.dev", "Task"),
    ("tekton.dev", "Pipeline"),
    ("tekton.dev", "ClusterTask"),
    ("serving.kserve.io", "ServingRuntime"),
    ("serving.kserve.io", "ClusterServingRuntime"),
    ("machineconfiguration.openshift.io", "MachineConfig"),
    ("monitoring.coreos.com", "ServiceMonitor"),
    ("monitoring.coreos.com", "PodMonitor"),
    ("monitoring.coreos.com", "PrometheusRule"),
    ("console.openshift.io", "ConsoleLink"),
    ("console.openshift.io", "ConsoleNotification"),
    ("template.openshift.io", "Template"),
    // Istio writes no status on it unless its analysis is switched on.
    ("security.istio.io", "PeerAuthentication"),
];

/// Whether a custom kind is configuration only (see [`CONFIGURATION_KINDS`]).
pub fn is_configuration_kind(group: &str, kind: &str) -> bool {
    CONFIGURATION_KINDS
        .iter()
        .any(|(g, k)| *g == group && *k == kind)
}

/// The rule for a group/kind, if one is shipped.
pub fn rule_for(group: &str, kind: &str) -> Option<&'static CustomRule> {
    RULES.iter().find(|r| r.group == group && r.kind == kind)
}

pub(crate) fn lookup(gk: &GroupKind) -> Option<&'static CustomRule> {
    rule_for(&gk.group, &gk.kind)
}

/// Evaluate a rule against an object; an InProgress verdict is combined with the pods the
/// caller passed (pod failures past their grace fail the object).
pub(crate) fn apply(rule: &CustomRule, obj: &Value, ev: &Eval<'_, '_>) -> Status {
    with_pods(apply_steps(rule, obj, ev), ev)
}

fn apply_steps(rule: &CustomRule, obj: &Value, ev: &Eval<'_, '_>) -> Status {
    for step in rule.steps {
        let (act, text, since) = match step {
            Step::Condition(c) => condition_step(c, obj),
            Step::Field(f) => field_step(f, obj),
            Step::Count(c) => count_step(c, obj),
            Step::Present(p) => present_step(p, obj),
        };
        let status = match act {
            Act::Next => continue,
            Act::Current => Status::current(summary(rule, obj).unwrap_or(text)),
            Act::InProgress => Status::in_progress(text),
            Act::Failed => Status::failed(text),
            Act::FailedAfterGrace => {
                let since = since.or_else(|| timestamp_at(obj, "/metadata/creationTimestamp"));
                if ev.grace_over(since, ev.ctx.grace.flapping_failure) {
                    Status::failed(text)
                } else {
                    Status::in_progress(text)
                }
            }
        };
        return status;
    }
    Status::Current {
        reason: summary(rule, obj),
    }
}

fn summary(rule: &CustomRule, obj: &Value) -> Option<String> {
    let (pointer, label) = rule.summary?;
    str_at(obj, pointer)
        .filter(|s| !s.is_empty())
        .map(|v| format!("{label} {v}"))
}

type StepResult = (Act, String, Option<jiff::Timestamp>);

fn condition_step(c: &Cond, obj: &Value) -> StepResult {
    let (found, all) = match c.source {
        CondSource::Status => {
            let all = conditions(obj);
            (condition(&all, c.type_), all)
        }
        CondSource::EachOf(list) => {
            let all: Vec<Condition<'_>> = obj
                .pointer(list)
                .and_then(Value::as_array)
                .map(|entries| {
                    entries
                        .iter()
                        .flat_map(|e| conditions_in(e.get("conditions")))
                        .collect()
                })
                .unwrap_or_default();
            let pick = all
                .iter()
                .filter(|x| x.type_ == c.type_)
                .min_by_key(|x| match x.status {
                    "True" => 0,
                    "False" => 1,
                    _ => 2,
                })
                .cloned();
            (pick, all)
        }
    };
    let Some(cond) = found else {
        return (c.on_absent, format!("no {} condition yet", c.type_), None);
    };
    if is_stale(obj, &cond) {
        return (
            Act::InProgress,
            format!("{} condition is from an older generation", c.type_),
            None,
        );
    }
    let act = match cond.status {
        "True" => c.on_true,
        "False" => c.on_false,
        _ => c.on_unknown,
    };
    let mut text = match (cond.reason, cond.message) {
        (None, None) => format!("{}={}", c.type_, cond.status),
        _ => format!("{}: {}", c.type_, cond.explain("")),
    };
    if !cond.is_true()
        && let Some(other) = first_problem(&all, c.type_)
        && !text.contains(&other)
    {
        text.push_str(&format!(" ({other})"));
    }
    (act, text, cond.last_transition)
}

fn field_step(f: &Field, obj: &Value) -> StepResult {
    let Some(value) = str_at(obj, f.pointer).filter(|v| !v.is_empty()) else {
        return (f.absent, format!("no {} yet", f.label), None);
    };
    let act = if f.current.contains(&value) {
        Act::Current
    } else if f.failed.contains(&value) {
        Act::Failed
    } else if f.failed_after_grace.contains(&value) {
        Act::FailedAfterGrace
    } else {
        f.other
    };
    let mut text = format!("{} {value}", f.label);
    let message = f
        .message
        .and_then(|p| str_at(obj, p))
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if let Some(m) = message {
        text.push_str(&format!(": {m}"));
    } else if act != Act::Current {
        // Phase-style CRs explain themselves in their conditions.
        if let Some(why) = first_problem(&conditions(obj), "") {
            text.push_str(&format!(" ({why})"));
        }
    }
    let since = f.since.and_then(|p| timestamp_at(obj, p));
    (act, text, since)
}

fn count_step(c: &Count, obj: &Value) -> StepResult {
    let have = int_at(obj, c.have).unwrap_or(0);
    let want = c
        .want
        .and_then(|p| int_at(obj, p))
        .unwrap_or(c.want_default);
    if have < want {
        (Act::InProgress, format!("{} {have}/{want}", c.label), None)
    } else {
        (Act::Next, format!("{} {have}/{want}", c.label), None)
    }
}

fn present_step(p: &Present, obj: &Value) -> StepResult {
    let value = obj.pointer(p.pointer).filter(|v| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        _ => true,
    });
    match value {
        Some(v) => (
            p.present,
            format!(
                "{}: {}",
                p.label,
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            ),
            None,
        ),
        None => (p.absent, format!("no {} yet", p.label), None),
    }
}

#[cfg(test)]
#[path = "custom_tests.rs"]
mod tests;
