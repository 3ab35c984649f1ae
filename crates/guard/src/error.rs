//! Errors of the guard, with the small set of kinds the HTTP layer maps to status codes.

use covault_store::StoreError;

/// The kind of an error, as a client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    /// Forbidden until the request proves a second factor.
    MfaRequired,
    NotFound,
    /// The change conflicts with the current state (e.g. a name already taken).
    Conflict,
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
            ErrorKind::MfaRequired => "mfa_required",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
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
    Forbidden(String),
    #[error("forbidden: {0}")]
    MfaRequired(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Policy(#[from] covault_policy::PolicyError),
    #[error("backup: {0}")]
    Backup(covault_backup::BackupError),
}

impl GuardError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            GuardError::Unauthenticated(_) => ErrorKind::Unauthenticated,
            GuardError::Forbidden(_) => ErrorKind::Forbidden,
            GuardError::MfaRequired(_) => ErrorKind::MfaRequired,
            GuardError::BadRequest(_) => ErrorKind::BadRequest,
            GuardError::Store(e) => store_kind(e),
            GuardError::Policy(_) => ErrorKind::BadRequest,
            GuardError::Backup(e) => backup_kind(e),
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
        StoreError::InvalidPath { .. }
        | StoreError::UploadAborted(_)
        | StoreError::Unreadable { .. } => ErrorKind::BadRequest,
        StoreError::NotFound(_)
        | StoreError::NoSuchVersion { .. }
        | StoreError::NotCheckpointed { .. } => ErrorKind::NotFound,
        StoreError::Deleted(_) | StoreError::Purged(_) => ErrorKind::Gone,
        StoreError::TooLarge { .. } => ErrorKind::TooLarge,
        StoreError::Integrity { .. } | StoreError::AuditTampered { .. } => ErrorKind::Integrity,
        StoreError::Locked(_) => ErrorKind::Unavailable,
        StoreError::Conflict(_) => ErrorKind::Conflict,
        _ => ErrorKind::Internal,
    }
}

fn backup_kind(e: &covault_backup::BackupError) -> ErrorKind {
    use covault_backup::BackupError as B;
    match e {
        B::BadRequest(_) | B::NotInitialized(_) => ErrorKind::BadRequest,
        B::NotFound(_) => ErrorKind::NotFound,
        B::WrongKey | B::AppendOnly => ErrorKind::Forbidden,
        B::AlreadyInitialized(_) | B::Locked(_) => ErrorKind::Conflict,
        B::Corrupt(_) | B::Crypto(_) => ErrorKind::Integrity,
        B::Storage(_) => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}
