//! The simulated Kubernetes/OpenShift API server (real HTTP on 127.0.0.1) and its world model
//! (controllers that use the API like real ones). Imports nothing from democtl but `crate::merge`.
//!
//! Start one with [`SimServer::start`] and a [`ServerConfig`]; talk to it with
//! [`SimServer::client`] (kube-rs) or a kubeconfig from [`SimServer::write_kubeconfig`].

pub mod api;
pub mod auth;
pub mod background;
pub mod clock;
pub mod config;
pub mod embedded;
pub mod error;
pub mod faults;
pub mod managed;
pub mod persist;
pub mod resources;
pub mod scenario;
pub mod schema;
pub mod selector;
pub mod server;
pub mod store;
pub mod tls;
pub mod world;

pub use clock::SimClock;
pub use config::{FaultConfig, FaultKinds, PermissionRule, ServerConfig};
pub use embedded::{Embedded, EmbeddedError, EmbeddedOptions, start_seeded};
pub use error::SimError;
pub use server::SimServer;
