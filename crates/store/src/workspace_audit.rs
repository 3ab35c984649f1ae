//! The workspace's audit log: appends (which join the group commit), search, the chain
//! head, signed checkpoints under the keyring's signing key, verification against the
//! keyring's own public key, inclusion proofs, retention and export cursors.

use covault_audit::{
    AuditEvent, AuditQuery, ChainHead, Checkpoint, ConsistencyProof, InclusionProof, StoredEvent,
    VerifyReport as AuditVerifyReport,
};
use covault_crypto::PublicKey;

use crate::{PruneReport, StoreError, Workspace};

impl Workspace {
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.meta.append_audit(event).await
    }
    pub async fn audit_search(&self, query: &AuditQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.meta.audit_search(query).await
    }
    /// The newest `limit` events (at most one page), newest first.
    pub async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditEvent>, StoreError> {
        let head = self.audit_head().await?;
        let limit = limit.clamp(1, covault_audit::MAX_PAGE);
        let query = AuditQuery {
            after_seq: Some(head.seq.saturating_sub(u64::from(limit))),
            limit: Some(limit),
            ..Default::default()
        };
        let mut events = self
            .audit_search(&query)
            .await?
            .iter()
            .map(|e| e.event().map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }
    pub async fn audit_head(&self) -> Result<ChainHead, StoreError> {
        self.meta.audit_head().await
    }
    pub async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.meta.audit_checkpoints().await
    }
    /// Signs a checkpoint over every event so far (none when nothing is new).
    pub async fn audit_checkpoint(&self, at_ms: i64) -> Result<Option<Checkpoint>, StoreError> {
        self.meta.audit_checkpoint(self.keyring()?, at_ms).await
    }
    /// The key checkpoints are signed with, from the unlocked keyring (so a key swapped into
    /// the database is never trusted).
    pub fn audit_public_key(&self) -> Result<PublicKey, StoreError> {
        Ok(self.keyring()?.audit_public_key())
    }
    /// Verifies the audit log against the workspace's own key, its stored checkpoints and
    /// `extra` ones kept elsewhere.
    pub async fn audit_verify(
        &self,
        extra: Vec<Checkpoint>,
    ) -> Result<AuditVerifyReport, StoreError> {
        let key = self.audit_public_key()?;
        self.meta.audit_verify(key, extra).await
    }
    pub async fn audit_prune(
        &self,
        before_ms: i64,
        event: &AuditEvent,
    ) -> Result<PruneReport, StoreError> {
        self.meta.audit_prune(before_ms, event).await
    }
    pub async fn audit_proof(&self, seq: u64) -> Result<InclusionProof, StoreError> {
        self.meta.audit_proof(seq).await
    }
    pub async fn audit_consistency(&self, from: u64) -> Result<ConsistencyProof, StoreError> {
        self.meta.audit_consistency(from).await
    }
    pub async fn sink_cursor(&self, name: &str) -> Result<u64, StoreError> {
        self.meta.sink_cursor(name).await
    }
    pub async fn set_sink_cursor(
        &self,
        name: &str,
        seq: u64,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.meta.set_sink_cursor(name, seq, at_ms).await
    }
}
