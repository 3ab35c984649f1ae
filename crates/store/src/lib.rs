//! The encrypted, versioned workspace: paths, files, versions, tiers, the keyring, metadata and
//! blobs, and atomic durable writes.
//!
//! Storage is a stack: a [`BlobStore`] (local directory now, S3 later) holds only sealed bytes;
//! a [`MetadataStore`] (SQLite now, PostgreSQL later) holds records; [`Workspace`] is the one
//! layer that talks to both and the only one that encrypts and decrypts. It knows nothing of
//! HTTP or policy: callers reach it only through the guard crate, which authorizes and audits.
//! Every change takes an [`AuditEvent`] that commits in the same transaction.

mod audit_log;
mod backup;
mod blob;
mod classify;
mod committer;
mod direct;
mod error;
mod gateway;
mod identity;
mod keyring;
mod local;
mod meta;
mod migrate;
mod path;
mod pipeline;
mod session;
mod sqlite;
mod sqlite_audit;
mod sqlite_copy;
mod sqlite_gateway;
mod sqlite_identity;
mod sqlite_inline;
mod sqlite_session;
mod workspace;
mod workspace_audit;
mod workspace_identity;

pub use audit_log::PruneReport;
pub use backup::{Catalog, Resealed, Resealer, VersionReader, parse_content_hash, scratch_name};
pub use blob::{BlobKey, BlobRead, BlobStore, BlobWrite};
pub use classify::{
    DocumentSummary, ExtractionPolicy, OnExtractionFailure, ScanSummary, default_scanner,
};
pub use covault_audit::AuditEvent;
pub use error::StoreError;
pub use gateway::{GatewayStore, Usage, UsageDelta};
pub use identity::{
    GroupRecord, IdentityStore, PrincipalChange, PrincipalRecord, RoleUse, TotpRecord,
};
pub use keyring::{KekSource, Keyring, NewKekSource};
pub use local::{DataDir, LocalBlobStore, LockMode};
pub use meta::{
    AuditLog, FileRecord, InlineReader, MetadataStore, NewVersion, TokenRecord, VersionKind,
    VersionRecord,
};
pub use path::{PathLimits, WorkspacePath};
pub use session::{SessionRecord, SessionStore};
pub use sqlite::SqliteMetadata;
pub use sqlite_copy::PendingCopy;
pub use workspace::{
    ByteStream, PutOptions, VerifyProblem, VerifyReport, VersionStream, Workspace, WorkspaceOptions,
};
