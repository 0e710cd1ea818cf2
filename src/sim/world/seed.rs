//! Seeding: creates a scenario's starting cluster through the API — the CRDs of the OpenShift and
//! installed operators' kinds (waiting until Established), namespaces, Infrastructure/ClusterVersion/
//! Ingress `cluster`, StorageClasses, control-plane and worker Machines/MachineSets with their
//! Ready Nodes, MachineConfigPools, installed operators (OperatorGroup, Subscription, CSV Succeeded),
//! the GPU operator's ClusterPolicy and NFD instance, OpenShift AI's DSCInitialization and
//! DataScienceCluster `default-dsc` with its component CRDs, and the console/dashboard Routes.
//! Idempotent: existing objects are left alone (AlreadyExists is success); transient API errors
//! (429/5xx/connection) are retried.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

use super::catalog::{self, COMPONENTS, CrdDef, PLATFORM_CRDS};
use super::informer::{
    CLUSTER_POLICY, CSV, DSC, INGRESS_CONFIG, Kind, MACHINE, MACHINE_SET, MCP, NFD, NODE, ROUTE,
    STORAGE_CLASS, SUBSCRIPTION, written,
};
use super::machines::{identity, node_object};
use super::openshift::{csv_object, csv_status};
use super::rhoai::dsc_status;
use super::{Ctx, MACHINE_FINALIZER, WorldError, obj};
use crate::sim::clock::{SimClock, rfc3339};
use crate::sim::scenario::{MachineSetSpec, Scenario};

const fn kind(
    group: &'static str,
    version: &'static str,
    k: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group,
        version,
        kind: k,
        plural,
        namespaced,
    }
}

const INFRASTRUCTURE: Kind = kind(
    "config.openshift.io",
    "v1",
    "Infrastructure",
    "infrastructures",
    false,
);
const CLUSTER_VERSION: Kind = kind(
    "config.openshift.io",
    "v1",
    "ClusterVersion",
    "clusterversions",
    false,
);
const OPERATOR_GROUP: Kind = kind(
    "operators.coreos.com",
    "v1",
    "OperatorGroup",
    "operatorgroups",
    true,
);
const DSCI: Kind = kind(
    "dscinitialization.opendatahub.io",
    "v1",
    "DSCInitialization",
    "dscinitializations",
    false,
);
const SECRET: Kind = kind("", "v1", "Secret", "secrets", true);
const CONFIG_MAP: Kind = kind("", "v1", "ConfigMap", "configmaps", true);

fn is_transient(e: &WorldError) -> bool {
    match e {
        WorldError::Api { source, .. } => match source {
            kube::Error::Api(s) => matches!(s.code, 429 | 500 | 502 | 503 | 504),
            kube::Error::HyperError(_) | kube::Error::Service(_) => true,
            _ => false,
        },
        WorldError::CrdNotEstablished { .. }
        | WorldError::Deferred { .. }
        | WorldError::Malformed { .. } => false,
    }
}

