//! The object store: every object as JSON keyed by group/resource and namespace/name, one global
//! resourceVersion counter, the retained window of changes and the broadcast channel that fans
//! them out to watchers. Holds no HTTP or API semantics; callers take the lock briefly (never
//! across an await).
//!
//! The retained changes play two roles, as in kube-apiserver: they are the watch cache (a watch
//! may start from any resourceVersion after the cache was started, i.e. after bootstrap; older →
//! 410 `too old resource version`) and etcd's MVCC history (a list with
//! `resourceVersionMatch=Exact` reads the state AT a resourceVersion back to the oldest retained
//! change, which includes bootstrap; older → 410, as after an etcd compaction). Each change keeps
//! the object before it, so a historic read undoes the newer changes on the current state.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use super::resources::Registry;

/// A stored object (shared, immutable once stored).
pub type Obj = Arc<Value>;

/// Group + plural resource: the storage key of a kind (all versions share it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupResource {
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource name.
    pub resource: String,
}

impl GroupResource {
    /// Builds a key.
    pub fn new(group: &str, resource: &str) -> Self {
        GroupResource {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

/// The type of a watch event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as retained for watchers.
#[derive(Debug)]
pub struct Event {
    /// The resourceVersion of this change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// Which resource.
    pub gr: GroupResource,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// The object after the change (for deletes: the last state, with the deletion's rv).
    pub object: Obj,
    /// The object before the change (MODIFIED and DELETED; `None` for ADDED): selector watches
    /// turn a change into ADDED/DELETED when an object enters or leaves the selection, and
    /// historic reads undo the change with it.
    pub prev: Option<Obj>,
    /// The object serialised for watchers, by the apiVersion it was rendered for (rendered once
    /// per event, not once per watcher).
    pub rendered: std::sync::OnceLock<(String, Arc<str>)>,
}

/// The mutable state behind the store's lock.
#[derive(Debug)]
pub struct State {
    rv: u64,
    objects: BTreeMap<GroupResource, BTreeMap<(String, String), Obj>>,
    /// The served kinds (built-ins + established CRDs).
    pub registry: Registry,
    events: VecDeque<Arc<Event>>,
    window: usize,
    /// The highest resourceVersion no longer in the event window (watches from older → 410).
    compacted: u64,
    /// The oldest resourceVersion whose state can still be reconstructed (historic reads of
    /// older ones → 410): the last change dropped from the window, or what was loaded from disk.
    history_floor: u64,
    tx: broadcast::Sender<Arc<Event>>,
    /// Set on every change; cleared by the persister.
    pub dirty: bool,
}

/// The shared store.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
}

/// Capacity of the broadcast channel per watcher before it is told to relist (410).
const BROADCAST_CAPACITY: usize = 16 * 1024;

impl Store {
    /// An empty store retaining `window` events for watches.
    pub fn new(registry: Registry, window: usize) -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        Store {
            state: Mutex::new(State {
                rv: 1,
                objects: BTreeMap::new(),
                registry,
                events: VecDeque::new(),
                window: window.max(1),
                compacted: 0,
                history_floor: 0,
                tx,
                dirty: false,
            }),
        }
    }

    /// Locks the state (held briefly; never across an await).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another request panicked mid-change; the map is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Result of positioning a watch.
pub enum WatchStart {
    /// Events after the requested resourceVersion, then live events.
    Ok(Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>),
    /// The requested resourceVersion is older than the retained window.
    TooOld {
        /// The oldest resourceVersion a watch can still start from.
        oldest: u64,
    },
}

/// A historic read of a resourceVersion older than the retained history.
#[derive(Debug, PartialEq, Eq)]
pub struct TooOld;

impl State {
    /// The current (latest) resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Sets the counter (when loading persisted state).
    pub fn set_rv(&mut self, rv: u64) {
        self.rv = self.rv.max(rv);
        self.compacted = self.rv;
        // Nothing before the loaded state is known.
        self.history_floor = self.rv;
    }

    /// Starts the watch window at the current resourceVersion (nothing older can be watched).
    pub fn start_watch_window(&mut self) {
        self.compacted = self.compacted.max(self.rv);
    }

    /// Gets one object.
    pub fn get(&self, gr: &GroupResource, ns: &str, name: &str) -> Option<Obj> {
        self.objects
            .get(gr)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// All objects of a resource, optionally in one namespace, ordered by namespace/name.
    pub fn list(&self, gr: &GroupResource, ns: Option<&str>) -> Vec<Obj> {
        match self.objects.get(gr) {
            None => vec![],
            Some(m) => m
                .iter()
                .filter(|((n, _), _)| ns.is_none_or(|want| want == n))
                .map(|(_, o)| o.clone())
                .collect(),
        }
    }

    /// Every stored resource with its objects (for garbage collection and persistence).
    pub fn all(&self) -> impl Iterator<Item = (&GroupResource, &Obj)> {
        self.objects
            .iter()
            .flat_map(|(gr, m)| m.values().map(move |o| (gr, o)))
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.objects.values().map(BTreeMap::len).sum()
    }

    /// Whether the store holds no objects.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The resourceVersion the next write will get (used by dry runs, which never consume one).
    pub fn peek_next_rv(&self) -> u64 {
        self.rv + 1
    }

    /// Stores `obj` (setting `metadata.resourceVersion` to a fresh counter value) and emits
    /// ADDED or MODIFIED. Returns the stored object.
    pub fn put(&mut self, gr: &GroupResource, ns: &str, name: &str, mut obj: Value) -> Obj {
        self.rv += 1;
        let rv = self.rv;
        set_rv(&mut obj, rv);
        let obj = Arc::new(obj);
        let prev = self
            .objects
            .entry(gr.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), obj.clone());
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(Event {
            rv,
            kind,
            gr: gr.clone(),
            namespace: ns.to_string(),
            object: obj.clone(),
            prev,
            rendered: Default::default(),
        });
        obj
    }

    /// Stores an object as loaded from disk, without an event or a new resourceVersion.
    pub fn load(&mut self, gr: &GroupResource, ns: &str, name: &str, obj: Value) {
        self.objects
            .entry(gr.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), Arc::new(obj));
    }

    /// Removes an object and emits DELETED (the event's object carries the deletion's rv).
    pub fn remove(&mut self, gr: &GroupResource, ns: &str, name: &str) -> Option<Obj> {
        let old = self
            .objects
            .get_mut(gr)?
            .remove(&(ns.to_string(), name.to_string()))?;
        self.rv += 1;
        let rv = self.rv;
        let mut last = (*old).clone();
        set_rv(&mut last, rv);
        let last = Arc::new(last);
        self.emit(Event {
            rv,
            kind: EventType::Deleted,
            gr: gr.clone(),
            namespace: ns.to_string(),
            object: last.clone(),
            prev: Some(old),
            rendered: Default::default(),
        });
        Some(last)
    }

    /// Drops every object of a resource (a deleted CRD's custom resources), emitting DELETED.
    pub fn remove_all(&mut self, gr: &GroupResource) -> usize {
        let keys: Vec<(String, String)> = self
            .objects
            .get(gr)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for (ns, name) in &keys {
            self.remove(gr, ns, name);
        }
        keys.len()
    }

    fn emit(&mut self, ev: Event) {
        self.dirty = true;
        let ev = Arc::new(ev);
        self.events.push_back(ev.clone());
        while self.events.len() > self.window {
            if let Some(old) = self.events.pop_front() {
                self.compacted = self.compacted.max(old.rv);
                self.history_floor = old.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(ev);
    }

    /// Positions a watch after resourceVersion `from`: the retained events newer than it plus a
    /// receiver for live ones (taken under the same lock, so nothing is missed or doubled).
    pub fn watch_from(&self, from: u64) -> WatchStart {
        if from < self.compacted {
            return WatchStart::TooOld {
                oldest: self.compacted,
            };
        }
        let backlog = self
            .events
            .iter()
            .filter(|e| e.rv > from)
            .cloned()
            .collect();
        WatchStart::Ok(backlog, self.tx.subscribe())
    }

    /// The objects of a resource (optionally in one namespace) as they were at resourceVersion
    /// `at`, ordered by namespace/name: the current ones with every newer retained change
    /// undone. `Err(TooOld)` when `at` is older than the retained history.
    pub fn list_at(
        &self,
        gr: &GroupResource,
        ns: Option<&str>,
        at: u64,
    ) -> Result<Vec<Obj>, TooOld> {
        if at >= self.rv {
            return Ok(self.list(gr, ns));
        }
        if at < self.history_floor {
            return Err(TooOld);
        }
        let mut state: BTreeMap<(String, String), Obj> = self
            .objects
            .get(gr)
            .map(|m| {
                m.iter()
                    .filter(|((n, _), _)| ns.is_none_or(|want| want == n))
                    .map(|(k, o)| (k.clone(), o.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for ev in self.events.iter().rev().take_while(|e| e.rv > at) {
            if ev.gr != *gr || ns.is_some_and(|want| want != ev.namespace) {
                continue;
            }
            let name = ev
                .object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let key = (ev.namespace.clone(), name);
            match &ev.prev {
                Some(before) => state.insert(key, before.clone()),
                None => state.remove(&key),
            };
        }
        Ok(state.into_values().collect())
    }

    /// A receiver for live events only.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// The oldest resourceVersion a watch or continue token may still use.
    pub fn compacted(&self) -> u64 {
        self.compacted
    }
}

fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_counter_and_a_bounded_event_window() {
        let store = Store::new(Registry::with_builtins(), 2);
        let mut st = store.lock();
        let gr = GroupResource::new("", "configmaps");
        let a = st.put(&gr, "ns", "a", json!({"metadata": {"name": "a"}}));
        assert_eq!(a["metadata"]["resourceVersion"], "2");
        st.put(&gr, "ns", "b", json!({"metadata": {"name": "b"}}));
        let del = st.remove(&gr, "ns", "a").unwrap();
        assert_eq!(del["metadata"]["resourceVersion"], "4");
        assert!(matches!(st.watch_from(1), WatchStart::TooOld { oldest: 2 }));
        match st.watch_from(2) {
            WatchStart::Ok(backlog, _) => {
                let kinds: Vec<_> = backlog.iter().map(|e| (e.rv, e.kind)).collect();
                assert_eq!(kinds, vec![(3, EventType::Added), (4, EventType::Deleted)]);
            }
            WatchStart::TooOld { .. } => panic!("rv 2 is retained"),
        }
        assert_eq!(st.list(&gr, Some("ns")).len(), 1);
    }

    #[test]
    fn historic_reads_undo_newer_changes_back_to_the_oldest_retained_one() {
        let store = Store::new(Registry::with_builtins(), 3);
        let mut st = store.lock();
        let gr = GroupResource::new("", "configmaps");
        let names = |objs: Vec<Obj>| -> Vec<String> {
            objs.iter()
                .map(|o| format!("{}@{}", o["metadata"]["name"], o["data"]["v"]))
                .collect()
        };
        st.put(
            &gr,
            "ns",
            "a",
            json!({"metadata": {"name": "a"}, "data": {"v": 1}}),
        ); // rv 2
        st.put(
            &gr,
            "ns",
            "a",
            json!({"metadata": {"name": "a"}, "data": {"v": 2}}),
        ); // rv 3
        st.put(
            &gr,
            "other",
            "b",
            json!({"metadata": {"name": "b"}, "data": {"v": 1}}),
        ); // 4
        st.remove(&gr, "ns", "a"); // rv 5
        assert_eq!(
            names(st.list_at(&gr, Some("ns"), 5).unwrap()),
            Vec::<String>::new()
        );
        assert_eq!(names(st.list_at(&gr, Some("ns"), 4).unwrap()), ["\"a\"@2"]);
        assert_eq!(names(st.list_at(&gr, None, 3).unwrap()), ["\"a\"@2"]);
        assert_eq!(names(st.list_at(&gr, None, 2).unwrap()), ["\"a\"@1"]);
        // The window keeps 3 changes (rv 3..5): the state at rv 2 is gone.
        st.put(
            &gr,
            "ns",
            "c",
            json!({"metadata": {"name": "c"}, "data": {"v": 1}}),
        ); // rv 6
        assert_eq!(st.list_at(&gr, None, 2), Err(TooOld));
        assert_eq!(names(st.list_at(&gr, None, 3).unwrap()), ["\"a\"@2"]);
        let versions: Vec<_> = st
            .list_at(&gr, None, 3)
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["resourceVersion"].clone())
            .collect();
        assert_eq!(versions, [json!("3")]);
    }
}
