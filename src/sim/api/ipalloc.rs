//! Service cluster IPs, as kube-apiserver's IP allocator hands them out: a new Service (not
//! `ExternalName`, not headless `None`) gets a free address of the service CIDR `10.96.0.0/12`
//! (`spec.clusterIP`, `spec.clusterIPs`, single-stack IPv4), a requested address must lie in the
//! range and be free, and an update that omits the address keeps the allocated one. The
//! allocation is the set of stored Services, so deleting a Service releases its address.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use rand::Rng;
use serde_json::{Value, json};

use crate::sim::error::Cause;
use crate::sim::resources::KindInfo;
use crate::sim::store::{GroupResource, State};

/// The service CIDR.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";
const BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SIZE: u32 = 1 << 20;
/// kube's static band of a /12: `min(max(16, size/16), 256)` addresses.
const STATIC_BAND: u32 = 256;

fn is_service(kind: &KindInfo) -> bool {
    !kind.custom && kind.group.is_empty() && kind.plural == "services"
}

fn in_range(ip: Ipv4Addr) -> bool {
    let n = u32::from(ip);
    // The network and broadcast addresses are never handed out.
    n > BASE && n < BASE + SIZE - 1
}

fn allocated(st: &State) -> HashSet<u32> {
    st.list(&GroupResource::new("", "services"), None)
        .iter()
        .filter_map(|s| s.pointer("/spec/clusterIP").and_then(Value::as_str))
        .filter_map(|ip| ip.parse::<Ipv4Addr>().ok())
        .map(u32::from)
        .collect()
}

fn refuse(ip: &str, why: &str) -> Vec<Cause> {
    vec![Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: [{ip:?}]: failed to allocate IP {ip}: {why}"),
        field: "spec.clusterIPs".into(),
    }]
}

/// Allocates the cluster IP of a new Service (no-op for other kinds); the causes of a 422 when
/// the requested address cannot be had.
pub fn allocate(st: &State, kind: &KindInfo, obj: &mut Value) -> Result<(), Vec<Cause>> {
    if !is_service(kind) {
        return Ok(());
    }
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
        return Ok(());
    }
    let requested = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .or_else(|| {
            spec.get("clusterIPs")
                .and_then(|v| v.get(0))
                .and_then(Value::as_str)
        })
        .unwrap_or("")
        .to_string();
    if requested == "None" {
        spec.insert("clusterIP".into(), json!("None"));
        spec.insert("clusterIPs".into(), json!(["None"]));
        return Ok(());
    }
    let used = allocated(st);
    let ip = if requested.is_empty() {
        // Like kube's allocator: a random free address of the dynamic band (past the static
        // band of the first 256 addresses, which requested IPs use; 10.96.0.1 is kube's
        // `kubernetes` Service), then any free one.
        let mut rng = rand::rng();
        let start = rng.random_range(STATIC_BAND..SIZE - 1);
        let free = (0..SIZE - 3)
            .map(|i| BASE + 2 + (start - 2 + i) % (SIZE - 3))
            .find(|n| !used.contains(n));
        let Some(n) = free else {
            return Err(refuse("", "range is full"));
        };
        Ipv4Addr::from(n)
    } else {
        let Ok(ip) = requested.parse::<Ipv4Addr>() else {
            // Not an IPv4 address: the validation's wording.
            return Err(vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: format!(
                    "Invalid value: {requested:?}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                ),
                field: "spec.clusterIPs[0]".into(),
            }]);
        };
        if !in_range(ip) {
            return Err(refuse(
                &requested,
                &format!(
                    "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}"
                ),
            ));
        }
        if used.contains(&u32::from(ip)) {
            return Err(refuse(&requested, "provided IP is already allocated"));
        }
        ip
    };
    let ip = ip.to_string();
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
    spec.entry("ipFamilyPolicy")
        .or_insert_with(|| json!("SingleStack"));
    Ok(())
}

/// An update that omits the cluster IP keeps the allocated one (kube's `patchAllocatedValues`).
pub fn keep_allocated(kind: &KindInfo, old: &Value, new: &mut Value) {
    if !is_service(kind) {
        return;
    }
    let omitted = new
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty);
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if omitted && let Some(ip) = old.pointer("/spec/clusterIP") {
        spec.insert("clusterIP".into(), ip.clone());
        if spec
            .get("clusterIPs")
            .is_none_or(|v| v.as_array().is_none_or(Vec::is_empty))
            && let Some(ips) = old.pointer("/spec/clusterIPs")
        {
            spec.insert("clusterIPs".into(), ips.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_excludes_network_and_broadcast() {
        assert!(!in_range(
            "10.96.0.0".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
        ));
        assert!(in_range(
            "10.96.0.10".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
        ));
        assert!(in_range(
            "10.111.255.254".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
        ));
        assert!(!in_range(
            "10.111.255.255".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
        ));
        assert!(!in_range(
            "10.112.0.1".parse().unwrap_or(Ipv4Addr::UNSPECIFIED)
        ));
    }
}
