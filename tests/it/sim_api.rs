//! The simulated API server driven through kube-rs over HTTP: discovery, CRUD, patches,
//! server-side apply, watches, deletion semantics, errors, auth, faults, logs, persistence.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use democtl::sim::{ServerConfig, SimClock, SimServer};
use futures::{StreamExt, TryStreamExt};
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::discovery::Discovery;
use serde_json::{Value, json};

/// A server whose CRDs are established almost at once and whose clock runs fast.
async fn server() -> SimServer {
    server_with(ServerConfig::default()).await
}

async fn server_with(mut cfg: ServerConfig) -> SimServer {
    cfg.clock = SimClock::new(1000.0);
    cfg.crd_establish_delay = Duration::from_secs(1);
    SimServer::start(cfg).await.unwrap()
}

fn cm_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "ConfigMap"), "configmaps")
}

fn cms(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &cm_resource())
}

fn obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

fn cm(name: &str, data: Value) -> DynamicObject {
    obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}))
}

/// The status body of a kube API error.
fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// One raw request through the kube client's HTTP stack: (status code, content type, body).
async fn raw(client: &Client, method: &str, path: &str, body: &[u8]) -> (u16, String, String) {
    raw_accept(client, method, path, body, "application/json").await
}

async fn raw_accept(
    client: &Client,
    method: &str,
    path: &str,
    body: &[u8],
    accept: &str,
) -> (u16, String, String) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(kube::client::Body::from(body.to_vec()))
        .unwrap();
    let resp = client.send(req).await.unwrap();
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.into_body().collect_bytes().await.unwrap();
    (
        code,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn rv(o: &DynamicObject) -> u64 {
    o.metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

const WIDGET_CRD: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.example.com"},
  "spec": {"group": "example.com", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}"#;

fn crd_api(client: &Client) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    Api::all_with(client.clone(), &ar)
}

fn widgets(client: &Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    );
    Api::namespaced_with(client.clone(), ns, &ar)
}

/// Creates the Widget CRD and waits (by watching) until it is Established.
async fn install_widgets(client: &Client) {
    let crds = crd_api(client);
    crds.create(
        &PostParams::default(),
        &obj(serde_json::from_str(WIDGET_CRD).unwrap()),
    )
    .await
    .unwrap();
    let cond = |o: Option<&DynamicObject>| {
        o.and_then(|o| o.data.pointer("/status/conditions"))
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
            })
    };
    tokio::time::timeout(
        Duration::from_secs(20),
        kube::runtime::wait::await_condition(crds, "widgets.example.com", cond),
    )
    .await
    .unwrap()
    .unwrap();
}

#[tokio::test]
async fn discovery_lists_builtins_and_established_crds() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let v = client.apiserver_version().await.unwrap();
    assert_eq!(v.git_version, "v1.33.5");
    let d = Discovery::new(client.clone()).run().await.unwrap();
    let (ar, caps) = d
        .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
        .unwrap();
    assert_eq!(ar.plural, "deployments");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let subs: Vec<_> = caps
        .subresources
        .iter()
        .map(|(s, _)| s.plural.clone())
        .collect();
    assert!(
        subs.contains(&"deployments/scale".to_string()) || subs.contains(&"scale".to_string()),
        "{subs:?}"
    );
    assert!(
        d.resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget"))
            .is_none()
    );

    install_widgets(&client).await;
    let d = Discovery::new(client.clone()).run().await.unwrap();
    let (ar, _) = d
        .resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget"))
        .unwrap();
    assert_eq!(ar.plural, "widgets");
    // Aggregated discovery must see the same kinds (never a silent empty result).
    let agg = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    assert!(
        agg.resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget"))
            .is_some()
    );
    assert!(
        agg.resolve_gvk(&GroupVersionKind::gvk("", "v1", "Pod"))
            .is_some()
    );
    assert!(
        agg.resolve_gvk(&GroupVersionKind::gvk("batch", "v1", "Job"))
            .is_some()
    );
}

