//! Table tests for the custom-kind rules in `custom.rs`, one table per kind.
#![allow(clippy::unwrap_used)]

use super::super::super::testutil::{Want, check, ctx_at};
use super::{Act, RULES, Step, rule_for};

const ISVC: &[(&str, &str, Want)] = &[
    (
        "no status",
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral}\n",
        Want::InProgress("no Ready condition yet"),
    ),
    (
        "predictor not ready",
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral}\nstatus:\n  conditions:\n  - {type: IngressReady, status: 'True'}\n  - {type: PredictorReady, status: 'False', reason: RevisionMissing, message: 'Configuration \"mistral-predictor\" is waiting for a Revision to become ready.'}\n  - {type: Ready, status: 'False', reason: RevisionMissing}\n",
        Want::InProgress(
            "Ready: RevisionMissing (PredictorReady: RevisionMissing: Configuration \"mistral-predictor\" is waiting for a Revision to become ready.)",
        ),
    ),
    (
        "model failed to load",
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral}\nstatus:\n  modelStatus:\n    transitionStatus: BlockedByFailedLoad\n    lastFailureInfo: {reason: ModelLoadFailed, message: 'storage-initializer: s3 bucket not found'}\n  conditions:\n  - {type: Ready, status: 'False'}\n",
        Want::Failed("model BlockedByFailedLoad: storage-initializer: s3 bucket not found"),
    ),
    (
        "ready without url",
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral}\nstatus:\n  conditions:\n  - {type: Ready, status: 'True'}\n",
        Want::InProgress("no URL yet"),
    ),
    (
        "ready with url",
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral, generation: 2}\nstatus:\n  observedGeneration: 2\n  url: https://mistral-ai.apps.example.com\n  modelStatus: {transitionStatus: UpToDate}\n  conditions:\n  - {type: Ready, status: 'True'}\n",
        Want::Current("url https://mistral-ai.apps.example.com"),
    ),
    (
        "stale ready",
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral, generation: 3}\nstatus:\n  url: https://x\n  conditions:\n  - {type: Ready, status: 'True', observedGeneration: 2}\n",
        Want::InProgress("older generation"),
    ),
];

const DSC: &[(&str, &str, Want)] = &[
    (
        "dsc no status",
        "apiVersion: datasciencecluster.opendatahub.io/v1\nkind: DataScienceCluster\nmetadata: {name: default-dsc}\n",
        Want::InProgress("no phase yet"),
    ),
    (
        "dsc progressing explains",
        "apiVersion: datasciencecluster.opendatahub.io/v1\nkind: DataScienceCluster\nmetadata: {name: default-dsc}\nstatus:\n  phase: Progressing\n  conditions:\n  - {type: KserveReady, status: 'False', reason: Progressing, message: 'waiting for serverless operator'}\n",
        Want::InProgress(
            "phase Progressing (KserveReady: Progressing: waiting for serverless operator)",
        ),
    ),
    (
        "dsc ready",
        "apiVersion: datasciencecluster.opendatahub.io/v1\nkind: DataScienceCluster\nmetadata: {name: default-dsc}\nstatus: {phase: Ready}\n",
        Want::Current("phase Ready"),
    ),
    (
        "dsc error",
        "apiVersion: datasciencecluster.opendatahub.io/v1\nkind: DataScienceCluster\nmetadata: {name: default-dsc}\nstatus:\n  phase: Error\n  conditions:\n  - {type: ReconcileComplete, status: 'False', reason: ReconcileFailed, message: 'operator ServiceMesh not installed'}\n",
        Want::Failed(
            "phase Error (ReconcileComplete: ReconcileFailed: operator ServiceMesh not installed)",
        ),
    ),
    (
        "dsci ready",
        "apiVersion: dscinitialization.opendatahub.io/v1\nkind: DSCInitialization\nmetadata: {name: default-dsci}\nstatus: {phase: Ready}\n",
        Want::Current(""),
    ),
    (
        "dsci failed",
        "apiVersion: dscinitialization.opendatahub.io/v1\nkind: DSCInitialization\nmetadata: {name: default-dsci}\nstatus: {phase: Failed}\n",
        Want::Failed("phase Failed"),
    ),
];

