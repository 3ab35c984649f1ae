//! The audit log in SQLite: chained appends (on the committer's rusqlite connection and in
//! sqlx transactions alike), search, signed checkpoints, retention pruning, the reads that
//! verification and export make, and export cursors.
//!
//! Every append reads the chain head (`audit_head`) inside its write transaction, so appends
//! from the group committer and from administrative transactions interleave into one chain:
//! SQLite's write lock orders them. Reads open their own read-only connection on a blocking
//! thread and run in one snapshot. SQL text is static (filters are chosen from fixed
//! fragments); values are always bound.

use std::path::Path;
use std::time::Duration;

use covault_audit::{
    Anchor, AuditEvent, AuditQuery, ChainHasher, ChainHead, Checkpoint, ConsistencyProof,
    EventColumns, Frontier, HashedEvent, InclusionProof, RawColumns, StoredEvent, Verifier,
    VerifyReport,
};
use covault_crypto::{PublicKey, SigningKey};
use rusqlite::types::{ToSql, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use sqlx::{Row, Sqlite, Transaction};

use crate::StoreError;

const EVENT_COLS: &str = "seq, at_ms, principal, token_id, session_id, action, path, version, \
     tier, outcome, reason, request_id, correlation_id, remote_addr, user_agent, detail, ext, \
     prev_hash, hash";

const INSERT_EVENT: &str = "INSERT INTO audit_events (seq, at_ms, principal, token_id, \
     session_id, action, path, version, tier, outcome, reason, request_id, correlation_id, \
     remote_addr, user_agent, detail, ext, prev_hash, hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

const UPDATE_HEAD: &str = "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1";

fn to_seq(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("negative audit position".into()))
}

fn from_seq(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt("audit position out of range".into()))
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Corrupt(format!("bad {what} in the audit log")))
}

fn read_head(conn: &Connection) -> Result<ChainHead, StoreError> {
    let (seq, hash): (i64, Vec<u8>) =
        conn.query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(ChainHead {
        seq: to_seq(seq)?,
        hash: hash32(hash, "chain head")?,
    })
}

/// The committer's view of the chain during one batch.
pub(crate) struct Chain {
    head: ChainHead,
    /// The head as read: the row is written back only if it moved.
    loaded: ChainHead,
    hasher: ChainHasher,
}

impl Chain {
    /// Reads the head inside the batch's transaction.
    pub(crate) fn load(conn: &Connection) -> Result<Self, StoreError> {
        let head = read_head(conn)?;
        Ok(Self {
            head,
            loaded: head,
            hasher: ChainHasher::default(),
        })
    }

    pub(crate) fn head(&self) -> ChainHead {
        self.head
    }

    /// Puts the head back (after a savepoint that appended was rolled back).
    pub(crate) fn reset(&mut self, head: ChainHead) {
        self.head = head;
    }

    /// Appends `event` after the head; the head moves only if the insert succeeded.
    pub(crate) fn append(
        &mut self,
        conn: &Connection,
        event: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let prepared = PreparedEvent::new(event, &mut self.hasher);
        self.append_prepared(conn, &prepared)
    }

    /// Appends an event whose columns and leaf hash were computed by the writer: only the
    /// chain link (one small hash) and the insert run here, on the serial commit path.
    pub(crate) fn append_prepared(
        &mut self,
        conn: &Connection,
        e: &PreparedEvent,
    ) -> Result<u64, StoreError> {
        let mut next = self.head;
        let (seq, prev, hash) = next.append_leaf(&e.leaf);
        insert_rusqlite(conn, seq, &prev, &hash, &e.columns)?;
        self.head = next;
        Ok(seq)
    }

    /// Records the head (if anything was appended); call once before committing.
    pub(crate) fn store(&self, conn: &Connection) -> Result<(), StoreError> {
        if self.head == self.loaded {
            return Ok(());
        }
        conn.prepare_cached(UPDATE_HEAD)?
            .execute(params![from_seq(self.head.seq)?, self.head.hash.as_slice()])?;
        Ok(())
    }
}

