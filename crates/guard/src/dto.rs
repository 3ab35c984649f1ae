//! What the vault returns: plain records for the API and CLI. No key material, no content.

use covault_policy::{Principal, PrincipalKind, Tier};
use covault_store::{ByteStream, FileRecord, VersionKind, VersionRecord};
use serde::{Deserialize, Serialize};

/// One version of a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionInfo {
    pub path: String,
    pub version: i64,
    pub size: u64,
    /// Keyed BLAKE3 of the plaintext (hex), keyed per workspace so it reveals nothing.
    pub content_hash: String,
    pub author: String,
    pub created_at: String,
    /// public, internal, confidential or restricted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "internal"))]
    pub tier: Tier,
    /// `write` or `restore`.
    pub kind: String,
    pub restored_from: Option<i64>,
    /// True once the version was crypto-shredded.
    pub purged: bool,
    /// What the scanner found when the version was written: finding types and counts, the
    /// injection score, for documents the format, extraction outcome and hidden content by
    /// kind, and `pending_review` when it could not be examined. Never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub findings: Option<serde_json::Value>,
}

impl VersionInfo {
    pub(crate) fn new(path: &str, v: &VersionRecord) -> Self {
        Self {
            path: path.to_owned(),
            version: v.version,
            size: v.size,
            content_hash: v.content_hash.to_hex(),
            author: v.author.clone(),
            created_at: covault_audit::format_rfc3339(v.created_at_ms),
            tier: v.tier,
            kind: match v.kind {
                VersionKind::Write => "write".into(),
                VersionKind::Restore => "restore".into(),
            },
            restored_from: v.restored_from,
            purged: v.wrapped_key.is_none(),
            findings: v
                .findings
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
        }
    }
}

/// A file and its current version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    pub path: String,
    /// public, internal, confidential or restricted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "internal"))]
    pub tier: Tier,
    pub version: i64,
    pub size: u64,
    pub content_hash: String,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    pub deleted: bool,
}

impl FileInfo {
    pub(crate) fn new(f: &FileRecord, current: &VersionRecord) -> Self {
        Self {
            path: f.path.to_string(),
            tier: f.tier,
            version: current.version,
            size: current.size,
            content_hash: current.content_hash.to_hex(),
            created_at: covault_audit::format_rfc3339(f.created_at_ms),
            updated_at: covault_audit::format_rfc3339(current.created_at_ms),
            updated_by: current.author.clone(),
            deleted: f.deleted_at_ms.is_some(),
        }
    }
}

/// A page of a listing.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Listing {
    pub files: Vec<FileInfo>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<String>,
}

/// The result of a purge.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurgeInfo {
    pub path: String,
    pub versions_destroyed: u64,
}

/// A principal as shown to clients.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrincipalInfo {
    pub id: String,
    pub name: String,
    /// user, service or operator.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: PrincipalKind,
    pub role: String,
    pub token_id: Option<String>,
}

impl PrincipalInfo {
    pub(crate) fn new(p: &Principal, token_id: Option<String>) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            kind: p.kind,
            role: p.role.clone(),
            token_id,
        }
    }
}

/// A principal to create.
#[derive(Clone, Debug)]
pub struct NewPrincipal {
    pub name: String,
    pub kind: PrincipalKind,
    pub role: String,
    /// Issue an API token that expires at this time (ms since epoch), or never if `None`.
    pub token_expires_at_ms: Option<Option<i64>>,
}

/// A version being downloaded.
pub struct Download {
    pub info: VersionInfo,
    pub body: ByteStream,
}
