//! OpenShift AI and friends: the DataScienceCluster operator (a component set to Managed gets its
//! CRDs after `delays.dsc_component`; per-component conditions, phase Ready), KServe
//! (InferenceService → `<name>-predictor` Deployment built from its ServingRuntime; Ready with
//! `status.url`/`status.address.url` once the predictor is available, otherwise not Ready with the
//! reason taken from the predictor pod: Unschedulable, model download pending, image pull, …),
//! Knative Services, the Model Registry operator (Deployment, Service, Route `<name>-https`), the
//! Llama Stack operator (Deployment, Service, status.phase Ready), the notebook controller
//! (StatefulSet, Service, Route) and TrustyAI LMEvalJobs (state Complete with results after `delays.lm_eval`).

use serde_json::{Value, json};

use super::catalog::{self, COMPONENTS};
use super::informer::{
    CONFIG_MAP, DEPLOYMENT, DSC, ISVC, KNATIVE_SERVICE, LLAMA_STACK, LM_EVAL_JOB, MODEL_REGISTRY,
    NOTEBOOK, POD, ROUTE, SERVING_RUNTIME, STATEFUL_SET, written,
};
use super::knative;
use super::openshift::default_host;
use super::{Ctx, Wake, obj};

pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    datascience_clusters(ctx, wake).await;
    inference_services(ctx, wake).await;
    knative_services(ctx, wake).await;
    model_registries(ctx, wake).await;
    llama_stacks(ctx, wake).await;
    notebooks(ctx, wake).await;
    trustyai_operator(ctx, wake).await;
    lm_eval_jobs(ctx, wake).await;
}

/// The DSC status for the given per-component conditions (as the seed and the controller write it).
pub(super) fn dsc_status(
    components: &Value,
    conditions: Vec<Value>,
    generation: i64,
    now: &str,
) -> Value {
    let all_ready = conditions
        .iter()
        .all(|c| c["status"] == "True" || c["reason"] == "Removed");
    let mut installed = serde_json::Map::new();
    let mut comp_status = serde_json::Map::new();
    for c in COMPONENTS {
        let state = components[c.key]["managementState"]
            .as_str()
            .unwrap_or("Removed");
        installed.insert(c.key.to_string(), json!(state == "Managed"));
        comp_status.insert(c.key.to_string(), json!({"managementState": state}));
    }
    let mut conds = conditions;
    conds.push(
        json!({"type": "Ready", "status": if all_ready { "True" } else { "False" },
        "reason": if all_ready { "Ready" } else { "NotReady" },
        "message": if all_ready { "Ready" } else { "Some components are not ready" },
        "lastTransitionTime": now}),
    );
    conds.push(json!({"type": "ProvisioningSucceeded", "status": "True", "reason": "DSCReconcileCompleted",
        "message": "DataScienceCluster resource reconciled successfully", "lastTransitionTime": now}));
    json!({
        "phase": if all_ready { "Ready" } else { "Not Ready" },
        "observedGeneration": generation,
        "conditions": conds,
        "installedComponents": installed,
        "components": comp_status,
        "release": {"name": "OpenShift AI Self-Managed", "version": "2.22.1"},
    })
}

async fn datascience_clusters(ctx: &Ctx, wake: &mut Wake) {
    for dsc in ctx.caches.list(DSC).values() {
        if obj::is_deleting(dsc) {
            continue;
        }
        let now = ctx.now_s();
        let components = &dsc["spec"]["components"];
        let mut conditions = Vec::new();
        for comp in COMPONENTS {
            let managed = components[comp.key]["managementState"] == "Managed";
            let current = obj::condition(dsc, comp.condition);
            let c = if !managed {
                obj::make_condition(
                    dsc,
                    comp.condition,
                    false,
                    "Removed",
                    "Component ManagementState is set to Removed",
                    &now,
                )
            } else if current.is_some_and(|c| c["status"] == "True") {
                obj::make_condition(dsc, comp.condition, true, "Ready", "", &now)
            } else if let Some(c) = current.filter(|c| c["reason"] == "Reconciling") {
                if ctx.due(
                    c["lastTransitionTime"].as_str(),
                    ctx.scenario.delays.dsc_component,
                    wake,
                ) {
                    enable_component(ctx, comp, wake).await;
                    obj::make_condition(dsc, comp.condition, true, "Ready", "", &now)
                } else {
                    c.clone()
                }
            } else {
                json!({"type": comp.condition, "status": "False", "reason": "Reconciling",
                       "message": "Component is being deployed", "lastTransitionTime": now})
            };
            conditions.push(c);
        }
        let status = dsc_status(components, conditions, obj::generation(dsc), &now);
        // Keep the transition time of Ready when it did not flip.
        let mut status = status;
        if let Some(conds) = status["conditions"].as_array_mut() {
            for c in conds
                .iter_mut()
                .filter(|c| c["type"] == "Ready" || c["type"] == "ProvisioningSucceeded")
            {
                let kept = obj::make_condition(
                    dsc,
                    c["type"].as_str().unwrap_or_default(),
                    c["status"] == "True",
                    c["reason"].as_str().unwrap_or_default(),
                    c["message"].as_str().unwrap_or_default(),
                    &now,
                );
                *c = kept;
            }
        }
        ctx.note(ctx.patch_status(DSC, dsc, status).await, wake);
    }
}

