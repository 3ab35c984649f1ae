//! A repository: its `config` object (the only plaintext one), how it is unlocked, and the
//! sealed JSON objects (index files, snapshots, drill records) stored beside the packs.
//!
//! Layout: `config`; `data/<2 hex>/<64 hex>` packs named by the BLAKE3 of their bytes;
//! `index/<id>` which chunk is where; `snapshots/<id>` manifests; `drills/<id>` drill
//! results; `locks/<id>` who is working on the repository. The master key is random and kept
//! in `config` only wrapped, under a KEK derived from a passphrase (Argon2id, parameters and
//! salt beside it) or read from a key file — the same scheme as the workspace keyring — with
//! a check value so a wrong key is reported as such. An append-only repository also records
//! the check value of a separate prune key, without which nothing is ever deleted.

use std::sync::Arc;

use bytes::Bytes;
use covault_crypto::{BackupCipher, BackupKey, KdfParams, Kek, KekId, KekMaterial, WrappedKey};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::backend::Backend;
use crate::manifest::{Base, Manifests};
use crate::{BackupError, EntryKind, Snapshot, SnapshotInfo};

/// 2: snapshots are a header plus a content-named manifest of version entries.
/// 3: a manifest lists every entry (the database copy and configuration too) and may be a
/// delta from an earlier one (format 2 repositories are read and written as they are:
/// version-only, whole manifests).
const FORMAT: u32 = 3;
const DELTA_FORMAT: u32 = 3;
const CONFIG: &str = "config";
/// Largest sealed JSON object read (index, snapshot, drill, config).
const MAX_OBJECT: usize = 256 * 1024 * 1024;

/// What unlocks a repository.
pub enum RepoSecret {
    Passphrase(SecretString),
    /// A key file's contents (64 hex characters).
    KeyFile(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for RepoSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RepoSecret([redacted])")
    }
}

/// Chunker parameters, fixed at `init` (changing them would defeat deduplication).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChunkerParams {
    pub min: u32,
    pub avg: u32,
    pub max: u32,
}

impl ChunkerParams {
    /// Smallest and largest average chunk size `init` accepts.
    pub const MIN_AVG: u32 = 64 * 1024;
    pub const MAX_AVG: u32 = 8 * 1024 * 1024;

    /// Chunks of `avg` bytes on average (a power of two), at least half and at most eight
    /// times that.
    pub fn with_average(avg: u32) -> Result<Self, BackupError> {
        if !avg.is_power_of_two() || !(Self::MIN_AVG..=Self::MAX_AVG).contains(&avg) {
            return Err(BackupError::BadRequest(format!(
                "the average chunk size must be a power of two from {} KiB to {} MiB",
                Self::MIN_AVG / 1024,
                Self::MAX_AVG / 1024 / 1024
            )));
        }
        Ok(Self {
            min: avg / 2,
            avg,
            max: avg * 8,
        })
    }
}

/// 128 KiB on average (64 KiB to 1 MiB): a small edit re-stores one chunk, so smaller chunks
/// keep incremental backups and near-duplicate files small. Measured on the backup benchmark
/// against 1 MiB chunks: the first backup 4% smaller, a 1% change stores 40% fewer bytes, at
/// the same CPU time; the index holds about three times as many chunks (bench/RESULTS.md).
impl Default for ChunkerParams {
    fn default() -> Self {
        Self {
            min: 64 * 1024,
            avg: 128 * 1024,
            max: 1024 * 1024,
        }
    }
}

/// How to create a repository.
#[derive(Clone, Debug)]
pub struct InitOptions {
    pub append_only: bool,
    pub chunker: ChunkerParams,
    /// zstd level for chunks (1 to 19); incompressible chunks are stored as they are.
    pub zstd_level: i32,
    /// Argon2id cost when the secret is a passphrase.
    pub kdf: Option<KdfParams>,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            append_only: false,
            chunker: ChunkerParams::default(),
            zstd_level: 1,
            kdf: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct KeyRecord {
    id: String,
    /// `passphrase` or `key-file`.
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<KdfRecord>,
    check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wrapped: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct KdfRecord {
    salt: String,
    m_kib: u32,
    t: u32,
    p: u32,
}

/// The `config` object.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Config {
    format: u32,
    id: String,
    created_at_ms: i64,
    key: KeyRecord,
    append_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prune_key: Option<KeyRecord>,
    chunker: ChunkerParams,
    zstd_level: i32,
}

/// An opened, unlocked repository.
pub struct Repository {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) cipher: Arc<BackupCipher>,
    config: Config,
    prune_allowed: bool,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Repository({}, {})",
            self.config.id,
            self.backend.describe()
        )
    }
}

