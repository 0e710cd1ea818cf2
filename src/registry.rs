//! `democtl validate --images`: does every image the overlays name exist in its registry?
//!
//! Each reference is parsed as the container runtimes parse it (Docker's reference grammar: the
//! first path component is a registry when it has a `.` or a `:` or is `localhost`; otherwise
//! Docker Hub, with `library/` for one-component names) and asked with the OCI distribution API:
//! `HEAD /v2/<repository>/manifests/<tag|digest>`. A 401 with a `Bearer` challenge is answered
//! with an anonymous token from the realm it names, as `docker pull` does for public images.
//! Loopback registries are spoken to over plain HTTP (Docker's default "insecure" range).
//!
//! A registry that cannot be reached (no network, DNS, proxy) is not a missing image: it is
//! reported as "not checked", so an offline laptop gets an honest answer instead of a failure.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Manifest media types a runtime accepts (single-arch, multi-arch, OCI and Docker).
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// An image reference, split as a runtime splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// As written in the manifest.
    pub original: String,
    /// Host (and port) of the registry: `quay.io`, `registry-1.docker.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// `private-ai-demo/database-mcp`, `library/postgres`.
    pub repository: String,
    /// A tag (`1.0.0`, `latest` when none is written) or a digest (`sha256:…`).
    pub reference: String,
}

/// A reference that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference `{image}`: {why}")]
pub struct ParseError {
    pub image: String,
    pub why: &'static str,
}

impl ImageRef {
    pub fn parse(image: &str) -> Result<ImageRef, ParseError> {
        let bad = |why| ParseError {
            image: image.to_string(),
            why,
        };
        if image.is_empty() || image.chars().any(char::is_whitespace) {
            return Err(bad("empty or contains whitespace"));
        }
        let (name, reference) = match image.split_once('@') {
            Some((n, d)) => {
                if !d.contains(':') {
                    return Err(bad("a digest is `algorithm:hex`"));
                }
                (n, d.to_string())
            }
            None => {
                // A `:` after the last `/` starts the tag (a `:` before it is a registry port).
                let slash = image.rfind('/').map_or(0, |i| i + 1);
                match image[slash..].find(':') {
                    Some(i) => (&image[..slash + i], image[slash + i + 1..].to_string()),
                    None => (image, "latest".to_string()),
                }
            }
        };
        if reference.is_empty() {
            return Err(bad("empty tag"));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ if name.contains('/') => ("registry-1.docker.io".to_string(), name.to_string()),
            _ => (
                "registry-1.docker.io".to_string(),
                format!("library/{name}"),
            ),
        };
        let registry = if registry == "docker.io" || registry == "index.docker.io" {
            "registry-1.docker.io".to_string()
        } else {
            registry
        };
        if repository.is_empty()
            || repository
                .split('/')
                .any(|c| c.is_empty() || c.chars().any(|ch| ch.is_ascii_uppercase()))
        {
            return Err(bad("a repository is lower-case path components"));
        }
        Ok(ImageRef {
            original: image.to_string(),
            registry,
            repository,
            reference,
        })
    }

    /// Loopback registries speak plain HTTP, as Docker allows by default.
    fn base(&self) -> String {
        let host = self
            .registry
            .rsplit_once(':')
            .map_or(self.registry.as_str(), |(h, _)| h);
        let scheme = if host == "localhost" || host == "[::1]" || host.starts_with("127.") {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", self.registry)
    }
}

/// What the registry said about one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The manifest exists (with its digest when the registry gave one).
    Found(Option<String>),
    /// The registry answered that the repository or tag does not exist.
    Missing(String),
    /// The registry answered, but not about the image (it needs credentials, or failed).
    Refused(String),
    /// The registry could not be reached: nothing is known.
    Unreachable(String),
}

type Http = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Asks registries about images, one client for all.
pub struct Checker {
    http: Http,
    timeout: Duration,
}