#[tokio::test]
async fn create_get_list_update_delete_with_resource_versions() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let a = api
        .create(&PostParams::default(), &cm("a", json!({"k": "1"})))
        .await
        .unwrap();
    let uid = a.metadata.uid.clone().unwrap();
    assert!(a.metadata.creation_timestamp.is_some());
    let b = api
        .create(&PostParams::default(), &cm("b", json!({})))
        .await
        .unwrap();
    assert_eq!(rv(&b), rv(&a) + 1, "one global counter");
    let got = api.get("a").await.unwrap();
    assert_eq!(got.metadata.uid.as_deref(), Some(uid.as_str()));
    let list = api.list(&ListParams::default()).await.unwrap();
    // Every namespace also holds the root-CA ConfigMap kube-controller-manager publishes.
    let names: Vec<_> = list
        .items
        .iter()
        .map(|o| o.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "kube-root-ca.crt"]);
    assert_eq!(
        list.metadata.resource_version.as_deref(),
        Some(rv(&b).to_string().as_str())
    );

    // AlreadyExists.
    let e = api_err(
        api.create(&PostParams::default(), &cm("a", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (409, "AlreadyExists", "configmaps \"a\" already exists")
    );

    // Update with a stale resourceVersion → Conflict; with the current one → ok.
    let mut stale = a.clone();
    stale.data["data"]["k"] = json!("2");
    let mut fresh = api.get("a").await.unwrap();
    fresh.data["data"]["k"] = json!("3");
    let updated = api
        .replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(updated.data["data"]["k"], "3");
    assert!(rv(&updated) > rv(&b));
    let e = api_err(
        api.replace("a", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "Conflict");
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // Delete, then NotFound.
    let gone = api.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(gone.is_right(), "deleted at once: a Status");
    let e = api_err(api.get("a").await.unwrap_err());
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (404, "NotFound", "configmaps \"a\" not found")
    );
}

#[tokio::test]
async fn server_side_apply_owns_fields_conflicts_and_removes() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let applied = api
        .patch(
            "cfg",
            &PatchParams::apply("alice"),
            &Patch::Apply(cm("cfg", json!({"a": "1", "b": "2"}))),
        )
        .await
        .unwrap();
    let mf = applied.metadata.managed_fields.clone().unwrap();
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("alice"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    assert_eq!(
        mf[0].fields_v1.as_ref().unwrap().0,
        json!({"f:data": {"f:a": {}, "f:b": {}}})
    );

    // bob applies a different value for `a` → conflict naming alice and the field.
    let e = api_err(
        api.patch(
            "cfg",
            &PatchParams::apply("bob"),
            &Patch::Apply(cm("cfg", json!({"a": "9"}))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, "Conflict");
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"alice\": .data.a"
    );
    let causes = e.details.unwrap().causes;
    assert_eq!(causes[0].field, ".data.a");
    assert_eq!(causes[0].reason, "FieldManagerConflict");

    // force takes it over.
    let forced = api
        .patch(
            "cfg",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(cm("cfg", json!({"a": "9"}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data["data"], json!({"a": "9", "b": "2"}));

    // alice stops applying `b` (and `a` is bob's now): `b` is removed.
    let after = api
        .patch(
            "cfg",
            &PatchParams::apply("alice"),
            &Patch::Apply(obj(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}),
            )),
        )
        .await
        .unwrap();
    assert_eq!(after.data["data"], json!({"a": "9"}));
    let managers: Vec<_> = after
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["bob"]);

    // dry run changes nothing.
    let before = api.get("cfg").await.unwrap();
    let dry = api
        .patch(
            "cfg",
            &PatchParams::apply("bob").dry_run(),
            &Patch::Apply(cm("cfg", json!({"a": "10"}))),
        )
        .await
        .unwrap();
    assert_eq!(dry.data["data"]["a"], "10");
    let now = api.get("cfg").await.unwrap();
    assert_eq!(now.data["data"]["a"], "9");
    assert_eq!(rv(&now), rv(&before));
}

#[tokio::test]
async fn watch_streams_events_from_a_resource_version() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let a = api
        .create(&PostParams::default(), &cm("w", json!({})))
        .await
        .unwrap();
    let start = a.metadata.resource_version.clone().unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), &start)
        .await
        .unwrap()
        .boxed();
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"x": "1"}})),
    )
    .await
    .unwrap();
    api.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = vec![];
    while let Some(ev) = stream.try_next().await.unwrap() {
        match ev {
            WatchEvent::Modified(o) => seen.push(("MODIFIED", rv(&o))),
            WatchEvent::Deleted(o) => {
                seen.push(("DELETED", rv(&o)));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let base: u64 = start.parse().unwrap();
    assert_eq!(seen, vec![("MODIFIED", base + 1), ("DELETED", base + 2)]);
}

#[tokio::test]
async fn custom_resources_are_served_after_establishment() {
    let srv = server().await;
    let client = srv.client().unwrap();
    install_widgets(&client).await;
    let api = widgets(&client, "default");
    let w = obj(
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"},
        "spec": {"size": 1}, "status": {"ignored": true}}),
    );
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );
    let patched = api
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}, "status": {"x": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));
    assert!(
        patched.data.get("status").is_none(),
        "main resource ignores status"
    );
    let st = api
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}, "spec": {"size": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(st.data["status"], json!({"ready": true}));
    assert_eq!(st.data["spec"]["size"], 2, "status writes ignore spec");
    assert_eq!(st.metadata.generation, Some(2));
}

fn deploy_json(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "side", "image": "busybox"}]}}}})
}

fn deploys(client: &Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apps", "v1", "Deployment"),
        "deployments",
    );
    Api::namespaced_with(client.clone(), ns, &ar)
}

#[tokio::test]
async fn patch_types_merge_json_and_strategic() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = deploys(&client, "default");
    api.create(&PostParams::default(), &obj(deploy_json("web")))
        .await
        .unwrap();
    // Strategic merge: containers merge by name (side is kept).
    let p = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}}}})))
        .await
        .unwrap();
    let images: Vec<&str> = p.data["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap())
        .collect();
    assert_eq!(images, vec!["nginx:2", "busybox"]);
    assert_eq!(p.metadata.generation, Some(2));
    // JSON merge: the list is replaced.
    let p = api
        .patch("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:3"}]}}}})))
        .await
        .unwrap();
    assert_eq!(
        p.data["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // JSON patch (RFC 6902), including a failing test operation.
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/replicas", "value": 4}]))
            .unwrap();
    let p = api
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(p.data["spec"]["replicas"], 4);
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/replicas", "value": 9}]))
            .unwrap();
    let e = api_err(
        api.patch("web", &PatchParams::default(), &Patch::<()>::Json(ops))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    // Writes through the main resource never change status; the status subresource does.
    let p = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 7}})),
        )
        .await
        .unwrap();
    assert!(p.data.get("status").is_none());
    let p = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 7}})),
        )
        .await
        .unwrap();
    assert_eq!(p.data["status"]["replicas"], 7);
    // Patching a missing object is 404.
    let e = api_err(
        api.patch("nope", &PatchParams::default(), &Patch::Merge(json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "deployments.apps \"nope\" not found")
    );
    // The scale subresource.
    let scale = api.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(4));
    assert_eq!(
        scale.status.unwrap().selector.as_deref(),
        Some("app=web"),
        "the Deployment's label selector as a string"
    );
    // A subresource the resource does not have is an unknown path (404), not 405.
    let e = api_err(
        cms(&client, "default")
            .patch_status("x", &PatchParams::default(), &Patch::Merge(json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "the server could not find the requested resource")
    );
    let scaled = api
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(2));
    assert_eq!(api.get("web").await.unwrap().data["spec"]["replicas"], 2);
}

