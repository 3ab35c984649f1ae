//! What backups need from the workspace, and nothing more: a consistent copy of the metadata
//! database stripped of every data key and every byte of ciphertext, the versions that copy
//! lists, blocking plaintext readers over those versions, and — on the restoring side —
//! re-sealing restored content under fresh data keys into a new workspace.
//!
//! The copy is made in one read transaction of the live database (versions, keyring,
//! principals and the audit log all as of one instant), leaving out wrapped data keys and
//! inline ciphertext as it writes, so a backup of the database never holds key material for
//! content: content lives in the backup only as chunks, which erasure can reach. Restoring
//! re-seals each version with a new data key, checks the keyed content hash against the
//! version record, and commits in batches; a file none of whose versions came back (erased)
//! is recorded as purged, exactly as the live purge left it.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use covault_crypto::{ContentHash, DataKey, ObjectIds, WrappedKey, random_array};

use crate::pipeline::{Decryptor, SealWriter, Sealed, SealedSource, integrity, object_ids};
use crate::sqlite_copy::PendingCopy;
use crate::{StoreError, VersionRecord, Workspace, WorkspacePath};

/// The versions a database copy lists.
pub struct Catalog {
    /// Every version with its path; purged ones have no wrapped key.
    pub versions: Vec<(WorkspacePath, VersionRecord)>,
}

/// A version re-sealed by a restore, waiting for its metadata commit.
pub struct Resealed {
    version_id: [u8; 16],
    wrapped_key: WrappedKey,
    inline: Option<Vec<u8>>,
}

/// Re-seals one restored version as its plaintext is pushed (see [`Workspace::resealer`]).
/// Dropped unfinished, it leaves no blob behind.
pub struct Resealer {
    writer: SealWriter,
    blobs: Arc<dyn crate::BlobStore>,
    wrapped_key: WrappedKey,
    version_id: [u8; 16],
    version: i64,
    size: u64,
    content_hash: ContentHash,
    path: String,
    received: u64,
}

impl Resealer {
    /// Blocking: seals the next piece of plaintext.
    pub fn push(&mut self, plain: &[u8]) -> Result<(), StoreError> {
        self.received += plain.len() as u64;
        if self.received > self.size {
            return Err(integrity(
                &self.path,
                self.version,
                "restored content is too long",
            ));
        }
        self.writer.push(plain)
    }

    /// Blocking: finishes sealing; the content must match the version's size and keyed
    /// hash. Commit the result with [`Workspace::commit_resealed`].
    pub fn finish(self) -> Result<Resealed, StoreError> {
        let Sealed {
            size,
            content_hash,
            inline,
            ..
        } = self.writer.finish()?;
        if size != self.size || !content_hash.ct_eq(&self.content_hash) {
            if inline.is_none()
                && let Err(e) = self
                    .blobs
                    .delete(&crate::BlobKey::from_version_id(&self.version_id))
            {
                tracing::warn!(error = %e, "could not remove a rejected restored blob");
            }
            return Err(integrity(
                &self.path,
                self.version,
                "restored content does not match the version's content hash",
            ));
        }
        Ok(Resealed {
            version_id: self.version_id,
            wrapped_key: self.wrapped_key,
            inline,
        })
    }
}

/// A blocking plaintext reader over one version.
pub struct VersionReader {
    decryptor: Decryptor,
    current: Bytes,
}

impl Read for VersionReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.decryptor.next_batch() {
                Ok(Some(batch)) => self.current = batch,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

impl Workspace {
    /// Copies the metadata database to `dest` (which must not exist) as of one instant,
    /// without any wrapped data key or inline ciphertext, and lists its versions (with their
    /// keys, as of the same instant, held in memory only). The list comes back while the copy
    /// is still being written: [`PendingCopy::finish`] says when `dest` is complete.
    pub async fn snapshot_database(
        &self,
        dest: &Path,
    ) -> Result<(Catalog, PendingCopy), StoreError> {
        let (versions, pending) = self.meta.copy_into(dest).await?;
        Ok((Catalog { versions }, pending))
    }

    /// Keeps the database copy `dest`, once a backup has stored it, as the base the next
    /// [`Workspace::snapshot_database`] updates (only the rows that changed are written).
    /// The base holds what the backup holds: no keys, no inline ciphertext.
    pub async fn keep_database_copy(&self, dest: &Path) -> Result<(), StoreError> {
        self.meta.keep_copy(dest).await
    }

    /// Blocking: a reader of inline versions for [`Workspace::read_version_blocking`], one per
    /// blocking thread.
    pub fn inline_reader(&self) -> Result<Box<dyn crate::InlineReader>, StoreError> {
        self.meta.inline_reader()
    }

