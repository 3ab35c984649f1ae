//! The database copy a backup takes: every table, index and trigger of the live SQLite
//! database as of one instant, written into a new file without the inline ciphertext and
//! without the versions' wrapped data keys, which are handed back to the caller in memory.
//!
//! The copy runs on a connection of its own: the copy is the main database and the live
//! one is attached read-only, so one transaction reads a single snapshot of the live database
//! (WAL readers never block writers) while it writes the copy, and lists the versions with
//! their keys in that same transaction. Leaving the sensitive columns
//! out at insert time means they never reach the copy's pages, so no second pass is needed to
//! scrub them, and the inline ciphertext (most of a workspace of small files) is never copied
//! at all.
//!
//! **Incremental.** The copy of the last successful backup is kept beside the database
//! ([`BASE_NAME`], the same stripped rows, fsynced before it is kept). The next copy starts
//! from it and rewrites only the rows that differ: each table of both is read in rowid order,
//! side by side, and a row whose rowid is missing on one side or whose values differ is
//! deleted from the copy and inserted again from the live database. Row ids are copied, so
//! the comparison is by rowid; a copy whose schema differs from the live one (a migration ran)
//! is emptied and refilled. The result holds the same rows either way; what changes is the
//! cost (a few new audit events instead of every row, index entries inserted at random).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::OpenFlags;
use rusqlite::types::ValueRef;

use crate::sqlite::RawVersion;
use crate::{StoreError, VersionRecord, WorkspacePath};

/// Tables copied without their rows.
const EMPTY_TABLES: &[&str] = &["inline_blobs"];
/// Columns copied as NULL, per table.
const NULL_COLUMNS: &[(&str, &[&str])] = &[("versions", &["kek_id", "wrapped_key"])];
/// The file name, beside the database, of the copy the last successful backup took.
pub(crate) const BASE_NAME: &str = ".backup-base.db";

/// Every version (with its wrapped key) and its path, as of the copy's instant.
pub(crate) type Catalog = Vec<(WorkspacePath, VersionRecord)>;

/// One schema object: type, name, table name, SQL.
type SchemaObject = (String, String, String, String);

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQLite `file:` URI opening `path` read-only.
fn read_only_uri(path: &Path) -> Result<String, StoreError> {
    let text = path
        .to_str()
        .ok_or_else(|| StoreError::Corrupt("database path is not UTF-8".into()))?;
    let mut uri = String::from("file:");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro");
    Ok(uri)
}

/// The base copy's path for the database at `source`.
pub(crate) fn base_path(source: &Path) -> PathBuf {
    source.with_file_name(BASE_NAME)
}

/// Every schema object of database `schema` but SQLite's own, ordered tables first, then
/// indexes, then triggers and views, each in creation order.
fn schema_of(conn: &rusqlite::Connection, schema: &str) -> Result<Vec<SchemaObject>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT type, name, tbl_name, sql FROM {}.sqlite_master
         WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid",
        quote(schema)
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How a table's rows are copied: its columns, the value copied for each (the column, or
/// NULL), and whether it has row ids.
struct TableCopy {
    name: String,
    columns: Vec<String>,
    values: Vec<String>,
    /// Columns compared (those not copied as NULL).
    compared: Vec<String>,
    rowid: bool,
}

impl TableCopy {
    fn new(tx: &rusqlite::Transaction<'_>, name: &str) -> Result<Self, StoreError> {
        let nulls = NULL_COLUMNS
            .iter()
            .find(|(t, _)| *t == name)
            .map_or(&[][..], |(_, c)| *c);
        let columns: Vec<String> = {
            let mut stmt = tx.prepare(&format!("PRAGMA src.table_info({})", quote(name)))?;
            stmt.query_map([], |r| r.get::<_, String>(1))?
                .collect::<Result<_, _>>()?
        };
        let without_rowid: bool = tx.query_row(
            &format!("PRAGMA src.table_list({})", quote(name)),
            [],
            |r| r.get("wr"),
        )?;
        let values = columns
            .iter()
            .map(|c| {
                if nulls.contains(&c.as_str()) {
                    "NULL".to_owned()
                } else {
                    quote(c)
                }
            })
            .collect();
        let compared = columns
            .iter()
            .filter(|c| !nulls.contains(&c.as_str()))
            .map(|c| quote(c))
            .collect();
        Ok(TableCopy {
            name: name.to_owned(),
            columns: columns.iter().map(|c| quote(c)).collect(),
            values,
            compared,
            rowid: !without_rowid,
        })
    }

