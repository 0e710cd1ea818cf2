//! Who a request is and what it may do. The bearer token is the configured user (allowed
//! everything except the configured denied rules). With `Impersonate-User` (and
//! `Impersonate-Group`) headers the request acts as another user, as kube-apiserver's
//! impersonation filter does; that user's permissions are RBAC's: the ClusterRoleBindings and
//! RoleBindings in the store plus kube's bootstrap policy for the well-known groups
//! (`system:masters`: everything; `system:authenticated`: basic-user, discovery,
//! public-info-viewer; `system:serviceaccounts`: service-account-issuer-discovery).

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::config::ServerConfig;
use super::error::ApiError;
use super::store::{GroupResource, State};

const MASTERS: &str = "system:masters";
const AUTHENTICATED: &str = "system:authenticated";
const UNAUTHENTICATED: &str = "system:unauthenticated";
const ANONYMOUS: &str = "system:anonymous";
const SA_PREFIX: &str = "system:serviceaccount:";

/// The user a request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// User name.
    pub user: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Whether the request impersonates this user (then RBAC decides, not the denied rules).
    pub impersonated: bool,
}

impl Identity {
    /// The configured user of the bearer token.
    pub fn configured(cfg: &ServerConfig) -> Self {
        Identity {
            user: cfg.user.clone(),
            groups: cfg.groups.clone(),
            impersonated: false,
        }
    }

    fn in_group(&self, g: &str) -> bool {
        self.groups.iter().any(|x| x == g)
    }
}

/// What a request asks to do to a resource (RBAC's resource attributes).
#[derive(Clone, Copy, Debug)]
pub struct Attributes<'a> {
    /// Verb (`get`, `list`, `create`, …).
    pub verb: &'a str,
    /// API group (`""` for core).
    pub group: &'a str,
    /// Plural resource.
    pub resource: &'a str,
    /// Subresource.
    pub sub: Option<&'a str>,
    /// Object name.
    pub name: Option<&'a str>,
    /// Namespace (`None` at the cluster scope).
    pub namespace: Option<&'a str>,
}

/// An authorization decision; `reason` is RBAC's (`RBAC: allowed by …`), empty when none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Allowed.
    pub allowed: bool,
    /// Why (only for allows, as RBAC gives no reason for a denial).
    pub reason: String,
}

fn header_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

/// The identity of a request: the configured user, or the one it impersonates (after checking
/// the configured user may impersonate it).
pub fn identify(cfg: &ServerConfig, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let me = Identity::configured(cfg);
    let user = header_values(headers, "impersonate-user")
        .into_iter()
        .next();
    let mut groups = header_values(headers, "impersonate-group");
    let Some(user) = user else {
        if groups.is_empty() {
            return Ok(me);
        }
        return Err(ApiError::internal(format!(
            "requested {} without impersonating a user",
            groups
                .iter()
                .map(|g| format!("{{Group {g}}}"))
                .collect::<Vec<_>>()
                .join(" ")
        )));
    };
    // Impersonating needs the `impersonate` verb on what is impersonated.
    let sa = user
        .strip_prefix(SA_PREFIX)
        .and_then(|rest| rest.split_once(':'));
    let (resource, ns, name) = match sa {
        Some((ns, name)) => ("serviceaccounts", Some(ns), name),
        None => ("users", None, user.as_str()),
    };
    let mut wanted = vec![(resource, ns, name.to_string())];
    wanted.extend(groups.iter().map(|g| ("groups", None, g.clone())));
    for (resource, ns, name) in wanted {
        if cfg
            .denied
            .iter()
            .any(|r| r.matches("impersonate", "", resource, None, ns))
        {
            return Err(ApiError::forbidden(
                &me.user,
                "impersonate",
                "",
                resource,
                None,
                Some(&name),
                ns,
            ));
        }
    }
    if let Some((ns, _)) = sa
        && groups.is_empty()
    {
        groups = vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{ns}"),
        ];
    }
    if user != ANONYMOUS {
        if !groups
            .iter()
            .any(|g| g == AUTHENTICATED || g == UNAUTHENTICATED)
        {
            groups.push(AUTHENTICATED.to_string());
        }
    } else if !groups.iter().any(|g| g == UNAUTHENTICATED) {
        groups.push(UNAUTHENTICATED.to_string());
    }
    Ok(Identity {
        user,
        groups,
        impersonated: true,
    })
}