/// Runs `op` again on transient errors (seeding must survive the `flaky-api` scenario).
async fn retrying<F, Fut, T>(mut op: F) -> Result<T, WorldError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, WorldError>>,
{
    let mut attempt = 0u32;
    loop {
        match op().await {
            Err(e) if is_transient(&e) && attempt < 12 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

/// Creates an object (existing ones are kept), then writes its `status` through the subresource.
pub(super) async fn put(ctx: &Ctx, kind: Kind, obj: Value) -> Result<(), WorldError> {
    retrying(|| ctx.create_only(kind, obj.clone())).await?;
    if let Some(status) = obj.get("status").filter(|s| !s.is_null()) {
        let (ns, name) = (obj::namespace(&obj), obj::name(&obj));
        retrying(|| async {
            let current = ctx.get(kind, ns, name).await?;
            ctx.patch_status(kind, &current, status.clone()).await
        })
        .await?;
    }
    Ok(())
}

/// Creates the scenario's starting objects through `client`. Safe to call on a seeded cluster.
pub async fn seed(client: kube::Client, scenario: &Scenario) -> Result<(), WorldError> {
    let ctx = Ctx {
        client,
        scenario: std::sync::Arc::new(scenario.clone()),
        clock: SimClock::new(1.0),
        caches: Default::default(),
        writes: Default::default(),
    };
    let c = &scenario.cluster;
    let now = rfc3339(jiff::Timestamp::now());

    // CRDs first: every CR below needs its kind served.
    let mut crds: Vec<&CrdDef> = PLATFORM_CRDS.iter().collect();
    for op in &c.operators {
        if let Some(pkg) = catalog::package(&op.package) {
            crds.extend(pkg.crds.iter());
        }
    }
    let rhoai = c.operators.iter().any(|o| o.package == "rhods-operator");
    if rhoai {
        for comp in COMPONENTS {
            if c.dsc_components.get(comp.key).map(String::as_str) == Some("Managed") {
                crds.extend(comp.crds.iter());
            }
        }
    }
    for crd in &crds {
        put(&ctx, written::CRD, crd.to_object()).await?;
    }
    let crd_api: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let wait_for = Duration::from_secs(120 + scenario.api.crd_establish_delay);
    for crd in &crds {
        let name = crd.name();
        let deadline = tokio::time::Instant::now() + wait_for;
        loop {
            let established =
                await_condition(crd_api.clone(), &name, conditions::is_crd_established());
            match tokio::time::timeout_at(deadline, established).await {
                Ok(Ok(_)) => break,
                // A watch broken by an injected fault: watch again.
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(_) => return Err(WorldError::CrdNotEstablished { name }),
            }
        }
    }

    // Namespaces.
    let mut namespaces = vec![
        "openshift-machine-api",
        "openshift-config",
        "openshift-config-managed",
        "openshift-ingress",
        "openshift-console",
        "openshift-marketplace",
        "openshift-operators",
        "openshift-monitoring",
        "openshift-operator-lifecycle-manager",
    ];
    for op in &c.operators {
        if let Some(pkg) = catalog::package(&op.package) {
            namespaces.push(pkg.namespace);
        }
    }
    if rhoai {
        namespaces.extend([
            "redhat-ods-applications",
            "redhat-ods-monitoring",
            "rhods-notebooks",
            "istio-system",
        ]);
        if c.dsc_components.get("modelregistry").map(String::as_str) == Some("Managed") {
            namespaces.push("rhoai-model-registries");
        }
    }
    for ns in namespaces {
        put(&ctx, written::NAMESPACE, json!({"metadata": {"name": ns}})).await?;
    }

    // Cluster configuration.
    let domain = c.ingress_domain();
    let platform_status = if c.is_aws() {
        json!({"type": "AWS", "aws": {"region": c.region}})
    } else {
        json!({"type": c.platform})
    };
    put(
        &ctx,
        INFRASTRUCTURE,
        json!({
            "metadata": {"name": "cluster"},
            "spec": {"cloudConfig": {"name": ""}, "platformSpec": {"type": c.platform}},
            "status": {
                "infrastructureName": c.infrastructure_name,
                "platform": c.platform,
                "platformStatus": platform_status,
                "apiServerURL": format!("https://api.{}:6443", c.base_domain),
                "apiServerInternalURI": format!("https://api-int.{}:6443", c.base_domain),
                "etcdDiscoveryDomain": "",
                "controlPlaneTopology": "HighlyAvailable",
                "infrastructureTopology": "HighlyAvailable",
                "cpuPartitioning": "None",
            },
        }),
    )
    .await?;
    let minor = c
        .openshift_version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let image = format!(
        "quay.io/openshift-release-dev/ocp-release@sha256:{}",
        obj::hash_chars(&c.openshift_version, 64)
    );
    put(&ctx, CLUSTER_VERSION, json!({
        "metadata": {"name": "version"},
        "spec": {"clusterID": uuid_for(&c.infrastructure_name), "channel": format!("stable-{minor}")},
        "status": {
            "desired": {"version": c.openshift_version, "image": image, "channels": [format!("stable-{minor}")]},
            "history": [{"state": "Completed", "version": c.openshift_version, "image": image,
                         "startedTime": now, "completionTime": now, "verified": false}],
            "observedGeneration": 1,
            "versionHash": obj::hash_chars(&c.openshift_version, 11),
            // Required (nullable): a merge patch would delete a null, so an empty list.
            "availableUpdates": [],
            "conditions": [
                {"type": "Available", "status": "True", "lastTransitionTime": now,
                 "message": format!("Done applying {}", c.openshift_version)},
                {"type": "Failing", "status": "False", "lastTransitionTime": now},
                {"type": "Progressing", "status": "False", "lastTransitionTime": now,
                 "message": format!("Cluster version is {}", c.openshift_version)},
                {"type": "RetrievedUpdates", "status": "True", "lastTransitionTime": now},
            ],
        },
    })).await?;
    put(&ctx, INGRESS_CONFIG, json!({
        "metadata": {"name": "cluster"},
        "spec": {"domain": domain, "loadBalancer": {"platform": {"type": if c.is_aws() { "AWS" } else { "" }}}},
        "status": {"defaultPlacement": "Workers"},
    })).await?;
    put(
        &ctx,
        SECRET,
        json!({
            "metadata": {"name": "pull-secret", "namespace": "openshift-config"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "eyJhdXRocyI6e319"},
        }),
    )
    .await?;
    put(&ctx, ROUTE, json!({
        "metadata": {"name": "console", "namespace": "openshift-console"},
        "spec": {"host": format!("console-openshift-console.{domain}"), "to": {"kind": "Service", "name": "console"},
                 "port": {"targetPort": "https"}, "tls": {"termination": "reencrypt"}},
    })).await?;

    // Storage.
    for sc in &c.storage_classes {
        let mut obj = json!({
            "metadata": {"name": sc.name},
            "provisioner": sc.provisioner,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": sc.binding_mode,
            "allowVolumeExpansion": true,
            "parameters": if sc.provisioner == "ebs.csi.aws.com" { json!({"type": if sc.name.starts_with("gp2") { "gp2" } else { "gp3" }, "encrypted": "true"}) } else { json!({}) },
        });
        if sc.default {
            obj["metadata"]["annotations"] =
                json!({"storageclass.kubernetes.io/is-default-class": "true"});
        }
        put(&ctx, STORAGE_CLASS, obj).await?;
    }

    // Machine config pools.
    for role in ["master", "worker"] {
        let rendered = format!("rendered-{role}-{}", obj::hash_chars(role, 10));
        let count = if role == "master" {
            c.control_plane.count as usize
        } else {
            c.machine_sets
                .iter()
                .map(|m| m.replicas as usize)
                .sum::<usize>()
                + c.static_nodes
                    .iter()
                    .map(|s| s.count as usize)
                    .sum::<usize>()
        };
        put(&ctx, MCP, json!({
            "metadata": {"name": role, "labels": {format!("pools.operator.machineconfiguration.openshift.io/{role}"): ""}},
            "spec": {
                "machineConfigSelector": {"matchLabels": {"machineconfiguration.openshift.io/role": role}},
                "nodeSelector": {"matchLabels": {format!("node-role.kubernetes.io/{role}"): ""}},
                "paused": false,
                "configuration": {"name": rendered},
            },
            "status": {
                "observedGeneration": 1, "machineCount": count, "updatedMachineCount": count,
                "readyMachineCount": count, "unavailableMachineCount": 0, "degradedMachineCount": 0,
                "configuration": {"name": rendered},
                "conditions": [
                    {"type": "Updated", "status": "True", "lastTransitionTime": now,
                     "message": format!("All nodes are updated with {rendered}")},
                    {"type": "Updating", "status": "False", "lastTransitionTime": now},
                    {"type": "Degraded", "status": "False", "lastTransitionTime": now},
                ],
            },
        })).await?;
    }

    // Nodes: control plane, worker MachineSets, static workers.
    for i in 0..c.control_plane.count {
        let zone = c
            .machine_sets
            .get(i as usize % c.machine_sets.len().max(1))
            .map(|m| m.zone.clone());
        if c.is_aws() {
            let ms = MachineSetSpec {
                zone: zone.unwrap_or_else(|| format!("{}a", c.region)),
                instance_type: c.control_plane.instance_type.clone(),
                replicas: 1,
            };
            let name = format!("{}-master-{i}", c.infrastructure_name);
            let mut machine = machine_object(scenario, &ms, "master", &name, None);
            machine["metadata"]["labels"]["machine.openshift.io/cluster-api-machine-role"] =
                json!("master");
            seed_machine(&ctx, machine, &ms, &now).await?;
        } else {
            let name = format!("master-{i}");
            let (ip, _, _) = identity("", &name);
            let role = json!({"metadata": {"labels": {"machine.openshift.io/cluster-api-machine-role": "master"}}});
            let node = node_object(
                scenario,
                &role,
                &name,
                &ip,
                &c.control_plane.instance_type,
                "",
                "",
                true,
                &now,
            );
            put(&ctx, NODE, node).await?;
        }
    }
    for ms in &c.machine_sets {
        let ms_name = format!("{}-worker-{}", c.infrastructure_name, ms.zone);
        let set = machine_set_object(scenario, ms, &ms_name);
        put(&ctx, MACHINE_SET, set).await?;
        let created =
            Some(retrying(|| ctx.get(MACHINE_SET, "openshift-machine-api", &ms_name)).await?);
        for r in 0..ms.replicas {
            let name = format!(
                "{ms_name}-{}",
                obj::suffix(&format!("openshift-machine-api/{ms_name}/{r}"))
            );
            let machine = machine_object(scenario, ms, "worker", &name, created.as_ref());
            seed_machine(&ctx, machine, ms, &now).await?;
        }
        if let Some(set) = &created {
            let status = json!({"replicas": ms.replicas, "fullyLabeledReplicas": ms.replicas,
                "readyReplicas": ms.replicas, "availableReplicas": ms.replicas, "observedGeneration": 1});
            retrying(|| ctx.patch_status(MACHINE_SET, set, status.clone())).await?;
        }
    }
    for s in &c.static_nodes {
        for i in 0..s.count {
            let name = format!("{}-{i}", s.name_prefix);
            let (ip, _, _) = identity("", &name);
            let node = node_object(
                scenario,
                &Value::Null,
                &name,
                &ip,
                &s.instance_type,
                "",
                "",
                true,
                &now,
            );
            put(&ctx, NODE, node).await?;
        }
    }

    // Operators.
    for op in &c.operators {
        let Some(pkg) = catalog::package(&op.package) else {
            continue;
        };
        let version = op
            .version
            .clone()
            .unwrap_or_else(|| pkg.version.to_string());
        if pkg.namespace != "openshift-operators" {
            put(
                &ctx,
                OPERATOR_GROUP,
                json!({
                    "metadata": {"name": pkg.namespace, "namespace": pkg.namespace},
                    "spec": {"upgradeStrategy": "Default"},
                    "status": {"lastUpdated": now, "namespaces": [""]},
                }),
            )
            .await?;
        }
        let csv_name = pkg.csv_name(&version);
        put(&ctx, SUBSCRIPTION, json!({
            "metadata": {"name": pkg.name, "namespace": pkg.namespace},
            "spec": {"channel": pkg.channel, "installPlanApproval": "Automatic", "name": pkg.name,
                     "source": if pkg.name.starts_with("gpu-") { "certified-operators" } else { "redhat-operators" },
                     "sourceNamespace": "openshift-marketplace", "startingCSV": csv_name},
            "status": {"state": "AtLatestKnown", "currentCSV": csv_name, "installedCSV": csv_name, "lastUpdated": now},
        })).await?;
        let mut csv = csv_object(pkg, pkg.namespace, &version);
        csv["status"] = csv_status("Succeeded", &now);
        put(&ctx, CSV, csv).await?;
        match pkg.name {
            "gpu-operator-certified" => {
                put(&ctx, CLUSTER_POLICY, json!({
                    "metadata": {"name": "gpu-cluster-policy"},
                    "spec": {"operator": {"defaultRuntime": "crio"}, "driver": {"enabled": true},
                             "devicePlugin": {"enabled": true}, "dcgmExporter": {"enabled": true},
                             "gfd": {"enabled": true}, "toolkit": {"enabled": true},
                             "daemonsets": {}, "dcgm": {"enabled": true}, "nodeStatusExporter": {"enabled": true}},
                    "status": {"state": "ready", "namespace": "nvidia-gpu-operator",
                               "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled", "message": "",
                                               "lastTransitionTime": now}]},
                })).await?;
            }
            "nfd" => {
                put(&ctx, NFD, json!({
                    "metadata": {"name": "nfd-instance", "namespace": "openshift-nfd"},
                    "spec": {"operand": {"image": "registry.redhat.io/openshift4/ose-node-feature-discovery-rhel9:v4.19"}},
                    "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Available",
                                               "message": "", "lastTransitionTime": now}]},
                })).await?;
            }
            _ => {}
        }
    }

    // OpenShift AI.
    if rhoai {
        put(&ctx, DSCI, json!({
            "metadata": {"name": "default-dsci"},
            "spec": {
                "applicationsNamespace": "redhat-ods-applications",
                "monitoring": {"managementState": "Managed", "namespace": "redhat-ods-monitoring"},
                "serviceMesh": {"managementState": c.service_mesh, "controlPlane": {"name": "data-science-smcp", "namespace": "istio-system", "metricsCollection": "Istio"}},
                "trustedCABundle": {"managementState": "Managed", "customCABundle": ""},
            },
            "status": {"phase": "Ready", "release": {"name": "OpenShift AI Self-Managed", "version": "2.22.1"},
                       "conditions": [{"type": "Available", "status": "True", "reason": "ReconcileCompleted", "lastTransitionTime": now}]},
        })).await?;
        let mesh_installed = c
            .operators
            .iter()
            .any(|o| o.package == "servicemeshoperator");
        if mesh_installed && c.service_mesh == "Managed" {
            super::mesh::seed_control_plane(&ctx, &now).await?;
        }
        let mut components = serde_json::Map::new();
        let mut conditions = Vec::new();
        for comp in COMPONENTS {
            let state = c
                .dsc_components
                .get(comp.key)
                .map_or("Removed", String::as_str);
            let mut spec = json!({"managementState": state});
            match comp.key {
                "kserve" => {
                    spec["defaultDeploymentMode"] = json!("Serverless");
                    spec["serving"] = json!({"ingressGateway": {"certificate": {"type": "OpenshiftDefaultIngress"}},
                                             "managementState": "Managed", "name": "knative-serving"});
                }
                "modelregistry" => spec["registriesNamespace"] = json!("rhoai-model-registries"),
                "workbenches" => spec["workbenchNamespace"] = json!("rhods-notebooks"),
                _ => {}
            }
            components.insert(comp.key.to_string(), spec);
            conditions.push(if state == "Managed" {
                json!({"type": comp.condition, "status": "True", "reason": "Ready", "lastTransitionTime": now})
            } else {
                json!({"type": comp.condition, "status": "False", "reason": "Removed",
                       "message": "Component ManagementState is set to Removed", "lastTransitionTime": now})
            });
        }
        let components = Value::Object(components);
        put(&ctx, DSC, json!({
            "metadata": {"name": "default-dsc", "labels": {"app.kubernetes.io/name": "datasciencecluster"}},
            "spec": {"components": components},
            "status": dsc_status(&components, conditions, 1, &now),
        })).await?;
        if c.dsc_components.get("dashboard").map(String::as_str) == Some("Managed") {
            put(&ctx, ROUTE, json!({
                "metadata": {"name": "rhods-dashboard", "namespace": "redhat-ods-applications",
                             "labels": {"app": "rhods-dashboard", "app.kubernetes.io/part-of": "dashboard"}},
                "spec": {"host": format!("rhods-dashboard-redhat-ods-applications.{domain}"),
                         "to": {"kind": "Service", "name": "rhods-dashboard", "weight": 100},
                         "port": {"targetPort": "dashboard-ui"},
                         "tls": {"termination": "reencrypt", "insecureEdgeTerminationPolicy": "Redirect"}},
            })).await?;
        }
        if c.dsc_components.get("trustyai").map(String::as_str) == Some("Managed") {
            put(&ctx, CONFIG_MAP, json!({
                "metadata": {"name": "trustyai-service-operator-config", "namespace": "redhat-ods-applications",
                             "annotations": {"opendatahub.io/managed": "true"}},
                "data": {"lmes-allow-online": "false", "lmes-allow-code-execution": "false",
                         "lmes-default-batch-size": "8", "lmes-pod-image": "quay.io/trustyai/ta-lmes-job:v0.22"},
            })).await?;
        }
    }
    Ok(())
}

