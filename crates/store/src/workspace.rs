//! [`Workspace`]: the encrypting layer over metadata and blobs, and the only code that seals
//! or opens file content.
//!
//! Write path: plaintext chunks → (blocking thread, `pipeline.rs`) keyed hash + 64 KiB segments
//! sealed under a fresh data key → one segment or less: kept for inline storage; more: a blob
//! under its final name, fsynced with its directory → group commit of the version row (with
//! any inline ciphertext) and the audit event. A version is visible only after that commit. Read path: a blocking
//! thread opens segments in order and releases each only after its tag verified; the first
//! batch is opened before the caller starts responding, so most corruption surfaces as an
//! error before any byte is sent, and later corruption aborts the stream instead of emitting
//! wrong bytes. This module takes audit events from its caller; it decides nothing.

use std::pin::Pin;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use covault_audit::AuditEvent;
use covault_crypto::{DataKey, ObjectIds, SEGMENT_SIZE, random_array};
use covault_policy::{Principal, Tier, TokenId};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::keyring::{
    HASH_KEY_CONTEXT, SECRET_KEY_CONTEXT, SIGNING_KEY_CONTEXT, create_kek, map_task, unlock_kek,
};
use crate::meta::{InitRecords, RotatedKeys, WrappedKeyRow};
use crate::pipeline::{
    BATCH_SEGMENTS, Chunk, Decryptor, Sealed, SealedSource, integrity, object_ids, pump,
    seal_to_blob, verify_version,
};
use crate::{
    BlobStore, FileRecord, KekSource, Keyring, MetadataStore, NewKekSource, NewVersion, PathLimits,
    StoreError, TokenRecord, VersionKind, VersionRecord, WorkspacePath,
};

/// A stream of plaintext chunks (uploads in, downloads out).
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send>>;

const CHANNEL_DEPTH: usize = 4;

/// Limits and defaults of a workspace.
#[derive(Clone, Debug)]
pub struct WorkspaceOptions {
    pub max_file_bytes: u64,
    pub path_limits: PathLimits,
    pub default_tier: Tier,
    /// Scan content on write and raise the tier from the findings (on by default).
    pub classify: bool,
    /// Text beyond this many bytes is not scanned (the audit event says so).
    pub scan_limit: u64,
    pub classification: covault_scan::ClassificationPolicy,
    /// How documents are extracted, and what an unreadable one gets.
    pub extraction: crate::ExtractionPolicy,
}

impl Default for WorkspaceOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 16 * 1024 * 1024 * 1024,
            path_limits: PathLimits::default(),
            default_tier: Tier::Internal,
            classify: true,
            scan_limit: 256 * 1024 * 1024,
            classification: covault_scan::ClassificationPolicy::default(),
            extraction: crate::ExtractionPolicy::default(),
        }
    }
}

/// How to write a new version.
#[derive(Clone, Debug)]
pub struct PutOptions {
    /// Requested tier; the stored tier never drops below the file's current label.
    pub tier: Option<Tier>,
    pub author: String,
    /// The file at the path, when the caller has just looked it up (saves a query).
    pub known_file: Option<FileRecord>,
}

/// A decrypted version being read.
pub struct VersionStream {
    pub file: FileRecord,
    pub version: VersionRecord,
    pub body: ByteStream,
}

/// One thing `verify` found wrong.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifyProblem {
    pub path: String,
    pub version: i64,
    pub what: String,
}

/// What `verify` checked and found.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    pub versions_checked: u64,
    pub bytes_checked: u64,
    pub purged_versions: u64,
    pub orphan_blobs: u64,
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The encrypted, versioned workspace.
pub struct Workspace {
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    keyring: RwLock<Arc<Keyring>>,
    options: WorkspaceOptions,
}