/// An event in its stored form with its leaf hash: everything about it that does not depend
/// on its position, computed before it reaches the committer.
pub(crate) struct PreparedEvent {
    columns: EventColumns,
    leaf: [u8; 32],
}

impl PreparedEvent {
    pub(crate) fn new(event: &AuditEvent, hasher: &mut ChainHasher) -> Self {
        let columns = event.to_columns();
        let leaf = hasher.leaf(&columns);
        Self { columns, leaf }
    }
}

fn insert_rusqlite(
    conn: &Connection,
    seq: u64,
    prev: &[u8; 32],
    hash: &[u8; 32],
    c: &EventColumns,
) -> Result<(), StoreError> {
    conn.prepare_cached(INSERT_EVENT)?.execute(params![
        from_seq(seq)?,
        c.at_ms,
        c.principal,
        c.token_id,
        c.session_id,
        c.action,
        c.path,
        c.version,
        c.tier,
        c.outcome,
        c.reason,
        c.request_id,
        c.correlation_id,
        c.remote_addr,
        c.user_agent,
        c.detail,
        c.ext,
        prev.as_slice(),
        hash.as_slice(),
    ])?;
    Ok(())
}

/// Appends `event` inside an sqlx write transaction (`BEGIN IMMEDIATE`).
pub(crate) async fn append_sqlx(
    tx: &mut Transaction<'static, Sqlite>,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let mut head = ChainHead {
        seq: to_seq(row.try_get("seq")?)?,
        hash: hash32(row.try_get("hash")?, "chain head")?,
    };
    let c = event.to_columns();
    let (seq, prev, hash) = head.append(&mut ChainHasher::default(), &c);
    sqlx::query(INSERT_EVENT)
        .bind(from_seq(seq)?)
        .bind(c.at_ms)
        .bind(c.principal)
        .bind(c.token_id)
        .bind(c.session_id)
        .bind(c.action)
        .bind(c.path)
        .bind(c.version)
        .bind(c.tier)
        .bind(c.outcome)
        .bind(c.reason)
        .bind(c.request_id)
        .bind(c.correlation_id)
        .bind(c.remote_addr)
        .bind(c.user_agent)
        .bind(c.detail)
        .bind(c.ext)
        .bind(prev.to_vec())
        .bind(hash.to_vec())
        .execute(&mut **tx)
        .await?;
    sqlx::query(UPDATE_HEAD)
        .bind(from_seq(seq)?)
        .bind(hash.to_vec())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn event_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(i64, Vec<u8>, Vec<u8>, EventColumns)> {
    Ok((
        r.get(0)?,
        r.get::<_, Option<Vec<u8>>>(17)?.unwrap_or_default(),
        r.get::<_, Option<Vec<u8>>>(18)?.unwrap_or_default(),
        EventColumns {
            at_ms: r.get(1)?,
            principal: r.get(2)?,
            token_id: r.get(3)?,
            session_id: r.get(4)?,
            action: r.get(5)?,
            path: r.get(6)?,
            version: r.get(7)?,
            tier: r.get(8)?,
            outcome: r.get(9)?,
            reason: r.get(10)?,
            request_id: r.get(11)?,
            correlation_id: r.get(12)?,
            remote_addr: r.get(13)?,
            user_agent: r.get(14)?,
            detail: r.get(15)?,
            ext: r.get(16)?,
        },
    ))
}

fn stored(row: (i64, Vec<u8>, Vec<u8>, EventColumns)) -> Result<StoredEvent, StoreError> {
    let (seq, prev, hash, columns) = row;
    // A missing hash (tampering, or an unchained legacy row) reads as zeros: verification
    // then reports it; it can never pass.
    let fix = |b: Vec<u8>| <[u8; 32]>::try_from(b.as_slice()).unwrap_or([0u8; 32]);
    Ok(StoredEvent {
        seq: to_seq(seq)?,
        prev_hash: fix(prev),
        hash: fix(hash),
        columns,
    })
}