/// What the OpenShift AI operator does when a component becomes Managed: its CRDs (and namespaces).
pub(super) async fn enable_component(ctx: &Ctx, comp: &catalog::Component, wake: &mut Wake) {
    for crd in comp.crds {
        ctx.note(ctx.create(written::CRD, crd.to_object()).await, wake);
    }
    if comp.key == "modelregistry" {
        let ns = json!({"metadata": {"name": "rhoai-model-registries",
            "labels": {"opendatahub.io/generated-namespace": "true"}}});
        ctx.note(ctx.create(written::NAMESPACE, ns).await, wake);
    }
}

fn deployment_for(
    owner: &Value,
    name: &str,
    labels: Value,
    pod_spec: Value,
    replicas: u64,
) -> Value {
    json!({
        "metadata": {"name": name, "namespace": obj::namespace(owner), "labels": labels.clone(),
                     "ownerReferences": [obj::controller_ref(owner)]},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels.clone()},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    })
}

fn service_for(owner: &Value, name: &str, selector: Value, ports: Value) -> Value {
    json!({
        "metadata": {"name": name, "namespace": obj::namespace(owner),
                     "ownerReferences": [obj::controller_ref(owner)]},
        "spec": {"selector": selector, "ports": ports, "type": "ClusterIP"},
    })
}

fn route_for(owner: &Value, name: &str, service: &str, port: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": obj::namespace(owner),
                     "ownerReferences": [obj::controller_ref(owner)]},
        "spec": {"to": {"kind": "Service", "name": service, "weight": 100},
                 "port": {"targetPort": port},
                 "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
                 "wildcardPolicy": "None"},
    })
}

fn deployment_available(ctx: &Ctx, ns: &str, name: &str) -> bool {
    ctx.caches
        .get(DEPLOYMENT, ns, name)
        .is_some_and(|d| obj::condition_true(&d, "Available"))
}

/// Why the pods selected by `label=value` in `ns` are not ready: (reason, message).
fn pod_problem(ctx: &Ctx, ns: &str, label: &str, value: &str) -> Option<(String, String)> {
    let pods = ctx.caches.list(POD);
    let pod = pods
        .values()
        .find(|p| obj::namespace(p) == ns && obj::label(p, label) == Some(value))?;
    if let Some(c) = obj::condition(pod, "PodScheduled").filter(|c| c["status"] == "False") {
        return Some((
            c["reason"].as_str().unwrap_or("Unschedulable").to_string(),
            c["message"].as_str().unwrap_or_default().to_string(),
        ));
    }
    let waiting = &pod["status"]["containerStatuses"][0]["state"]["waiting"];
    if let Some(reason) = waiting["reason"]
        .as_str()
        .filter(|r| *r != "ContainerCreating")
    {
        let mut message = waiting["message"].as_str().unwrap_or_default().to_string();
        if reason == "CrashLoopBackOff"
            && let Some(line) = obj::annotation(pod, super::LOG_ANNOTATION)
                .and_then(|l| l.lines().find(|l| l.starts_with("ERROR")))
        {
            message = line.trim_start_matches("ERROR ").to_string();
        }
        return Some((reason.to_string(), message));
    }
    None
}

