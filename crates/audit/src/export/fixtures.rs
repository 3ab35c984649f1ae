//! Sample events for the export encoders' unit tests: one of each shape the formats treat
//! differently (file, authentication, API, AI and workflow events; missing and hostile fields).

use covault_scan::Tier;

use super::EncodeOptions;
use crate::{AiFields, AuditEvent, Outcome, StoredEvent, WorkflowFields};

/// 2026-11-22T05:09:31.123Z
pub const AT_MS: i64 = 1_795_324_171_123;

pub fn options() -> EncodeOptions {
    EncodeOptions::new("vault-1.example.org", "0.1.0")
}

pub fn stored(seq: u64, event: AuditEvent) -> StoredEvent {
    StoredEvent {
        seq,
        prev_hash: [0xaa; 32],
        hash: [0xbb; 32],
        columns: event.to_columns(),
    }
}

pub fn event(action: &str) -> AuditEvent {
    let mut e = AuditEvent::new(action);
    e.at_ms = AT_MS;
    e.principal = Some("usr_alice".into());
    e
}

pub fn read_denied() -> AuditEvent {
    let mut e = event("file.read");
    e.path = Some("/finance/q3.xlsx".into());
    e.version = Some(3);
    e.tier = Some(Tier::Restricted);
    e.outcome = Outcome::Denied;
    e.reason = "tier-clearance: restricted > confidential".into();
    e.policies = vec!["tier-clearance".into()];
    e.request_id = Some("req_01".into());
    e.correlation_id = Some("cor_01".into());
    e.remote_addr = Some("203.0.113.7:52100".into());
    e.user_agent = Some("covault-cli/0.1.0".into());
    e.token_id = Some("tok_9".into());
    e.session_id = Some("ses_4".into());
    e.detail = serde_json::json!({"size": 1024});
    e
}

pub fn authenticate_failed() -> AuditEvent {
    let mut e = event("authenticate");
    e.principal = None;
    e.outcome = Outcome::Failed;
    e.reason = "bad_credentials".into();
    e.remote_addr = Some("[2001:db8::7]:443".into());
    e.user_agent = Some("curl/8.5.0".into());
    e
}

pub fn ai_send() -> AuditEvent {
    let mut e = event("ai.send");
    e.correlation_id = Some("cor_ai".into());
    e.request_id = Some("req_ai".into());
    e.ai = Some(AiFields {
        provider: "anthropic".into(),
        model: "claude".into(),
        tokens_in: 120,
        tokens_out: 40,
        redactions: [("EMAIL_ADDRESS".to_owned(), 2)].into(),
        injection_score: Some(0.25),
    });
    e.workflow = Some(WorkflowFields {
        workflow: "triage".into(),
        run: "run_1".into(),
        step: Some("summarise".into()),
        trigger: None,
        definition_version: Some(2),
    });
    e
}

/// Every character the formats must escape, in every free-text field.
pub fn hostile() -> AuditEvent {
    let nasty = "a|b=c\\d\"e]f\ng\rh";
    let mut e = event(nasty);
    e.principal = Some(nasty.into());
    e.path = Some(format!("/x/{nasty}"));
    e.reason = nasty.into();
    e.outcome = Outcome::Failed;
    e.user_agent = Some(nasty.into());
    e.correlation_id = Some(nasty.into());
    e.remote_addr = Some(nasty.into());
    e
}
