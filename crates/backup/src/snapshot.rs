//! Snapshot manifests: what one backup holds, entry by entry, as lists of chunk ids.
//!
//! An entry is one immutable piece of the workspace: a file version (named by its version id,
//! so the next backup can reuse its chunk list without reading it again), the metadata
//! database copy, or the configuration file. Manifests carry ids, sizes and keyed hashes;
//! they are sealed like every other object.

use serde::{Deserialize, Serialize};

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// One version of one file.
    Version,
    /// The metadata database (keyring, principals, audit log, version records).
    Database,
    /// The workspace configuration file.
    Config,
}

/// One entry of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    /// The version id (hex) for versions; `meta.db` / `covault.toml` otherwise.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The version's tier label (restored with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub size: u64,
    /// The workspace's keyed content hash (hex) of a version, checked on restore and drills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Chunk ids (hex), in order.
    pub chunks: Vec<String>,
}

/// Totals recorded with a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotStats {
    pub files: u64,
    pub versions: u64,
    /// Plaintext bytes the snapshot describes.
    pub bytes: u64,
    /// Versions read this time (the rest were unchanged since the parent).
    pub versions_read: u64,
    pub bytes_read: u64,
    /// Chunks and bytes (after compression and encryption) added to the repository.
    pub chunks_added: u64,
    pub bytes_added: u64,
    pub duration_ms: u64,
}

/// A snapshot manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The object name (not stored inside the object).
    #[serde(skip)]
    pub id: String,
    pub time_ms: i64,
    pub hostname: String,
    /// The workspace this is a backup of (its data directory path, for display).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub entries: Vec<Entry>,
    pub stats: SnapshotStats,
    /// Files whose content was removed from this snapshot by `erase` (file ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erased: Vec<String>,
}

impl Snapshot {
    pub fn versions(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.kind == EntryKind::Version)
    }
    pub fn entry(&self, kind: EntryKind) -> Option<&Entry> {
        self.entries.iter().find(|e| e.kind == kind)
    }
    pub fn short_id(&self) -> &str {
        self.id.get(..8).unwrap_or(&self.id)
    }
}
