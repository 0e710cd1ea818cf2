//! `validate --images` against a registry on 127.0.0.1 that speaks the OCI distribution API as
//! quay.io does: an anonymous bearer-token challenge, then 200 with a digest or 404.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use democtl::registry::{Checker, ImageRef, Verdict};

/// The fake registry: `demo/web:1` exists; every manifest request needs the token `t0k`.
async fn registry() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let realm = format!("http://{addr}/token");
    let manifests =
        move |headers: HeaderMap, axum::extract::Path(path): axum::extract::Path<String>| {
            let realm = realm.clone();
            async move {
                if headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    != Some("Bearer t0k")
                {
                    let challenge = format!(
                        r#"Bearer realm="{realm}",service="fake",scope="repository:{}:pull""#,
                        path.split("/manifests/").next().unwrap_or_default()
                    );
                    return (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, challenge)],
                    )
                        .into_response();
                }
                if path == "demo/web/manifests/1" {
                    return (
                        StatusCode::OK,
                        [("docker-content-digest", "sha256:0123456789abcdef0123")],
                    )
                        .into_response();
                }
                StatusCode::NOT_FOUND.into_response()
            }
        };
    let app = Router::new()
        .route("/token", get(|| async { r#"{"token":"t0k"}"# }))
        .route("/v2/{*path}", get(manifests));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr.to_string()
}

#[tokio::test]
async fn images_are_found_missing_or_not_checked_and_never_confused() {
    let reg = registry().await;
    // A port nobody listens on: the registry cannot be reached.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let images: Vec<ImageRef> = [
        format!("{reg}/demo/web:1"),
        format!("{reg}/demo/gone:1"),
        format!("{closed}/demo/web:1"),
        "image-registry.openshift-image-registry.svc:5000/ns/app:1".to_string(),
        format!("{reg}/demo/web:1"),
    ]
    .iter()
    .map(|i| ImageRef::parse(i).unwrap())
    .collect();
    let checker = Checker::new(Duration::from_secs(5)).unwrap();
    let verdicts = checker.check_all(&images).await;
    assert_eq!(verdicts.len(), 4, "each distinct image once: {verdicts:?}");
    assert_eq!(
        verdicts[0].1,
        Verdict::Found(Some("sha256:0123456789abcdef0123".into()))
    );
    assert_eq!(
        verdicts[1].1,
        Verdict::Missing(format!("{reg} has no `demo/gone:1` (404)"))
    );
    match &verdicts[2].1 {
        Verdict::Unreachable(why) => {
            assert!(
                why.starts_with(&format!("cannot reach {closed}: ")),
                "{why}"
            )
        }
        other => panic!("a closed port is not a verdict on the image: {other:?}"),
    }
    assert!(
        matches!(&verdicts[3].1, Verdict::Unreachable(why) if why.contains("inside the cluster")),
        "{:?}",
        verdicts[3].1
    );
}

/// The command: a missing image fails `validate --images` (exit 1) naming the image, the
/// overlay and the object; the report lists every image with its verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_images_fails_on_a_missing_image_naming_it() {
    let reg = registry().await;
    let file = "gitops/components/mcp-servers/database-mcp.yaml";
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(file)).unwrap();
    let old = "quay.io/private-ai-demo/database-mcp:1.0.0";
    assert!(text.contains(old));
    let image = format!("{reg}/private-ai-demo/database-mcp:1.0.0");
    let demo = crate::harness::Demo::repo().file(file, &text.replace(old, &image));
    let run = tokio::task::spawn_blocking(move || {
        demo.run(&["validate", "--images", "--registry-timeout", "3s"])
    })
    .await
    .unwrap();
    run.expect_code(1);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("missing")
                && l.contains(&image)
                && l.contains("Deployment/database-mcp")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("images: "), "{}", run.stdout);
    assert!(
        run.stderr.contains("gitops/overlays/stage3")
            && run
                .stderr
                .contains(&format!("image `{image}` does not exist")),
        "{}",
        run.stderr
    );
}