const GPU_AND_MACHINES: &[(&str, &str, Want)] = &[
    (
        "cluster policy not ready",
        "apiVersion: nvidia.com/v1\nkind: ClusterPolicy\nmetadata: {name: gpu-cluster-policy}\nstatus:\n  state: notReady\n  conditions:\n  - {type: Ready, status: 'False', reason: OperandNotReady, message: 'ClusterPolicy is not ready, states not ready: [state-driver]'}\n",
        Want::InProgress(
            "state notReady (Ready: OperandNotReady: ClusterPolicy is not ready, states not ready: [state-driver])",
        ),
    ),
    (
        "cluster policy ready",
        "apiVersion: nvidia.com/v1\nkind: ClusterPolicy\nmetadata: {name: gpu-cluster-policy}\nstatus: {state: ready}\n",
        Want::Current("state ready"),
    ),
    (
        "cluster policy ignored",
        "apiVersion: nvidia.com/v1\nkind: ClusterPolicy\nmetadata: {name: second}\nstatus: {state: ignored}\n",
        Want::Failed("state ignored"),
    ),
    (
        "machine provisioning",
        "apiVersion: machine.openshift.io/v1beta1\nkind: Machine\nmetadata: {name: gpu-a}\nstatus: {phase: Provisioning}\n",
        Want::InProgress("phase Provisioning"),
    ),
    (
        "machine running",
        "apiVersion: machine.openshift.io/v1beta1\nkind: Machine\nmetadata: {name: gpu-a}\nstatus: {phase: Running, nodeRef: {kind: Node, name: ip-10-0-1-5}}\n",
        Want::Current("node ip-10-0-1-5"),
    ),
    (
        "machine failed",
        "apiVersion: machine.openshift.io/v1beta1\nkind: Machine\nmetadata: {name: gpu-a}\nstatus: {phase: Failed, errorReason: InvalidConfiguration, errorMessage: 'error launching instance: InsufficientInstanceCapacity for g6e.12xlarge'}\n",
        Want::Failed(
            "phase Failed: error launching instance: InsufficientInstanceCapacity for g6e.12xlarge",
        ),
    ),
    (
        "machineset scaling",
        "apiVersion: machine.openshift.io/v1beta1\nkind: MachineSet\nmetadata: {name: gpu, generation: 1}\nspec: {replicas: 2}\nstatus: {observedGeneration: 1, replicas: 2, readyReplicas: 1, availableReplicas: 1}\n",
        Want::InProgress("ready replicas 1/2"),
    ),
    (
        "machineset ready",
        "apiVersion: machine.openshift.io/v1beta1\nkind: MachineSet\nmetadata: {name: gpu}\nspec: {replicas: 2}\nstatus: {replicas: 2, readyReplicas: 2, availableReplicas: 2}\n",
        Want::Current(""),
    ),
    (
        "machineset ready not available",
        "apiVersion: machine.openshift.io/v1beta1\nkind: MachineSet\nmetadata: {name: gpu}\nspec: {replicas: 2}\nstatus: {replicas: 2, readyReplicas: 2, availableReplicas: 1}\n",
        Want::InProgress("available replicas 1/2"),
    ),
    (
        "machineset zero",
        "apiVersion: machine.openshift.io/v1beta1\nkind: MachineSet\nmetadata: {name: gpu}\nspec: {replicas: 0}\nstatus: {replicas: 0}\n",
        Want::Current(""),
    ),
    (
        "machineset error",
        "apiVersion: machine.openshift.io/v1beta1\nkind: MachineSet\nmetadata: {name: gpu}\nspec: {replicas: 1}\nstatus: {errorReason: InvalidConfiguration, errorMessage: 'providerSpec: unknown instance type'}\n",
        Want::Failed("error: providerSpec: unknown instance type"),
    ),
    (
        "mcp updating",
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata: {name: worker}\nstatus:\n  machineCount: 3\n  updatedMachineCount: 1\n  conditions:\n  - {type: Updated, status: 'False'}\n  - {type: Updating, status: 'True'}\n  - {type: Degraded, status: 'False'}\n",
        Want::InProgress("updated machines 1/3"),
    ),
    (
        "mcp updated",
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata: {name: worker}\nstatus:\n  machineCount: 3\n  updatedMachineCount: 3\n  conditions:\n  - {type: Updated, status: 'True', message: 'All nodes are updated with rendered-worker-1'}\n",
        Want::Current(""),
    ),
    (
        "mcp counts done, condition lagging",
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata: {name: worker}\nstatus:\n  machineCount: 3\n  updatedMachineCount: 3\n  conditions:\n  - {type: Updated, status: 'False'}\n",
        Want::InProgress("Updated=False"),
    ),
    (
        "mcp degraded long",
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata: {name: worker}\nstatus:\n  conditions:\n  - {type: Degraded, status: 'True', reason: NodeDegraded, message: 'Node ip-1 is reporting: failed to drain', lastTransitionTime: '2026-01-01T00:00:00Z'}\n",
        Want::Failed("Degraded: NodeDegraded: Node ip-1 is reporting: failed to drain"),
    ),
    (
        "mcp degraded just now",
        "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfigPool\nmetadata: {name: worker}\nstatus:\n  conditions:\n  - {type: Degraded, status: 'True', reason: NodeDegraded, lastTransitionTime: '2026-01-01T00:09:50Z'}\n",
        Want::InProgress("Degraded: NodeDegraded"),
    ),
];

