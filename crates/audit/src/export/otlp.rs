//! OTLP logs: a batch of events as one `ExportLogsServiceRequest` in the OTLP/HTTP JSON
//! encoding (`application/json`, the protobuf JSON mapping with OTLP's rules: lowerCamelCase
//! names, 64-bit integers as decimal strings, enums as integers).
//!
//! One resource (`service.name`, `service.version`, `host.name`), one scope (`covault.audit`),
//! one log record per event: its time (also the observed time — the log records an event when
//! it happens), a severity from the outcome (INFO 9, WARN 13, ERROR 17), the JSON line as the
//! string body, the action as `eventName`, and the fields a collector filters on as
//! attributes, named after OpenTelemetry's semantic conventions where one fits.

use serde_json::{Value, json};

use super::{EncodeOptions, ExportError, decode, jsonl, parse_remote};
use crate::{AuditEvent, Outcome, StoredEvent};

/// The instrumentation scope name.
const SCOPE_NAME: &str = "covault.audit";

/// OTLP `SeverityNumber` and its text for an outcome.
fn severity(outcome: Outcome) -> (u8, &'static str) {
    match outcome {
        Outcome::Success => (9, "INFO"),
        Outcome::Denied => (13, "WARN"),
        Outcome::Failed => (17, "ERROR"),
    }
}

/// Nanoseconds since the epoch as OTLP's decimal string (`fixed64`: times before 1970 are 0).
fn unix_nanos(at_ms: i64) -> String {
    u64::try_from(at_ms)
        .unwrap_or(0)
        .saturating_mul(1_000_000)
        .to_string()
}

fn string_attribute(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

fn int_attribute(key: &str, value: i64) -> Value {
    json!({ "key": key, "value": { "intValue": value.to_string() } })
}

fn attributes(stored: &StoredEvent, event: &AuditEvent) -> Vec<Value> {
    let mut out = vec![
        int_attribute("covault.seq", i64::try_from(stored.seq).unwrap_or(i64::MAX)),
        string_attribute("covault.action", &event.action),
        string_attribute("covault.outcome", event.outcome.as_str()),
    ];
    let texts = [
        ("user.id", event.principal.as_deref()),
        ("file.path", event.path.as_deref()),
        ("covault.tier", event.tier.map(|t| t.as_str())),
        ("covault.correlation_id", event.correlation_id.as_deref()),
        ("covault.request_id", event.request_id.as_deref()),
        ("user_agent.original", event.user_agent.as_deref()),
    ];
    for (key, value) in texts {
        if let Some(value) = value {
            out.push(string_attribute(key, value));
        }
    }
    if let Some(version) = event.version {
        out.push(int_attribute("covault.version", version));
    }
    client(&mut out, event.remote_addr.as_deref());
    out
}

/// `client.address` and `client.port`: the IP and port when the remote address is one,
/// else the address as it was recorded (a socket path, a name).
fn client(out: &mut Vec<Value>, remote: Option<&str>) {
    let Some(remote) = remote else {
        return;
    };
    match parse_remote(remote) {
        Some((ip, port)) => {
            out.push(string_attribute("client.address", &ip.to_string()));
            if let Some(port) = port {
                out.push(int_attribute("client.port", i64::from(port)));
            }
        }
        None => out.push(string_attribute("client.address", remote)),
    }
}

fn log_record(stored: &StoredEvent, event: &AuditEvent) -> Result<Value, ExportError> {
    let (number, text) = severity(event.outcome);
    let time = unix_nanos(event.at_ms);
    Ok(json!({
        "timeUnixNano": time,
        "observedTimeUnixNano": time,
        "severityNumber": number,
        "severityText": text,
        "body": { "stringValue": jsonl::encode(stored, event)? },
        "attributes": attributes(stored, event),
        "eventName": event.action,
    }))
}

/// The `ExportLogsServiceRequest` carrying `events`, as JSON.
pub fn otlp_logs_request(
    events: &[StoredEvent],
    opts: &EncodeOptions,
) -> Result<Value, ExportError> {
    let records = events
        .iter()
        .map(|stored| log_record(stored, &decode(stored)?))
        .collect::<Result<Vec<_>, _>>()?;
    let resource = [
        string_attribute("service.name", &opts.app_name),
        string_attribute("service.version", &opts.product_version),
        string_attribute("host.name", &opts.hostname),
    ];
    Ok(json!({
        "resourceLogs": [{
            "resource": { "attributes": resource },
            "scopeLogs": [{
                "scope": { "name": SCOPE_NAME, "version": opts.product_version },
                "logRecords": records,
            }],
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, stored};
    use super::*;

    fn check_nanos(at_ms: i64, expected: &str) {
        assert_eq!(unix_nanos(at_ms), expected, "{at_ms}");
    }

    #[test]
    fn times_are_decimal_nanosecond_strings() {
        check_nanos(fixtures::AT_MS, "1795324171123000000");
        check_nanos(0, "0");
        check_nanos(-5, "0");
        check_nanos(i64::MAX, &u64::MAX.to_string());
    }

    #[test]
    fn severities() {
        assert_eq!(severity(Outcome::Success), (9, "INFO"));
        assert_eq!(severity(Outcome::Denied), (13, "WARN"));
        assert_eq!(severity(Outcome::Failed), (17, "ERROR"));
    }

    #[test]
    fn the_request_has_one_resource_one_scope_and_a_record_per_event() {
        let events = [
            stored(1, fixtures::read_denied()),
            stored(2, fixtures::ai_send()),
        ];
        let v = otlp_logs_request(&events, &fixtures::options()).unwrap();
        let resource_logs = v["resourceLogs"].as_array().unwrap();
        assert_eq!(resource_logs.len(), 1);
        let attrs = &resource_logs[0]["resource"]["attributes"];
        assert_eq!(
            attrs[0],
            json!({"key": "service.name", "value": {"stringValue": "covault"}})
        );
        assert_eq!(attrs[2]["value"]["stringValue"], "vault-1.example.org");
        let scope = &resource_logs[0]["scopeLogs"][0];
        assert_eq!(scope["scope"]["name"], "covault.audit");
        let records = scope["logRecords"].as_array().unwrap();
        assert_eq!(records.len(), 2);
        let first = &records[0];
        assert_eq!(first["timeUnixNano"], "1795324171123000000");
        assert_eq!(first["severityNumber"], 13);
        assert_eq!(first["severityText"], "WARN");
        assert_eq!(first["eventName"], "file.read");
        let body: Value =
            serde_json::from_str(first["body"]["stringValue"].as_str().unwrap()).unwrap();
        assert_eq!(body["seq"], 1);
        let attr = |key: &str| {
            first["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == key)
                .map(|a| a["value"].clone())
        };
        assert_eq!(attr("covault.seq"), Some(json!({"intValue": "1"})));
        assert_eq!(attr("covault.version"), Some(json!({"intValue": "3"})));
        assert_eq!(attr("user.id"), Some(json!({"stringValue": "usr_alice"})));
        assert_eq!(
            attr("covault.correlation_id"),
            Some(json!({"stringValue": "cor_01"}))
        );
        assert_eq!(
            attr("client.address"),
            Some(json!({"stringValue": "203.0.113.7"}))
        );
        assert_eq!(attr("client.port"), Some(json!({"intValue": "52100"})));
        assert_eq!(records[1]["severityNumber"], 9);
    }

    #[test]
    fn an_empty_batch_is_a_request_without_records() {
        let v = otlp_logs_request(&[], &fixtures::options()).unwrap();
        assert_eq!(
            v["resourceLogs"][0]["scopeLogs"][0]["logRecords"],
            json!([])
        );
    }
}