#[tokio::test]
async fn strategic_merge_is_unsupported_for_custom_resources() {
    let srv = server().await;
    let client = srv.client().unwrap();
    install_widgets(&client).await;
    let api = widgets(&client, "default");
    api.create(
        &PostParams::default(),
        &obj(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})),
    )
    .await
    .unwrap();
    let e = api_err(
        api.patch(
            "w",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (415, "UnsupportedMediaType"));
}

#[tokio::test]
async fn selectors_pagination_and_generate_name() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web"), ("d", "cache")] {
        let mut o = cm(name, json!({}));
        o.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
        api.create(&PostParams::default(), &o).await.unwrap();
    }
    let names = |l: kube::core::ObjectList<DynamicObject>| -> Vec<String> {
        l.items
            .into_iter()
            .map(|o| o.metadata.name.unwrap())
            .collect()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier=web"))
                .await
                .unwrap()
        ),
        vec!["a", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier in (db,cache)"))
                .await
                .unwrap()
        ),
        vec!["b", "d"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier!=web"))
                .await
                .unwrap()
        ),
        vec!["b", "d", "kube-root-ca.crt"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=c"))
                .await
                .unwrap()
        ),
        vec!["c"]
    );
    let e = api_err(
        api.list(&ListParams::default().fields("spec.x=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "field label not supported: spec.x")
    );
    // limit/continue.
    let page1 = api.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(names(page1.clone()), vec!["a", "b", "c"]);
    assert_eq!(page1.metadata.remaining_item_count, Some(2));
    let token = page1.metadata.continue_.clone().unwrap();
    let page2 = api
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(page2.clone()), vec!["d", "kube-root-ca.crt"]);
    assert!(page2.metadata.continue_.is_none());
    // generateName.
    let g =
        obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}}));
    let made = api.create(&PostParams::default(), &g).await.unwrap();
    let name = made.metadata.name.unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    // All-namespace list: the five here and the root-CA ConfigMap of each of the three
    // namespaces every cluster starts with.
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &cm_resource());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        8
    );
}

