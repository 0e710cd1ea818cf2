//! One file per step kind; `build` maps a `StepSpec` to a `Box<dyn runner::step::Step>`.
//! Steps talk to the screen only through `StepCtx`.
