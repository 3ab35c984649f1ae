//! Single sign-on routes: `GET /v1/sso/login` sends the browser to the OpenID provider
//! (authorization code + PKCE, through `covault-sso`), `GET /v1/sso/callback` completes the
//! login and starts a browser session (HttpOnly session cookie, a CSRF cookie the console
//! echoes in `X-CSRF-Token`), or — for `covault login` — hands a one-time code to the CLI's
//! loopback listener, which `POST /v1/sso/token` exchanges (with the CLI's own PKCE verifier)
//! for an API token. `POST /v1/session/logout` ends the session.
//!
//! Pending logins and CLI codes live in this node's memory for at most ten and two minutes:
//! behind a load balancer, the login round trip needs sticky sessions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use covault_guard::{Caller, ErrorKind, ExternalIdentity, RequestContext, Vault};
use covault_sso::{OidcClient, OidcConfig, PendingLogin};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::sync::OnceCell;

use crate::error::ApiError;

/// Session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "covault_session";
/// CSRF cookie (readable by the console, echoed in [`CSRF_HEADER`]).
pub const CSRF_COOKIE: &str = "covault_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
const MAX_PENDING: usize = 10_000;
const PENDING_TTL: Duration = Duration::from_secs(600);
const CLI_CODE_TTL: Duration = Duration::from_secs(120);

struct Pending {
    login: PendingLogin,
    cli: Option<(u16, String)>,
    at: Instant,
}

struct CliCode {
    identity: ExternalIdentity,
    challenge: String,
    at: Instant,
}

/// What the SSO routes share.
pub struct SsoState {
    vault: Arc<Vault>,
    config: OidcConfig,
    client: OnceCell<OidcClient>,
    pending: Mutex<HashMap<String, Pending>>,
    cli_codes: Mutex<HashMap<[u8; 32], CliCode>>,
    secure_cookies: bool,
}

impl SsoState {
    pub fn new(vault: Arc<Vault>, config: OidcConfig, secure_cookies: bool) -> Self {
        Self {
            vault,
            config,
            client: OnceCell::new(),
            pending: Mutex::new(HashMap::new()),
            cli_codes: Mutex::new(HashMap::new()),
            secure_cookies,
        }
    }

    /// The provider, discovered on first use (so a provider that is down at start does not
    /// keep covault from serving tokens).
    async fn client(&self) -> Result<&OidcClient, ApiError> {
        self.client
            .get_or_try_init(|| async {
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| sso_error(&e))?;
                OidcClient::discover(self.config.clone(), http)
                    .await
                    .map_err(|e| sso_error(&e))
            })
            .await
    }
}

fn sso_error(e: &dyn std::fmt::Display) -> ApiError {
    tracing::warn!(error = %e, "single sign-on failed");
    ApiError::new(
        ErrorKind::Unauthenticated,
        format!("single sign-on failed: {e}"),
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `GET /v1/sso/login`: for `covault login`, the CLI's loopback port and PKCE challenge.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginQuery {
    cli_port: Option<u16>,
    /// Hex SHA-256 of the CLI's verifier.
    code_challenge: Option<String>,
}

pub async fn login(
    State(state): State<Arc<SsoState>>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let cli = match (q.cli_port, q.code_challenge) {
        (Some(port), Some(challenge))
            if port >= 1024
                && challenge.len() == 64
                && challenge.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Some((port, challenge.to_ascii_lowercase()))
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "cli_port (1024-65535) and code_challenge (64 hex characters) go together",
            ));
        }
    };
    let client = state.client().await?;
    let (url, login) = client.begin().map_err(|e| sso_error(&e))?;
    {
        let mut pending = lock(&state.pending);
        pending.retain(|_, p| p.at.elapsed() < PENDING_TTL);
        if pending.len() >= MAX_PENDING {
            return Err(ApiError::new(
                ErrorKind::Unavailable,
                "too many sign-ins in progress; try again in a minute",
            ));
        }
        pending.insert(
            login.state().to_owned(),
            Pending {
                login,
                cli,
                at: Instant::now(),
            },
        );
    }
    Ok(Redirect::to(url.as_str()).into_response())
}