    /// `INSERT INTO main.table … SELECT … FROM src.table`, row ids included, then `filter`.
    fn insert_sql(&self, filter: &str) -> String {
        let (id, id_value) = if self.rowid {
            ("rowid, ", "rowid, ")
        } else {
            ("", "")
        };
        format!(
            "INSERT INTO main.{t} ({id}{}) SELECT {id_value}{} FROM src.{t}{filter}",
            self.columns.join(", "),
            self.values.join(", "),
            t = quote(&self.name),
        )
    }

    /// Copies every row.
    fn copy_all(&self, tx: &rusqlite::Transaction<'_>) -> Result<usize, StoreError> {
        Ok(tx.execute(&self.insert_sql(""), [])?)
    }

    /// Brings the copy's rows to the live ones; returns how many rows were deleted and
    /// how many inserted.
    fn update(&self, tx: &rusqlite::Transaction<'_>) -> Result<(usize, usize), StoreError> {
        if !self.rowid {
            // No row ids to line the two up by: rewrite the table.
            let deleted = tx.execute(&format!("DELETE FROM main.{}", quote(&self.name)), [])?;
            return Ok((deleted, self.copy_all(tx)?));
        }
        let (stale, fresh) = self.differences(tx)?;
        let mut delete = tx.prepare(&format!(
            "DELETE FROM main.{} WHERE rowid = ?1",
            quote(&self.name)
        ))?;
        for id in &stale {
            delete.execute([id])?;
        }
        let mut insert = tx.prepare(&self.insert_sql(" WHERE rowid = ?1"))?;
        for id in &fresh {
            insert.execute([id])?;
        }
        Ok((stale.len(), fresh.len()))
    }

    /// Both sides read in rowid order, side by side: the row ids to delete from the copy
    /// (missing live, or different) and to insert from the live database (missing in the
    /// copy, or different).
    fn differences(
        &self,
        tx: &rusqlite::Transaction<'_>,
    ) -> Result<(Vec<i64>, Vec<i64>), StoreError> {
        let select = |schema: &str| {
            let mut sql = String::from("SELECT rowid");
            for c in &self.compared {
                sql.push_str(", ");
                sql.push_str(c);
            }
            sql.push_str(&format!(
                " FROM {schema}.{} ORDER BY rowid",
                quote(&self.name)
            ));
            sql
        };
        let width = self.compared.len() + 1;
        let mut live_stmt = tx.prepare(&select("src"))?;
        let mut copy_stmt = tx.prepare(&select("main"))?;
        let mut live_rows = live_stmt.query([])?;
        let mut copy_rows = copy_stmt.query([])?;
        let (mut stale, mut fresh) = (Vec::new(), Vec::new());
        let mut live = live_rows.next()?;
        let mut copy = copy_rows.next()?;
        loop {
            match (live, copy) {
                (None, None) => break,
                (Some(l), None) => {
                    fresh.push(l.get(0)?);
                    live = live_rows.next()?;
                }
                (None, Some(c)) => {
                    stale.push(c.get(0)?);
                    copy = copy_rows.next()?;
                }
                (Some(l), Some(c)) => {
                    let (lid, cid): (i64, i64) = (l.get(0)?, c.get(0)?);
                    match lid.cmp(&cid) {
                        Ordering::Less => {
                            fresh.push(lid);
                            live = live_rows.next()?;
                        }
                        Ordering::Greater => {
                            stale.push(cid);
                            copy = copy_rows.next()?;
                        }
                        Ordering::Equal => {
                            let mut same = true;
                            for i in 1..width {
                                if !same_value(l.get_ref(i)?, c.get_ref(i)?) {
                                    same = false;
                                    break;
                                }
                            }
                            if !same {
                                stale.push(cid);
                                fresh.push(lid);
                            }
                            live = live_rows.next()?;
                            copy = copy_rows.next()?;
                        }
                    }
                }
            }
        }
        Ok((stale, fresh))
    }
}

