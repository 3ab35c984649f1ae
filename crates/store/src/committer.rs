//! The SQLite group committer: one thread owning one connection, running every queued write
//! of a batch inside a single `BEGIN IMMEDIATE` transaction and committing once.
//!
//! Why a thread of its own: metadata writes are serial in SQLite anyway, and running them as
//! plain synchronous calls (rusqlite, prepared statements cached) costs microseconds per
//! statement, where an async driver pays a thread hand-off for each. A writer hears
//! "success" only after the batch's commit is durable (`synchronous = FULL`), except for the
//! few jobs that are bookkeeping rather than evidence (an AI call's reservation, a token's
//! last use: see [`Job::must_sync`]): a batch of only those commits to the WAL without
//! waiting for the disk (`synchronous = NORMAL`), which survives a crash of the process, and
//! the next durable commit's fsync of the same WAL makes it durable too. Multi-statement
//! jobs run in a savepoint, so one failing job never sinks the others. If this thread ever
//! stopped, every write would fail: the channel closes and callers get an error.

use std::path::Path;

use covault_audit::AuditEvent;
use covault_policy::Tier;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::audit_log::{Chain, PreparedEvent};
use crate::{NewVersion, StoreError, VersionRecord};

/// Most jobs one group commit takes.
pub(crate) const MAX_BATCH: usize = 512;

