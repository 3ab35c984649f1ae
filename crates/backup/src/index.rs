//! The index: which pack holds each chunk. Index files are written only after the packs they
//! describe are durable, and a snapshot only after its index files, so anything a snapshot
//! names can be found. Loading tolerates a chunk listed twice (a prune or backup cut short
//! between writing a new index and removing the old one): every listed copy is valid.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::pack::{BlobEntry, ChunkId};
use crate::{BackupError, Repository};

/// One pack as an index file records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PackRecord {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) blobs: Vec<BlobEntry>,
}

/// The body of an `index/<id>` object.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct IndexFile {
    pub(crate) packs: Vec<PackRecord>,
}

/// Where one chunk is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Location {
    pub(crate) pack: u32,
    pub(crate) entry: BlobEntry,
}

/// Every index file, merged.
#[derive(Default)]
pub(crate) struct Index {
    pub(crate) files: Vec<String>,
    pub(crate) packs: Vec<PackRecord>,
    pub(crate) by_name: HashMap<String, u32>,
    pub(crate) chunks: HashMap<ChunkId, Location>,
}

impl Index {
    pub(crate) async fn load(repo: &Repository) -> Result<Self, BackupError> {
        let mut index = Index::default();
        for name in repo.names("index").await? {
            let file: IndexFile = repo.get_object("index", &name).await?;
            index.files.push(name);
            for pack in file.packs {
                index.add(pack);
            }
        }
        Ok(index)
    }

    pub(crate) fn add(&mut self, pack: PackRecord) {
        if self.by_name.contains_key(&pack.name) {
            return;
        }
        let n = u32::try_from(self.packs.len()).unwrap_or(u32::MAX);
        for entry in &pack.blobs {
            self.chunks.entry(entry.id).or_insert(Location {
                pack: n,
                entry: *entry,
            });
        }
        self.by_name.insert(pack.name.clone(), n);
        self.packs.push(pack);
    }

    pub(crate) fn locate(&self, id: &ChunkId) -> Option<(&str, BlobEntry)> {
        let loc = self.chunks.get(id)?;
        let pack = self.packs.get(loc.pack as usize)?;
        Some((pack.name.as_str(), loc.entry))
    }
}