#[tokio::test]
async fn invalid_objects_get_422_with_causes_and_bad_input_400() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let e = api_err(
        api.create(
            &PostParams::default(),
            &obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    assert_eq!(e.reason, "Invalid");
    assert_eq!(
        e.message,
        "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    let causes = e.details.unwrap().causes;
    assert_eq!(
        (causes[0].reason.as_str(), causes[0].field.as_str()),
        ("FieldValueRequired", "metadata.name")
    );
    let e = api_err(
        api.create(&PostParams::default(), &cm("Bad_Name", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    assert!(e.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", e.message);
    let e = api_err(
        api.create(&PostParams::default(), &cm("x", json!({"n": 1})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    assert_eq!(e.reason, "BadRequest");
    let pods: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Pod"), "pods"),
    );
    let e = api_err(
        pods.create(
            &PostParams::default(),
            &obj(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        e.message,
        "Pod \"p\" is invalid: spec.containers: Required value"
    );
    // Creating in a missing namespace.
    let e = api_err(
        cms(&client, "nope")
            .create(&PostParams::default(), &cm("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "namespaces \"nope\" not found")
    );
    // dryRun create stores nothing.
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let dry = api.create(&pp, &cm("dry", json!({}))).await.unwrap();
    assert!(dry.metadata.uid.is_some());
    assert_eq!(api_err(api.get("dry").await.unwrap_err()).code, 404);
}

#[tokio::test]
async fn auth_denied_permissions_and_reviews() {
    let mut cfg = ServerConfig {
        user: "developer".into(),
        groups: vec!["system:authenticated".into()],
        ..Default::default()
    };
    cfg.denied = vec![democtl::sim::PermissionRule {
        verbs: vec!["create".into(), "delete".into()],
        api_groups: vec!["".into()],
        resources: vec!["configmaps".into()],
        namespaces: vec![],
    }];
    let srv = server_with(cfg).await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let e = api_err(
        api.create(&PostParams::default(), &cm("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 403);
    assert_eq!(e.reason, "Forbidden");
    assert_eq!(
        e.message,
        "configmaps is forbidden: User \"developer\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    assert!(
        api.list(&ListParams::default()).await.is_ok(),
        "list is allowed"
    );

    // SelfSubjectAccessReview answers accordingly.
    let ssar_api: Api<k8s_openapi::api::authorization::v1::SelfSubjectAccessReview> =
        Api::all(client.clone());
    let review = |verb: &str| {
        serde_json::from_value::<k8s_openapi::api::authorization::v1::SelfSubjectAccessReview>(json!({
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "default", "verb": verb, "resource": "configmaps"}}}))
        .unwrap()
    };
    let denied = ssar_api
        .create(&PostParams::default(), &review("delete"))
        .await
        .unwrap();
    assert!(!denied.status.unwrap().allowed);
    let allowed = ssar_api
        .create(&PostParams::default(), &review("get"))
        .await
        .unwrap();
    assert!(allowed.status.unwrap().allowed);

    // SelfSubjectReview returns the user.
    let ssr_api: Api<k8s_openapi::api::authentication::v1::SelfSubjectReview> =
        Api::all(client.clone());
    let me = ssr_api
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let user = me.status.unwrap().user_info.unwrap();
    assert_eq!(user.username.as_deref(), Some("developer"));
    assert_eq!(user.groups, Some(vec!["system:authenticated".to_string()]));

    // A wrong token is 401.
    let mut bad = srv.kube_config().unwrap();
    bad.auth_info.token = Some("wrong".to_string().into());
    let bad = Client::try_from(bad).unwrap();
    let e = api_err(
        cms(&bad, "default")
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (401, "Unauthorized", "Unauthorized")
    );
}

async fn next_event(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<DynamicObject>>> + Unpin),
) -> (String, String) {
    let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match ev {
        WatchEvent::Added(o) => ("ADDED".into(), o.metadata.name.unwrap()),
        WatchEvent::Modified(o) => ("MODIFIED".into(), o.metadata.name.unwrap()),
        WatchEvent::Deleted(o) => ("DELETED".into(), o.metadata.name.unwrap()),
        WatchEvent::Bookmark(b) => ("BOOKMARK".into(), b.metadata.resource_version),
        WatchEvent::Error(e) => (format!("ERROR {}", e.code), e.message),
    }
}

#[tokio::test]
async fn watch_initial_state_selectors_bookmarks_and_expiry() {
    let srv = server_with(ServerConfig {
        event_window: 5,
        ..Default::default()
    })
    .await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let first = api
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    // resourceVersion "0": synthetic ADDED for the current state, then live events.
    let mut s = api
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .unwrap()
        .boxed();
    assert_eq!(next_event(&mut s).await, ("ADDED".into(), "a".into()));
    assert_eq!(
        next_event(&mut s).await,
        ("ADDED".into(), "kube-root-ca.crt".into())
    );
    // A label-selected watch sees objects enter (ADDED) and leave (DELETED) the selection.
    let mut sel = api
        .watch(
            &WatchParams::default().labels("on=yes").timeout(10),
            &first.metadata.resource_version.clone().unwrap(),
        )
        .await
        .unwrap()
        .boxed();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"on": "yes"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"on": null}}})),
    )
    .await
    .unwrap();
    assert_eq!(next_event(&mut sel).await, ("ADDED".into(), "a".into()));
    assert_eq!(next_event(&mut sel).await, ("MODIFIED".into(), "a".into()));
    assert_eq!(next_event(&mut sel).await, ("DELETED".into(), "a".into()));
    assert_eq!(next_event(&mut s).await, ("MODIFIED".into(), "a".into()));
    // Bookmarks: one at the end of a watch that allows them.
    let last = api.get("a").await.unwrap();
    let mut bm = api
        .watch(
            &WatchParams::default().timeout(1),
            &last.metadata.resource_version.clone().unwrap(),
        )
        .await
        .unwrap()
        .boxed();
    assert_eq!(
        next_event(&mut bm).await,
        (
            "BOOKMARK".into(),
            last.metadata.resource_version.clone().unwrap()
        )
    );
    // More writes than the event window: watching from the first resourceVersion is 410 Expired.
    for i in 0..6 {
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"i": i.to_string()}})),
        )
        .await
        .unwrap();
    }
    let mut old = api
        .watch(
            &WatchParams::default().timeout(5),
            &first.metadata.resource_version.clone().unwrap(),
        )
        .await
        .unwrap()
        .boxed();
    let (kind, msg) = next_event(&mut old).await;
    assert_eq!(kind, "ERROR 410");
    assert!(
        msg.starts_with(&format!("too old resource version: {} (", rv(&first))),
        "{msg}"
    );
    // kube's watcher recovers from 410 by relisting.
    let w = kube::runtime::watcher(api.clone(), kube::runtime::watcher::Config::default());
    let objs: Vec<_> = kube::runtime::WatchStreamExt::applied_objects(w)
        .take(1)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(objs[0].metadata.name.as_deref(), Some("a"));
}

#[tokio::test]
async fn finalizers_keep_objects_until_removed() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let mut o = cm("held", json!({}));
    o.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &o).await.unwrap();
    let pending = api.delete("held", &DeleteParams::default()).await.unwrap();
    let pending = pending.left().expect("still there: the object");
    assert!(pending.metadata.deletion_timestamp.is_some());
    let still = api.get("held").await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());
    // No new finalizers while deleting.
    let e = api_err(
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["example.com/hold", "x/y"]}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    let cleared = api
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    assert!(cleared.metadata.finalizers.is_none());
    assert_eq!(api_err(api.get("held").await.unwrap_err()).code, 404);
}

