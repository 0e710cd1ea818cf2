//! Stage files (`stages/stage1.yaml`, …): the typed schema, loading with file:line:column errors
//! and hints, and validation (duplicate ids, unknown kinds, dangling references). Pure: reads
//! files, never talks to a cluster.

pub mod params;
pub mod schema;
