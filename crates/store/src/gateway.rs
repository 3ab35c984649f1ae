//! What the AI gateway keeps: provider API keys (sealed) and token usage per subject and
//! month for budgets. Every change commits with its audit event.

use async_trait::async_trait;
use covault_audit::AuditEvent;

use crate::StoreError;

/// Tokens and requests one subject used in one month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub tokens: i64,
    pub requests: i64,
}

/// One usage increment: `subject` (e.g. `principal:<id>`, `provider:<name>`) in `month`.
#[derive(Clone, Debug)]
pub struct UsageDelta {
    pub subject: String,
    pub month: String,
    pub tokens: i64,
}

#[async_trait]
pub trait GatewayStore: Send + Sync {
    /// Stores (or replaces) a provider's sealed key with its audit event.
    async fn set_provider_key(
        &self,
        name: &str,
        sealed: &[u8],
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Removes a provider's key; `false` if there was none.
    async fn delete_provider_key(&self, name: &str, event: &AuditEvent)
    -> Result<bool, StoreError>;
    /// The sealed key of a provider.
    async fn provider_key(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every provider with a key, and when it was set.
    async fn provider_keys(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Counts a call against its subjects before it goes out. Its success also shows that the
    /// database takes writes, so a call is never sent that could not be recorded.
    async fn reserve_ai_call(&self, subjects: &[String], month: &str) -> Result<(), StoreError>;
    /// Commits an AI call's audit event together with the tokens it adds.
    async fn record_ai_call(
        &self,
        event: &AuditEvent,
        usage: &[UsageDelta],
    ) -> Result<(), StoreError>;
    /// Usage of `subject` in `month`.
    async fn usage(&self, subject: &str, month: &str) -> Result<Usage, StoreError>;
}