pub(super) fn uuid_for(seed: &str) -> String {
    let a = obj::hash_num(seed, u64::MAX);
    let b = obj::hash_num(&format!("{seed}/b"), u64::MAX);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// An AWS providerSpec like the installer writes for workers.
fn provider_spec(scenario: &Scenario, ms: &MachineSetSpec, role: &str) -> Value {
    let c = &scenario.cluster;
    let infra = &c.infrastructure_name;
    json!({
        "apiVersion": "machine.openshift.io/v1beta1",
        "kind": "AWSMachineProviderConfig",
        "ami": {"id": format!("ami-0{:016x}", obj::hash_num(&format!("ami/{}/{}", c.region, c.openshift_version), u64::MAX))},
        "blockDevices": [{"ebs": {"encrypted": true, "iops": 0, "kmsKey": {"arn": ""}, "volumeSize": 120, "volumeType": "gp3"}}],
        "credentialsSecret": {"name": "aws-cloud-credentials"},
        "deviceIndex": 0,
        "iamInstanceProfile": {"id": format!("{infra}-{role}-profile")},
        "instanceType": ms.instance_type,
        "metadata": {"creationTimestamp": null},
        "metadataServiceOptions": {},
        "placement": {"availabilityZone": ms.zone, "region": c.region},
        "securityGroups": [
            {"filters": [{"name": "tag:Name", "values": [format!("{infra}-node")]}]},
            {"filters": [{"name": "tag:Name", "values": [format!("{infra}-lb")]}]},
        ],
        "subnet": {"filters": [{"name": "tag:Name", "values": [format!("{infra}-subnet-private-{}", ms.zone)]}]},
        "tags": [{"name": format!("kubernetes.io/cluster/{infra}"), "value": "owned"}],
        "userDataSecret": {"name": format!("{role}-user-data")},
    })
}

fn machine_set_object(scenario: &Scenario, ms: &MachineSetSpec, name: &str) -> Value {
    let infra = &scenario.cluster.infrastructure_name;
    let labels = json!({
        "machine.openshift.io/cluster-api-cluster": infra,
        "machine.openshift.io/cluster-api-machine-role": "worker",
        "machine.openshift.io/cluster-api-machine-type": "worker",
        "machine.openshift.io/cluster-api-machineset": name,
    });
    json!({
        "metadata": {
            "name": name,
            "namespace": "openshift-machine-api",
            "labels": {"machine.openshift.io/cluster-api-cluster": infra},
            "annotations": {"capacity.cluster-autoscaler.kubernetes.io/labels": "kubernetes.io/arch=amd64",
                            "machine.openshift.io/memoryMb": (instance_mem_mb(&ms.instance_type)).to_string(),
                            "machine.openshift.io/vCPU": catalog::instance_shape(&ms.instance_type).cpu.to_string(),
                            "machine.openshift.io/GPU": catalog::instance_shape(&ms.instance_type).gpus.to_string()},
        },
        "spec": {
            "replicas": ms.replicas,
            "selector": {"matchLabels": {
                "machine.openshift.io/cluster-api-cluster": infra,
                "machine.openshift.io/cluster-api-machineset": name,
            }},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "lifecycleHooks": {},
                    "metadata": {},
                    "providerSpec": {"value": provider_spec(scenario, ms, "worker")},
                },
            },
        },
    })
}