#[tokio::test]
async fn owner_references_garbage_collection_and_propagation() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let make_owned = |name: &str, owner: &DynamicObject| {
        let mut o = cm(name, json!({}));
        o.metadata.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: owner.metadata.name.clone().unwrap(),
                uid: owner.metadata.uid.clone().unwrap(),
                ..Default::default()
            },
        ]);
        o
    };
    // Background (default): dependents are collected.
    let owner = api
        .create(&PostParams::default(), &cm("owner", json!({})))
        .await
        .unwrap();
    api.create(&PostParams::default(), &make_owned("dep", &owner))
        .await
        .unwrap();
    api.create(
        &PostParams::default(),
        &make_owned("dep2", &api.get("dep").await.unwrap()),
    )
    .await
    .unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    assert_eq!(api_err(api.get("dep").await.unwrap_err()).code, 404);
    assert_eq!(
        api_err(api.get("dep2").await.unwrap_err()).code,
        404,
        "cascades"
    );
    // Orphan: dependents stay, without the owner reference.
    let owner = api
        .create(&PostParams::default(), &cm("owner2", json!({})))
        .await
        .unwrap();
    api.create(&PostParams::default(), &make_owned("kept", &owner))
        .await
        .unwrap();
    api.delete("owner2", &DeleteParams::orphan()).await.unwrap();
    assert!(
        api.get("kept")
            .await
            .unwrap()
            .metadata
            .owner_references
            .is_none()
    );
    // Foreground: the owner waits (foregroundDeletion) until its dependents are gone.
    let owner = api
        .create(&PostParams::default(), &cm("owner3", json!({})))
        .await
        .unwrap();
    let mut held = make_owned("held-dep", &owner);
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    let pending = api
        .delete("owner3", &DeleteParams::foreground())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(
        pending.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_string()])
    );
    assert!(
        api.get("held-dep")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    // A dependent created while its owner waits for its dependents (a controller acting on a
    // stale cache) is deleted by the collector, as kube's: it does not hold the owner back.
    let pending = api.get("owner3").await.unwrap();
    api.create(&PostParams::default(), &make_owned("late-dep", &pending))
        .await
        .unwrap();
    assert_eq!(api_err(api.get("late-dep").await.unwrap_err()).code, 404);
    api.patch(
        "held-dep",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(api_err(api.get("held-dep").await.unwrap_err()).code, 404);
    assert_eq!(api_err(api.get("owner3").await.unwrap_err()).code, 404);
    // deletecollection with a selector.
    for n in ["x1", "x2"] {
        let mut o = cm(n, json!({}));
        o.metadata.labels = Some([("batch".to_string(), "x".to_string())].into());
        api.create(&PostParams::default(), &o).await.unwrap();
    }
    let deleted = api
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("batch=x"),
        )
        .await
        .unwrap();
    assert_eq!(deleted.left().unwrap().items.len(), 2);
    assert!(
        api.list(&ListParams::default().labels("batch=x"))
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn namespace_termination_reports_remaining_content() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "demo"}})).unwrap(),
    )
    .await
    .unwrap();
    let api = cms(&client, "demo");
    api.create(&PostParams::default(), &cm("plain", json!({})))
        .await
        .unwrap();
    let mut held = cm("held", json!({}));
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    let ns = nss
        .delete("demo", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
    // New content is refused while terminating.
    let e = api_err(
        api.create(&PostParams::default(), &cm("late", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "configmaps \"late\" is forbidden: unable to create new content in namespace demo because it is being terminated"
    );
    // The namespace controller deletes what it can and reports what remains.
    let cond = |o: Option<&k8s_openapi::api::core::v1::Namespace>| {
        o.and_then(|n| n.status.as_ref()?.conditions.clone())
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "NamespaceFinalizersRemaining" && c.status == "True")
            })
    };
    tokio::time::timeout(
        Duration::from_secs(10),
        kube::runtime::wait::await_condition(nss.clone(), "demo", cond),
    )
    .await
    .unwrap()
    .unwrap();
    let ns = nss.get("demo").await.unwrap();
    let conds = ns.status.unwrap().conditions.unwrap();
    let by = |t: &str| conds.iter().find(|c| c.type_ == t).unwrap().clone();
    assert_eq!(
        by("NamespaceContentRemaining").message.as_deref(),
        Some("Some resources are remaining: configmaps. has 1 resource instances")
    );
    assert_eq!(
        by("NamespaceFinalizersRemaining").message.as_deref(),
        Some(
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        )
    );
    assert_eq!(api_err(api.get("plain").await.unwrap_err()).code, 404);
    // Removing the last finalizer lets the namespace go.
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let e = api_err(nss.get("demo").await.unwrap_err());
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "namespaces \"demo\" not found")
    );
}

fn pods(client: &Client) -> Api<k8s_openapi::api::core::v1::Pod> {
    Api::namespaced(client.clone(), "default")
}

