//! covault's backup repositories: incremental, deduplicated, compressed and encrypted.
//!
//! A repository (a local directory or an S3-compatible bucket, [`backend`]) holds packs of
//! sealed chunks, index files saying where each chunk is, and snapshot manifests listing each
//! backed-up entry as chunk ids. Content is cut by FastCDC with a secret gear seed, named by
//! keyed BLAKE3, compressed with zstd and sealed with AES-256-GCM under keys derived from a
//! random master key, which is kept only wrapped under a passphrase- or key-file-derived KEK
//! ([`repo`]). Retention ([`retention`]), forget/prune/erase ([`prune`]) and verification
//! ([`verify`]) work on the repository alone. What an entry *is* — a workspace version, the
//! metadata database — is the caller's business (the guard crate): this crate never sees
//! the workspace, HTTP or SQL.

pub mod backend;
mod error;
mod index;
mod lock;
mod manifest;
mod pack;
pub mod prune;
mod reader;
mod repo;
pub mod retention;
mod snapshot;
pub mod verify;
mod writer;

pub use backend::{Backend, LocalBackend, S3Backend, open_location};
pub use error::BackupError;
pub use lock::{STALE_MS, held_locks, hostname};
pub use pack::{ChunkId, Rehash};
pub use prune::{PruneOptions, PruneReport, erase, forget, prune};
pub use reader::RepoReader;
pub use repo::{ChunkerParams, InitOptions, RepoSecret, Repository};
pub use retention::{Decision, KeepPolicy, format_time};
pub use snapshot::{Entry, EntryKind, Snapshot, SnapshotInfo, SnapshotStats};
pub use verify::{Subset, VerifyOptions, VerifyReport, verify};
pub use writer::{BackupWriter, ChunkSink, Progress, paged_chunk_size};

/// Drill records are stored in the repository too, so `status` can show them without the
/// workspace.
pub mod drill;
