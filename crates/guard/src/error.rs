//! Errors of the guard, with the small set of kinds the HTTP layer maps to status codes.

use covault_store::StoreError;

/// The kind of an error, as a client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    /// The resource existed but was deleted or purged.
    Gone,
    TooLarge,
    /// Stored data failed its integrity check.
    Integrity,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Gone => "gone",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl GuardError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            GuardError::Unauthenticated(_) => ErrorKind::Unauthenticated,
            GuardError::Forbidden(_) => ErrorKind::Forbidden,
            GuardError::BadRequest(_) => ErrorKind::BadRequest,
            GuardError::Store(e) => store_kind(e),
        }
    }

    /// Whether the message is safe and useful to show a client (otherwise it is logged and
    /// the client gets a generic message).
    pub fn is_client_facing(&self) -> bool {
        !matches!(self.kind(), ErrorKind::Internal | ErrorKind::Unavailable)
    }
}

fn store_kind(e: &StoreError) -> ErrorKind {
    match e {
        StoreError::InvalidPath { .. } | StoreError::UploadAborted(_) => ErrorKind::BadRequest,
        StoreError::NotFound(_)
        | StoreError::NoSuchVersion { .. }
        | StoreError::NotCheckpointed { .. } => ErrorKind::NotFound,
        StoreError::Deleted(_) | StoreError::Purged(_) => ErrorKind::Gone,
        StoreError::TooLarge { .. } => ErrorKind::TooLarge,
        StoreError::Integrity { .. } | StoreError::AuditTampered { .. } => ErrorKind::Integrity,
        StoreError::Locked(_) => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}
