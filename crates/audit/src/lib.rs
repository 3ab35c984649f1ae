//! The audit event model: who did what to which resource, what was decided and how it ended.
//!
//! Events carry ids, paths, hashes and counts — never file content, prompts or secrets. This
//! crate defines the record; the store appends it in the same transaction as the change it
//! describes, so an operation and its event commit together or not at all. The hash chain,
//! checkpoints and exports build on this model.

use serde::{Deserialize, Serialize};

/// How an audited operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Policy allowed it and it succeeded.
    Success,
    /// Policy (or authentication) refused it.
    Denied,
    /// Policy allowed it but it failed (not found, integrity error, …).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Principal id, or `None` when authentication failed.
    pub principal: Option<String>,
    /// The token id used, if any (never the token).
    pub token_id: Option<String>,
    pub action: String,
    pub path: Option<String>,
    pub version: Option<i64>,
    pub outcome: Outcome,
    /// Why policy decided as it did, or what failed (an error kind, never content).
    pub reason: String,
    pub request_id: Option<String>,
    pub remote_addr: Option<String>,
    /// Structured, content-free details: sizes, hashes, counts, tiers.
    pub detail: serde_json::Value,
}

/// Milliseconds since the Unix epoch, saturating on clock errors.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
