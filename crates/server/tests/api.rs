//! The REST API end to end: the real server on a loopback port, a real workspace on disk,
//! and a real HTTP client. Every failure mode must be a documented 4xx, never a 500 or a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use covault_guard::{Caller, InitOptions, NewKekSource, Vault, VaultLimits};
use covault_server::{Application, ServerConfig};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

struct TestApp {
    url: String,
    http: reqwest::Client,
    token: String,
    vault: Arc<Vault>,
    operator: Caller,
    dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    fn req(&self, method: Method, route: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{route}", self.url))
            .bearer_auth(&self.token)
    }
}

async fn spawn_app_with(limits: VaultLimits) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let key = Zeroizing::new(
        covault_guard::generate_key_file()
            .unwrap()
            .as_bytes()
            .to_vec(),
    );
    let init = Vault::init(InitOptions {
        data_dir: dir.path().to_path_buf(),
        source: NewKekSource::KeyFile(key),
        admin_name: "alice".into(),
        limits,
    })
    .await
    .unwrap();
    let vault = Arc::new(init.vault);
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let app = Application::build(config, vault.clone()).await.unwrap();
    let url = app.url();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        url,
        http: reqwest::Client::new(),
        token: init.admin_token.expose_secret().to_owned(),
        vault,
        operator: init.operator,
        dir,
        _shutdown: tx,
    }
}

/// The files API without second factors: this file tests files, `identity.rs` tests MFA.
/// (Leaving the MFA policies out by id is also how an operator would.)
fn without_mfa() -> VaultLimits {
    let mut limits = VaultLimits::default();
    limits.access.disabled_builtin = ["mfa-purge", "mfa-restricted-read", "mfa-label-lower"]
        .map(String::from)
        .to_vec();
    limits
}

async fn spawn_app() -> TestApp {
    spawn_app_with(without_mfa()).await
}

/// Every blob file of the workspace in `data`.
fn blob_files(data: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(data.join("blobs"))
        .unwrap()
        .flatten()
        .filter(|shard| shard.path().is_dir())
        .flat_map(|shard| {
            std::fs::read_dir(shard.path())
                .unwrap()
                .flatten()
                .map(|e| e.path())
        })
        .collect()
}

async fn error_kind(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ 0x5a).collect()
}

#[tokio::test]
async fn health_ready_and_openapi_need_no_token() {
    let app = spawn_app().await;
    for route in ["/healthz", "/readyz", "/openapi.json"] {
        let r = app
            .http
            .get(format!("{}{route}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{route}");
    }
    let doc: serde_json::Value = app
        .http
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/files",
        "/v1/files/{path}",
        "/v1/history/{path}",
        "/v1/purge/{path}",
        "/v1/label/{path}",
        "/v1/audit/events",
        "/v1/audit/checkpoints",
        "/v1/audit/proof/{seq}",
        "/v1/audit/consistency",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
}

const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/whoami"),
    ("GET", "/v1/files"),
    ("GET", "/v1/files/a.txt"),
    ("PUT", "/v1/files/a.txt"),
    ("DELETE", "/v1/files/a.txt"),
    ("GET", "/v1/stat/a.txt"),
    ("GET", "/v1/history/a.txt"),
    ("POST", "/v1/restore/a.txt"),
    ("POST", "/v1/purge/a.txt"),
    ("PUT", "/v1/label/a.txt"),
    ("GET", "/v1/audit/events"),
    ("GET", "/v1/audit/events?follow=true"),
    ("GET", "/v1/audit/checkpoints"),
    ("GET", "/v1/audit/proof/1"),
    ("GET", "/v1/audit/consistency?from=1"),
];

#[tokio::test]
async fn every_route_refuses_missing_malformed_unknown_and_wrong_tokens() {
    let app = spawn_app().await;
    let (id, _) = app
        .token
        .trim_start_matches("cvt_")
        .split_once('_')
        .unwrap();
    let wrong_secret = format!("cvt_{id}_{}", "0".repeat(64));
    let unknown = format!("cvt_{}_{}", "f".repeat(16), "0".repeat(64));
    let tokens: Vec<Option<String>> = vec![
        None,
        Some("nonsense".into()),
        Some(unknown),
        Some(wrong_secret),
        Some("x".repeat(5000)),
    ];
    for (method, route) in ROUTES {
        for token in &tokens {
            let mut req = app
                .http
                .request(method.parse().unwrap(), format!("{}{route}", app.url));
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let response = req.send().await.unwrap();
            assert!(response.headers().contains_key("www-authenticate"));
            let (status, kind, message) = error_kind(response).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {route}");
            assert_eq!(kind, "unauthenticated");
            if let Some(t) = token {
                assert!(!message.contains(t.as_str()), "token echoed");
            }
        }
    }
    // failed authentications are audited, without the token
    let events = app.vault.recent_audit(&app.operator, 200).await.unwrap();
    let denied: Vec<_> = events
        .iter()
        .filter(|e| e.action == "authenticate")
        .collect();
    assert!(denied.len() >= ROUTES.len() * 3);
    for e in denied {
        let json = serde_json::to_string(e).unwrap();
        assert!(!json.contains(&"0".repeat(64)));
    }
}

