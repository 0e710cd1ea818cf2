//! The one integration-test binary: one module per area.

mod reporters;
mod runner;
mod stage_files;
