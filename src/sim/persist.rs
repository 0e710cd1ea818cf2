//! Persistence of the simulated cluster: the whole store (objects, resourceVersion counter,
//! the cluster clock's reading and the speeds it ran at) as one JSON file, loaded at start and saved atomically (unique temp file + fsync + rename).
//! Knows nothing about HTTP.

use std::path::Path;

use serde_json::{Value, json};

use super::clock::Segment;
use super::error::SimError;
use super::store::{GroupResource, State};

/// Format version of the state file.
const FORMAT: u64 = 1;

/// The serialised state: counter, the cluster clock's reading (`time`, full precision) and the
/// speeds it ran at (`speeds`, see [`crate::sim::clock::SimClock::timeline`]), objects (each with
/// its group/resource).
pub fn snapshot(st: &State, time: jiff::Timestamp, speeds: &[Segment]) -> Value {
    let objects: Vec<Value> = st
        .all()
        .map(|(gr, o)| json!({"group": gr.group, "resource": gr.resource, "object": **o}))
        .collect();
    json!({
        "format": FORMAT,
        "resourceVersion": st.rv(),
        "time": time.to_string(),
        "speeds": speeds,
        "objects": objects,
    })
}

/// Writes `data` to `path` atomically: a temp file with a unique name beside it, fsync, rename,
/// fsync of the directory. Concurrent saves never share a temp file; a failed save (full disk,
/// read-only directory) removes its temp file and leaves the previous `path` as it was.
pub fn save(path: &Path, data: &Value) -> Result<(), SimError> {
    let text = serde_json::to_vec(data).map_err(|source| SimError::State {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &text).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The prefix of temp files written beside `path` (`.state.json.`), for [`remove_temp_files`].
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.")
}

/// Writes `bytes` to `path` atomically (see [`save`]); also used for the background server's
/// record file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(
        "{}{}.tmp",
        temp_prefix(path),
        uuid::Uuid::new_v4().simple()
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the directory entry is (best effort: not every platform can
    // open a directory).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes temp files a crashed save left beside `path` (call only while owning `path`, e.g.
/// holding the state directory's lock). Returns how many were removed.
pub fn remove_temp_files(path: &Path) -> usize {
    let Some(dir) = path.parent() else {
        return 0;
    };
    let prefix = temp_prefix(path);
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix)
            && name.ends_with(".tmp")
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// What a state file held besides the objects.
pub struct Loaded {
    /// The cluster clock's reading at save, if recorded.
    pub time: Option<jiff::Timestamp>,
    /// The speeds the cluster ran at before (empty in files written before they were recorded).
    pub speeds: Vec<Segment>,
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
        time: v
            .get("time")
            .and_then(Value::as_str)
            .and_then(super::clock::parse_rfc3339),
        // A malformed list only loses the earlier speeds, never the cluster.
        speeds: v
            .get("speeds")
            .cloned()
            .and_then(|s| serde_json::from_value(s).ok())
            .unwrap_or_default(),
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
            let speeds = [crate::sim::clock::Segment {
                from: "2025-12-31T23:00:00Z".parse().unwrap(),
                speed: 60.0,
            }];
            let at = "2026-01-01T00:00:00.25Z".parse().unwrap();
            save(&path, &snapshot(&st, at, &speeds)).unwrap();
        }
        let again = Store::new(Registry::with_builtins(), 100);
        let mut st = again.lock();
        let loaded = load(&path, &mut st).unwrap().unwrap();
        // The reading keeps its fraction: a resumed clock never reads earlier than at the stop.
        assert_eq!(
            loaded.time.map(|t| t.to_string()).as_deref(),
            Some("2026-01-01T00:00:00.25Z")
        );
        assert_eq!(loaded.speeds.len(), 1);
        assert_eq!(loaded.speeds[0].speed, 60.0);
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

    #[test]
    fn saves_leave_no_temp_file_and_a_failed_save_keeps_the_last_good_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        save(&path, &json!({"n": 1})).unwrap();
        save(&path, &json!({"n": 2})).unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["state.json".to_string()]);
        // A leftover from a crash neither blocks a save nor survives the cleanup.
        let stale = dir.path().join(".state.json.0123.tmp");
        std::fs::write(&stale, "partial").unwrap();
        save(&path, &json!({"n": 3})).unwrap();
        assert_eq!(remove_temp_files(&path), 1);
        assert!(!stale.exists());
        // The target cannot be replaced (a directory in its place): the save fails, nothing is
        // left behind, and the directory in its place is untouched.
        let blocked = dir.path().join("blocked.json");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("keep"), "x").unwrap();
        let err = save(&blocked, &json!({"n": 4})).unwrap_err();
        assert!(err.to_string().contains("blocked.json"), "{err}");
        assert!(blocked.join("keep").exists());
        assert_eq!(remove_temp_files(&blocked), 0);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, r#"{"n":3}"#);
    }

    #[test]
    fn concurrent_saves_never_share_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::thread::scope(|scope| {
            for n in 0..8 {
                let path = &path;
                scope.spawn(move || {
                    for i in 0..20 {
                        save(path, &json!({"writer": n, "i": i})).unwrap();
                    }
                });
            }
        });
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["i"], 19);
        assert_eq!(remove_temp_files(&path), 0);
    }
}
