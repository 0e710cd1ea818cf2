//! Field ownership for server-side apply: field sets computed from objects (with associative
//! list keys for the built-in kinds and CRD `x-kubernetes-list-type: map` lists), their FieldsV1
//! encoding in `metadata.managedFields`, ownership tracking for Update operations, and the apply
//! merge with conflict detection and removal of fields a manager stops applying. A simplified
//! structured-merge-diff; pure functions over JSON.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::error::{ApiError, Cause};
use super::resources::KindInfo;

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElem {
    /// A map field (`f:name`).
    Field(String),
    /// An associative list item by its key fields (`k:{"name":"web"}`), as canonical JSON.
    Key(String),
    /// A set list item (`v:"x"`), as JSON.
    Value(String),
    /// A list item by index (`i:0`).
    Index(usize),
}

/// A path from the object root.
pub type FieldPath = Vec<PathElem>;
/// A set of owned fields.
pub type FieldSet = BTreeSet<FieldPath>;

/// Prints a path like kube's conflict messages: `.spec.containers[name="web"].image`.
pub fn path_string(p: &[PathElem]) -> String {
    let mut s = String::new();
    for e in p {
        match e {
            PathElem::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElem::Key(k) => {
                let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("[{}]", parts.join(",")));
            }
            PathElem::Value(v) => s.push_str(&format!("[={v}]")),
            PathElem::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// How a list is merged.
#[derive(Clone, Debug, PartialEq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// Items identified by these key fields.
    Map(Vec<String>),
    /// Items identified by their (scalar) value.
    Set,
}

/// List semantics of a path (dot path with `[]` for list items, e.g. `.spec.template.spec.containers`).
pub fn list_type(kind: &KindInfo, path: &str) -> ListType {
    if let Some(keys) = kind.list_keys.get(path) {
        return ListType::Map(keys.clone());
    }
    let last = path.rsplit('.').next().unwrap_or("");
    let keys: &[&str] = match last {
        "finalizers" if path == ".metadata.finalizers" => return ListType::Set,
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets" => &["name"],
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "hostAliases" => &["ip"],
        "ownerReferences" => &["uid"],
        "topologySpreadConstraints" => &["topologyKey", "whenUnsatisfiable"],
        "ports" if path.ends_with("containers[].ports") => &["containerPort", "protocol"],
        "ports" if path == ".spec.ports" => &["port", "protocol"],
        "conditions" if !kind.custom => &["type"],
        _ => return ListType::Atomic,
    };
    ListType::Map(keys.iter().map(|s| s.to_string()).collect())
}

fn item_key(item: &Value, keys: &[String]) -> Option<String> {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    let mut m = Map::new();
    for k in sorted {
        if let Some(v) = item.get(k.as_str()) {
            m.insert(k.clone(), v.clone());
        }
    }
    if m.is_empty() {
        None
    } else {
        Some(Value::Object(m).to_string())
    }
}

/// Which part of an object a write owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The main resource; `exclude_status` for kinds with a status subresource.
    Main {
        /// Drop `.status`.
        exclude_status: bool,
    },
    /// The `status` subresource.
    Status,
}

