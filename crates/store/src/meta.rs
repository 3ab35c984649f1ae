//! Metadata records and the [`MetadataStore`] interface (SQLite now; PostgreSQL behind the
//! same trait). Every state-changing method takes the audit event that describes it and
//! commits both in one transaction: no change without its event, no event without its change.

use std::collections::HashSet;

use async_trait::async_trait;
use std::sync::Arc;

use covault_audit::{
    AuditEvent, AuditQuery, ChainHead, Checkpoint, ConsistencyProof, InclusionProof, StoredEvent,
    VerifyReport as AuditVerifyReport,
};
use covault_crypto::{ContentHash, KdfParams, KekId, PublicKey, WrappedKey};
use covault_policy::{Principal, Tier, TokenHash, TokenId};

use crate::audit_log::PruneReport;
use crate::keyring::Keyring;
use crate::{BlobKey, StoreError, WorkspacePath};

/// How a KEK is obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KekSourceKind {
    /// Argon2id over a passphrase with these parameters.
    Passphrase(KdfParams),
    /// A 256-bit key read from a file or the environment.
    KeyFile,
}

/// A stored KEK generation: how to derive it and how to check it. Never the key itself.
#[derive(Clone, Debug)]
pub struct KekRecord {
    pub id: KekId,
    pub source: KekSourceKind,
    pub check: Vec<u8>,
    pub created_at_ms: i64,
}

/// A stored API token (hash only).
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub id: TokenId,
    pub principal_id: String,
    pub hash: TokenHash,
    pub description: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
    pub last_used_at_ms: Option<i64>,
    pub last_used_addr: Option<String>,
    /// What the token may be used for (empty: everything its principal may do).
    pub scope: covault_policy::TokenScope,
    /// The token this one replaced by rotation.
    pub rotated_from: Option<TokenId>,
    /// When this token was rotated (its secret then dies at `expires_at_ms`).
    pub rotated_at_ms: Option<i64>,
}

/// A file: a path with a history of versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    pub id: String,
    pub path: WorkspacePath,
    pub tier: Tier,
    /// 0 until the first version commits (such files are invisible).
    pub current_version: i64,
    pub created_at_ms: i64,
    pub deleted_at_ms: Option<i64>,
    pub purged_at_ms: Option<i64>,
    /// Principal id of whoever created the file (absent for files made before schema 3).
    pub owner: Option<String>,
}

/// How a version came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionKind {
    Write,
    Restore,
}

impl VersionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionKind::Write => "write",
            VersionKind::Restore => "restore",
        }
    }
}

/// One committed version of a file.
#[derive(Clone, Debug)]
pub struct VersionRecord {
    pub file_id: String,
    pub version: i64,
    pub version_id: [u8; 16],
    pub size: u64,
    pub content_hash: ContentHash,
    pub author: String,
    pub created_at_ms: i64,
    pub tier: Tier,
    pub kind: VersionKind,
    pub restored_from: Option<i64>,
    /// `None` once purged (crypto-shredded).
    pub wrapped_key: Option<WrappedKey>,
    /// Sealed bytes live in the metadata store (small versions) rather than a blob.
    pub inline: bool,
    /// What the scan found, as JSON (format, types and counts, extraction outcome; never
    /// values). `None` for versions written without classification or before schema 6.
    pub findings: Option<String>,
}

impl VersionRecord {
    pub fn blob_key(&self) -> BlobKey {
        BlobKey::from_version_id(&self.version_id)
    }
}

/// A version about to be committed (its blob is already durable).
#[derive(Clone, Debug)]
pub struct NewVersion {
    pub file_id: String,
    pub version_id: [u8; 16],
    pub size: u64,
    pub content_hash: ContentHash,
    pub author: String,
    pub created_at_ms: i64,
    pub tier: Tier,
    pub kind: VersionKind,
    pub restored_from: Option<i64>,
    pub wrapped_key: WrappedKey,
    /// The sealed bytes, when small enough to keep inline (committed with the version).
    pub inline: Option<Vec<u8>>,
    /// The scan summary as JSON (see [`VersionRecord::findings`]).
    pub findings: Option<String>,
}