#[tokio::test]
async fn pod_logs_from_the_annotation_with_tail_container_and_follow() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = pods(&client);
    let pod = serde_json::from_value(json!({"metadata": {"name": "job-1",
        "annotations": {"sim.democtl.io/log": "one\ntwo\nthree"}},
        "spec": {"containers": [{"name": "main", "image": "x"}]}}))
    .unwrap();
    api.create(&PostParams::default(), &pod).await.unwrap();
    assert_eq!(
        api.logs("job-1", &Default::default()).await.unwrap(),
        "one\ntwo\nthree\n"
    );
    let tail = kube::api::LogParams {
        tail_lines: Some(2),
        ..Default::default()
    };
    assert_eq!(api.logs("job-1", &tail).await.unwrap(), "two\nthree\n");
    let wrong = kube::api::LogParams {
        container: Some("nope".into()),
        ..Default::default()
    };
    let e = api_err(api.logs("job-1", &wrong).await.unwrap_err());
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "container nope is not valid for pod job-1")
    );
    // follow streams appended lines until the pod terminates.
    let follow = kube::api::LogParams {
        follow: true,
        ..Default::default()
    };
    let mut lines = api.log_stream("job-1", &follow).await.unwrap();
    let mut buf = String::new();
    use futures::AsyncBufReadExt;
    lines.read_line(&mut buf).await.unwrap();
    assert_eq!(buf, "one\n");
    api.patch(
        "job-1",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"sim.democtl.io/log": "one\ntwo\nthree\nfour"}}}),
        ),
    )
    .await
    .unwrap();
    api.patch_status(
        "job-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Succeeded"}})),
    )
    .await
    .unwrap();
    let mut rest = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        futures::AsyncReadExt::read_to_string(&mut lines, &mut rest),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(rest, "two\nthree\nfour\n");
    // A container that is waiting has no logs yet.
    let waiting = serde_json::from_value(json!({"metadata": {"name": "pulling"},
        "spec": {"containers": [{"name": "main", "image": "x"}]}}))
    .unwrap();
    api.create(&PostParams::default(), &waiting).await.unwrap();
    api.patch_status("pulling", &PatchParams::default(), &Patch::Merge(json!({"status": {"containerStatuses": [
        {"name": "main", "ready": false, "restartCount": 0, "image": "x", "imageID": "", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}})))
        .await
        .unwrap();
    let e = api_err(api.logs("pulling", &Default::default()).await.unwrap_err());
    assert_eq!(
        e.message,
        "container \"main\" in pod \"pulling\" is waiting to start: ImagePullBackOff"
    );
}

#[tokio::test]
async fn injected_faults_are_deterministic_and_shaped_like_kube() {
    let faults = |kinds: democtl::sim::FaultKinds| democtl::sim::FaultConfig {
        rate: 1.0,
        kinds,
        retry_after_seconds: 3,
        seed: 1,
        ..Default::default()
    };
    let only = |t: u32, i: u32, u: u32, r: u32| democtl::sim::FaultKinds {
        too_many_requests: t,
        internal_error: i,
        unavailable: u,
        connection_reset: r,
    };
    let srv = server_with(ServerConfig {
        faults: faults(only(1, 0, 0, 0)),
        ..Default::default()
    })
    .await;
    let e = api_err(
        cms(&srv.client().unwrap(), "default")
            .get("x")
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (429, "TooManyRequests"));
    assert_eq!(e.details.unwrap().retry_after_seconds, 3);
    let srv = server_with(ServerConfig {
        faults: faults(only(0, 1, 0, 0)),
        ..Default::default()
    })
    .await;
    let e = api_err(
        cms(&srv.client().unwrap(), "default")
            .get("x")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (
            500,
            "InternalError",
            "Internal error occurred: injected fault"
        )
    );
    let srv = server_with(ServerConfig {
        faults: faults(only(0, 0, 1, 0)),
        ..Default::default()
    })
    .await;
    let e = api_err(
        cms(&srv.client().unwrap(), "default")
            .get("x")
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (503, "ServiceUnavailable"));
    let srv = server_with(ServerConfig {
        faults: faults(only(0, 0, 0, 1)),
        ..Default::default()
    })
    .await;
    let e = cms(&srv.client().unwrap(), "default")
        .get("x")
        .await
        .unwrap_err();
    assert!(
        !matches!(e, kube::Error::Api(_)),
        "a dropped connection, not a status: {e:?}"
    );

    // Same seed, same sequence of outcomes.
    let outcomes = |srv: SimServer| async move {
        let api = cms(&srv.client().unwrap(), "default");
        let mut v = vec![];
        for _ in 0..12 {
            v.push(match api.list(&ListParams::default()).await {
                Ok(_) => 200,
                Err(kube::Error::Api(s)) => s.code,
                Err(_) => 0,
            });
        }
        v
    };
    let cfg = || ServerConfig {
        faults: democtl::sim::FaultConfig {
            rate: 0.5,
            seed: 42,
            ..Default::default()
        },
        ..Default::default()
    };
    let a = outcomes(server_with(cfg()).await).await;
    let b = outcomes(server_with(cfg()).await).await;
    assert_eq!(a, b);
    assert!(a.contains(&200) && a.iter().any(|c| *c != 200), "{a:?}");
}

#[tokio::test]
async fn state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sim/cluster.json");
    let cfg = || ServerConfig {
        state_file: Some(state.clone()),
        ..Default::default()
    };
    let srv = server_with(cfg()).await;
    let client = srv.client().unwrap();
    install_widgets(&client).await;
    let created = cms(&client, "default")
        .create(&PostParams::default(), &cm("kept", json!({"k": "v"})))
        .await
        .unwrap();
    srv.shutdown().await.unwrap();
    assert!(state.exists());

    let srv = server_with(cfg()).await;
    let client = srv.client().unwrap();
    let again = cms(&client, "default").get("kept").await.unwrap();
    assert_eq!(again.metadata.uid, created.metadata.uid);
    assert_eq!(again.data["data"]["k"], "v");
    let next = cms(&client, "default")
        .create(&PostParams::default(), &cm("new", json!({})))
        .await
        .unwrap();
    assert!(rv(&next) > rv(&created), "the counter continues");
    // Established CRDs are served again at once.
    widgets(&client, "default")
        .create(&PostParams::default(), &obj(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})))
        .await
        .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    srv.write_kubeconfig(&kubeconfig).unwrap();
    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let via_file = Client::try_from(cfg).unwrap();
    assert_eq!(
        cms(&via_file, "default")
            .get("kept")
            .await
            .unwrap()
            .metadata
            .name
            .as_deref(),
        Some("kept")
    );
}

