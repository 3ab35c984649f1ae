//! Browser sessions and external (SSO) identities: the [`SessionStore`] half of the metadata
//! store. A session row holds hashes of its cookie secret and CSRF token, never the values;
//! provisioning an SSO identity creates its principal and the link in one audited transaction.

use async_trait::async_trait;

use covault_audit::AuditEvent;
use covault_policy::{Principal, TokenHash, TokenId};

use crate::StoreError;

/// A session as stored.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: TokenId,
    pub hash: TokenHash,
    pub csrf_hash: TokenHash,
    pub principal_id: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub expires_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session; its audit event (the login) commits with it.
    async fn insert_session(
        &self,
        session: &SessionRecord,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    async fn session(&self, id: &TokenId)
    -> Result<Option<(SessionRecord, Principal)>, StoreError>;
    async fn touch_session(&self, id: &TokenId, at_ms: i64) -> Result<(), StoreError>;
    /// Ends a session (logout); `false` if it had ended already.
    async fn revoke_session(
        &self,
        id: &TokenId,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
    /// The principal an OpenID provider's (issuer, subject) is linked to.
    async fn external_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Links (issuer, subject) to `principal`, creating the principal when `create` (just-in-
    /// time provisioning), in one transaction with `event`.
    async fn link_external_identity(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
        principal: &Principal,
        create: bool,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Records a login of a linked identity and, when its mapped role changed, the new role.
    async fn external_login(
        &self,
        issuer: &str,
        subject: &str,
        role: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError>;
}
