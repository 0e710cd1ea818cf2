//! OpenShift controllers: the router admits Routes (host `<name>-<namespace>.<ingress domain>` unless
//! set, `status.ingress[]` with Admitted=True), and OLM resolves Subscriptions against the simulated
//! catalog → InstallPlan (Complete) → ClusterServiceVersion Installing → Succeeded after
//! `delays.operator_install`, creating the package's CRDs. Unknown packages get ResolutionFailed.

use serde_json::{Value, json};

use super::catalog;
use super::informer::{CSV, ROUTE, SUBSCRIPTION, written};
use super::{Ctx, Wake, obj};

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    routes(ctx, wake).await;
    subscriptions(ctx, wake).await;
    csvs(ctx, wake).await;
}

/// The host a route gets when `spec.host` is empty.
pub(super) fn default_host(name: &str, namespace: &str, domain: &str) -> String {
    format!("{name}-{namespace}.{domain}")
}

async fn routes(ctx: &Ctx, wake: &mut Wake) {
    let domain = ctx.ingress_domain();
    for route in ctx.caches.list(ROUTE).values() {
        if obj::is_deleting(route) {
            continue;
        }
        let host = route["spec"]["host"]
            .as_str()
            .filter(|h| !h.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| default_host(obj::name(route), obj::namespace(route), &domain));
        if route["spec"]["host"].as_str() != Some(host.as_str()) {
            ctx.note(
                ctx.patch(ROUTE, route, json!({"spec": {"host": host}}))
                    .await,
                wake,
            );
        }
        let admitted_at = route["status"]["ingress"][0]["conditions"][0]["lastTransitionTime"]
            .as_str()
            .filter(|_| route["status"]["ingress"][0]["host"].as_str() == Some(host.as_str()))
            .map_or_else(|| ctx.now_s(), str::to_string);
        let status = json!({"ingress": [{
            "host": host,
            "routerName": "default",
            "routerCanonicalHostname": format!("router-default.{domain}"),
            "wildcardPolicy": route["spec"]["wildcardPolicy"].as_str().unwrap_or("None"),
            "conditions": [{"type": "Admitted", "status": "True", "lastTransitionTime": admitted_at}],
        }]});
        ctx.note(ctx.patch_status(ROUTE, route, status).await, wake);
    }
}

/// The ClusterServiceVersion object of an installed package (status written separately).
pub(super) fn csv_object(pkg: &catalog::Package, namespace: &str, version: &str) -> Value {
    let owned: Vec<Value> = pkg
        .crds
        .iter()
        .map(|c| json!({"name": c.name(), "kind": c.kind, "version": c.version()}))
        .collect();
    json!({
        "metadata": {
            "name": pkg.csv_name(version),
            "namespace": namespace,
            "labels": {format!("operators.coreos.com/{}.{}", pkg.name, namespace): ""},
        },
        "spec": {
            "displayName": pkg.display_name,
            "version": version,
            "provider": {"name": "Red Hat"},
            "customresourcedefinitions": {"owned": owned},
            "install": {"strategy": "deployment", "spec": {"deployments": []}},
            "installModes": [
                {"type": "OwnNamespace", "supported": true},
                {"type": "SingleNamespace", "supported": true},
                {"type": "MultiNamespace", "supported": false},
                {"type": "AllNamespaces", "supported": true},
            ],
        },
    })
}

/// CSV status for a phase (`Installing` or `Succeeded`).
pub(super) fn csv_status(phase: &str, now: &str) -> Value {
    let (reason, message) = if phase == "Succeeded" {
        (
            "InstallSucceeded",
            "install strategy completed with no errors",
        )
    } else {
        (
            "InstallWaiting",
            "installing: waiting for deployment to become ready",
        )
    };
    json!({
        "phase": phase,
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "conditions": [{"phase": phase, "reason": reason, "message": message,
                        "lastUpdateTime": now, "lastTransitionTime": now}],
    })
}

