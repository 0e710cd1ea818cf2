//! democtl deploys the three-stage "Private AI" demo on Red Hat OpenShift AI.
//!
//! Architecture map (who owns what; arrows are the only allowed `use crate::` directions):
//!
//! ```text
//! main.rs ─▶ app ──▶ everything            (the only layer that prompts, reads `.env`, picks reporters)
//!            cli                            (clap types only; no I/O)
//!            exit                           (exit codes)
//!            project                        (find the project root)
//!            stage      ─▶ (nothing)        (stage files: schema, load, validation; pure)
//!            runner     ─▶ (nothing)        (sequential runner; emits RunEvents; never prints)
//!            report     ─▶ runner::event    (TTY, plain and JSON-lines reporters of the same events)
//!            steps      ─▶ cluster, readiness, kustomize, stage, runner::step
//!            cluster    ─▶ readiness        (everything that calls kube)
//!            readiness  ─▶ (nothing)        (kstatus-style rules; pure)
//!            kustomize  ─▶ merge            (pure Kustomize renderer)
//!            merge      ─▶ (nothing)        (strategic-merge / JSON-merge patch semantics shared by kustomize and sim)
//!            sim        ─▶ merge            (simulated API server + world controllers; imports nothing else)
//! ```

pub mod app;
pub mod cli;
pub mod cluster;
pub mod exit;
pub mod kustomize;
pub mod merge;
pub mod project;
pub mod readiness;
pub mod report;
pub mod runner;
pub mod sim;
pub mod stage;
pub mod steps;
