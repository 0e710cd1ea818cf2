//! Persistence of the simulated cluster: the whole store (objects, resourceVersion counter,
//! simulated time) as one JSON file, loaded at start and saved atomically (temp file + rename).
//! Knows nothing about HTTP.

use std::path::Path;

use serde_json::{Value, json};

use super::error::SimError;
use super::store::{GroupResource, State};

/// Format version of the state file.
const FORMAT: u64 = 1;

/// The serialised state: counter, simulated time, objects (each with its group/resource).
pub fn snapshot(st: &State, sim_time: &str) -> Value {
    let objects: Vec<Value> = st
        .all()
        .map(|(gr, o)| json!({"group": gr.group, "resource": gr.resource, "object": **o}))
        .collect();
    json!({
        "format": FORMAT,
        "resourceVersion": st.rv(),
        "time": sim_time,
        "objects": objects,
    })
}

/// Writes `data` to `path` atomically.
pub fn save(path: &Path, data: &Value) -> Result<(), SimError> {
    let io = |source| SimError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let text = serde_json::to_vec(data).map_err(|source| SimError::State {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

/// What a state file held.
pub struct Loaded {
    /// The simulated time at save, if recorded.
    pub time: Option<String>,
}

/// Loads a state file into an empty store (a missing file is an empty cluster). CRDs that were
/// established are served again.
pub fn load(path: &Path, st: &mut State) -> Result<Option<Loaded>, SimError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SimError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let bad = |source| SimError::State {
        path: path.to_path_buf(),
        source,
    };
    let v: Value = serde_json::from_slice(&text).map_err(bad)?;
    #[derive(serde::Deserialize)]
    struct Entry {
        group: String,
        resource: String,
        object: Value,
    }
    let entries: Vec<Entry> =
        serde_json::from_value(v.get("objects").cloned().unwrap_or(json!([]))).map_err(bad)?;
    for e in entries {
        let meta = |k: &str| {
            e.object
                .pointer(&format!("/metadata/{k}"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (ns, name) = (meta("namespace"), meta("name"));
        if e.group == "apiextensions.k8s.io" && e.resource == "customresourcedefinitions" {
            let established = e
                .object
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                });
            if established {
                st.registry.serve_crd(&name, &e.object);
            }
        }
        st.load(
            &GroupResource::new(&e.group, &e.resource),
            &ns,
            &name,
            e.object,
        );
    }
    st.set_rv(
        v.get("resourceVersion")
            .and_then(Value::as_u64)
            .unwrap_or(1),
    );
    Ok(Some(Loaded {
        time: v.get("time").and_then(Value::as_str).map(str::to_string),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::resources::Registry;
    use crate::sim::store::Store;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/cluster.json");
        let store = Store::new(Registry::with_builtins(), 100);
        {
            let mut st = store.lock();
            st.put(
                &GroupResource::new("", "configmaps"),
                "ns",
                "a",
                json!({"metadata": {"name": "a", "namespace": "ns"}}),
            );
            save(&path, &snapshot(&st, "2026-01-01T00:00:00Z")).unwrap();
        }
        let again = Store::new(Registry::with_builtins(), 100);
        let mut st = again.lock();
        let loaded = load(&path, &mut st).unwrap().unwrap();
        assert_eq!(loaded.time.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(st.rv(), 2);
        let a = st
            .get(&GroupResource::new("", "configmaps"), "ns", "a")
            .unwrap();
        assert_eq!(a["metadata"]["resourceVersion"], "2");
        assert!(
            load(&dir.path().join("missing"), &mut st)
                .unwrap()
                .is_none()
        );
    }
}
