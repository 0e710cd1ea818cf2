//! The one integration-test binary: one module per area.

mod cli;
mod cluster;
mod harness;
mod kustomize_conformance;
mod kustomize_props;
mod reporters;
mod runner;
mod sim_api;
mod stage_files;
