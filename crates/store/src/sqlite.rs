//! SQLite implementation of [`MetadataStore`]: WAL journal, `synchronous = FULL` (a commit is
//! on disk when it returns), `secure_delete` (freed pages are zeroed, so destroyed keys do not
//! linger), foreign keys on. Reads and rare administrative writes go through sqlx; the hot
//! writes (versions, audit events, new files, token use) are queued to the group committer
//! (`committer.rs`). Writers use `BEGIN IMMEDIATE` so read-then-write transactions never fail
//! on a stale snapshot. SQL text is static; values are always bound.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use covault_audit::{AuditEvent, ChainHasher};
use covault_crypto::{ContentHash, KdfParams, KekId, WrappedKey};
use covault_policy::{Principal, Tier, TokenId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::audit_log::{self, PreparedEvent};
use crate::committer::{self, Job};
use crate::sqlite_identity::{insert_principal, insert_token};
use crate::sqlite_inline::InlineReader;

use crate::meta::{InitRecords, KekRecord, KekSourceKind, RotatedKeys, WrappedKeyRow};
use crate::migrate;
use crate::{
    BlobKey, FileRecord, MetadataStore, NewVersion, StoreError, TokenRecord, VersionKind,
    VersionRecord, WorkspacePath,
};

const HASH_KEY_NAME: &str = "content-hash";
pub(crate) const SIGNING_KEY_NAME: &str = "audit-signing";
/// `workspace_keys` name of the secret-box key.
pub(crate) const SECRET_KEY_NAME: &str = "secret-box";

pub(crate) async fn blocking<T, F>(work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    crate::keyring::map_task(tokio::task::spawn_blocking(work).await)?
}

/// SQLite metadata in one database file.
#[derive(Clone)]
pub struct SqliteMetadata {
    pub(crate) pool: SqlitePool,
    committer: mpsc::Sender<Job>,
    /// The token lookup, run on the caller's thread (see `sqlite_inline`).
    inline: Arc<InlineReader>,
    pub(crate) path: PathBuf,
}

impl SqliteMetadata {
    pub async fn open(path: &Path, create: bool) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        // The committer's thread lives as long as a handle to this store: it ends when the
        // last sender drops. If it ever died, every write would fail (fail closed).
        let committer = committer::start(path)?;
        Ok(Self {
            pool,
            committer,
            inline: Arc::new(InlineReader::new(path.to_owned())),
            path: path.to_owned(),
        })
    }

    pub(crate) async fn submit<T>(
        &self,
        job: Job,
        reply: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.committer
            .send(job)
            .await
            .map_err(|_| StoreError::Task("the metadata committer has stopped".into()))?;
        reply
            .await
            .map_err(|_| StoreError::Task("the metadata committer dropped a write".into()))?
    }

    pub(crate) async fn workspace_key(&self, name: &str) -> Result<Option<WrappedKey>, StoreError> {
        let row = sqlx::query("SELECT kek_id, wrapped FROM workspace_keys WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(WrappedKey {
                kek_id: KekId::from_stored(row.try_get("kek_id")?),
                bytes: row.try_get("wrapped")?,
            })
        })
        .transpose()
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