impl Workspace {
    /// Creates a workspace: migrates the schema, creates the KEK and content-hash key, and
    /// records the operator, the first admin and its token, all in one transaction.
    pub async fn initialize(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        options: WorkspaceOptions,
        source: NewKekSource,
        init: (&Principal, &Principal, &TokenRecord),
        event: &AuditEvent,
    ) -> Result<Self, StoreError> {
        meta.migrate().await?;
        if meta.is_initialized().await? {
            return Err(StoreError::AlreadyInitialized("metadata database".into()));
        }
        let at_ms = event.at_ms;
        let (record, keyring, wrapped, wrapped_signing) = map_task(
            tokio::task::spawn_blocking(move || {
                let (record, kek) = create_kek(&source, at_ms)?;
                let hash_key = covault_crypto::HashKey::generate()?;
                let wrapped = kek.wrap_hash_key(&hash_key, HASH_KEY_CONTEXT)?;
                let signing_key = covault_crypto::SigningKey::generate()?;
                let wrapped_signing = kek.wrap_signing_key(&signing_key, SIGNING_KEY_CONTEXT)?;
                let secret_key = covault_crypto::SecretKey::generate()?;
                let wrapped_secret = kek.wrap_secret_key(&secret_key, SECRET_KEY_CONTEXT)?;
                let keyring = Keyring {
                    kek,
                    hash_key,
                    signing_key,
                    secret_key,
                };
                Ok::<_, StoreError>((record, keyring, wrapped, (wrapped_signing, wrapped_secret)))
            })
            .await,
        )??;
        let (operator, admin, token) = init;
        meta.initialize(
            InitRecords {
                kek: &record,
                hash_key: &wrapped,
                signing_key: &wrapped_signing.0,
                secret_key: &wrapped_signing.1,
                operator,
                admin,
                admin_token: token,
            },
            event,
        )
        .await?;
        Ok(Self::assemble(meta, blobs, options, keyring))
    }

    /// Opens an existing workspace, unlocking its keyring with `source`.
    pub async fn open(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        options: WorkspaceOptions,
        source: KekSource,
    ) -> Result<Self, StoreError> {
        meta.migrate().await?;
        if !meta.is_initialized().await? {
            return Err(StoreError::NotInitialized("metadata database".into()));
        }
        let record = meta.active_kek().await?;
        let wrapped = meta.hash_key().await?;
        let (kek, hash_key) = map_task(
            tokio::task::spawn_blocking(move || {
                let kek = unlock_kek(&record, &source)?;
                let hash_key = kek.unwrap_hash_key(&wrapped, HASH_KEY_CONTEXT)?;
                Ok::<_, StoreError>((kek, hash_key))
            })
            .await,
        )??;
        let signing_key = signing_key(meta.as_ref(), &kek).await?;
        let secret_key = secret_key(meta.as_ref(), &kek).await?;
        let keyring = Keyring {
            kek,
            hash_key,
            signing_key,
            secret_key,
        };
        Ok(Self::assemble(meta, blobs, options, keyring))
    }

    fn assemble(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        options: WorkspaceOptions,
        keyring: Keyring,
    ) -> Self {
        Self {
            meta,
            blobs,
            keyring: RwLock::new(Arc::new(keyring)),
            options,
        }
    }

    pub fn options(&self) -> &WorkspaceOptions {
        &self.options
    }

    pub(crate) fn keyring(&self) -> Result<Arc<Keyring>, StoreError> {
        self.keyring
            .read()
            .map(|k| Arc::clone(&k))
            .map_err(|_| StoreError::Task("keyring lock poisoned".into()))
    }

    /// Parses and validates a path under this workspace's limits.
    pub fn parse_path(&self, raw: &str) -> Result<WorkspacePath, StoreError> {
        WorkspacePath::parse(raw, &self.options.path_limits)
    }

    pub fn parse_prefix(&self, raw: &str) -> Result<Option<WorkspacePath>, StoreError> {
        WorkspacePath::parse_prefix(raw, &self.options.path_limits)
    }

    // ---- identity records -------------------------------------------------------------

