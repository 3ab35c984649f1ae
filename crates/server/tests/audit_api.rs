//! The audit routes end to end (issue 5): search with filters and paging, following the log
//! as it grows, the signed checkpoints, who may read the log, and what every event records
//! about its request (user agent, correlation id, tier) — through the real server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use covault_guard::{
    Caller, InitOptions, NewKekSource, NewPrincipal, PrincipalKind, Vault, VaultLimits,
};
use covault_server::{Application, ServerConfig};
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

struct TestApp {
    url: String,
    http: reqwest::Client,
    token: String,
    vault: Arc<Vault>,
    operator: Caller,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    fn req(&self, method: Method, route: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{route}", self.url))
            .bearer_auth(token)
    }

    async fn events(&self, query: &str) -> serde_json::Value {
        let r = self
            .req(
                Method::GET,
                &format!("/v1/audit/events?{query}"),
                &self.token,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{query}");
        r.json().await.unwrap()
    }

    async fn token_for(&self, role: &str) -> String {
        let (_, token) = self
            .vault
            .create_principal(
                &self.operator,
                NewPrincipal {
                    name: format!("{role}-user"),
                    kind: PrincipalKind::User,
                    role: role.into(),
                    token_expires_at_ms: Some(None),
                },
            )
            .await
            .unwrap();
        token.unwrap().expose_secret().to_owned()
    }
}

async fn spawn_app() -> TestApp {
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
        limits: VaultLimits::default(),
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
        http: reqwest::Client::builder()
            .user_agent("audit-test/1.0")
            .build()
            .unwrap(),
        token: init.admin_token.expose_secret().to_owned(),
        vault,
        operator: init.operator,
        _dir: dir,
        _shutdown: tx,
    }
}

