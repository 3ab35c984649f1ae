//! What backups need from the workspace, and nothing more: a consistent copy of the metadata
//! database stripped of every data key and every byte of ciphertext, the versions that copy
//! lists, blocking plaintext readers over those versions, and — on the restoring side —
//! re-sealing restored content under fresh data keys into a new workspace.
//!
//! The copy is made by `VACUUM INTO` (one read transaction: versions, keyring, principals and
//! the audit log all as of one instant). Wrapped data keys and inline ciphertext are removed
//! from it before it leaves, so a backup of the database never holds key material for
//! content: content lives in the backup only as chunks, which erasure can reach. Restoring
//! re-seals each version with a new data key, checks the keyed content hash against the
//! version record, and commits in batches; a file none of whose versions came back (erased)
//! is recorded as purged, exactly as the live purge left it.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use covault_crypto::{ContentHash, DataKey, ObjectIds, WrappedKey, random_array};
use tokio::sync::mpsc;

use crate::keyring::map_task;
use crate::pipeline::{
    Chunk, Decryptor, Sealed, SealedSource, integrity, object_ids, seal_to_blob,
};
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
    /// lists its versions, then removes every wrapped data key and all inline ciphertext
    /// from the copy.
    pub async fn snapshot_database(&self, dest: &Path) -> Result<Catalog, StoreError> {
        self.meta.copy_into(dest).await?;
        let versions = crate::sqlite::versions_in_copy(dest).await?;
        let path = dest.to_path_buf();
        map_task(
            tokio::task::spawn_blocking(move || {
                // A scratch file: no journal, no fsync (a crash leaves only a file to delete).
                let conn = rusqlite::Connection::open(&path)?;
                conn.execute_batch(
                    "PRAGMA journal_mode = OFF;
                     PRAGMA synchronous = OFF;
                     PRAGMA secure_delete = ON;
                     DELETE FROM inline_blobs;
                     UPDATE versions SET wrapped_key = NULL, kek_id = NULL;
                     VACUUM;",
                )?;
                Ok::<_, StoreError>(())
            })
            .await,
        )??;
        Ok(Catalog { versions })
    }

    /// Blocking (call from a blocking thread): opens `version` for reading. A version purged
    /// since the catalog was taken reports [`StoreError::Purged`].
    pub fn read_version_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        path: &WorkspacePath,
        version: &VersionRecord,
    ) -> Result<VersionReader, StoreError> {
        let wrapped = version
            .wrapped_key
            .as_ref()
            .ok_or_else(|| StoreError::Purged(path.to_string()))?;
        let source = if version.inline {
            let data = runtime
                .block_on(self.meta.inline_blob(&version.version_id))?
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

    /// Re-seals restored plaintext of `version` under a fresh data key; the content must hash
    /// to the recorded content hash. Commit the result with [`Workspace::commit_resealed`].
    pub async fn reseal(
        &self,
        version: &VersionRecord,
        path: &WorkspacePath,
        mut body: crate::ByteStream,
    ) -> Result<Resealed, StoreError> {
        use futures_util::StreamExt;
        let ids: ObjectIds = object_ids(&version.file_id, &version.version_id)?;
        let keyring = self.keyring()?;
        let dek = DataKey::generate()?;
        let wrapped_key = keyring.kek.wrap(&dek, &ids.wrap_context())?;
        let (tx, rx) = mpsc::channel::<Chunk>(4);
        let blobs = Arc::clone(&self.blobs);
        let hasher = keyring.hash_key.hasher();
        let writer =
            tokio::task::spawn_blocking(move || seal_to_blob(&*blobs, &dek, ids, hasher, None, rx));
        let mut received = 0u64;
        let fed: Result<(), StoreError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                received += chunk.len() as u64;
                if received > version.size {
                    return Err(integrity(
                        path.as_str(),
                        version.version,
                        "restored content is too long",
                    ));
                }
                if tx.send(Chunk::Data(vec![chunk])).await.is_err() {
                    return Ok(());
                }
            }
            Ok(())
        }
        .await;
        if fed.is_ok() {
            let _ = tx.send(Chunk::Finish).await;
        }
        drop(tx);
        let sealed = map_task(writer.await)?;
        let discard = |inline: bool| {
            if !inline && let Err(e) = self.blobs.delete(&version.blob_key()) {
                tracing::warn!(error = %e, "could not remove a rejected restored blob");
            }
        };
        if let Err(e) = fed {
            if let Ok(s) = &sealed {
                discard(s.inline.is_some());
            }
            return Err(e);
        }
        let Sealed {
            size,
            content_hash,
            inline,
            ..
        } = sealed?;
        if size != version.size || !content_hash.ct_eq(&version.content_hash) {
            discard(inline.is_some());
            return Err(integrity(
                path.as_str(),
                version.version,
                "restored content does not match the version's content hash",
            ));
        }
        Ok(Resealed {
            version_id: version.version_id,
            wrapped_key,
            inline,
        })
    }

    /// Commits re-sealed versions (one transaction).
    pub async fn commit_resealed(&self, batch: Vec<Resealed>) -> Result<(), StoreError> {
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