const OLM: &[(&str, &str, Want)] = &[
    (
        "subscription no status",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: rhods-operator}\n",
        Want::InProgress("no state yet"),
    ),
    (
        "subscription at latest",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: rhods-operator}\nstatus:\n  state: AtLatestKnown\n  installedCSV: rhods-operator.2.22.0\n  conditions:\n  - {type: CatalogSourcesUnhealthy, status: 'True', reason: UnhealthyCatalogSourceFound, lastTransitionTime: '2026-01-01T00:00:00Z'}\n",
        Want::Current("installed rhods-operator.2.22.0"),
    ),
    (
        "subscription resolution failed",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: gpu-operator-certified}\nstatus:\n  conditions:\n  - {type: ResolutionFailed, status: 'True', reason: ConstraintsNotSatisfiable, message: 'no operators found in channel v25.3 of package gpu-operator-certified'}\n",
        Want::Failed(
            "ResolutionFailed: ConstraintsNotSatisfiable: no operators found in channel v25.3",
        ),
    ),
    (
        "subscription install plan pending",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: x}\nstatus:\n  state: UpgradePending\n  conditions:\n  - {type: InstallPlanPending, status: 'True', reason: RequiresApproval}\n",
        Want::InProgress("InstallPlanPending: RequiresApproval"),
    ),
    (
        "subscription install plan failed",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: x}\nstatus:\n  state: UpgradePending\n  conditions:\n  - {type: InstallPlanFailed, status: 'True', reason: InstallCheckFailed, message: 'bundle unpacking failed'}\n",
        Want::Failed("InstallPlanFailed: InstallCheckFailed: bundle unpacking failed"),
    ),
    (
        "subscription catalogs unhealthy for long",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: x}\nstatus:\n  conditions:\n  - {type: CatalogSourcesUnhealthy, status: 'True', reason: UnhealthyCatalogSourceFound, message: 'targeted catalogsource openshift-marketplace/redhat-operators unhealthy', lastTransitionTime: '2026-01-01T00:00:00Z'}\n",
        Want::Failed("CatalogSourcesUnhealthy"),
    ),
    (
        "subscription catalogs unhealthy briefly",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: x}\nstatus:\n  conditions:\n  - {type: CatalogSourcesUnhealthy, status: 'True', reason: UnhealthyCatalogSourceFound, lastTransitionTime: '2026-01-01T00:09:45Z'}\n",
        Want::InProgress("CatalogSourcesUnhealthy"),
    ),
    (
        "subscription catalogs healthy, upgrading",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: Subscription\nmetadata: {name: x}\nstatus:\n  state: UpgradePending\n  conditions:\n  - {type: CatalogSourcesUnhealthy, status: 'False', reason: AllCatalogSourcesHealthy}\n",
        Want::InProgress("state UpgradePending"),
    ),
    (
        "csv installing",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata: {name: rhods-operator.2.22.0}\nstatus: {phase: Installing, reason: InstallWaiting, message: 'installing: waiting for deployment rhods-operator to become ready'}\n",
        Want::InProgress("phase Installing: installing: waiting for deployment"),
    ),
    (
        "csv succeeded",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata: {name: rhods-operator.2.22.0}\nstatus: {phase: Succeeded, reason: InstallSucceeded, message: install strategy completed with no errors}\n",
        Want::Current("phase Succeeded"),
    ),
    (
        "csv failed for long",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata: {name: x}\nstatus: {phase: Failed, reason: InstallComponentFailed, message: 'install strategy failed: deployment x not available', lastTransitionTime: '2026-01-01T00:05:00Z'}\n",
        Want::Failed("phase Failed: install strategy failed"),
    ),
    (
        "csv failed just now",
        "apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata: {name: x}\nstatus: {phase: Failed, message: requirements not met, lastTransitionTime: '2026-01-01T00:09:30Z'}\n",
        Want::InProgress("phase Failed: requirements not met"),
    ),
];

