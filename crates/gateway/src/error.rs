//! Gateway errors, rendered in the client's own dialect (Anthropic's `{"type":"error", ...}`
//! or OpenAI's `{"error": {...}}`), so SDKs raise their usual exception types. Messages name
//! finding types and counts, never values.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covault_guard::{ErrorKind, GuardError};

/// Which client protocol a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Anthropic,
    Openai,
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    TooLarge,
    /// Restricted data, secrets or unscannable content in the prompt.
    Blocked,
    /// Prompt injection above the block threshold.
    Injection,
    RateLimited,
    /// The upstream provider could not be reached or misbehaved.
    Upstream,
    Timeout,
    /// Scanning, policy or audit failed: refused (fail closed).
    Internal,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct GatewayError {
    pub problem: Problem,
    pub message: String,
    /// Seconds, for 429.
    pub retry_after: Option<u64>,
}

impl GatewayError {
    pub fn new(problem: Problem, message: impl Into<String>) -> GatewayError {
        GatewayError {
            problem,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> GatewayError {
        GatewayError {
            problem: Problem::RateLimited,
            message: message.into(),
            retry_after: Some(retry_after.max(1)),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self.problem {
            Problem::BadRequest | Problem::Blocked | Problem::Injection => StatusCode::BAD_REQUEST,
            Problem::Unauthenticated => StatusCode::UNAUTHORIZED,
            Problem::Forbidden => StatusCode::FORBIDDEN,
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Problem::Upstream => StatusCode::BAD_GATEWAY,
            Problem::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Problem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// covault's own code for the problem (in `error.code` / the audit reason).
    pub fn code(&self) -> &'static str {
        match self.problem {
            Problem::BadRequest => "bad_request",
            Problem::Unauthenticated => "unauthenticated",
            Problem::Forbidden => "forbidden",
            Problem::NotFound => "not_found",
            Problem::TooLarge => "too_large",
            Problem::Blocked => "blocked_content",
            Problem::Injection => "prompt_injection",
            Problem::RateLimited => "rate_limited",
            Problem::Upstream => "upstream_error",
            Problem::Timeout => "upstream_timeout",
            Problem::Internal => "internal",
        }
    }

    /// The error body in `dialect`.
    pub fn body(&self, dialect: Dialect) -> serde_json::Value {
        let message = format!("covault: {}", self.message);
        match dialect {
            Dialect::Anthropic => {
                let kind = match self.problem {
                    Problem::BadRequest | Problem::Blocked | Problem::Injection => {
                        "invalid_request_error"
                    }
                    Problem::Unauthenticated => "authentication_error",
                    Problem::Forbidden => "permission_error",
                    Problem::NotFound => "not_found_error",
                    Problem::TooLarge => "request_too_large",
                    Problem::RateLimited => "rate_limit_error",
                    Problem::Timeout | Problem::Upstream | Problem::Internal => "api_error",
                };
                serde_json::json!({
                    "type": "error",
                    "error": { "type": kind, "message": message, "covault_code": self.code() },
                })
            }
            Dialect::Openai => {
                let kind = match self.problem {
                    Problem::BadRequest | Problem::Blocked | Problem::Injection => {
                        "invalid_request_error"
                    }
                    Problem::Unauthenticated => "authentication_error",
                    Problem::Forbidden => "permission_error",
                    Problem::NotFound => "not_found_error",
                    Problem::TooLarge => "invalid_request_error",
                    Problem::RateLimited => "rate_limit_error",
                    Problem::Timeout | Problem::Upstream | Problem::Internal => "api_error",
                };
                serde_json::json!({
                    "error": { "message": message, "type": kind, "code": self.code(), "param": null },
                })
            }
        }
    }

    pub fn into_response(self, dialect: Dialect) -> Response {
        let mut response = (self.status(), axum::Json(self.body(dialect))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<GuardError> for GatewayError {
    fn from(e: GuardError) -> Self {
        let problem = match e.kind() {
            ErrorKind::BadRequest => Problem::BadRequest,
            ErrorKind::Unauthenticated => Problem::Unauthenticated,
            ErrorKind::Forbidden | ErrorKind::MfaRequired => Problem::Forbidden,
            ErrorKind::NotFound | ErrorKind::Gone => Problem::NotFound,
            ErrorKind::TooLarge => Problem::TooLarge,
            _ => Problem::Internal,
        };
        let message = if problem == Problem::Internal {
            tracing::error!(error = %e, "gateway refused a request on an internal failure");
            "the request could not be checked and was refused".to_owned()
        } else {
            e.to_string()
        };
        GatewayError::new(problem, message)
    }
}

/// A gateway error paired with the dialect it must be rendered in.
pub struct Rendered(pub Dialect, pub GatewayError);

impl IntoResponse for Rendered {
    fn into_response(self) -> Response {
        self.1.into_response(self.0)
    }
}
