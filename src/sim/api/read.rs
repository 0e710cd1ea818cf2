//! Reads: get and list (labelSelector, fieldSelector, limit/continue with kube's continue-token
//! format); `meta.k8s.io` Tables for `kubectl get` are built in `table.rs`.
//! Lists reflect the latest state, except `resourceVersionMatch=Exact` (and the legacy exact
//! read: a `limit` with a non-zero `resourceVersion` and no match), which reads the state at that
//! resourceVersion from the store's history (410 once it is older than the history).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Request, for_version, json_response, list_item};
use crate::sim::error::{ApiError, Cause};
use crate::sim::selector::{FieldSelector, LabelSelector};
use crate::sim::server::Shared;
use crate::sim::store::Obj;

/// GET one object (main resource or `status`).
pub fn get(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    let name = req.name.as_deref().unwrap_or("");
    let obj = shared
        .store
        .lock()
        .get(&req.gr, req.ns(), name)
        .ok_or_else(|| ApiError::not_found(&req.kind.group, &req.kind.plural, name))?;
    let obj = for_version(&req.kind, &obj);
    if wants_table(&req.accept) {
        return Ok(super::table::response(&req.kind, &[obj], "", shared));
    }
    Ok(json_response(200, &obj))
}

/// Parsed list/watch selectors.
pub struct Selectors {
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl Selectors {
    /// Parses `labelSelector`/`fieldSelector` of a request.
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let labels =
            LabelSelector::parse(req.query.get("labelSelector").map_or("", String::as_str))
                .map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(
            req.query.get("fieldSelector").map_or("", String::as_str),
            &req.kind.plural,
        )
        .map_err(ApiError::bad_request)?;
        Ok(Selectors { labels, fields })
    }

    /// Whether an object is selected.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

fn key_of(obj: &Value) -> String {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{ns}/{name}")
}

fn encode_continue(rv: u64, start: &str) -> String {
    STANDARD.encode(
        json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")}).to_string(),
    )
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let bytes = STANDARD.decode(token).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    v.get("start")
        .and_then(Value::as_str)
        .map(|s| s.trim_end_matches('\u{0}').to_string())
        .ok_or_else(bad)
}

/// Objects selected by a list request, with the list's resourceVersion.
pub fn select(shared: &Shared, req: &Request, sel: &Selectors) -> (Vec<Obj>, u64) {
    let st = shared.store.lock();
    let objs = st
        .list(&req.gr, req.namespace.as_deref())
        .into_iter()
        .filter(|o| sel.matches(o))
        .collect();
    (objs, st.rv())
}

/// Whether a list with a resourceVersion asks for the state exactly at it (kube's `isExact` or
/// `isLegacyExact`).
fn exact_read(req: &Request) -> bool {
    match req.query.get("resourceVersionMatch").map(String::as_str) {
        Some("Exact") => true,
        None | Some("") => req
            .query
            .get("limit")
            .and_then(|l| l.parse::<i64>().ok())
            .is_some_and(|l| l > 0),
        Some(_) => false,
    }
}

/// Objects selected by a list at resourceVersion `at` (etcd's historic read), listed with `at`.
fn select_at(
    shared: &Shared,
    req: &Request,
    sel: &Selectors,
    at: u64,
) -> Result<(Vec<Obj>, u64), ApiError> {
    let st = shared.store.lock();
    let objs = st
        .list_at(&req.gr, req.namespace.as_deref(), at)
        .map_err(|_| ApiError::expired("The resourceVersion for the provided list is too old."))?;
    let rv = at.min(st.rv());
    Ok((objs.into_iter().filter(|o| sel.matches(o)).collect(), rv))
}

/// The `resourceVersion` parameter as a number (`None` when absent or empty), with
/// kube-apiserver's 400 for anything else.
pub fn resource_version(req: &Request) -> Result<Option<u64>, ApiError> {
    match req.query.get("resourceVersion").map(String::as_str) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resource version: resourceVersion: Invalid value: {s:?}: strconv.ParseUint: parsing {s:?}: invalid syntax"
            ))
        }),
    }
}