const APPS: &[(&str, &str, Want)] = &[
    (
        "llama stack initializing",
        "apiVersion: llamastack.io/v1alpha1\nkind: LlamaStackDistribution\nmetadata: {name: lsd}\nstatus: {phase: Initializing}\n",
        Want::InProgress("phase Initializing"),
    ),
    (
        "llama stack ready",
        "apiVersion: llamastack.io/v1alpha1\nkind: LlamaStackDistribution\nmetadata: {name: lsd}\nstatus: {phase: Ready}\n",
        Want::Current(""),
    ),
    (
        "llama stack failed",
        "apiVersion: llamastack.io/v1alpha1\nkind: LlamaStackDistribution\nmetadata: {name: lsd}\nstatus:\n  phase: Failed\n  conditions:\n  - {type: DeploymentReady, status: 'False', reason: DeploymentFailed, message: 'vllm endpoint unreachable'}\n",
        Want::Failed("phase Failed (DeploymentReady: DeploymentFailed: vllm endpoint unreachable)"),
    ),
    (
        "notebook starting",
        "apiVersion: kubeflow.org/v1\nkind: Notebook\nmetadata: {name: wb, creationTimestamp: '2026-01-01T00:09:00Z'}\nstatus: {readyReplicas: 0, containerState: {waiting: {reason: ContainerCreating}}}\n",
        Want::InProgress("ready replicas 0/1"),
    ),
    (
        "notebook image pull",
        "apiVersion: kubeflow.org/v1\nkind: Notebook\nmetadata: {name: wb, creationTimestamp: '2026-01-01T00:00:00Z'}\nstatus: {readyReplicas: 0, containerState: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"x\"'}}}\n",
        Want::Failed("container ImagePullBackOff: Back-off pulling image \"x\""),
    ),
    (
        "notebook ready",
        "apiVersion: kubeflow.org/v1\nkind: Notebook\nmetadata: {name: wb}\nstatus: {readyReplicas: 1, containerState: {running: {startedAt: '2026-01-01T00:00:00Z'}}}\n",
        Want::Current(""),
    ),
    (
        "pipelinerun running",
        "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr}\nstatus:\n  conditions:\n  - {type: Succeeded, status: Unknown, reason: Running, message: 'Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 2, Skipped: 0'}\n",
        Want::InProgress("Succeeded: Running: Tasks Completed: 1"),
    ),
    (
        "pipelinerun failed",
        "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr}\nstatus:\n  conditions:\n  - {type: Succeeded, status: 'False', reason: Failed, message: 'Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 1'}\n",
        Want::Failed("Succeeded: Failed: Tasks Completed: 2 (Failed: 1"),
    ),
    (
        "pipelinerun done",
        "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: pr}\nstatus:\n  conditions:\n  - {type: Succeeded, status: 'True', reason: Succeeded}\n",
        Want::Current(""),
    ),
    (
        "taskrun pending",
        "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr}\n",
        Want::InProgress("no Succeeded condition yet"),
    ),
    (
        "taskrun timeout",
        "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: tr}\nstatus: {conditions: [{type: Succeeded, status: 'False', reason: TaskRunTimeout}]}\n",
        Want::Failed("TaskRunTimeout"),
    ),
    (
        "lmeval running",
        "apiVersion: trustyai.opendatahub.io/v1alpha1\nkind: LMEvalJob\nmetadata: {name: eval}\nstatus: {state: Running, reason: NoReason, message: 'job is running'}\n",
        Want::InProgress("state Running: job is running"),
    ),
    (
        "lmeval complete",
        "apiVersion: trustyai.opendatahub.io/v1alpha1\nkind: LMEvalJob\nmetadata: {name: eval}\nstatus: {state: Complete, reason: Succeeded, message: 'job completed'}\n",
        Want::Current("state Complete"),
    ),
    (
        "lmeval complete but failed",
        "apiVersion: trustyai.opendatahub.io/v1alpha1\nkind: LMEvalJob\nmetadata: {name: eval}\nstatus: {state: Complete, reason: Failed, message: 'model endpoint returned 404'}\n",
        Want::Failed("result Failed: model endpoint returned 404"),
    ),
    (
        "route admitted",
        "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {name: r}\nspec: {host: chat.apps.example.com}\nstatus:\n  ingress:\n  - routerName: default\n    conditions: [{type: Admitted, status: 'True'}]\n",
        Want::Current("host chat.apps.example.com"),
    ),
    (
        "route admitted by one shard",
        "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {name: r}\nstatus:\n  ingress:\n  - routerName: internal\n    conditions: [{type: Admitted, status: 'False', reason: RouteNotAdmitted}]\n  - routerName: default\n    conditions: [{type: Admitted, status: 'True'}]\n",
        Want::Current(""),
    ),
    (
        "route host taken",
        "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {name: r}\nstatus:\n  ingress:\n  - routerName: default\n    conditions: [{type: Admitted, status: 'False', reason: HostAlreadyClaimed, message: 'route x already exposes chat.apps.example.com and is older'}]\n",
        Want::Failed("Admitted: HostAlreadyClaimed: route x already exposes"),
    ),
    (
        "route not yet seen",
        "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {name: r}\nspec: {host: a}\n",
        Want::InProgress("no Admitted condition yet"),
    ),
    (
        "model registry available",
        "apiVersion: modelregistry.opendatahub.io/v1beta1\nkind: ModelRegistry\nmetadata: {name: mr}\nstatus:\n  conditions:\n  - {type: Progressing, status: 'False'}\n  - {type: Available, status: 'True', reason: CreatedDeployment}\n",
        Want::Current(""),
    ),
    (
        "model registry waiting",
        "apiVersion: modelregistry.opendatahub.io/v1beta1\nkind: ModelRegistry\nmetadata: {name: mr}\nstatus:\n  conditions:\n  - {type: Available, status: 'False', reason: DeploymentUnavailable, message: 'waiting for database'}\n",
        Want::InProgress("Available: DeploymentUnavailable: waiting for database"),
    ),
    (
        "knative service ready",
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: ks}\nstatus:\n  url: https://ks.example.com\n  conditions: [{type: Ready, status: 'True'}]\n",
        Want::Current("url https://ks.example.com"),
    ),
    (
        "knative service failing for long",
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: ks}\nstatus:\n  conditions:\n  - {type: ConfigurationsReady, status: 'False', reason: RevisionFailed, message: 'Revision \"ks-00001\" failed with message: container failed to start.'}\n  - {type: Ready, status: 'False', reason: RevisionFailed, lastTransitionTime: '2026-01-01T00:00:00Z'}\n",
        Want::Failed(
            "Ready: RevisionFailed (ConfigurationsReady: RevisionFailed: Revision \"ks-00001\" failed",
        ),
    ),
    (
        "knative service unknown",
        "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: ks}\nstatus: {conditions: [{type: Ready, status: Unknown, reason: RevisionMissing}]}\n",
        Want::InProgress("RevisionMissing"),
    ),
];