/// A read-only connection for one read (its own snapshot when in a transaction).
pub(crate) fn reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    Ok(conn)
}

/// A read-write connection with the workspace's durability settings (commits are on disk
/// when they return; freed pages are zeroed; foreign keys enforced).
pub(crate) fn writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Statement journals (one per savepoint'd job) stay in memory: no copies of database
    // pages in the system temp directory, and no file writes for them.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// Events matching `q`, oldest first.
pub(crate) fn search(path: &Path, q: &AuditQuery) -> Result<Vec<StoredEvent>, StoreError> {
    let conn = reader(path)?;
    let mut sql = String::from("SELECT ");
    sql.push_str(EVENT_COLS);
    sql.push_str(" FROM audit_events WHERE seq > ?");
    let mut values: Vec<Box<dyn ToSql>> = vec![Box::new(from_seq(q.after_seq.unwrap_or(0))?)];
    let mut filter = |fragment: &'static str, value: Box<dyn ToSql>| {
        sql.push_str(fragment);
        values.push(value);
    };
    if let Some(v) = q.since_ms {
        filter(" AND at_ms >= ?", Box::new(v));
    }
    if let Some(v) = q.until_ms {
        filter(" AND at_ms < ?", Box::new(v));
    }
    if let Some(v) = &q.principal {
        filter(" AND principal = ?", Box::new(v.clone()));
    }
    match q.action_filter() {
        Some(covault_audit::ActionFilter::Exact(a)) => filter(" AND action = ?", Box::new(a)),
        Some(covault_audit::ActionFilter::Prefix(p)) => {
            let len = i64::try_from(p.len()).unwrap_or(i64::MAX);
            filter(" AND substr(action, 1, ?", Box::new(len));
            filter(") = ?", Box::new(p));
        }
        None => {}
    }
    if let Some((exact, low, high)) = q.path_range() {
        filter(" AND (path = ?", Box::new(exact));
        filter(" OR (path >= ?", Box::new(low));
        filter(" AND path < ?))", Box::new(high));
    }
    if let Some(v) = q.outcome {
        filter(" AND outcome = ?", Box::new(v.as_str()));
    }
    if let Some(v) = &q.correlation_id {
        filter(" AND correlation_id = ?", Box::new(v.clone()));
    }
    if let Some(v) = &q.request_id {
        filter(" AND request_id = ?", Box::new(v.clone()));
    }
    filter(" ORDER BY seq LIMIT ?", Box::new(i64::from(q.page_size())));
    let mut stmt = conn.prepare(&sql)?;
    let params: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let rows = stmt.query_map(params.as_slice(), event_from_row)?;
    rows.map(|r| stored(r?)).collect()
}

pub(crate) fn head(path: &Path) -> Result<ChainHead, StoreError> {
    read_head(&reader(path)?)
}

const CHECKPOINT_COLS: &str =
    "tree_size, chain_hash, merkle_root, frontier, at_ms, public_key, signature";

fn checkpoint_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

type CheckpointRow = (i64, Vec<u8>, Vec<u8>, Vec<u8>, i64, String, String);

fn decode_checkpoint(row: CheckpointRow) -> Result<(Checkpoint, Vec<u8>), StoreError> {
    let (size, chain, root, frontier, at_ms, public_key, signature) = row;
    Ok((
        Checkpoint {
            tree_size: to_seq(size)?,
            chain_hash: hash32(chain, "checkpoint chain hash")?,
            merkle_root: hash32(root, "checkpoint root")?,
            at_ms,
            public_key,
            signature,
        },
        frontier,
    ))
}

