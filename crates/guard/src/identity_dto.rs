//! What identity operations return: principals with their groups and MFA state, tokens
//! (never their secrets after issue), groups, MFA enrolments, access-review findings.

use covault_audit::format_rfc3339;
use covault_policy::{PrincipalKind, TokenScope};
use covault_store::{GroupRecord, PrincipalRecord, TokenRecord};
use serde::{Deserialize, Serialize};

fn time(ms: Option<i64>) -> Option<String> {
    ms.map(format_rfc3339)
}

/// A principal with what policy sees of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrincipalDetail {
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: PrincipalKind,
    pub role: String,
    pub enabled: bool,
    pub groups: Vec<String>,
    pub group_roles: Vec<String>,
    pub mfa_enrolled: bool,
    pub created_at: String,
    pub role_granted_at: String,
}

impl PrincipalDetail {
    pub(crate) fn new(r: &PrincipalRecord) -> Self {
        let p = &r.principal;
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: p.kind,
            role: p.role.clone(),
            enabled: p.enabled,
            groups: p.groups.clone(),
            group_roles: p.group_roles.clone(),
            mfa_enrolled: p.mfa_enrolled,
            created_at: format_rfc3339(r.created_at_ms),
            role_granted_at: format_rfc3339(r.role_granted_at_ms),
        }
    }
}

/// A token to issue.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewToken {
    #[serde(default)]
    pub description: String,
    /// Lifetime in seconds (default and maximum are configured).
    #[serde(default)]
    pub expires_in_s: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scope: TokenScope,
}

/// A token's state, never its secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: String,
    pub principal_id: String,
    pub description: String,
    /// active, expired, revoked or rotating (rotated, old secret still in its overlap window).
    pub state: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub last_used_addr: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scope: TokenScope,
    pub rotated_from: Option<String>,
    pub rotated_at: Option<String>,
}

impl TokenInfo {
    pub(crate) fn new(t: &TokenRecord, now_ms: i64) -> Self {
        let state = if t.revoked_at_ms.is_some() {
            "revoked"
        } else if t.expires_at_ms.is_some_and(|e| e <= now_ms) {
            "expired"
        } else if t.rotated_at_ms.is_some() {
            "rotating"
        } else {
            "active"
        };
        Self {
            id: t.id.to_string(),
            principal_id: t.principal_id.clone(),
            description: t.description.clone(),
            state: state.into(),
            created_at: format_rfc3339(t.created_at_ms),
            expires_at: time(t.expires_at_ms),
            revoked_at: time(t.revoked_at_ms),
            last_used_at: time(t.last_used_at_ms),
            last_used_addr: t.last_used_addr.clone(),
            scope: t.scope.clone(),
            rotated_from: t.rotated_from.as_ref().map(ToString::to_string),
            rotated_at: time(t.rotated_at_ms),
        }
    }
}

/// A group and the roles it grants.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupInfo {
    pub name: String,
    pub description: String,
    pub roles: Vec<String>,
    /// Principal ids.
    pub members: Vec<String>,
    pub created_at: String,
}

impl GroupInfo {
    pub(crate) fn new(g: &GroupRecord) -> Self {
        Self {
            name: g.name.clone(),
            description: g.description.clone(),
            roles: g.roles.clone(),
            members: g.members.clone(),
            created_at: format_rfc3339(g.created_at_ms),
        }
    }
}

/// An authenticator enrolment to confirm with a first code. Shown once.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaEnrollmentInfo {
    /// `otpauth://totp/…`: holds the secret, treat it like a password.
    pub otpauth_uri: String,
    /// The same URI as an SVG QR code.
    pub qr_svg: String,
}

impl std::fmt::Debug for MfaEnrollmentInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaEnrollmentInfo([redacted])")
    }
}

/// One finding of an access review.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewFinding {
    /// unused-token, token-without-expiry, role-never-exercised or stale-admin-grant.
    pub kind: String,
    pub principal_id: String,
    pub principal_name: String,
    pub token_id: Option<String>,
    pub role: Option<String>,
    /// Last use or exercise, if ever.
    pub last_used_at: Option<String>,
    pub since: String,
    pub detail: String,
}

/// `covault access-review`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessReview {
    pub generated_at: String,
    pub unused_days: u32,
    pub findings: Vec<ReviewFinding>,
}
