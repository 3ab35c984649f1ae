//! Authentication middleware: `Authorization: Bearer <token>` → [`covault_guard::Caller`] in
//! the request's extensions. Missing, malformed, unknown, expired and revoked tokens all get a
//! 401 that never echoes the token; the guard audits each failure.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use covault_guard::{ErrorKind, RequestContext, Vault};
use secrecy::SecretString;

use crate::error::ApiError;

/// Longest `Authorization` header accepted.
const MAX_AUTH_HEADER: usize = 256;

pub async fn authenticate(
    State(vault): State<Arc<Vault>>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let context = RequestContext {
        request_id: request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        remote_addr: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string()),
    };
    let token = bearer(&request)?;
    let caller = vault.authenticate(&token, context).await?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
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