fn instance_mem_mb(instance_type: &str) -> u64 {
    u64::from(catalog::instance_shape(instance_type).memory_gib) * 1024
}

fn machine_object(
    scenario: &Scenario,
    ms: &MachineSetSpec,
    role: &str,
    name: &str,
    set: Option<&Value>,
) -> Value {
    let infra = &scenario.cluster.infrastructure_name;
    let mut labels = json!({
        "machine.openshift.io/cluster-api-cluster": infra,
        "machine.openshift.io/cluster-api-machine-role": role,
        "machine.openshift.io/cluster-api-machine-type": role,
        "machine.openshift.io/instance-type": ms.instance_type,
        "machine.openshift.io/region": scenario.cluster.region,
        "machine.openshift.io/zone": ms.zone,
    });
    let mut metadata = json!({
        "name": name,
        "namespace": "openshift-machine-api",
        "finalizers": [MACHINE_FINALIZER],
        "annotations": {"machine.openshift.io/instance-state": "running"},
    });
    if let Some(set) = set {
        labels["machine.openshift.io/cluster-api-machineset"] = json!(obj::name(set));
        metadata["ownerReferences"] = json!([obj::controller_ref(set)]);
    }
    metadata["labels"] = labels;
    json!({
        "metadata": metadata,
        "spec": {"lifecycleHooks": {}, "metadata": {}, "providerSpec": {"value": provider_spec(scenario, ms, role)}},
    })
}

