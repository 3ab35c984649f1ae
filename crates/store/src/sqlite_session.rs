//! [`SessionStore`] for SQLite: sessions and external identities, through sqlx.

use async_trait::async_trait;
use covault_audit::AuditEvent;
use covault_policy::{Principal, TokenHash, TokenId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::StoreError;
use crate::audit_log::append_sqlx;
use crate::session::{SessionRecord, SessionStore};
use crate::sqlite::SqliteMetadata;
use crate::sqlite_identity::{complete_principal, insert_principal, principal_from_row};

fn hash(row: &SqliteRow, column: &str) -> Result<TokenHash, StoreError> {
    let bytes: Vec<u8> = row.try_get(column)?;
    TokenHash::from_stored(&bytes).ok_or_else(|| StoreError::Corrupt(format!("bad {column}")))
}

fn session_from_row(row: &SqliteRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: TokenId::from_stored(row.try_get("id")?),
        hash: hash(row, "hash")?,
        csrf_hash: hash(row, "csrf_hash")?,
        principal_id: row.try_get("principal_id")?,
        created_at_ms: row.try_get("created_at_ms")?,
        last_seen_at_ms: row.try_get("last_seen_at_ms")?,
        expires_at_ms: row.try_get("expires_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
        remote_addr: row.try_get("remote_addr")?,
        user_agent: row.try_get("user_agent")?,
    })
}

#[async_trait]
impl SessionStore for SqliteMetadata {
    async fn insert_session(
        &self,
        s: &SessionRecord,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO sessions (id, hash, csrf_hash, principal_id, created_at_ms, \
             last_seen_at_ms, expires_at_ms, remote_addr, user_agent) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        )
        .bind(s.id.as_str().to_owned())
        .bind(s.hash.as_bytes().to_vec())
        .bind(s.csrf_hash.as_bytes().to_vec())
        .bind(s.principal_id.clone())
        .bind(s.created_at_ms)
        .bind(s.last_seen_at_ms)
        .bind(s.expires_at_ms)
        .bind(s.remote_addr.clone())
        .bind(s.user_agent.clone())
        .execute(&mut *tx)
        .await?;
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(
        &self,
        id: &TokenId,
    ) -> Result<Option<(SessionRecord, Principal)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.*, p.id AS p_id, p.name AS p_name, p.kind AS p_kind, p.role AS p_role, \
             p.enabled AS p_enabled FROM sessions s JOIN principals p ON p.id = s.principal_id \
             WHERE s.id = $1",
        )
        .bind(id.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let session = session_from_row(&row)?;
        let mut principal = principal_from_row(&row, "p_")?;
        complete_principal(&self.pool, &mut principal).await?;
        Ok(Some((session, principal)))
    }

    async fn touch_session(&self, id: &TokenId, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at_ms = MAX(last_seen_at_ms, $2) WHERE id = $1")
            .bind(id.as_str().to_owned())
            .bind(at_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn revoke_session(
        &self,
        id: &TokenId,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
        )
        .bind(id.as_str().to_owned())
        .bind(at_ms)
        .execute(&mut *tx)
        .await?;
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn external_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT principal_id FROM external_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer.to_owned())
        .bind(subject.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("principal_id")).transpose()?)
    }

    async fn link_external_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        principal: &Principal,
        create: bool,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if create {
            insert_principal(&mut tx, principal, event.at_ms).await?;
        }
        sqlx::query(
            "INSERT INTO external_identities (issuer, subject, principal_id, email, \
             created_at_ms, last_login_at_ms) VALUES ($1,$2,$3,$4,$5,$5)",
        )
        .bind(issuer.to_owned())
        .bind(subject.to_owned())
        .bind(principal.id.clone())
        .bind(email.map(str::to_owned))
        .bind(event.at_ms)
        .execute(&mut *tx)
        .await?;
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn external_login(
        &self,
        issuer: &str,
        subject: &str,
        role: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "UPDATE external_identities SET last_login_at_ms = $3 \
             WHERE issuer = $1 AND subject = $2 RETURNING principal_id",
        )
        .bind(issuer.to_owned())
        .bind(subject.to_owned())
        .bind(at_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::NotFound("external identity".into()));
        };
        let principal_id: String = row.try_get("principal_id")?;
        if let Some(role) = role {
            sqlx::query(
                "UPDATE principals SET role = $2, role_granted_at_ms = $3 \
                 WHERE id = $1 AND role <> $2 AND kind <> 'operator'",
            )
            .bind(principal_id)
            .bind(role.to_owned())
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
