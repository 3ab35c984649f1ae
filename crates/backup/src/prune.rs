//! Removing data: `forget` (snapshot manifests), `prune` (chunks no snapshot references,
//! repacking packs that are partly garbage) and `erase` (the content of purged files, from
//! every snapshot and every pack).
//!
//! All three need delete rights (the prune key on an append-only repository). Prune holds
//! the exclusive lock, so no backup runs meanwhile, and it orders its steps so that a crash
//! at any point leaves every snapshot restorable: new packs first, then one new index
//! covering everything kept, then the old index files, then the old packs. Whatever a cut
//! short prune leaves behind (new packs not yet indexed, old packs no longer indexed) is
//! garbage the next prune removes. It refuses to run on a repository whose snapshots name
//! chunks it cannot find, rather than make the damage permanent.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use crate::index::{Index, IndexFile, PackRecord};
use crate::lock::RepoLock;
use crate::manifest::Manifests;
use crate::pack::{ChunkId, PackBuilder, pack_object, parse_id};
use crate::repo::random_name;
use crate::{BackupError, Repository, Snapshot};

/// Manifest lists kept while loading every snapshot (each is usually the next one's base).
const KEEP_LISTS: usize = 4;

/// Packs per index file written by prune.
const INDEX_PACKS: usize = 256;

/// How prune treats partly used packs.
#[derive(Clone, Copy, Debug)]
pub struct PruneOptions {
    /// Repack a pack once more than this share of its bytes is garbage.
    pub max_unused_percent: u8,
    /// Repack every pack holding any garbage, so no byte of a removed chunk remains.
    pub erase: bool,
    pub dry_run: bool,
}

impl Default for PruneOptions {
    fn default() -> Self {
        Self {
            max_unused_percent: 5,
            erase: false,
            dry_run: false,
        }
    }
}

/// What prune did (or would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PruneReport {
    pub snapshots: u64,
    pub packs_before: u64,
    pub packs_deleted: u64,
    pub packs_repacked: u64,
    pub packs_written: u64,
    pub orphan_packs_deleted: u64,
    /// Version manifests no snapshot names any more.
    pub manifests_deleted: u64,
    pub chunks_removed: u64,
    pub bytes_before: u64,
    pub bytes_freed: u64,
    pub dry_run: bool,
}

/// Deletes snapshots (their manifests and data stay until a prune).
pub async fn forget(repo: &Arc<Repository>, ids: &[String]) -> Result<u64, BackupError> {
    repo.may_delete()?;
    let mut n = 0;
    for id in ids {
        repo.backend.delete(&format!("snapshots/{id}")).await?;
        n += 1;
    }
    Ok(n)
}

/// Removes what no snapshot references.
pub async fn prune(
    repo: &Arc<Repository>,
    options: PruneOptions,
) -> Result<PruneReport, BackupError> {
    repo.may_delete()?;
    let lock = RepoLock::take(repo, true, "prune").await?;
    let result = prune_locked(repo, options).await;
    lock.release().await;
    result
}

/// Removes the content of `file_ids` from every snapshot, then every byte of the chunks
/// only they used. Returns the snapshots rewritten and the prune report.
pub async fn erase(
    repo: &Arc<Repository>,
    file_ids: &HashSet<String>,
) -> Result<(u64, PruneReport), BackupError> {
    repo.may_delete()?;
    let lock = RepoLock::take(repo, true, "erase").await?;
    let result = async {
        let mut rewritten = 0;
        let hit = |e: &crate::Entry| e.file_id.as_ref().is_some_and(|f| file_ids.contains(f));
        let mut manifests = Manifests::new(KEEP_LISTS).watching(file_ids.clone());
        for info in repo.snapshot_infos().await? {
            let name = info.manifest.clone();
            let (snap, _) = repo.load_with(info, &mut manifests).await?;
            // A snapshot whose delta chain lists the file anywhere is rewritten whole too,
            // so no kept manifest still names it.
            if !manifests.chain_mentions(&name) && !snap.entries.iter().any(hit) {
                continue;
            }
            let mut clean: Snapshot = snap.clone();
            let mut erased: HashSet<String> = clean.erased.iter().cloned().collect();
            clean.entries.retain(|e| {
                if let Some(f) = e.file_id.as_ref().filter(|f| file_ids.contains(*f)) {
                    erased.insert(f.clone());
                    false
                } else {
                    true
                }
            });
            clean.erased = erased.into_iter().collect();
            clean.erased.sort();
            // The cleaned copy is durable before the original goes: a crash in between
            // leaves both, and running erase again finishes the job.
            repo.put_snapshot(&clean).await?;
            repo.backend
                .delete(&format!("snapshots/{}", snap.id))
                .await?;
            rewritten += 1;
        }
        let report = prune_locked(
            repo,
            PruneOptions {
                erase: true,
                ..PruneOptions::default()
            },
        )
        .await?;
        Ok((rewritten, report))
    }
    .await;
    lock.release().await;
    result
}