async fn seed_machine(
    ctx: &Ctx,
    mut machine: Value,
    ms: &MachineSetSpec,
    now: &str,
) -> Result<(), WorldError> {
    let region = &ctx.scenario.cluster.region;
    let name = obj::name(&machine).to_string();
    let (ip, dns, instance) = identity(region, &format!("openshift-machine-api/{name}"));
    machine["spec"]["providerID"] = json!(format!("aws:///{}/{instance}", ms.zone));
    machine["status"] = json!({
        "phase": "Running",
        "lastUpdated": now,
        "nodeRef": {"kind": "Node", "name": dns},
        "addresses": [
            {"type": "InternalIP", "address": ip},
            {"type": "InternalDNS", "address": dns},
            {"type": "Hostname", "address": dns},
        ],
        "providerStatus": {"apiVersion": "machine.openshift.io/v1beta1", "kind": "AWSMachineProviderStatus",
                           "instanceId": instance, "instanceState": "running"},
        "conditions": [
            {"type": "Drainable", "status": "True", "lastTransitionTime": now},
            {"type": "InstanceExists", "status": "True", "reason": "InstanceExists", "message": "Instance exists", "lastTransitionTime": now},
            {"type": "Terminable", "status": "True", "lastTransitionTime": now},
        ],
    });
    let node = node_object(
        &ctx.scenario,
        &machine,
        &dns,
        &ip,
        &ms.instance_type,
        &ms.zone,
        region,
        true,
        now,
    );
    put(ctx, MACHINE, machine).await?;
    put(ctx, NODE, node).await
}
