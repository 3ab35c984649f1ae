//! Backups of the workspace, behind policy and audit: `backup run` (a consistent snapshot of
//! versions, database, keyring and audit log), restoring a whole workspace into a new data
//! directory or one path into the live workspace, restore drills, forget/prune, and erasure
//! of purged files from every backup.
//!
//! The repository mechanics live in `covault-backup`; this module decides what the entries
//! are and where restored content goes. Every operation is an operator action with its own
//! audit event (`backup.run`, `backup.restore`, `backup.drill`, `backup.prune`). Content
//! never touches disk unsealed: the database copy holds no content or data keys, restored
//! versions are re-sealed as they stream in, and a drill restores into a scratch workspace
//! that is itself encrypted.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use covault_audit::Outcome;
use covault_backup::{
    BackupError, BackupWriter, Entry, EntryKind, KeepPolicy, Progress, PruneOptions, PruneReport,
    Rehash, RepoReader, Repository, Snapshot, SnapshotStats, drill::DrillRecord,
};
use covault_policy::{Action, Resource, Tier};
use covault_store::{KekSource, LockMode, PutOptions, StoreError, VersionRecord, WorkspacePath};
use futures_util::TryStreamExt;
use serde::Serialize;

use crate::vault::{base_event, operator_caller};
use crate::{Caller, GuardError, OpenOptions, Opened, Vault, VaultLimits, VersionInfo};

/// Versions read at once during a backup.
const READERS: usize = 3;
/// Blocking workers re-sealing restored versions, and versions per metadata commit.
const RESTORERS: usize = 3;
const COMMIT_BATCH: usize = 4096;
/// The configuration file is small; anything larger in a snapshot is refused.
const MAX_CONFIG: u64 = 1024 * 1024;

/// What a restore did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct RestoreReport {
    pub snapshot: String,
    pub target: String,
    pub versions: u64,
    pub bytes: u64,
    /// Files none of whose content the snapshot still holds (erased), recorded as purged.
    pub files_purged: u64,
    pub dry_run: bool,
}

/// Removes a scratch file or directory when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = if self.0.is_dir() {
            std::fs::remove_dir_all(&self.0)
        } else {
            std::fs::remove_file(&self.0)
        };
    }
}

impl From<BackupError> for GuardError {
    fn from(e: BackupError) -> Self {
        GuardError::Backup(e)
    }
}

fn source_name(root: &Path) -> String {
    std::fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_path_buf())
        .display()
        .to_string()
}

fn version_entry(path: &WorkspacePath, v: &VersionRecord, chunks: Vec<String>) -> Entry {
    Entry {
        kind: EntryKind::Version,
        id: hex::encode(v.version_id),
        file_id: Some(v.file_id.clone()),
        path: Some(path.to_string()),
        version: Some(v.version),
        tier: Some(v.tier.as_str().to_owned()),
        size: v.size,
        content_hash: Some(v.content_hash.to_hex()),
        chunks,
    }
}

impl Vault {
    /// Backs the whole workspace up into `repo` (operator only).
    pub async fn backup_run(
        &self,
        caller: &Caller,
        repo: &Arc<Repository>,
        progress: Option<Arc<dyn Progress>>,
    ) -> Result<Snapshot, GuardError> {
        self.guarded(
            caller,
            Action::BackupRun,
            Resource::Workspace,
            None,
            |mut event| async move {
                let source = source_name(self.dir.root());
                let started = std::time::Instant::now();
                let root = self.dir.root().to_path_buf();
                let copy = root.join(format!(".backup-{}.db", covault_store::scratch_name()?));
                let scratch = Scratch(copy.clone());
                // The database copy (the longest step when little changed) runs while the
                // repository's index and the parent snapshot load.
                let copying = async {
                    let catalog = self.ws.snapshot_database(&copy).await;
                    tracing::debug!(
                        ms = started.elapsed().as_millis(),
                        "backup: versions listed"
                    );
                    catalog
                };
                let opening = async {
                    let writer = BackupWriter::start(Arc::clone(repo), &source, progress).await;
                    tracing::debug!(
                        ms = started.elapsed().as_millis(),
                        "backup: repository opened"
                    );
                    writer
                };
                let (writer, catalog) = tokio::join!(opening, copying);
                let writer = writer?;
                let copied = match catalog {
                    Ok(copied) => copied,
                    Err(e) => {
                        writer.abort().await;
                        return Err(e.into());
                    }
                };
                match self.write_backup(&writer, &source, copied, &scratch).await {
                    Ok(snapshot) => {
                        let snapshot = writer.finish(snapshot).await?;
                        tracing::debug!(
                            ms = started.elapsed().as_millis(),
                            "backup: snapshot written"
                        );
                        // Only a speed-up for the next backup: one that cannot be kept is
                        // deleted with the scratch, and the next copy starts empty.
                        if let Err(e) = self.ws.keep_database_copy(&copy).await {
                            tracing::warn!(error = %e, "backup: database copy not kept");
                        }
                        event.detail = serde_json::json!({
                            "repository": repo.id(),
                            "snapshot": snapshot.id,
                            "parent": snapshot.parent,
                            "versions": snapshot.stats.versions,
                            "versions_read": snapshot.stats.versions_read,
                            "bytes": snapshot.stats.bytes,
                            "bytes_read": snapshot.stats.bytes_read,
                            "chunks_added": snapshot.stats.chunks_added,
                            "bytes_added": snapshot.stats.bytes_added,
                        });
                        self.ws.append_audit(&event).await?;
                        Ok(snapshot)
                    }
                    Err(e) => {
                        writer.abort().await;
                        Err(e)
                    }
                }
            },
        )
        .await
    }