    /// Blocking (call from a blocking thread): opens `version` for reading, an inline one
    /// through `inline`. A version purged since the catalog was taken reports
    /// [`StoreError::Purged`].
    pub fn read_version_blocking(
        &self,
        inline: &mut dyn crate::InlineReader,
        path: &WorkspacePath,
        version: &VersionRecord,
    ) -> Result<VersionReader, StoreError> {
        let wrapped = version
            .wrapped_key
            .as_ref()
            .ok_or_else(|| StoreError::Purged(path.to_string()))?;
        let source = if version.inline {
            let data = inline
                .get(&version.version_id)?
                .ok_or_else(|| StoreError::Purged(path.to_string()))?;
            SealedSource::Inline(data)
        } else {
            SealedSource::Blob {
                blobs: Arc::clone(&self.blobs),
                key: version.blob_key(),
                path: path.to_string(),
                version: version.version,
            }
        };
        let keyring = self.keyring()?;
        let ids = object_ids(&version.file_id, &version.version_id)?;
        let dek = keyring
            .kek
            .unwrap(wrapped, &ids.wrap_context())
            .map_err(|e| integrity(path.as_str(), version.version, &e.to_string()))?;
        let reader = source.open()?;
        let decryptor = Decryptor::new(
            reader,
            &dek,
            ids,
            version.size,
            path.to_string(),
            version.version,
        )?;
        Ok(VersionReader {
            decryptor,
            current: Bytes::new(),
        })
    }

    /// Whether `version` has been purged in the live workspace (its key destroyed).
    pub async fn is_purged(&self, path: &WorkspacePath, version: i64) -> Result<bool, StoreError> {
        Ok(match self.meta.file(path).await? {
            Some(file) => self
                .meta
                .version(&file.id, version)
                .await?
                .is_none_or(|v| v.wrapped_key.is_none()),
            None => true,
        })
    }

    /// Every version of every file, with its path.
    pub async fn all_versions(&self) -> Result<Vec<(WorkspacePath, VersionRecord)>, StoreError> {
        self.meta.all_versions().await
    }

    /// Ids of every purged file.
    pub async fn purged_file_ids(&self) -> Result<Vec<String>, StoreError> {
        self.meta.purged_file_ids().await
    }

    /// Blocking: re-seals a restored version under a fresh data key as its plaintext is
    /// pushed in order; [`Resealer::finish`] checks it against the version's keyed content
    /// hash. Commit the results with [`Workspace::commit_resealed`].
    pub fn resealer(
        &self,
        version: &VersionRecord,
        path: &WorkspacePath,
    ) -> Result<Resealer, StoreError> {
        let ids: ObjectIds = object_ids(&version.file_id, &version.version_id)?;
        let keyring = self.keyring()?;
        let dek = DataKey::generate()?;
        let wrapped_key = keyring.kek.wrap(&dek, &ids.wrap_context())?;
        let writer = SealWriter::new(
            Arc::clone(&self.blobs),
            &dek,
            ids,
            keyring.hash_key.hasher(),
            None,
        )?
        .cold();
        Ok(Resealer {
            writer,
            blobs: Arc::clone(&self.blobs),
            wrapped_key,
            version_id: version.version_id,
            version: version.version,
            size: version.size,
            content_hash: version.content_hash,
            path: path.to_string(),
            received: 0,
        })
    }

    /// Commits re-sealed versions (one transaction).
    pub async fn commit_resealed(&self, mut batch: Vec<Resealed>) -> Result<(), StoreError> {
        // In key order, so each B-tree page is visited once per batch.
        batch.sort_unstable_by_key(|r| r.version_id);
        let rows = batch
            .into_iter()
            .map(|r| (r.version_id, r.wrapped_key, r.inline))
            .collect();
        self.meta.set_sealed(rows).await
    }

    /// After a restore: files none of whose versions came back are marked purged; `event`
    /// (the restore's audit record) is appended. Returns how many files were marked.
    pub async fn finish_restore(&self, event: &crate::AuditEvent) -> Result<u64, StoreError> {
        let marked = self.meta.mark_unrestored_purged(event.at_ms).await?;
        self.meta.append_audit(event).await?;
        Ok(marked)
    }
}

/// A fresh random id for scratch names.
pub fn scratch_name() -> Result<String, StoreError> {
    Ok(hex::encode(random_array::<8>()?))
}

/// Keyed content hash from its hex form (as backups record it).
pub fn parse_content_hash(text: &str) -> Option<ContentHash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(ContentHash::from_bytes(out))
}