fn all_checkpoints(conn: &Connection) -> Result<Vec<(Checkpoint, Vec<u8>)>, StoreError> {
    let mut sql = String::from("SELECT ");
    sql.push_str(CHECKPOINT_COLS);
    sql.push_str(" FROM audit_checkpoints ORDER BY tree_size");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], checkpoint_from_row)?;
    rows.map(|r| decode_checkpoint(r?)).collect()
}

/// Every stored checkpoint, oldest first.
pub(crate) fn checkpoints(path: &Path) -> Result<Vec<Checkpoint>, StoreError> {
    Ok(all_checkpoints(&reader(path)?)?
        .into_iter()
        .map(|(c, _)| c)
        .collect())
}

/// Signs a checkpoint over every event up to the head, unless the newest checkpoint already
/// covers them. The events since the previous checkpoint are re-checked first: a log that
/// does not chain is never signed.
pub(crate) fn checkpoint(
    path: &Path,
    key: &SigningKey,
    at_ms: i64,
) -> Result<Option<Checkpoint>, StoreError> {
    let mut conn = writer(path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let head = read_head(&tx)?;
    let last = all_checkpoints(&tx)?.pop();
    let (mut frontier, mut running) = match &last {
        Some((cp, nodes)) => (
            Frontier::from_bytes(cp.tree_size, nodes)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            cp.chain_hash,
        ),
        None => (Frontier::default(), covault_audit::GENESIS),
    };
    if head.seq <= frontier.size() {
        return Ok(None);
    }
    for e in hashed_range(&tx, frontier.size() + 1, head.seq + 1)? {
        let expected_seq = frontier.size() + 1;
        if e.seq != expected_seq || e.prev_hash != running || e.recomputed != e.hash {
            return Err(StoreError::AuditTampered { seq: expected_seq });
        }
        frontier.push(e.leaf);
        running = e.hash;
    }
    if frontier.size() != head.seq || running != head.hash {
        return Err(StoreError::AuditTampered {
            seq: frontier.size() + 1,
        });
    }
    let cp = Checkpoint::sign(key, &frontier, running, at_ms);
    let mut sql = String::from("INSERT INTO audit_checkpoints (");
    sql.push_str(CHECKPOINT_COLS);
    sql.push_str(") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    tx.execute(
        &sql,
        params![
            from_seq(cp.tree_size)?,
            cp.chain_hash.as_slice(),
            cp.merkle_root.as_slice(),
            frontier.to_bytes(),
            cp.at_ms,
            cp.public_key,
            cp.signature,
        ],
    )?;
    tx.commit()?;
    Ok(Some(cp))
}

/// What pruning removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PruneReport {
    /// Events deleted.
    pub deleted: u64,
    /// The checkpoint that now anchors the start of the log (0: nothing pruned).
    pub anchored_at: u64,
}

