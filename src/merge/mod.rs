//! Patch semantics shared by the renderer and the simulated API server: strategic merge patch
//! (with the built-in merge keys of core kinds), JSON merge patch (RFC 7386) and JSON patch
//! (RFC 6902). Pure functions over `serde_json::Value`.
