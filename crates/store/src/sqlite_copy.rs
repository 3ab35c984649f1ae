//! The database copy a backup takes: every table, index and trigger of the live SQLite
//! database as of one instant, written into a new file without the inline ciphertext and
//! without the versions' wrapped data keys, which are handed back to the caller in memory.
//!
//! The copy runs on a connection of its own: the new file is the main database and the live
//! one is attached read-only, so one transaction reads a single snapshot of the live database
//! (WAL readers never block writers) while it writes the copy, and lists the versions with
//! their keys in that same transaction. Leaving the sensitive columns
//! out at insert time means they never reach the copy's pages, so no second pass is needed to
//! scrub them, and the inline ciphertext (most of a workspace of small files) is never copied
//! at all.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::OpenFlags;

use crate::sqlite::RawVersion;
use crate::{StoreError, VersionRecord, WorkspacePath};

/// Tables copied without their rows.
const EMPTY_TABLES: &[&str] = &["inline_blobs"];
/// Columns copied as NULL, per table.
const NULL_COLUMNS: &[(&str, &[&str])] = &[("versions", &["kek_id", "wrapped_key"])];

/// Every version (with its wrapped key) and its path, as of the copy's instant.
pub(crate) type Catalog = Vec<(WorkspacePath, VersionRecord)>;

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

/// Blocking: copies the database at `source` into `dest` (which must not exist), leaving
/// out [`EMPTY_TABLES`]' rows and [`NULL_COLUMNS`]. The versions it holds, with their
/// wrapped keys, are read first in the same transaction and handed to `listed` before the
/// rows are copied, so the caller can work on them while the copy runs.
pub(crate) fn copy_stripped(
    source: &Path,
    dest: &Path,
    listed: impl FnOnce(Catalog),
) -> Result<(), StoreError> {
    if dest.exists() {
        return Err(StoreError::Corrupt(format!(
            "backup scratch `{}` already exists",
            dest.display()
        )));
    }
    let mut conn = rusqlite::Connection::open_with_flags(
        dest,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // A scratch file: no journal, no fsync (a crash leaves only a file to delete).
    // A page cache large enough that index pages stay in memory while rows with random
    // keys go in.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;",
    )?;
    conn.execute("ATTACH DATABASE ?1 AS src", [read_only_uri(source)?])?;
    conn.execute_batch("PRAGMA src.cache_size = -65536;")?;
    let tx = conn.transaction()?;
    // The first read fixes the transaction's snapshot of the live database: the catalog and
    // every row copied below are of the same instant.
    listed(list_versions(&tx, "src")?);
    let schema: Vec<(String, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT type, name, sql FROM src.sqlite_master
             WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    for (kind, name, sql) in &schema {
        tx.execute_batch(sql)?;
        if kind != "table" || EMPTY_TABLES.contains(&name.as_str()) {
            continue;
        }
        let nulls = NULL_COLUMNS
            .iter()
            .find(|(t, _)| *t == name)
            .map_or(&[][..], |(_, c)| *c);
        let columns: Vec<String> = {
            let mut stmt = tx.prepare(&format!("PRAGMA src.table_info({})", quote(name)))?;
            stmt.query_map([], |r| r.get::<_, String>(1))?
                .collect::<Result<_, _>>()?
        };
        let targets: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                if nulls.contains(&c.as_str()) {
                    "NULL".to_owned()
                } else {
                    quote(c)
                }
            })
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO main.{t} ({}) SELECT {} FROM src.{t}",
                targets.join(", "),
                values.join(", "),
                t = quote(name),
            ),
            [],
        )?;
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
    tx.commit()?;
    conn.execute_batch("DETACH DATABASE src")?;
    Ok(())
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

/// Starts [`copy_stripped`] on a blocking thread; returns the catalog as soon as it is read,
/// with the copy still running.
pub(crate) async fn start_copy(
    source: &Path,
    dest: &Path,
) -> Result<(Catalog, PendingCopy), StoreError> {
    let (source, dest) = (source.to_owned(), dest.to_owned());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::task::spawn_blocking(move || {
        copy_stripped(&source, &dest, |catalog| {
            // A receiver gone means the backup gave up; the copy is then only scratch.
            let _ = tx.send(catalog);
        })
    });
    match rx.await {
        Ok(catalog) => Ok((catalog, PendingCopy(task))),
        // Dropped without a catalog: the copy failed before listing; its error says why.
        Err(_) => Err(match crate::keyring::map_task(task.await)? {
            Err(e) => e,
            Ok(()) => StoreError::Task("database copy ended without its catalog".into()),
        }),
    }
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
        live.execute_batch(
            "PRAGMA journal_mode = WAL;
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
             CREATE TRIGGER log_no_delete BEFORE DELETE ON log BEGIN SELECT RAISE(ABORT, 'no'); END;",
        )
        .unwrap();
        drop(live);
        let mut listed = None;
        copy_stripped(&src, &dst, |c| listed = Some(c)).unwrap();
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
            copy_stripped(&src, &dst, |_| {}).is_err(),
            "an existing destination is refused"
        );
    }
}