    /// Stores the versions the catalog lists that the parent snapshot does not already hold
    /// (while the database copy, `copy`, is still being written), then the database copy once
    /// complete and the configuration; returns the snapshot to write.
    async fn write_backup(
        &self,
        writer: &BackupWriter,
        source: &str,
        (catalog, pending): (covault_store::Catalog, covault_store::PendingCopy),
        copy: &Scratch,
    ) -> Result<Snapshot, GuardError> {
        let root = self.dir.root().to_path_buf();
        let copy = copy.0.clone();
        let started = std::time::Instant::now();

        let reuse: HashMap<&str, &Entry> = writer
            .parent()
            .map(|p| p.versions().map(|e| (e.id.as_str(), e)).collect())
            .unwrap_or_default();
        let mut entries: Vec<Entry> = Vec::with_capacity(catalog.versions.len() + 2);
        let mut to_read: Vec<(WorkspacePath, VersionRecord)> = Vec::new();
        let mut files = HashSet::new();
        let mut stats = SnapshotStats::default();
        for (path, v) in catalog.versions {
            if v.wrapped_key.is_none() {
                continue; // purged: nothing to keep
            }
            files.insert(v.file_id.clone());
            stats.versions += 1;
            stats.bytes += v.size;
            let id = hex::encode(v.version_id);
            match reuse.get(id.as_str()) {
                Some(old) if writer.has_all(&old.chunks) => {
                    entries.push(version_entry(&path, &v, old.chunks.clone()));
                }
                _ => to_read.push((path, v)),
            }
        }
        stats.files = files.len() as u64;

        tracing::debug!(
            ms = started.elapsed().as_millis(),
            new = to_read.len(),
            "backup: versions compared"
        );
        // New versions: read on a few blocking workers, chunked and stored as they stream.
        let readers = READERS.min(to_read.len());
        let queue = Arc::new(Mutex::new(to_read));
        let mut workers = Vec::new();
        for _ in 0..readers {
            let queue = Arc::clone(&queue);
            let ws = Arc::clone(&self.ws);
            let sink = writer.sink();
            let handle = tokio::runtime::Handle::current();
            workers.push(tokio::task::spawn_blocking(move || {
                let mut done: Vec<(WorkspacePath, VersionRecord, Option<Vec<String>>)> = Vec::new();
                // Small versions are read here, on this thread's own connection: through the
                // async pool each would cost two thread hand-offs.
                let mut inline = ws.inline_reader()?;
                loop {
                    let next = queue
                        .lock()
                        .map_err(|_| StoreError::Task("backup queue poisoned".into()))?
                        .pop();
                    let Some((path, v)) = next else {
                        return Ok::<_, GuardError>(done);
                    };
                    let stored = ws
                        .read_version_blocking(inline.as_mut(), &path, &v)
                        .map_err(GuardError::from)
                        .and_then(|mut reader| Ok(sink.store(&mut reader, v.size)?));
                    match stored {
                        Ok((chunks, n)) if n == v.size => done.push((path, v, Some(chunks))),
                        Ok(_) => {
                            return Err(StoreError::Integrity {
                                path: path.to_string(),
                                version: v.version,
                                what: "read a different size than recorded".into(),
                            }
                            .into());
                        }
                        Err(e) => {
                            // Purged while the backup ran: erasure wins, the version is left out.
                            if handle.block_on(ws.is_purged(&path, v.version))? {
                                done.push((path, v, None));
                            } else {
                                return Err(e);
                            }
                        }
                    }
                }
            }));
        }
        for worker in workers {
            let done = worker
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
            for (path, v, chunks) in done {
                match chunks {
                    Some(chunks) => {
                        stats.versions_read += 1;
                        stats.bytes_read += v.size;
                        entries.push(version_entry(&path, &v, chunks));
                    }
                    None => {
                        stats.versions -= 1;
                        stats.bytes -= v.size;
                    }
                }
            }
        }
        entries.sort_by(|a, b| (&a.path, a.version).cmp(&(&b.path, b.version)));
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "backup: versions stored"
        );

