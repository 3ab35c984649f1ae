//! Authentication middleware: `Authorization: Bearer <token>` (and, for actions that need a
//! second factor, `X-Covault-OTP: <code>`) → [`covault_guard::Caller`] in the request's
//! extensions. Missing, malformed, unknown, expired and revoked tokens all get a 401 that never
//! echoes the token; the guard audits each failure. The client address is the peer's, or —
//! only when the peer is a configured trusted proxy — the one `X-Forwarded-For` names.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use covault_guard::{ErrorKind, IpNet, RequestContext, Vault, client_ip};
use secrecy::SecretString;

use crate::error::ApiError;

/// Longest `Authorization` header accepted.
const MAX_AUTH_HEADER: usize = 256;
/// Longest user agent recorded (longer ones are cut, on a character boundary).
const MAX_USER_AGENT: usize = 256;
/// A client may tie its requests together (e.g. one agent task) with this header.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// A TOTP code (or a recovery code) proving a second factor for this request.
pub const OTP_HEADER: &str = "x-covault-otp";
/// Longest `X-Covault-OTP` / `X-Forwarded-For` header read.
const MAX_SMALL_HEADER: usize = 1024;

/// What the middleware needs.
#[derive(Clone)]
pub struct AuthState {
    pub vault: Arc<Vault>,
    pub trusted_proxies: Arc<Vec<IpNet>>,
}

/// Up to `max` bytes of `text`, cut on a character boundary.
fn bounded(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// 1 to 128 characters from `[A-Za-z0-9._:-]`; anything else is ignored, not recorded.
fn is_valid_correlation_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

pub async fn authenticate(
    State(state): State<AuthState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let context = request_context(&request, &state.trusted_proxies);
    let otp = small_header(&request, OTP_HEADER)?.map(SecretString::from);
    let session = (!request.headers().contains_key(header::AUTHORIZATION))
        .then(|| session_cookie(&request))
        .flatten();
    let caller = match session {
        Some(cookie) => {
            let csrf = small_header(&request, crate::sso::CSRF_HEADER)?.map(SecretString::from);
            let state_changing = !matches!(
                *request.method(),
                axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
            );
            state
                .vault
                .authenticate_session(
                    &cookie,
                    csrf.as_ref(),
                    state_changing,
                    otp.as_ref(),
                    context,
                )
                .await?
        }
        None => {
            let token = bearer(&request)?;
            state
                .vault
                .authenticate(&token, otp.as_ref(), context)
                .await?
        }
    };
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Authentication for the AI gateway's routes: the covault token comes as `x-api-key` (what
/// Anthropic SDKs and Claude Code send) or `Authorization: Bearer` (OpenAI SDKs). Browser
/// sessions are not accepted here. Failures are answered in the client's dialect.
pub async fn authenticate_gateway(
    State(state): State<AuthState>,
    mut request: Request,
    next: Next,
) -> Response {
    let dialect = covault_gateway::dialect_of(request.uri().path(), request.headers());
    let refuse = |kind: covault_gateway::Problem, message: &str| {
        covault_gateway::GatewayError::new(kind, message).into_response(dialect)
    };
    let context = request_context(&request, &state.trusted_proxies);
    let otp = match small_header(&request, OTP_HEADER) {
        Ok(v) => v.map(SecretString::from),
        Err(_) => {
            return refuse(
                covault_gateway::Problem::BadRequest,
                "the OTP header is too long",
            );
        }
    };
    let api_key = request
        .headers()
        .get("x-api-key")
        .filter(|v| v.len() <= MAX_AUTH_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| SecretString::from(v.trim().to_owned()));
    let token = match api_key {
        Some(t) => t,
        None => match bearer(&request) {
            Ok(t) => t,
            Err(_) => {
                return refuse(
                    covault_gateway::Problem::Unauthenticated,
                    "missing covault token: send it as the API key (x-api-key or Authorization: Bearer)",
                );
            }
        },
    };
    match state
        .vault
        .authenticate(&token, otp.as_ref(), context)
        .await
    {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => covault_gateway::GatewayError::from(e).into_response(dialect),
    }
}

/// Who is asking, from where, with what: recorded in every audit event of the request.
fn request_context(request: &Request, trusted: &[IpNet]) -> RequestContext {
    let header_text = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    RequestContext {
        request_id: header_text("x-request-id"),
        remote_addr: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .and_then(|ConnectInfo(addr)| {
                // Every X-Forwarded-For line, in order: a proxy that appends its own line must
                // not leave the client's first line to speak for the client.
                let lines: Vec<&str> = request
                    .headers()
                    .get_all("x-forwarded-for")
                    .iter()
                    .map(|v| v.to_str().unwrap_or("not text"))
                    .collect();
                let joined = (!lines.is_empty()).then(|| lines.join(","));
                match joined {
                    // Too long to be real: no address, so allowlists refuse.
                    Some(text) if text.len() > MAX_SMALL_HEADER => None,
                    forwarded => client_ip(addr.ip(), forwarded.as_deref(), trusted),
                }
                .map(|ip| ip.to_string())
            }),
        user_agent: header_text("user-agent").map(|ua| bounded(&ua, MAX_USER_AGENT)),
        session_id: None,
        correlation_id: header_text(CORRELATION_HEADER).filter(|id| is_valid_correlation_id(id)),
    }
}

fn bearer(request: &Request) -> Result<SecretString, ApiError> {
    let missing = || {
        ApiError::new(
            ErrorKind::Unauthenticated,
            "missing API token: send `Authorization: Bearer <token>` (the CLI reads COVAULT_TOKEN)",
        )
    };
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    if value.len() > MAX_AUTH_HEADER {
        return Err(ApiError::new(
            ErrorKind::Unauthenticated,
            "the Authorization header is too long",
        ));
    }
    let text = value.to_str().map_err(|_| missing())?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .ok_or_else(missing)?;
    Ok(SecretString::from(token.trim().to_owned()))
}

/// A header of at most [`MAX_SMALL_HEADER`] bytes, as text.
fn small_header(request: &Request, name: &str) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get(name) else {
        return Ok(None);
    };
    if value.len() > MAX_SMALL_HEADER {
        return Err(ApiError::bad_request(format!(
            "the {name} header is too long"
        )));
    }
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request(format!("the {name} header is not text")))?;
    Ok(Some(text.trim().to_owned()))
}

/// The session cookie's value, when the request carries one.
fn session_cookie(request: &Request) -> Option<SecretString> {
    let prefix = format!("{}=", crate::sso::SESSION_COOKIE);
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter(|v| v.len() <= 4096)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(prefix.as_str()).map(str::to_owned))
        .map(SecretString::from)
}