async fn put(app: &TestApp, path: &str, body: &'static str) {
    let r = app
        .req(Method::PUT, &format!("/v1/files{path}"), &app.token)
        .header("x-correlation-id", "task-42")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn search_filters_pages_and_records_the_request() {
    let app = spawn_app().await;
    for i in 0..5 {
        put(&app, &format!("/reports/{i}.txt"), "quarterly numbers").await;
    }
    put(&app, "/other/x.txt", "x").await;
    let page = app.events("action=file.write&path=/reports&limit=3").await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let next = page["next_after"].as_u64().expect("a next page");
    let rest = app
        .events(&format!("action=file.write&path=/reports&after={next}"))
        .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);
    assert!(rest["next_after"].is_null());
    let e = &events[0];
    assert_eq!(e["user_agent"], "audit-test/1.0");
    assert_eq!(e["principal_kind"], "user");
    assert_eq!(e["correlation_id"], "task-42");
    assert_eq!(e["remote_addr"], "127.0.0.1");
    assert_eq!(
        e["tier"],
        serde_json::Value::Null,
        "new file: no tier at decision time"
    );
    assert!(e["hash"].as_str().unwrap().len() == 64 && e["seq"].as_u64().is_some());
    let by_task = app.events("correlation_id=task-42&limit=100").await;
    assert_eq!(by_task["events"].as_array().unwrap().len(), 6);
    // Reading the log is audited too.
    let reads = app.events("action=audit.read").await;
    assert!(!reads["events"].as_array().unwrap().is_empty());
    // Bad filters are 400s that say what is wrong.
    for bad in [
        "path=reports",
        "outcome=maybe",
        "limit=0",
        "since_ms=5&until_ms=1",
        "bogus=1",
    ] {
        let r = app
            .req(Method::GET, &format!("/v1/audit/events?{bad}"), &app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn only_auditors_security_admins_and_admins_read_the_log() {
    let app = spawn_app().await;
    let editor = app.token_for("editor").await;
    let r = app
        .req(Method::GET, "/v1/audit/events", &editor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .req(Method::GET, "/v1/audit/events?follow=true", &editor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .req(Method::GET, "/v1/audit/checkpoints", &editor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for role in ["auditor", "security-admin"] {
        let token = app.token_for(role).await;
        let r = app
            .req(Method::GET, "/v1/audit/events", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{role}");
    }
    // The editor's attempts are in the log, as denials.
    let denied = app.events("action=audit.read&outcome=denied").await;
    assert_eq!(denied["events"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn following_streams_new_events_as_they_are_appended() {
    let app = spawn_app().await;
    let response = app
        .req(
            Method::GET,
            "/v1/audit/events?follow=true&action=file.*",
            &app.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let mut body = response.bytes_stream();
    put(&app, "/live/a.txt", "a").await;
    put(&app, "/live/b.txt", "b").await;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while text.lines().count() < 2 {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("events arrive")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let paths: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(paths, ["/live/a.txt", "/live/b.txt"]);
}

#[tokio::test]
async fn checkpoints_are_listed_with_the_key_that_signs_them() {
    let app = spawn_app().await;
    put(&app, "/a.txt", "a").await;
    let cp = app
        .vault
        .audit_checkpoint(&app.operator)
        .await
        .unwrap()
        .unwrap();
    let r = app
        .req(Method::GET, "/v1/audit/checkpoints", &app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["public_key"], app.vault.audit_public_key().unwrap());
    let listed: Vec<covault_guard::Checkpoint> =
        serde_json::from_value(body["checkpoints"].clone()).unwrap();
    assert_eq!(listed, vec![cp.clone()]);
    let key = covault_crypto_key(&body["public_key"]);
    assert!(key.verifies(&cp.message(), &hex_bytes(&cp.signature)));
}

fn covault_crypto_key(v: &serde_json::Value) -> covault_crypto::PublicKey {
    covault_crypto::PublicKey::from_hex(v.as_str().unwrap()).unwrap()
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn the_audit_tasks_sign_checkpoints_and_copy_them_to_a_file_and_a_url() {
    use axum::routing::post;
    let app = spawn_app().await;
    // A receiving service on loopback that keeps what it is sent.
    let received = Arc::new(tokio::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let (arrived, mut arrivals) = tokio::sync::mpsc::unbounded_channel::<()>();
    let keep = received.clone();
    let receiver = axum::Router::new().route(
        "/checkpoints",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let (keep, arrived) = (keep.clone(), arrived.clone());
            async move {
                keep.lock().await.push(body);
                let _ = arrived.send(());
                StatusCode::CREATED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let file = app._dir.path().join("outside-checkpoints.jsonl");
    let tasks = covault_server::AuditTasks::start(
        app.vault.clone(),
        app.operator.clone(),
        covault_server::AuditTaskConfig {
            checkpoint_interval: Duration::from_millis(50),
            checkpoint_file: Some(file.clone()),
            checkpoint_url: Some(format!("http://{addr}/checkpoints")),
            ..Default::default()
        },
    )
    .unwrap();
    put(&app, "/one.txt", "1").await;
    tokio::time::timeout(Duration::from_secs(20), arrivals.recv())
        .await
        .expect("a checkpoint was posted within 20 s");
    put(&app, "/two.txt", "2").await;
    tasks.shutdown().await;
    // The last checkpoint, signed at shutdown, covers the second write.
    let head = app.vault.audit_checkpoint(&app.operator).await.unwrap();
    assert!(head.is_none(), "shutdown signed everything");
    let lines: Vec<covault_guard::Checkpoint> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let posted: Vec<covault_guard::Checkpoint> = received
        .lock()
        .await
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    assert_eq!(
        lines, posted,
        "the file and the URL got the same checkpoints"
    );
    let key = covault_crypto::PublicKey::from_hex(&app.vault.audit_public_key().unwrap()).unwrap();
    for cp in &lines {
        cp.verify_signature(&key).unwrap();
    }
    let report = app.vault.audit_verify(&app.operator, lines).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[tokio::test]
async fn an_event_is_proven_included_under_a_signed_checkpoint() {
    let app = spawn_app().await;
    put(&app, "/a.txt", "a").await;
    let r = app
        .req(Method::GET, "/v1/audit/proof/2", &app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "nothing is signed yet");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("covault audit checkpoint")
    );
    let cp = app
        .vault
        .audit_checkpoint(&app.operator)
        .await
        .unwrap()
        .unwrap();
    let r = app
        .req(Method::GET, "/v1/audit/proof/2", &app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let proof: covault_guard::InclusionProof = r.json().await.unwrap();
    assert_eq!(proof.checkpoint, cp);
    let key = covault_crypto::PublicKey::from_hex(&app.vault.audit_public_key().unwrap()).unwrap();
    proof.check(&key).unwrap();
    for (bad, status) in [
        ("0", StatusCode::BAD_REQUEST),
        ("x", StatusCode::BAD_REQUEST),
        ("999", StatusCode::NOT_FOUND),
    ] {
        let r = app
            .req(Method::GET, &format!("/v1/audit/proof/{bad}"), &app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{bad}");
    }
    let editor = app.token_for("editor").await;
    let r = app
        .req(Method::GET, "/v1/audit/proof/2", &editor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