/// Exact equality of two stored values: same storage class, same bytes (a real compared by
/// its bits, so 0.0 and -0.0 differ and an integer never equals a real).
fn same_value(a: ValueRef<'_>, b: ValueRef<'_>) -> bool {
    match (a, b) {
        (ValueRef::Real(x), ValueRef::Real(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// What a copy did, for the debug log.
#[derive(Debug, Default)]
pub(crate) struct CopyCounts {
    incremental: bool,
    deleted: usize,
    inserted: usize,
}

/// Holds the live database's write lock (`BEGIN IMMEDIATE`): while it is held no commit can
/// land, so read transactions begun meanwhile on several connections see the same instant.
/// Dropping it (closing its connection) rolls back and lets writers on.
struct CommitGate(rusqlite::Connection);

impl CommitGate {
    fn hold(source: &Path) -> Result<Self, StoreError> {
        let conn = rusqlite::Connection::open_with_flags(
            source,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(CommitGate(conn))
    }

    /// Lets writers on.
    fn release(self) -> Result<(), StoreError> {
        Ok(self.0.execute_batch("ROLLBACK")?)
    }
}

/// Starts the read transaction of database `schema` on `conn` (a WAL reader's snapshot is
/// fixed by its first read).
fn pin(conn: &rusqlite::Connection, schema: &str) -> Result<(), StoreError> {
    conn.query_row(
        &format!("SELECT count(*) FROM {}.sqlite_master", quote(schema)),
        [],
        |r| r.get::<_, i64>(0),
    )?;
    Ok(())
}

/// Blocking: copies the database at `source` into `dest`, leaving out [`EMPTY_TABLES`]' rows
/// and [`NULL_COLUMNS`]. `dest` must not exist unless `reuse`, when it is an earlier copy
/// (the kept base) that this one updates. The versions the database holds, with their
/// wrapped keys, are listed on a second connection and thread, in a read transaction begun
/// at the same instant as the copy's (both begin while a [`CommitGate`] holds writers
/// off), and handed to `listed` as soon as they are read, so the caller works on them while
/// the rows are still being copied.
pub(crate) fn copy_stripped(
    source: &Path,
    dest: &Path,
    reuse: bool,
    listed: impl FnOnce(Result<Catalog, StoreError>) + Send,
) -> Result<CopyCounts, StoreError> {
    if !reuse && dest.exists() {
        return Err(StoreError::Corrupt(format!(
            "backup scratch `{}` already exists",
            dest.display()
        )));
    }
    let started = Instant::now();
    let mut conn = rusqlite::Connection::open_with_flags(
        dest,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // A scratch file: no journal, no fsync (a crash leaves only a file to delete; it is
    // fsynced before it is kept as the next base). A page cache large enough that index
    // pages stay in memory while rows with random keys go in; reads through mmap; freed
    // pages zeroed; no foreign-key checks (the rows are the live database's, already checked).
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;
         PRAGMA mmap_size = 1073741824; PRAGMA secure_delete = ON; PRAGMA foreign_keys = OFF;",
    )?;
    conn.execute("ATTACH DATABASE ?1 AS src", [read_only_uri(source)?])?;
    conn.execute_batch("PRAGMA src.cache_size = -65536; PRAGMA src.mmap_size = 1073741824;")?;
    let gate = CommitGate::hold(source)?;
    let tx = conn.transaction()?;
    pin(&tx, "src")?;
    let counts = std::thread::scope(|scope| {
        let (pinned_tx, pinned_rx) = std::sync::mpsc::sync_channel::<Result<(), StoreError>>(1);
        scope.spawn(move || {
            let listing = (|| {
                let reader = crate::audit_log::reader(source)?;
                reader.execute_batch("PRAGMA mmap_size = 1073741824;")?;
                let tx = reader.unchecked_transaction()?;
                let pinned = pin(&tx, "main");
                let ok = pinned.is_ok();
                let _ = pinned_tx.send(pinned);
                if !ok {
                    return Err(StoreError::Task("listing connection did not start".into()));
                }
                let catalog = list_versions(&tx, "main");
                tracing::trace!(
                    ms = started.elapsed().as_millis(),
                    "database copy: versions read"
                );
                catalog
            })();
            listed(listing);
        });
        let pinned = pinned_rx
            .recv()
            .map_err(|_| StoreError::Task("listing connection did not start".into()))
            .and_then(|r| r);
        // Both read transactions have begun (or the listing failed): writers may go on.
        let released = gate.release();
        pinned?;
        released?;
        copy_rows(&tx, reuse)
    });
    let counts = counts?;
    tx.commit()?;
    conn.execute_batch("DETACH DATABASE src")?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        incremental = counts.incremental,
        deleted = counts.deleted,
        inserted = counts.inserted,
        "database copy: rows copied"
    );
    Ok(counts)
}

/// Writes the rows of `src` into `main`: an update of the rows that differ when `reuse` and
/// the schemas match, otherwise a fresh copy (after dropping what `main` held).
fn copy_rows(tx: &rusqlite::Transaction<'_>, reuse: bool) -> Result<CopyCounts, StoreError> {
    let schema = schema_of(tx, "src")?;
    let existing = schema_of(tx, "main")?;
    let mut counts = CopyCounts {
        incremental: reuse && existing == schema,
        ..CopyCounts::default()
    };
    if counts.incremental {
        // Triggers and views go while rows change (the audit log's triggers refuse deletes)
        // and come back, from the live SQL, after.
        for (kind, name, _, _) in existing.iter().filter(|o| o.0 != "table" && o.0 != "index") {
            tx.execute_batch(&format!("DROP {} {}", kind.to_uppercase(), quote(name)))?;
        }
        for (kind, name, _, sql) in &schema {
            if kind == "table" {
                if EMPTY_TABLES.contains(&name.as_str()) {
                    counts.deleted +=
                        tx.execute(&format!("DELETE FROM main.{}", quote(name)), [])?;
                } else {
                    let at = Instant::now();
                    let (deleted, inserted) = TableCopy::new(tx, name)?.update(tx)?;
                    tracing::trace!(
                        table = %name,
                        ms = at.elapsed().as_millis(),
                        deleted,
                        inserted,
                        "database copy: table updated"
                    );
                    counts.deleted += deleted;
                    counts.inserted += inserted;
                }
            } else if kind != "index" {
                tx.execute_batch(sql)?;
            }
        }
    } else {
        // Tables (dropping one drops its indexes and triggers) and views of an outdated copy.
        for (kind, name, _, _) in existing.iter().filter(|o| o.0 == "table" || o.0 == "view") {
            tx.execute_batch(&format!("DROP {} {}", kind.to_uppercase(), quote(name)))?;
        }
        for (kind, name, _, sql) in &schema {
            tx.execute_batch(sql)?;
            if kind == "table" && !EMPTY_TABLES.contains(&name.as_str()) {
                counts.inserted += TableCopy::new(tx, name)?.copy_all(tx)?;
            }
        }
    }
    let has_sequence: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM src.sqlite_master WHERE name = 'sqlite_sequence')",
        [],
        |r| r.get(0),
    )?;
    if has_sequence {
        tx.execute_batch(
            "DELETE FROM main.sqlite_sequence;
             INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM src.sqlite_sequence;",
        )?;
    }
    Ok(counts)
}

/// A database copy still being written, after its catalog was handed over. Dropped
/// without [`PendingCopy::finish`] (a backup that failed meanwhile), the copy runs to its end
/// on its blocking thread; its file is scratch that the caller removes.
pub struct PendingCopy(tokio::task::JoinHandle<Result<(), StoreError>>);

impl PendingCopy {
    /// Waits for the copy to be complete on disk.
    pub async fn finish(self) -> Result<(), StoreError> {
        crate::keyring::map_task(self.0.await)?
    }
}

/// Starts [`copy_stripped`] on a blocking thread, from the kept base copy when there is one
/// (moved to `dest`, so no other backup uses it meanwhile); returns the catalog as soon as it
/// is read, with the copy still running.
pub(crate) async fn start_copy(
    source: &Path,
    dest: &Path,
) -> Result<(Catalog, PendingCopy), StoreError> {
    let (source, dest) = (source.to_owned(), dest.to_owned());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::task::spawn_blocking(move || {
        let reuse = !dest.exists() && std::fs::rename(base_path(&source), &dest).is_ok();
        copy_stripped(&source, &dest, reuse, |catalog| {
            // A receiver gone means the backup gave up; the copy is then only scratch.
            let _ = tx.send(catalog);
        })
        .map(drop)
    });
    match rx.await {
        Ok(Ok(catalog)) => Ok((catalog, PendingCopy(task))),
        Ok(Err(e)) => Err(e),
        // Dropped without a catalog: the copy failed before listing; its error says why.
        Err(_) => Err(match crate::keyring::map_task(task.await)? {
            Err(e) => e,
            Ok(()) => StoreError::Task("database copy ended without its catalog".into()),
        }),
    }
}

/// Blocking: keeps the finished copy `dest` of the database at `source` as the base the
/// next copy starts from: on disk first (fsync), then renamed over the old base.
pub(crate) fn keep_copy(source: &Path, dest: &Path) -> Result<(), StoreError> {
    let io = |e| StoreError::Io {
        what: dest.display().to_string(),
        source: e,
    };
    std::fs::File::open(dest)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(dest, base_path(source)).map_err(io)
}

/// Blocking: every version in database `schema` (`main`, or an attached name) with its path,
/// ordered by path and version number.
pub(crate) fn list_versions(
    conn: &rusqlite::Connection,
    schema: &str,
) -> Result<Catalog, StoreError> {
    let schema = quote(schema);
    // Two table scans joined here: cheaper than an indexed join and a sort in SQL.
    let paths: HashMap<String, String> = {
        let mut stmt = conn.prepare(&format!("SELECT id, path FROM {schema}.files"))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut catalog = Vec::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT file_id, version, version_id, size, content_hash, author, created_at_ms,
                tier, kind, restored_from, kek_id, wrapped_key, storage, findings
         FROM {schema}.versions"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(RawVersion {
            file_id: r.get(0)?,
            version: r.get(1)?,
            version_id: r.get(2)?,
            size: r.get(3)?,
            content_hash: r.get(4)?,
            author: r.get(5)?,
            created_at_ms: r.get(6)?,
            tier: r.get(7)?,
            kind: r.get(8)?,
            restored_from: r.get(9)?,
            kek_id: r.get(10)?,
            wrapped_key: r.get(11)?,
            storage: r.get(12)?,
            findings: r.get(13)?,
        })
    })?;
    for row in rows {
        let raw = row?;
        let path = paths.get(&raw.file_id).ok_or_else(|| {
            StoreError::Corrupt(format!("version of unknown file {}", raw.file_id))
        })?;
        catalog.push((WorkspacePath::from_stored(path.clone()), raw.check()?));
    }
    catalog.sort_by(|(pa, a), (pb, b)| (pa.as_str(), a.version).cmp(&(pb.as_str(), b.version)));
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// A small database shaped like the workspace's: versions with keys, inline data, an
    /// append-only log with AUTOINCREMENT, an index and a trigger.
    const FIXTURE: &str = "PRAGMA journal_mode = WAL;
             CREATE TABLE files (id TEXT PRIMARY KEY, path TEXT NOT NULL);
             CREATE TABLE versions (file_id TEXT NOT NULL, version INTEGER NOT NULL,
                 version_id TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, content_hash BLOB NOT NULL,
                 author TEXT NOT NULL, created_at_ms INTEGER NOT NULL, tier TEXT NOT NULL,
                 kind TEXT NOT NULL, restored_from INTEGER, kek_id TEXT, wrapped_key BLOB,
                 storage TEXT NOT NULL, findings TEXT, PRIMARY KEY (file_id, version));
             CREATE TABLE inline_blobs (version_id TEXT PRIMARY KEY, data BLOB NOT NULL);
             CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT);
             CREATE INDEX versions_size ON versions (size);
             INSERT INTO files VALUES ('f1', 'docs/a.txt');
             INSERT INTO versions VALUES ('f1', 1, '000102030405060708090a0b0c0d0e0f', 7,
                 zeroblob(32), 'ann', 5, 'internal', 'write', NULL, 'kek-1', x'aabbcc', 'inline', NULL);
             INSERT INTO versions VALUES ('f1', 2, '0f0e0d0c0b0a09080706050403020100', 9,
                 zeroblob(32), 'ann', 6, 'internal', 'write', NULL, NULL, NULL, 'blob', NULL);
             INSERT INTO inline_blobs VALUES ('000102030405060708090a0b0c0d0e0f', x'deadbeef');
             INSERT INTO log (what) VALUES ('a'), ('b'), ('c');
             DELETE FROM log WHERE seq = 3;
             CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT RAISE(ABORT, 'no'); END;";

    /// The schema and every row of every table of the database at `path`, by rowid.
    fn dump(path: &Path) -> Vec<String> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut out: Vec<String> = conn
            .prepare("SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in tables {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT rowid, * FROM {} ORDER BY rowid",
                    quote(&t)
                ))
                .unwrap();
            let width = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            while let Some(row) = rows.next().unwrap() {
                let values: Vec<String> = (0..width)
                    .map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i).unwrap()))
                    .collect();
                out.push(format!("{t}: {}", values.join(", ")));
            }
        }
        out
    }

    #[test]
    fn uri_escapes_what_sqlite_would_read_as_syntax() {
        let uri = read_only_uri(Path::new("/tmp/a b/c?d#e%f.db")).unwrap();
        assert_eq!(uri, "file:/tmp/a%20b/c%3Fd%23e%25f.db?mode=ro");
    }

    #[test]
    fn copy_keeps_schema_and_rows_but_not_keys_or_inline_data() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (
            dir.path().join("live db.sqlite"),
            dir.path().join("copy.db"),
        );
        let live = rusqlite::Connection::open(&src).unwrap();
        live.execute_batch(FIXTURE).unwrap();
        drop(live);
        let mut listed = None;
        copy_stripped(&src, &dst, false, |c| listed = Some(c.unwrap())).unwrap();
        let catalog = listed.expect("the catalog is handed over");
        assert_eq!(catalog.len(), 2);
        let (path, first) = &catalog[0];
        assert_eq!(path.as_str(), "docs/a.txt");
        assert_eq!(
            first.version_id,
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        );
        let key = first.wrapped_key.as_ref().unwrap();
        assert_eq!(key.bytes, vec![0xaa, 0xbb, 0xcc]);
        assert!(first.inline);
        assert!(
            catalog[1].1.wrapped_key.is_none(),
            "a purged version stays keyless"
        );
        let copy = rusqlite::Connection::open(&dst).unwrap();
        let n: i64 = copy
            .query_row(
                "SELECT count(*) FROM versions WHERE wrapped_key IS NULL AND kek_id IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
        let n: i64 = copy
            .query_row("SELECT count(*) FROM inline_blobs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        let seq: i64 = copy
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'log'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            seq, 3,
            "the AUTOINCREMENT high-water mark is kept, not recomputed"
        );
        let objects: i64 = copy
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('versions_size', 'log_no_delete')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(objects, 2);
        assert!(
            copy.execute("DELETE FROM log", []).is_err(),
            "triggers are copied"
        );
        let raw = std::fs::read(&dst).unwrap();
        assert!(!raw.windows(4).any(|w| w == [0xde, 0xad, 0xbe, 0xef]));
        assert!(!raw.windows(3).any(|w| w == [0xaa, 0xbb, 0xcc]));
        assert!(
            copy_stripped(&src, &dst, false, |_| {}).is_err(),
            "an existing destination is refused"
        );
    }

    #[test]
    fn a_copy_updated_from_the_base_equals_a_fresh_copy() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("meta.db");
        let live = rusqlite::Connection::open(&src).unwrap();
        live.execute_batch(FIXTURE).unwrap();
        let first = dir.path().join("first.db");
        let counts = copy_stripped(&src, &first, false, |_| {}).unwrap();
        assert!(!counts.incremental);
        keep_copy(&src, &first).unwrap();
        assert!(base_path(&src).exists() && !first.exists());

        // Rows added, changed (same rowid, new values), removed.
        live.execute_batch(
            "INSERT INTO files VALUES ('f2', 'docs/b.txt');
             UPDATE files SET path = 'docs/a-renamed.txt' WHERE id = 'f1';
             INSERT INTO versions VALUES ('f2', 1, '101112131415161718191a1b1c1d1e1f', 3,
                 zeroblob(32), 'bob', 7, 'public', 'write', NULL, 'kek-1', x'ddeeff0102030405', 'inline', NULL);
             UPDATE versions SET tier = 'confidential' WHERE version = 2;
             DELETE FROM versions WHERE version = 1 AND file_id = 'f1';
             INSERT INTO inline_blobs VALUES ('101112131415161718191a1b1c1d1e1f', x'cafebabe0badf00d');
             INSERT INTO log (what) VALUES ('d'), ('e');",
        )
        .unwrap();
        let (updated, fresh) = (dir.path().join("updated.db"), dir.path().join("fresh.db"));
        std::fs::rename(base_path(&src), &updated).unwrap();
        let mut listed = None;
        let counts = copy_stripped(&src, &updated, true, |c| listed = Some(c.unwrap())).unwrap();
        assert!(counts.incremental);
        // f1 and the changed version rewritten, f2 and its version new, a version gone,
        // two log rows new, the sequence rewritten: nothing else touched.
        assert_eq!((counts.deleted, counts.inserted), (3, 6), "{counts:?}");
        assert_eq!(listed.unwrap().len(), 2);
        copy_stripped(&src, &fresh, false, |_| {}).unwrap();
        assert_eq!(dump(&updated), dump(&fresh));
        let copy = rusqlite::Connection::open(&updated).unwrap();
        assert!(
            copy.execute("DELETE FROM log", []).is_err(),
            "triggers come back after the update"
        );
        drop(copy);
        let raw = std::fs::read(&updated).unwrap();
        assert!(
            !raw.windows(8)
                .any(|w| w == [0xdd, 0xee, 0xff, 1, 2, 3, 4, 5]),
            "no keys"
        );
        assert!(
            !raw.windows(8)
                .any(|w| w == [0xca, 0xfe, 0xba, 0xbe, 0x0b, 0xad, 0xf0, 0x0d]),
            "no inline data"
        );

        // A migration since the base: the copy is refilled, and still equals a fresh one.
        live.execute_batch(
            "ALTER TABLE files ADD COLUMN owner TEXT; CREATE INDEX files_owner ON files (owner);
             UPDATE files SET owner = 'ann';",
        )
        .unwrap();
        let fresh = dir.path().join("fresh-2.db");
        let counts = copy_stripped(&src, &updated, true, |_| {}).unwrap();
        assert!(!counts.incremental);
        copy_stripped(&src, &fresh, false, |_| {}).unwrap();
        assert_eq!(dump(&updated), dump(&fresh));
    }

    #[test]
    fn the_catalog_and_the_copy_are_of_one_instant_while_writers_commit() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("meta.db");
        let live = rusqlite::Connection::open(&src).unwrap();
        live.execute_batch(FIXTURE).unwrap();
        drop(live);
        /// Stops the writer however the rounds end (a failed assertion included).
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let stop = std::sync::atomic::AtomicBool::new(false);
        let counts = std::thread::scope(|scope| {
            let _stop = Stop(&stop);
            scope.spawn(|| {
                // One file and its version per transaction, as fast as commits go.
                let mut writer = rusqlite::Connection::open(&src).unwrap();
                writer.busy_timeout(Duration::from_secs(30)).unwrap();
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let tx = writer.transaction().unwrap();
                    tx.execute(
                        "INSERT INTO files VALUES (?1, ?2)",
                        (format!("w{n}"), format!("w/{n}.txt")),
                    )
                    .unwrap();
                    tx.execute(
                        "INSERT INTO versions VALUES (?1, 1, ?2, 1, zeroblob(32), 'w', 1,
                             'internal', 'write', NULL, 'kek-1', x'01', 'blob', NULL)",
                        (format!("w{n}"), format!("{n:032x}")),
                    )
                    .unwrap();
                    tx.commit().unwrap();
                }
            });
            (0..4)
                .map(|round| {
                    let dest = dir.path().join(format!("copy-{round}.db"));
                    let mut listed = None;
                    copy_stripped(&src, &dest, false, |c| listed = Some(c)).map(|_| {
                        let copy = rusqlite::Connection::open(&dest).unwrap();
                        let copied: i64 = copy
                            .query_row("SELECT count(*) FROM versions", [], |r| r.get(0))
                            .unwrap();
                        (listed.map(|c| c.map(|c| c.len() as i64)), copied)
                    })
                })
                .collect::<Vec<_>>()
        });
        for (round, result) in counts.into_iter().enumerate() {
            let (listed, copied) = result.unwrap();
            assert_eq!(listed.unwrap().unwrap(), copied, "round {round}");
        }
    }
}