async fn inference_services(ctx: &Ctx, wake: &mut Wake) {
    let domain = ctx.ingress_domain();
    for isvc in ctx.caches.list(ISVC).values() {
        if obj::is_deleting(isvc) {
            continue;
        }
        let now = ctx.now_s();
        let (ns, name) = (obj::namespace(isvc), obj::name(isvc));
        let predictor = &isvc["spec"]["predictor"];
        let model = &predictor["model"];
        let runtime_name = model["runtime"].as_str().map(str::to_string).or_else(|| {
            // Pick a runtime in the namespace supporting the model format.
            let format = model["modelFormat"]["name"].as_str()?;
            ctx.caches
                .list(SERVING_RUNTIME)
                .values()
                .find(|r| {
                    obj::namespace(r) == ns
                        && r["spec"]["supportedModelFormats"]
                            .as_array()
                            .is_some_and(|fs| fs.iter().any(|f| f["name"] == format))
                })
                .map(|r| obj::name(r).to_string())
        });
        let runtime = runtime_name
            .as_deref()
            .and_then(|r| ctx.caches.get(SERVING_RUNTIME, ns, r));
        let predictor_name = format!("{name}-predictor");
        let raw =
            obj::annotation(isvc, "serving.kserve.io/deploymentMode") == Some("RawDeployment");
        let url = if raw {
            format!("http://{predictor_name}.{ns}.svc.cluster.local")
        } else {
            format!("https://{}", default_host(name, ns, &domain))
        };
        let address = format!("http://{predictor_name}.{ns}.svc.cluster.local");
        let problem: Option<(String, String)> = match &runtime {
            None => Some((
                "RuntimeNotRecognized".to_string(),
                match &runtime_name {
                    Some(r) => format!("ServingRuntime `{r}` does not exist in namespace `{ns}`"),
                    None => "no ServingRuntime supports the model format".to_string(),
                },
            )),
            Some(rt) => {
                let dep = predictor_deployment(isvc, rt, &predictor_name);
                let svc = service_for(
                    isvc,
                    &predictor_name,
                    json!({"serving.kserve.io/inferenceservice": name}),
                    json!([{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]),
                );
                ctx.note(ctx.create(written::SERVICE, svc).await, wake);
                if !raw && ctx.caches.is_synced(KNATIVE_SERVICE) {
                    // Serverless mode: the predictor is a Knative Service whose revisions hold
                    // their pods (and GPUs) until a newer one is ready (see `knative`).
                    serverless_predictor(ctx, isvc, &predictor_name, &dep, wake).await
                } else {
                    ctx.note(ctx.ensure(DEPLOYMENT, dep).await, wake);
                    if deployment_available(ctx, ns, &predictor_name) {
                        None
                    } else {
                        Some(
                            pod_problem(ctx, ns, "serving.kserve.io/inferenceservice", name)
                                .unwrap_or_else(predictor_starting),
                        )
                    }
                }
            }
        };
        let revisions = (!raw)
            .then(|| knative::revisions(ctx, isvc, &predictor_name))
            .flatten();
        let ready = problem.is_none();
        let (reason, message) = problem.clone().unwrap_or_default();
        let cond = |t: &str| obj::make_condition(isvc, t, ready, &reason, &message, &now);
        let mut status = json!({
            "observedGeneration": obj::generation(isvc),
            "conditions": [
                obj::make_condition(isvc, "IngressReady", ready, if ready { "" } else { "PredictorNotReady" }, "", &now),
                cond("LatestDeploymentReady"),
                cond("PredictorReady"),
                cond("Ready"),
            ],
            "modelStatus": {
                "states": {"activeModelState": if ready { "Loaded" } else { "" },
                           "targetModelState": if ready { "Loaded" } else if reason == "CrashLoopBackOff" { "FailedToLoad" } else { "Pending" }},
                "transitionStatus": if ready { "UpToDate" } else if reason == "CrashLoopBackOff" { "BlockedByFailedLoad" } else { "InProgress" },
                "copies": {"failedCopies": if reason == "CrashLoopBackOff" { 1 } else { 0 }, "totalCopies": 1},
            },
            "deploymentMode": if raw { "RawDeployment" } else { "Serverless" },
        });
        // An older revision that still serves keeps the URL (Knative routes to it) while the
        // newest one is not ready.
        let serving = revisions.as_ref().is_some_and(|r| r.latest_ready.is_some());
        if ready || serving {
            let mut predictor = json!({"url": url, "address": {"url": address}});
            match &revisions {
                Some(r) => {
                    predictor["latestCreatedRevision"] = json!(r.latest_created);
                    if let Some(ready_rev) = &r.latest_ready {
                        predictor["latestReadyRevision"] = json!(ready_rev);
                        predictor["traffic"] = json!([{"revisionName": ready_rev,
                            "latestRevision": r.latest_is_ready(), "percent": 100}]);
                    }
                }
                None => {
                    predictor["latestCreatedRevision"] = json!(format!("{predictor_name}-00001"));
                    predictor["latestReadyRevision"] = json!(format!("{predictor_name}-00001"));
                }
            }
            status["components"] = json!({"predictor": predictor});
        }
        if ready || serving {
            status["url"] = json!(url);
            status["address"] = json!({"url": address});
        }
        if ready {
            status["modelStatus"]["lastFailureInfo"] = Value::Null;
        } else {
            if !serving {
                status["url"] = Value::Null;
                status["address"] = Value::Null;
            }
            // The schema allows only KServe's failure reasons; a pod that is merely
            // starting or unschedulable is no failure (its message is in the conditions).
            status["modelStatus"]["lastFailureInfo"] = if reason == "CrashLoopBackOff" {
                json!({"reason": "ModelLoadFailed", "message": message})
            } else {
                Value::Null
            };
        }
        ctx.note(ctx.patch_status(ISVC, isvc, status).await, wake);
    }
}

fn predictor_starting() -> (String, String) {
    (
        "PredictorNotReady".to_string(),
        "predictor is starting: loading the model".to_string(),
    )
}

/// A serverless predictor: the Knative Service from the predictor Deployment's pod template;
/// the problem of its newest revision, if that is not ready (from that revision's pods).
async fn serverless_predictor(
    ctx: &Ctx,
    isvc: &Value,
    predictor_name: &str,
    dep: &Value,
    wake: &mut Wake,
) -> Option<(String, String)> {
    let min_scale = dep["spec"]["replicas"].as_u64().unwrap_or(1);
    let ksvc =
        knative::predictor_service(isvc, predictor_name, &dep["spec"]["template"], min_scale);
    ctx.note(ctx.ensure(KNATIVE_SERVICE, ksvc).await, wake);
    // Until the Knative Service is seen (it was just created), nothing serves.
    let Some(revisions) = knative::revisions(ctx, isvc, predictor_name) else {
        return Some(predictor_starting());
    };
    if revisions.latest_is_ready() {
        return None;
    }
    Some(
        pod_problem(
            ctx,
            obj::namespace(isvc),
            knative::REVISION_LABEL,
            &revisions.latest_created,
        )
        .unwrap_or_else(predictor_starting),
    )
}

fn predictor_deployment(isvc: &Value, runtime: &Value, name: &str) -> Value {
    let isvc_name = obj::name(isvc);
    let predictor = &isvc["spec"]["predictor"];
    let model = &predictor["model"];
    let mut containers: Vec<Value> = runtime["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if containers.is_empty() {
        containers.push(
            json!({"name": "kserve-container", "image": "quay.io/modh/vllm:rhoai-2.22-cuda"}),
        );
    }
    let first = &mut containers[0];
    first["name"] = json!("kserve-container");
    for field in ["resources", "args", "env"] {
        if !model[field].is_null() {
            first[field] = model[field].clone();
        }
    }
    let mut spec = json!({"containers": containers});
    // The runtime's volumes (vLLM's `shm` emptyDir) go with its containers' volumeMounts: a mount
    // of an undeclared volume is refused by the API server.
    let mut volumes: Vec<Value> = runtime["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(pvc) = model["storageUri"]
        .as_str()
        .and_then(|u| u.strip_prefix("pvc://"))
    {
        let claim = pvc.split('/').next().unwrap_or_default();
        volumes.push(json!({"name": "kserve-pvc-source", "persistentVolumeClaim": {"claimName": claim, "readOnly": true}}));
    }
    if !volumes.is_empty() {
        spec["volumes"] = json!(volumes);
    }
    for field in [
        "tolerations",
        "nodeSelector",
        "affinity",
        "serviceAccountName",
    ] {
        if !predictor[field].is_null() {
            spec[field] = predictor[field].clone();
        }
    }
    let labels = json!({
        "app": format!("isvc.{name}"),
        "component": "predictor",
        "serving.kserve.io/inferenceservice": isvc_name,
    });
    let replicas = predictor["minReplicas"].as_u64().unwrap_or(1).max(1);
    deployment_for(isvc, name, labels, spec, replicas)
}

async fn knative_services(ctx: &Ctx, wake: &mut Wake) {
    let domain = ctx.ingress_domain();
    for ksvc in ctx.caches.list(KNATIVE_SERVICE).values() {
        if obj::is_deleting(ksvc) {
            continue;
        }
        if obj::label(ksvc, "serving.kserve.io/inferenceservice").is_some() {
            knative::predictor_revisions(ctx, ksvc, &domain, wake).await;
            continue;
        }
        // Any other Knative Service is ready at once.
        let now = ctx.now_s();
        let (ns, name) = (obj::namespace(ksvc), obj::name(ksvc));
        let c = |t: &str| obj::make_condition(ksvc, t, true, "", "", &now);
        let status = json!({
            "observedGeneration": obj::generation(ksvc),
            "url": format!("https://{}", default_host(name, ns, &domain)),
            "address": {"url": format!("http://{name}.{ns}.svc.cluster.local")},
            "latestCreatedRevisionName": format!("{name}-00001"),
            "latestReadyRevisionName": format!("{name}-00001"),
            "conditions": [c("ConfigurationsReady"), c("Ready"), c("RoutesReady")],
        });
        ctx.note(ctx.patch_status(KNATIVE_SERVICE, ksvc, status).await, wake);
    }
}

async fn model_registries(ctx: &Ctx, wake: &mut Wake) {
    let domain = ctx.ingress_domain();
    for mr in ctx.caches.list(MODEL_REGISTRY).values() {
        if obj::is_deleting(mr) {
            continue;
        }
        let now = ctx.now_s();
        let (ns, name) = (obj::namespace(mr), obj::name(mr));
        let labels =
            json!({"app": name, "component": "model-registry", "app.kubernetes.io/name": name});
        let pod = json!({"containers": [
            {"name": "rest-container", "image": "registry.redhat.io/rhoai/odh-model-registry-rhel9:v2.22",
             "ports": [{"name": "http-api", "containerPort": 8080}]},
            {"name": "grpc-container", "image": "registry.redhat.io/rhoai/odh-mlmd-grpc-server-rhel9:v2.22",
             "ports": [{"name": "grpc-api", "containerPort": 9090}]},
        ]});
        ctx.note(
            ctx.ensure(DEPLOYMENT, deployment_for(mr, name, labels.clone(), pod, 1))
                .await,
            wake,
        );
        let ports = json!([{"name": "grpc-api", "port": 9090, "targetPort": 9090},
                           {"name": "http-api", "port": 8080, "targetPort": 8080}]);
        ctx.note(
            ctx.create(written::SERVICE, service_for(mr, name, labels, ports))
                .await,
            wake,
        );
        ctx.note(
            ctx.create(
                ROUTE,
                route_for(mr, &format!("{name}-https"), name, "http-api"),
            )
            .await,
            wake,
        );
        let ready = deployment_available(ctx, ns, name);
        let host = default_host(&format!("{name}-https"), ns, &domain);
        let status = json!({
            "conditions": [
                obj::make_condition(mr, "Available", ready,
                    if ready { "DeploymentAvailable" } else { "DeploymentUnavailable" },
                    if ready { "Deployment for model registry is available" } else { "Deployment for model registry is not available" }, &now),
                obj::make_condition(mr, "Progressing", true, "CreatedDeployment", "Deployment for model registry was successfully created", &now),
            ],
            "hosts": [host, format!("{name}.{ns}.svc.cluster.local"), format!("{name}.{ns}"), name],
            "hostsStr": format!("{host},{name}.{ns}.svc.cluster.local,{name}.{ns},{name}"),
        });
        ctx.note(ctx.patch_status(MODEL_REGISTRY, mr, status).await, wake);
    }
}

async fn llama_stacks(ctx: &Ctx, wake: &mut Wake) {
    for lsd in ctx.caches.list(LLAMA_STACK).values() {
        if obj::is_deleting(lsd) {
            continue;
        }
        let now = ctx.now_s();
        let (ns, name) = (obj::namespace(lsd), obj::name(lsd));
        let server = &lsd["spec"]["server"];
        let port = server["containerSpec"]["port"].as_u64().unwrap_or(8321);
        let image = server["distribution"]["image"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!(
                    "quay.io/opendatahub/llama-stack:{}",
                    server["distribution"]["name"].as_str().unwrap_or("rh-dev")
                )
            });
        let mut container =
            json!({"name": "llama-stack", "image": image, "ports": [{"containerPort": port}]});
        for field in ["env", "resources"] {
            if !server["containerSpec"][field].is_null() {
                container[field] = server["containerSpec"][field].clone();
            }
        }
        let labels = json!({"app": "llama-stack", "app.kubernetes.io/instance": name});
        let replicas = lsd["spec"]["replicas"].as_u64().unwrap_or(1);
        ctx.note(
            ctx.ensure(
                DEPLOYMENT,
                deployment_for(
                    lsd,
                    name,
                    labels.clone(),
                    json!({"containers": [container]}),
                    replicas,
                ),
            )
            .await,
            wake,
        );
        let svc = format!("{name}-service");
        ctx.note(
            ctx.create(
                written::SERVICE,
                service_for(
                    lsd,
                    &svc,
                    labels,
                    json!([{"name": "http", "port": port, "targetPort": port}]),
                ),
            )
            .await,
            wake,
        );
        let ready = deployment_available(ctx, ns, name);
        let status = json!({
            "phase": if ready { "Ready" } else { "Initializing" },
            "availableReplicas": if ready { replicas } else { 0 },
            "version": {"operatorVersion": "0.3.0", "llamaStackServerVersion": "0.2.22"},
            "conditions": [
                // The CRD requires reason and message on every condition.
                obj::make_condition(lsd, "DeploymentReady", ready, if ready { "DeploymentReady" } else { "DeploymentPending" },
                    if ready { "Deployment is ready" } else { "Waiting for the deployment to become ready" }, &now),
                obj::make_condition(lsd, "HealthCheck", ready, if ready { "HealthCheckPassed" } else { "HealthCheckPending" },
                    if ready { "Health check passed" } else { "Waiting for the server to answer its health check" }, &now),
            ],
        });
        ctx.note(ctx.patch_status(LLAMA_STACK, lsd, status).await, wake);
    }
}

async fn notebooks(ctx: &Ctx, wake: &mut Wake) {
    for nb in ctx.caches.list(NOTEBOOK).values() {
        if obj::is_deleting(nb) {
            continue;
        }
        let now = ctx.now_s();
        let (ns, name) = (obj::namespace(nb), obj::name(nb));
        let labels = json!({"app": name, "notebook-name": name, "statefulset": name});
        let mut template = nb["spec"]["template"].clone();
        template["metadata"]["labels"] = labels.clone();
        let sts = json!({
            "metadata": {"name": name, "namespace": ns, "ownerReferences": [obj::controller_ref(nb)]},
            "spec": {"replicas": 1, "serviceName": "", "selector": {"matchLabels": labels.clone()}, "template": template},
        });
        ctx.note(ctx.ensure(STATEFUL_SET, sts).await, wake);
        ctx.note(
            ctx.create(
                written::SERVICE,
                service_for(
                    nb,
                    name,
                    json!({"statefulset": name}),
                    json!([{"name": "http-notebook", "port": 80, "targetPort": 8888}]),
                ),
            )
            .await,
            wake,
        );
        ctx.note(
            ctx.create(ROUTE, route_for(nb, name, name, "http-notebook"))
                .await,
            wake,
        );
        let ready = ctx
            .caches
            .get(STATEFUL_SET, ns, name)
            .and_then(|s| s["status"]["readyReplicas"].as_u64())
            .unwrap_or(0);
        let pod = ctx.caches.get(POD, ns, &format!("{name}-0"));
        // The CRD requires `containerState`: an object, also before the kubelet reported one.
        let state = pod
            .as_ref()
            .map(|p| p["status"]["containerStatuses"][0]["state"].clone())
            .filter(|s| s.is_object())
            .unwrap_or_else(|| json!({}));
        let status = json!({
            "readyReplicas": ready,
            "containerState": state,
            "conditions": [obj::make_condition(nb, "Ready", ready > 0, "", "", &now)],
        });
        ctx.note(ctx.patch_status(NOTEBOOK, nb, status).await, wake);
    }
}

/// Where the OpenShift AI operator runs TrustyAI's operator, and its configuration.
const TRUSTYAI_NAMESPACE: &str = "redhat-ods-applications";
const TRUSTYAI_OPERATOR: &str = "trustyai-service-operator-controller-manager";
const TRUSTYAI_CONFIG: &str = "trustyai-service-operator-config";
/// Its pods' labels as the operator's manifests give them (`config/manager` and the base
/// kustomization's `commonLabels` of trustyai-service-operator).
const TRUSTYAI_POD_LABEL: (&str, &str) = ("control-plane", "controller-manager");
const TRUSTYAI_PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "trustyai");

