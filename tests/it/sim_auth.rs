//! Identity and authorization through kube-rs over HTTP: impersonation (`Impersonate-User`,
//! `Impersonate-Group`) acts as another user whose permissions are RBAC's (bindings in the
//! store plus kube's bootstrap policy), with kube's 403 wording; the review kinds answer for
//! the request's identity with kube's reply layout and validation.

#![allow(clippy::unwrap_used)]

use democtl::sim::{ServerConfig, SimClock, SimServer};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

async fn server() -> SimServer {
    SimServer::start(ServerConfig {
        clock: SimClock::new(1000.0),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn acting_as(srv: &SimServer, user: &str, groups: &[&str]) -> Client {
    let mut cfg = srv.kube_config().unwrap();
    cfg.auth_info.impersonate = Some(user.to_string());
    if !groups.is_empty() {
        cfg.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
    }
    Client::try_from(cfg).unwrap()
}

/// (allowed, reason) of a SelfSubjectAccessReview.
async fn can_i(client: &Client, verb: &str, resource: &str, ns: Option<&str>) -> (bool, String) {
    let (group, resource) = match resource.split_once('.') {
        Some((r, g)) => (g, r),
        None => ("", resource),
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                namespace: ns.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let status = api
        .create(&PostParams::default(), &review)
        .await
        .unwrap()
        .status
        .unwrap();
    (status.allowed, status.reason.unwrap_or_default())
}

fn status(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

const NOBODY: &str = "system:serviceaccount:default:nobody";

#[tokio::test]
async fn an_impersonated_user_without_bindings_gets_rbacs_answers() {
    let srv = server().await;
    let nobody = acting_as(&srv, NOBODY, &[]);
    let secrets: Api<Secret> = Api::namespaced(nobody.clone(), "kube-system");
    let e = status(secrets.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "secrets is forbidden: User \"system:serviceaccount:default:nobody\" cannot list resource \"secrets\" in API group \"\" in the namespace \"kube-system\""
    );
    assert_eq!(
        can_i(&nobody, "list", "secrets", Some("kube-system")).await,
        (false, String::new())
    );
    // Every authenticated user may review itself (bootstrap system:basic-user).
    let (allowed, reason) = can_i(
        &nobody,
        "create",
        "selfsubjectaccessreviews.authorization.k8s.io",
        None,
    )
    .await;
    assert!(allowed);
    assert_eq!(
        reason,
        "RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of ClusterRole \"system:basic-user\" to Group \"system:authenticated\""
    );
    let who: Api<SelfSubjectReview> = Api::all(nobody.clone());
    let info = who
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .unwrap()
        .status
        .unwrap()
        .user_info
        .unwrap();
    assert_eq!(info.username.as_deref(), Some(NOBODY));
    assert_eq!(
        info.groups.unwrap(),
        [
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ]
    );
    // The token's own user is still the administrator.
    let admin = srv.client().unwrap();
    let (allowed, reason) = can_i(&admin, "list", "secrets", Some("kube-system")).await;
    assert!(allowed);
    assert!(
        reason.starts_with("RBAC: allowed by ClusterRoleBinding"),
        "{reason}"
    );
}

#[tokio::test]
async fn role_bindings_in_the_store_grant_an_impersonated_user() {
    let srv = server().await;
    let admin = srv.client().unwrap();
    let post = |kind: &str, plural: &str, body: Value| {
        let ar = kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
            plural,
        );
        let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), "default", &ar);
        let obj: DynamicObject = serde_json::from_value(body).unwrap();
        async move { api.create(&PostParams::default(), &obj).await.unwrap() }
    };
    post(
        "Role",
        "roles",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "secret-reader"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}),
    )
    .await;
    post("RoleBinding", "rolebindings", json!({"apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding", "metadata": {"name": "read-secrets"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "nobody", "namespace": "default"}]}))
    .await;
    let nobody = acting_as(&srv, NOBODY, &[]);
    let here: Api<Secret> = Api::namespaced(nobody.clone(), "default");
    here.list(&ListParams::default()).await.unwrap();
    let there: Api<Secret> = Api::namespaced(nobody.clone(), "kube-system");
    assert_eq!(
        status(there.list(&ListParams::default()).await.unwrap_err()).code,
        403
    );
    assert_eq!(
        can_i(&nobody, "list", "secrets", Some("default")).await,
        (
            true,
            "RBAC: allowed by RoleBinding \"read-secrets/default\" of Role \"secret-reader\" to ServiceAccount \"nobody/default\"".to_string()
        )
    );
    assert!(!can_i(&nobody, "delete", "secrets", Some("default")).await.0);
    // system:masters may do anything, and kube gives no RBAC reason for it.
    let master = acting_as(&srv, "root", &["system:masters"]);
    assert_eq!(
        can_i(&master, "delete", "nodes", None).await,
        (true, String::new())
    );
}

#[tokio::test]
async fn access_reviews_are_validated_and_laid_out_like_kubes() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let post = |body: Value| {
        let req =
            axum::http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes())
                .unwrap();
        let client = client.clone();
        async move { client.request_text(req).await }
    };
    let e = status(
        post(json!({"kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1", "spec": {}}))
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        ".authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified"
    );
    let text = post(json!({"kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}}))
    .await
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec", "status"]);
    assert!(v["metadata"].get("creationTimestamp").is_none(), "{v}");
    assert_eq!(
        v["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:spec": {"f:resourceAttributes": {".": {}, "f:resource": {}, "f:verb": {}}}})
    );
    assert_eq!(v["status"]["allowed"], true);
}

#[tokio::test]
async fn non_resource_reviews_follow_the_bootstrap_discovery_rules() {
    let srv = server().await;
    let review = |path: &str, verb: &str| {
        json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "spec": {"nonResourceAttributes": {"path": path, "verb": verb}}})
    };
    let ask = |client: Client, body: Value| async move {
        let req =
            axum::http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
                .header("content-type", "application/json")
                .body(body.to_string().into_bytes())
                .unwrap();
        let v: Value = serde_json::from_str(&client.request_text(req).await.unwrap()).unwrap();
        v["status"].clone()
    };
    let nobody = acting_as(&srv, NOBODY, &[]);
    let s = ask(nobody.clone(), review("/apis/apps", "get")).await;
    assert_eq!(s["allowed"], true);
    assert_eq!(
        s["reason"],
        "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\""
    );
    assert_eq!(
        ask(nobody, review("/metrics", "get")).await,
        json!({"allowed": false})
    );
    let admin = srv.client().unwrap();
    assert_eq!(ask(admin, review("/metrics", "get")).await["allowed"], true);
}
