//! Writing a backup: content-defined chunking, deduplication against the index, sealing,
//! packing and uploading, then the index and finally the snapshot manifest.
//!
//! The caller feeds each entry's plaintext through a [`ChunkSink`] on blocking threads (as
//! many as it likes, concurrently); chunk ids already in the repository, or added by this
//! backup, are only referenced. Full packs are uploaded as they close; every
//! [`INDEX_EVERY`] packs, and at the end, an index file records them; the snapshot is
//! written last. A backup cut short at any point leaves only unreferenced packs or index
//! entries, never a snapshot naming something missing.

use std::collections::HashSet;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fastcdc::v2020::{FastCDC, Normalization, StreamCDC};

use crate::index::{Index, PackRecord};
use crate::lock::RepoLock;
use crate::pack::{ChunkId, FinishedPack, PackBuilder, pack_object, parse_id, seal_chunk};
use crate::repo::{now_ms, random_name};
use crate::{BackupError, Repository, Snapshot};

/// Packs per index file.
const INDEX_EVERY: usize = 64;

/// Told how many plaintext bytes have been processed (for progress bars).
pub trait Progress: Send + Sync {
    fn advance(&self, bytes: u64);
}

#[derive(Default)]
struct PackState {
    builder: PackBuilder,
    pending: Vec<PackRecord>,
}

struct Shared {
    repo: Arc<Repository>,
    handle: tokio::runtime::Handle,
    known: Mutex<HashSet<ChunkId>>,
    state: Mutex<PackState>,
    chunks_added: AtomicU64,
    bytes_added: AtomicU64,
    plain_added: AtomicU64,
    progress: Option<Arc<dyn Progress>>,
}

/// A backup being written (holds a shared repository lock).
pub struct BackupWriter {
    shared: Arc<Shared>,
    lock: RepoLock,
    parent: Option<Snapshot>,
    /// The parent's manifest name and depth: a snapshot listing the same versions shares
    /// it, one listing a few changes is stored as a delta from it.
    parent_manifest: Option<(String, u32)>,
    started: std::time::Instant,
}

/// Stores entry contents; cheap to clone into blocking tasks.
#[derive(Clone)]
pub struct ChunkSink {
    shared: Arc<Shared>,
}

fn poisoned() -> BackupError {
    BackupError::Task("a backup worker panicked".into())
}

