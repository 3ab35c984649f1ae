//! [`AuditLog`] for SQLite: each read or maintenance step of the audit log runs on a
//! blocking thread over its own rusqlite connection (`audit_log.rs`); the signing key lives
//! in `workspace_keys` beside the content-hash key, wrapped by the KEK.

use std::sync::Arc;

use async_trait::async_trait;
use covault_audit::{
    AuditEvent, AuditQuery, ChainHead, Checkpoint, ConsistencyProof, InclusionProof, StoredEvent,
    VerifyReport as AuditVerifyReport,
};
use covault_crypto::{PublicKey, WrappedKey};

use crate::StoreError;
use crate::audit_log::{self, PruneReport};
use crate::keyring::Keyring;
use crate::meta::AuditLog;
use crate::sqlite::{SIGNING_KEY_NAME, SqliteMetadata, blocking};

#[async_trait]
impl AuditLog for SqliteMetadata {
    async fn audit_search(&self, query: &AuditQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let (path, query) = (self.path.clone(), query.clone());
        blocking(move || audit_log::search(&path, &query)).await
    }

    async fn audit_head(&self) -> Result<ChainHead, StoreError> {
        let path = self.path.clone();
        blocking(move || audit_log::head(&path)).await
    }

    async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let path = self.path.clone();
        blocking(move || audit_log::checkpoints(&path)).await
    }

    async fn audit_checkpoint(
        &self,
        keyring: Arc<Keyring>,
        at_ms: i64,
    ) -> Result<Option<Checkpoint>, StoreError> {
        let path = self.path.clone();
        blocking(move || audit_log::checkpoint(&path, &keyring.signing_key, at_ms)).await
    }

    async fn audit_verify(
        &self,
        key: PublicKey,
        extra: Vec<Checkpoint>,
    ) -> Result<AuditVerifyReport, StoreError> {
        let path = self.path.clone();
        blocking(move || audit_log::verify(&path, &key, extra)).await
    }

    async fn audit_prune(
        &self,
        before_ms: i64,
        event: &AuditEvent,
    ) -> Result<PruneReport, StoreError> {
        let (path, event) = (self.path.clone(), event.clone());
        blocking(move || audit_log::prune(&path, before_ms, &event)).await
    }

    async fn audit_proof(&self, seq: u64) -> Result<InclusionProof, StoreError> {
        let path = self.path.clone();
        blocking(move || audit_log::inclusion_proof(&path, seq)).await
    }

    async fn audit_consistency(&self, from: u64) -> Result<ConsistencyProof, StoreError> {
        let path = self.path.clone();
        blocking(move || audit_log::consistency_proof(&path, from)).await
    }

    async fn sink_cursor(&self, name: &str) -> Result<u64, StoreError> {
        let (path, name) = (self.path.clone(), name.to_owned());
        blocking(move || audit_log::sink_cursor(&path, &name)).await
    }

    async fn set_sink_cursor(&self, name: &str, seq: u64, at_ms: i64) -> Result<(), StoreError> {
        let (path, name) = (self.path.clone(), name.to_owned());
        blocking(move || audit_log::set_sink_cursor(&path, &name, seq, at_ms)).await
    }

    async fn signing_key(&self) -> Result<Option<WrappedKey>, StoreError> {
        self.workspace_key(SIGNING_KEY_NAME).await
    }

    async fn add_signing_key(&self, key: &WrappedKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workspace_keys (name, kek_id, wrapped) VALUES ($1,$2,$3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(SIGNING_KEY_NAME)
        .bind(key.kek_id.as_str().to_owned())
        .bind(key.bytes.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
