//! Finds the project root (the folder holding `stages/` and `gitops/`) from the current directory
//! upward, like cargo finds `Cargo.toml`.
