//! The audit log through the vault: search, follow (tail), export to collectors, signed
//! checkpoints, verification and retention — each behind a policy decision.
//!
//! Reading the log is itself audited, once per request. Following the log (`tail -f`) and
//! exporting it are audited once when they start, not per batch: an event per batch would
//! be the next batch's content, for ever. Checkpoints are signed records of their own and
//! append no event, so an idle log stays idle.

use std::sync::Arc;
use std::time::Duration;

use covault_audit::{
    AuditEvent, AuditQuery, Checkpoint, ConsistencyProof, InclusionProof, Outcome, StoredEvent,
    VerifyReport, now_ms,
};
use covault_policy::{Action, Resource};
use covault_store::PruneReport;

use crate::vault::base_event;
use crate::{Caller, GuardError, Vault};

/// How long a follower waits between looks at the log when nothing is new.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

impl Vault {
    /// Events matching `query`, oldest first.
    pub async fn audit_search(
        &self,
        caller: &Caller,
        query: &AuditQuery,
    ) -> Result<Vec<StoredEvent>, GuardError> {
        query.validate().map_err(GuardError::BadRequest)?;
        self.read_log(
            caller,
            || async { Ok(self.ws.audit_search(query).await?) },
            |found| serde_json::json!({ "returned": found.len() }),
        )
        .await
    }

    /// authorize (audit read) → `read` → audit, with `detail` describing what was returned.
    async fn read_log<T, R, Fut>(
        &self,
        caller: &Caller,
        read: R,
        detail: impl FnOnce(&T) -> serde_json::Value,
    ) -> Result<T, GuardError>
    where
        R: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, GuardError>>,
    {
        self.guarded(
            caller,
            Action::AuditRead,
            Resource::Workspace,
            None,
            |mut event| async move {
                let value = read().await?;
                event.detail = detail(&value);
                self.ws.append_audit(&event).await?;
                Ok(value)
            },
        )
        .await
    }

