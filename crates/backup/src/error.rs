//! Errors of the backup crate.

use covault_crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("repository storage: {0}")]
    Storage(String),
    #[error("not found in the repository: {0}")]
    NotFound(String),
    #[error("no backup repository at {0} (run `covault backup init` first)")]
    NotInitialized(String),
    #[error("a backup repository already exists at {0}")]
    AlreadyInitialized(String),
    #[error("the key does not open this backup repository")]
    WrongKey,
    #[error(
        "this repository is append-only: forgetting and pruning need its prune key (--prune-key-file)"
    )]
    AppendOnly,
    #[error("the repository is locked: {0}")]
    Locked(String),
    #[error("the repository is damaged: {0}")]
    Corrupt(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("reading the source: {0}")]
    Source(String),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    #[error("background task failed: {0}")]
    Task(String),
}

impl BackupError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| BackupError::Io { what, source }
    }
}

impl From<object_store::Error> for BackupError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => BackupError::NotFound(path),
            other => BackupError::Storage(other.to_string()),
        }
    }
}

pub(crate) fn join<T>(joined: Result<T, tokio::task::JoinError>) -> Result<T, BackupError> {
    joined.map_err(|e| BackupError::Task(e.to_string()))
}