/// A write that joins the next group commit.
pub(crate) enum Job {
    Version {
        new: Box<NewVersion>,
        event: Box<AuditEvent>,
        reply: oneshot::Sender<Result<VersionRecord, StoreError>>,
    },
    /// An event whose columns and leaf hash the writer already computed.
    Audit {
        event: Box<PreparedEvent>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Create the (still invisible) file row for a new path, if none is live.
    EnsureFile {
        id: String,
        path: String,
        tier: Tier,
        owner: String,
        at_ms: i64,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// AI usage (tokens and requests per subject and month), with the call's audit event when
    /// the call has ended (none for the reservation before it goes out).
    Usage {
        rows: Vec<(String, String, i64, i64)>,
        event: Option<Box<PreparedEvent>>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// A restore: re-sealed versions' wrapped keys and storage, and their inline bytes.
    Resealed {
        rows: Vec<([u8; 16], covault_crypto::WrappedKey, Option<Vec<u8>>)>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Record a token's last use.
    TouchToken {
        id: String,
        at_ms: i64,
        addr: Option<String>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// Opens the committer's connection and starts its thread; returns where to send jobs.
pub(crate) fn start(path: &Path) -> Result<mpsc::Sender<Job>, StoreError> {
    let conn = crate::audit_log::writer(path)?;
    let (sender, jobs) = mpsc::channel(4 * MAX_BATCH);
    std::thread::Builder::new()
        .name("covault-committer".into())
        .spawn(move || run(conn, jobs))
        .map_err(StoreError::io("starting the metadata committer"))?;
    Ok(sender)
}

fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    // A bulk job received while gathering a batch waits to start the next one.
    let mut carried: Option<Job> = None;
    // The connection opens with `synchronous = FULL` (`audit_log::writer`).
    let mut synced = true;
    while let Some(first) = carried.take().or_else(|| jobs.blocking_recv()) {
        let mut batch = vec![first];
        // A bulk job (a restore's re-sealed versions) is a transaction of its own.
        while !batch[0].is_bulk() && batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) if job.is_bulk() => {
                    carried = Some(job);
                    break;
                }
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let sync = batch.iter().any(Job::must_sync);
        if let Err(e) = set_sync(&conn, sync, &mut synced) {
            let why = e.to_string();
            batch.into_iter().for_each(|job| unrun(job).fail(&why));
            continue;
        }
        commit_batch(&mut conn, batch);
    }
}

/// Makes the next commit wait for the disk (`sync`) or not, if the connection is not already
/// so (`synced` tracks it; a failed switch leaves the mode as it was).
fn set_sync(conn: &Connection, sync: bool, synced: &mut bool) -> rusqlite::Result<()> {
    if sync != *synced {
        conn.pragma_update(None, "synchronous", if sync { "FULL" } else { "NORMAL" })?;
        *synced = sync;
    }
    Ok(())
}

impl Job {
    /// Whether the writer may hear "success" only once the job is on disk. Not so for an AI
    /// call's reservation (a request counted before egress: it proves the database takes
    /// writes and keeps budgets exact across processes, while the call's evidence is its
    /// event, which commits durably before the answer's end is released) nor for a token's
    /// last use. Those are visible to every reader at once and survive a crash of the
    /// process; only a power loss before the next durable commit could drop them.
    pub(crate) fn must_sync(&self) -> bool {
        !matches!(
            self,
            Job::Usage { event: None, .. } | Job::TouchToken { .. }
        )
    }

    /// Whether this job is committed alone, without a savepoint: thousands of rows, all or
    /// nothing.
    fn is_bulk(&self) -> bool {
        matches!(self, Job::Resealed { .. })
    }
}

/// A job that ran, waiting for the batch's commit to learn whether it stands.
enum Done {
    Version(
        oneshot::Sender<Result<VersionRecord, StoreError>>,
        Result<VersionRecord, StoreError>,
    ),
    Unit(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
}

impl Done {
    fn fail(self, why: &str) {
        let err = StoreError::Task(format!("metadata commit failed: {why}"));
        match self {
            Done::Version(reply, _) => drop(reply.send(Err(err))),
            Done::Unit(reply, _) => drop(reply.send(Err(err))),
        }
    }
    fn deliver(self) {
        match self {
            Done::Version(reply, result) => drop(reply.send(result)),
            Done::Unit(reply, result) => drop(reply.send(result)),
        }
    }
}

fn unrun(job: Job) -> Done {
    let never = || StoreError::Task("not run".into());
    match job {
        Job::Version { reply, .. } => Done::Version(reply, Err(never())),
        Job::Audit { reply, .. }
        | Job::EnsureFile { reply, .. }
        | Job::Usage { reply, .. }
        | Job::Resealed { reply, .. }
        | Job::TouchToken { reply, .. } => Done::Unit(reply, Err(never())),
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Job>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let why = e.to_string();
            batch.into_iter().for_each(|job| unrun(job).fail(&why));
            return;
        }
    };
    // The KEK that new data keys must be wrapped under, read once per batch.
    let active_kek: Option<String> = match tx
        .query_row("SELECT id FROM keks WHERE retired_at_ms IS NULL", [], |r| {
            r.get(0)
        })
        .optional()
    {
        Ok(id) => id,
        Err(e) => {
            let why = e.to_string();
            batch.into_iter().for_each(|job| unrun(job).fail(&why));
            return;
        }
    };
    // The audit chain's head, read once per batch: this transaction holds the write lock.
    let mut chain = match Chain::load(&tx) {
        Ok(chain) => chain,
        Err(e) => {
            let why = e.to_string();
            batch.into_iter().for_each(|job| unrun(job).fail(&why));
            return;
        }
    };
    let mut done = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        match run_job(&tx, active_kek.as_deref(), &mut chain, job) {
            Ok(entry) => done.push(entry),
            Err(failed) => {
                let (entry, why) = *failed;
                // The transaction is in an unknown state: roll it all back (by dropping it).
                drop(tx);
                done.into_iter()
                    .chain(std::iter::once(entry))
                    .chain(jobs.map(unrun))
                    .for_each(|d| d.fail(&why));
                return;
            }
        }
    }
    if let Err(e) = chain.store(&tx) {
        let why = e.to_string();
        drop(tx);
        done.into_iter().for_each(|entry| entry.fail(&why));
        return;
    }
    match tx.commit() {
        Ok(()) => done.into_iter().for_each(Done::deliver),
        Err(e) => {
            let why = e.to_string();
            done.into_iter().for_each(|entry| entry.fail(&why));
        }
    }
}

/// Runs one job. `Err` means the transaction can no longer be trusted (a savepoint could not
/// be rolled back); a job that merely failed is `Ok` with its error inside.
fn run_job(
    tx: &Connection,
    active_kek: Option<&str>,
    chain: &mut Chain,
    job: Job,
) -> Result<Done, Box<(Done, String)>> {
    match job {
        Job::Version { new, event, reply } => {
            if let Err(e) = tx.execute_batch("SAVEPOINT job") {
                return Ok(Done::Version(reply, Err(e.into())));
            }
            let head = chain.head();
            let result = commit_version(tx, active_kek, chain, &new, *event);
            let closed = if result.is_ok() {
                tx.execute_batch("RELEASE job")
            } else {
                chain.reset(head);
                tx.execute_batch("ROLLBACK TO job; RELEASE job")
            };
            match closed {
                Ok(()) => Ok(Done::Version(reply, result)),
                Err(e) => Err(Box::new((Done::Version(reply, result), e.to_string()))),
            }
        }
        // Single statements: a failing one is undone by SQLite itself.
        Job::Audit { event, reply } => Ok(Done::Unit(
            reply,
            chain.append_prepared(tx, &event).map(drop),
        )),
        Job::EnsureFile {
            id,
            path,
            tier,
            owner,
            at_ms,
            reply,
        } => {
            let result = tx
                .prepare_cached(
                    "INSERT INTO files (id, path, tier, current_version, created_at_ms, owner) \
                     VALUES (?1, ?2, ?3, 0, ?4, ?5) ON CONFLICT (path) WHERE purged_at_ms IS NULL DO NOTHING",
                )
                .and_then(|mut s| s.execute(params![id, path, tier.as_str(), at_ms, owner]))
                .map(drop)
                .map_err(StoreError::from);
            Ok(Done::Unit(reply, result))
        }
        Job::Usage { rows, event, reply } => {
            if let Err(e) = tx.execute_batch("SAVEPOINT job") {
                return Ok(Done::Unit(reply, Err(e.into())));
            }
            let head = chain.head();
            let result = usage(tx, chain, &rows, event.as_deref());
            let closed = if result.is_ok() {
                tx.execute_batch("RELEASE job")
            } else {
                chain.reset(head);
                tx.execute_batch("ROLLBACK TO job; RELEASE job")
            };
            match closed {
                Ok(()) => Ok(Done::Unit(reply, result)),
                Err(e) => Err(Box::new((Done::Unit(reply, result), e.to_string()))),
            }
        }
        // Alone in its transaction (see `run`), so no savepoint is needed — one around
        // thousands of statements costs more than the statements: failing it rolls back
        // everything it did, and nothing else.
        Job::Resealed { rows, reply } => match resealed(tx, rows) {
            Ok(()) => Ok(Done::Unit(reply, Ok(()))),
            Err(e) => {
                let why = e.to_string();
                Err(Box::new((Done::Unit(reply, Err(e)), why)))
            }
        },
        Job::TouchToken {
            id,
            at_ms,
            addr,
            reply,
        } => {
            let result = tx
                .prepare_cached(
                    "UPDATE tokens SET last_used_at_ms = ?1, last_used_addr = ?2 WHERE id = ?3",
                )
                .and_then(|mut s| s.execute(params![at_ms, addr, id]))
                .map(drop)
                .map_err(StoreError::from);
            Ok(Done::Unit(reply, result))
        }
    }
}

fn resealed(
    tx: &Connection,
    rows: Vec<([u8; 16], covault_crypto::WrappedKey, Option<Vec<u8>>)>,
) -> Result<(), StoreError> {
    let mut update = tx.prepare_cached(
        "UPDATE versions SET kek_id = ?1, wrapped_key = ?2, storage = ?3 WHERE version_id = ?4",
    )?;
    let mut inline_row = tx
        .prepare_cached("INSERT OR REPLACE INTO inline_blobs (version_id, data) VALUES (?1, ?2)")?;
    for (version_id, wrapped, inline) in rows {
        let id = hex::encode(version_id);
        let storage = if inline.is_some() { "inline" } else { "blob" };
        let changed =
            update.execute(params![wrapped.kek_id.as_str(), wrapped.bytes, storage, id])?;
        if changed != 1 {
            return Err(StoreError::Corrupt(format!(
                "restored version {id} has no row"
            )));
        }
        if let Some(data) = inline {
            inline_row.execute(params![id, data])?;
        }
    }
    Ok(())
}

fn usage(
    tx: &Connection,
    chain: &mut Chain,
    rows: &[(String, String, i64, i64)],
    event: Option<&PreparedEvent>,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO ai_usage (subject, month, tokens, requests) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (subject, month) DO UPDATE SET tokens = ai_usage.tokens + excluded.tokens, \
           requests = ai_usage.requests + excluded.requests",
    )?;
    for (subject, month, tokens, requests) in rows {
        stmt.execute(params![subject, month, tokens, requests])?;
    }
    if let Some(event) = event {
        chain.append_prepared(tx, event)?;
    }
    Ok(())
}

fn commit_version(
    tx: &Connection,
    active_kek: Option<&str>,
    chain: &mut Chain,
    new: &NewVersion,
    mut event: AuditEvent,
) -> Result<VersionRecord, StoreError> {
    if active_kek != Some(new.wrapped_key.kek_id.as_str()) {
        return Err(StoreError::KeyRotated);
    }
    // One statement takes the next version number and makes it current (undeleting).
    let version: Option<i64> = tx
        .prepare_cached(
            "UPDATE files SET current_version = current_version + 1, deleted_at_ms = NULL, tier = ?1 \
             WHERE id = ?2 AND purged_at_ms IS NULL RETURNING current_version",
        )?
        .query_row(params![new.tier.as_str(), new.file_id], |r| r.get(0))
        .optional()?;
    let Some(version) = version else {
        let path: Option<String> = tx
            .query_row(
                "SELECT path FROM files WHERE id = ?1",
                params![new.file_id],
                |r| r.get(0),
            )
            .optional()?;
        return Err(match path {
            Some(path) => StoreError::Purged(path),
            None => StoreError::Corrupt("file row missing at commit".into()),
        });
    };
    let size = i64::try_from(new.size).map_err(|_| StoreError::TooLarge {
        limit: i64::MAX as u64,
    })?;
    let version_id = hex::encode(new.version_id);
    tx.prepare_cached(
        "INSERT INTO versions (file_id, version, version_id, size, content_hash, author, \
         created_at_ms, tier, kind, restored_from, kek_id, wrapped_key, storage, findings) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        new.file_id,
        version,
        version_id,
        size,
        new.content_hash.as_bytes().as_slice(),
        new.author,
        new.created_at_ms,
        new.tier.as_str(),
        new.kind.as_str(),
        new.restored_from,
        new.wrapped_key.kek_id.as_str(),
        new.wrapped_key.bytes,
        if new.inline.is_some() {
            "inline"
        } else {
            "blob"
        },
        new.findings,
    ])?;
    if let Some(data) = &new.inline {
        tx.prepare_cached("INSERT INTO inline_blobs (version_id, data) VALUES (?1, ?2)")?
            .execute(params![version_id, data])?;
    }
    event.version = Some(version);
    chain.append(tx, &event)?;
    Ok(VersionRecord {
        file_id: new.file_id.clone(),
        version,
        version_id: new.version_id,
        size: new.size,
        content_hash: new.content_hash,
        author: new.author.clone(),
        created_at_ms: new.created_at_ms,
        tier: new.tier,
        kind: new.kind,
        restored_from: new.restored_from,
        wrapped_key: Some(new.wrapped_key.clone()),
        inline: new.inline.is_some(),
        findings: new.findings.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap_or(-1)
    }

    #[test]
    fn only_bookkeeping_batches_skip_the_fsync() -> Result<(), Box<dyn std::error::Error>> {
        let (reply, _) = oneshot::channel();
        let reservation = Job::Usage {
            rows: vec![],
            event: None,
            reply,
        };
        let (reply, _) = oneshot::channel();
        let touch = Job::TouchToken {
            id: "t".into(),
            at_ms: 0,
            addr: None,
            reply,
        };
        let (reply, _) = oneshot::channel();
        let new_file = Job::EnsureFile {
            id: "f".into(),
            path: "a.txt".into(),
            tier: Tier::Public,
            owner: "u".into(),
            at_ms: 0,
            reply,
        };
        assert!(!reservation.must_sync());
        assert!(!touch.must_sync());
        assert!(new_file.must_sync());

        let dir = tempfile::tempdir()?;
        let path = dir.path().join("m.db");
        Connection::open(&path)?.pragma_update(None, "journal_mode", "WAL")?;
        let conn = crate::audit_log::writer(&path)?;
        let mut synced = true;
        assert_eq!(mode(&conn), 2, "the writer opens with synchronous = FULL");
        set_sync(&conn, false, &mut synced)?;
        assert_eq!((mode(&conn), synced), (1, false));
        set_sync(&conn, false, &mut synced)?;
        assert_eq!((mode(&conn), synced), (1, false));
        set_sync(&conn, true, &mut synced)?;
        assert_eq!((mode(&conn), synced), (2, true));
        Ok(())
    }
}