/// Deletes events older than `before_ms`, up to the newest checkpoint that lies entirely
/// before that time (so the remaining log starts at a signed anchor), and appends `event`.
pub(crate) fn prune(
    path: &Path,
    before_ms: i64,
    event: &AuditEvent,
) -> Result<PruneReport, StoreError> {
    let mut conn = writer(path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let target: Option<i64> = tx
        .query_row(
            "SELECT MAX(tree_size) FROM audit_checkpoints WHERE tree_size <= \
             (SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE at_ms < ?1)",
            params![before_ms],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let mut report = PruneReport::default();
    if let Some(target) = target {
        tx.execute(
            "INSERT INTO audit_prune (id, through_seq) VALUES (1, ?1)",
            params![target],
        )?;
        let deleted = tx.execute("DELETE FROM audit_events WHERE seq <= ?1", params![target])?;
        tx.execute("DELETE FROM audit_prune", [])?;
        report = PruneReport {
            deleted: deleted as u64,
            anchored_at: to_seq(target)?,
        };
    }
    let mut event = event.clone();
    event.detail =
        serde_json::json!({ "deleted": report.deleted, "anchored_at": report.anchored_at });
    let mut chain = Chain::load(&tx)?;
    chain.append(&tx, &event)?;
    chain.store(&tx)?;
    tx.commit()?;
    Ok(report)
}

/// Verifies the whole stored log in one snapshot: from genesis, or from the checkpoint that
/// anchors it after pruning, against every stored checkpoint plus `extra` ones (copies kept
/// outside), trusting `key`.
pub(crate) fn verify(
    path: &Path,
    key: &PublicKey,
    extra: Vec<Checkpoint>,
) -> Result<VerifyReport, StoreError> {
    // Two readers, each in its own snapshot, hash the two halves of every window in
    // parallel; this thread then feeds them to the verifier in order.
    let conn = snapshot_reader(path)?;
    let mut other = snapshot_reader(path)?;
    let head = read_head(&conn)?;
    let (first, last): (Option<i64>, Option<i64>) =
        conn.query_row("SELECT MIN(seq), MAX(seq) FROM audit_events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let stored_cps = all_checkpoints(&conn)?;
    let (first, last) = (
        first.map(to_seq).transpose()?,
        last.map(to_seq).transpose()?,
    );
    let anchor = first
        .filter(|f| *f > 1)
        .and_then(|f| stored_cps.iter().find(|(c, _)| c.tree_size == f - 1))
        .and_then(|(cp, nodes)| {
            let frontier = Frontier::from_bytes(cp.tree_size, nodes).ok()?;
            let anchor = Anchor {
                tree_size: cp.tree_size,
                chain_hash: cp.chain_hash,
                frontier,
            };
            (anchor.frontier.root() == cp.merkle_root).then_some(anchor)
        })
        .unwrap_or_else(Anchor::genesis);
    let mut checkpoints: Vec<Checkpoint> = stored_cps.into_iter().map(|(c, _)| c).collect();
    checkpoints.extend(extra);
    let mut verifier = Verifier::new(anchor, checkpoints, Some(*key));
    if let (Some(first), Some(last)) = (first, last) {
        let mut lo = first;
        while lo <= last {
            let hi = lo.saturating_add(VERIFY_WINDOW).min(last + 1);
            let mid = lo + (hi - lo) / 2;
            let (low, high) = std::thread::scope(|s| {
                let other = &mut other;
                let high = s.spawn(move || hashed_range(other, mid, hi));
                (hashed_range(&conn, lo, mid), high.join())
            });
            let high = high.map_err(|_| StoreError::Task("an audit reader panicked".into()))?;
            for e in low?.iter().chain(high?.iter()) {
                verifier.feed_hashed(e);
            }
            // Jump over gaps in the positions (only tampering makes them) in one step.
            let next: Option<i64> = conn.query_row(
                "SELECT MIN(seq) FROM audit_events WHERE seq >= ?1",
                params![from_seq(hi)?],
                |r| r.get(0),
            )?;
            match next.map(to_seq).transpose()? {
                Some(next) => lo = next,
                None => break,
            }
        }
    }
    conn.execute_batch("COMMIT")?;
    other.execute_batch("COMMIT")?;
    Ok(verifier.finish(Some(head)))
}

/// Positions one verification window spans (split between two readers).
const VERIFY_WINDOW: u64 = 1 << 15;

/// A read-only connection inside a read transaction whose snapshot is already taken, with
/// the database memory-mapped (reads without a copy per page).
fn snapshot_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = reader(path)?;
    conn.pragma_update(None, "mmap_size", 1_i64 << 30)?;
    conn.execute_batch("BEGIN")?;
    conn.query_row("SELECT COUNT(*) FROM audit_head", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(conn)
}

/// Reads events with `lo <= seq < hi`, oldest first, and hashes them straight from SQLite's
/// buffers: nothing is decoded or allocated per event. A value of the wrong type (only
/// tampering makes one) hashes as a byte no text contains, so it can never verify.
fn hashed_range(conn: &Connection, lo: u64, hi: u64) -> Result<Vec<HashedEvent>, StoreError> {
    let mut sql = String::from("SELECT ");
    sql.push_str(EVENT_COLS);
    sql.push_str(" FROM audit_events WHERE seq >= ?1 AND seq < ?2 ORDER BY seq");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![from_seq(lo)?, from_seq(hi)?])?;
    let mut hasher = ChainHasher::default();
    let mut out = Vec::with_capacity(usize::try_from(hi - lo).unwrap_or(0).min(1 << 16));
    while let Some(r) = rows.next()? {
        let text = |i: usize| match r.get_ref(i) {
            Ok(ValueRef::Text(b)) => Some(b),
            Ok(ValueRef::Null) => None,
            _ => Some(&b"\xff"[..]),
        };
        let int = |i: usize| match r.get_ref(i) {
            Ok(ValueRef::Integer(v)) => Some(v),
            Ok(ValueRef::Null) => None,
            _ => Some(i64::MIN),
        };
        let hash = |i: usize| match r.get_ref(i) {
            Ok(ValueRef::Blob(b)) => <[u8; 32]>::try_from(b).unwrap_or([0u8; 32]),
            _ => [0u8; 32],
        };
        let raw = RawColumns {
            at_ms: int(1).unwrap_or(i64::MIN),
            version: int(7),
            texts: [
                text(2),
                text(3),
                text(4),
                text(5),
                text(6),
                text(8),
                text(9),
                text(10),
                text(11),
                text(12),
                text(13),
                text(14),
                text(15),
                text(16),
            ],
        };
        let leaf = hasher.leaf_raw(&raw);
        let seq = to_seq(int(0).unwrap_or(0))?;
        out.push(HashedEvent::new(seq, hash(17), hash(18), leaf));
    }
    Ok(out)
}

/// Chains events written before the chain existed (schema 1), in order, after the head.
pub(crate) fn chain_legacy_events(path: &Path) -> Result<u64, StoreError> {
    let mut conn = writer(path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut chain = Chain::load(&tx)?;
    let legacy: Vec<StoredEvent> = {
        let mut sql = String::from("SELECT ");
        sql.push_str(EVENT_COLS);
        sql.push_str(" FROM audit_events WHERE hash IS NULL ORDER BY seq");
        let mut stmt = tx.prepare(&sql)?;
        let rows = stmt.query_map([], event_from_row)?;
        rows.map(|r| stored(r?)).collect::<Result<_, _>>()?
    };
    if legacy.is_empty() {
        return Ok(0);
    }
    let mut hasher = ChainHasher::default();
    for e in &legacy {
        if e.seq != chain.head.seq + 1 {
            return Err(StoreError::AuditTampered {
                seq: chain.head.seq + 1,
            });
        }
        let (seq, prev, hash) = chain.head.append(&mut hasher, &e.columns);
        tx.execute(
            "UPDATE audit_events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3 AND hash IS NULL",
            params![prev.as_slice(), hash.as_slice(), from_seq(seq)?],
        )?;
    }
    chain.store(&tx)?;
    tx.commit()?;
    Ok(legacy.len() as u64)
}

/// Where export sink `name` stands (0 when it has delivered nothing).
pub(crate) fn sink_cursor(path: &Path, name: &str) -> Result<u64, StoreError> {
    let conn = reader(path)?;
    let seq: Option<i64> = conn
        .query_row(
            "SELECT cursor_seq FROM audit_sinks WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?;
    seq.map_or(Ok(0), to_seq)
}

/// Records that sink `name` has delivered everything up to `seq` (durably, before the next
/// batch is sent). Cursors only move forward.
pub(crate) fn set_sink_cursor(
    path: &Path,
    name: &str,
    seq: u64,
    at_ms: i64,
) -> Result<(), StoreError> {
    let conn = writer(path)?;
    conn.execute(
        "INSERT INTO audit_sinks (name, cursor_seq, updated_at_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (name) DO UPDATE SET cursor_seq = MAX(cursor_seq, excluded.cursor_seq), \
         updated_at_ms = excluded.updated_at_ms",
        params![name, from_seq(seq)?, at_ms],
    )?;
    Ok(())
}

/// A proof that event `seq` is in the log the newest checkpoint signs. The leaves before the
/// pruning anchor are represented by the anchor's stored frontier.
pub(crate) fn inclusion_proof(path: &Path, seq: u64) -> Result<InclusionProof, StoreError> {
    let conn = snapshot_reader(path)?;
    let missing = || StoreError::NotFound(format!("audit event {seq}"));
    let event = search(
        path,
        &AuditQuery {
            after_seq: Some(seq.saturating_sub(1)),
            limit: Some(1),
            ..Default::default()
        },
    )?
    .into_iter()
    .find(|e| e.seq == seq)
    .ok_or_else(missing)?;
    let checkpoints = all_checkpoints(&conn)?;
    let Some((cp, _)) = checkpoints.last().filter(|(c, _)| c.tree_size >= seq) else {
        return Err(StoreError::NotCheckpointed { seq });
    };
    let (prefix, leaves) = signed_tree(&conn, &checkpoints, cp.tree_size)?;
    let audit_path = covault_audit::merkle::inclusion_proof_after(&prefix, &leaves, seq - 1)
        .ok_or_else(|| StoreError::AuditTampered { seq })?;
    let mut canonical = Vec::new();
    covault_audit::canonical_bytes(&event.columns, &mut canonical);
    let proof = InclusionProof::new(seq, &canonical, &audit_path, cp.clone());
    conn.execute_batch("COMMIT")?;
    Ok(proof)
}

/// The compact range of the pruned prefix and the leaves after it, up to `tree_size`.
fn signed_tree(
    conn: &Connection,
    checkpoints: &[(Checkpoint, Vec<u8>)],
    tree_size: u64,
) -> Result<(Frontier, Vec<[u8; 32]>), StoreError> {
    let first: Option<i64> =
        conn.query_row("SELECT MIN(seq) FROM audit_events", [], |r| r.get(0))?;
    let first = first
        .map(to_seq)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound("audit events".into()))?;
    let prefix = match first {
        1 => Frontier::default(),
        f => {
            let (anchor, nodes) = checkpoints
                .iter()
                .find(|(c, _)| c.tree_size == f - 1)
                .ok_or(StoreError::AuditTampered { seq: 1 })?;
            Frontier::from_bytes(anchor.tree_size, nodes)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
        }
    };
    let leaves = hashed_range(conn, first, tree_size + 1)?
        .iter()
        .map(|e| e.leaf)
        .collect();
    Ok((prefix, leaves))
}

/// A proof that the log the newest checkpoint signs extends the tree of its first `from`
/// events (whose root the caller holds in a checkpoint of its own).
pub(crate) fn consistency_proof(path: &Path, from: u64) -> Result<ConsistencyProof, StoreError> {
    let conn = snapshot_reader(path)?;
    let checkpoints = all_checkpoints(&conn)?;
    let Some((cp, _)) = checkpoints.last().filter(|(c, _)| c.tree_size >= from) else {
        return Err(StoreError::NotCheckpointed { seq: from });
    };
    let (prefix, leaves) = signed_tree(&conn, &checkpoints, cp.tree_size)?;
    let proof = covault_audit::merkle::consistency_proof_after(&prefix, &leaves, from).ok_or_else(
        || StoreError::NotFound(format!("a proof from {from} events (0, or pruned since)")),
    )?;
    let proof = ConsistencyProof::new(from, &proof, cp.clone());
    conn.execute_batch("COMMIT")?;
    Ok(proof)
}