/// The TrustyAI operator's Deployment, which the OpenShift AI operator runs while the DSC's
/// `trustyai` component is Managed (next to its ConfigMap).
async fn trustyai_operator(ctx: &Ctx, wake: &mut Wake) {
    let dscs = ctx.caches.list(DSC);
    let Some(dsc) = dscs.values().find(|d| !obj::is_deleting(d)).cloned() else {
        return;
    };
    if dsc["spec"]["components"]["trustyai"]["managementState"] != "Managed"
        || ctx
            .caches
            .get(CONFIG_MAP, TRUSTYAI_NAMESPACE, TRUSTYAI_CONFIG)
            .is_none()
    {
        return;
    }
    let labels =
        json!({TRUSTYAI_POD_LABEL.0: TRUSTYAI_POD_LABEL.1, TRUSTYAI_PART_OF.0: TRUSTYAI_PART_OF.1});
    let dep = json!({
        "metadata": {"name": TRUSTYAI_OPERATOR, "namespace": TRUSTYAI_NAMESPACE,
                     "labels": labels.clone(), "ownerReferences": [obj::controller_ref(&dsc)]},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels.clone()},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                {"name": "manager", "image": "registry.redhat.io/rhoai/odh-trustyai-service-operator-rhel9:v2.22",
                 "args": ["--leader-elect"]}]}},
        },
    });
    ctx.note(ctx.ensure(DEPLOYMENT, dep).await, wake);
}

