//! `covault login`: single sign-on from the terminal. The CLI listens on a loopback port, the
//! browser signs in at the OpenID provider through the server, the server redirects to the
//! loopback listener with a one-time code, and the CLI exchanges that code — proving with its
//! own PKCE verifier that it started the login — for an API token, stored 0600.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::oneshot;

use crate::args::ClientArgs;
use crate::client::{Client, default_token_file, send};

/// How long the CLI waits for the browser.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
struct Callback {
    code: String,
}

type CodeSender = Arc<Mutex<Option<oneshot::Sender<String>>>>;

async fn callback(State(tx): State<CodeSender>, Query(q): Query<Callback>) -> &'static str {
    if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
        let _ = tx.send(q.code);
    }
    "Signed in to covault. You can close this page and return to the terminal."
}

pub async fn run(client: &ClientArgs, token_file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let api = Client::with_token(client, SecretString::from(String::new()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding a loopback port for the sign-in callback")?;
    let port = listener.local_addr()?.port();
    let verifier = covault_guard::random_hex32()?;
    let challenge = hex::encode(covault_guard::sha256(verifier.expose_secret().as_bytes()));
    let (tx, rx) = oneshot::channel::<String>();
    let app = Router::new()
        .route("/callback", get(callback))
        .with_state(Arc::new(Mutex::new(Some(tx))));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    let url = format!(
        "{}/v1/sso/login?cli_port={port}&code_challenge={challenge}",
        api.base()
    );
    eprintln!("open this address in a browser to sign in:");
    crate::client::print_line(&url);
    let code = tokio::time::timeout(LOGIN_TIMEOUT, rx)
        .await
        .map_err(|_| anyhow!("no sign-in within {} minutes", LOGIN_TIMEOUT.as_secs() / 60))?
        .map_err(|_| anyhow!("the sign-in listener stopped"))?;
    let _ = stop_tx.send(());
    let _ = server.await;
    let response: serde_json::Value = send(
        api.http()
            .post(format!("{}/v1/sso/token", api.base()))
            .json(&serde_json::json!({ "code": code, "code_verifier": verifier.expose_secret() })),
    )
    .await?
    .json()
    .await?;
    let secret = response["secret"]
        .as_str()
        .ok_or_else(|| anyhow!("the server sent no token"))?;
    let path = match token_file {
        Some(p) => p,
        None => {
            default_token_file().ok_or_else(|| anyhow!("no home directory: pass --token-file"))?
        }
    };
    write_token(&path, secret)?;
    eprintln!(
        "signed in; token {} (expires {}) stored in {}",
        response["token"]["id"].as_str().unwrap_or(""),
        response["token"]["expires_at"].as_str().unwrap_or("?"),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_token(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    if secret.is_empty() {
        bail!("empty token");
    }
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