async fn insert_kek(
    tx: &mut Transaction<'static, Sqlite>,
    kek: &KekRecord,
) -> Result<(), StoreError> {
    let (source, params) = match &kek.source {
        KekSourceKind::Passphrase(p) => ("passphrase", Some(p)),
        KekSourceKind::KeyFile => ("key-file", None),
    };
    sqlx::query(
        "INSERT INTO keks (id, source, kdf_salt, kdf_m_kib, kdf_t, kdf_p, check_value, created_at_ms) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(kek.id.as_str().to_owned())
    .bind(source)
    .bind(params.map(|p| p.salt.clone()))
    .bind(params.map(|p| i64::from(p.m_kib)))
    .bind(params.map(|p| i64::from(p.t)))
    .bind(params.map(|p| i64::from(p.p)))
    .bind(kek.check.clone())
    .bind(kek.created_at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_hash_key(
    tx: &mut Transaction<'static, Sqlite>,
    key: &WrappedKey,
) -> Result<(), StoreError> {
    upsert_workspace_key(tx, HASH_KEY_NAME, key).await
}

async fn upsert_workspace_key(
    tx: &mut Transaction<'static, Sqlite>,
    name: &'static str,
    key: &WrappedKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO workspace_keys (name, kek_id, wrapped) VALUES ($1,$2,$3) \
         ON CONFLICT (name) DO UPDATE SET kek_id = excluded.kek_id, wrapped = excluded.wrapped",
    )
    .bind(name)
    .bind(key.kek_id.as_str().to_owned())
    .bind(key.bytes.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn parse_tier(text: &str) -> Result<Tier, StoreError> {
    Tier::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_u32(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt("kdf parameter out of range".into()))
}

fn kek_from_row(row: &SqliteRow) -> Result<KekRecord, StoreError> {
    let source: String = row.try_get("source")?;
    let source = match source.as_str() {
        "passphrase" => KekSourceKind::Passphrase(KdfParams {
            salt: row.try_get("kdf_salt")?,
            m_kib: to_u32(row.try_get("kdf_m_kib")?)?,
            t: to_u32(row.try_get("kdf_t")?)?,
            p: to_u32(row.try_get("kdf_p")?)?,
        }),
        "key-file" => KekSourceKind::KeyFile,
        other => return Err(StoreError::Corrupt(format!("unknown kek source `{other}`"))),
    };
    Ok(KekRecord {
        id: KekId::from_stored(row.try_get("id")?),
        source,
        check: row.try_get("check_value")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

fn file_from_row(row: &SqliteRow) -> Result<FileRecord, StoreError> {
    let tier: String = row.try_get("f_tier")?;
    Ok(FileRecord {
        id: row.try_get("f_id")?,
        path: WorkspacePath::from_stored(row.try_get("f_path")?),
        tier: parse_tier(&tier)?,
        current_version: row.try_get("f_current_version")?,
        created_at_ms: row.try_get("f_created_at_ms")?,
        deleted_at_ms: row.try_get("f_deleted_at_ms")?,
        purged_at_ms: row.try_get("f_purged_at_ms")?,
        owner: row.try_get("f_owner")?,
    })
}

/// A version row's columns as stored, before they are checked.
pub(crate) struct RawVersion {
    pub(crate) file_id: String,
    pub(crate) version: i64,
    pub(crate) version_id: String,
    pub(crate) size: i64,
    pub(crate) content_hash: Vec<u8>,
    pub(crate) author: String,
    pub(crate) created_at_ms: i64,
    pub(crate) tier: String,
    pub(crate) kind: String,
    pub(crate) restored_from: Option<i64>,
    pub(crate) kek_id: Option<String>,
    pub(crate) wrapped_key: Option<Vec<u8>>,
    pub(crate) storage: String,
    pub(crate) findings: Option<String>,
}

impl RawVersion {
    pub(crate) fn check(self) -> Result<VersionRecord, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("bad {what} in versions table"));
        let mut vid = [0u8; 16];
        hex::decode_to_slice(&self.version_id, &mut vid).map_err(|_| corrupt("version id"))?;
        let hash = <[u8; 32]>::try_from(self.content_hash.as_slice())
            .map_err(|_| corrupt("content hash"))?;
        Ok(VersionRecord {
            file_id: self.file_id,
            version: self.version,
            version_id: vid,
            size: u64::try_from(self.size).map_err(|_| corrupt("size"))?,
            content_hash: ContentHash::from_bytes(hash),
            author: self.author,
            created_at_ms: self.created_at_ms,
            tier: parse_tier(&self.tier)?,
            kind: match self.kind.as_str() {
                "write" => VersionKind::Write,
                "restore" => VersionKind::Restore,
                _ => return Err(corrupt("kind")),
            },
            restored_from: self.restored_from,
            wrapped_key: match (self.kek_id, self.wrapped_key) {
                (Some(k), Some(bytes)) => Some(WrappedKey {
                    kek_id: KekId::from_stored(k),
                    bytes,
                }),
                _ => None,
            },
            inline: self.storage == "inline",
            findings: self.findings,
        })
    }
}

fn version_from_row(row: &SqliteRow) -> Result<VersionRecord, StoreError> {
    RawVersion {
        file_id: row.try_get("v_file_id")?,
        version: row.try_get("v_version")?,
        version_id: row.try_get("v_version_id")?,
        size: row.try_get("v_size")?,
        content_hash: row.try_get("v_content_hash")?,
        author: row.try_get("v_author")?,
        created_at_ms: row.try_get("v_created_at_ms")?,
        tier: row.try_get("v_tier")?,
        kind: row.try_get("v_kind")?,
        restored_from: row.try_get("v_restored_from")?,
        kek_id: row.try_get("v_kek_id")?,
        wrapped_key: row.try_get("v_wrapped_key")?,
        storage: row.try_get("v_storage")?,
        findings: row.try_get("v_findings")?,
    }
    .check()
}

/// The columns of [`version_from_row`] (and of the backup catalog query).
macro_rules! version_cols {
    () => {
        "v.file_id AS v_file_id, v.version AS v_version, v.version_id AS v_version_id, \
         v.size AS v_size, v.content_hash AS v_content_hash, v.author AS v_author, \
         v.created_at_ms AS v_created_at_ms, v.tier AS v_tier, v.kind AS v_kind, \
         v.restored_from AS v_restored_from, v.kek_id AS v_kek_id, v.wrapped_key AS v_wrapped_key, \
         v.storage AS v_storage, v.findings AS v_findings"
    };
}

macro_rules! file_cols {
    () => {
        "f.id AS f_id, f.path AS f_path, f.tier AS f_tier, f.owner AS f_owner, \
         f.current_version AS f_current_version, f.created_at_ms AS f_created_at_ms, \
         f.deleted_at_ms AS f_deleted_at_ms, f.purged_at_ms AS f_purged_at_ms"
    };
}

#[async_trait]
impl MetadataStore for SqliteMetadata {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS covault_schema (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM covault_schema")
            .fetch_one(&self.pool)
            .await?
            .try_get("v")?;
        let known = migrate::latest(migrate::SQLITE);
        if current > known {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known,
            });
        }
        for (version, sql) in migrate::SQLITE.iter().filter(|(v, _)| *v > current) {
            let mut tx = self.write_tx().await?;
            sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO covault_schema (version, applied_at_ms) VALUES ($1, $2)")
                .bind(*version)
                .bind(covault_audit::now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        let path = self.path.clone();
        let chained = blocking(move || audit_log::chain_legacy_events(&path)).await?;
        if chained > 0 {
            tracing::info!(
                chained,
                "chained audit events written before the hash chain"
            );
        }
        Ok(())
    }

    async fn is_initialized(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM keks")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok(n > 0)
    }

    async fn initialize(
        &self,
        init: InitRecords<'_>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM keks")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n > 0 {
            return Err(StoreError::AlreadyInitialized("metadata database".into()));
        }
        insert_kek(&mut tx, init.kek).await?;
        upsert_hash_key(&mut tx, init.hash_key).await?;
        upsert_workspace_key(&mut tx, SIGNING_KEY_NAME, init.signing_key).await?;
        upsert_workspace_key(&mut tx, SECRET_KEY_NAME, init.secret_key).await?;
        insert_principal(&mut tx, init.operator, event.at_ms).await?;
        insert_principal(&mut tx, init.admin, event.at_ms).await?;
        insert_token(&mut tx, init.admin_token).await?;
        crate::audit_log::append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn active_kek(&self) -> Result<KekRecord, StoreError> {
        let row = sqlx::query("SELECT * FROM keks WHERE retired_at_ms IS NULL")
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotInitialized("metadata database".into()))?;
        kek_from_row(&row)
    }

    async fn hash_key(&self) -> Result<WrappedKey, StoreError> {
        self.workspace_key(HASH_KEY_NAME)
            .await?
            .ok_or_else(|| StoreError::Corrupt("content-hash key is missing".into()))
    }

    async fn wrapped_keys(&self) -> Result<Vec<WrappedKeyRow>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM versions v WHERE v.wrapped_key IS NOT NULL"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let v = version_from_row(row)?;
                let wrapped = v
                    .wrapped_key
                    .ok_or_else(|| StoreError::Corrupt("wrapped key without kek id".into()))?;
                Ok(WrappedKeyRow {
                    file_id: v.file_id,
                    version: v.version,
                    version_id: v.version_id,
                    wrapped,
                })
            })
            .collect()
    }

    async fn rotate_kek(
        &self,
        new_kek: &KekRecord,
        keys: RotatedKeys<'_>,
        rewrapped: &[WrappedKeyRow],
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let hash_key = keys.hash_key;
        let mut tx = self.write_tx().await?;
        // Retire first: the partial unique index allows one active KEK at a time.
        sqlx::query(
            "UPDATE keks SET retired_at_ms = $1, check_value = NULL, kdf_salt = NULL WHERE retired_at_ms IS NULL",
        )
        .bind(event.at_ms)
        .execute(&mut *tx)
        .await?;
        insert_kek(&mut tx, new_kek).await?;
        upsert_hash_key(&mut tx, hash_key).await?;
        upsert_workspace_key(&mut tx, SIGNING_KEY_NAME, keys.signing_key).await?;
        upsert_workspace_key(&mut tx, SECRET_KEY_NAME, keys.secret_key).await?;
        for row in rewrapped {
            let done = sqlx::query(
                "UPDATE versions SET kek_id = $1, wrapped_key = $2 WHERE file_id = $3 AND version = $4 AND wrapped_key IS NOT NULL",
            )
            .bind(row.wrapped.kek_id.as_str().to_owned())
            .bind(row.wrapped.bytes.clone())
            .bind(row.file_id.clone())
            .bind(row.version)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Corrupt(format!(
                    "version {} of file {} changed during rotation",
                    row.version, row.file_id
                )));
            }
        }
        let stale: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM versions WHERE wrapped_key IS NOT NULL AND kek_id <> $1",
        )
        .bind(new_kek.id.as_str().to_owned())
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if stale != 0 {
            return Err(StoreError::Corrupt(format!(
                "{stale} data keys were not re-wrapped; rotation rolled back"
            )));
        }
        crate::audit_log::append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn scrub(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_principal(
        &self,
        principal: &Principal,
        token: Option<&TokenRecord>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        insert_principal(&mut tx, principal, event.at_ms).await?;
        if let Some(token) = token {
            insert_token(&mut tx, token).await?;
        }
        crate::audit_log::append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token(&self, id: &TokenId) -> Result<Option<(TokenRecord, Principal)>, StoreError> {
        // What every authenticated request needs, in one statement read on this thread: no
        // hand-off to the SQLite worker thread (see `sqlite_inline`).
        self.inline.token(id)
    }

    async fn touch_token(
        &self,
        id: &TokenId,
        at_ms: i64,
        addr: Option<&str>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::TouchToken {
            id: id.as_str().to_owned(),
            at_ms,
            addr: addr.map(str::to_owned),
            reply,
        };
        self.submit(job, answer).await
    }

    async fn ensure_file(
        &self,
        path: &WorkspacePath,
        tier: Tier,
        owner: &str,
        at_ms: i64,
    ) -> Result<FileRecord, StoreError> {
        if let Some(file) = self.file(path).await? {
            return Ok(file);
        }
        let (reply, answer) = oneshot::channel();
        let job = Job::EnsureFile {
            id: covault_crypto::random_id()?,
            path: path.as_str().to_owned(),
            tier,
            owner: owner.to_owned(),
            at_ms,
            reply,
        };
        self.submit(job, answer).await?;
        self.file(path)
            .await?
            .ok_or_else(|| StoreError::Corrupt("file vanished after insert".into()))
    }

    async fn file(&self, path: &WorkspacePath) -> Result<Option<FileRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            " FROM files f WHERE f.path = $1 AND f.purged_at_ms IS NULL"
        ))
        .bind(path.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| file_from_row(&r)).transpose()
    }

    async fn list(
        &self,
        prefix: Option<&WorkspacePath>,
        include_deleted: bool,
        after: Option<&WorkspacePath>,
        limit: u32,
    ) -> Result<Vec<(FileRecord, VersionRecord)>, StoreError> {
        // Whole-component prefix match as a range: `/dir/` <= path < `/dir0` ('0' follows '/').
        let (low, high) = match prefix {
            Some(p) => (format!("{p}/"), format!("{p}0")),
            None => ("/".to_owned(), "0".to_owned()),
        };
        let rows = sqlx::query(concat!(
            "SELECT ",
            file_cols!(),
            ", ",
            version_cols!(),
            " FROM files f JOIN versions v ON v.file_id = f.id AND v.version = f.current_version \
             WHERE f.purged_at_ms IS NULL AND f.current_version > 0 \
             AND ($1 OR f.deleted_at_ms IS NULL) AND f.path >= $2 AND f.path < $3 AND f.path > $4 \
             ORDER BY f.path LIMIT $5"
        ))
        .bind(include_deleted)
        .bind(low)
        .bind(high)
        .bind(after.map_or(String::new(), |a| a.as_str().to_owned()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((file_from_row(r)?, version_from_row(r)?)))
            .collect()
    }

    async fn versions(&self, file_id: &str) -> Result<Vec<VersionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM versions v WHERE v.file_id = $1 ORDER BY v.version"
        ))
        .bind(file_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn version(
        &self,
        file_id: &str,
        version: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            version_cols!(),
            " FROM versions v WHERE v.file_id = $1 AND v.version = $2"
        ))
        .bind(file_id.to_owned())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| version_from_row(&r)).transpose()
    }

    async fn inline_blob(&self, version_id: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT data FROM inline_blobs WHERE version_id = $1")
            .bind(hex::encode(version_id))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("data"))
            .transpose()
            .map_err(StoreError::from)
    }

    fn inline_reader(&self) -> Result<Box<dyn crate::InlineReader>, StoreError> {
        Ok(Box::new(SqliteInlineReader {
            conn: crate::audit_log::reader(&self.path)?,
        }))
    }

    async fn commit_version(
        &self,
        new: &NewVersion,
        event: AuditEvent,
    ) -> Result<VersionRecord, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Version {
            new: Box::new(new.clone()),
            event: Box::new(event),
            reply,
        };
        self.submit(job, answer).await
    }

    async fn mark_deleted(
        &self,
        file_id: &str,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE files SET deleted_at_ms = $1 WHERE id = $2 AND deleted_at_ms IS NULL")
            .bind(at_ms)
            .bind(file_id.to_owned())
            .execute(&mut *tx)
            .await?;
        crate::audit_log::append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_tier(
        &self,
        file_id: &str,
        tier: Tier,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE files SET tier = $1 WHERE id = $2")
            .bind(tier.as_str())
            .bind(file_id.to_owned())
            .execute(&mut *tx)
            .await?;
        crate::audit_log::append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn purge(
        &self,
        file_id: &str,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<(u64, Vec<BlobKey>), StoreError> {
        let mut tx = self.write_tx().await?;
        let versions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM versions WHERE file_id = $1")
            .bind(file_id.to_owned())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let ids: Vec<String> =
            sqlx::query("SELECT version_id FROM versions WHERE file_id = $1 AND storage = 'blob'")
                .bind(file_id.to_owned())
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("version_id"))
                .collect::<Result<_, _>>()?;
        sqlx::query(
            "DELETE FROM inline_blobs WHERE version_id IN (SELECT version_id FROM versions WHERE file_id = $1)",
        )
        .bind(file_id.to_owned())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE versions SET wrapped_key = NULL, kek_id = NULL WHERE file_id = $1")
            .bind(file_id.to_owned())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE files SET purged_at_ms = $1 WHERE id = $2")
            .bind(at_ms)
            .bind(file_id.to_owned())
            .execute(&mut *tx)
            .await?;
        crate::audit_log::append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        let keys = ids
            .iter()
            .map(|id| {
                BlobKey::parse(id).ok_or_else(|| StoreError::Corrupt("bad version id".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((u64::try_from(versions).unwrap_or(0), keys))
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let prepared = PreparedEvent::new(event, &mut ChainHasher::default());
        let job = Job::Audit {
            event: Box::new(prepared),
            reply,
        };
        self.submit(job, answer).await
    }

    async fn all_versions(&self) -> Result<Vec<(WorkspacePath, VersionRecord)>, StoreError> {
        // rusqlite on a blocking thread: a whole-table read is several times cheaper there
        // than row by row through the async pool.
        let path = self.path.clone();
        blocking(move || {
            let conn = crate::audit_log::reader(&path)?;
            let tx = conn.unchecked_transaction()?;
            crate::sqlite_copy::list_versions(&tx, "main")
        })
        .await
    }

    async fn copy_into(
        &self,
        dest: &Path,
    ) -> Result<(crate::sqlite_copy::Catalog, crate::sqlite_copy::PendingCopy), StoreError> {
        crate::sqlite_copy::start_copy(&self.path, dest).await
    }

    async fn keep_copy(&self, dest: &Path) -> Result<(), StoreError> {
        let (source, dest) = (self.path.clone(), dest.to_owned());
        crate::keyring::map_task(
            tokio::task::spawn_blocking(move || crate::sqlite_copy::keep_copy(&source, &dest))
                .await,
        )?
    }

    async fn purged_file_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT id FROM files WHERE purged_at_ms IS NOT NULL")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    async fn set_sealed(
        &self,
        rows: Vec<([u8; 16], WrappedKey, Option<Vec<u8>>)>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Resealed { rows, reply }, answer).await
    }

    async fn mark_unrestored_purged(&self, at_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE files SET purged_at_ms = $1 WHERE purged_at_ms IS NULL AND current_version > 0 \
             AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.file_id = files.id AND v.wrapped_key IS NOT NULL)",
        )
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn live_blob_keys(&self) -> Result<HashSet<BlobKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT version_id FROM versions WHERE wrapped_key IS NOT NULL AND storage = 'blob'",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("version_id")?;
                BlobKey::parse(&id).ok_or_else(|| StoreError::Corrupt("bad version id".into()))
            })
            .collect()
    }
}

/// Inline versions read on a rusqlite connection of its own (one per blocking reader).
struct SqliteInlineReader {
    conn: rusqlite::Connection,
}

impl crate::InlineReader for SqliteInlineReader {
    fn get(&mut self, version_id: &[u8; 16]) -> Result<Option<Vec<u8>>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .prepare_cached("SELECT data FROM inline_blobs WHERE version_id = ?1")?
            .query_row([hex::encode(version_id)], |r| r.get(0))
            .optional()?)
    }
}