/// Whether the running TrustyAI operator allows LMEvalJobs online access. The operator reads
/// its ConfigMap when it starts: a pod created before the ConfigMap's last write still runs
/// with the earlier configuration, taken as online access off (the shipped default). `None`
/// when no operator pod runs (then nothing is checked).
fn operator_allows_online(ctx: &Ctx) -> Option<bool> {
    let pods = ctx.caches.list(POD);
    let started = pods
        .values()
        .filter(|p| {
            obj::namespace(p) == TRUSTYAI_NAMESPACE
                && obj::label(p, TRUSTYAI_POD_LABEL.0) == Some(TRUSTYAI_POD_LABEL.1)
                && obj::label(p, TRUSTYAI_PART_OF.0) == Some(TRUSTYAI_PART_OF.1)
                && !obj::is_deleting(p)
                && p["status"]["phase"] == "Running"
        })
        .filter_map(|p| {
            p["metadata"]["creationTimestamp"]
                .as_str()?
                .parse::<jiff::Timestamp>()
                .ok()
        })
        .max()?;
    let cm = ctx
        .caches
        .get(CONFIG_MAP, TRUSTYAI_NAMESPACE, TRUSTYAI_CONFIG)?;
    let changed = cm["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["time"].as_str()?.parse::<jiff::Timestamp>().ok())
        .max();
    if changed.is_some_and(|c| c > started) {
        return Some(false);
    }
    Some(cm["data"]["lmes-allow-online"] == "true")
}

async fn lm_eval_jobs(ctx: &Ctx, wake: &mut Wake) {
    for job in ctx.caches.list(LM_EVAL_JOB).values() {
        if obj::is_deleting(job) || job["status"]["state"] == "Complete" {
            continue;
        }
        let now = ctx.now_s();
        let created = job["metadata"]["creationTimestamp"].as_str();
        // Decided when the operator first takes the job: asking for online access (datasets
        // from the Hub) while the operator's configuration forbids it fails it.
        if job["status"]["state"].is_null()
            && job["spec"]["allowOnline"] == true
            && operator_allows_online(ctx) == Some(false)
        {
            let status = json!({"state": "Complete", "reason": "Failed",
                "message": "online access is disabled by the operator configuration \
                            (lmes-allow-online is not \"true\" in the configuration the operator started with): \
                            the datasets cannot be downloaded",
                "podName": obj::name(job), "completeTime": now, "lastScheduleTime": now});
            ctx.note(ctx.patch_status(LM_EVAL_JOB, job, status).await, wake);
            continue;
        }
        let total = ctx.scenario.delays.lm_eval;
        let tasks: Vec<String> = job["spec"]["taskList"]["taskNames"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_else(|| vec!["arc_easy".to_string()]);
        let status = if ctx.due(created, total, wake) {
            let doc = lm_eval_output(job, &tasks, &now);
            json!({"state": "Complete", "reason": "Succeeded", "message": "job completed",
                   "podName": obj::name(job), "completeTime": now, "lastScheduleTime": created,
                   "results": doc.to_string()})
        } else if ctx.due(created, total / 10, wake) {
            json!({"state": "Running", "reason": "NoReason", "message": "job is running",
                   "podName": obj::name(job), "lastScheduleTime": created})
        } else {
            json!({"state": "Scheduled", "reason": "NoReason", "message": "job has been scheduled",
                   "podName": obj::name(job), "lastScheduleTime": created})
        };
        ctx.note(ctx.patch_status(LM_EVAL_JOB, job, status).await, wake);
    }
}

/// The metrics lm-evaluation-harness 0.4 reports for a task (`acc` only for unknown tasks).
fn task_metrics(task: &str) -> &'static [&'static str] {
    match task {
        "arc_easy" | "arc_challenge" | "hellaswag" | "piqa" | "openbookqa" => &["acc", "acc_norm"],
        _ => &["acc"],
    }
}

/// What the TrustyAI job driver stores in `status.results`: the harness's results file for
/// the job's tasks. Scores are deterministic per job and task; a quantized model (its name
/// says so) scores up to two points lower, as w4a16 quantization typically does.
fn lm_eval_output(job: &Value, tasks: &[String], now: &str) -> Value {
    let name = obj::name(job);
    let limit = job["spec"]["limit"]
        .as_str()
        .and_then(|l| l.parse::<f64>().ok())
        .or_else(|| job["spec"]["limit"].as_f64());
    let samples = limit.unwrap_or(1000.0).max(2.0);
    let model_arg = |n: &str| {
        job["spec"]["modelArgs"]
            .as_array()
            .and_then(|a| a.iter().find(|m| m["name"] == n))
            .and_then(|m| m["value"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let model = model_arg("model");
    let penalty = if model.contains("quant") || name.contains("quant") {
        obj::hash_num(&format!("{name}/penalty"), 20) as f64 / 1000.0
    } else {
        0.0
    };
    let round = |v: f64| (v * 10000.0).round() / 10000.0;
    let mut results = serde_json::Map::new();
    let mut versions = serde_json::Map::new();
    let mut n_shot = serde_json::Map::new();
    let mut higher = serde_json::Map::new();
    let mut n_samples = serde_json::Map::new();
    let mut subtasks = serde_json::Map::new();
    for t in tasks {
        // The task's difficulty is the model's, not the job's: both models share the base.
        let base = 0.6 + obj::hash_num(&format!("task/{t}"), 250) as f64 / 1000.0;
        let mut m = serde_json::Map::new();
        m.insert("alias".into(), json!(t));
        let mut better = serde_json::Map::new();
        for (i, metric) in task_metrics(t).iter().enumerate() {
            let v = round(base - penalty + i as f64 * 0.03);
            let stderr = round((v * (1.0 - v) / (samples - 1.0)).sqrt());
            m.insert(format!("{metric},none"), json!(v));
            m.insert(format!("{metric}_stderr,none"), json!(stderr));
            better.insert((*metric).to_string(), json!(true));
        }
        results.insert(t.clone(), Value::Object(m));
        versions.insert(t.clone(), json!(1.0));
        n_shot.insert(t.clone(), json!(0));
        higher.insert(t.clone(), Value::Object(better));
        n_samples.insert(
            t.clone(),
            json!({"original": 1000, "effective": samples as u64}),
        );
        subtasks.insert(t.clone(), json!([]));
    }
    let model_args: Vec<String> = job["spec"]["modelArgs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some(format!("{}={}", m["name"].as_str()?, m["value"].as_str()?)))
        .collect();
    json!({
        "results": results,
        "group_subtasks": subtasks,
        "versions": versions,
        "n-shot": n_shot,
        "higher_is_better": higher,
        "n-samples": n_samples,
        "config": {
            "model": job["spec"]["model"], "model_args": model_args.join(","),
            "batch_size": job["spec"]["batchSize"], "batch_sizes": [], "device": null,
            "use_cache": null, "limit": limit, "bootstrap_iters": 100000, "gen_kwargs": null,
            "random_seed": 0, "numpy_seed": 1234, "torch_seed": 1234, "fewshot_seed": 1234,
        },
        "git_hash": null,
        "date": parse_time_secs(now),
        "model_name": model,
        "total_evaluation_time_seconds": "0",
    })
}

fn parse_time_secs(t: &str) -> f64 {
    t.parse::<jiff::Timestamp>()
        .map(|ts| ts.as_second() as f64)
        .unwrap_or_default()
}
