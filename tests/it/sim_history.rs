//! Historic reads through kube-rs over HTTP: a list with `resourceVersionMatch=Exact` answers
//! the state AT that resourceVersion (as kube-apiserver reads etcd's history), and 410 Expired
//! with etcd's wording once the resourceVersion is older than the retained changes; a watch from
//! before bootstrap is 410 with the watch cache's wording.

#![allow(clippy::unwrap_used)]

use democtl::sim::{ServerConfig, SimClock, SimServer};
use futures::{StreamExt, TryStreamExt};
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, VersionMatch, WatchEvent, WatchParams,
};
use serde_json::{Value, json};

async fn server(event_window: usize) -> SimServer {
    SimServer::start(ServerConfig {
        clock: SimClock::new(1000.0),
        event_window,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn cms(client: &Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("", "v1", "ConfigMap"),
        "configmaps",
    );
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn cm(name: &str, v: &str) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"v": v}}))
    .unwrap()
}

fn exact(rv: &str) -> ListParams {
    ListParams::default().at(rv).matching(VersionMatch::Exact)
}

/// name=value of each listed ConfigMap, by name.
async fn state(api: &Api<DynamicObject>, lp: &ListParams) -> Result<Vec<String>, kube::Error> {
    let list = api.list(lp).await?;
    Ok(list
        .items
        .iter()
        .filter(|o| o.metadata.name.as_deref() != Some("kube-root-ca.crt"))
        .map(|o| {
            format!(
                "{}={}",
                o.metadata.name.as_deref().unwrap_or(""),
                o.data["data"]["v"].as_str().unwrap_or("")
            )
        })
        .collect())
}

fn status(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn exact_lists_read_the_state_at_a_resource_version() {
    let srv = server(10_000).await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let a1 = api
        .create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap();
    let at_a1 = a1.metadata.resource_version.clone().unwrap();
    let patch = Patch::Merge(json!({"data": {"v": "2"}}));
    api.patch("a", &PatchParams::default(), &patch)
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("b", "1"))
        .await
        .unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();

    assert_eq!(state(&api, &ListParams::default()).await.unwrap(), ["b=1"]);
    assert_eq!(state(&api, &exact(&at_a1)).await.unwrap(), ["a=1"]);
    let list = api.list(&exact(&at_a1)).await.unwrap();
    assert_eq!(
        list.metadata.resource_version.as_deref(),
        Some(at_a1.as_str())
    );
    // The first resourceVersion: before anything in the namespace (bootstrap included).
    assert_eq!(
        state(&api, &exact("1")).await.unwrap(),
        Vec::<String>::new()
    );
    // NotOlderThan (and no match) may answer the latest state.
    let newer = ListParams::default()
        .at(&at_a1)
        .matching(VersionMatch::NotOlderThan);
    assert_eq!(state(&api, &newer).await.unwrap(), ["b=1"]);
}

#[tokio::test]
async fn reads_older_than_the_retained_changes_are_expired() {
    let srv = server(5).await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let first = api
        .create(&PostParams::default(), &cm("a", "0"))
        .await
        .unwrap();
    let at_first = first.metadata.resource_version.clone().unwrap();
    for v in 1..=6 {
        let patch = Patch::Merge(json!({"data": {"v": v.to_string()}}));
        api.patch("a", &PatchParams::default(), &patch)
            .await
            .unwrap();
    }
    let e = status(api.list(&exact(&at_first)).await.unwrap_err());
    assert_eq!(
        (e.code, e.reason.as_str(), e.message.as_str()),
        (
            410,
            "Expired",
            "The resourceVersion for the provided list is too old."
        )
    );
    // The last 5 changes are still readable.
    let latest: u64 = api
        .get("a")
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap()
        .parse()
        .unwrap();
    let at = (latest - 4).to_string();
    assert_eq!(state(&api, &exact(&at)).await.unwrap(), ["a=2"]);
}

#[tokio::test]
async fn a_watch_from_before_bootstrap_is_expired_but_an_exact_list_is_not() {
    let srv = server(10_000).await;
    let client = srv.client().unwrap();
    let api = cms(&client, "default");
    let mut events = api
        .watch(&WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    match events.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => {
            assert_eq!(e.code, 410);
            assert!(
                e.message.starts_with("too old resource version: 1 ("),
                "{}",
                e.message
            );
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    let list = api.list(&exact("1")).await.unwrap();
    let names: Vec<Value> = list.items.iter().map(|o| json!(o.metadata.name)).collect();
    assert_eq!(names, Vec::<Value>::new());
}
