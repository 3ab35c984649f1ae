//! Mapping of errors to HTTP responses: a small set of kinds, a JSON body
//! `{"error": {"kind", "message", "request_id"}}`, internal details logged once and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covault_guard::{ErrorKind, GuardError};
use serde::Serialize;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// One of bad_request, unauthenticated, forbidden, mfa_required, not_found, conflict,
    /// gone, too_large, integrity, unavailable, internal.
    pub kind: String,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
}

impl From<GuardError> for ApiError {
    fn from(err: GuardError) -> Self {
        let kind = err.kind();
        if err.is_client_facing() {
            Self::new(kind, err.to_string())
        } else {
            tracing::error!(kind = kind.as_str(), error = %err, "request failed");
            let message = match kind {
                ErrorKind::Unavailable => "the service is unavailable; try again later",
                _ => "internal error; the server log has details",
            };
            Self::new(kind, message)
        }
    }
}

pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden | ErrorKind::MfaRequired => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Integrity | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.kind.as_str().to_owned(),
                message: self.message,
            },
        };
        let mut response = (status(self.kind), Json(body)).into_response();
        if self.kind == ErrorKind::Unauthenticated {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"covault\""),
            );
        }
        response
    }
}

/// JSON for requests no route matched.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorKind::NotFound, "no such endpoint: see /openapi.json")
}