#[tokio::test]
async fn custom_resources_are_not_found_until_the_crd_is_established() {
    let mut cfg = ServerConfig {
        clock: SimClock::new(1.0),
        ..Default::default()
    };
    cfg.crd_establish_delay = Duration::from_secs(3600);
    let srv = SimServer::start(cfg).await.unwrap();
    let client = srv.client().unwrap();
    let crd = crd_api(&client)
        .create(
            &PostParams::default(),
            &obj(serde_json::from_str(WIDGET_CRD).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(crd.data["status"]["conditions"], json!([]));
    let e = api_err(
        widgets(&client, "default")
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    // apiextensions-apiserver delegates a path no established CRD serves to Go's NotFound.
    assert_eq!((e.code, e.message.as_str()), (404, "404 page not found"));
    // Simulated time passes: the CRD becomes Established and is served.
    srv.clock().advance(Duration::from_secs(3600));
    let cond = |o: Option<&DynamicObject>| {
        o.and_then(|o| o.data.pointer("/status/conditions/1/type"))
            .is_some_and(|t| t == "Established")
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        kube::runtime::wait::await_condition(crd_api(&client), "widgets.example.com", cond),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        widgets(&client, "default")
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn dry_run_on_update_and_delete_and_streaming_lists() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let a = api
        .create(&PostParams::default(), &cm("a", json!({"k": "1"})))
        .await
        .unwrap();
    let mut changed = a.clone();
    changed.data["data"]["k"] = json!("2");
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let r = api.replace("a", &dry, &changed).await.unwrap();
    assert_eq!(r.data["data"]["k"], "2");
    let del = api
        .delete(
            "a",
            &DeleteParams {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(del.is_right());
    let now = api.get("a").await.unwrap();
    assert_eq!(now.data["data"]["k"], "1");
    assert_eq!(rv(&now), rv(&a), "dry runs never store");
    // sendInitialEvents: current state, then the initial-events-end bookmark.
    let mut s = api
        .watch(&WatchParams::default().initial_events().timeout(5), "")
        .await
        .unwrap()
        .boxed();
    assert_eq!(next_event(&mut s).await, ("ADDED".into(), "a".into()));
    assert_eq!(
        next_event(&mut s).await,
        ("ADDED".into(), "kube-root-ca.crt".into())
    );
    match tokio::time::timeout(Duration::from_secs(10), s.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        WatchEvent::Bookmark(b) => {
            assert_eq!(
                b.metadata
                    .annotations
                    .get("k8s.io/initial-events-end")
                    .map(String::as_str),
                Some("true")
            );
            assert_eq!(
                b.metadata.resource_version,
                now.metadata.resource_version.unwrap()
            );
        }
        other => panic!("expected the initial-events-end bookmark, got {other:?}"),
    }
    // kube's streaming-list watcher works against it.
    let w = kube::runtime::watcher(
        api.clone(),
        kube::runtime::watcher::Config::default().streaming_lists(),
    );
    let objs: Vec<_> = kube::runtime::WatchStreamExt::applied_objects(w)
        .take(1)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(objs[0].metadata.name.as_deref(), Some("a"));
}

#[tokio::test]
async fn syntax_errors_are_worded_like_go_and_unserved_groups_answer_plain_404() {
    let srv = server().await;
    let client = srv.client().unwrap();
    // A body that is not JSON: Go's scanner wording, the expected kind and the body's start.
    let (code, _, body) = raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        b"{not json",
    )
    .await;
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((code, &status["reason"]), (400, &json!("BadRequest")));
    assert_eq!(
        status["message"],
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: invalid character 'n' looking for beginning of object key string ({not json)"
    );
    let (code, _, body) = raw(
        &client,
        "PUT",
        "/api/v1/namespaces/default/configmaps/x",
        b"{\"kind\":\"ConfigMap\"",
    )
    .await;
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code, 400);
    assert_eq!(
        status["message"],
        "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: unexpected end of JSON input ({\"kind\":\"ConfigMap\")"
    );
    // A group nobody serves, and a CRD group after its CRD is gone: Go's plain-text NotFound.
    let plain = (
        404,
        "text/plain; charset=utf-8".to_string(),
        "404 page not found\n".to_string(),
    );
    assert_eq!(
        raw(
            &client,
            "GET",
            "/apis/nobody.example.com/v1/namespaces/default/things",
            b""
        )
        .await,
        plain
    );
    assert_eq!(
        raw(&client, "GET", "/apis/nobody.example.com", b"").await,
        plain
    );
    assert_eq!(raw(&client, "GET", "/apis/apps/v9", b"").await, plain);
    install_widgets(&client).await;
    assert_eq!(
        raw(
            &client,
            "GET",
            "/apis/example.com/v1/namespaces/default/widgets",
            b""
        )
        .await
        .0,
        200
    );
    // A namespaced CRD addressed without its namespace (not a list) is delegated too.
    assert_eq!(
        raw(&client, "POST", "/apis/example.com/v1/widgets", b"{}").await,
        plain
    );
    crd_api(&client)
        .delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    // The simulator removes a deleted CRD at once (no instances left to clean up).
    assert_eq!(
        raw(
            &client,
            "GET",
            "/apis/example.com/v1/namespaces/default/widgets",
            b""
        )
        .await,
        plain
    );
    // Under a built-in group/version an unknown resource stays a JSON Status 404.
    let (code, content_type, _) = raw(&client, "GET", "/apis/apps/v1/nothings", b"").await;
    assert_eq!((code, content_type.as_str()), (404, "application/json"));
}

#[tokio::test]
async fn openapi_v2_is_served_as_json_converted_from_v3() {
    let srv = server().await;
    let client = srv.client().unwrap();
    install_widgets(&client).await;
    let (code, content_type, body) = raw(&client, "GET", "/openapi/v2", b"").await;
    assert_eq!((code, content_type.as_str()), (200, "application/json"));
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["swagger"], "2.0");
    assert!(doc["definitions"]["io.k8s.api.apps.v1.Deployment"].is_object());
    assert!(doc["definitions"]["com.example.v1.Widget"].is_object());
    assert!(
        doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
            .is_object()
    );
    assert!(!body.contains("#/components/schemas/"));
    // client-go's v2 client asks for protobuf only: 406, so it falls back as before.
    let (code, _, _) = raw_accept(
        &client,
        "GET",
        "/openapi/v2",
        b"",
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    )
    .await;
    assert_eq!(code, 406);
}

#[tokio::test]
async fn jobs_get_a_generated_selector_and_an_immutable_template_dumped_like_kube() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let jobs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("batch", "v1", "Job"), "jobs"),
    );
    let job = jobs
        .create(
            &PostParams::default(),
            &obj(
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox:1"}]}}}}),
            ),
        )
        .await
        .unwrap();
    let uid = job.metadata.uid.clone().unwrap();
    assert_eq!(
        job.data["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    );
    let labels = &job.data["spec"]["template"]["metadata"]["labels"];
    assert_eq!(labels["batch.kubernetes.io/job-name"], "j");
    assert_eq!(labels["job-name"], "j");
    assert_eq!(labels["batch.kubernetes.io/controller-uid"], uid.as_str());
    assert_eq!(labels["controller-uid"], uid.as_str());
    let patch = json!([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "busybox:2"}]);
    let e = api_err(
        jobs.patch(
            "j",
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(patch).unwrap()),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    let prefix = format!(
        "Job.batch \"j\" is invalid: spec.template: Invalid value: {{\"labels\":{{\"batch.kubernetes.io/controller-uid\":\"{uid}\",\"batch.kubernetes.io/job-name\":\"j\",\"controller-uid\":\"{uid}\",\"job-name\":\"j\"}},\"Spec\":{{\"Volumes\":null,\"InitContainers\":null,\"Containers\":[{{\"Name\":\"c\",\"Image\":\"busybox:2\","
    );
    assert!(e.message.starts_with(&prefix), "{}", e.message);
    assert!(
        e.message
            .ends_with("\"SchedulingGroup\":null}}: field is immutable"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn lease_times_are_parsed_on_decode_with_go_time_wording() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let leases: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease"),
            "leases",
        ),
    );
    let lease = |name: &str, renew: &str| {
        obj(
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name}, "spec": {"holderIdentity": "me", "renewTime": renew}}),
        )
    };
    // MicroTime wants exactly six fractional digits.
    let e = api_err(
        leases
            .create(&PostParams::default(), &lease("l2", "2026-01-01T00:00:05Z"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            400,
            "Lease in version \"v1\" cannot be handled as a Lease: parsing time \"2026-01-01T00:00:05Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as \".000000\""
        )
    );
    leases
        .create(
            &PostParams::default(),
            &lease("l", "2026-01-01T00:00:05.123456Z"),
        )
        .await
        .unwrap();
    // A merge patch whose result does not decode: 422 quoting the patched document.
    let e = api_err(
        leases
            .patch(
                "l",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"renewTime": "not-a-time"}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    let details = e.details.unwrap();
    assert_eq!(details.causes[0].field, "patch");
    let msg = &details.causes[0].message;
    assert!(
        msg.starts_with(r#"Invalid value: "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"l\",\"namespace\":\"default\",\"uid\":"#),
        "{msg}"
    );
    assert!(
        msg.ends_with(r#"\"spec\":{\"holderIdentity\":\"me\",\"renewTime\":\"not-a-time\"}}": parsing time "not-a-time" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "not-a-time" as "2006""#),
        "{msg}"
    );
    // A metav1.Time (RFC3339) takes any fraction.
    let e = api_err(
        leases
            .patch(
                "l",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"creationTimestamp": "yesterday"}})),
            )
            .await
            .unwrap_err(),
    );
    assert!(
        e.details.unwrap().causes[0].message.ends_with(
            r#": parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006""#
        )
    );
}

