//! Reading a backup back: chunks fetched by range from their packs, opened, checked against
//! their ids and streamed in order (a few ahead), so a restore never trusts a byte it has not
//! authenticated.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};

use crate::index::Index;
use crate::pack::{Rehash, open_chunk, pack_object, parse_id};
use crate::snapshot::Entry;
use crate::{BackupError, Repository};

/// Chunks fetched ahead of the one being consumed.
const READ_AHEAD: usize = 4;

/// Reads entries of any snapshot of one repository.
#[derive(Clone)]
pub struct RepoReader {
    repo: Arc<Repository>,
    index: Arc<Index>,
}

impl RepoReader {
    pub async fn open(repo: Arc<Repository>) -> Result<Self, BackupError> {
        let index = Arc::new(Index::load(&repo).await?);
        Ok(Self { repo, index })
    }

    /// Every chunk id the index knows (hex), for exhaustive checks.
    pub fn chunk_ids(&self) -> Vec<String> {
        self.index.chunks.keys().map(hex::encode).collect()
    }

    /// Whether every chunk of `entry` is indexed.
    pub fn complete(&self, entry: &Entry) -> bool {
        entry
            .chunks
            .iter()
            .all(|c| parse_id(c).is_some_and(|id| self.index.chunks.contains_key(&id)))
    }

    /// Where chunk `id` is: its pack and its entry there.
    fn locate(&self, id: &str) -> Result<(&str, crate::pack::BlobEntry), BackupError> {
        let parsed =
            parse_id(id).ok_or_else(|| BackupError::Corrupt(format!("bad chunk id {id}")))?;
        self.index
            .locate(&parsed)
            .ok_or_else(|| BackupError::Corrupt(format!("chunk {id} is not in the index")))
    }

    /// One chunk's plaintext, authenticated.
    pub async fn chunk(&self, id: &str) -> Result<Bytes, BackupError> {
        let (pack, entry) = self.locate(id)?;
        let sealed = self
            .repo
            .backend
            .get_range(
                &pack_object(pack),
                entry.offset..entry.offset + u64::from(entry.len),
            )
            .await?;
        let cipher = Arc::clone(&self.repo.cipher);
        let plain = crate::error::join(
            tokio::task::spawn_blocking(move || open_chunk(&cipher, &entry, &sealed, Rehash::Yes))
                .await,
        )??;
        Ok(plain)
    }

    /// The pack holding chunk `id` and the chunk's sealed length, if indexed.
    pub fn pack_of(&self, id: &str) -> Option<(String, u32)> {
        let (pack, entry) = self.index.locate(&parse_id(id)?)?;
        Some((pack.to_owned(), entry.len))
    }

    /// Blocking (call from a blocking thread): one chunk's plaintext, authenticated. With
    /// `pack` (the whole pack object chunk `id` lives in, as fetched by
    /// [`RepoReader::fetch_pack_blocking`]) nothing is read from the repository. With
    /// [`Rehash::No`] the caller must check the content it assembles against a keyed hash of
    /// its own.
    pub fn chunk_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        id: &str,
        pack: Option<&Bytes>,
        rehash: Rehash,
    ) -> Result<Bytes, BackupError> {
        let (name, entry) = self.locate(id)?;
        let range = entry.offset..entry.offset + u64::from(entry.len);
        let sealed = match pack {
            Some(bytes) => {
                let start = usize::try_from(range.start).unwrap_or(usize::MAX);
                let end = usize::try_from(range.end).unwrap_or(usize::MAX);
                bytes
                    .get(start..end)
                    .map(|b| bytes.slice_ref(b))
                    .ok_or_else(|| BackupError::Corrupt(format!("pack {name} is short")))?
            }
            None => {
                let object = pack_object(name);
                match self.repo.backend.get_range_blocking(&object, range.clone()) {
                    Some(got) => got?,
                    None => runtime.block_on(self.repo.backend.get_range(&object, range))?,
                }
            }
        };
        open_chunk(&self.repo.cipher, &entry, &sealed, rehash)
    }

    /// Blocking (call from a blocking thread): a whole pack object, to read many small
    /// chunks of it with one request; read on this thread where the backend allows (no
    /// hand-off to the runtime and back).
    pub fn fetch_pack_blocking(
        &self,
        runtime: &tokio::runtime::Handle,
        name: &str,
    ) -> Result<Bytes, BackupError> {
        let object = pack_object(name);
        match self.repo.backend.get_blocking(&object) {
            Some(got) => got,
            None => runtime.block_on(self.repo.backend.get(&object)),
        }
    }

    /// The entry's content as a stream of authenticated chunks.
    pub fn stream(&self, entry: &Entry) -> BoxStream<'static, Result<Bytes, BackupError>> {
        let reader = self.clone();
        futures_util::stream::iter(entry.chunks.clone())
            .map(move |id| {
                let reader = reader.clone();
                async move { reader.chunk(&id).await }
            })
            .buffered(READ_AHEAD)
            .boxed()
    }

    /// The entry's whole content (for small entries such as the configuration).
    pub async fn read_all(&self, entry: &Entry, limit: u64) -> Result<Vec<u8>, BackupError> {
        if entry.size > limit {
            return Err(BackupError::Corrupt(format!(
                "{} is larger than {limit} bytes",
                entry.id
            )));
        }
        let mut out = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
        let mut stream = self.stream(entry);
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        if out.len() as u64 != entry.size {
            return Err(BackupError::Corrupt(format!(
                "{} has the wrong size",
                entry.id
            )));
        }
        Ok(out)
    }
}
