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
    assert_eq!(list.items.len(), 2);
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
