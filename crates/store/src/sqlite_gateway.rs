//! [`GatewayStore`] for SQLite: provider keys through sqlx; usage and the calls' audit events
//! through the group committer (one durable commit for many concurrent calls).

use async_trait::async_trait;
use covault_audit::AuditEvent;
use sqlx::Row;

use crate::StoreError;
use crate::audit_log::PreparedEvent;
use crate::audit_log::append_sqlx;
use crate::committer::Job;
use crate::gateway::{GatewayStore, Usage, UsageDelta};
use crate::sqlite::SqliteMetadata;
use covault_audit::ChainHasher;
use tokio::sync::oneshot;

#[async_trait]
impl GatewayStore for SqliteMetadata {
    async fn set_provider_key(
        &self,
        name: &str,
        sealed: &[u8],
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO provider_keys (name, sealed_key, set_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET sealed_key = excluded.sealed_key, \
               set_at_ms = excluded.set_at_ms",
        )
        .bind(name.to_owned())
        .bind(sealed.to_vec())
        .bind(event.at_ms)
        .execute(&mut *tx)
        .await?;
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_provider_key(
        &self,
        name: &str,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query("DELETE FROM provider_keys WHERE name = $1")
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        append_sqlx(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn provider_key(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT sealed_key FROM provider_keys WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("sealed_key")).transpose()?)
    }

    async fn provider_keys(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT name, set_at_ms FROM provider_keys ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("set_at_ms")?)))
            .collect()
    }

    async fn reserve_ai_call(&self, subjects: &[String], month: &str) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let rows = subjects
            .iter()
            .map(|s| (s.clone(), month.to_owned(), 0, 1))
            .collect();
        let job = Job::Usage {
            rows,
            event: None,
            reply,
        };
        self.submit(job, answer).await
    }

    async fn record_ai_call(
        &self,
        event: &AuditEvent,
        usage: &[UsageDelta],
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        let rows = usage
            .iter()
            .map(|u| (u.subject.clone(), u.month.clone(), u.tokens, 0))
            .collect();
        let prepared = PreparedEvent::new(event, &mut ChainHasher::default());
        let job = Job::Usage {
            rows,
            event: Some(Box::new(prepared)),
            reply,
        };
        self.submit(job, answer).await
    }

    async fn usage(&self, subject: &str, month: &str) -> Result<Usage, StoreError> {
        let row =
            sqlx::query("SELECT tokens, requests FROM ai_usage WHERE subject = $1 AND month = $2")
                .bind(subject.to_owned())
                .bind(month.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(r) => Usage {
                tokens: r.try_get("tokens")?,
                requests: r.try_get("requests")?,
            },
            None => Usage::default(),
        })
    }
}