/// What the provider sends back.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn context_of(headers: &HeaderMap, peer: SocketAddr) -> RequestContext {
    RequestContext {
        remote_addr: Some(peer.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(256).collect()),
        ..RequestContext::default()
    }
}

pub async fn callback(
    State(state): State<Arc<SsoState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    if let Some(error) = q.error {
        let error: String = error
            .chars()
            .filter(char::is_ascii_graphic)
            .take(64)
            .collect();
        return Err(sso_error(&format!(
            "the identity provider answered `{error}`"
        )));
    }
    let (Some(code), Some(returned)) = (q.code, q.state) else {
        return Err(ApiError::bad_request("the callback needs code and state"));
    };
    let pending = lock(&state.pending)
        .remove(&returned)
        .filter(|p| p.at.elapsed() < PENDING_TTL)
        .ok_or_else(|| sso_error(&"unknown or expired sign-in: start again"))?;
    let client = state.client().await?;
    let identity = client
        .complete(pending.login, &returned, &code, SystemTime::now())
        .await
        .map_err(|e| sso_error(&e))?;
    let identity = ExternalIdentity {
        issuer: identity.issuer,
        subject: identity.subject,
        email: identity.email,
        name: identity.name,
        roles: identity.roles,
    };
    if let Some((port, challenge)) = pending.cli {
        let code = covault_guard::random_hex32().map_err(ApiError::from)?;
        let key = covault_guard::sha256(code.expose_secret().as_bytes());
        {
            let mut codes = lock(&state.cli_codes);
            codes.retain(|_, c| c.at.elapsed() < CLI_CODE_TTL);
            codes.insert(
                key,
                CliCode {
                    identity,
                    challenge,
                    at: Instant::now(),
                },
            );
        }
        let target = format!(
            "http://127.0.0.1:{port}/callback?code={}",
            code.expose_secret()
        );
        return Ok(Redirect::to(&target).into_response());
    }
    let session = state
        .vault
        .sso_session(&identity, context_of(&headers, peer))
        .await?;
    let max_age = (session.expires_at_ms - covault_guard::now_ms()).max(0) / 1000;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookies = [
        format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            session.cookie.expose_secret()
        ),
        format!(
            "{CSRF_COOKIE}={}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}",
            session.csrf.expose_secret()
        ),
    ];
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>covault</title><p>Signed in. You can close this page.</p>",
    )
        .into_response();
    for cookie in cookies {
        let value = HeaderValue::from_str(&cookie)
            .map_err(|_| ApiError::new(ErrorKind::Internal, "cookie encoding"))?;
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /v1/sso/token`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExchange {
    code: String,
    code_verifier: String,
}

pub async fn token(
    State(state): State<Arc<SsoState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<TokenExchange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if body.code.len() > 128 || body.code_verifier.len() > 128 {
        return Err(ApiError::bad_request("code or verifier too long"));
    }
    let key = covault_guard::sha256(body.code.as_bytes());
    let entry = lock(&state.cli_codes)
        .remove(&key)
        .filter(|c| c.at.elapsed() < CLI_CODE_TTL)
        .ok_or_else(|| sso_error(&"unknown, used or expired login code"))?;
    let challenge = hex::encode(covault_guard::sha256(body.code_verifier.as_bytes()));
    if !bool::from(challenge.as_bytes().ct_eq(entry.challenge.as_bytes())) {
        return Err(sso_error(
            &"the code verifier does not match the login's challenge",
        ));
    }
    let (info, secret) = state
        .vault
        .sso_token(&entry.identity, context_of(&headers, peer))
        .await?;
    let secret = SecretString::from(secret.expose_secret().to_owned());
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "token": info, "secret": secret.expose_secret() })),
    )
        .into_response())
}

/// `POST /v1/session/logout`.
pub async fn logout(
    State(vault): State<Arc<Vault>>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    vault.logout(&caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    for name in [SESSION_COOKIE, CSRF_COOKIE] {
        let value = HeaderValue::from_str(&format!("{name}=; Path=/; Max-Age=0"))
            .map_err(|_| ApiError::new(ErrorKind::Internal, "cookie encoding"))?;
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