    /// The newest `limit` events (at most one page), newest first.
    pub async fn recent_audit(
        &self,
        caller: &Caller,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, GuardError> {
        self.read_log(
            caller,
            || async { Ok(self.ws.recent_audit(limit).await?) },
            |events| serde_json::json!({ "returned": events.len() }),
        )
        .await
    }

    /// Starts following the log after `query.after_seq` (or its end): audited once.
    pub async fn audit_follow(
        self: &Arc<Self>,
        caller: &Caller,
        mut query: AuditQuery,
    ) -> Result<AuditFollow, GuardError> {
        query.validate().map_err(GuardError::BadRequest)?;
        self.guarded(
            caller,
            Action::AuditRead,
            Resource::Workspace,
            None,
            |mut event| async move {
                if query.after_seq.is_none() {
                    query.after_seq = Some(self.ws.audit_head().await?.seq);
                }
                event.detail = serde_json::json!({ "follow": true, "after": query.after_seq });
                self.ws.append_audit(&event).await?;
                Ok(AuditFollow {
                    vault: Arc::clone(self),
                    query,
                })
            },
        )
        .await
    }

    /// Starts delivering the log to export sink `sink` from its durable cursor (operator only,
    /// for the server's exporters): audited once.
    pub async fn audit_export(
        self: &Arc<Self>,
        operator: &Caller,
        sink: &str,
    ) -> Result<AuditExport, GuardError> {
        self.guarded(
            operator,
            Action::AuditExport,
            Resource::Workspace,
            None,
            |mut event| async move {
                let cursor = self.ws.sink_cursor(sink).await?;
                event.detail = serde_json::json!({ "sink": sink, "cursor": cursor });
                self.ws.append_audit(&event).await?;
                Ok(AuditExport {
                    vault: Arc::clone(self),
                    sink: sink.to_owned(),
                    cursor,
                })
            },
        )
        .await
    }

    /// Signs a checkpoint over every event so far; `None` when the newest checkpoint already
    /// covers them (operator only).
    pub async fn audit_checkpoint(
        &self,
        operator: &Caller,
    ) -> Result<Option<Checkpoint>, GuardError> {
        unaudited_permit(self, operator, Action::AuditCheckpoint)?;
        Ok(self.ws.audit_checkpoint(now_ms()).await?)
    }

    /// The stored checkpoints, oldest first.
    pub async fn audit_checkpoints(&self, caller: &Caller) -> Result<Vec<Checkpoint>, GuardError> {
        self.read_log(
            caller,
            || async { Ok(self.ws.audit_checkpoints().await?) },
            |cps| serde_json::json!({ "checkpoints": cps.len() }),
        )
        .await
    }

    /// A proof that event `seq` is in the log the newest checkpoint signs.
    pub async fn audit_proof(
        &self,
        caller: &Caller,
        seq: u64,
    ) -> Result<InclusionProof, GuardError> {
        self.read_log(
            caller,
            || async { Ok(self.ws.audit_proof(seq).await?) },
            |p| serde_json::json!({ "proof_of": seq, "tree_size": p.checkpoint.tree_size }),
        )
        .await
    }

    /// A proof that the newest checkpoint's log extends the tree of its first `from` events.
    pub async fn audit_consistency(
        &self,
        caller: &Caller,
        from: u64,
    ) -> Result<ConsistencyProof, GuardError> {
        self.read_log(
            caller,
            || async { Ok(self.ws.audit_consistency(from).await?) },
            |p| serde_json::json!({ "consistency_from": from, "tree_size": p.checkpoint.tree_size }),
        )
        .await
    }

    /// The public key that checkpoints are signed with (hex), from the unlocked keyring.
    pub fn audit_public_key(&self) -> Result<String, GuardError> {
        Ok(self.ws.audit_public_key()?.to_hex())
    }

    /// Verifies the log from genesis (or its pruning anchor) against the stored checkpoints
    /// and `extra` ones kept elsewhere (operator only).
    pub async fn audit_verify(
        &self,
        operator: &Caller,
        extra: Vec<Checkpoint>,
    ) -> Result<VerifyReport, GuardError> {
        self.guarded(
            operator,
            Action::AuditVerify,
            Resource::Workspace,
            None,
            |mut event| async move {
                let report = self.ws.audit_verify(extra).await?;
                if !report.is_ok() {
                    event.outcome = Outcome::Failed;
                    event.reason = "audit log does not verify".into();
                }
                event.detail = serde_json::json!({
                    "events": report.events,
                    "checkpoints": report.checkpoints_checked,
                    "problems": report.problems.len(),
                    "first_problem": report.problems.first().map(|p| p.seq),
                });
                self.ws.append_audit(&event).await?;
                Ok(report)
            },
        )
        .await
    }

    /// Deletes events older than `before_ms`, back to a signed checkpoint (operator only).
    pub async fn audit_prune(
        &self,
        operator: &Caller,
        before_ms: i64,
    ) -> Result<PruneReport, GuardError> {
        self.guarded(
            operator,
            Action::AuditPrune,
            Resource::Workspace,
            None,
            |event| async move { Ok(self.ws.audit_prune(before_ms, &event).await?) },
        )
        .await
    }

    /// Appends an event for something that happened outside a vault operation (an exporter
    /// losing or regaining its collector), attributed to the operator (and only for it).
    pub async fn audit_note(
        &self,
        operator: &Caller,
        action: Action,
        outcome: Outcome,
        reason: &str,
        detail: serde_json::Value,
    ) -> Result<(), GuardError> {
        unaudited_permit(self, operator, Action::AuditExport)?;
        let mut event = base_event(operator, action, None);
        event.outcome = outcome;
        event.reason = reason.to_owned();
        event.detail = detail;
        Ok(self.ws.append_audit(&event).await?)
    }
}

/// Policy for the audit log's own upkeep (checkpoints, exporter notes), which appends no
/// event of its own: an event per checkpoint would make every checkpoint the next one's
/// content, and the notes are themselves events.
fn unaudited_permit(vault: &Vault, caller: &Caller, action: Action) -> Result<(), GuardError> {
    let facts = crate::vault::Facts::default();
    match vault.decide(caller, action, &Resource::Workspace, &facts) {
        covault_policy::Decision::Deny(denial) => Err(crate::access::denial_error(denial)),
        covault_policy::Decision::Allow(_) => Ok(()),
    }
}

/// A reader following the log: returned only by [`Vault::audit_follow`], after policy allowed it.
pub struct AuditFollow {
    vault: Arc<Vault>,
    query: AuditQuery,
}

impl AuditFollow {
    /// The next events matching the query, waiting until there are some.
    pub async fn next(&mut self) -> Result<Vec<StoredEvent>, GuardError> {
        loop {
            // The head is read before the search: an event appended between the two is then
            // above the head and read next time, never skipped.
            let head = self.vault.ws.audit_head().await?.seq;
            let found = self.vault.ws.audit_search(&self.query).await?;
            if let Some(last) = found.last() {
                self.query.after_seq = Some(last.seq);
                return Ok(found);
            }
            // Nothing matched up to the head: the next look reads only newer events.
            if head > self.query.after_seq.unwrap_or(0) {
                self.query.after_seq = Some(head);
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }
}

/// An export sink's reader: returned only by [`Vault::audit_export`].
pub struct AuditExport {
    vault: Arc<Vault>,
    sink: String,
    cursor: u64,
}

impl AuditExport {
    /// The position up to which this sink has delivered.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The next undelivered events, at most `limit`.
    pub async fn batch(&self, limit: u32) -> Result<Vec<StoredEvent>, GuardError> {
        let query = AuditQuery {
            after_seq: Some(self.cursor),
            limit: Some(limit),
            ..Default::default()
        };
        Ok(self.vault.ws.audit_search(&query).await?)
    }

    /// Records (durably) that everything up to `seq` was delivered.
    pub async fn commit(&mut self, seq: u64) -> Result<(), GuardError> {
        self.vault
            .ws
            .set_sink_cursor(&self.sink, seq, now_ms())
            .await?;
        self.cursor = self.cursor.max(seq);
        Ok(())
    }
}
