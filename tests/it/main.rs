//! The one integration-test binary: one module per area.

mod cli;
mod cluster;
mod cluster_steps;
mod e2e;
mod e2e_gitops;
mod faults;
mod fidelity;
mod harness;
mod kubectl;
mod kustomize_conformance;
mod kustomize_props;
mod logs;
mod reporters;
mod runner;
mod signals;
mod sim_api;
mod sim_auth;
mod sim_cluster;
mod sim_history;
mod sim_world;
mod stage_files;
