//! Snapshot manifests: what one backup holds, entry by entry, as lists of chunk ids.
//!
//! An entry is one immutable piece of the workspace: a file version (named by its version id,
//! so the next backup can reuse its chunk list without reading it again), the metadata
//! database copy, or the configuration file. Manifests carry ids, sizes and keyed hashes;
//! they are sealed like every other object.
//!
//! A snapshot is stored in two parts: a small header (`snapshots/<id>`: time, source,
//! totals) and the list of its entries (`manifests/<name>`, named by the keyed hash of its
//! content: every version, then the database copy and the configuration; in format 2
//! repositories the versions only, the other two entries being in the header). Listing
//! snapshots reads headers only, and a backup in which no entry changed names the manifest
//! its parent already wrote instead of storing another copy (one with few changes stores a
//! delta; see the `manifest` module).

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
    /// Plaintext bytes of the chunks added (before compression).
    #[serde(default)]
    pub plain_added: u64,
    pub duration_ms: u64,
}

/// A whole snapshot, as loaded (never stored in this form; see [`SnapshotInfo`]).
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

/// A snapshot's header: everything but its version entries (what listing, status and
/// retention need).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// The object name (not stored inside the object).
    #[serde(skip)]
    pub id: String,
    pub time_ms: i64,
    pub hostname: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub stats: SnapshotStats,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erased: Vec<String>,
    /// The `manifests/` object holding the version entries.
    pub manifest: String,
    /// Format 2: the entries that are not versions (the database copy, the configuration);
    /// format 3 lists them in the manifest and leaves this empty.
    #[serde(default)]
    pub entries: Vec<Entry>,
}

impl SnapshotInfo {
    pub fn short_id(&self) -> &str {
        self.id.get(..8).unwrap_or(&self.id)
    }

    /// The full snapshot, given its manifest's entries.
    pub(crate) fn with_versions(self, mut versions: Vec<Entry>) -> Snapshot {
        versions.extend(self.entries);
        Snapshot {
            id: self.id,
            time_ms: self.time_ms,
            hostname: self.hostname,
            source: self.source,
            parent: self.parent,
            entries: versions,
            stats: self.stats,
            erased: self.erased,
        }
    }
}

impl Snapshot {
    /// Splits the snapshot into its header (naming `manifest`) and the entries its manifest
    /// lists: every entry when `all` (format 3, so headers stay small however large the
    /// database copy's chunk list), else the versions only (format 2, where the header holds
    /// the database and configuration entries).
    pub(crate) fn split(&self, manifest: String, all: bool) -> (SnapshotInfo, Vec<&Entry>) {
        let (versions, others): (Vec<&Entry>, Vec<&Entry>) = self
            .entries
            .iter()
            .partition(|e| all || e.kind == EntryKind::Version);
        let info = SnapshotInfo {
            id: self.id.clone(),
            time_ms: self.time_ms,
            hostname: self.hostname.clone(),
            source: self.source.clone(),
            parent: self.parent.clone(),
            stats: self.stats.clone(),
            erased: self.erased.clone(),
            manifest,
            entries: others.into_iter().cloned().collect(),
        };
        (info, versions)
    }

    /// The entries a manifest lists (see [`Snapshot::split`]).
    pub(crate) fn listed(&self, all: bool) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(move |e| all || e.kind == EntryKind::Version)
    }

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
