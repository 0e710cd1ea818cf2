//! The one integration-test binary: one module per area.

mod reporters;
mod runner;
mod sim_api;
mod stage_files;