impl Checker {
    pub fn new(timeout: Duration) -> Result<Checker, std::io::Error> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Checker {
            http: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        })
    }

    /// Checks each distinct reference once; answers in the order given.
    pub async fn check_all(&self, images: &[ImageRef]) -> Vec<(ImageRef, Verdict)> {
        let mut seen = std::collections::BTreeSet::new();
        let distinct: Vec<&ImageRef> = images
            .iter()
            .filter(|i| seen.insert(i.original.as_str()))
            .collect();
        let verdicts = futures::future::join_all(distinct.iter().map(|i| self.check(i))).await;
        distinct.into_iter().cloned().zip(verdicts).collect()
    }

    pub async fn check(&self, image: &ImageRef) -> Verdict {
        let host = image.registry.split(':').next().unwrap_or_default();
        if host.ends_with(".svc") || host.ends_with(".cluster.local") {
            return Verdict::Unreachable(format!(
                "{} is a registry inside the cluster: it can only be asked from there",
                image.registry
            ));
        }
        let url = format!(
            "{}/v2/{}/manifests/{}",
            image.base(),
            image.repository,
            image.reference
        );
        let first = match self.request("HEAD", &url, None).await {
            Ok(r) => r,
            Err(e) => return Verdict::Unreachable(e),
        };
        let answer = if first.status == 401 {
            let Some(token) = self.anonymous_token(first.challenge.as_deref()).await else {
                return Verdict::Refused(format!(
                    "{} needs credentials to read `{}` (401)",
                    image.registry, image.repository
                ));
            };
            match self.request("HEAD", &url, Some(&token)).await {
                Ok(r) => r,
                Err(e) => return Verdict::Unreachable(e),
            }
        } else {
            first
        };
        match answer.status {
            200..=299 => Verdict::Found(answer.digest),
            404 => Verdict::Missing(format!(
                "{} has no `{}:{}` (404)",
                image.registry, image.repository, image.reference
            )),
            401 | 403 => Verdict::Refused(format!(
                "{} needs credentials to read `{}` ({})",
                image.registry, image.repository, answer.status
            )),
            s => Verdict::Refused(format!("{} answered {s}", image.registry)),
        }
    }

    /// The anonymous token a `Bearer realm=…,service=…,scope=…` challenge offers, if any.
    async fn anonymous_token(&self, challenge: Option<&str>) -> Option<String> {
        let params = bearer_params(challenge?)?;
        let realm = params.get("realm")?;
        let mut query = Vec::new();
        for key in ["service", "scope"] {
            if let Some(v) = params.get(key) {
                query.push(format!("{key}={}", percent_encode(v)));
            }
        }
        let url = if query.is_empty() {
            realm.clone()
        } else {
            format!("{realm}?{}", query.join("&"))
        };
        let body = self.get_body(&url).await?;
        let json: Value = serde_json::from_slice(&body).ok()?;
        json.get("token")
            .or_else(|| json.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// One request with the registry's timeout; the error says which host and why.
    async fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(url)
            .header("Accept", ACCEPT)
            .header("User-Agent", concat!("democtl/", env!("CARGO_PKG_VERSION")));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("bad request to {url}: {e}"))?;
        tokio::time::timeout(self.timeout, self.http.request(req))
            .await
            .map_err(|_| format!("no answer from {} within {:?}", host_of(url), self.timeout))?
            .map_err(|e| format!("cannot reach {}: {}", host_of(url), error_chain(&e)))
    }

    async fn request(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
    ) -> Result<Answer, String> {
        let res = self.send(method, url, token).await?;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Answer {
            status: res.status().as_u16(),
            digest: header("docker-content-digest"),
            challenge: header("www-authenticate"),
        })
    }

    async fn get_body(&self, url: &str) -> Option<Bytes> {
        let res = self.send("GET", url, None).await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        let body = tokio::time::timeout(self.timeout, res.into_body().collect())
            .await
            .ok()?
            .ok()?;
        Some(body.to_bytes())
    }
}

struct Answer {
    status: u16,
    digest: Option<String>,
    challenge: Option<String>,
}

