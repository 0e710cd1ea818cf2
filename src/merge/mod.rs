//! Patch semantics shared by the renderer and the simulated API server: strategic merge patch
//! (with the built-in merge keys of core kinds), JSON merge patch (RFC 7386) and JSON patch
//! (RFC 6902). Pure functions over `serde_json::Value`; no I/O, never prints.
//!
//! Public API:
//! - [`strategic_merge`] (`= strategic::patch`): the API server's strategic merge patch
//!   (`application/strategic-merge-patch+json`): merge keys and strategies from the
//!   `patchMergeKey`/`patchStrategy` tags of `k8s.io/api` for core kinds ([`schema`]),
//!   directives `$patch: delete|replace|merge`, `$retainKeys`, `$setElementOrder/<field>`,
//!   `$deleteFromPrimitiveList/<field>`, `null` deletes a key. Unknown kinds (custom resources)
//!   get JSON merge semantics (lists replaced), as the API server rejects SMP for CRs and
//!   kustomize merges them without a schema.
//! - [`strategic::patch_with`] with [`Flavor::Kustomize`]: the same merge as `kustomize build`
//!   applies it (kyaml `merge2` with the built-in schema): patch elements come first in merged
//!   lists.
//! - [`json_merge`]: RFC 7386 JSON merge patch.
//! - [`json_patch`]: RFC 6902 JSON patch, via the `json-patch` crate.

pub mod schema;
pub mod strategic;

use serde_json::Value;

pub use schema::TypeInfo;
pub use strategic::{Flavor, patch as strategic_merge};

/// Why a patch could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The patch document is not a JSON object.
    #[error("strategic merge patch must be an object, not {found}")]
    PatchNotObject {
        /// JSON type found instead.
        found: &'static str,
    },
    /// A `$patch` directive has an unknown value.
    #[error("unknown `$patch` directive `{value}` at `{path}`")]
    UnknownDirective {
        /// Field path of the directive.
        path: String,
        /// The directive value.
        value: String,
    },
    /// A directive is malformed (wrong type, missing merge key).
    #[error("invalid `{directive}` at `{path}`")]
    InvalidDirective {
        /// The directive name.
        directive: String,
        /// Field path of the directive.
        path: String,
    },
    /// The RFC 6902 patch is not a valid list of operations.
    #[error("invalid JSON patch document")]
    JsonPatchDecode {
        /// Decoder error.
        #[source]
        source: serde_json::Error,
    },
    /// An RFC 6902 operation failed (missing path, failed test, …).
    #[error("JSON patch operation failed")]
    JsonPatchApply {
        /// The failing operation.
        #[source]
        source: json_patch::PatchError,
    },
}

impl MergeError {
    /// A short suggestion for the user, if there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownDirective { .. } => {
                Some("use `$patch: delete`, `replace` or `merge`".into())
            }
            Self::JsonPatchApply { .. } => {
                Some("check that every `path` exists in the target (use `add` to create)".into())
            }
            _ => None,
        }
    }
}

/// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, everything else
/// (including arrays) replaces.
pub fn json_merge(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// RFC 6902 JSON patch (a JSON array of operations) applied to a copy of `target`.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, MergeError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|source| MergeError::JsonPatchDecode { source })?;
    let mut out = target.clone();
    json_patch::patch(&mut out, &ops).map_err(|source| MergeError::JsonPatchApply { source })?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_merge_table() {
        let cases = [
            (
                json!({"a": 1, "b": 2}),
                json!({"b": null, "c": 3}),
                json!({"a": 1, "c": 3}),
            ),
            (json!({"l": [1, 2]}), json!({"l": [3]}), json!({"l": [3]})),
            (
                json!({"m": {"x": 1}}),
                json!({"m": {"y": 2}}),
                json!({"m": {"x": 1, "y": 2}}),
            ),
            (json!({"a": 1}), json!("s"), json!("s")),
        ];
        for (t, p, want) in cases {
            assert_eq!(json_merge(&t, &p), want, "{t} + {p}");
        }
    }

    #[test]
    fn json_patch_ops_and_errors() {
        let t = json!({"a": {"b": [1, 2]}});
        let p = json!([{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "replace", "path": "/a/c", "value": 1}]);
        assert!(matches!(
            json_patch(&t, &p),
            Err(MergeError::JsonPatchApply { .. })
        ));
        let p = json!([{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "remove", "path": "/a/b/0"}]);
        assert_eq!(json_patch(&t, &p).unwrap(), json!({"a": {"b": [2, 3]}}));
        assert!(matches!(
            json_patch(&t, &json!({"op": 1})),
            Err(MergeError::JsonPatchDecode { .. })
        ));
    }
}
