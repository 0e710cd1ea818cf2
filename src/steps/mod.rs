//! One file per step kind; `build` maps a `StepSpec` to a `Box<dyn runner::step::Step>`.
//! Steps talk to the screen only through `StepCtx`.

pub mod benchmark_report;
pub mod gpu_state;
pub mod job_state;
pub mod machineset;
pub mod selection;