fn kek_from(record: &KeyRecord, secret: &RepoSecret) -> Result<Kek, BackupError> {
    let material = match (record.source.as_str(), secret) {
        ("passphrase", RepoSecret::Passphrase(pass)) => {
            let kdf = record
                .kdf
                .as_ref()
                .ok_or_else(|| BackupError::Corrupt("config: passphrase key without KDF".into()))?;
            let params = KdfParams {
                salt: hex::decode(&kdf.salt)
                    .map_err(|_| BackupError::Corrupt("config: bad salt".into()))?,
                m_kib: kdf.m_kib,
                t: kdf.t,
                p: kdf.p,
            };
            KekMaterial::from_passphrase(pass, &params)?
        }
        ("key-file", RepoSecret::KeyFile(bytes)) => KekMaterial::from_key_file(bytes)?,
        ("passphrase", RepoSecret::KeyFile(_)) => {
            return Err(BackupError::BadRequest(
                "this repository is unlocked by a passphrase (COVAULT_BACKUP_PASSPHRASE or the workspace's)".into(),
            ));
        }
        _ => {
            return Err(BackupError::BadRequest(
                "this repository is unlocked by a key file (COVAULT_BACKUP_KEY_FILE or the workspace's)".into(),
            ));
        }
    };
    let kek = material.into_kek(KekId::from_stored(record.id.clone()))?;
    let check = hex::decode(&record.check)
        .map_err(|_| BackupError::Corrupt("config: bad check value".into()))?;
    kek.verify_check(&check)
        .map_err(|_| BackupError::WrongKey)?;
    Ok(kek)
}

fn new_key_record(
    secret: &RepoSecret,
    kdf: Option<KdfParams>,
) -> Result<(KeyRecord, Kek), BackupError> {
    let id = KekId::generate()?;
    let (source, kdf_record, material) = match secret {
        RepoSecret::Passphrase(pass) => {
            let params = match kdf {
                Some(p) => p,
                None => KdfParams::recommended()?,
            };
            let material = KekMaterial::from_passphrase(pass, &params)?;
            let record = KdfRecord {
                salt: hex::encode(&params.salt),
                m_kib: params.m_kib,
                t: params.t,
                p: params.p,
            };
            ("passphrase", Some(record), material)
        }
        RepoSecret::KeyFile(bytes) => ("key-file", None, KekMaterial::from_key_file(bytes)?),
    };
    let kek = material.into_kek(id.clone())?;
    let record = KeyRecord {
        id: id.as_str().to_owned(),
        source: source.into(),
        kdf: kdf_record,
        check: hex::encode(kek.check_value()?),
        wrapped: None,
    };
    Ok((record, kek))
}

