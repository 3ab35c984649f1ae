//! JSON lines: an event as one flat JSON object — its position (`seq`), its time as RFC 3339,
//! its chain links in hex, then every event field that has a value, in the event's order.
//!
//! This record is also the body of the syslog and OTLP encodings. Fields without a value are
//! left out rather than written as `null`; nothing is renamed, so the record reads back into an
//! `AuditEvent` with `serde_json` (ignoring the four record fields).

use covault_scan::Tier;
use serde::Serialize;

use super::ExportError;
use crate::{AiFields, AuditEvent, Outcome, StoredEvent, WorkflowFields};

#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    time: String,
    hash: String,
    prev_hash: String,
    at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
    action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<Tier>,
    outcome: Outcome,
    reason: &'a str,
    policies: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_addr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    detail: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    ai: Option<&'a AiFields>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow: Option<&'a WorkflowFields>,
}

/// The JSON line for `event`, stored as `stored`.
pub(super) fn encode(stored: &StoredEvent, event: &AuditEvent) -> Result<String, ExportError> {
    let line = Line {
        seq: stored.seq,
        time: crate::format_rfc3339(event.at_ms),
        hash: hex::encode(stored.hash),
        prev_hash: hex::encode(stored.prev_hash),
        at_ms: event.at_ms,
        principal: event.principal.as_deref(),
        principal_kind: event.principal_kind.as_deref(),
        token_id: event.token_id.as_deref(),
        session_id: event.session_id.as_deref(),
        action: &event.action,
        path: event.path.as_deref(),
        version: event.version,
        tier: event.tier,
        outcome: event.outcome,
        reason: &event.reason,
        policies: &event.policies,
        request_id: event.request_id.as_deref(),
        correlation_id: event.correlation_id.as_deref(),
        remote_addr: event.remote_addr.as_deref(),
        user_agent: event.user_agent.as_deref(),
        detail: &event.detail,
        ai: event.ai.as_ref(),
        workflow: event.workflow.as_ref(),
    };
    serde_json::to_string(&line).map_err(|source| ExportError::Serialize {
        seq: stored.seq,
        source,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::fixtures::{self, stored};
    use super::*;

    fn line(seq: u64, event: AuditEvent) -> String {
        encode(&stored(seq, event.clone()), &event).unwrap()
    }

    #[test]
    fn a_minimal_event_has_no_nulls() {
        let text = line(1, fixtures::event("keys.rotate"));
        let expected = format!(
            concat!(
                r#"{{"seq":1,"time":"2026-11-22T05:09:31.123Z","hash":"{}","prev_hash":"{}","#,
                r#""at_ms":1795324171123,"principal":"usr_alice","action":"keys.rotate","#,
                r#""outcome":"success","reason":"","policies":[]}}"#
            ),
            "bb".repeat(32),
            "aa".repeat(32)
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn every_field_is_written_in_order() {
        let text = line(42, fixtures::read_denied());
        let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let order = [
            "seq",
            "time",
            "hash",
            "prev_hash",
            "at_ms",
            "principal",
            "token_id",
            "session_id",
            "action",
            "path",
            "version",
            "tier",
            "outcome",
            "reason",
            "policies",
            "request_id",
            "correlation_id",
            "remote_addr",
            "user_agent",
            "detail",
        ];
        let mut sorted = order.map(str::to_owned).to_vec();
        sorted.sort();
        // Key order of a parsed map depends on serde_json's `preserve_order` (which the
        // policy engine's dependencies switch on); presence is what is checked here.
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, sorted, "every field present");
        let positions: Vec<usize> = order
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["tier"], "restricted");
        assert_eq!(value["outcome"], "denied");
        assert_eq!(value["detail"], json!({"size": 1024}));
    }

    #[test]
    fn ai_and_workflow_are_nested() {
        let value: Value = serde_json::from_str(&line(3, fixtures::ai_send())).unwrap();
        assert_eq!(value["ai"]["tokens_in"], 120);
        assert_eq!(value["ai"]["redactions"]["EMAIL_ADDRESS"], 2);
        assert_eq!(value["workflow"]["run"], "run_1");
        assert!(value["workflow"].get("trigger").is_none());
    }

    #[test]
    fn the_line_reads_back_as_the_event() {
        for event in [
            fixtures::read_denied(),
            fixtures::ai_send(),
            fixtures::hostile(),
        ] {
            let text = line(5, event.clone());
            assert!(!text.contains('\n'));
            let mut value: Value = serde_json::from_str(&text).unwrap();
            let map = value.as_object_mut().unwrap();
            for key in ["seq", "time", "hash", "prev_hash"] {
                map.remove(key);
            }
            // Left out means `None`, and no detail means `null`.
            map.entry("detail").or_insert(Value::Null);
            let back: AuditEvent = serde_json::from_value(value).unwrap();
            assert_eq!(back, event);
        }
    }
}
