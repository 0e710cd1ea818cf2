//! Measures the simulated API server over real HTTP with kube-rs: create + list of 1,000
//! objects (sequential and 8-way concurrent), server-side apply of 1,000 objects, watch fan-out
//! (N watchers each receiving every event of a burst of writes) and memory (RSS of this
//! process, from /proc/self/status). Prints numbers; asserts nothing.
//!
//! Run: `cargo bench --bench sim`.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use democtl::sim::{ServerConfig, SimServer};
use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
    WatchEvent, WatchParams,
};
use serde_json::json;

const OBJECTS: usize = 1_000;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn cms(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("", "v1", "ConfigMap"),
        "configmaps",
    );
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn cm(name: String) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"bench": "yes"}},
        "data": {"payload": "x".repeat(256)}
    }))
    .unwrap()
}

fn per_sec(n: usize, d: Duration) -> String {
    format!("{:>8.0}/s", n as f64 / d.as_secs_f64())
}

async fn ns(client: &kube::Client, name: &str) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rss0 = rss_kib();
    let srv = SimServer::start(ServerConfig::default()).await.unwrap();
    let client = srv.client().unwrap();
    println!("simulated API server bench ({OBJECTS} objects, kube-rs over HTTP on 127.0.0.1)");

    // Sequential creates.
    ns(&client, "seq").await;
    let api = cms(&client, "seq");
    let t = Instant::now();
    for i in 0..OBJECTS {
        api.create(&PostParams::default(), &cm(format!("cm-{i}")))
            .await
            .unwrap();
    }
    let d = t.elapsed();
    println!(
        "create (sequential)      {:>8.1} ms  {}",
        d.as_secs_f64() * 1e3,
        per_sec(OBJECTS, d)
    );

    // Concurrent creates (8 clients in flight).
    ns(&client, "par").await;
    let api = cms(&client, "par");
    let t = Instant::now();
    futures::stream::iter(0..OBJECTS)
        .map(|i| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &cm(format!("cm-{i}")))
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(8)
        .for_each(|_| async {})
        .await;
    let d = t.elapsed();
    println!(
        "create (8 concurrent)    {:>8.1} ms  {}",
        d.as_secs_f64() * 1e3,
        per_sec(OBJECTS, d)
    );

    // Lists.
    let t = Instant::now();
    let list = cms(&client, "seq")
        .list(&ListParams::default())
        .await
        .unwrap();
    let d = t.elapsed();
    assert_eq!(list.items.len(), OBJECTS);
    println!(
        "list {OBJECTS} objects        {:>8.1} ms",
        d.as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let mut pages = 0;
    let mut lp = ListParams::default().limit(100);
    loop {
        let page = cms(&client, "seq").list(&lp).await.unwrap();
        pages += 1;
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    let d = t.elapsed();
    println!(
        "list in {pages} pages of 100  {:>8.1} ms",
        d.as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let sel = cms(&client, "seq")
        .list(
            &ListParams::default()
                .labels("bench=yes")
                .fields("metadata.name=cm-500"),
        )
        .await
        .unwrap();
    println!(
        "list with selectors      {:>8.1} ms  ({} match)",
        t.elapsed().as_secs_f64() * 1e3,
        sel.items.len()
    );

    // Server-side apply (re-apply of existing objects: field ownership computed each time).
    let api = cms(&client, "seq");
    let t = Instant::now();
    for i in 0..OBJECTS {
        api.patch(
            &format!("cm-{i}"),
            &PatchParams::apply("bench"),
            &Patch::Apply(cm(format!("cm-{i}"))),
        )
        .await
        .unwrap();
    }
    let d = t.elapsed();
    println!(
        "server-side apply        {:>8.1} ms  {}",
        d.as_secs_f64() * 1e3,
        per_sec(OBJECTS, d)
    );

    // Watch fan-out.
    for watchers in [10usize, 100] {
        let name = format!("fan{watchers}");
        ns(&client, &name).await;
        let api = cms(&client, &name);
        let start_rv = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        let writes = 200usize;
        let mut handles = vec![];
        for _ in 0..watchers {
            let stream = api
                .watch(&WatchParams::default().timeout(120), &start_rv)
                .await
                .unwrap();
            handles.push(tokio::spawn(async move {
                let mut stream = stream.boxed();
                let mut n = 0;
                while let Some(ev) = stream.try_next().await.unwrap() {
                    if matches!(ev, WatchEvent::Added(_)) {
                        n += 1;
                        if n == writes {
                            return Instant::now();
                        }
                    }
                }
                Instant::now()
            }));
        }
        let t = Instant::now();
        for i in 0..writes {
            api.create(&PostParams::default(), &cm(format!("w-{i}")))
                .await
                .unwrap();
        }
        let written = t.elapsed();
        let mut last = t;
        for h in handles {
            last = last.max(h.await.unwrap());
        }
        let delivered = last.duration_since(t);
        println!(
            "watch fan-out {watchers:>3} watchers: {writes} writes in {:>7.1} ms, all {} events delivered in {:>7.1} ms ({})",
            written.as_secs_f64() * 1e3,
            watchers * writes,
            delivered.as_secs_f64() * 1e3,
            per_sec(watchers * writes, delivered),
        );
    }

    let rss1 = rss_kib();
    println!(
        "memory: RSS {:.1} MiB at start, {:.1} MiB after {} objects (server and client in one process)",
        rss0 as f64 / 1024.0,
        rss1 as f64 / 1024.0,
        2 * OBJECTS + 2 * 200
    );
    srv.shutdown().await.unwrap();
}