/// `ValidateListOptions` of a list (not watch) request.
fn validate_list_options(req: &Request) -> Result<(), ApiError> {
    let rv = req.query.get("resourceVersion").map_or("", String::as_str);
    let mut causes = vec![];
    let forbidden = |message: &str| Cause {
        reason: "FieldValueForbidden".into(),
        message: format!("Forbidden: {message}"),
        field: "resourceVersionMatch".into(),
    };
    if let Some(m) = req
        .query
        .get("resourceVersionMatch")
        .filter(|m| !m.is_empty())
    {
        if rv.is_empty() {
            causes.push(forbidden(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if req.query.get("continue").is_some_and(|c| !c.is_empty()) {
            causes.push(forbidden(
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
        if m != "Exact" && m != "NotOlderThan" {
            causes.push(Cause {
                reason: "FieldValueNotSupported".into(),
                message: format!(
                    "Unsupported value: {m:?}: supported values: \"Exact\", \"NotOlderThan\", \"\""
                ),
                field: "resourceVersionMatch".into(),
            });
        }
        if m == "Exact" && rv == "0" {
            causes.push(forbidden(
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
    }
    if req.query.contains_key("sendInitialEvents") {
        causes.push(Cause {
            reason: "FieldValueForbidden".into(),
            message: "Forbidden: sendInitialEvents is forbidden for list".into(),
            field: "sendInitialEvents".into(),
        });
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", causes))
    }
}

/// GET a collection.
pub fn list(shared: &Shared, req: &Request) -> Result<axum::response::Response, ApiError> {
    validate_list_options(req)?;
    let at = resource_version(req)?;
    let sel = Selectors::from_request(req)?;
    let (mut objs, rv) = match at.filter(|rv| *rv != 0 && exact_read(req)) {
        Some(at) => select_at(shared, req, &sel, at)?,
        None => select(shared, req, &sel),
    };
    if let Some(token) = req.query.get("continue").filter(|t| !t.is_empty()) {
        let start = decode_continue(token)?;
        objs.retain(|o| key_of(o) > start);
    }
    let limit: usize = req
        .query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if objs.len() > limit {
        let remaining = objs.len() - limit;
        objs.truncate(limit);
        if let Some(last) = objs.last() {
            meta["continue"] = json!(encode_continue(rv, &key_of(last)));
            meta["remainingItemCount"] = json!(remaining);
        }
    }
    if wants_table(&req.accept) {
        let items: Vec<Value> = objs.iter().map(|o| for_version(&req.kind, o)).collect();
        return Ok(super::table::response(
            &req.kind,
            &items,
            &rv.to_string(),
            shared,
        ));
    }
    Ok(json_response(
        200,
        &json!({
            "kind": format!("{}List", req.kind.kind),
            "apiVersion": req.kind.api_version(),
            "metadata": meta,
            "items": objs.iter().map(|o| list_item(&req.kind, o)).collect::<Vec<_>>(),
        }),
    ))
}

/// Whether `Accept` asks for a `meta.k8s.io` Table (kubectl get).
pub fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table")
}

/// `kubectl get`'s AGE of an object: its `creationTimestamp` against the server's clock.
pub fn age(shared: &Shared, obj: &Value) -> String {
    match obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(crate::sim::clock::parse_rfc3339)
    {
        Some(ts) => human_age(shared, ts),
        None => "<unknown>".into(),
    }
}

/// How long ago `ts` was, as kube's tables print it (`duration.HumanDuration`).
pub fn human_age(shared: &Shared, ts: jiff::Timestamp) -> String {
    let d = shared.config.clock.now().duration_since(ts);
    human_duration(d.as_secs())
}

/// apimachinery's `duration.HumanDuration` of whole seconds: `45s`, `3m20s`, `12m`, `5h3m`,
/// `30h`, `3d4h`, `20d`, `2y30d`, `9y`; `<invalid>` more than a second in the future.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let years = hours / 24 / 365;
        return match (hours / 24) % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = encode_continue(12, "ns/b");
        assert_eq!(decode_continue(&t).unwrap(), "ns/b");
        assert_eq!(decode_continue("!!").unwrap_err().code, 400);
    }

    #[test]
    fn ages_read_as_kubes_human_durations() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (59, "59s"),
            (119, "119s"),
            (200, "3m20s"),
            (300, "5m"),
            (754, "12m"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (5 * 3600, "5h"),
            (30 * 3600, "30h"),
            (3 * 86_400 + 4 * 3600, "3d4h"),
            (20 * 86_400, "20d"),
            (2 * 365 * 86_400 + 30 * 86_400, "2y30d"),
            (9 * 365 * 86_400, "9y"),
        ];
        for (secs, text) in cases {
            assert_eq!(human_duration(secs), text, "{secs}s");
        }
    }
}
