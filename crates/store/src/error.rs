//! Errors of the store. Messages name paths and versions, never content or key material.

use covault_crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid path `{path}`: {why}")]
    InvalidPath { path: String, why: &'static str },
    #[error("`{0}` not found")]
    NotFound(String),
    #[error("`{path}` has no version {version}")]
    NoSuchVersion { path: String, version: i64 },
    #[error("`{0}` is deleted: restore a version to bring it back")]
    Deleted(String),
    #[error("`{0}` was purged: its content is irrecoverable")]
    Purged(String),
    #[error("file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("integrity error in `{path}` version {version}: {what}")]
    Integrity {
        path: String,
        version: i64,
        what: String,
    },
    #[error("the workspace key was rotated while this write was in progress: retry it")]
    KeyRotated,
    #[error("content scanning failed: {0}")]
    Scan(String),
    #[error(
        "the {format} document cannot be examined ({why}); this workspace refuses what it cannot scan"
    )]
    Unreadable {
        format: &'static str,
        /// `encrypted`, `malformed`, `limit`, `unsupported`, `timeout`, `crashed`, `partial`.
        code: &'static str,
        why: String,
    },
    #[error("the upload was interrupted: {0}")]
    UploadAborted(String),
    #[error("no workspace in `{0}`: run `covault init` first")]
    NotInitialized(String),
    #[error("a workspace already exists in `{0}`")]
    AlreadyInitialized(String),
    #[error("the data directory `{0}` is in use by another covault process")]
    Locked(String),
    #[error(
        "the workspace was created by a newer covault (schema {found}, this build knows {known})"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("this workspace is unlocked with {expected}")]
    KeySourceMismatch { expected: &'static str },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("metadata database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("metadata database error: {0}")]
    Committer(#[from] rusqlite::Error),
    #[error("blob storage error on `{what}`: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the audit log does not verify at event {seq}: run `covault audit verify`")]
    AuditTampered { seq: u64 },
    #[error(
        "no checkpoint covers audit event {seq} yet: run `covault audit checkpoint` (the server signs one every minute)"
    )]
    NotCheckpointed { seq: u64 },
    #[error("{0}")]
    Conflict(String),
    #[error("stored metadata is inconsistent: {0}")]
    Corrupt(String),
    #[error("a background task failed: {0}")]
    Task(String),
}

impl StoreError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let what = what.into();
        move |source| StoreError::Io { what, source }
    }
}