const META_SKIP: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// The part of an object whose fields are tracked (no type/identity/system metadata).
pub fn strip(obj: &Value, scope: Scope) -> Value {
    let Some(map) = obj.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for (k, v) in map {
        match (scope, k.as_str()) {
            (_, "apiVersion" | "kind") => {}
            (Scope::Status, "status") => {
                out.insert(k.clone(), v.clone());
            }
            (Scope::Status, _) => {}
            (
                Scope::Main {
                    exclude_status: true,
                },
                "status",
            ) => {}
            (Scope::Main { .. }, "metadata") => {
                if let Some(m) = v.as_object() {
                    let kept: Map<String, Value> = m
                        .iter()
                        .filter(|(k, _)| !META_SKIP.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if !kept.is_empty() {
                        out.insert(k.clone(), Value::Object(kept));
                    }
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The set of fields an (already stripped) object sets.
pub fn fields_of(kind: &KindInfo, v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    walk(kind, v, "", &mut vec![], &mut out);
    out
}

fn walk(kind: &KindInfo, v: &Value, dot: &str, prefix: &mut FieldPath, out: &mut FieldSet) {
    let Some(map) = v.as_object() else { return };
    for (k, child) in map {
        prefix.push(PathElem::Field(k.clone()));
        let cdot = format!("{dot}.{k}");
        match child {
            Value::Object(m) if !m.is_empty() => walk(kind, child, &cdot, prefix, out),
            Value::Array(items) => match list_type(kind, &cdot) {
                ListType::Map(keys) if !items.is_empty() => {
                    for item in items {
                        let Some(key) = item_key(item, &keys) else {
                            continue;
                        };
                        prefix.push(PathElem::Key(key));
                        out.insert(prefix.clone());
                        walk(kind, item, &format!("{cdot}[]"), prefix, out);
                        prefix.pop();
                    }
                }
                ListType::Set if !items.is_empty() => {
                    for item in items {
                        prefix.push(PathElem::Value(item.to_string()));
                        out.insert(prefix.clone());
                        prefix.pop();
                    }
                }
                _ => {
                    out.insert(prefix.clone());
                }
            },
            _ => {
                out.insert(prefix.clone());
            }
        }
        prefix.pop();
    }
}

/// Encodes a field set as FieldsV1 JSON.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    #[derive(Default)]
    struct Node {
        own: bool,
        children: std::collections::BTreeMap<String, Node>,
    }
    fn key(e: &PathElem) -> String {
        match e {
            PathElem::Field(f) => format!("f:{f}"),
            PathElem::Key(k) => format!("k:{k}"),
            PathElem::Value(v) => format!("v:{v}"),
            PathElem::Index(i) => format!("i:{i}"),
        }
    }
    fn render(n: &Node) -> Value {
        let mut m = Map::new();
        if n.own && !n.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in &n.children {
            m.insert(k.clone(), render(c));
        }
        Value::Object(m)
    }
    let mut root = Node::default();
    for p in set {
        let mut n = &mut root;
        for e in p {
            n = n.children.entry(key(e)).or_default();
        }
        n.own = true;
    }
    render(&root)
}

/// Decodes FieldsV1 JSON into a field set (unknown keys are ignored).
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn go(v: &Value, prefix: &mut FieldPath, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        if m.is_empty() && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
        for (k, child) in m {
            if k == "." {
                out.insert(prefix.clone());
                continue;
            }
            let elem = if let Some(f) = k.strip_prefix("f:") {
                PathElem::Field(f.to_string())
            } else if let Some(x) = k.strip_prefix("k:") {
                match serde_json::from_str::<Value>(x) {
                    Ok(v) => PathElem::Key(v.to_string()),
                    Err(_) => continue,
                }
            } else if let Some(x) = k.strip_prefix("v:") {
                PathElem::Value(x.to_string())
            } else if let Some(x) = k.strip_prefix("i:") {
                match x.parse() {
                    Ok(i) => PathElem::Index(i),
                    Err(_) => continue,
                }
            } else {
                continue;
            };
            prefix.push(elem);
            go(child, prefix, out);
            prefix.pop();
        }
    }
    let mut out = FieldSet::new();
    go(v, &mut vec![], &mut out);
    out
}

fn find_item(items: &[Value], e: &PathElem) -> Option<usize> {
    match e {
        PathElem::Key(k) => {
            let want: Map<String, Value> = serde_json::from_str(k).ok()?;
            items
                .iter()
                .position(|it| want.iter().all(|(f, v)| it.get(f) == Some(v)))
        }
        PathElem::Value(v) => {
            let want: Value = serde_json::from_str(v).ok()?;
            items.iter().position(|it| *it == want)
        }
        PathElem::Index(i) => (*i < items.len()).then_some(*i),
        PathElem::Field(_) => None,
    }
}

/// The value at a path.
pub fn get_at<'a>(v: &'a Value, p: &[PathElem]) -> Option<&'a Value> {
    let mut cur = v;
    for e in p {
        cur = match (e, cur) {
            (PathElem::Field(f), Value::Object(m)) => m.get(f)?,
            (_, Value::Array(items)) => &items[find_item(items, e)?],
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the value at a path, then empty maps/lists left behind on the way.
pub fn remove_at(v: &mut Value, p: &[PathElem]) {
    let Some((last, parent_path)) = p.split_last() else {
        return;
    };
    let mut cur = &mut *v;
    for e in parent_path {
        let next = match (e, cur) {
            (PathElem::Field(f), Value::Object(m)) => m.get_mut(f),
            (_, Value::Array(items)) => match find_item(items, e) {
                Some(i) => items.get_mut(i),
                None => None,
            },
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match (last, cur) {
        (PathElem::Field(f), Value::Object(m)) => {
            m.remove(f);
        }
        (_, Value::Array(items)) => {
            if let Some(i) = find_item(items, last) {
                items.remove(i);
            }
        }
        _ => {}
    }
    // Prune containers emptied by the removal (never the root or top-level fields).
    if parent_path.len() > 1
        && get_at(v, parent_path).is_some_and(|x| {
            x.as_object().is_some_and(Map::is_empty) || x.as_array().is_some_and(Vec::is_empty)
        })
    {
        remove_at(v, parent_path);
    }
}

/// Merges an applied configuration into a live object (maps recursively, associative and set
/// lists by item identity, atomic lists and scalars replaced; `null` removes).
pub fn merge_applied(kind: &KindInfo, live: &mut Value, applied: &Value, dot: &str) {
    let (Value::Object(lm), Value::Object(am)) = (&mut *live, applied) else {
        *live = applied.clone();
        return;
    };
    for (k, av) in am {
        let cdot = format!("{dot}.{k}");
        if av.is_null() {
            lm.remove(k);
            continue;
        }
        match lm.get_mut(k) {
            None => {
                lm.insert(k.clone(), av.clone());
            }
            Some(lv) => match (lv, av) {
                (lv @ Value::Object(_), Value::Object(_)) => merge_applied(kind, lv, av, &cdot),
                (Value::Array(litems), Value::Array(aitems)) => match list_type(kind, &cdot) {
                    ListType::Map(keys) => {
                        for ai in aitems {
                            let key = item_key(ai, &keys);
                            let pos = key.as_ref().and_then(|k| {
                                litems
                                    .iter()
                                    .position(|li| item_key(li, &keys).as_ref() == Some(k))
                            });
                            match pos {
                                Some(i) => {
                                    merge_applied(kind, &mut litems[i], ai, &format!("{cdot}[]"))
                                }
                                None => litems.push(ai.clone()),
                            }
                        }
                    }
                    ListType::Set => {
                        for ai in aitems {
                            if !litems.contains(ai) {
                                litems.push(ai.clone());
                            }
                        }
                    }
                    ListType::Atomic => *litems = aitems.clone(),
                },
                (lv, av) => *lv = av.clone(),
            },
        }
    }
}

/// One `metadata.managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// `manager`.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// `apiVersion`.
    pub api_version: String,
    /// `time`.
    pub time: String,
    /// `subresource` (`status`) or none.
    pub subresource: Option<String>,
    /// The owned fields.
    pub set: FieldSet,
}

impl Entry {
    fn same_slot(&self, manager: &str, operation: &str, sub: Option<&str>) -> bool {
        self.manager == manager && self.operation == operation && self.subresource.as_deref() == sub
    }
}

/// Reads the entries of an object.
pub fn read_entries(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return vec![];
    };
    list.iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            Entry {
                manager: s("manager"),
                operation: s("operation"),
                api_version: s("apiVersion"),
                time: s("time"),
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string),
                set: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
            }
        })
        .collect()
}

/// The seconds of an entry's time (none sorts first, as Go's zero time).
fn entry_seconds(e: &Entry) -> i64 {
    crate::sim::clock::parse_rfc3339(&e.time).map_or(0, |t| t.as_second())
}

/// Writes entries into an object (dropping empty ones; none → field removed), in kube's order
/// (`sortEncodedManagedFields`: Apply before Update, then by time in seconds, manager, API
/// version, subresource). An entry without a time (a manager whose apply changed nothing)
/// has no `time`.
pub fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let mut kept: Vec<&Entry> = entries.iter().filter(|e| !e.set.is_empty()).collect();
    kept.sort_by(|p, q| {
        (p.operation.as_str(), entry_seconds(p), p.manager.as_str())
            .cmp(&(q.operation.as_str(), entry_seconds(q), q.manager.as_str()))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    let list: Vec<Value> = kept
        .into_iter()
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
            });
            if !e.time.is_empty() {
                v["time"] = Value::String(e.time.clone());
            }
            v["fieldsType"] = json!("FieldsV1");
            v["fieldsV1"] = to_fields_v1(&e.set);
            if let Some(s) = &e.subresource {
                v["subresource"] = Value::String(s.clone());
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

fn is_item(p: &[PathElem]) -> bool {
    matches!(p.last(), Some(PathElem::Key(_) | PathElem::Value(_)))
}

/// Who is writing: manager, API version used, time, subresource.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// `group/version` of the request.
    pub api_version: &'a str,
    /// RFC 3339 time.
    pub time: &'a str,
    /// `status` for status writes.
    pub subresource: Option<&'a str>,
}

/// Records an Update operation: the writer takes ownership of every field it changed or added;
/// other managers lose those; removed fields leave every set.
pub fn track_update(
    kind: &KindInfo,
    old: Option<&Value>,
    new: &mut Value,
    w: &Writer,
    scope: Scope,
) {
    let mut entries = request_or_live_entries(old, new, w.subresource.is_some());
    let so = old.map(|o| strip(o, scope)).unwrap_or_else(|| json!({}));
    let sn = strip(new, scope);
    let set_old = fields_of(kind, &so);
    let set_new = fields_of(kind, &sn);
    let changed: FieldSet = set_new
        .iter()
        .filter(|p| !set_old.contains(*p) || (!is_item(p) && get_at(&so, p) != get_at(&sn, p)))
        .cloned()
        .collect();
    let removed: FieldSet = set_old.difference(&set_new).cloned().collect();
    if changed.is_empty() && removed.is_empty() {
        write_entries(new, &entries);
        return;
    }
    for e in entries.iter_mut() {
        e.set
            .retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    match entries
        .iter_mut()
        .find(|e| e.same_slot(w.manager, "Update", w.subresource))
    {
        Some(e) => {
            e.set.extend(changed);
            e.time = w.time.to_string();
            e.api_version = w.api_version.to_string();
        }
        None => entries.push(Entry {
            manager: w.manager.to_string(),
            operation: "Update".into(),
            api_version: w.api_version.to_string(),
            time: w.time.to_string(),
            subresource: w.subresource.map(str::to_string),
            set: changed,
        }),
    }
    write_entries(new, &entries);
}

/// The entries an Update starts from (kube's `decodeLiveOrNew`): those the request sets when it
/// sets any (a client may rewrite managedFields, as kubectl's client-side-apply upgrade does),
/// none when it sends the reset value `[{}]`, else the live object's. Subresource writes always
/// keep the live ones.
fn request_or_live_entries(old: Option<&Value>, new: &Value, subresource: bool) -> Vec<Entry> {
    let live = || old.map(read_entries).unwrap_or_default();
    if subresource {
        return live();
    }
    match new
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    {
        Some(list) if list.len() == 1 && list[0].as_object().is_some_and(Map::is_empty) => {
            vec![]
        }
        Some(_) => {
            let requested = read_entries(new);
            if requested.iter().all(|e| e.set.is_empty()) {
                live()
            } else {
                requested
            }
        }
        None => live(),
    }
}

/// Conflict text of a manager entry, as kube prints it.
fn print_manager(e: &Entry) -> String {
    let mut s = format!("{:?}", e.manager);
    if let Some(sub) = &e.subresource {
        s.push_str(&format!(" with subresource {sub:?}"));
    }
    if e.operation == "Update" {
        s.push_str(&format!(" using {}", e.api_version));
    }
    s
}

/// kubectl's client-side apply annotation.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The field manager of `kubectl apply --server-side`, the only one the client-side-apply
/// upgrade is done for (kube's `lastAppliedManager` and `lastAppliedUpdater`).
const KUBECTL_MANAGER: &str = "kubectl";

/// Server-side apply: merges `applied` into `live` (or into `base` for a create) for `w`,
/// failing with kube's 409 conflict unless `force`.
///
/// For the manager `kubectl`, as kube-apiserver does: conflicts on fields whose live value is
/// still the one recorded in the last-applied annotation (client-side apply owned them) do not
/// count, the apply then takes them over (`lastAppliedManager`); and an existing last-applied
/// annotation is rewritten to the applied configuration (`lastAppliedUpdater`).
pub fn apply(
    kind: &KindInfo,
    live: Option<&Value>,
    base: Value,
    applied: &Value,
    w: &Writer,
    force: bool,
    scope: Scope,
) -> Result<Value, ApiError> {
    let mut result = match apply_once(kind, live, base.clone(), applied, w, force, scope) {
        Ok(v) => v,
        Err(conflicts) => {
            let allowed = match live {
                Some(l) if w.manager == KUBECTL_MANAGER => allowed_by_last_applied(kind, l, scope),
                _ => None,
            };
            let Some(allowed) = allowed else {
                return Err(conflict_error(&conflicts));
            };
            let left: Vec<(Entry, FieldPath)> = conflicts
                .into_iter()
                .filter(|(_, p)| !allowed.contains(p))
                .collect();
            if !left.is_empty() {
                return Err(conflict_error(&left));
            }
            apply_once(kind, live, base, applied, w, true, scope).map_err(|c| conflict_error(&c))?
        }
    };
    if w.manager == KUBECTL_MANAGER
        && let Some(annotations) = result
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        && annotations.contains_key(LAST_APPLIED)
    {
        annotations.insert(
            LAST_APPLIED.into(),
            Value::String(build_last_applied(applied)),
        );
    }
    Ok(result)
}

/// The fields a client-side apply still owns according to the last-applied annotation of
/// `live`: those it records with the value the live object has (kube's
/// `allowedConflictsFromLastApplied`). `None` without a usable annotation.
fn allowed_by_last_applied(kind: &KindInfo, live: &Value, scope: Scope) -> Option<FieldSet> {
    let text = live
        .pointer("/metadata/annotations")?
        .get(LAST_APPLIED)?
        .as_str()
        .filter(|t| !t.is_empty())?;
    let last: Value = serde_json::from_str(text).ok()?;
    if last.get("apiVersion").and_then(Value::as_str) != Some(kind.api_version().as_str()) {
        return None;
    }
    let last = strip(&last, scope);
    let live = strip(live, scope);
    Some(
        fields_of(kind, &last)
            .into_iter()
            .filter(|p| get_at(&last, p) == get_at(&live, p))
            .collect(),
    )
}

/// The last-applied annotation for an applied configuration (kube's `buildLastApplied`): the
/// configuration without the annotation itself, encoded as Go encodes a map (keys sorted) with
/// the encoder's trailing newline.
fn build_last_applied(applied: &Value) -> String {
    let mut obj = applied.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
        && let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED);
    }
    let mut text = sorted_keys(&obj).to_string();
    text.push('\n');
    text
}

/// The value with every object's keys sorted (kube-apiserver's YAML and last-applied
/// annotations have them so).
pub(crate) fn sorted_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted_keys(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

/// One apply; the conflicts (owner entry and field) when there are any and not `force`.
fn apply_once(
    kind: &KindInfo,
    live: Option<&Value>,
    base: Value,
    applied: &Value,
    w: &Writer,
    force: bool,
    scope: Scope,
) -> Result<Value, Vec<(Entry, FieldPath)>> {
    let mut entries = live.map(read_entries).unwrap_or_default();
    let sa = strip(applied, scope);
    let set_new = fields_of(kind, &sa);
    let empty = json!({});
    let live_stripped = live
        .map(|l| strip(l, scope))
        .unwrap_or_else(|| empty.clone());
    // Conflicts: fields owned by someone else whose live value differs from the applied one.
    let mut conflicts: Vec<(Entry, FieldPath)> = vec![];
    for e in &entries {
        if e.same_slot(w.manager, "Apply", w.subresource) {
            continue;
        }
        for p in e.set.intersection(&set_new) {
            if !is_item(p) && get_at(&live_stripped, p) != get_at(&sa, p) {
                conflicts.push((e.clone(), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    let taken: FieldSet = conflicts.iter().map(|(_, p)| p.clone()).collect();
    for e in entries.iter_mut() {
        if !e.same_slot(w.manager, "Apply", w.subresource) {
            e.set.retain(|p| !taken.contains(p));
        }
    }
    let mut result = live.cloned().unwrap_or(base);
    // Fields this manager applied before but not now, owned by nobody else, are removed.
    if let Some(mine) = entries
        .iter()
        .find(|e| e.same_slot(w.manager, "Apply", w.subresource))
    {
        let others: FieldSet = entries
            .iter()
            .filter(|e| !e.same_slot(w.manager, "Apply", w.subresource))
            .flat_map(|e| e.set.iter().cloned())
            .collect();
        let mut gone: Vec<&FieldPath> = mine
            .set
            .iter()
            .filter(|p| !set_new.contains(*p) && !others.contains(*p))
            .collect();
        gone.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in gone {
            remove_at(&mut result, p);
        }
    }
    merge_applied(kind, &mut result, &sa, "");
    // Like kube's managedFieldsUpdater, an apply that changes nothing records no new time (a
    // manager new to the object gets an entry without one).
    let changed = live.is_none_or(|l| strip(l, scope) != strip(&result, scope));
    let time = if changed { w.time } else { "" };
    match entries
        .iter_mut()
        .find(|e| e.same_slot(w.manager, "Apply", w.subresource))
    {
        Some(e) => {
            e.set = set_new;
            if changed {
                e.time = w.time.to_string();
            }
            e.api_version = w.api_version.to_string();
        }
        None => entries.push(Entry {
            manager: w.manager.to_string(),
            operation: "Apply".into(),
            api_version: w.api_version.to_string(),
            time: time.to_string(),
            subresource: w.subresource.map(str::to_string),
            set: set_new,
        }),
    }
    write_entries(&mut result, &entries);
    Ok(result)
}

fn conflict_error(conflicts: &[(Entry, FieldPath)]) -> ApiError {
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(e, p)| Cause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {}", print_manager(e)),
            field: path_string(p),
        })
        .collect();
    let message = if let [(e, p)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            print_manager(e),
            path_string(p)
        )
    } else {
        let mut by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (e, p) in conflicts {
            by.entry(print_manager(e)).or_default().push(path_string(p));
        }
        let mut lines = vec![];
        for (m, paths) in by {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::apply_conflict(message, causes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sim::resources::builtins;

    fn deploy() -> KindInfo {
        builtins()
            .into_iter()
            .find(|k| k.plural == "deployments")
            .unwrap()
    }

    fn w(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "apps/v1",
            time: "2026-01-01T00:00:00Z",
            subresource: None,
        }
    }

    const MAIN: Scope = Scope::Main {
        exclude_status: true,
    };

    #[test]
    fn fields_v1_round_trip_with_keys() {
        let k = deploy();
        let obj = json!({"metadata": {"name": "x", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
        let set = fields_of(&k, &strip(&obj, MAIN));
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1,
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn apply_conflicts_force_and_removal() {
        let k = deploy();
        let base =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}});
        let a1 = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"replicas": 1, "paused": false}});
        let live = apply(&k, None, base.clone(), &a1, &w("a"), false, MAIN).unwrap();
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"replicas": 3}});
        let err = apply(&k, Some(&live), base.clone(), &b, &w("b"), false, MAIN).unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
        );
        let live = apply(&k, Some(&live), base.clone(), &b, &w("b"), true, MAIN).unwrap();
        assert_eq!(live["spec"]["replicas"], 3);
        // a stops applying `paused`: removed; `replicas` now belongs to b and stays.
        let a2 = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}});
        let live = apply(&k, Some(&live), base, &a2, &w("a"), false, MAIN).unwrap();
        assert_eq!(live["spec"], json!({"replicas": 3}));
        let managers: Vec<_> = read_entries(&live).into_iter().map(|e| e.manager).collect();
        assert_eq!(managers, vec!["b"]);
    }

    #[test]
    fn update_takes_changed_fields() {
        let k = deploy();
        let old = json!({"metadata": {"name": "x"}, "spec": {"replicas": 1, "paused": true}});
        let mut created = old.clone();
        track_update(&k, None, &mut created, &w("kubectl"), MAIN);
        let mut new = created.clone();
        new["spec"]["replicas"] = json!(2);
        track_update(&k, Some(&created), &mut new, &w("hpa"), MAIN);
        let e = read_entries(&new);
        // Same time: kube orders the entries by manager.
        let managers: Vec<&str> = e.iter().map(|e| e.manager.as_str()).collect();
        assert_eq!(managers, ["hpa", "kubectl"]);
        assert_eq!(
            path_string(e[0].set.iter().next().unwrap()),
            ".spec.replicas"
        );
        assert_eq!(e[1].set.len(), 1);
    }

    #[test]
    fn kubectl_apply_takes_over_fields_client_side_apply_recorded() {
        let k = deploy();
        let last = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"x"},"spec":{"replicas":1}}"#;
        let mut live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "annotations": {LAST_APPLIED: format!("{last}\n")}},
            "spec": {"replicas": 1, "paused": true}});
        track_update(&k, None, &mut live, &w("kubectl-client-side-apply"), MAIN);
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"}, "spec": {"replicas": 3}});
        // Another manager conflicts; kubectl takes the field client-side apply recorded.
        let e = apply(
            &k,
            Some(&live),
            live.clone(),
            &applied,
            &w("other"),
            false,
            MAIN,
        )
        .unwrap_err();
        assert_eq!(e.code, 409);
        let out = apply(
            &k,
            Some(&live),
            live.clone(),
            &applied,
            &w("kubectl"),
            false,
            MAIN,
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], 3);
        assert_eq!(
            out["metadata"]["annotations"][LAST_APPLIED],
            "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"replicas\":3}}\n"
        );
        // A field changed since the last client-side apply still conflicts.
        let mut drifted = live.clone();
        drifted["spec"]["paused"] = json!(false);
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"}, "spec": {"paused": true}});
        let e = apply(
            &k,
            Some(&drifted),
            drifted.clone(),
            &applied,
            &w("kubectl"),
            false,
            MAIN,
        );
        assert_eq!(e.unwrap_err().code, 409);
    }

    #[test]
    fn an_apply_that_changes_nothing_records_no_time() {
        let k = deploy();
        let mut live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"}, "spec": {"replicas": 1}});
        track_update(&k, None, &mut live, &w("creator"), MAIN);
        let same = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"}, "spec": {"replicas": 1}});
        let out = apply(
            &k,
            Some(&live),
            live.clone(),
            &same,
            &w("second"),
            false,
            MAIN,
        )
        .unwrap();
        let list = out["metadata"]["managedFields"].as_array().unwrap();
        // Apply sorts before Update; the no-op applier has no time.
        assert_eq!(list[0]["manager"], "second");
        assert!(list[0].get("time").is_none());
        assert!(list[1].get("time").is_some());
    }
}
