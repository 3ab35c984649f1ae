//! The blocking half of the encrypting layer: sealing a plaintext stream into segments
//! (inline or into a blob), and opening a version's segments in order.
//!
//! These run on blocking threads fed by channels from [`crate::Workspace`], which decides what
//! to seal and where the result is committed; this module never touches metadata.

use std::sync::Arc;

use bytes::Bytes;
use covault_crypto::{
    ContentHash, DataKey, ObjectIds, SEGMENT_SIZE, SegmentOpener, SegmentSealer, TAG_LEN,
    sealed_len, segment_count,
};
use tokio::sync::mpsc;

use crate::{BlobRead, BlobStore, Keyring, StoreError, VersionRecord, WorkspacePath};

/// Segments per batch handed between the blocking thread and the async side (1 MiB).
pub(crate) const BATCH_SEGMENTS: usize = 16;
/// Versions whose sealed form is at most this size (one full segment) are kept inline in the
/// metadata store, committed in the same transaction as their version row.
const INLINE_MAX: usize = SEGMENT_SIZE + TAG_LEN;

pub(crate) enum Chunk {
    Data(Vec<Bytes>),
    Finish,
}

/// What sealing produced: the plaintext size and keyed hash, and the sealed bytes themselves
/// when they are small enough to be kept inline (otherwise they are in a committed blob).
pub(crate) struct Sealed {
    pub(crate) scan: Option<crate::classify::ScanSummary>,
    pub(crate) size: u64,
    pub(crate) content_hash: ContentHash,
    pub(crate) inline: Option<Vec<u8>>,
}

/// A reader of one version's sealed bytes.
pub(crate) enum SealedSource {
    Inline(Vec<u8>),
    Blob {
        blobs: Arc<dyn BlobStore>,
        key: crate::BlobKey,
        path: String,
        version: i64,
    },
}

impl SealedSource {
    /// Blocking: opens the bytes for sequential reading.
    pub(crate) fn open(self) -> Result<Box<dyn BlobRead>, StoreError> {
        match self {
            SealedSource::Inline(data) => Ok(Box::new(crate::blob::MemoryBlob::new(data))),
            SealedSource::Blob {
                blobs,
                key,
                path,
                version,
            } => blobs
                .open(&key)
                .map_err(|e| integrity(&path, version, &format!("blob unreadable: {e}"))),
        }
    }
}

pub(crate) fn object_ids(file_id: &str, version_id: &[u8; 16]) -> Result<ObjectIds, StoreError> {
    let mut id = [0u8; 16];
    hex::decode_to_slice(file_id, &mut id)
        .map_err(|_| StoreError::Corrupt("bad file id".into()))?;
    Ok(ObjectIds {
        file_id: id,
        version_id: *version_id,
    })
}

pub(crate) fn integrity(path: &str, version: i64, what: &str) -> StoreError {
    StoreError::Integrity {
        path: path.to_owned(),
        version,
        what: what.to_owned(),
    }
}

/// Blocking: seals chunks from `rx`; on `Finish`, returns small results inline or commits
/// (durably) the blob they were streamed into.
pub(crate) fn seal_to_blob(
    blobs: Arc<dyn BlobStore>,
    dek: &DataKey,
    ids: ObjectIds,
    hasher: covault_crypto::ContentHasher,
    scan: Option<crate::classify::ContentScan>,
    mut rx: mpsc::Receiver<Chunk>,
) -> Result<Sealed, StoreError> {
    let mut writer = SealWriter::new(blobs, dek, ids, hasher, scan)?;
    loop {
        match rx.blocking_recv() {
            Some(Chunk::Data(chunks)) => {
                for bytes in chunks {
                    writer.push(&bytes)?;
                }
            }
            Some(Chunk::Finish) => return writer.finish(),
            // Dropping the writer without finishing discards the partial blob.
            None => return Err(StoreError::UploadAborted("the body ended early".into())),
        }
    }
}