        pending.finish().await?;
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "backup: database copied"
        );
        // The database copy and the configuration.
        for (kind, name, file) in [
            (EntryKind::Database, "meta.db", copy.clone()),
            (EntryKind::Config, "covault.toml", root.join("covault.toml")),
        ] {
            if kind == EntryKind::Config && !file.exists() {
                continue;
            }
            let sink = writer.sink();
            let (chunks, size) = tokio::task::spawn_blocking(move || {
                let mut f = std::fs::File::open(&file).map_err(|e| StoreError::Io {
                    what: file.display().to_string(),
                    source: e,
                })?;
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                // SQLite changes pages in place: fixed, page-aligned chunks keep a small
                // change small.
                if kind == EntryKind::Database {
                    Ok::<_, GuardError>(sink.store_paged(&mut f, len)?)
                } else {
                    Ok(sink.store(&mut f, len)?)
                }
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
            entries.push(Entry {
                kind,
                id: name.to_owned(),
                file_id: None,
                path: None,
                version: None,
                tier: None,
                size,
                content_hash: None,
                chunks,
            });
        }
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            "backup: database stored"
        );
        Ok(Snapshot {
            id: String::new(),
            time_ms: covault_audit::now_ms(),
            hostname: covault_backup::hostname(),
            source: source.to_owned(),
            parent: None,
            entries,
            stats,
            erased: Vec::new(),
        })
    }

    /// Writes one backed-up version of `path` (the newest in the snapshot, or `version`) into
    /// the live workspace as a new version (operator only; audited as `backup.restore` and as
    /// the `file.write` that commits it). With `dry_run`, only finds it.
    pub async fn backup_restore_path(
        &self,
        caller: &Caller,
        repo: &Arc<Repository>,
        snapshot: &Snapshot,
        raw_path: &str,
        version: Option<i64>,
        dry_run: bool,
    ) -> Result<(Entry, Option<VersionInfo>), GuardError> {
        let path = self.ws.parse_path(raw_path)?;
        let entry = snapshot
            .versions()
            .filter(|e| e.path.as_deref() == Some(path.as_str()))
            .filter(|e| version.is_none_or(|v| e.version == Some(v)))
            .max_by_key(|e| e.version)
            .cloned()
            .ok_or_else(|| {
                StoreError::NotFound(match version {
                    Some(v) => format!("{path} version {v} in snapshot {}", snapshot.short_id()),
                    None => format!("{path} in snapshot {}", snapshot.short_id()),
                })
            })?;
        if dry_run {
            return Ok((entry, None));
        }
        let path_ref = &path;
        self.guarded(
            caller,
            Action::BackupRestore,
            Resource::Workspace,
            Some(&path),
            |mut event| async move {
                let path = path_ref;
                let reader = RepoReader::open(Arc::clone(repo)).await?;
                let body: covault_store::ByteStream = Box::pin(
                    reader
                        .stream(&entry)
                        .map_err(|e| StoreError::UploadAborted(e.to_string())),
                );
                let tier = entry.tier.as_deref().and_then(|t| t.parse::<Tier>().ok());
                let mut write = base_event(caller, Action::FileWrite, Some(path));
                write.reason = format!("restored from backup snapshot {}", snapshot.id);
                let options = PutOptions {
                    tier,
                    author: caller.principal.name.clone(),
                    known_file: None,
                };
                let record = self.ws.put(path, options, body, write).await?;
                if let Some(expected) = entry
                    .content_hash
                    .as_deref()
                    .and_then(covault_store::parse_content_hash)
                    && !record.content_hash.ct_eq(&expected)
                {
                    return Err(StoreError::Integrity {
                        path: path.to_string(),
                        version: record.version,
                        what: "restored content differs from the backed-up version".into(),
                    }
                    .into());
                }
                event.version = Some(record.version);
                event.detail = serde_json::json!({
                    "repository": repo.id(),
                    "snapshot": snapshot.id,
                    "from_version": entry.version,
                    "version": record.version,
                    "size": record.size,
                });
                self.ws.append_audit(&event).await?;
                Ok((
                    entry.clone(),
                    Some(VersionInfo::new(path.as_str(), &record)),
                ))
            },
        )
        .await
    }

    /// Applies `policy` (and with `prune`, prunes): deletes snapshots of this workspace the
    /// policy does not keep (operator only; needs delete rights on the repository).
    pub async fn backup_forget(
        &self,
        caller: &Caller,
        repo: &Arc<Repository>,
        policy: KeepPolicy,
        prune: Option<PruneOptions>,
        dry_run: bool,
    ) -> Result<(Vec<covault_backup::Decision>, Option<PruneReport>), GuardError> {
        if policy.is_empty() {
            return Err(GuardError::BadRequest(
                "give at least one --keep-* option (forgetting everything is not a policy)".into(),
            ));
        }
        self.guarded(
            caller,
            Action::BackupPrune,
            Resource::Workspace,
            None,
            |mut event| async move {
                let source = source_name(self.dir.root());
                let ours: Vec<covault_backup::SnapshotInfo> = repo
                    .snapshot_infos()
                    .await?
                    .into_iter()
                    .filter(|s| s.source == source)
                    .collect();
                let decisions = covault_backup::retention::apply(&ours, &policy);
                let remove: Vec<String> = decisions
                    .iter()
                    .filter(|d| !d.keep)
                    .map(|d| d.id.clone())
                    .collect();
                let mut report = None;
                if !dry_run {
                    covault_backup::forget(repo, &remove).await?;
                    if let Some(options) = prune {
                        report = Some(covault_backup::prune(repo, options).await?);
                    }
                }
                event.detail = serde_json::json!({
                    "repository": repo.id(),
                    "operation": "forget",
                    "policy": policy,
                    "kept": decisions.len() - remove.len(),
                    "forgotten": remove.len(),
                    "dry_run": dry_run,
                    "prune": report,
                });
                self.ws.append_audit(&event).await?;
                Ok((decisions, report))
            },
        )
        .await
    }

    /// Removes unreferenced data from the repository (operator only).
    pub async fn backup_prune(
        &self,
        caller: &Caller,
        repo: &Arc<Repository>,
        options: PruneOptions,
    ) -> Result<PruneReport, GuardError> {
        self.guarded(
            caller,
            Action::BackupPrune,
            Resource::Workspace,
            None,
            |mut event| async move {
                let report = covault_backup::prune(repo, options).await?;
                event.detail = serde_json::json!({
                    "repository": repo.id(),
                    "operation": "prune",
                    "report": report,
                });
                self.ws.append_audit(&event).await?;
                Ok(report)
            },
        )
        .await
    }

    /// The erasure step: every file purged in this workspace is removed from every snapshot,
    /// and every pack holding its chunks is rewritten without them (operator only).
    pub async fn backup_erase(
        &self,
        caller: &Caller,
        repo: &Arc<Repository>,
    ) -> Result<(u64, u64, PruneReport), GuardError> {
        self.guarded(
            caller,
            Action::BackupPrune,
            Resource::Workspace,
            None,
            |mut event| async move {
                let purged: HashSet<String> =
                    self.ws.purged_file_ids().await?.into_iter().collect();
                let (rewritten, report) = covault_backup::erase(repo, &purged).await?;
                event.detail = serde_json::json!({
                    "repository": repo.id(),
                    "operation": "erase",
                    "purged_files": purged.len(),
                    "snapshots_rewritten": rewritten,
                    "chunks_removed": report.chunks_removed,
                    "packs_rewritten": report.packs_repacked,
                });
                self.ws.append_audit(&event).await?;
                Ok((purged.len() as u64, rewritten, report))
            },
        )
        .await
    }

    /// A restore drill (operator only): restores `sample` random versions of the latest
    /// snapshot (all with `None`) and its database into a scratch workspace under `scratch`,
    /// checks every restored version against its recorded keyed hash, verifies the scratch
    /// workspace and its audit chain, then deletes it. The result is recorded in the
    /// repository and as a `backup.drill` audit event (outcome `failed` when anything did not
    /// match); a drill that fails is returned as a record with `ok: false`, not an error.
    pub async fn backup_drill(
        &self,
        caller: &Caller,
        repo: &Arc<Repository>,
        sample: Option<usize>,
        source: KekSource,
        scratch: &Path,
    ) -> Result<DrillRecord, GuardError> {
        let limits = self.limits.clone();
        self.guarded(
            caller,
            Action::BackupDrill,
            Resource::Workspace,
            None,
            |mut event| async move {
                let started = std::time::Instant::now();
                let snapshot = repo.snapshot("latest").await?;
                let mut record = DrillRecord {
                    time_ms: covault_audit::now_ms(),
                    snapshot: snapshot.id.clone(),
                    hostname: covault_backup::hostname(),
                    versions_in_snapshot: snapshot.versions().count() as u64,
                    ..DrillRecord::default()
                };
                let chosen = choose(&snapshot, sample)?;
                let target = scratch.join(format!(".drill-{}", covault_store::scratch_name()?));
                let _cleanup = Scratch(target.clone());
                match restore_workspace(
                    repo,
                    &snapshot,
                    &target,
                    source,
                    limits,
                    Some(&chosen),
                    false,
                )
                .await
                {
                    Ok((_, None)) => record.problems.push("nothing was restored".into()),
                    Ok((report, Some(restored))) => {
                        record.versions_checked = report.versions;
                        record.bytes_checked = report.bytes;
                        let operator = &restored.operator;
                        let verified = restored.vault.verify(operator).await?;
                        for p in &verified.problems {
                            record
                                .problems
                                .push(format!("{} v{}: {}", p.path, p.version, p.what));
                        }
                        if verified.versions_checked != report.versions {
                            record.problems.push(format!(
                                "{} versions restored but {} verify",
                                report.versions, verified.versions_checked
                            ));
                        }
                        let chain = restored.vault.audit_verify(operator, Vec::new()).await?;
                        record.database_checked = true;
                        if !chain.is_ok() {
                            record.problems.push(format!(
                                "the restored audit log does not verify ({} problems)",
                                chain.problems.len()
                            ));
                        }
                    }
                    Err(e) => record.problems.push(format!("restore failed: {e}")),
                }
                record.duration_ms =
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                record.ok = record.problems.is_empty();
                if let Err(e) = repo.record_drill(&record).await {
                    record
                        .problems
                        .push(format!("could not record the drill in the repository: {e}"));
                    record.ok = false;
                }
                if !record.ok {
                    event.outcome = Outcome::Failed;
                    event.reason = "restore drill failed".into();
                }
                event.detail = serde_json::json!({
                    "repository": repo.id(),
                    "snapshot": record.snapshot,
                    "versions_checked": record.versions_checked,
                    "versions_in_snapshot": record.versions_in_snapshot,
                    "bytes_checked": record.bytes_checked,
                    "database_checked": record.database_checked,
                    "problems": record.problems.len(),
                    "duration_ms": record.duration_ms,
                });
                self.ws.append_audit(&event).await?;
                Ok(record)
            },
        )
        .await
    }
}