    pub async fn token(
        &self,
        id: &TokenId,
    ) -> Result<Option<(TokenRecord, Principal)>, StoreError> {
        self.meta.token(id).await
    }
    pub async fn touch_token(
        &self,
        id: &TokenId,
        at_ms: i64,
        addr: Option<&str>,
    ) -> Result<(), StoreError> {
        self.meta.touch_token(id, at_ms, addr).await
    }
    pub async fn create_principal(
        &self,
        principal: &Principal,
        token: Option<&TokenRecord>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.meta.create_principal(principal, token, event).await
    }
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.meta.ping().await
    }

    // ---- reading metadata --------------------------------------------------------------

    /// The live file at `path` (including soft-deleted ones).
    pub async fn file(&self, path: &WorkspacePath) -> Result<Option<FileRecord>, StoreError> {
        Ok(self
            .meta
            .file(path)
            .await?
            .filter(|f| f.current_version > 0))
    }

    /// The file at `path`, which must exist and not be deleted.
    pub async fn existing_file(&self, path: &WorkspacePath) -> Result<FileRecord, StoreError> {
        let file = self
            .file(path)
            .await?
            .ok_or_else(|| StoreError::NotFound(path.to_string()))?;
        if file.deleted_at_ms.is_some() {
            return Err(StoreError::Deleted(path.to_string()));
        }
        Ok(file)
    }

    pub async fn list(
        &self,
        prefix: Option<&WorkspacePath>,
        include_deleted: bool,
        after: Option<&WorkspacePath>,
        limit: u32,
    ) -> Result<Vec<(FileRecord, VersionRecord)>, StoreError> {
        self.meta.list(prefix, include_deleted, after, limit).await
    }

    pub async fn versions(&self, file: &FileRecord) -> Result<Vec<VersionRecord>, StoreError> {
        self.meta.versions(&file.id).await
    }

    /// A given version of `file`, or its current one.
    pub async fn version(
        &self,
        file: &FileRecord,
        version: Option<i64>,
    ) -> Result<VersionRecord, StoreError> {
        let number = version.unwrap_or(file.current_version);
        self.meta
            .version(&file.id, number)
            .await?
            .ok_or_else(|| StoreError::NoSuchVersion {
                path: file.path.to_string(),
                version: number,
            })
    }

    // ---- writing ---------------------------------------------------------------------

    /// Writes a new version of `path` from `body`, committing `event` with it.
    pub async fn put(
        &self,
        path: &WorkspacePath,
        options: PutOptions,
        body: ByteStream,
        event: AuditEvent,
    ) -> Result<VersionRecord, StoreError> {
        self.write_version(path, options, body, VersionKind::Write, None, event)
            .await
    }

    /// Writes the content of version `from` of `path` as a new version (undeleting the file).
    pub async fn restore(
        &self,
        path: &WorkspacePath,
        from: i64,
        author: String,
        event: AuditEvent,
    ) -> Result<VersionRecord, StoreError> {
        let file = self
            .file(path)
            .await?
            .ok_or_else(|| StoreError::NotFound(path.to_string()))?;
        let old = self.version(&file, Some(from)).await?;
        let tier = old.tier;
        let source = self.open_version(file, old).await?;
        let options = PutOptions {
            tier: Some(tier),
            author,
            known_file: None,
        };
        self.write_version(
            path,
            options,
            source.body,
            VersionKind::Restore,
            Some(from),
            event,
        )
        .await
    }

    async fn write_version(
        &self,
        path: &WorkspacePath,
        options: PutOptions,
        mut body: ByteStream,
        kind: VersionKind,
        restored_from: Option<i64>,
        event: AuditEvent,
    ) -> Result<VersionRecord, StoreError> {
        let at_ms = covault_audit::now_ms();
        let requested = options.tier.unwrap_or(self.options.default_tier);
        let file = match options.known_file {
            Some(file) if file.path == *path => file,
            _ => {
                // The owner is whoever creates the file: the principal the event names.
                let owner = event.principal.as_deref().unwrap_or_default();
                self.meta.ensure_file(path, requested, owner, at_ms).await?
            }
        };
        // Labels only go up automatically: a write never lowers the file's tier.
        let tier = requested.max(file.tier);
        let mut file_id = [0u8; 16];
        hex::decode_to_slice(&file.id, &mut file_id)
            .map_err(|_| StoreError::Corrupt("bad file id".into()))?;
        let ids = ObjectIds {
            file_id,
            version_id: random_array()?,
        };
        let keyring = self.keyring()?;
        let dek = DataKey::generate()?;
        let wrapped_key = keyring.kek.wrap(&dek, &ids.wrap_context())?;

        let (tx, rx) = mpsc::channel::<Chunk>(CHANNEL_DEPTH);
        let blobs = Arc::clone(&self.blobs);
        let hasher = keyring.hash_key.hasher();
        // Fail closed: a workspace that classifies refuses writes it cannot scan.
        let scan = if self.options.classify {
            Some(crate::classify::ContentScan::new(
                crate::classify::default_scanner()?,
                self.options.classification.clone(),
                self.options.scan_limit,
                path.as_str(),
                self.options.extraction.clone(),
            ))
        } else {
            None
        };
        let writer =
            tokio::task::spawn_blocking(move || seal_to_blob(blobs, &dek, ids, hasher, scan, rx));

        let limit = self.options.max_file_bytes;
        let mut received: u64 = 0;
        let fed: Result<(), StoreError> = async {
            // Hand chunks over in batches of about 1 MiB: one channel hop per batch rather
            // than per (often small) network frame.
            let mut batch: Vec<Bytes> = Vec::new();
            let mut batched = 0usize;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                received = received.saturating_add(chunk.len() as u64);
                if received > limit {
                    return Err(StoreError::TooLarge { limit });
                }
                batched += chunk.len();
                batch.push(chunk);
                if batched >= BATCH_SEGMENTS * SEGMENT_SIZE {
                    batched = 0;
                    if tx
                        .send(Chunk::Data(std::mem::take(&mut batch)))
                        .await
                        .is_err()
                    {
                        return Ok(()); // the writer failed; its error is reported below
                    }
                }
            }
            if !batch.is_empty() && tx.send(Chunk::Data(batch)).await.is_err() {
                return Ok(());
            }
            Ok(())
        }
        .await;
        if fed.is_ok() {
            let _ = tx.send(Chunk::Finish).await;
        }
        drop(tx);
        let written = map_task(writer.await)?;
        fed?;
        let Sealed {
            scan,
            size,
            content_hash,
            inline,
        } = written?;
        // Labels only go up automatically: the content's classification can raise the tier.
        let tier = scan
            .as_ref()
            .map_or(tier, |s| tier.max(s.classification.tier));
        let stored_inline = inline.is_some();

        let new = NewVersion {
            file_id: file.id.clone(),
            version_id: ids.version_id,
            size,
            content_hash,
            author: options.author,
            created_at_ms: at_ms,
            tier,
            kind,
            restored_from,
            wrapped_key,
            inline,
            findings: scan.as_ref().and_then(|s| serde_json::to_string(s).ok()),
        };
        let mut event = event;
        event.detail = serde_json::json!({
            "size": size,
            "content_hash": content_hash.to_hex(),
            "tier": tier.as_str(),
            "kind": kind.as_str(),
            "restored_from": restored_from,
            "scan": scan,
        });
        match self.meta.commit_version(&new, event).await {
            Ok(record) => Ok(record),
            Err(e) if stored_inline => Err(e),
            Err(e) => {
                let key = crate::BlobKey::from_version_id(&ids.version_id);
                if let Err(cleanup) = self.blobs.delete(&key) {
                    tracing::warn!(blob = key.as_str(), error = %cleanup, "could not remove uncommitted blob; it will be removed at next start");
                }
                Err(e)
            }
        }
    }

    /// Marks `file` deleted (history kept).
    pub async fn delete(&self, file: &FileRecord, event: &AuditEvent) -> Result<(), StoreError> {
        self.meta.mark_deleted(&file.id, event.at_ms, event).await
    }

    /// Sets the file's tier label.
    pub async fn set_tier(
        &self,
        file: &FileRecord,
        tier: Tier,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.meta.set_tier(&file.id, tier, event).await
    }

    /// Crypto-shreds every version of `file`: wrapped data keys destroyed (and scrubbed from
    /// the database files), then the blobs removed. Without the data keys no copy of the
    /// blobs — in backups, snapshots or disk remnants — can be decrypted, even with the KEK.
    pub async fn purge(&self, file: &FileRecord, event: &AuditEvent) -> Result<u64, StoreError> {
        let (count, blobs) = self.meta.purge(&file.id, event.at_ms, event).await?;
        self.meta.scrub().await?;
        let store = Arc::clone(&self.blobs);
        map_task(
            tokio::task::spawn_blocking(move || {
                for key in &blobs {
                    if let Err(e) = store.delete(key) {
                        tracing::warn!(blob = key.as_str(), error = %e, "purged blob not removed; it is unreadable and will be removed at next start");
                    }
                }
            })
            .await,
        )?;
        Ok(count)
    }

    // ---- reading content ---------------------------------------------------------------

    /// Opens `version` of `file` for streaming. The first batch of segments is decrypted and
    /// authenticated before this returns.
    pub async fn open_version(
        &self,
        file: FileRecord,
        version: VersionRecord,
    ) -> Result<VersionStream, StoreError> {
        let wrapped = version
            .wrapped_key
            .clone()
            .ok_or_else(|| StoreError::Purged(file.path.to_string()))?;
        let keyring = self.keyring()?;
        let ids = object_ids(&file.id, &version.version_id)?;
        let path = file.path.to_string();
        let number = version.version;
        let size = version.size;
        let source = self.sealed_source(&version, &path).await?;
        let (first, decryptor) = map_task(
            tokio::task::spawn_blocking(move || {
                let dek = keyring
                    .kek
                    .unwrap(&wrapped, &ids.wrap_context())
                    .map_err(|e| integrity(&path, number, &e.to_string()))?;
                let reader = source.open()?;
                let mut dec = Decryptor::new(reader, &dek, ids, size, path, number)?;
                let first = dec.next_batch()?;
                Ok::<_, StoreError>((first, dec))
            })
            .await,
        )??;
        let (tx, rx) = mpsc::channel::<Result<Bytes, StoreError>>(CHANNEL_DEPTH);
        if !decryptor.is_done() {
            tokio::task::spawn_blocking(move || pump(decryptor, tx));
        }
        let head = futures_util::stream::iter(first.map(Ok));
        let tail = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(VersionStream {
            file,
            version,
            body: Box::pin(head.chain(tail)),
        })
    }

    /// Where a version's sealed bytes come from: its blob, or the metadata store.
    async fn sealed_source(
        &self,
        version: &VersionRecord,
        path: &str,
    ) -> Result<SealedSource, StoreError> {
        if version.inline {
            let data = self
                .meta
                .inline_blob(&version.version_id)
                .await?
                .ok_or_else(|| integrity(path, version.version, "inline content is missing"))?;
            Ok(SealedSource::Inline(data))
        } else {
            Ok(SealedSource::Blob {
                blobs: Arc::clone(&self.blobs),
                key: version.blob_key(),
                path: path.to_owned(),
                version: version.version,
            })
        }
    }

    // ---- keys, verification, maintenance ----------------------------------------------

    /// Rotates the KEK: every data key and the content-hash key are re-wrapped under a new
    /// KEK in one transaction, the old KEK's check value is destroyed, and the database files
    /// are scrubbed. File data is not re-encrypted. Afterwards the old KEK opens nothing.
    pub async fn rotate_kek(
        &self,
        source: NewKekSource,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let old = self.keyring()?;
        let rows = self.meta.wrapped_keys().await?;
        let at_ms = event.at_ms;
        let (record, rewrapped, hash_wrapped, new_kek) = map_task(
            tokio::task::spawn_blocking(move || {
                let (record, new_kek) = create_kek(&source, at_ms)?;
                let mut rewrapped = Vec::with_capacity(rows.len());
                for row in rows {
                    let mut file_id = [0u8; 16];
                    hex::decode_to_slice(&row.file_id, &mut file_id)
                        .map_err(|_| StoreError::Corrupt("bad file id".into()))?;
                    let ids = ObjectIds {
                        file_id,
                        version_id: row.version_id,
                    };
                    let dek = old.kek.unwrap(&row.wrapped, &ids.wrap_context())?;
                    let wrapped = new_kek.wrap(&dek, &ids.wrap_context())?;
                    rewrapped.push(WrappedKeyRow { wrapped, ..row });
                }
                let hash_wrapped = new_kek.wrap_hash_key(&old.hash_key, HASH_KEY_CONTEXT)?;
                let signing_wrapped =
                    new_kek.wrap_signing_key(&old.signing_key, SIGNING_KEY_CONTEXT)?;
                let secret_wrapped =
                    new_kek.wrap_secret_key(&old.secret_key, SECRET_KEY_CONTEXT)?;
                let wrapped = (hash_wrapped, signing_wrapped, secret_wrapped);
                Ok::<_, StoreError>((record, rewrapped, wrapped, new_kek))
            })
            .await,
        )??;
        let keys = RotatedKeys {
            hash_key: &hash_wrapped.0,
            signing_key: &hash_wrapped.1,
            secret_key: &hash_wrapped.2,
        };
        self.meta
            .rotate_kek(&record, keys, &rewrapped, event)
            .await?;
        self.meta.scrub().await?;
        let current = self.keyring()?;
        let signing_key = signing_key(self.meta.as_ref(), &new_kek).await?;
        let secret_key = secret_key(self.meta.as_ref(), &new_kek).await?;
        let mut guard = self
            .keyring
            .write()
            .map_err(|_| StoreError::Task("keyring lock poisoned".into()))?;
        *guard = Arc::new(Keyring {
            kek: new_kek,
            hash_key: current.hash_key.clone(),
            signing_key,
            secret_key,
        });
        Ok(())
    }

    /// Reads every version, checking authentication tags, lengths and content hashes.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let versions = self.meta.all_versions().await?;
        let live = self.meta.live_blob_keys().await?;
        let keyring = self.keyring()?;
        let blobs = Arc::clone(&self.blobs);
        let meta = Arc::clone(&self.meta);
        let runtime = tokio::runtime::Handle::current();
        let mut report = map_task(
            tokio::task::spawn_blocking(move || {
                let mut report = VerifyReport::default();
                for (path, version) in versions {
                    if version.wrapped_key.is_none() {
                        report.purged_versions += 1;
                        continue;
                    }
                    report.versions_checked += 1;
                    let source = if version.inline {
                        match runtime.block_on(meta.inline_blob(&version.version_id)) {
                            Ok(Some(data)) => Ok(SealedSource::Inline(data)),
                            Ok(None) => Err("inline content is missing".to_owned()),
                            Err(e) => Err(e.to_string()),
                        }
                    } else {
                        Ok(SealedSource::Blob {
                            blobs: Arc::clone(&blobs),
                            key: version.blob_key(),
                            path: path.to_string(),
                            version: version.version,
                        })
                    };
                    match source.and_then(|s| verify_version(s, &keyring, &path, &version)) {
                        Ok(()) => report.bytes_checked += version.size,
                        Err(what) => report.problems.push(VerifyProblem {
                            path: path.to_string(),
                            version: version.version,
                            what,
                        }),
                    }
                }
                let all = blobs.list()?;
                report.orphan_blobs = all.iter().filter(|k| !live.contains(k)).count() as u64;
                Ok::<_, StoreError>(report)
            })
            .await,
        )??;
        // A version purged while verify ran is not a problem: drop it.
        let mut kept = Vec::with_capacity(report.problems.len());
        for problem in std::mem::take(&mut report.problems) {
            let path = WorkspacePath::from_stored(problem.path.clone());
            let still_live = match self.meta.file(&path).await? {
                Some(file) => self
                    .meta
                    .version(&file.id, problem.version)
                    .await?
                    .is_some_and(|v| v.wrapped_key.is_some()),
                None => false,
            };
            if still_live {
                kept.push(problem);
            }
        }
        report.problems = kept;
        Ok(report)
    }

    /// Removes what interrupted writes left: blobs with no committed, unpurged version. Only safe while no other process writes (the data-dir lock).
    pub async fn remove_orphans(&self) -> Result<usize, StoreError> {
        let live = self.meta.live_blob_keys().await?;
        let blobs = Arc::clone(&self.blobs);
        map_task(
            tokio::task::spawn_blocking(move || {
                let mut removed = 0;
                for key in blobs.list()? {
                    if !live.contains(&key) {
                        blobs.delete(&key)?;
                        removed += 1;
                    }
                }
                Ok::<_, StoreError>(removed)
            })
            .await,
        )?
    }
}