/// Everything `covault init` writes, in one transaction.
pub struct InitRecords<'a> {
    pub kek: &'a KekRecord,
    pub hash_key: &'a WrappedKey,
    pub signing_key: &'a WrappedKey,
    pub secret_key: &'a WrappedKey,
    pub operator: &'a Principal,
    pub admin: &'a Principal,
    pub admin_token: &'a TokenRecord,
}

/// The workspace keys, re-wrapped under a new KEK.
#[derive(Clone, Copy, Debug)]
pub struct RotatedKeys<'a> {
    pub hash_key: &'a WrappedKey,
    pub signing_key: &'a WrappedKey,
    pub secret_key: &'a WrappedKey,
}

/// A data key to re-wrap during rotation.
#[derive(Clone, Debug)]
pub struct WrappedKeyRow {
    pub file_id: String,
    pub version: i64,
    pub version_id: [u8; 16],
    pub wrapped: WrappedKey,
}

/// Blocking reads of inline versions' sealed bytes (see [`MetadataStore::inline_reader`]).
pub trait InlineReader: Send {
    /// The sealed bytes of inline version `version_id`, if it is (still) there.
    fn get(&mut self, version_id: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Metadata persistence. Implementations are transactional and durable on commit. The audit
/// log's reads and maintenance are the [`AuditLog`] half; appends are here, because they
/// join the same transactions as the changes they describe.
#[async_trait]
pub trait MetadataStore:
    AuditLog
    + crate::identity::IdentityStore
    + crate::session::SessionStore
    + crate::gateway::GatewayStore
    + Send
    + Sync
{
    /// Applies pending schema migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    async fn is_initialized(&self) -> Result<bool, StoreError>;
    async fn initialize(&self, init: InitRecords<'_>, event: &AuditEvent)
    -> Result<(), StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;

    async fn active_kek(&self) -> Result<KekRecord, StoreError>;
    async fn hash_key(&self) -> Result<WrappedKey, StoreError>;
    async fn wrapped_keys(&self) -> Result<Vec<WrappedKeyRow>, StoreError>;
    /// Installs `new_kek`, replaces every wrapped key and retires the old KEK, atomically.
    async fn rotate_kek(
        &self,
        new_kek: &KekRecord,
        keys: RotatedKeys<'_>,
        rewrapped: &[WrappedKeyRow],
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Makes deleted key material unrecoverable from the database files (checkpoint and
    /// truncate the write-ahead log; pages are zeroed by `secure_delete`).
    async fn scrub(&self) -> Result<(), StoreError>;

    async fn create_principal(
        &self,
        principal: &Principal,
        token: Option<&TokenRecord>,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    async fn token(&self, id: &TokenId) -> Result<Option<(TokenRecord, Principal)>, StoreError>;
    async fn touch_token(
        &self,
        id: &TokenId,
        at_ms: i64,
        addr: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Returns the live file at `path`, creating an empty (invisible) one if none exists.
    async fn ensure_file(
        &self,
        path: &WorkspacePath,
        tier: Tier,
        owner: &str,
        at_ms: i64,
    ) -> Result<FileRecord, StoreError>;
    /// The live (not purged) file at `path`, if any.
    async fn file(&self, path: &WorkspacePath) -> Result<Option<FileRecord>, StoreError>;
    /// Visible files under `prefix` (whole components), ordered by path, after `after`.
    async fn list(
        &self,
        prefix: Option<&WorkspacePath>,
        include_deleted: bool,
        after: Option<&WorkspacePath>,
        limit: u32,
    ) -> Result<Vec<(FileRecord, VersionRecord)>, StoreError>;
    async fn versions(&self, file_id: &str) -> Result<Vec<VersionRecord>, StoreError>;
    async fn version(
        &self,
        file_id: &str,
        version: i64,
    ) -> Result<Option<VersionRecord>, StoreError>;
    /// The sealed bytes of an inline version.
    async fn inline_blob(&self, version_id: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Blocking: a reader of inline versions' sealed bytes on a connection of its own, for a
    /// blocking thread that reads thousands of them (a backup).
    fn inline_reader(&self) -> Result<Box<dyn InlineReader>, StoreError>;
    /// Assigns the next version number, makes it current (undeleting the file) and appends
    /// `event` with that version, in one transaction.
    async fn commit_version(
        &self,
        new: &NewVersion,
        event: AuditEvent,
    ) -> Result<VersionRecord, StoreError>;
    async fn mark_deleted(
        &self,
        file_id: &str,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    async fn set_tier(
        &self,
        file_id: &str,
        tier: Tier,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Destroys every wrapped data key and inline ciphertext of the file and marks it purged;
    /// returns how many versions were destroyed and the blobs of its blob-stored versions.
    async fn purge(
        &self,
        file_id: &str,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<(u64, Vec<BlobKey>), StoreError>;

    /// Appends `event` to the audit chain (group commit).
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Every version of every file that has one, with its path (for verification).
    async fn all_versions(&self) -> Result<Vec<(WorkspacePath, VersionRecord)>, StoreError>;
    /// Starts copying the whole database, as of one instant, to `dest` (which must not
    /// exist), without inline ciphertext or wrapped data keys; returns every version with its
    /// path and wrapped key, as of that instant, while the copy is still being written. The
    /// copy starts from the one last kept ([`MetaStore::keep_copy`]) when there is one.
    async fn copy_into(
        &self,
        dest: &std::path::Path,
    ) -> Result<(crate::sqlite_copy::Catalog, crate::sqlite_copy::PendingCopy), StoreError>;
    /// Keeps the finished copy `dest` (moved, durably) as the base of the next one.
    async fn keep_copy(&self, dest: &std::path::Path) -> Result<(), StoreError>;
    /// Ids of purged files.
    async fn purged_file_ids(&self) -> Result<Vec<String>, StoreError>;
    /// Restore: records re-sealed versions (wrapped key, and inline ciphertext or blob
    /// storage), one transaction.
    async fn set_sealed(
        &self,
        rows: Vec<([u8; 16], WrappedKey, Option<Vec<u8>>)>,
    ) -> Result<(), StoreError>;
    /// Restore: marks purged every file none of whose versions has a key.
    async fn mark_unrestored_purged(&self, at_ms: i64) -> Result<u64, StoreError>;
    /// Blobs that committed blob-stored versions still need (purged versions excluded).
    async fn live_blob_keys(&self) -> Result<HashSet<BlobKey>, StoreError>;
}

/// The audit log's side of the metadata store: search, the chain head, signed checkpoints,
/// verification, inclusion proofs, retention, export cursors and the signing key.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Events matching `query`, oldest first.
    async fn audit_search(&self, query: &AuditQuery) -> Result<Vec<StoredEvent>, StoreError>;
    /// The writer's chain head.
    async fn audit_head(&self) -> Result<ChainHead, StoreError>;
    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError>;
    /// Signs a checkpoint over everything up to the head (none if nothing is new).
    async fn audit_checkpoint(
        &self,
        keyring: Arc<Keyring>,
        at_ms: i64,
    ) -> Result<Option<Checkpoint>, StoreError>;
    /// Verifies the stored log against its checkpoints and `extra` ones, trusting `key`.
    async fn audit_verify(
        &self,
        key: PublicKey,
        extra: Vec<Checkpoint>,
    ) -> Result<AuditVerifyReport, StoreError>;
    /// Deletes events before `before_ms` up to a checkpoint, appending `event`.
    async fn audit_prune(
        &self,
        before_ms: i64,
        event: &AuditEvent,
    ) -> Result<PruneReport, StoreError>;
    /// A proof that event `seq` is in the log the newest checkpoint signs.
    async fn audit_proof(&self, seq: u64) -> Result<InclusionProof, StoreError>;
    /// A proof that the newest checkpoint's log extends the tree of its first `from` events.
    async fn audit_consistency(&self, from: u64) -> Result<ConsistencyProof, StoreError>;
    async fn sink_cursor(&self, name: &str) -> Result<u64, StoreError>;
    async fn set_sink_cursor(&self, name: &str, seq: u64, at_ms: i64) -> Result<(), StoreError>;
    /// The wrapped audit signing key, if the workspace has one yet.
    async fn signing_key(&self) -> Result<Option<WrappedKey>, StoreError>;
    /// Stores a signing key unless one exists (the first writer wins).
    async fn add_signing_key(&self, key: &WrappedKey) -> Result<(), StoreError>;
}
