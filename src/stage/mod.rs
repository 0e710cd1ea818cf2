//! Stage files (`stages/stage1.yaml`, …): the typed schema, loading with file:line:column errors
//! and hints, and validation (duplicate ids, unknown kinds, dangling references). Pure: reads
//! files, never talks to a cluster.

pub mod load;
pub mod locate;
pub mod params;
pub mod schema;
pub mod suggest;

pub use load::{LoadError, LoadedStage, Problem, StageSet, UnknownStage, UnknownStep};
pub use schema::{RetrySpec, Stage, StepKind, StepSpec, Switch};