impl BackupWriter {
    /// Locks the repository (shared), loads its index and finds the latest snapshot of
    /// `source` to reuse unchanged entries from.
    pub async fn start(
        repo: Arc<Repository>,
        source: &str,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<Self, BackupError> {
        let lock = RepoLock::take(&repo, false, "backup").await?;
        let prepared = async {
            let started = std::time::Instant::now();
            let index = Index::load(&repo).await?;
            tracing::debug!(ms = started.elapsed().as_millis(), "backup: index loaded");
            let parent = repo
                .snapshot_infos()
                .await?
                .into_iter()
                .rev()
                .find(|s| s.source == source);
            let (parent, manifest) = match parent {
                Some(info) => {
                    let manifest = info.manifest.clone();
                    let (snapshot, depth) = repo
                        .load_with(info, &mut crate::manifest::Manifests::new(0))
                        .await?;
                    (Some(snapshot), Some((manifest, depth)))
                }
                None => (None, None),
            };
            tracing::debug!(ms = started.elapsed().as_millis(), "backup: parent loaded");
            Ok::<_, BackupError>((index, parent, manifest))
        }
        .await;
        let (index, parent, parent_manifest) = match prepared {
            Ok(p) => p,
            Err(e) => {
                lock.release().await;
                return Err(e);
            }
        };
        let known = index.chunks.keys().copied().collect();
        Ok(Self {
            shared: Arc::new(Shared {
                repo,
                handle: tokio::runtime::Handle::current(),
                known: Mutex::new(known),
                state: Mutex::new(PackState::default()),
                chunks_added: AtomicU64::new(0),
                bytes_added: AtomicU64::new(0),
                plain_added: AtomicU64::new(0),
                progress,
            }),
            lock,
            parent,
            parent_manifest,
            started: std::time::Instant::now(),
        })
    }

    /// The snapshot this one builds on, if any.
    pub fn parent(&self) -> Option<&Snapshot> {
        self.parent.as_ref()
    }

    /// Whether every chunk in `chunks` is in the repository (so an entry can be reused).
    pub fn has_all(&self, chunks: &[String]) -> bool {
        let Ok(known) = self.shared.known.lock() else {
            return false;
        };
        chunks
            .iter()
            .all(|c| parse_id(c).is_some_and(|id| known.contains(&id)))
    }

    pub fn sink(&self) -> ChunkSink {
        ChunkSink {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Uploads what is left, writes the index and then `snapshot`; returns it with its id.
    pub async fn finish(self, mut snapshot: Snapshot) -> Result<Snapshot, BackupError> {
        let result = async {
            let shared = Arc::clone(&self.shared);
            let pending = crate::error::join(
                tokio::task::spawn_blocking(move || {
                    let builder = {
                        let mut state = shared.state.lock().map_err(|_| poisoned())?;
                        std::mem::take(&mut state.builder)
                    };
                    if !builder.is_empty() {
                        shared.upload(builder)?;
                    }
                    let mut state = shared.state.lock().map_err(|_| poisoned())?;
                    Ok::<_, BackupError>(std::mem::take(&mut state.pending))
                })
                .await,
            )??;
            let repo = &self.shared.repo;
            tracing::debug!(
                ms = self.started.elapsed().as_millis(),
                "backup: last pack uploaded"
            );
            snapshot.parent = self.parent.as_ref().map(|p| p.id.clone());
            snapshot.stats.chunks_added = self.shared.chunks_added.load(Ordering::Relaxed);
            snapshot.stats.bytes_added = self.shared.bytes_added.load(Ordering::Relaxed);
            snapshot.stats.plain_added = self.shared.plain_added.load(Ordering::Relaxed);
            snapshot.stats.duration_ms =
                u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            if snapshot.time_ms == 0 {
                snapshot.time_ms = now_ms();
            }
            // The last index file and the manifest side by side (neither is referenced yet),
            // then the header, which must only name what is already durable.
            let index = async {
                if pending.is_empty() {
                    return Ok(());
                }
                let file = crate::index::IndexFile { packs: pending };
                repo.put_object("index", &random_name()?, &file).await
            };
            let manifest = async {
                let all = repo.manifest_lists_all();
                match (&self.parent, &self.parent_manifest) {
                    // Nothing changed: the parent's manifest already lists these entries
                    // (comparing entries costs far less than serialising and hashing them).
                    (Some(parent), Some((name, _)))
                        if parent.listed(all).eq(snapshot.listed(all)) =>
                    {
                        Ok(snapshot.split(name.clone(), all).0)
                    }
                    (Some(parent), Some((name, depth))) => {
                        let base = crate::manifest::Base {
                            name,
                            depth: *depth,
                            entries: parent.listed(all).collect(),
                        };
                        repo.put_manifest(&snapshot, Some(base)).await
                    }
                    _ => repo.put_manifest(&snapshot, None).await,
                }
            };
            let (index, manifest) = tokio::join!(index, manifest);
            index?;
            snapshot.id = repo.put_header(manifest?).await?.id;
            Ok(snapshot)
        }
        .await;
        self.lock.release().await;
        result
    }

    /// Gives up: releases the lock; what was uploaded stays unreferenced until a prune.
    pub async fn abort(self) {
        self.lock.release().await;
    }
}

impl Shared {
    /// Blocking: seals the pack's header, uploads it, and queues its index record (writing
    /// an index file when enough are queued).
    fn upload(&self, builder: PackBuilder) -> Result<(), BackupError> {
        let FinishedPack { name, bytes, blobs } = builder.finish(&self.repo.cipher)?;
        let size = bytes.len() as u64;
        self.handle.block_on(
            self.repo
                .backend
                .put(&pack_object(&name), Bytes::from(bytes)),
        )?;
        self.bytes_added.fetch_add(size, Ordering::Relaxed);
        let batch = {
            let mut state = self.state.lock().map_err(|_| poisoned())?;
            state.pending.push(PackRecord { name, size, blobs });
            if state.pending.len() >= INDEX_EVERY {
                Some(std::mem::take(&mut state.pending))
            } else {
                None
            }
        };
        if let Some(packs) = batch {
            let file = crate::index::IndexFile { packs };
            self.handle
                .block_on(self.repo.put_object("index", &random_name()?, &file))?;
        }
        Ok(())
    }

    fn add_chunk(&self, plain: &[u8]) -> Result<String, BackupError> {
        let id = self.repo.cipher.chunk_id(plain);
        let fresh = self.known.lock().map_err(|_| poisoned())?.insert(id);
        if fresh {
            let sealed = seal_chunk(&self.repo.cipher, self.repo.zstd_level(), &id, plain)?;
            let full = {
                let mut state = self.state.lock().map_err(|_| poisoned())?;
                state.builder.add(id, &sealed, plain.len());
                if state.builder.is_full() {
                    Some(std::mem::take(&mut state.builder))
                } else {
                    None
                }
            };
            self.chunks_added.fetch_add(1, Ordering::Relaxed);
            self.plain_added
                .fetch_add(plain.len() as u64, Ordering::Relaxed);
            if let Some(builder) = full {
                self.upload(builder)?;
            }
        }
        if let Some(p) = &self.progress {
            p.advance(plain.len() as u64);
        }
        Ok(hex::encode(id))
    }
}

/// A paged file is cut into at most about this many chunks.
const PAGED_CHUNKS: u64 = 4096;
/// Smallest chunk of a paged file: SQLite's default page size.
const PAGED_MIN: u64 = 4096;
/// Largest chunk of a paged file.
const PAGED_MAX: u64 = 1024 * 1024;

/// The chunk size for a paged file of `len` bytes: a power of two from 4 KiB (so chunks
/// hold whole database pages) to 1 MiB, the smallest that keeps the list under about
/// [`PAGED_CHUNKS`] chunks. It doubles as the file grows past each power of two (the next
/// backup then stores the file afresh, once).
pub fn paged_chunk_size(len: u64) -> usize {
    let size = len
        .div_ceil(PAGED_CHUNKS)
        .clamp(PAGED_MIN, PAGED_MAX)
        .next_power_of_two();
    usize::try_from(size).unwrap_or(PAGED_MAX as usize)
}

impl ChunkSink {
    /// Blocking: like [`ChunkSink::store`], for a file that changes in place page by page
    /// (the database copy): fixed-size chunks of [`paged_chunk_size`] bytes, so a changed
    /// page re-stores one small chunk instead of a content-defined one of 128 KiB on
    /// average. Fixed sizes say nothing about the content.
    pub fn store_paged(
        &self,
        reader: &mut dyn Read,
        len: u64,
    ) -> Result<(Vec<String>, u64), BackupError> {
        let mut buf = vec![0u8; paged_chunk_size(len)];
        let mut ids = Vec::new();
        let mut total = 0u64;
        loop {
            let mut filled = 0;
            while filled < buf.len() {
                let rest = buf.get_mut(filled..).unwrap_or_default();
                match reader.read(rest) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(BackupError::Source(e.to_string())),
                }
            }
            let Some(chunk) = buf.get(..filled).filter(|c| !c.is_empty()) else {
                break;
            };
            ids.push(self.shared.add_chunk(chunk)?);
            total += filled as u64;
            if filled < buf.len() {
                break;
            }
        }
        Ok((ids, total))
    }

    /// Blocking: chunks everything `reader` yields and stores new chunks. Returns the chunk
    /// ids in order and the number of bytes read.
    pub fn store(
        &self,
        reader: &mut dyn Read,
        size_hint: u64,
    ) -> Result<(Vec<String>, u64), BackupError> {
        let params = self.shared.repo.chunker();
        let (min, avg, max) = (
            params.min as usize,
            params.avg as usize,
            params.max as usize,
        );
        let seed = self.shared.repo.cipher.chunker_seed();
        let mut ids = Vec::new();
        let mut total = 0u64;
        if size_hint <= max as u64 {
            let mut buf = Vec::with_capacity(usize::try_from(size_hint).unwrap_or(0));
            reader
                .read_to_end(&mut buf)
                .map_err(|e| BackupError::Source(e.to_string()))?;
            total = buf.len() as u64;
            if buf.is_empty() {
                return Ok((ids, 0));
            }
            for chunk in
                FastCDC::with_level_and_seed(&buf, min, avg, max, Normalization::Level1, seed)
            {
                let data = buf
                    .get(chunk.offset..chunk.offset + chunk.length)
                    .ok_or_else(|| BackupError::Task("chunker out of bounds".into()))?;
                ids.push(self.shared.add_chunk(data)?);
            }
            return Ok((ids, total));
        }
        let chunker =
            StreamCDC::with_level_and_seed(reader, min, avg, max, Normalization::Level1, seed);
        for chunk in chunker {
            let chunk = chunk.map_err(|e| BackupError::Source(e.to_string()))?;
            total += chunk.length as u64;
            ids.push(self.shared.add_chunk(&chunk.data)?);
        }
        Ok((ids, total))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::{InitOptions, LocalBackend, RepoSecret};

    #[test]
    fn paged_chunks_are_page_multiples_and_few() {
        assert_eq!(paged_chunk_size(0), 4096);
        assert_eq!(paged_chunk_size(16 * 4096), 4096);
        assert_eq!(paged_chunk_size(25_000_000), 8192);
        assert_eq!(paged_chunk_size(1 << 30), 256 * 1024);
        assert_eq!(paged_chunk_size(1 << 40), 1024 * 1024);
    }

    #[tokio::test]
    async fn a_changed_page_stores_one_chunk_and_the_rest_is_referenced() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = RepoSecret::KeyFile(zeroize::Zeroizing::new(vec![b'3'; 64]));
        let backend = Arc::new(LocalBackend::new(tmp.path()));
        let (repo, _) = Repository::init(backend, &secret, InitOptions::default())
            .await
            .unwrap();
        let writer = BackupWriter::start(Arc::new(repo), "src", None)
            .await
            .unwrap();
        let mut data: Vec<u8> = (0..10 * 4096 + 100).map(|i| (i * 7 % 251) as u8).collect();
        let store = |data: Vec<u8>| {
            let sink = writer.sink();
            tokio::task::spawn_blocking(move || {
                let len = data.len() as u64;
                sink.store_paged(&mut data.as_slice(), len).unwrap()
            })
        };
        let (first, n) = store(data.clone()).await.unwrap();
        assert_eq!(
            (first.len(), n),
            (11, data.len() as u64),
            "ten whole pages and a tail"
        );
        let added = writer.shared.chunks_added.load(Ordering::Relaxed);
        data[5 * 4096 + 17] ^= 0xff;
        let (second, _) = store(data.clone()).await.unwrap();
        let changed: Vec<usize> = (0..11).filter(|i| first[*i] != second[*i]).collect();
        assert_eq!(changed, [5]);
        assert_eq!(
            writer.shared.chunks_added.load(Ordering::Relaxed),
            added + 1
        );
        let (empty, n) = store(Vec::new()).await.unwrap();
        assert!(empty.is_empty() && n == 0);
        writer.abort().await;
    }
}