#[test]
fn inference_service() {
    check(ISVC, &ctx_at());
}

#[test]
fn opendatahub_phases() {
    check(DSC, &ctx_at());
}

#[test]
fn gpu_operator_and_machines() {
    check(GPU_AND_MACHINES, &ctx_at());
}

#[test]
fn olm_subscription_and_csv() {
    check(OLM, &ctx_at());
}

#[test]
fn apps_pipelines_routes_and_knative() {
    check(APPS, &ctx_at());
}

#[test]
fn generic_checks_run_before_custom_rules() {
    check(
        &[
            (
                "generation not observed beats phase Ready",
                "apiVersion: datasciencecluster.opendatahub.io/v1\nkind: DataScienceCluster\nmetadata: {name: d, generation: 3}\nstatus: {observedGeneration: 2, phase: Ready}\n",
                Want::InProgress("generation is 3"),
            ),
            (
                "deleting",
                "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: m, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [inferenceservice.finalizers]}\n",
                Want::Terminating("inferenceservice.finalizers"),
            ),
        ],
        &ctx_at(),
    );
}

#[test]
fn configuration_kinds_are_current_at_once() {
    check(
        &[
            (
                "fresh tekton task",
                "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t, creationTimestamp: '2026-01-01T00:09:59Z'}\nspec: {steps: []}\n",
                Want::Current("configuration object"),
            ),
            (
                "fresh serving runtime",
                "apiVersion: serving.kserve.io/v1alpha1\nkind: ServingRuntime\nmetadata: {name: vllm, creationTimestamp: '2026-01-01T00:09:59Z'}\n",
                Want::Current(""),
            ),
            (
                "deleting machine config",
                "apiVersion: machineconfiguration.openshift.io/v1\nkind: MachineConfig\nmetadata: {name: mc, deletionTimestamp: '2026-01-01T00:00:00Z'}\n",
                Want::Terminating(""),
            ),
            (
                "fresh unknown CR still gets the grace",
                "apiVersion: tekton.dev/v1\nkind: Other\nmetadata: {name: t, creationTimestamp: '2026-01-01T00:09:59Z'}\n",
                Want::InProgress("waiting for the controller"),
            ),
        ],
        &ctx_at(),
    );
    for (group, kind) in super::CONFIGURATION_KINDS {
        assert!(
            rule_for(group, kind).is_none(),
            "{group}/{kind} has a rule too"
        );
    }
}