/// Version ids a drill restores: a random sample of `n`, or all.
fn choose(snapshot: &Snapshot, n: Option<usize>) -> Result<HashSet<String>, GuardError> {
    let mut ids: Vec<&str> = snapshot.versions().map(|e| e.id.as_str()).collect();
    if let Some(n) = n.filter(|n| *n < ids.len()) {
        // Partial Fisher–Yates with OS randomness.
        for i in 0..n {
            let r =
                u64::from_le_bytes(covault_crypto::random_array::<8>().map_err(StoreError::from)?);
            let j = i + (r % (ids.len() - i) as u64) as usize;
            ids.swap(i, j);
        }
        ids.truncate(n);
    }
    Ok(ids.into_iter().map(str::to_owned).collect())
}

/// Restores `snapshot` into `target`, a new data directory (absent or empty): the database
/// (keyring, principals, audit log), the configuration, and every version (or those in
/// `only`), re-sealed under fresh data keys and checked against their keyed hashes. The
/// restored workspace opens with the KEK it had when the snapshot was taken (`source`). The
/// restore is recorded in the restored workspace's own audit log. Returns the report and the
/// opened, restored workspace.
pub async fn restore_workspace(
    repo: &Arc<Repository>,
    snapshot: &Snapshot,
    target: &Path,
    source: KekSource,
    limits: VaultLimits,
    only: Option<&HashSet<String>>,
    dry_run: bool,
) -> Result<(RestoreReport, Option<Opened>), GuardError> {
    let selected: Vec<&Entry> = snapshot
        .versions()
        .filter(|e| only.is_none_or(|o| o.contains(&e.id)))
        .collect();
    let mut report = RestoreReport {
        snapshot: snapshot.id.clone(),
        target: target.display().to_string(),
        versions: selected.len() as u64,
        bytes: selected.iter().map(|e| e.size).sum(),
        dry_run,
        ..RestoreReport::default()
    };
    let database = snapshot.entry(EntryKind::Database).ok_or_else(|| {
        BackupError::Corrupt(format!("snapshot {} has no database", snapshot.short_id()))
    })?;
    if let Ok(mut entries) = std::fs::read_dir(target)
        && entries.next().is_some()
    {
        return Err(GuardError::BadRequest(format!(
            "`{}` is not empty: restore into a new directory",
            target.display()
        )));
    }
    let reader = RepoReader::open(Arc::clone(repo)).await?;
    for entry in snapshot
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::Version || only.is_none_or(|o| o.contains(&e.id)))
    {
        if !reader.complete(entry) {
            return Err(BackupError::Corrupt(format!(
                "snapshot {}: {} has chunks the repository no longer holds",
                snapshot.short_id(),
                entry.path.as_deref().unwrap_or(&entry.id)
            ))
            .into());
        }
    }
    if dry_run {
        return Ok((report, None));
    }
    std::fs::create_dir_all(target).map_err(|e| StoreError::Io {
        what: target.display().to_string(),
        source: e,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o700));
    }
    let started = std::time::Instant::now();
    write_entry(&reader, database, &target.join("meta.db"), u64::MAX).await?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "restore: database written"
    );
    if let Some(config) = snapshot.entry(EntryKind::Config) {
        write_entry(&reader, config, &target.join("covault.toml"), MAX_CONFIG).await?;
    }
    let opened = Vault::open(OpenOptions {
        data_dir: target.to_path_buf(),
        source,
        lock: LockMode::Exclusive,
        limits,
    })
    .await?;
    let vault = &opened.vault;
    let records: HashMap<String, (WorkspacePath, VersionRecord)> = vault
        .ws
        .all_versions()
        .await?
        .into_iter()
        .map(|(p, v)| (hex::encode(v.version_id), (p, v)))
        .collect();
    let ws = Arc::clone(&vault.ws);
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "restore: workspace opened"
    );
    let mut jobs = restore_jobs(&reader, selected, &records)?;
    // Largest first, so no worker is left with one big file at the end.
    jobs.sort_by_key(|j| j.bytes);
    let queue = Arc::new(Mutex::new(jobs));
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<covault_store::Resealed>>(RESTORERS * 2);
    let mut workers = Vec::new();
    for _ in 0..RESTORERS {
        let (queue, failed, tx) = (Arc::clone(&queue), Arc::clone(&failed), tx.clone());
        let (reader, ws) = (reader.clone(), Arc::clone(&ws));
        let handle = tokio::runtime::Handle::current();
        workers.push(tokio::task::spawn_blocking(move || {
            let result = restore_worker(&handle, &reader, &ws, &queue, &failed, &tx);
            if result.is_err() {
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            result
        }));
    }
    drop(tx);
    // One batch commits while the next fills, so the workers never wait on the database.
    let mut pending = Vec::new();
    let mut committing: Option<tokio::task::JoinHandle<Result<(), StoreError>>> = None;
    let mut committed: Result<(), GuardError> = Ok(());
    while let Some(done) = rx.recv().await {
        pending.extend(done);
        if pending.len() >= COMMIT_BATCH && committed.is_ok() {
            if let Some(previous) = committing.take() {
                committed = settle(previous).await;
            }
            if committed.is_err() {
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            tracing::debug!(
                ms = started.elapsed().as_millis(),
                versions = pending.len(),
                "restore: commit batch"
            );
            let (ws, batch) = (Arc::clone(&ws), std::mem::take(&mut pending));
            committing = Some(tokio::spawn(async move { ws.commit_resealed(batch).await }));
        }
    }
    if let Some(previous) = committing.take() {
        let last = settle(previous).await;
        committed = committed.and(last);
    }
    for worker in workers {
        worker
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
    }
    committed?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        last = pending.len(),
        "restore: workers done"
    );
    ws.commit_resealed(pending).await?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "restore: versions committed"
    );
    let mut event = base_event(&operator_caller(), Action::BackupRestore, None);
    event.reason = format!("workspace restored from backup snapshot {}", snapshot.id);
    event.detail = serde_json::json!({
        "repository": repo.id(),
        "snapshot": snapshot.id,
        "versions": report.versions,
        "bytes": report.bytes,
        "partial": only.is_some(),
    });
    report.files_purged = ws.finish_restore(&event).await?;
    tracing::debug!(ms = started.elapsed().as_millis(), "restore: finished");
    Ok((report, Some(opened)))
}