async fn subscriptions(ctx: &Ctx, wake: &mut Wake) {
    for sub in ctx.caches.list(SUBSCRIPTION).values() {
        if obj::is_deleting(sub) {
            continue;
        }
        let now = ctx.now_s();
        let ns = obj::namespace(sub);
        let package_name = sub["spec"]["name"].as_str().unwrap_or_default();
        let Some(pkg) = catalog::package(package_name) else {
            let msg = format!(
                "constraints not satisfiable: no operators found in package {package_name} in the catalog referenced by subscription {}",
                obj::name(sub)
            );
            let status = json!({
                "lastUpdated": sub["status"]["lastUpdated"],
                "conditions": [obj::make_condition(sub, "ResolutionFailed", true, "ConstraintsNotSatisfiable", &msg, &now)],
            });
            let status = touched(sub, status, &now);
            ctx.note(ctx.patch_status(SUBSCRIPTION, sub, status).await, wake);
            continue;
        };
        let csv_name = sub["spec"]["startingCSV"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| pkg.csv_name(pkg.version));
        let version = csv_name
            .rsplit_once(".v")
            .map_or(pkg.version, |(_, v)| v)
            .to_string();
        let plan_name = format!("install-{}", obj::suffix(&format!("{ns}/{csv_name}")));
        let plan = json!({
            "metadata": {"name": plan_name, "namespace": ns,
                         "ownerReferences": [{"apiVersion": sub["apiVersion"], "kind": "Subscription",
                                              "name": obj::name(sub), "uid": obj::uid(sub)}]},
            "spec": {"approval": sub["spec"]["installPlanApproval"].as_str().unwrap_or("Automatic"),
                     "approved": true, "clusterServiceVersionNames": [csv_name], "generation": 1},
            "status": {"phase": "Complete", "catalogSources": [sub["spec"]["source"].clone()]},
        });
        ctx.note(ctx.create(written::INSTALL_PLAN, plan).await, wake);
        if ctx.caches.get(CSV, ns, &csv_name).is_none() {
            ctx.note(ctx.create(CSV, csv_object(pkg, ns, &version)).await, wake);
        }
        let succeeded = ctx
            .caches
            .get(CSV, ns, &csv_name)
            .is_some_and(|c| c["status"]["phase"] == "Succeeded");
        let status = json!({
            "state": if succeeded { "AtLatestKnown" } else { "UpgradePending" },
            "currentCSV": csv_name,
            "installedCSV": if succeeded { json!(csv_name) } else { Value::Null },
            "installPlanRef": {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan",
                               "name": plan_name, "namespace": ns},
            "installplan": {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan", "name": plan_name,
                            "uuid": super::seed::uuid_for(&format!("{ns}/{plan_name}"))},
            "installPlanGeneration": 1,
            "lastUpdated": sub["status"]["lastUpdated"],
            "catalogHealth": [{"catalogSourceRef": {"name": sub["spec"]["source"], "namespace": sub["spec"]["sourceNamespace"]},
                               "healthy": true, "lastUpdated": sub["status"]["lastUpdated"]}],
            "conditions": [obj::make_condition(sub, "CatalogSourcesUnhealthy", false, "AllCatalogSourcesHealthy", "all available catalogsources are healthy", &now)],
        });
        let status = touched(sub, status, &now);
        ctx.note(ctx.patch_status(SUBSCRIPTION, sub, status).await, wake);
    }
}

/// Sets `lastUpdated` (and the catalog health's) to `now` only when something else changes, so an
/// unchanged Subscription is not rewritten every simulated second.
fn touched(sub: &Value, mut status: Value, now: &str) -> Value {
    if obj::merge_changes(sub, &json!({ "status": status })) {
        status["lastUpdated"] = json!(now);
        if let Some(h) = status["catalogHealth"].get_mut(0) {
            h["lastUpdated"] = json!(now);
        }
    }
    status
}

async fn csvs(ctx: &Ctx, wake: &mut Wake) {
    for csv in ctx.caches.list(CSV).values() {
        if obj::is_deleting(csv) || csv["status"]["phase"] == "Succeeded" {
            continue;
        }
        let now = ctx.now_s();
        let name = obj::name(csv);
        let Some(pkg) = catalog::PACKAGES
            .iter()
            .find(|p| name.starts_with(&format!("{}.v", p.name)))
        else {
            continue;
        };
        let since = csv["metadata"]["creationTimestamp"].as_str();
        if !ctx.due(since, ctx.scenario.delays.operator_install, wake) {
            if csv["status"]["phase"].is_null() {
                ctx.note(
                    ctx.patch_status(CSV, csv, csv_status("Installing", &now))
                        .await,
                    wake,
                );
            }
            continue;
        }
        for crd in pkg.crds {
            ctx.note(ctx.create(written::CRD, crd.to_object()).await, wake);
        }
        ctx.note(
            ctx.patch_status(CSV, csv, csv_status("Succeeded", &now))
                .await,
            wake,
        );
    }
}
