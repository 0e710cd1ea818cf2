//! File access for one kustomization, with kustomize's default load restrictions
//! (`LoadRestrictionsRootOnly`): files must live in or below the kustomization's directory,
//! remote URLs are refused. Directories (bases, components) may be anywhere local.

use std::path::PathBuf;

use super::error::RenderError;
use super::kustomization::{Loaded, is_remote, resolve};

/// Refuses a remote entry (URL, git repository) of `field`: democtl renders only the repository.
pub(crate) fn refuse_remote(l: &Loaded, field: &str, entry: &str) -> Result<(), RenderError> {
    if is_remote(entry) {
        return Err(RenderError::Remote {
            file: l.file.clone(),
            field: field.into(),
            entry: entry.into(),
        });
    }
    Ok(())
}

/// Resolves a file entry of `field`, enforcing the root-only restriction.
pub(crate) fn file_in_root(l: &Loaded, field: &str, entry: &str) -> Result<PathBuf, RenderError> {
    refuse_remote(l, field, entry)?;
    let path = resolve(&l.dir, entry);
    let real = path.canonicalize().map_err(|_| RenderError::NotFound {
        file: l.file.clone(),
        field: field.into(),
        entry: entry.into(),
    })?;
    let root = l.dir.canonicalize().map_err(|source| RenderError::Read {
        path: l.dir.clone(),
        source,
    })?;
    if !real.starts_with(&root) {
        return Err(RenderError::OutsideRoot {
            file: l.file.clone(),
            field: field.into(),
            entry: entry.into(),
        });
    }
    Ok(path)
}

/// Reads a file entry of `field` (root-only).
pub(crate) fn read_file_in_root(
    l: &Loaded,
    field: &str,
    entry: &str,
) -> Result<Vec<u8>, RenderError> {
    let path = file_in_root(l, field, entry)?;
    std::fs::read(&path).map_err(|source| RenderError::Read { path, source })
}

/// Reads a text file entry of `field` (root-only).
pub(crate) fn read_text_in_root(
    l: &Loaded,
    field: &str,
    entry: &str,
) -> Result<(String, PathBuf), RenderError> {
    let path = file_in_root(l, field, entry)?;
    let text = std::fs::read_to_string(&path).map_err(|source| RenderError::Read {
        path: path.clone(),
        source,
    })?;
    Ok((text, path))
}