/// The outcome of one batch's commit task.
async fn settle(task: tokio::task::JoinHandle<Result<(), StoreError>>) -> Result<(), GuardError> {
    task.await
        .map_err(|e| StoreError::Task(e.to_string()))?
        .map_err(GuardError::from)
}

/// Versions a restore worker takes at once: several small ones that share a pack (fetched
/// whole, once), or one.
struct RestoreJob {
    pack: Option<String>,
    versions: Vec<(Entry, WorkspacePath, VersionRecord)>,
    bytes: u64,
}

/// A chunk at most this large (sealed) is read from a pack fetched whole when enough of its
/// pack's chunks are restored together.
const SMALL_CHUNK: u32 = 256 * 1024;
const WHOLE_PACK_AT: usize = 8;

fn restore_jobs(
    reader: &RepoReader,
    selected: Vec<&Entry>,
    records: &HashMap<String, (WorkspacePath, VersionRecord)>,
) -> Result<Vec<RestoreJob>, GuardError> {
    let mut by_pack: HashMap<String, Vec<(Entry, WorkspacePath, VersionRecord)>> = HashMap::new();
    let mut jobs = Vec::new();
    for entry in selected {
        let (path, record) = records.get(&entry.id).cloned().ok_or_else(|| {
            BackupError::Corrupt(format!(
                "version {} is not in the snapshot's database",
                entry.id
            ))
        })?;
        if entry.content_hash.as_deref() != Some(record.content_hash.to_hex().as_str()) {
            return Err(StoreError::Integrity {
                path: path.to_string(),
                version: record.version,
                what: "the manifest and the database disagree on its content hash".into(),
            }
            .into());
        }
        let small = match entry.chunks.as_slice() {
            [one] => reader.pack_of(one).filter(|(_, len)| *len <= SMALL_CHUNK),
            _ => None,
        };
        match small {
            Some((pack, _)) => by_pack
                .entry(pack)
                .or_default()
                .push((entry.clone(), path, record)),
            None => jobs.push(RestoreJob {
                pack: None,
                bytes: entry.size,
                versions: vec![(entry.clone(), path, record)],
            }),
        }
    }
    for (pack, versions) in by_pack {
        let bytes = versions.iter().map(|(e, _, _)| e.size).sum();
        if versions.len() >= WHOLE_PACK_AT {
            jobs.push(RestoreJob {
                pack: Some(pack),
                versions,
                bytes,
            });
        } else {
            jobs.extend(versions.into_iter().map(|v| RestoreJob {
                pack: None,
                bytes: v.0.size,
                versions: vec![v],
            }));
        }
    }
    Ok(jobs)
}

