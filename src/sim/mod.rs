//! The simulated Kubernetes/OpenShift API server (real HTTP on 127.0.0.1) and its world model
//! (controllers that use the API like real ones). Imports nothing from democtl but `crate::merge`.