/// Unwraps the audit signing key, creating it first in a workspace made before it existed.
async fn signing_key(
    meta: &dyn MetadataStore,
    kek: &covault_crypto::Kek,
) -> Result<covault_crypto::SigningKey, StoreError> {
    if meta.signing_key().await?.is_none() {
        let fresh = covault_crypto::SigningKey::generate()?;
        meta.add_signing_key(&kek.wrap_signing_key(&fresh, SIGNING_KEY_CONTEXT)?)
            .await?;
    }
    let wrapped = meta
        .signing_key()
        .await?
        .ok_or_else(|| StoreError::Corrupt("audit signing key is missing".into()))?;
    Ok(kek.unwrap_signing_key(&wrapped, SIGNING_KEY_CONTEXT)?)
}

/// Unwraps the secret-box key, creating it first in a workspace made before it existed.
async fn secret_key(
    meta: &dyn MetadataStore,
    kek: &covault_crypto::Kek,
) -> Result<covault_crypto::SecretKey, StoreError> {
    if meta.secret_key().await?.is_none() {
        let fresh = covault_crypto::SecretKey::generate()?;
        meta.add_secret_key(&kek.wrap_secret_key(&fresh, SECRET_KEY_CONTEXT)?)
            .await?;
    }
    let wrapped = meta
        .secret_key()
        .await?
        .ok_or_else(|| StoreError::Corrupt("secret-box key is missing".into()))?;
    Ok(kek.unwrap_secret_key(&wrapped, SECRET_KEY_CONTEXT)?)
}