#[tokio::test]
async fn services_get_unique_cluster_ips_from_the_service_cidr() {
    let srv = server().await;
    let client = srv.client().unwrap();
    let svcs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Service"), "services"),
    );
    let svc = |name: &str, ip: Option<&str>| {
        let mut spec = json!({"selector": {"a": "b"}, "ports": [{"port": 80}]});
        if let Some(ip) = ip {
            spec["clusterIP"] = json!(ip);
        }
        obj(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}),
        )
    };
    let pp = PostParams::default();
    let a = svcs.create(&pp, &svc("a", None)).await.unwrap();
    let b = svcs.create(&pp, &svc("b", None)).await.unwrap();
    let ip = |o: &DynamicObject| o.data["spec"]["clusterIP"].as_str().unwrap().to_string();
    let in_cidr = |s: &str| {
        let o: Vec<u8> = s.split('.').map(|p| p.parse().unwrap()).collect();
        o[0] == 10 && (96..112).contains(&o[1])
    };
    assert!(
        in_cidr(&ip(&a)) && in_cidr(&ip(&b)),
        "{} {}",
        ip(&a),
        ip(&b)
    );
    assert_ne!(ip(&a), ip(&b));
    assert_eq!(a.data["spec"]["clusterIPs"], json!([ip(&a)]));
    assert_eq!(a.data["spec"]["ipFamilies"], json!(["IPv4"]));
    // Headless stays headless.
    let h = svcs.create(&pp, &svc("h", Some("None"))).await.unwrap();
    assert_eq!(h.data["spec"]["clusterIPs"], json!(["None"]));
    // A requested address: in use, out of range, then free once its Service is gone.
    let e = api_err(
        svcs.create(&pp, &svc("c", Some(&ip(&a))))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (e.code, e.message.clone()),
        (
            422,
            format!(
                "Service \"c\" is invalid: spec.clusterIPs: Invalid value: [\"{0}\"]: failed to allocate IP {0}: provided IP is already allocated",
                ip(&a)
            )
        )
    );
    let e = api_err(
        svcs.create(&pp, &svc("c", Some("192.168.0.1")))
            .await
            .unwrap_err(),
    );
    assert!(e.message.ends_with("failed to allocate IP 192.168.0.1: the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"), "{}", e.message);
    // An update without the address keeps it; changing it is refused.
    let mut again = svc("a", None);
    again.metadata.resource_version = a.metadata.resource_version.clone();
    let kept = svcs.replace("a", &pp, &again).await.unwrap();
    assert_eq!(ip(&kept), ip(&a));
    svcs.delete("a", &DeleteParams::default()).await.unwrap();
    let c = svcs.create(&pp, &svc("c", Some(&ip(&a)))).await.unwrap();
    assert_eq!(ip(&c), ip(&a));
}
