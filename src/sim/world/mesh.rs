//! OpenShift Service Mesh 2 as OpenShift AI uses it: the ServiceMeshControlPlane
//! `data-science-smcp` in `istio-system` that OpenShift AI creates when its DSCInitialization
//! has `serviceMesh.managementState: Managed` (seeded, Ready), and ServiceMeshMembers: a member
//! whose `spec.controlPlaneRef` names a Ready control plane turns `Ready`, otherwise it stays
//! not Ready saying which control plane is missing.
//!
//! Not validated: the real `maistra.io` and `security.istio.io` CRDs are not among the schemas
//! in `src/sim/schema/data` (they are schemaless stand-ins, see `catalog`), so the fields written
//! here follow the Service Mesh 2 documentation only: conditions `Reconciled` and `Ready`.

use serde_json::{Value, json};

use super::informer::{SMCP, SMM, written};
use super::{Ctx, Wake, WorldError, obj};

/// OpenShift AI's control plane.
pub(super) const CONTROL_PLANE: (&str, &str) = ("istio-system", "data-science-smcp");

/// Seeds the control plane OpenShift AI sets up (Ready, as after its installation).
pub(super) async fn seed_control_plane(ctx: &Ctx, now: &str) -> Result<(), WorldError> {
    let (ns, name) = CONTROL_PLANE;
    super::seed::put(ctx, written::NAMESPACE, json!({"metadata": {"name": ns}})).await?;
    let ready = |t: &str, reason: &str, message: &str| json!({"type": t, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now});
    super::seed::put(
        ctx,
        SMCP,
        json!({
            "metadata": {"name": name, "namespace": ns},
            "spec": {"version": "v2.6", "tracing": {"type": "None"},
                     "security": {"dataPlane": {"mtls": true}},
                     "addons": {"prometheus": {"enabled": false}, "kiali": {"enabled": false}, "grafana": {"enabled": false}}},
            "status": {
                "chartVersion": "2.6.9",
                "conditions": [
                    ready("Installed", "InstallSuccessful", "Successfully installed all mesh components"),
                    ready("Reconciled", "InstallSuccessful", "Successfully installed all mesh components"),
                    ready("Ready", "ComponentsReady", "All component deployments are Available"),
                ],
            },
        }),
    )
    .await
}

fn control_plane_ready(ctx: &Ctx, ns: &str, name: &str) -> bool {
    ctx.caches
        .get(SMCP, ns, name)
        .is_some_and(|c| !obj::is_deleting(&c) && obj::condition_true(&c, "Ready"))
}

/// ServiceMeshMembers: Ready once their control plane is.
pub(super) async fn reconcile(ctx: &Ctx, wake: &mut Wake) {
    for member in ctx.caches.list(SMM).values() {
        if obj::is_deleting(member) {
            continue;
        }
        let now = ctx.now_s();
        let plane = &member["spec"]["controlPlaneRef"];
        let name = plane["name"].as_str().unwrap_or_default();
        let ns = plane["namespace"].as_str().unwrap_or_default();
        let ready = control_plane_ready(ctx, ns, name);
        let (reason, message) = if ready {
            (
                "Reconciled",
                format!("The namespace is a member of ServiceMeshControlPlane {ns}/{name}"),
            )
        } else {
            (
                "SMCPMissing",
                format!("ServiceMeshControlPlane {ns}/{name} does not exist or is not ready"),
            )
        };
        let c = |t: &str| obj::make_condition(member, t, ready, reason, &message, &now);
        let status: Value = json!({
            "observedGeneration": obj::generation(member),
            "meshGeneration": 1,
            "conditions": [c("Reconciled"), c("Ready")],
        });
        ctx.note(ctx.patch_status(SMM, member, status).await, wake);
    }
}