#[tokio::test]
async fn expired_tokens_get_401_that_says_so() {
    let app = spawn_app().await;
    let (_, token) = app
        .vault
        .create_principal(
            &app.operator,
            covault_guard::NewPrincipal {
                name: "bob".into(),
                kind: covault_guard::PrincipalKind::User,
                role: "editor".into(),
                token_expires_at_ms: Some(Some(1_000)),
            },
        )
        .await
        .unwrap();
    let token = token.unwrap();
    let r = app
        .http
        .get(format!("{}/v1/whoami", app.url))
        .bearer_auth(token.expose_secret())
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_kind(r).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message.contains("expired"), "{message}");
    assert!(!message.contains(token.expose_secret()));
}

#[tokio::test]
async fn files_round_trip_with_history_restore_delete_label_and_purge() {
    let app = spawn_app().await;
    let sizes = [0usize, 1, 65_535, 65_536, 65_537, 3 * 1024 * 1024 + 7];
    for size in sizes {
        let data = pattern(size);
        let r = app
            .req(Method::PUT, &format!("/v1/files/sizes/{size}.bin"))
            .body(data.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "size {size}");
        let r = app
            .req(Method::GET, &format!("/v1/files/sizes/{size}.bin"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-covault-version"], "1");
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            data.as_slice(),
            "size {size}"
        );
    }
    // a chunked upload without Content-Length
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|i| Ok(vec![i as u8; 10_000])).collect();
    let r = app
        .req(Method::PUT, "/v1/files/stream.bin")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let info: serde_json::Value = r.json().await.unwrap();
    assert_eq!(info["size"], 400_000);

    app.req(Method::PUT, "/v1/files/doc.txt")
        .body("one")
        .send()
        .await
        .unwrap();
    app.req(Method::PUT, "/v1/files/doc.txt?tier=confidential")
        .body("two")
        .send()
        .await
        .unwrap();
    let history: Vec<serde_json::Value> = app
        .req(Method::GET, "/v1/history/doc.txt")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["tier"], "confidential");
    assert_eq!(history[0]["author"], "alice");
    let old = app
        .req(Method::GET, "/v1/files/doc.txt?version=1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(old, "one");

    assert_eq!(
        app.req(Method::DELETE, "/v1/files/doc.txt")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        error_kind(
            app.req(Method::GET, "/v1/files/doc.txt")
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        StatusCode::GONE
    );
    let listing: serde_json::Value = app
        .req(Method::GET, "/v1/files?deleted=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listing["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "/doc.txt" && f["deleted"] == true)
    );

    let r = app
        .req(Method::POST, "/v1/restore/doc.txt")
        .json(&serde_json::json!({"version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        app.req(Method::GET, "/v1/files/doc.txt")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "one"
    );

    let r = app
        .req(Method::PUT, "/v1/label/doc.txt")
        .json(&serde_json::json!({"tier": "restricted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let stat: serde_json::Value = app
        .req(Method::GET, "/v1/stat/doc.txt")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stat["tier"], "restricted");
    assert_eq!(stat["version"], 3);

    let purge: serde_json::Value = app
        .req(Method::POST, "/v1/purge/doc.txt")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(purge["versions_destroyed"], 3);
    assert_eq!(
        error_kind(
            app.req(Method::GET, "/v1/files/doc.txt")
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        error_kind(
            app.req(Method::GET, "/v1/history/doc.txt")
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // every operation above left an audit event, none with content
    let events = app.vault.recent_audit(&app.operator, 500).await.unwrap();
    for action in [
        "file.write",
        "file.read",
        "file.history",
        "file.delete",
        "file.restore",
        "file.label",
        "file.purge",
        "file.list",
        "file.stat",
    ] {
        assert!(
            events.iter().any(|e| e.action == action),
            "no {action} event"
        );
    }
    assert!(!serde_json::to_string(&events).unwrap().contains("\"one\""));
}

#[tokio::test]
async fn listing_compares_whole_components_and_pages() {
    let app = spawn_app().await;
    for p in ["data/a", "data/b/c", "data_evil/x", "datab", "other"] {
        app.req(Method::PUT, &format!("/v1/files/{p}"))
            .body("x")
            .send()
            .await
            .unwrap();
    }
    let listing: serde_json::Value = app
        .req(Method::GET, "/v1/files?prefix=/data")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = listing["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["/data/a", "/data/b/c"]);
    let page: serde_json::Value = app
        .req(Method::GET, "/v1/files?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["files"].as_array().unwrap().len(), 2);
    let next = page["next_after"].as_str().unwrap();
    let rest: serde_json::Value = app
        .req(Method::GET, &format!("/v1/files?limit=10&after={next}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["files"].as_array().unwrap().len(), 3);
    assert!(rest["next_after"].is_null());
}

#[tokio::test]
async fn path_attacks_and_malformed_requests_are_4xx() {
    let app = spawn_app().await;
    let cases: Vec<(Method, String, StatusCode)> = vec![
        (
            Method::PUT,
            "/v1/files/..%2F..%2Fetc%2Fpasswd".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/files/a%00b".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/files/a%0Ab".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/files/a%5C..%5Cb".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/files/a//b".into(),
            StatusCode::BAD_REQUEST,
        ),
        (Method::PUT, "/v1/files/a/".into(), StatusCode::BAD_REQUEST),
        (
            Method::PUT,
            format!("/v1/files/{}", "x".repeat(300)),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            format!("/v1/files/{}", "a/".repeat(40) + "f"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/files?prefix=/../x".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/files?limit=abc".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/files?bogus=1".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/files/ok.txt?tier=secret".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/files/missing.txt".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/v1/files/missing.txt?version=zz".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/v1/nothing-here".into(),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, route, expected) in cases {
        let r = app
            .req(method.clone(), &route)
            .body("x")
            .send()
            .await
            .unwrap();
        let (status, kind, _) = error_kind(r).await;
        assert_eq!(status, expected, "{method} {route} ({kind})");
    }
    // raw request lines, so no client normalises the dot segments away
    for target in [
        "/v1/files/a/../b",
        "/v1/files/a/%2e%2e/b",
        "/v1/files/..",
        "/v1/files/a/./b",
        "/v1/files/%2E%2E/%2E%2E/etc/passwd",
    ] {
        let status = raw_put(&app, target).await;
        assert!(status == 400 || status == 404, "{target}: {status}");
    }
    app.req(Method::PUT, "/v1/files/ok.txt")
        .body("x")
        .send()
        .await
        .unwrap();
    let bad_json: Vec<(&str, &str)> = vec![
        ("/v1/restore/ok.txt", "{"),
        ("/v1/restore/ok.txt", "{\"version\": \"one\"}"),
        ("/v1/restore/ok.txt", "{\"version\": 1, \"extra\": true}"),
        ("/v1/label/ok.txt", "{\"tier\": \"top-secret\"}"),
    ];
    for (route, body) in bad_json {
        let method = if route.starts_with("/v1/label") {
            Method::PUT
        } else {
            Method::POST
        };
        let r = app
            .req(method, route)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(
            status == StatusCode::BAD_REQUEST,
            "{route} {body}: {status}"
        );
    }
    let r = app
        .req(Method::POST, "/v1/restore/ok.txt")
        .json(&serde_json::json!({"version": 99}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let huge = format!("{{\"version\": 1, \"pad\": \"{}\"}}", "x".repeat(200_000));
    let r = app
        .req(Method::POST, "/v1/restore/ok.txt")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Sends `PUT <target>` over a raw socket and returns the status code.
async fn raw_put(app: &TestApp, target: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "PUT {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
        app.token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn oversized_uploads_are_refused_and_leave_nothing() {
    let app = spawn_app_with(VaultLimits {
        max_file_bytes: 100_000,
        ..VaultLimits::default()
    })
    .await;
    let r = app
        .req(Method::PUT, "/v1/files/big.bin")
        .body(vec![0u8; 100_001])
        .send()
        .await
        .unwrap();
    assert_eq!(error_kind(r).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    // no Content-Length: the limit is enforced while streaming
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..30).map(|_| Ok(vec![1u8; 10_000])).collect();
    let r = app
        .req(Method::PUT, "/v1/files/big.bin")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(error_kind(r).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(
        error_kind(
            app.req(Method::GET, "/v1/files/big.bin")
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let r = app
        .req(Method::PUT, "/v1/files/fits.bin")
        .body(vec![0u8; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_corrupted_blob_fails_the_read_naming_path_and_version() {
    let app = spawn_app().await;
    let mut report = b"quarterly numbers\n".repeat(5000);
    report.truncate(80_000); // more than one segment: stored as a blob file
    app.req(Method::PUT, "/v1/files/c/report.txt")
        .body(report)
        .send()
        .await
        .unwrap();
    let blobs = blob_files(app.dir.path());
    let mut raw = std::fs::read(&blobs[0]).unwrap();
    raw[3] ^= 1;
    std::fs::write(&blobs[0], raw).unwrap();
    let (status, kind, message) = error_kind(
        app.req(Method::GET, "/v1/files/c/report.txt")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(kind, "integrity");
    assert!(
        message.contains("/c/report.txt") && message.contains("version 1"),
        "{message}"
    );
    assert!(!message.contains("quarterly"));
}

#[tokio::test]
async fn a_large_download_that_hits_corruption_is_aborted_not_truncated() {
    let app = spawn_app().await;
    let data = pattern(4 * 1024 * 1024);
    app.req(Method::PUT, "/v1/files/large.bin")
        .body(data)
        .send()
        .await
        .unwrap();
    let blobs = blob_files(app.dir.path());
    let mut raw = std::fs::read(&blobs[0]).unwrap();
    let n = raw.len();
    raw[n - 100] ^= 1; // the last segment: far past the first batch
    std::fs::write(&blobs[0], raw).unwrap();
    let r = app
        .req(Method::GET, "/v1/files/large.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.bytes().await.is_err(),
        "a corrupted stream must not complete"
    );
}

#[tokio::test]
async fn plain_http_on_a_public_address_is_refused_unless_allowed() {
    let app = spawn_app().await;
    let config = ServerConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let refused = Application::build(config.clone(), app.vault.clone()).await;
    assert!(matches!(
        refused,
        Err(covault_server::ServerError::InsecureBind(_))
    ));
    let allowed = ServerConfig {
        allow_insecure_http: true,
        ..config
    };
    assert!(Application::build(allowed, app.vault.clone()).await.is_ok());
}

#[tokio::test]
async fn tls_serves_tls13_and_tls12() {
    let app = spawn_app().await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_path = app.dir.path().join("cert.pem");
    let key_path = app.dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(covault_server::TlsFiles {
            cert: cert_path,
            key: key_path,
        }),
        ..ServerConfig::default()
    };
    let tls_app = Application::build(config, app.vault.clone()).await.unwrap();
    let port = tls_app.addr().port();
    tokio::spawn(tls_app.run_until(std::future::pending()));
    let root = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([root.clone()])
        .build()
        .unwrap();
    let r = client
        .get(format!("https://localhost:{port}/v1/whoami"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // both offered versions work when the client insists on one of them (rustls implements
    // nothing older than 1.2, so lower versions cannot be negotiated at all)
    for version in [
        reqwest::tls::Version::TLS_1_2,
        reqwest::tls::Version::TLS_1_3,
    ] {
        let pinned = reqwest::Client::builder()
            .tls_certs_only([root.clone()])
            .tls_version_min(version)
            .tls_version_max(version)
            .build()
            .unwrap();
        let r = pinned
            .get(format!("https://localhost:{port}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{version:?}");
    }
    // plain HTTP to the TLS port fails
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(!plain.is_ok_and(|r| r.status().is_success()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_an_in_flight_upload_finish() {
    let app = spawn_app().await;
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        shutdown_grace: Duration::from_secs(30),
        ..ServerConfig::default()
    };
    let server = Application::build(config, app.vault.clone()).await.unwrap();
    let url = server.url();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async move {
        let _ = stop_rx.await;
    }));
    let (body_tx, body_rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let stream =
        futures_util::stream::unfold(
            body_rx,
            |mut rx| async move { rx.recv().await.map(|x| (x, rx)) },
        );
    let upload = tokio::spawn(
        reqwest::Client::new()
            .put(format!("{url}/v1/files/inflight.bin"))
            .bearer_auth(&app.token)
            .body(reqwest::Body::wrap_stream(stream))
            .send(),
    );
    // more than one batch, so the blob file is created while the upload is still open
    body_tx.send(Ok(vec![7u8; 3 << 20])).await.unwrap();
    // The upload is in flight once its blob file exists.
    let blobs = app.dir.path().join("blobs");
    let has_blob = || {
        std::fs::read_dir(&blobs).unwrap().flatten().any(|shard| {
            shard.path().is_dir() && std::fs::read_dir(shard.path()).unwrap().next().is_some()
        })
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        while !has_blob() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the upload never reached the store");
    stop_tx.send(()).unwrap();
    body_tx.send(Ok(vec![8u8; 100_000])).await.unwrap();
    drop(body_tx);
    let response = upload.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    running.await.unwrap().unwrap();
    assert!(
        reqwest::get(format!("{url}/healthz")).await.is_err(),
        "server still accepting"
    );
}
