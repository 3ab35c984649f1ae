//! The audit event: who did what to which resource, what was decided, how it ended.
//!
//! An event carries ids, paths, hashes and counts — never file content, prompts or secrets.
//! [`AuditEvent`] is what callers build; [`EventColumns`] is its stored form, every field as
//! the exact text or integer that the database holds and the hash chain covers (JSON parts
//! are serialised once, on the way in, so verification never depends on re-serialising).

use std::collections::BTreeMap;

use covault_scan::Tier;
use serde::{Deserialize, Serialize};

use crate::AuditError;

/// How an audited operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    pub const ALL: [Outcome; 3] = [Outcome::Success, Outcome::Denied, Outcome::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, AuditError> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == text)
            .ok_or_else(|| AuditError::BadField {
                field: "outcome",
                why: format!("`{text}` is not success, denied or failed"),
            })
    }
}

/// What an AI call did (gateway, agent, workflow steps): counts, never prompts or answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiFields {
    pub provider: String,
    pub model: String,
    #[serde(default)]
    pub tokens_in: u64,
    #[serde(default)]
    pub tokens_out: u64,
    /// Redacted values by entity type (`EMAIL_ADDRESS` → 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redactions: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injection_score: Option<f64>,
}

/// Which workflow run (and step) caused an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowFields {
    pub workflow: String,
    pub run: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_version: Option<i64>,
}

/// The parts of an event without a column of their own, stored together as one JSON text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extension {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    principal_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ai: Option<AiFields>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workflow: Option<WorkflowFields>,
}

/// One audit record, as the operation that caused it describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// Principal id, or `None` when authentication failed.
    pub principal: Option<String>,
    /// `user`, `service` or `operator` (the local holder of the data directory and its key).
    pub principal_kind: Option<String>,
    /// The token id used, if any (never the token).
    pub token_id: Option<String>,
    /// The browser session, if the request came from one.
    pub session_id: Option<String>,
    pub action: String,
    pub path: Option<String>,
    pub version: Option<i64>,
    /// The resource's tier when the decision was made.
    pub tier: Option<Tier>,
    pub outcome: Outcome,
    /// Why policy decided as it did, or what failed (an error kind, never content).
    pub reason: String,
    /// Ids of the policies that determined the decision.
    pub policies: Vec<String>,
    pub request_id: Option<String>,
    /// Ties together everything one prompt, agent task or workflow run caused.
    pub correlation_id: Option<String>,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    /// Structured, content-free details: sizes, hashes, counts, tiers.
    pub detail: serde_json::Value,
    pub ai: Option<AiFields>,
    pub workflow: Option<WorkflowFields>,
}

impl AuditEvent {
    /// An event for `action` at the current time, successful until said otherwise.
    pub fn new(action: impl Into<String>) -> Self {
        Self {
            at_ms: crate::now_ms(),
            principal: None,
            principal_kind: None,
            token_id: None,
            session_id: None,
            action: action.into(),
            path: None,
            version: None,
            tier: None,
            outcome: Outcome::Success,
            reason: String::new(),
            policies: Vec::new(),
            request_id: None,
            correlation_id: None,
            remote_addr: None,
            user_agent: None,
            detail: serde_json::Value::Null,
            ai: None,
            workflow: None,
        }
    }

    /// The stored form. JSON parts are serialised here, once.
    pub fn to_columns(&self) -> EventColumns {
        let ext = Extension {
            principal_kind: self.principal_kind.clone(),
            policies: self.policies.clone(),
            ai: self.ai.clone(),
            workflow: self.workflow.clone(),
        };
        EventColumns {
            at_ms: self.at_ms,
            principal: self.principal.clone(),
            token_id: self.token_id.clone(),
            session_id: self.session_id.clone(),
            action: self.action.clone(),
            path: self.path.clone(),
            version: self.version,
            tier: self.tier.map(|t| t.as_str().to_owned()),
            outcome: self.outcome.as_str().to_owned(),
            reason: self.reason.clone(),
            request_id: self.request_id.clone(),
            correlation_id: self.correlation_id.clone(),
            remote_addr: self.remote_addr.clone(),
            user_agent: self.user_agent.clone(),
            detail: self.detail.to_string(),
            // Serialising plain structs of strings and numbers cannot fail.
            ext: serde_json::to_string(&ext).unwrap_or_else(|_| "{}".to_owned()),
        }
    }

    /// Reads an event back from its stored form.
    pub fn from_columns(c: &EventColumns) -> Result<Self, AuditError> {
        let ext: Extension = parse_json("ext", &c.ext)?;
        let tier = match &c.tier {
            Some(t) => Some(t.parse::<Tier>().map_err(|e| AuditError::BadField {
                field: "tier",
                why: e.to_string(),
            })?),
            None => None,
        };
        Ok(Self {
            at_ms: c.at_ms,
            principal: c.principal.clone(),
            principal_kind: ext.principal_kind,
            token_id: c.token_id.clone(),
            session_id: c.session_id.clone(),
            action: c.action.clone(),
            path: c.path.clone(),
            version: c.version,
            tier,
            outcome: Outcome::parse(&c.outcome)?,
            reason: c.reason.clone(),
            policies: ext.policies,
            request_id: c.request_id.clone(),
            correlation_id: c.correlation_id.clone(),
            remote_addr: c.remote_addr.clone(),
            user_agent: c.user_agent.clone(),
            detail: parse_json("detail", &c.detail)?,
            ai: ext.ai,
            workflow: ext.workflow,
        })
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    field: &'static str,
    text: &str,
) -> Result<T, AuditError> {
    serde_json::from_str(text).map_err(|e| AuditError::BadField {
        field,
        why: e.to_string(),
    })
}

/// An event's columns exactly as stored: what the hash chain covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventColumns {
    pub at_ms: i64,
    pub principal: Option<String>,
    pub token_id: Option<String>,
    pub session_id: Option<String>,
    pub action: String,
    pub path: Option<String>,
    pub version: Option<i64>,
    pub tier: Option<String>,
    pub outcome: String,
    pub reason: String,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    /// JSON text.
    pub detail: String,
    /// JSON text: policies, AI and workflow fields.
    pub ext: String,
}

/// An event as read from the log: its position, its chain links, and its columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the log, from 1.
    pub seq: u64,
    /// The chain hash of the event before it (zeros for the first).
    pub prev_hash: [u8; 32],
    /// This event's chain hash.
    pub hash: [u8; 32],
    pub columns: EventColumns,
}

impl StoredEvent {
    /// The event, for display and export.
    pub fn event(&self) -> Result<AuditEvent, AuditError> {
        AuditEvent::from_columns(&self.columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip() {
        let mut e = AuditEvent::new("ai.send");
        e.principal = Some("usr_1".into());
        e.principal_kind = Some("user".into());
        e.tier = Some(Tier::Confidential);
        e.policies = vec!["tier-clearance".into()];
        e.detail = serde_json::json!({"size": 12, "counts": {"EMAIL_ADDRESS": 2}});
        e.ai = Some(AiFields {
            provider: "anthropic".into(),
            model: "claude".into(),
            tokens_in: 10,
            tokens_out: 20,
            redactions: [("EMAIL_ADDRESS".to_owned(), 2)].into(),
            injection_score: Some(0.25),
        });
        let c = e.to_columns();
        assert_eq!(AuditEvent::from_columns(&c).unwrap(), e);
        assert_eq!(AuditEvent::new("x").to_columns().ext, "{}");
        let mut bad = c.clone();
        bad.outcome = "maybe".into();
        assert!(AuditEvent::from_columns(&bad).is_err());
    }
}
