//! The one integration-test binary: one module per area.

mod stage_files;