/// Blocking: seals one version's plaintext as it is pushed, inline while it fits in
/// [`INLINE_MAX`], then into a blob.
///
/// Segments are assembled and sealed in place inside one output buffer that is written out
/// every [`BATCH_SEGMENTS`] segments, so each byte is copied once on its way to the file. The
/// blob is only created once the sealed bytes outgrow [`INLINE_MAX`]. Dropping the writer
/// before [`SealWriter::finish`] discards a partial blob.
pub(crate) struct SealWriter {
    blobs: Arc<dyn BlobStore>,
    key: crate::BlobKey,
    writer: Option<Box<dyn crate::BlobWrite>>,
    sealer: SegmentSealer,
    out: Vec<u8>,
    segment_start: usize,
    size: u64,
    hasher: covault_crypto::ContentHasher,
    scan: Option<crate::classify::ContentScan>,
    cold: bool,
}

const SEALED_SEGMENT: usize = SEGMENT_SIZE + TAG_LEN;

impl SealWriter {
    pub(crate) fn new(
        blobs: Arc<dyn BlobStore>,
        dek: &DataKey,
        ids: ObjectIds,
        hasher: covault_crypto::ContentHasher,
        scan: Option<crate::classify::ContentScan>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            blobs,
            key: crate::BlobKey::from_version_id(&ids.version_id),
            writer: None,
            sealer: SegmentSealer::new(dek, ids)?,
            out: Vec::new(),
            segment_start: 0,
            size: 0,
            hasher,
            scan,
            cold: false,
        })
    }

    /// Writes the blob as a bulk write nobody will read back soon ([`BlobStore::create_cold`]).
    pub(crate) fn cold(mut self) -> Self {
        self.cold = true;
        self
    }

    fn seal_current(&mut self, last: bool) -> Result<(), StoreError> {
        let tag = self
            .sealer
            .seal_detached(&mut self.out[self.segment_start..], last)?;
        self.out.extend_from_slice(&tag);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.writer.is_none() {
            self.writer = Some(if self.cold {
                self.blobs.create_cold(&self.key)?
            } else {
                self.blobs.create(&self.key)?
            });
        }
        if let Some(w) = self.writer.as_mut() {
            w.write_all(&self.out)?;
        }
        self.out.clear();
        Ok(())
    }

    pub(crate) fn push(&mut self, mut bytes: &[u8]) -> Result<(), StoreError> {
        self.hasher.update(bytes);
        if let Some(scan) = self.scan.as_mut() {
            scan.update(bytes);
        }
        self.size += bytes.len() as u64;
        if self.out.capacity() == 0 {
            // Small versions stay small; large ones get the whole batch buffer at once.
            let want = if bytes.len() < SEGMENT_SIZE {
                SEALED_SEGMENT
            } else {
                BATCH_SEGMENTS * SEALED_SEGMENT
            };
            self.out.reserve(want);
        }
        while !bytes.is_empty() {
            if self.out.len() - self.segment_start == SEGMENT_SIZE {
                self.seal_current(false)?;
                if self.out.len() >= BATCH_SEGMENTS * SEALED_SEGMENT {
                    self.flush()?;
                }
                self.segment_start = self.out.len();
            }
            let take = (SEGMENT_SIZE - (self.out.len() - self.segment_start)).min(bytes.len());
            self.out.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<Sealed, StoreError> {
        self.seal_current(true)?;
        let content_hash = self.hasher.finalize();
        let scan = self
            .scan
            .take()
            .map(crate::classify::ContentScan::finish)
            .transpose()?;
        if self.writer.is_none() && self.out.len() <= INLINE_MAX {
            return Ok(Sealed {
                scan,
                size: self.size,
                content_hash,
                inline: Some(std::mem::take(&mut self.out)),
            });
        }
        self.flush()?;
        if let Some(w) = self.writer.take() {
            w.commit()?;
        }
        Ok(Sealed {
            scan,
            size: self.size,
            content_hash,
            inline: None,
        })
    }
}

/// Blocking, sequential decryption of one version's blob.
pub(crate) struct Decryptor {
    reader: Box<dyn BlobRead>,
    opener: SegmentOpener,
    size: u64,
    next_index: u64,
    segments: u64,
    path: String,
    version: i64,
}

impl Decryptor {
    pub(crate) fn new(
        reader: Box<dyn BlobRead>,
        dek: &DataKey,
        ids: ObjectIds,
        size: u64,
        path: String,
        version: i64,
    ) -> Result<Self, StoreError> {
        if reader.len() != sealed_len(size) {
            return Err(integrity(
                &path,
                version,
                "sealed content has the wrong length (truncated or extended)",
            ));
        }
        Ok(Self {
            reader,
            opener: SegmentOpener::new(dek, ids)?,
            size,
            next_index: 0,
            segments: segment_count(size),
            path,
            version,
        })
    }

    pub(crate) fn is_done(&self) -> bool {
        self.next_index >= self.segments
    }

    /// The next batch of authenticated plaintext, or `None` at the end. Each sealed segment
    /// is read straight into the output buffer and opened in place; its tag is overwritten
    /// by the next segment, so plaintext is never copied.
    pub(crate) fn next_batch(&mut self) -> Result<Option<Bytes>, StoreError> {
        if self.next_index >= self.segments {
            return Ok(None);
        }
        // Exactly what this batch holds: a small file never pays for a 1 MiB buffer.
        let count = (self.segments - self.next_index).min(BATCH_SEGMENTS as u64);
        let first_plain = self.next_index * SEGMENT_SIZE as u64;
        let plain_in_batch = (self.size - first_plain).min(count * SEGMENT_SIZE as u64) as usize;
        let mut out = vec![0u8; plain_in_batch + TAG_LEN];
        let mut filled = 0usize;
        for _ in 0..BATCH_SEGMENTS {
            if self.next_index >= self.segments {
                break;
            }
            let index = self.next_index;
            let last = index + 1 == self.segments;
            let plain_len = if last {
                (self.size - index * SEGMENT_SIZE as u64) as usize
            } else {
                SEGMENT_SIZE
            };
            let sealed = &mut out[filled..filled + plain_len + TAG_LEN];
            self.reader
                .read_exact(sealed)
                .map_err(|e| integrity(&self.path, self.version, &e.to_string()))?;
            let n = self.opener.open(index, last, sealed).map_err(|_| {
                integrity(
                    &self.path,
                    self.version,
                    &format!("segment {index} failed authentication"),
                )
            })?;
            filled += n;
            self.next_index += 1;
        }
        out.truncate(filled);
        Ok(Some(Bytes::from(out)))
    }
}

/// Blocking: sends decrypted batches until the end, an error, or the receiver going away.
pub(crate) fn pump(mut decryptor: Decryptor, tx: mpsc::Sender<Result<Bytes, StoreError>>) {
    loop {
        let item = match decryptor.next_batch() {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => return,
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        if tx.blocking_send(item).is_err() || failed {
            return;
        }
    }
}

pub(crate) fn verify_version(
    source: SealedSource,
    keyring: &Keyring,
    path: &WorkspacePath,
    version: &VersionRecord,
) -> Result<(), String> {
    let wrapped = version.wrapped_key.as_ref().ok_or("no data key")?;
    let ids = object_ids(&version.file_id, &version.version_id).map_err(|e| e.to_string())?;
    let dek = keyring
        .kek
        .unwrap(wrapped, &ids.wrap_context())
        .map_err(|e| format!("data key: {e}"))?;
    let reader = source.open().map_err(|e| e.to_string())?;
    let mut dec = Decryptor::new(
        reader,
        &dek,
        ids,
        version.size,
        path.to_string(),
        version.version,
    )
    .map_err(|e| e.to_string())?;
    let mut hasher = keyring.hash_key.hasher();
    while let Some(batch) = dec.next_batch().map_err(|e| e.to_string())? {
        hasher.update(&batch);
    }
    if hasher.finalize().ct_eq(&version.content_hash) {
        Ok(())
    } else {
        Err("content hash does not match".into())
    }
}