/// Every rule is reachable, unique, and decides something (no rule made only of `Next`s).
#[test]
fn table_is_well_formed() {
    for (i, rule) in RULES.iter().enumerate() {
        assert!(
            !rule.steps.is_empty(),
            "{}/{} has no steps",
            rule.group,
            rule.kind
        );
        assert_eq!(
            rule_for(rule.group, rule.kind).map(|r| r as *const _),
            Some(&RULES[i] as *const _),
            "{}/{} is declared twice",
            rule.group,
            rule.kind
        );
        let decides = rule.steps.iter().any(|s| match s {
            Step::Condition(c) => [c.on_true, c.on_false, c.on_unknown, c.on_absent]
                .iter()
                .any(|a| *a != Act::Next),
            Step::Field(f) => {
                f.other != Act::Next
                    || f.absent != Act::Next
                    || !f.current.is_empty()
                    || !f.failed.is_empty()
                    || !f.failed_after_grace.is_empty()
            }
            Step::Count(_) => true,
            Step::Present(p) => p.present != Act::Next || p.absent != Act::Next,
        });
        assert!(decides, "{}/{} never decides", rule.group, rule.kind);
    }
}

#[test]
fn pods_fail_or_explain_custom_kinds() {
    use super::super::super::testutil::{now, obj, objs};
    use super::super::super::{AssessContext, assess};
    let isvc = obj(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral}\nstatus:\n  conditions:\n  - {type: Ready, status: 'False', reason: PredictorNotReady}\n",
    );
    let crashing = objs(
        "- apiVersion: v1\n  kind: Pod\n  metadata: {name: mistral-predictor-5d8-x2x, creationTimestamp: '2026-01-01T00:00:00Z'}\n  spec: {containers: [{name: kserve-container}, {name: queue-proxy}]}\n  status:\n    phase: Running\n    containerStatuses:\n    - name: kserve-container\n      ready: false\n      lastState: {terminated: {reason: Error, exitCode: 1}}\n      state: {waiting: {reason: CrashLoopBackOff, message: back-off 5m0s restarting failed container}}\n",
    );
    let ctx = AssessContext::new(now()).with_pods(&crashing);
    assert_eq!(
        assess(&isvc, &ctx).to_string(),
        "Failed: Ready: PredictorNotReady; pod mistral-predictor-5d8-x2x: container kserve-container: CrashLoopBackOff: back-off 5m0s restarting failed container (last exit: Error, code 1)"
    );
    // An unknown CR with a Ready condition gets the same treatment.
    let other = obj(
        "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\nstatus: {conditions: [{type: Ready, status: 'False'}]}\n",
    );
    assert!(assess(&other, &ctx).is_failed());
    // A ready object ignores its pods.
    let ready = obj(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: mistral}\nstatus:\n  url: http://x\n  conditions: [{type: Ready, status: 'True'}]\n",
    );
    assert!(assess(&ready, &ctx).is_current());
}