/// Blocking: takes jobs until none are left (or another worker failed); each restored
/// version goes to `done` for the batched metadata commit.
fn restore_worker(
    handle: &tokio::runtime::Handle,
    reader: &RepoReader,
    ws: &covault_store::Workspace,
    queue: &Mutex<Vec<RestoreJob>>,
    failed: &std::sync::atomic::AtomicBool,
    done: &tokio::sync::mpsc::Sender<Vec<covault_store::Resealed>>,
) -> Result<(), GuardError> {
    loop {
        if failed.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let job = queue
            .lock()
            .map_err(|_| StoreError::Task("restore queue poisoned".into()))?
            .pop();
        let Some(job) = job else {
            return Ok(());
        };
        let job_started = std::time::Instant::now();
        let pack = match &job.pack {
            Some(name) => Some(reader.fetch_pack_blocking(handle, name)?),
            None => None,
        };
        // A job's versions go to the committing side together: one wake-up per job.
        let mut resealed = Vec::with_capacity(job.versions.len());
        for (entry, path, record) in &job.versions {
            let mut resealer = ws.resealer(record, path)?;
            for id in &entry.chunks {
                // Each chunk is authenticated as it opens; the whole version is then checked
                // against its keyed content hash (`finish`), so its chunk ids need no rehash.
                let plain = reader.chunk_blocking(handle, id, pack.as_ref(), Rehash::No)?;
                resealer.push(&plain)?;
            }
            resealed.push(resealer.finish()?);
        }
        tracing::trace!(
            us = job_started.elapsed().as_micros(),
            bytes = job.bytes,
            versions = job.versions.len(),
            chunks = job.versions.iter().map(|v| v.0.chunks.len()).sum::<usize>(),
            whole_pack = job.pack.is_some(),
            "restore: job"
        );
        if done.blocking_send(resealed).is_err() {
            return Ok(()); // the committing side stopped: it reports why
        }
    }
}

