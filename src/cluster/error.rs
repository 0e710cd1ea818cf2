//! `ClusterError`: every failure of the cluster layer, with its retry classification
//! (`is_transient`, `retry_after`), a hint for the presenter and the exit code it maps to.
//! Never prints; messages name the object and never repeat their source.

use std::path::PathBuf;
use std::time::Duration;

use kube::core::Status;

use crate::exit;

/// A failure talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be found, read or parsed.
    #[error("failed to load the kubeconfig{}", path_suffix(.path))]
    Kubeconfig {
        path: Option<PathBuf>,
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// `--context` names a context the kubeconfig does not have.
    #[error("context `{context}` is not in the kubeconfig")]
    UnknownContext {
        context: String,
        available: Vec<String>,
    },
    /// The kubeconfig names no current context and `--context` is not given.
    #[error("the kubeconfig{} has no current context", path_suffix(.path))]
    NoCurrentContext {
        path: Option<PathBuf>,
        available: Vec<String>,
    },
    /// No kubeconfig and not running in a cluster.
    #[error("no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running inside a cluster")]
    NoKubeconfig,
    /// Building the HTTP client failed (TLS, proxy).
    #[error("failed to build the client for `{server}`")]
    Client {
        server: String,
        #[source]
        source: kube::Error,
    },
    /// The API server could not be reached at all.
    #[error("cluster `{server}` is unreachable")]
    Unreachable {
        server: String,
        #[source]
        source: kube::Error,
    },
    /// The credentials were rejected (401), or the user cannot even review itself.
    #[error("not authorised on `{server}`")]
    Unauthorized {
        server: String,
        #[source]
        source: kube::Error,
    },
    /// An API call failed; `action` is a verb phrase ("apply", "list"), `object` names it already
    /// quoted (see `ObjectKey::describe`: "`ConfigMap/x` in `demo`").
    #[error("failed to {action} {object}")]
    Api {
        action: String,
        object: String,
        #[source]
        source: kube::Error,
    },
    /// The server refused an object because of its fields: unknown under
    /// `fieldValidation=Strict` (400 strict decoding error, or server-side apply's "field not
    /// declared in schema"), invalid (422 with causes) or of the wrong type.
    #[error("the server rejected {object}: {}", problems_text(&.fields.problems))]
    Rejected {
        object: String,
        /// What the server said of which field (boxed: keeps `ClusterError` small).
        fields: Box<RejectedFields>,
        #[source]
        source: kube::Error,
    },
    /// A request did not answer within the per-request timeout.
    #[error("timed out after {} waiting for the API server to {action} {object}", humantime::format_duration(*.after))]
    RequestTimeout {
        action: String,
        object: String,
        after: Duration,
    },
    /// The cluster does not serve this kind: its CRD is not installed.
    #[error("kind `{kind}` of {object} is not served by the cluster (`{api_version}`)")]
    MissingKind {
        object: String,
        api_version: String,
        kind: String,
        /// The operator that provides the CRD, when known.
        operator: Option<String>,
    },
    /// A field is immutable and the object's policy does not allow recreating it.
    #[error("{object} has an immutable field that changed ({fields})")]
    Immutable {
        object: String,
        fields: String,
        #[source]
        source: kube::Error,
    },
    /// An object in the manifests is not a valid Kubernetes object.
    #[error("object {index} of the manifests is invalid: {problem}")]
    InvalidObject { index: usize, problem: String },
    /// A wait passed its deadline or failed (see `wait::WaitError` for the evidence).
    #[error("{0}")]
    Wait(#[from] Box<super::wait::WaitError>),
    /// Another democtl run holds the cluster lock.
    #[error(
        "another democtl run holds the cluster lock (`{holder}` running `{command}` since {since}); it {expires}"
    )]
    Locked {
        holder: String,
        command: String,
        since: String,
        /// `expires in 24s, at 21:04:05, unless its holder renews it`.
        expires: String,
    },
    /// Stored democtl state could not be decoded.
    #[error("the democtl state record {object} is unreadable")]
    State {
        object: String,
        #[source]
        source: serde_json::Error,
    },
    /// Refusing to act (teardown safety, missing prerequisite).
    #[error("{0}")]
    Refused(String),
    /// An object democtl would change or delete exists and is not democtl's: created by someone
    /// else (another team, an operator), without democtl's `managed-by` label.
    #[error(
        "{object} exists and is not democtl's (its manager: `{manager}`): democtl does not {action} it"
    )]
    NotOurs {
        object: String,
        manager: String,
        /// `change`, `delete and recreate`.
        action: &'static str,
    },
}

