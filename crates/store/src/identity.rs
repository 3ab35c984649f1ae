//! Identity records and the [`IdentityStore`] half of the metadata store: principals with
//! their groups, groups and the roles they grant, API tokens (scopes, rotation, revocation),
//! TOTP enrolments (sealed seeds, replay-proof step counters, hashed recovery codes) and role
//! usage for access review. Every change takes its audit event and commits with it.

use async_trait::async_trait;

use covault_audit::AuditEvent;
use covault_policy::{Principal, TokenId};

use crate::StoreError;
use crate::meta::TokenRecord;

/// A principal as stored, with the facts access review needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalRecord {
    pub principal: Principal,
    pub created_at_ms: i64,
    /// When the current direct role was granted.
    pub role_granted_at_ms: i64,
}

/// A group, the roles it grants and its members (principal ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    pub name: String,
    pub description: String,
    pub roles: Vec<String>,
    pub members: Vec<String>,
    pub created_at_ms: i64,
}

/// A change to a principal.
#[derive(Clone, Debug, Default)]
pub struct PrincipalChange {
    pub role: Option<String>,
    pub enabled: Option<bool>,
}

/// A principal's TOTP enrolment. The seed is sealed under the workspace secret-box key.
#[derive(Clone, Debug)]
pub struct TotpRecord {
    pub sealed_secret: Vec<u8>,
    pub confirmed_at_ms: Option<i64>,
    pub last_step: Option<u64>,
    pub created_at_ms: i64,
    /// While in the future, every code is refused (too many wrong ones).
    pub locked_until_ms: Option<i64>,
}

/// When a principal last exercised a role (a decision permitted by that role's policies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleUse {
    pub principal_id: String,
    pub role: String,
    pub last_exercised_at_ms: i64,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Every principal (operator included), by name.
    async fn principals(&self) -> Result<Vec<PrincipalRecord>, StoreError>;
    /// The principal with this id or, failing that, this name.
    async fn principal(&self, id_or_name: &str) -> Result<Option<PrincipalRecord>, StoreError>;
    async fn update_principal(
        &self,
        id: &str,
        change: &PrincipalChange,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    async fn groups(&self) -> Result<Vec<GroupRecord>, StoreError>;
    /// Creates the group or replaces its description and roles.
    async fn put_group(
        &self,
        name: &str,
        description: &str,
        roles: &[String],
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    async fn delete_group(&self, name: &str, event: &AuditEvent) -> Result<(), StoreError>;
    async fn set_group_member(
        &self,
        group: &str,
        principal_id: &str,
        member: bool,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Tokens of one principal, or of everyone.
    async fn tokens(&self, principal_id: Option<&str>) -> Result<Vec<TokenRecord>, StoreError>;
    async fn insert_token(&self, token: &TokenRecord, event: &AuditEvent)
    -> Result<(), StoreError>;
    /// Revokes a live token; `false` if it was already revoked.
    async fn revoke_token(
        &self,
        id: &TokenId,
        at_ms: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Inserts `new` as the successor of `old`, whose secret then dies at `old_expires_at_ms`
    /// (the overlap window). Refused if `old` was revoked or already rotated.
    async fn rotate_token(
        &self,
        old: &TokenId,
        old_expires_at_ms: i64,
        new: &TokenRecord,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;

    async fn totp(&self, principal_id: &str) -> Result<Option<TotpRecord>, StoreError>;
    /// Starts an enrolment (replacing an unconfirmed one; refused if one is confirmed).
    async fn begin_totp(
        &self,
        principal_id: &str,
        sealed_secret: &[u8],
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Confirms an enrolment with the step of its first valid code and stores the hashes of
    /// the recovery codes.
    async fn confirm_totp(
        &self,
        principal_id: &str,
        sealed_secret: &[u8],
        step: u64,
        recovery_hashes: &[[u8; 32]],
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Records `step` as used and clears the failure count; `false` if it (or a later one)
    /// was used already. Atomic, so two concurrent requests cannot both spend one code.
    async fn use_totp_step(&self, principal_id: &str, step: u64) -> Result<bool, StoreError>;
    /// Counts a wrong code; after `max` in a row the second factor locks until `lock_until_ms`.
    async fn totp_failed(
        &self,
        principal_id: &str,
        max: i64,
        lock_until_ms: i64,
    ) -> Result<(), StoreError>;
    /// Hashes of unused recovery codes, with their index.
    async fn recovery_codes(&self, principal_id: &str) -> Result<Vec<(i64, [u8; 32])>, StoreError>;
    /// Marks a recovery code used; `false` if it was used already.
    async fn use_recovery_code(
        &self,
        principal_id: &str,
        index: i64,
        at_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Removes an enrolment and its recovery codes.
    async fn delete_totp(&self, principal_id: &str, event: &AuditEvent) -> Result<(), StoreError>;

    async fn record_role_use(
        &self,
        principal_id: &str,
        roles: &[String],
        at_ms: i64,
    ) -> Result<(), StoreError>;
    async fn role_usage(&self) -> Result<Vec<RoleUse>, StoreError>;

    async fn secret_key(&self) -> Result<Option<covault_crypto::WrappedKey>, StoreError>;
    async fn add_secret_key(&self, key: &covault_crypto::WrappedKey) -> Result<(), StoreError>;
}