/// A pack holding at least this many sealed bytes of one entry is fetched whole for it.
const WHOLE_PACK_BYTES: u64 = 4 * 1024 * 1024;
/// Packs fetched whole and kept at once while writing one entry (16 MiB each).
const PACKS_KEPT: usize = 8;

/// Writes `entry`'s content into the new file `dest`, every chunk authenticated and its id
/// rehashed (the database copy and the configuration have no keyed content hash of their
/// own). Runs on a blocking thread: the database copy is thousands of page-sized chunks, so
/// a local repository is read on that thread, and packs that hold much of the entry are
/// fetched whole, once, and dropped when their last chunk is written.
async fn write_entry(
    reader: &RepoReader,
    entry: &Entry,
    dest: &Path,
    limit: u64,
) -> Result<(), GuardError> {
    if entry.size > limit {
        return Err(BackupError::Corrupt(format!("{} is too large", entry.id)).into());
    }
    let (reader, entry, dest) = (reader.clone(), entry.clone(), dest.to_path_buf());
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || write_entry_blocking(&handle, &reader, &entry, &dest))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

fn write_entry_blocking(
    handle: &tokio::runtime::Handle,
    reader: &RepoReader,
    entry: &Entry,
    dest: &Path,
) -> Result<(), GuardError> {
    use std::io::Write;
    let io = |e: std::io::Error| StoreError::Io {
        what: dest.display().to_string(),
        source: e,
    };
    // Per pack: the entry's chunks still to write there, and its sealed bytes there.
    let mut packs: HashMap<String, (usize, u64)> = HashMap::new();
    for id in &entry.chunks {
        if let Some((pack, len)) = reader.pack_of(id) {
            let slot = packs.entry(pack).or_default();
            slot.0 += 1;
            slot.1 += u64::from(len);
        }
    }
    let mut kept: HashMap<String, bytes::Bytes> = HashMap::new();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1024 * 1024, file);
    let mut written = 0u64;
    for id in &entry.chunks {
        let pack = reader.pack_of(id).map(|(p, _)| p);
        let whole = match pack.as_ref().and_then(|p| packs.get(p).map(|s| (p, *s))) {
            Some((p, (_, bytes))) if bytes >= WHOLE_PACK_BYTES => {
                if !kept.contains_key(p) && kept.len() < PACKS_KEPT {
                    kept.insert(p.clone(), reader.fetch_pack_blocking(handle, p)?);
                }
                kept.get(p)
            }
            _ => None,
        };
        let plain = reader.chunk_blocking(handle, id, whole, Rehash::Yes)?;
        written += plain.len() as u64;
        out.write_all(&plain).map_err(io)?;
        if let Some(p) = pack
            && let Some(slot) = packs.get_mut(&p)
        {
            slot.0 = slot.0.saturating_sub(1);
            if slot.0 == 0 {
                kept.remove(&p);
            }
        }
    }
    if written != entry.size {
        return Err(BackupError::Corrupt(format!("{} has the wrong size", entry.id)).into());
    }
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(())
}
