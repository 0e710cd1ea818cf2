//! The one integration-test binary: one module per area.

mod reporters;
mod runner;
mod sim_api;
mod sim_world;
mod stage_files;
