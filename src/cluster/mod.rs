//! Everything that calls the Kubernetes API through kube-rs: client and kubeconfig, discovery,
//! ordered server-side apply, watches and waits, teardown, status, the run lease and the stage
//! state records. Uses `crate::readiness` for what "ready" means.
