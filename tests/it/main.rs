//! The one integration-test binary: one module per area.

mod runner;
mod stage_files;