/// `Bearer realm="https://auth",service="reg",scope="repository:a/b:pull"` → its parameters.
fn bearer_params(challenge: &str) -> Option<BTreeMap<String, String>> {
    let rest = challenge.trim().strip_prefix("Bearer ")?;
    let mut out = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let value: String = if chars.peek() == Some(&'"') {
            chars.next();
            chars.by_ref().take_while(|c| *c != '"').collect()
        } else {
            chars.by_ref().take_while(|c| *c != ',').collect()
        };
        out.insert(key.trim().to_lowercase(), value);
    }
    Some(out)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// The error and its causes on one line (hyper's own message is only "client error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.dedup();
    // hyper-util's own layer says only "client error (Connect)": the causes say what happened.
    if parts.len() > 1 {
        parts.retain(|p| !p.starts_with("client error"));
    }
    parts.join(": ")
}

/// Every container and init-container image of the rendered objects (pod templates at any
/// depth: Deployments, Jobs, CronJobs, Tekton steps, ServingRuntimes), with the object naming it.
pub fn images_of(objects: &[Value]) -> Vec<(String, String)> {
    fn walk(v: &Value, owner: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let is_list = matches!(
                        k.as_str(),
                        "containers" | "initContainers" | "steps" | "sidecars"
                    );
                    if is_list && let Some(items) = child.as_array() {
                        for c in items {
                            if let Some(image) = c.get("image").and_then(Value::as_str) {
                                out.push((image.to_string(), owner.to_string()));
                            }
                        }
                    }
                    walk(child, owner, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, owner, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for o in objects {
        let owner = format!(
            "{}/{}",
            o["kind"].as_str().unwrap_or("?"),
            o["metadata"]["name"].as_str().unwrap_or("?")
        );
        walk(o, &owner, &mut out);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts(image: &str) -> (String, String, String) {
        let r = ImageRef::parse(image).unwrap();
        (r.registry, r.repository, r.reference)
    }

    #[test]
    fn references_split_as_runtimes_split_them() {
        let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            parts("quay.io/private-ai-demo/database-mcp:1.0.0"),
            s("quay.io", "private-ai-demo/database-mcp", "1.0.0")
        );
        assert_eq!(
            parts("postgres"),
            s("registry-1.docker.io", "library/postgres", "latest")
        );
        assert_eq!(
            parts("docker.io/milvusdb/milvus:v2.4.4"),
            s("registry-1.docker.io", "milvusdb/milvus", "v2.4.4")
        );
        assert_eq!(
            parts("localhost:5000/a/b"),
            s("localhost:5000", "a/b", "latest")
        );
        assert_eq!(
            parts("registry.redhat.io/rhel9/postgresql-15@sha256:abc"),
            s("registry.redhat.io", "rhel9/postgresql-15", "sha256:abc")
        );
        assert!(ImageRef::parse("Quay.io/UPPER/x").is_err());
        assert!(ImageRef::parse("a b").is_err());
        assert!(ImageRef::parse("x:").is_err());
    }

    #[test]
    fn bearer_challenges_are_parsed() {
        let p = bearer_params(
            r#"Bearer realm="https://quay.io/v2/auth",service="quay.io",scope="repository:a/b:pull""#,
        )
        .unwrap();
        assert_eq!(p["realm"], "https://quay.io/v2/auth");
        assert_eq!(p["service"], "quay.io");
        assert_eq!(p["scope"], "repository:a/b:pull");
        assert_eq!(bearer_params("Basic realm=x"), None);
    }

    #[test]
    fn images_are_found_in_every_pod_template() {
        let objects = vec![
            serde_json::json!({"kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": {"spec": {"initContainers": [{"name": "i", "image": "busybox:1"}],
                    "containers": [{"name": "c", "image": "quay.io/a/web:2"}]}}}}),
            serde_json::json!({"kind": "Task", "metadata": {"name": "t"},
                "spec": {"steps": [{"name": "s", "image": "python:3.11"}]}}),
        ];
        let found: Vec<String> = images_of(&objects).into_iter().map(|(i, _)| i).collect();
        assert_eq!(found, ["busybox:1", "quay.io/a/web:2", "python:3.11"]);
    }
}