/// One RBAC rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    /// Verbs.
    pub verbs: Vec<String>,
    /// API groups.
    pub api_groups: Vec<String>,
    /// Resources (`pods`, `pods/log`, `*`).
    pub resources: Vec<String>,
    /// Resource names (empty: all).
    pub resource_names: Vec<String>,
    /// Non-resource URLs (`/healthz`, `/api/*`, `*`).
    pub non_resource_urls: Vec<String>,
}

impl Rule {
    fn from_json(v: &Value) -> Rule {
        let list = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        Rule {
            verbs: list("verbs"),
            api_groups: list("apiGroups"),
            resources: list("resources"),
            resource_names: list("resourceNames"),
            non_resource_urls: list("nonResourceURLs"),
        }
    }

    fn strs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    fn resources(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Rule {
        Rule {
            verbs: Self::strs(verbs),
            api_groups: Self::strs(groups),
            resources: Self::strs(resources),
            ..Rule::default()
        }
    }

    fn urls(urls: &[&str], verbs: &[&str]) -> Rule {
        Rule {
            verbs: Self::strs(verbs),
            non_resource_urls: Self::strs(urls),
            ..Rule::default()
        }
    }

    /// kube's `RuleAllows` for resource attributes.
    fn allows(&self, a: &Attributes) -> bool {
        let has = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || match a.sub {
                    None => r == a.resource,
                    Some(s) => *r == format!("{}/{s}", a.resource) || *r == format!("*/{s}"),
                }
        });
        has(&self.verbs, a.verb)
            && has(&self.api_groups, a.group)
            && resource_ok
            && (self.resource_names.is_empty()
                || a.name
                    .is_some_and(|n| self.resource_names.iter().any(|x| x == n)))
    }

    /// kube's `NonResourceURLMatches` with the verb.
    fn allows_url(&self, path: &str, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == verb)
            && self.non_resource_urls.iter().any(|u| {
                u == "*"
                    || u == path
                    || u.strip_suffix('*')
                        .is_some_and(|prefix| path.starts_with(prefix))
            })
    }

    /// The rule as a SelfSubjectRulesReview lists it.
    fn resource_json(&self) -> Value {
        let mut v = json!({"verbs": self.verbs, "apiGroups": self.api_groups,
            "resources": self.resources});
        if !self.resource_names.is_empty() {
            v["resourceNames"] = json!(self.resource_names);
        }
        v
    }
}

/// A role bound to a subject: where it comes from (for RBAC's reason) and its rules.
struct Grant {
    source: String,
    rules: Vec<Rule>,
}

/// kube's bootstrap ClusterRoleBindings to groups (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`).
fn bootstrap() -> Vec<(&'static str, &'static str, Vec<Rule>)> {
    let discovery = [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
    ];
    let public = ["/healthz", "/livez", "/readyz", "/version", "/version/"];
    let issuer = [
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/",
        "/openid/v1/jwks",
        "/openid/v1/jwks/",
    ];
    vec![
        (
            "cluster-admin",
            MASTERS,
            vec![
                Rule::resources(&["*"], &["*"], &["*"]),
                Rule::urls(&["*"], &["*"]),
            ],
        ),
        (
            "system:basic-user",
            AUTHENTICATED,
            vec![
                Rule::resources(
                    &["authorization.k8s.io"],
                    &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    &["create"],
                ),
                Rule::resources(
                    &["authentication.k8s.io"],
                    &["selfsubjectreviews"],
                    &["create"],
                ),
            ],
        ),
        (
            "system:discovery",
            AUTHENTICATED,
            vec![Rule::urls(&discovery, &["get"])],
        ),
        (
            "system:public-info-viewer",
            AUTHENTICATED,
            vec![Rule::urls(&public, &["get"])],
        ),
        (
            "system:public-info-viewer",
            UNAUTHENTICATED,
            vec![Rule::urls(&public, &["get"])],
        ),
        (
            "system:service-account-issuer-discovery",
            "system:serviceaccounts",
            vec![Rule::urls(&issuer, &["get"])],
        ),
    ]
}