impl Repository {
    /// Creates a repository. With `append_only`, also returns the contents of a new prune key
    /// file (shown once): the only thing that lets forget/prune delete.
    pub async fn init(
        backend: Arc<dyn Backend>,
        secret: &RepoSecret,
        options: InitOptions,
    ) -> Result<(Self, Option<Zeroizing<String>>), BackupError> {
        match backend.get(CONFIG).await {
            Ok(_) => return Err(BackupError::AlreadyInitialized(backend.describe())),
            Err(BackupError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        if !(1..=19).contains(&options.zstd_level) {
            return Err(BackupError::BadRequest("zstd level must be 1 to 19".into()));
        }
        let id = hex::encode(covault_crypto::random_array::<16>()?);
        let master = BackupKey::generate()?;
        let (mut key, kek) = new_key_record(secret, options.kdf.clone())?;
        let wrapped = master.wrap(&kek, &id)?;
        key.wrapped = Some(hex::encode(&wrapped.bytes));
        let (prune_key, prune_text) = if options.append_only {
            let text = covault_crypto::generate_key_file()?;
            let (record, _) = new_key_record(
                &RepoSecret::KeyFile(Zeroizing::new(text.as_bytes().to_vec())),
                None,
            )?;
            (Some(record), Some(text))
        } else {
            (None, None)
        };
        let config = Config {
            format: FORMAT,
            id,
            created_at_ms: now_ms(),
            key,
            append_only: options.append_only,
            prune_key,
            chunker: options.chunker,
            zstd_level: options.zstd_level,
        };
        let body =
            serde_json::to_vec_pretty(&config).map_err(|e| BackupError::Corrupt(e.to_string()))?;
        backend.put(CONFIG, Bytes::from(body)).await?;
        let cipher = Arc::new(master.cipher()?);
        Ok((
            Self {
                backend,
                cipher,
                config,
                prune_allowed: !options.append_only,
            },
            prune_text,
        ))
    }

    /// Opens and unlocks a repository.
    pub async fn open(backend: Arc<dyn Backend>, secret: &RepoSecret) -> Result<Self, BackupError> {
        let raw = match backend.get(CONFIG).await {
            Ok(raw) => raw,
            Err(BackupError::NotFound(_)) => {
                return Err(BackupError::NotInitialized(backend.describe()));
            }
            Err(e) => return Err(e),
        };
        if raw.len() > 64 * 1024 {
            return Err(BackupError::Corrupt("config is too large".into()));
        }
        let config: Config = serde_json::from_slice(&raw)
            .map_err(|e| BackupError::Corrupt(format!("config: {e}")))?;
        if !(2..=FORMAT).contains(&config.format) {
            return Err(BackupError::Corrupt(format!(
                "repository format {} is not supported (this covault reads 2 to {FORMAT})",
                config.format
            )));
        }
        let (key, id) = (config.key.clone(), config.id.clone());
        let kek = kek_from(&key, secret)?;
        let wrapped = WrappedKey {
            kek_id: KekId::from_stored(key.id.clone()),
            bytes: hex::decode(key.wrapped.as_deref().unwrap_or_default())
                .map_err(|_| BackupError::Corrupt("config: bad wrapped key".into()))?,
        };
        let master = BackupKey::unwrap(&kek, &wrapped, &id).map_err(|_| BackupError::WrongKey)?;
        let cipher = Arc::new(master.cipher()?);
        let prune_allowed = !config.append_only;
        Ok(Self {
            backend,
            cipher,
            config,
            prune_allowed,
        })
    }

    /// Presents the prune key of an append-only repository.
    pub fn allow_prune(&mut self, prune_key_file: &[u8]) -> Result<(), BackupError> {
        let Some(record) = &self.config.prune_key else {
            return Ok(());
        };
        kek_from(
            record,
            &RepoSecret::KeyFile(Zeroizing::new(prune_key_file.to_vec())),
        )
        .map_err(|_| BackupError::BadRequest("that is not this repository's prune key".into()))?;
        self.prune_allowed = true;
        Ok(())
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }
    pub fn location(&self) -> String {
        self.backend.describe()
    }
    pub fn append_only(&self) -> bool {
        self.config.append_only
    }
    pub fn chunker(&self) -> ChunkerParams {
        self.config.chunker
    }
    pub(crate) fn zstd_level(&self) -> i32 {
        self.config.zstd_level
    }

    /// Fails unless this handle may delete (not append-only, or the prune key was given).
    pub(crate) fn may_delete(&self) -> Result<(), BackupError> {
        if self.prune_allowed {
            Ok(())
        } else {
            Err(BackupError::AppendOnly)
        }
    }

    /// Seals `value` as JSON (zstd) under `kind/name`.
    pub(crate) async fn put_object<T: Serialize>(
        &self,
        kind: &str,
        name: &str,
        value: &T,
    ) -> Result<(), BackupError> {
        let json = serde_json::to_vec(value).map_err(|e| BackupError::Corrupt(e.to_string()))?;
        self.put_sealed(kind, name, json).await
    }

    /// Seals serialized JSON (zstd) under `kind/name`.
    async fn put_sealed(&self, kind: &str, name: &str, json: Vec<u8>) -> Result<(), BackupError> {
        let full = format!("{kind}/{name}");
        let cipher = Arc::clone(&self.cipher);
        let aad = full.clone();
        let sealed = crate::error::join(
            tokio::task::spawn_blocking(move || {
                let packed = zstd::bulk::compress(&json, 3)
                    .map_err(|e| BackupError::Corrupt(format!("compressing {aad}: {e}")))?;
                Ok::<_, BackupError>(cipher.seal(&packed, aad.as_bytes())?)
            })
            .await,
        )??;
        self.backend.put(&full, Bytes::from(sealed)).await
    }

    /// Opens a sealed JSON object.
    pub(crate) async fn get_object<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<T, BackupError> {
        let full = format!("{kind}/{name}");
        self.get_object_with(kind, name, move |json| {
            serde_json::from_slice(json).map_err(|e| BackupError::Corrupt(format!("{full}: {e}")))
        })
        .await
    }

    /// Opens a sealed JSON object and hands its JSON to `parse` (on a blocking thread).
    pub(crate) async fn get_object_with<T, F>(
        &self,
        kind: &str,
        name: &str,
        parse: F,
    ) -> Result<T, BackupError>
    where
        T: Send + 'static,
        F: FnOnce(&[u8]) -> Result<T, BackupError> + Send + 'static,
    {
        let full = format!("{kind}/{name}");
        let raw = self.backend.get(&full).await?;
        let cipher = Arc::clone(&self.cipher);
        crate::error::join(
            tokio::task::spawn_blocking(move || {
                let packed = cipher
                    .open(&raw, full.as_bytes())
                    .map_err(|_| BackupError::Corrupt(format!("{full} does not open")))?;
                let json = zstd::bulk::decompress(&packed, MAX_OBJECT)
                    .map_err(|e| BackupError::Corrupt(format!("{full}: {e}")))?;
                parse(&json)
            })
            .await,
        )?
    }

    /// Names of the objects of one kind (`snapshots`, `index`, …).
    pub(crate) async fn names(&self, kind: &str) -> Result<Vec<String>, BackupError> {
        let prefix = format!("{kind}/");
        Ok(self
            .backend
            .list(kind)
            .await?
            .into_iter()
            .filter_map(|l| l.name.strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    /// Every snapshot's header, oldest first.
    pub async fn snapshot_infos(&self) -> Result<Vec<SnapshotInfo>, BackupError> {
        let names = self.names("snapshots").await?;
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let mut info: SnapshotInfo = self.get_object("snapshots", &name).await?;
            info.id = name;
            out.push(info);
        }
        out.sort_by(|a, b| a.time_ms.cmp(&b.time_ms).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// The whole snapshot a header describes (its manifest loaded).
    pub async fn load_snapshot(&self, info: SnapshotInfo) -> Result<Snapshot, BackupError> {
        self.load_with(info, &mut Manifests::new(0))
            .await
            .map(|(snapshot, _)| snapshot)
    }

    /// The whole snapshot a header describes, its manifest loaded through `manifests`;
    /// also returns the manifest's depth in its delta chain.
    pub(crate) async fn load_with(
        &self,
        info: SnapshotInfo,
        manifests: &mut Manifests,
    ) -> Result<(Snapshot, u32), BackupError> {
        let (versions, depth) = match manifests.load(self, &info.manifest).await {
            Ok(v) => v,
            Err(BackupError::NotFound(what)) => {
                return Err(BackupError::Corrupt(format!(
                    "snapshot {}: a manifest of its chain is missing ({what})",
                    info.short_id(),
                )));
            }
            Err(e) => return Err(e),
        };
        let versions = Arc::try_unwrap(versions).unwrap_or_else(|shared| (*shared).clone());
        let snapshot = info.with_versions(versions);
        for kind in [EntryKind::Database, EntryKind::Config] {
            if snapshot.entries.iter().filter(|e| e.kind == kind).count() > 1 {
                return Err(BackupError::Corrupt(format!(
                    "snapshot {}: more than one {kind:?} entry",
                    snapshot.short_id()
                )));
            }
        }
        Ok((snapshot, depth))
    }

    /// Every snapshot, whole, oldest first.
    pub async fn snapshots(&self) -> Result<Vec<Snapshot>, BackupError> {
        let mut manifests = Manifests::new(4);
        let mut out = Vec::new();
        for info in self.snapshot_infos().await? {
            out.push(self.load_with(info, &mut manifests).await?.0);
        }
        Ok(out)
    }

    /// Stores `snapshot` under a new id: its manifest (whole) first, then its header.
    /// Returns the header.
    pub(crate) async fn put_snapshot(
        &self,
        snapshot: &Snapshot,
    ) -> Result<SnapshotInfo, BackupError> {
        let info = self.put_manifest(snapshot, None).await?;
        self.put_header(info).await
    }

    /// Stores `snapshot`'s manifest, as a delta from `base` when the repository's format
    /// allows it and few entries changed, and returns the header that will name it.
    /// Unreferenced until [`Repository::put_header`].
    pub(crate) async fn put_manifest(
        &self,
        snapshot: &Snapshot,
        base: Option<Base<'_>>,
    ) -> Result<SnapshotInfo, BackupError> {
        let (mut info, versions) = snapshot.split(String::new(), self.manifest_lists_all());
        let base = base.filter(|_| self.manifest_lists_all());
        let (json, _) = crate::manifest::encode(&versions, base)?;
        // Named by the keyed hash of its content: equal manifests share one object, and the
        // name says nothing about what it lists.
        let manifest = hex::encode(self.cipher.chunk_id(&json));
        self.put_sealed("manifests", &manifest, json).await?;
        info.manifest = manifest;
        Ok(info)
    }

    /// Whether manifests list every entry and may be deltas (format 3), or list versions
    /// only, always whole (format 2).
    pub(crate) fn manifest_lists_all(&self) -> bool {
        self.config.format >= DELTA_FORMAT
    }

    /// Stores a snapshot header under a new id: from then on the snapshot exists.
    pub(crate) async fn put_header(
        &self,
        mut info: SnapshotInfo,
    ) -> Result<SnapshotInfo, BackupError> {
        let id = random_name()?;
        self.put_object("snapshots", &id, &info).await?;
        info.id = id;
        Ok(info)
    }

    /// One snapshot by id, a unique id prefix, or `latest`.
    pub async fn snapshot(&self, wanted: &str) -> Result<Snapshot, BackupError> {
        let mut all = self.snapshot_infos().await?;
        if wanted == "latest" {
            all.drain(..all.len().saturating_sub(1));
        } else {
            all.retain(|s| s.id.starts_with(wanted));
        }
        match all.len() {
            1 => {
                let Some(one) = all.pop() else {
                    return Err(BackupError::NotFound(format!("snapshot {wanted}")));
                };
                self.load_snapshot(one).await
            }
            0 => Err(BackupError::NotFound(format!("snapshot {wanted}"))),
            _ => Err(BackupError::BadRequest(format!(
                "snapshot id {wanted} is ambiguous; give more characters"
            ))),
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn random_name() -> Result<String, BackupError> {
    Ok(hex::encode(covault_crypto::random_array::<16>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_averages_are_powers_of_two_in_range() {
        let p = ChunkerParams::with_average(256 * 1024).unwrap();
        assert_eq!((p.min, p.avg, p.max), (128 * 1024, 256 * 1024, 2048 * 1024));
        for bad in [0, 1000 * 1024, 32 * 1024, 16 * 1024 * 1024] {
            assert!(
                matches!(
                    ChunkerParams::with_average(bad),
                    Err(BackupError::BadRequest(_))
                ),
                "{bad} accepted"
            );
        }
        let d = ChunkerParams::default();
        assert_eq!(ChunkerParams::with_average(d.avg).unwrap(), d);
    }
}
