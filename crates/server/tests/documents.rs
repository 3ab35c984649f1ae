//! Documents through the REST API: every write extracts, scans and classifies; the version
//! records its findings summary (types, counts, hidden content by kind — never values) and
//! its tier; a document that cannot be examined is labelled restricted and marked for review,
//! or refused when the workspace says so — never silently public.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docs_support;

use std::sync::Arc;

use covault_guard::{InitOptions, NewKekSource, OnExtractionFailure, Vault, VaultLimits};
use covault_server::{Application, ServerConfig};
use secrecy::ExposeSecret;
use serde_json::Value;
use zeroize::Zeroizing;

struct App {
    url: String,
    token: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start(limits: VaultLimits) -> App {
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
    let app = Application::build(config, vault).await.unwrap();
    let url = app.url();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    App {
        url,
        token: init.admin_token.expose_secret().to_owned(),
        http: reqwest::Client::new(),
        _dir: dir,
        _shutdown: tx,
    }
}

impl App {
    async fn put(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .put(format!("{}/v1/files/{path}", self.url))
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn latest(&self, path: &str) -> Value {
        let history: Vec<Value> = self
            .http
            .get(format!("{}/v1/history/{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        history
            .into_iter()
            .max_by_key(|v| v["version"].as_i64())
            .unwrap()
    }

    async fn audit_text(&self) -> String {
        self.http
            .get(format!("{}/v1/audit/events?limit=1000", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn every_write_extracts_scans_and_records_findings_never_values() {
    let Some(docs) = docs_support::documents() else {
        return;
    };
    let app = start(VaultLimits::default()).await;
    for (name, format, hidden) in [
        ("report.docx", "DOCX", "hidden-white-text"),
        ("sales.xlsx", "XLSX", "hidden-very-hidden-sheet"),
        ("deck.pptx", "PPTX", "hidden-off-slide"),
        ("report.pdf", "PDF", "hidden-invisible-text"),
        ("letter.odt", "ODT", "hidden-comment"),
        ("invoice.eml", "email", "hidden-display-none"),
    ] {
        let put = app.put(&format!("docs/{name}"), docs[name].clone()).await;
        assert!(put.status().is_success(), "{name}: {}", put.status());
        let v = app.latest(&format!("docs/{name}")).await;
        let f = &v["findings"];
        assert_eq!(f["document"]["format"], format, "{name}: {f}");
        assert_eq!(f["document"]["extraction"], "ok", "{name}: {f}");
        assert!(
            f["document"]["hidden"][hidden].as_u64().unwrap_or(0) >= 1,
            "{name}: {f}"
        );
        assert!(
            f["counts"]["HIDDEN_CONTENT"].as_u64().unwrap_or(0) >= 1,
            "{name}: {f}"
        );
        assert!(
            f["counts"]["EMAIL_ADDRESS"].as_u64().unwrap_or(0) >= 1,
            "{name}: {f}"
        );
        assert_eq!(f["pending_review"], false);
        // Person with contact data (and, in some, a card number): at least confidential.
        let tier = v["tier"].as_str().unwrap();
        assert!(
            matches!(tier, "confidential" | "restricted"),
            "{name}: {tier}"
        );
        if name != "letter.odt" {
            assert!(
                f["injection_score"].as_f64().unwrap() >= 0.95,
                "{name}: {f}"
            );
        }
    }
    // The record holds types and counts only: no value from any document.
    let audit = app.audit_text().await;
    for value in [
        "jane.doe@example.com",
        "4111 1111 1111 1111",
        "evil.example",
        "Mallory",
    ] {
        assert!(!audit.contains(value), "the audit log holds {value}");
    }
}

#[tokio::test]
async fn a_document_that_cannot_be_examined_is_restricted_for_review_or_refused() {
    let Some(docs) = docs_support::documents() else {
        return;
    };
    let app = start(VaultLimits::default()).await;
    for name in ["locked.docx", "locked.pdf"] {
        let put = app.put(&format!("in/{name}"), docs[name].clone()).await;
        assert!(put.status().is_success(), "{name}: {}", put.status());
        let v = app.latest(&format!("in/{name}")).await;
        assert_eq!(v["tier"], "restricted", "{name}: {v}");
        assert_eq!(v["findings"]["pending_review"], true, "{name}: {v}");
        assert_eq!(
            v["findings"]["document"]["extraction"], "encrypted",
            "{name}: {v}"
        );
    }
    // A truncated DOCX: malformed, same treatment.
    let mut broken = docs["report.docx"].clone();
    broken.truncate(broken.len() / 2);
    assert!(
        app.put("in/broken.docx", broken.clone())
            .await
            .status()
            .is_success()
    );
    let v = app.latest("in/broken.docx").await;
    assert_eq!(v["tier"], "restricted");
    assert_eq!(v["findings"]["document"]["extraction"], "malformed", "{v}");

    let mut limits = VaultLimits::default();
    limits.extraction.on_failure = OnExtractionFailure::Block;
    let strict = start(limits).await;
    let put = strict
        .put("in/locked.docx", docs["locked.docx"].clone())
        .await;
    assert_eq!(put.status(), 400);
    let body = put.text().await.unwrap();
    assert!(
        body.contains("encrypted") && body.contains("cannot be examined"),
        "{body}"
    );
    let missing = strict
        .http
        .get(format!("{}/v1/stat/in/locked.docx", strict.url))
        .bearer_auth(&strict.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // The readable ones still go in.
    assert!(
        strict
            .put("in/report.docx", docs["report.docx"].clone())
            .await
            .status()
            .is_success()
    );
}

#[tokio::test]
async fn plain_text_in_legacy_encodings_is_classified_too() {
    let app = start(VaultLimits::default()).await;
    let text = "Kunde: Jürgen Müller, jurgen.mueller@example.de, Tel. +49 30 901820\n";
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    assert!(
        app.put("notes/kunde.txt", utf16)
            .await
            .status()
            .is_success()
    );
    let v = app.latest("notes/kunde.txt").await;
    assert!(
        v["findings"]["counts"]["EMAIL_ADDRESS"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{v}"
    );
    assert_eq!(v["findings"]["binary"], false);
}
