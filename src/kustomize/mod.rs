//! A Kustomize renderer, equal to `kustomize build` (kustomize v5.5, `kubectl kustomize`) for
//! the features democtl's tree and its conformance corpus use. Pure: reads files under the
//! kustomization root, never the network, never prints.
//!
//! Public API: [`build`] renders a directory to objects in kustomize's output order;
//! [`to_yaml`] prints them as `kustomize build` does. Unsupported fields (Helm, plugins,
//! remote bases, …) fail with a [`RenderError`] naming the field and file.

mod build;
mod error;
mod fieldspec;
mod generators;
mod goyaml;
mod kustomization;
mod loader;
mod order;
mod patch;
mod plugins;
mod quoting;
mod replacements;
mod resource;
mod transform;
mod vars;

use serde_json::Value;

pub use build::build;
pub use error::RenderError;

/// Renders objects as multi-document YAML, the way `kustomize build` prints them.
pub fn to_yaml(objects: &[Value]) -> Result<String, RenderError> {
    order::to_yaml(objects)
}