async fn prune_locked(
    repo: &Arc<Repository>,
    options: PruneOptions,
) -> Result<PruneReport, BackupError> {
    let index = Index::load(repo).await?;
    let mut manifests = Manifests::new(KEEP_LISTS);
    let mut snapshots = Vec::new();
    for info in repo.snapshot_infos().await? {
        snapshots.push(repo.load_with(info, &mut manifests).await?.0);
    }
    let mut used: HashSet<ChunkId> = HashSet::new();
    for snap in &snapshots {
        for entry in &snap.entries {
            for chunk in &entry.chunks {
                let id = parse_id(chunk)
                    .ok_or_else(|| BackupError::Corrupt(format!("bad chunk id {chunk}")))?;
                if !index.chunks.contains_key(&id) {
                    return Err(BackupError::Corrupt(format!(
                        "snapshot {} names chunk {chunk}, which is in no index; not pruning (run `covault backup verify`)",
                        snap.short_id()
                    )));
                }
                used.insert(id);
            }
        }
    }
    let listed: HashMap<String, u64> = repo
        .backend
        .list("data")
        .await?
        .into_iter()
        .filter_map(|l| {
            let name = l.name.rsplit('/').next()?.to_owned();
            Some((name, l.size))
        })
        .collect();
    let mut report = PruneReport {
        snapshots: snapshots.len() as u64,
        packs_before: listed.len() as u64,
        bytes_before: listed.values().sum(),
        dry_run: options.dry_run,
        ..PruneReport::default()
    };

    let mut keep: Vec<PackRecord> = Vec::new();
    let mut repack: Vec<&PackRecord> = Vec::new();
    let mut drop: Vec<String> = Vec::new();
    for (n, pack) in index.packs.iter().enumerate() {
        if !listed.contains_key(&pack.name) {
            let needed = pack.blobs.iter().any(|b| {
                used.contains(&b.id)
                    && index
                        .chunks
                        .get(&b.id)
                        .is_some_and(|l| l.pack as usize == n)
            });
            if needed {
                return Err(BackupError::Corrupt(format!(
                    "pack {} is missing but still needed; not pruning (run `covault backup verify`)",
                    pack.name
                )));
            }
            continue; // already gone: just leave it out of the new index
        }
        // A blob counts as used only at its canonical location, so duplicate copies left
        // by an interrupted run are garbage too.
        let live = |b: &&crate::pack::BlobEntry| {
            used.contains(&b.id)
                && index
                    .chunks
                    .get(&b.id)
                    .is_some_and(|l| l.pack as usize == n)
        };
        let live_bytes: u64 = pack
            .blobs
            .iter()
            .filter(live)
            .map(|b| u64::from(b.len))
            .sum();
        let live_count = pack.blobs.iter().filter(live).count();
        let dead_bytes = pack.size.saturating_sub(live_bytes);
        let dead_count = pack.blobs.len() - live_count;
        if live_count == 0 {
            drop.push(pack.name.clone());
            report.chunks_removed += dead_count as u64;
            report.bytes_freed += pack.size;
        } else if dead_count > 0
            && (options.erase
                || dead_bytes * 100 > u64::from(options.max_unused_percent) * pack.size)
        {
            repack.push(pack);
            report.chunks_removed += dead_count as u64;
            report.bytes_freed += dead_bytes;
        } else {
            keep.push(pack.clone());
        }
    }
    let orphans: Vec<String> = listed
        .keys()
        .filter(|name| !index.by_name.contains_key(*name))
        .cloned()
        .collect();
    report.orphan_packs_deleted = orphans.len() as u64;
    report.bytes_freed += orphans.iter().filter_map(|o| listed.get(o)).sum::<u64>();
    report.packs_deleted = drop.len() as u64;
    report.packs_repacked = repack.len() as u64;
    // Manifests in no snapshot's chain any more (forgotten or rewritten by erase). No
    // backup is writing one: they hold the shared lock this exclusive one excludes.
    let stale_manifests: Vec<String> = repo
        .names("manifests")
        .await?
        .into_iter()
        .filter(|m| !manifests.was_read(m))
        .collect();
    report.manifests_deleted = stale_manifests.len() as u64;
    if options.dry_run {
        return Ok(report);
    }
    for name in &stale_manifests {
        repo.backend.delete(&format!("manifests/{name}")).await?;
    }
    if drop.is_empty() && repack.is_empty() && orphans.is_empty() && index.files.len() <= 1 {
        return Ok(report);
    }

    // 1. Copy the live blobs of packs being repacked into new packs (sealed bytes as they
    //    are: nothing is decrypted).
    let mut written: Vec<PackRecord> = Vec::new();
    let mut builder = PackBuilder::default();
    for pack in &repack {
        let n = index.by_name.get(&pack.name).copied().unwrap_or(u32::MAX);
        let bytes = repo.backend.get(&pack_object(&pack.name)).await?;
        if blake3::hash(&bytes).to_hex().as_str() != pack.name {
            return Err(BackupError::Corrupt(format!(
                "pack {} is damaged; not pruning",
                pack.name
            )));
        }
        for blob in &pack.blobs {
            let canonical = index.chunks.get(&blob.id).is_some_and(|l| l.pack == n);
            if !(used.contains(&blob.id) && canonical) {
                continue;
            }
            let start = usize::try_from(blob.offset).unwrap_or(usize::MAX);
            let sealed = bytes
                .get(start..start.saturating_add(blob.len as usize))
                .ok_or_else(|| BackupError::Corrupt(format!("pack {} is short", pack.name)))?;
            builder.add(blob.id, sealed, blob.raw_len as usize);
            if builder.is_full() {
                written.push(upload(repo, std::mem::take(&mut builder)).await?);
            }
        }
    }
    if !builder.is_empty() {
        written.push(upload(repo, builder).await?);
    }
    report.packs_written = written.len() as u64;

    // 2. One new index for everything that stays.
    let mut all = keep;
    all.extend(written);
    for part in all.chunks(INDEX_PACKS) {
        let file = IndexFile {
            packs: part.to_vec(),
        };
        repo.put_object("index", &random_name()?, &file).await?;
    }
    // 3. The old index files, 4. the packs nothing indexes any more.
    for name in &index.files {
        repo.backend.delete(&format!("index/{name}")).await?;
    }
    for name in drop
        .iter()
        .chain(repack.iter().map(|p| &p.name))
        .chain(orphans.iter())
    {
        repo.backend.delete(&pack_object(name)).await?;
    }
    Ok(report)
}

async fn upload(repo: &Arc<Repository>, builder: PackBuilder) -> Result<PackRecord, BackupError> {
    let cipher = Arc::clone(&repo.cipher);
    let finished =
        crate::error::join(tokio::task::spawn_blocking(move || builder.finish(&cipher)).await)??;
    let size = finished.bytes.len() as u64;
    repo.backend
        .put(&pack_object(&finished.name), Bytes::from(finished.bytes))
        .await?;
    Ok(PackRecord {
        name: finished.name,
        size,
        blobs: finished.blobs,
    })
}