fn path_suffix(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" `{}`", p.display()))
        .unwrap_or_default()
}

fn problems_text(problems: &[(String, String)]) -> String {
    problems
        .iter()
        .map(|(field, message)| {
            if field.is_empty() {
                message.clone()
            } else {
                format!("{field}: {message}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The fields a server refused in an object ([`ClusterError::Rejected`]).
#[derive(Debug)]
pub struct RejectedFields {
    /// Kind of the object (for the `kubectl explain` hint).
    pub kind: String,
    /// (field path, the server's message) pairs, in the server's order.
    pub problems: Vec<(String, String)>,
}

impl ClusterError {
    /// Wraps a kube error from an API call on `object`. A refusal because of the object's
    /// fields becomes [`ClusterError::Rejected`], naming each field path.
    pub fn api(action: impl Into<String>, object: impl Into<String>, source: kube::Error) -> Self {
        let object = object.into();
        if let kube::Error::Api(s) = &source {
            let problems = field_errors(s);
            if !problems.is_empty() {
                let kind = object
                    .trim_start_matches('`')
                    .split('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
                return ClusterError::Rejected {
                    object,
                    fields: Box::new(RejectedFields { kind, problems }),
                    source,
                };
            }
        }
        ClusterError::Api {
            action: action.into(),
            object,
            source,
        }
    }

    /// The root cause in one line, for retry notices: `503 ServiceUnavailable: …` for an API
    /// status, the transport error otherwise.
    pub fn cause(&self) -> String {
        match self.kube_error() {
            Some(kube::Error::Api(s)) => format!("{} {}: {}", s.code, s.reason, s.message),
            Some(other) => {
                let mut cur: &(dyn std::error::Error + 'static) = other;
                while let Some(next) = cur.source() {
                    cur = next;
                }
                cur.to_string()
            }
            None => self.to_string(),
        }
    }

    /// The kube error underneath, if any.
    pub fn kube_error(&self) -> Option<&kube::Error> {
        match self {
            ClusterError::Client { source, .. }
            | ClusterError::Unreachable { source, .. }
            | ClusterError::Unauthorized { source, .. }
            | ClusterError::Api { source, .. }
            | ClusterError::Rejected { source, .. }
            | ClusterError::Immutable { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The API status of the failure, when the server answered with one.
    pub fn status(&self) -> Option<&Status> {
        match self.kube_error() {
            Some(kube::Error::Api(status)) => Some(status),
            _ => None,
        }
    }

    /// HTTP status code of the failure (0 when the server did not answer).
    pub fn code(&self) -> u16 {
        self.status().map(|s| s.code).unwrap_or(0)
    }

    /// True when the object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status().is_some_and(|s| s.code == 404)
    }

    /// True for a 409 Conflict (field-manager conflict or optimistic lock).
    pub fn is_conflict(&self) -> bool {
        self.status().is_some_and(|s| s.code == 409)
    }

    /// True when retrying the same request later may succeed: connection reset/refused,
    /// timeouts, 429, 500/502/503/504, etcd leader changes, webhooks not serving yet and
    /// optimistic-lock conflicts.
    pub fn is_transient(&self) -> bool {
        match self {
            ClusterError::Unreachable { .. } | ClusterError::RequestTimeout { .. } => true,
            ClusterError::Api { source, .. } => is_transient_kube(source),
            ClusterError::Wait(w) => w.is_transient(),
            _ => false,
        }
    }

    /// The connection could not even be opened: refused, or the host name does not resolve.
    pub fn is_connect_failure(&self) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cur {
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
            {
                return true;
            }
            let text = e.to_string();
            if text.starts_with("dns error") || text.starts_with("unsupported scheme") {
                return true;
            }
            cur = e.source();
        }
        false
    }

    /// How long the server asked us to wait (429/503 `retryAfterSeconds`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.kube_error().and_then(retry_after_kube)
    }

    /// Exit code: 3 for unreachable or unauthorised clusters, 2 for configuration errors,
    /// 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClusterError::Unreachable { .. }
            | ClusterError::Unauthorized { .. }
            | ClusterError::RequestTimeout { .. } => exit::CLUSTER,
            ClusterError::Api { source, .. } if is_connection_error(source) => exit::CLUSTER,
            ClusterError::Api { source, .. } if api_code(source) == Some(401) => exit::CLUSTER,
            ClusterError::Kubeconfig { .. }
            | ClusterError::UnknownContext { .. }
            | ClusterError::NoCurrentContext { .. }
            | ClusterError::NoKubeconfig => exit::USAGE,
            ClusterError::InvalidObject { .. } => exit::USAGE,
            _ => exit::FAILED,
        }
    }

    /// What the presenter can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ClusterError::Kubeconfig { .. } => Some(
                "check `--kubeconfig` / KUBECONFIG, or log in with `oc login <api-url>`".into(),
            ),
            ClusterError::UnknownContext { available, .. } => Some(if available.is_empty() {
                "the kubeconfig has no contexts; log in with `oc login <api-url>`".into()
            } else {
                format!("available contexts: {}", available.join(", "))
            }),
            ClusterError::NoCurrentContext { available, .. } => Some(match available.as_slice() {
                [] => "the kubeconfig has no contexts; log in with `oc login <api-url>`".into(),
                _ => format!(
                    "pass `--context NAME` or run `oc config use-context NAME` (contexts: {})",
                    available.join(", ")
                ),
            }),
            ClusterError::NoKubeconfig => {
                Some("log in with `oc login <api-url>` or pass `--kubeconfig`; or try `democtl --sim`".into())
            }
            ClusterError::Client { .. } => {
                Some("check the cluster's certificate authority and proxy settings in the kubeconfig".into())
            }
            ClusterError::Unreachable { .. } => Some(
                "check the API URL, VPN and network; `oc whoami --show-server` shows the URL in use".into(),
            ),
            ClusterError::Unauthorized { .. } => {
                Some("the token may have expired: log in again with `oc login`".into())
            }
            ClusterError::MissingKind { operator, kind, .. } => Some(match operator {
                Some(op) => format!("install the {op} operator, then run again"),
                None => format!("install the operator that provides `{kind}`, then run again"),
            }),
            ClusterError::Rejected { fields, .. } => {
                Some(rejected_hint(&fields.kind, &fields.problems))
            }
            ClusterError::Immutable { object, .. } => Some(format!(
                "delete {object} and run again (its spec cannot be changed in place)"
            )),
            ClusterError::Locked { .. } => Some(
                "wait for the other run to finish; the lock expires by itself if that process died".into(),
            ),
            ClusterError::NotOurs { .. } => Some(
                "rename or remove it yourself, or run again with `--adopt` to let democtl take it over (teardown then restores what it changed)".into(),
            ),
            ClusterError::RequestTimeout { after, .. } => Some(format!(
                "the API server did not answer within the request timeout ({}; democtl retried): check it with `oc get --raw /readyz`, or raise `--request-timeout` if it is only slow",
                humantime::format_duration(*after)
            )),
            ClusterError::Wait(w) => w.hint(),
            ClusterError::Api { source, .. } => hint_for_kube(source),
            _ => None,
        }
    }
}

/// What to do about fields the server refused: fix them in the manifest; for unknown fields,
/// `kubectl explain` of the parent path lists the ones the server accepts.
fn rejected_hint(kind: &str, problems: &[(String, String)]) -> String {
    let fields: Vec<String> = problems
        .iter()
        .filter(|(f, _)| !f.is_empty())
        .map(|(f, _)| format!("`{f}`"))
        .collect();
    let what = if fields.is_empty() {
        "the object".to_string()
    } else {
        fields.join(", ")
    };
    let unknown = problems.iter().find(|(f, m)| {
        !f.is_empty() && (m.contains("unknown field") || m.contains("not declared in schema"))
    });
    match unknown {
        Some((field, _)) if !kind.is_empty() => {
            let parent = match field.rsplit_once('.') {
                Some((parent, _)) => format!(".{}", strip_indexes(parent)),
                None => String::new(),
            };
            format!(
                "fix {what} in the manifest (a typo, or a field this version does not have); `kubectl explain {}{parent}` lists the fields the server accepts",
                kind.to_ascii_lowercase()
            )
        }
        _ => format!("fix {what} in the manifest, then run again"),
    }
}

/// `spec.volumes[1].configMap` → `spec.volumes.configMap` (what `kubectl explain` takes).
fn strip_indexes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The field problems a write was refused for, as kube-apiserver reports them: 422 `Invalid`
/// with `details.causes`; 400 `strict decoding error: unknown field "spec.x", …` (create and
/// update with `fieldValidation=Strict`); server-side apply's `.spec.x: field not declared in
/// schema` (a 500 without reason); and 400 `cannot unmarshal … into Go struct field T.path of
/// type …`. Immutable-field errors are left to the caller's immutable handling.
pub fn field_errors(s: &Status) -> Vec<(String, String)> {
    let msg = s.message.as_str();
    if msg.contains("immutable") {
        return Vec::new();
    }
    let mut out = Vec::new();
    if s.code == 422
        && let Some(d) = &s.details
    {
        for c in &d.causes {
            out.push((c.field.clone(), c.message.clone()));
        }
        if out.is_empty() {
            out.push((String::new(), msg.to_string()));
        }
        return out;
    }
    if let Some((_, rest)) = msg.split_once("strict decoding error: ") {
        for part in rest.split(", ") {
            let field = part
                .split_once('"')
                .and_then(|(_, f)| f.rsplit_once('"'))
                .map(|(f, _)| f.to_string())
                .unwrap_or_default();
            let what = part.split_once(" \"").map(|(w, _)| w).unwrap_or(part);
            out.push((field, what.trim().to_string()));
        }
        return out;
    }
    if msg.contains("field not declared in schema") {
        for segment in msg.split(['\n', ':']).collect::<Vec<_>>().windows(2) {
            let (path, what) = (segment[0].trim(), segment[1].trim());
            if what == "field not declared in schema" && path.starts_with('.') {
                out.push((path.trim_start_matches('.').to_string(), what.to_string()));
            }
        }
        return out;
    }
    if let Some((_, rest)) = msg.split_once("into Go struct field ") {
        // `DeploymentSpec.spec.replicas of type int32`: the Go type name comes first.
        let (field, ty) = rest.split_once(" of type ").unwrap_or((rest, ""));
        let field = field.split_once('.').map(|(_, f)| f).unwrap_or(field);
        let got = msg
            .split_once("cannot unmarshal ")
            .and_then(|(_, r)| r.split_once(" into"))
            .map(|(g, _)| g)
            .unwrap_or("a value");
        out.push((
            field.to_string(),
            format!("wrong type: expected {ty}, got {got}"),
        ));
    }
    out
}

fn api_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn hint_for_kube(err: &kube::Error) -> Option<String> {
    match err {
        kube::Error::Api(s) if s.code == 401 => {
            Some("the token may have expired: log in again with `oc login`".into())
        }
        kube::Error::Api(s) if s.code == 403 => Some(
            "your user lacks this permission; democtl needs cluster-admin (check with `oc auth can-i`)"
                .into(),
        ),
        kube::Error::Api(s)
            if s.code == 404 && s.details.as_ref().is_some_and(|d| d.kind == "namespaces") =>
        {
            let ns = s.details.as_ref().map(|d| d.name.as_str()).unwrap_or("");
            Some(format!(
                "namespace `{ns}` does not exist: add it to the stage's render, or enable the operator component that creates it"
            ))
        }
        kube::Error::Api(s) if s.message.contains("failed calling webhook") => {
            Some("an admission webhook is not serving yet (operator starting); democtl retries".into())
        }
        _ if is_connection_error(err) => {
            Some("check the API URL, VPN and network".into())
        }
        _ => None,
    }
}

/// Transient classification of a raw kube error (shared by the runner-facing `is_transient`
/// and the cluster layer's own retries).
pub fn is_transient_kube(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(s) => is_transient_status(s),
        other => is_connection_error(other),
    }
}

/// Transient classification of an API `Status`.
pub fn is_transient_status(s: &Status) -> bool {
    let msg = s.message.to_ascii_lowercase();
    match s.code {
        // Server-side apply refuses unknown fields with a 500 that no retry will fix.
        500 if msg.contains("failed to create typed patch object") => false,
        429 | 500 | 502 | 503 | 504 => true,
        // Optimistic-lock conflict ("the object has been modified; please apply your changes
        // to the latest version"), not a field-manager conflict, which needs a decision.
        409 => {
            msg.contains("the object has been modified")
                || msg.contains("operation cannot be fulfilled")
        }
        _ => {
            msg.contains("etcdserver: leader changed")
                || msg.contains("etcdserver: request timed out")
                || msg.contains("failed calling webhook")
                || msg.contains("conversion webhook")
                || s.reason == "ServerTimeout"
                || s.reason == "Timeout"
                || s.reason == "TooManyRequests"
                || s.reason == "ServiceUnavailable"
        }
    }
}

fn retry_after_kube(err: &kube::Error) -> Option<Duration> {
    match err {
        kube::Error::Api(s) => s
            .details
            .as_ref()
            .map(|d| d.retry_after_seconds)
            .filter(|secs| *secs > 0)
            .map(|secs| Duration::from_secs(u64::from(secs))),
        _ => None,
    }
}

/// True when the request never got an HTTP answer: refused, reset, timed out, closed.
pub fn is_connection_error(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(_) => false,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => true,
        other => {
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(other);
            while let Some(e) = cur {
                if let Some(io) = e.downcast_ref::<std::io::Error>() {
                    use std::io::ErrorKind::*;
                    if matches!(
                        io.kind(),
                        ConnectionRefused
                            | ConnectionReset
                            | ConnectionAborted
                            | TimedOut
                            | BrokenPipe
                            | UnexpectedEof
                    ) {
                        return true;
                    }
                }
                cur = e.source();
            }
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kube::core::response::StatusDetails;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(Status::failure(message, reason).with_code(code)))
    }

    fn api(err: kube::Error) -> ClusterError {
        ClusterError::api("apply", "`ConfigMap/x` in `demo`", err)
    }

    #[test]
    fn transient_classification_table() {
        let cases: Vec<(kube::Error, bool)> = vec![
            (status(429, "TooManyRequests", "too many requests"), true),
            (status(500, "InternalError", "internal error"), true),
            (status(502, "", "bad gateway"), true),
            (status(503, "ServiceUnavailable", "unavailable"), true),
            (status(504, "Timeout", "gateway timeout"), true),
            (
                status(500, "InternalError", "etcdserver: leader changed"),
                true,
            ),
            (
                status(400, "BadRequest", "etcdserver: request timed out"),
                true,
            ),
            (
                status(
                    500,
                    "InternalError",
                    "Internal error occurred: failed calling webhook \"x.kserve.io\"",
                ),
                true,
            ),
            (
                status(
                    409,
                    "Conflict",
                    "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again",
                ),
                true,
            ),
            (
                status(
                    409,
                    "Conflict",
                    "Apply failed with 1 conflict: conflict with \"kubectl\": .data.a",
                ),
                false,
            ),
            (status(404, "NotFound", "configmaps \"x\" not found"), false),
            (status(403, "Forbidden", "forbidden"), false),
            (status(401, "Unauthorized", "Unauthorized"), false),
            (status(422, "Invalid", "field is immutable"), false),
            (status(400, "BadRequest", "bad"), false),
            (
                kube::Error::ReadEvents(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "reset",
                )),
                true,
            ),
        ];
        for (i, (err, want)) in cases.into_iter().enumerate() {
            let e = api(err);
            assert_eq!(e.is_transient(), want, "case {i}: {e:?}");
        }
    }

    #[test]
    fn retry_after_comes_from_status_details() {
        let s = Status::failure("slow down", "TooManyRequests")
            .with_code(429)
            .with_details(StatusDetails {
                name: String::new(),
                group: String::new(),
                kind: String::new(),
                uid: String::new(),
                causes: vec![],
                retry_after_seconds: 7,
            });
        let e = api(kube::Error::Api(Box::new(s)));
        assert!(e.is_transient());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(api(status(503, "", "x")).retry_after(), None);
    }

    #[test]
    fn exit_codes_distinguish_unreachable_and_unauthorised() {
        let unauth = ClusterError::Unauthorized {
            server: "https://api".into(),
            source: status(401, "Unauthorized", "Unauthorized"),
        };
        assert_eq!(unauth.exit_code(), exit::CLUSTER);
        assert!(unauth.hint().unwrap().contains("oc login"));
        assert_eq!(
            api(status(401, "Unauthorized", "x")).exit_code(),
            exit::CLUSTER
        );
        assert_eq!(api(status(404, "NotFound", "x")).exit_code(), exit::FAILED);
        let ctx = ClusterError::UnknownContext {
            context: "prod".into(),
            available: vec!["a".into(), "b".into()],
        };
        assert_eq!(ctx.exit_code(), exit::USAGE);
        assert_eq!(ctx.hint().unwrap(), "available contexts: a, b");
    }

    #[test]
    fn field_rejections_name_the_object_and_each_field_path() {
        let obj = "`InferenceService/granite` in `demo`";
        // Server-side apply with fieldValidation=Strict (kube-apiserver: 500 without reason).
        let ssa = status(
            500,
            "",
            "failed to create typed patch object (demo/granite; serving.kserve.io/v1beta1, Kind=InferenceService): .spec.predictor.modle: field not declared in schema",
        );
        let e = ClusterError::api("apply", obj, ssa);
        assert!(!e.is_transient(), "a schema refusal is not retried");
        assert_eq!(
            e.to_string(),
            "the server rejected `InferenceService/granite` in `demo`: spec.predictor.modle: field not declared in schema"
        );
        assert_eq!(
            e.hint().unwrap(),
            "fix `spec.predictor.modle` in the manifest (a typo, or a field this version does not have); `kubectl explain inferenceservice.spec.predictor` lists the fields the server accepts"
        );
        let multi = status(
            500,
            "",
            "failed to create typed patch object (ns/u4; /v1, Kind=ConfigMap): errors:\n  .metadata.bogusMeta: field not declared in schema\n  .bogus: field not declared in schema",
        );
        let ClusterError::Rejected { fields, .. } =
            ClusterError::api("apply", "`ConfigMap/u4` in `ns`", multi)
        else {
            panic!("not a rejection");
        };
        assert_eq!(
            fields
                .problems
                .iter()
                .map(|(f, _)| f.as_str())
                .collect::<Vec<_>>(),
            ["metadata.bogusMeta", "bogus"]
        );
        // Create/update with fieldValidation=Strict.
        let strict = status(
            400,
            "BadRequest",
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogus\", duplicate field \"data\"",
        );
        let e = ClusterError::api("create", "`ConfigMap/u5` in `ns`", strict);
        assert_eq!(
            e.to_string(),
            "the server rejected `ConfigMap/u5` in `ns`: bogus: unknown field; data: duplicate field"
        );
        // 422 Invalid with causes.
        let mut invalid = Status::failure(
            "Pod \"p\" is invalid: spec.volumes[1].configMap.name: Required value",
            "Invalid",
        )
        .with_code(422);
        invalid.details = Some(kube::core::response::StatusDetails {
            name: "p".into(),
            group: String::new(),
            kind: "Pod".into(),
            uid: String::new(),
            causes: vec![kube::core::response::StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.volumes[1].configMap.name".into(),
            }],
            retry_after_seconds: 0,
        });
        let e = ClusterError::api(
            "create",
            "`Pod/p` in `ns`",
            kube::Error::Api(Box::new(invalid)),
        );
        assert_eq!(
            e.to_string(),
            "the server rejected `Pod/p` in `ns`: spec.volumes[1].configMap.name: Required value"
        );
        assert_eq!(
            e.hint().unwrap(),
            "fix `spec.volumes[1].configMap.name` in the manifest, then run again"
        );
        // Wrong type.
        let typed = status(
            400,
            "BadRequest",
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
        );
        let e = ClusterError::api("apply", "`Deployment/d` in `ns`", typed);
        assert_eq!(
            e.to_string(),
            "the server rejected `Deployment/d` in `ns`: spec.replicas: wrong type: expected int32, got string"
        );
        // Immutable fields and ordinary errors stay what they were.
        let immutable = status(
            422,
            "Invalid",
            "Job.batch \"j\" is invalid: spec.template: Invalid value: field is immutable",
        );
        assert!(matches!(
            ClusterError::api("apply", "`Job/j`", immutable),
            ClusterError::Api { .. }
        ));
        assert!(matches!(
            ClusterError::api("get", "`Job/j`", status(404, "NotFound", "not found")),
            ClusterError::Api { .. }
        ));
    }

    #[test]
    fn messages_do_not_repeat_their_source() {
        let e = api(status(
            503,
            "ServiceUnavailable",
            "the server is currently unable",
        ));
        let msg = e.to_string();
        assert_eq!(msg, "failed to apply `ConfigMap/x` in `demo`");
        assert!(!msg.contains("unable"));
    }
}
