//! `RenderError`: every way a render can fail, each naming the kustomization file (or
//! resource file) and the field, with a hint. Never prints.

use std::path::PathBuf;

use crate::merge::MergeError;

/// A render failure. Messages are lowercase fragments naming the file and field; causes are
/// in `source()`; suggestions in [`RenderError::hint`].
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A file or directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A YAML document could not be parsed.
    #[error("invalid YAML in `{}`", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser error (boxed: it carries a source snippet).
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A directory has no kustomization file.
    #[error("no kustomization file in `{}`", dir.display())]
    MissingKustomization {
        /// The directory.
        dir: PathBuf,
    },
    /// A directory has more than one kustomization file.
    #[error("more than one kustomization file in `{}`", dir.display())]
    MultipleKustomizations {
        /// The directory.
        dir: PathBuf,
    },
    /// A field democtl deliberately does not support.
    #[error("unsupported field `{field}` in `{}`", file.display())]
    Unsupported {
        /// The kustomization file.
        file: PathBuf,
        /// The field.
        field: String,
    },
    /// A field has a wrong shape or value.
    #[error("invalid `{field}` in `{}`: {reason}", file.display())]
    Invalid {
        /// The kustomization (or resource) file.
        file: PathBuf,
        /// The field.
        field: String,
        /// What is wrong (our own words, never a cause's message).
        reason: String,
    },
    /// A path leaves the kustomization root or is a remote URL.
    #[error("`{entry}` in `{field}` of `{}` is outside the kustomization root", file.display())]
    OutsideRoot {
        /// The kustomization file.
        file: PathBuf,
        /// The field.
        field: String,
        /// The offending entry.
        entry: String,
    },
    /// A remote resource (URL or git repository).
    #[error("remote `{entry}` in `{field}` of `{}` is not supported", file.display())]
    Remote {
        /// The kustomization file.
        file: PathBuf,
        /// The field.
        field: String,
        /// The URL.
        entry: String,
    },
    /// A `resources` or `components` entry is neither a file nor a directory.
    #[error("`{entry}` in `{field}` of `{}` does not exist", file.display())]
    NotFound {
        /// The kustomization file.
        file: PathBuf,
        /// The field.
        field: String,
        /// The entry.
        entry: String,
    },
    /// Two resources with the same id.
    #[error("may not add resource with an already registered id `{id}` (from `{}` and `{}`)", first.display(), second.display())]
    DuplicateId {
        /// Group/version/kind, namespace and name.
        id: String,
        /// Where the first came from.
        first: PathBuf,
        /// Where the second came from.
        second: PathBuf,
    },
    /// A strategic-merge or JSON patch failed on a resource.
    #[error("cannot apply `{field}` patch to `{target}` in `{}`", file.display())]
    Patch {
        /// The kustomization file.
        file: PathBuf,
        /// The field (`patches`, `patchesStrategicMerge`, `patchesJson6902`).
        field: String,
        /// The patched resource id.
        target: String,
        /// The merge error.
        #[source]
        source: Box<MergeError>,
    },
    /// Output could not be serialised.
    #[error("cannot serialise `{id}` as YAML")]
    Serialize {
        /// The resource id.
        id: String,
        /// The serialiser error.
        #[source]
        source: Box<serde_saphyr::ser::Error>,
    },
}

impl RenderError {
    /// A short suggestion for the user, if there is one.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::Read { .. } => "check the path and its permissions".into(),
            Self::Yaml { .. } => "fix the YAML syntax at the line shown below".into(),
            Self::MissingKustomization { .. } => {
                "add a `kustomization.yaml`, or list the file instead of its directory".into()
            }
            Self::MultipleKustomizations { .. } => {
                "keep only one of `kustomization.yaml`, `kustomization.yml`, `Kustomization`".into()
            }
            Self::Unsupported { field, .. }
                if field.starts_with("transformers:") || field.starts_with("generators:") =>
            {
                "democtl runs only the built-in plugin configs listed in docs/kustomize.md (`apiVersion: builtin`; no exec, container or Go plugins, Helm or IAM); remove this config or pre-render its output into plain manifests".into()
            }
            Self::Unsupported { field, .. } => format!(
                "democtl renders without plugins, Helm or remote bases; remove `{field}` or pre-render it into plain manifests"
            ),
            Self::Invalid { reason, .. } if reason.contains("YAML 1.1") => {
                "put it in quotes (`\"on\"`, `'n'`): kustomize then reads it as text, not a YAML 1.1 boolean".into()
            }
            Self::Invalid { reason, .. } if reason.contains("not a string, in YAML") => {
                "put the key in quotes (`\"1\": x`, `'true': x`): kustomize then reads it as text".into()
            }
            Self::Invalid { field, reason, .. } if field == "namespace" && !reason.contains("id conflict") => {
                "a namespace is a string: `namespace: my-project`".into()
            }
            Self::Invalid { field, .. } => match field.as_str() {
                "patches" | "patchesStrategicMerge" => "a patch without `target` must name an existing object by apiVersion, kind, metadata.name (and namespace); or add a `target`".into(),
                "patchesJson6902" => "a JSON 6902 patch is a list of `op`/`path` operations with a `target`".into(),
                "configMapGenerator" | "secretGenerator" => "literals are `key=value`; use `behavior: merge` or `replace` to change an existing object".into(),
                "replicas" => "name a Deployment, StatefulSet, ReplicaSet or ReplicationController of this build".into(),
                "replacements" => "check the source and target selectors and field paths (`spec.containers.[name=app].image`)".into(),
                "namespace" => "two objects end up with the same kind and name in the namespace".into(),
                _ => "see https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/".into(),
            },
            Self::OutsideRoot { .. } => {
                "files must live under the kustomization's directory; reference another directory as a resource (base) instead".into()
            }
            Self::Remote { .. } => "vendor the remote base into the repository and reference it by path".into(),
            Self::NotFound { .. } => "check the spelling; paths are relative to the kustomization file".into(),
            Self::DuplicateId { .. } => {
                "remove one of them, or patch the existing resource instead of adding it again".into()
            }
            Self::Patch { source, .. } => {
                return source.hint().or_else(|| Some("check the patch target and its fields".into()));
            }
            Self::Serialize { .. } => return None,
        })
    }
}