/// RBAC's description of a subject (`describeSubject`).
fn describe_subject(s: &Value, binding_ns: &str) -> String {
    let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = s.get("name").and_then(Value::as_str).unwrap_or("");
    if kind == "ServiceAccount" {
        let ns = s
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(binding_ns);
        return format!("{kind} {:?}", format!("{name}/{ns}"));
    }
    format!("{kind} {name:?}")
}

fn subject_matches(s: &Value, id: &Identity, binding_ns: &str) -> bool {
    let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = s.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "User" => id.user == name,
        "Group" => id.in_group(name),
        "ServiceAccount" => {
            let ns = s
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            id.user == format!("{SA_PREFIX}{ns}:{name}")
        }
        _ => false,
    }
}

fn role_rules(st: &State, kind: &str, name: &str, ns: &str) -> Vec<Rule> {
    let (resource, ns) = if kind == "Role" {
        ("roles", ns)
    } else {
        ("clusterroles", "")
    };
    st.get(
        &GroupResource::new("rbac.authorization.k8s.io", resource),
        ns,
        name,
    )
    .and_then(|r| r.get("rules").and_then(Value::as_array).cloned())
    .map(|rules| rules.iter().map(Rule::from_json).collect())
    .unwrap_or_default()
}

/// Everything bound to `id` for a namespace (`None`: cluster-scoped bindings only), in RBAC's
/// visiting order: ClusterRoleBindings (bootstrap policy first), then RoleBindings.
fn grants(st: &State, id: &Identity, namespace: Option<&str>) -> Vec<Grant> {
    let mut out = vec![];
    for (name, group, rules) in bootstrap() {
        if id.in_group(group) {
            out.push(Grant {
                source: format!(
                    "ClusterRoleBinding {name:?} of ClusterRole {name:?} to Group {group:?}"
                ),
                rules,
            });
        }
    }
    let bindings = |resource: &str, ns: Option<&str>| {
        st.list(
            &GroupResource::new("rbac.authorization.k8s.io", resource),
            ns,
        )
    };
    let mut visit = |b: &Value, ns: &str| {
        let name = b
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let role_kind = b
            .pointer("/roleRef/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        let role = b
            .pointer("/roleRef/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let subjects = b.get("subjects").and_then(Value::as_array);
        for s in subjects.into_iter().flatten() {
            if subject_matches(s, id, ns) {
                let binding = if ns.is_empty() {
                    format!("ClusterRoleBinding {name:?}")
                } else {
                    format!("RoleBinding {:?}", format!("{name}/{ns}"))
                };
                out.push(Grant {
                    source: format!(
                        "{binding} of {role_kind} {role:?} to {}",
                        describe_subject(s, ns)
                    ),
                    rules: role_rules(st, role_kind, role, ns),
                });
                break;
            }
        }
    };
    for b in bindings("clusterrolebindings", None) {
        visit(&b, "");
    }
    if let Some(ns) = namespace {
        for b in bindings("rolebindings", Some(ns)) {
            visit(&b, ns);
        }
    }
    out
}

/// Whether `id` may do `a`. The configured user: everything but the denied rules, with RBAC's
/// reason for its groups (none for `system:masters`, which kube allows before RBAC). An
/// impersonated user: RBAC.
pub fn authorize(st: &State, cfg: &ServerConfig, id: &Identity, a: &Attributes) -> Decision {
    if !id.impersonated {
        let denied = cfg
            .denied
            .iter()
            .any(|r| r.matches(a.verb, a.group, a.resource, a.sub, a.namespace));
        if denied {
            return Decision {
                allowed: false,
                reason: String::new(),
            };
        }
    }
    if id.in_group(MASTERS) {
        return Decision {
            allowed: true,
            reason: String::new(),
        };
    }
    for g in grants(st, id, a.namespace) {
        if g.rules.iter().any(|r| r.allows(a)) {
            return Decision {
                allowed: true,
                reason: format!("RBAC: allowed by {}", g.source),
            };
        }
    }
    if !id.impersonated {
        // The configured user is an administrator even without a binding in the store (an
        // OpenShift kube:admin is bound through the system:cluster-admins group).
        let group = id
            .groups
            .iter()
            .find(|g| g.as_str() != AUTHENTICATED)
            .cloned()
            .unwrap_or_else(|| AUTHENTICATED.to_string());
        return Decision {
            allowed: true,
            reason: format!(
                "RBAC: allowed by ClusterRoleBinding \"cluster-admins\" of ClusterRole \"cluster-admin\" to Group {group:?}"
            ),
        };
    }
    Decision {
        allowed: false,
        reason: String::new(),
    }
}

/// Whether `id` may `verb` the non-resource URL `path` (`/healthz`, `/apis/*`): the configured
/// user always, an impersonated one by RBAC.
pub fn authorize_url(st: &State, id: &Identity, path: &str, verb: &str) -> Decision {
    if !id.impersonated || id.in_group(MASTERS) {
        return Decision {
            allowed: true,
            reason: String::new(),
        };
    }
    for g in grants(st, id, None) {
        if g.rules.iter().any(|r| r.allows_url(path, verb)) {
            return Decision {
                allowed: true,
                reason: format!("RBAC: allowed by {}", g.source),
            };
        }
    }
    Decision {
        allowed: false,
        reason: String::new(),
    }
}

/// The `status` of a SelfSubjectRulesReview for `id` in `namespace`: the rules of everything
/// bound to it (the configured user also has cluster-admin's).
pub fn rules_review(st: &State, id: &Identity, namespace: Option<&str>) -> Value {
    let mut rules: Vec<Rule> = vec![];
    if !id.impersonated && !id.in_group(MASTERS) {
        rules.push(Rule::resources(&["*"], &["*"], &["*"]));
        rules.push(Rule::urls(&["*"], &["*"]));
    }
    for g in grants(st, id, namespace) {
        rules.extend(g.rules);
    }
    let resource: Vec<Value> = rules
        .iter()
        .filter(|r| r.non_resource_urls.is_empty())
        .map(Rule::resource_json)
        .collect();
    let non_resource: Vec<Value> = rules
        .iter()
        .filter(|r| !r.non_resource_urls.is_empty())
        .map(|r| json!({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls}))
        .collect();
    json!({"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": false})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn impersonated_service_accounts_get_their_groups() {
        let cfg = ServerConfig::default();
        let id = identify(&cfg, &headers(&[])).unwrap();
        assert!(!id.impersonated);
        let id = identify(
            &cfg,
            &headers(&[("impersonate-user", "system:serviceaccount:default:nobody")]),
        )
        .unwrap();
        assert_eq!(
            id.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:default",
                "system:authenticated"
            ]
        );
        let id = identify(
            &cfg,
            &headers(&[("impersonate-user", "alice"), ("impersonate-group", "devs")]),
        )
        .unwrap();
        assert_eq!(id.groups, ["devs", "system:authenticated"]);
        let e = identify(&cfg, &headers(&[("impersonate-group", "devs")])).unwrap_err();
        assert_eq!(e.code, 500);
    }

    #[test]
    fn rules_match_like_rbac() {
        let r = Rule::resources(&[""], &["pods", "*/status"], &["get"]);
        let a = |verb, resource, sub| Attributes {
            verb,
            group: "",
            resource,
            sub,
            name: None,
            namespace: Some("ns"),
        };
        assert!(r.allows(&a("get", "pods", None)));
        assert!(r.allows(&a("get", "deployments", Some("status"))));
        assert!(!r.allows(&a("get", "pods", Some("log"))));
        assert!(!r.allows(&a("list", "pods", None)));
        let u = Rule::urls(&["/apis/*", "/healthz"], &["get"]);
        assert!(u.allows_url("/apis/apps/v1", "get"));
        assert!(u.allows_url("/healthz", "get"));
        assert!(!u.allows_url("/healthz/etcd", "get"));
        assert!(!u.allows_url("/healthz", "post"));
    }
}
