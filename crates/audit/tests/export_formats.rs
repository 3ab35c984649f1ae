//! Every export format, read back by a real consumer: sample events are encoded here and
//! handed (on standard input) to the Python scripts in `tests/consumers/`, which parse them
//! with maintained third-party libraries — the official OCSF schema, CEF and RFC 5424
//! parsers, the OpenTelemetry protobuf bindings — and print what they read as JSON.
//!
//! The interpreter is `COVAULT_TEST_PYTHON` (a virtualenv's python with the packages listed
//! in `.ci/run`). Without it, or without a package, each test says why it is skipped and
//! passes — except under `CI=true`, where a skipped consumer is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use covault_audit::export::{self, EncodeOptions, Format, OCSF_VERSION, SD_ID};
use covault_audit::{AiFields, AuditEvent, Outcome, StoredEvent, WorkflowFields};
use covault_scan::Tier;
use serde_json::{Value, json};

const AT_MS: i64 = 1_795_324_171_123;
const HOSTILE: &str = "a|b=c\\d\"e]f\ng\rh =x";

// ---------------------------------------------------------------------------------------
// Sample events

fn event(action: &str, outcome: Outcome) -> AuditEvent {
    let mut e = AuditEvent::new(action);
    e.at_ms = AT_MS;
    e.principal = Some("usr_alice".into());
    e.principal_kind = Some("user".into());
    e.outcome = outcome;
    e.request_id = Some(format!("req_{action}"));
    e.remote_addr = Some("203.0.113.7:52100".into());
    e.user_agent = Some("covault-cli/0.1.0".into());
    e
}

fn file(action: &str, path: &str, version: Option<i64>, outcome: Outcome) -> AuditEvent {
    let mut e = event(action, outcome);
    e.path = Some(path.into());
    e.version = version;
    e.tier = Some(Tier::Confidential);
    e.policies = vec!["tier-clearance".into()];
    e.detail = json!({ "size": 2048, "counts": { "EMAIL_ADDRESS": 1 } });
    e
}

fn samples() -> Vec<AuditEvent> {
    let mut events = vec![
        file("file.read", "/finance/q3.xlsx", Some(3), Outcome::Success),
        file("file.write", "/finance/new.txt", Some(1), Outcome::Success),
        file("file.write", "/finance/q3.xlsx", Some(4), Outcome::Success),
        file("file.delete", "/tmp/old.txt", None, Outcome::Success),
        file("file.purge", "/tmp/old.txt", None, Outcome::Success),
        file("file.label", "/hr/salaries.csv", Some(2), Outcome::Success),
        file("file.list", "/finance/", None, Outcome::Success),
        file("file.stat", "/finance/q3.xlsx", None, Outcome::Success),
        file("file.history", "/finance/q3.xlsx", None, Outcome::Success),
        file(
            "file.restore",
            "/finance/q3.xlsx",
            Some(5),
            Outcome::Success,
        ),
        file("file.read", "/données/été.txt", None, Outcome::Failed),
    ];
    let mut denied = file("file.read", "/hr/salaries.csv", Some(2), Outcome::Denied);
    denied.tier = Some(Tier::Restricted);
    denied.reason = "tier-clearance: restricted > confidential".into();
    denied.correlation_id = Some("cor_1".into());
    denied.token_id = Some("tok_9".into());
    denied.session_id = Some("ses_4".into());
    events.push(denied);

    events.push(event("authenticate", Outcome::Success));
    let mut failed = event("authenticate", Outcome::Failed);
    failed.principal = None;
    failed.principal_kind = None;
    failed.reason = "bad_credentials".into();
    failed.remote_addr = Some("[2001:db8::7]:443".into());
    events.push(failed);

    for action in [
        "audit.read",
        "store.verify",
        "principal.create",
        "workflow.run",
    ] {
        events.push(event(action, Outcome::Success));
    }
    let mut rotate = event("keys.rotate", Outcome::Success);
    rotate.principal = Some("operator".into());
    rotate.principal_kind = Some("operator".into());
    rotate.remote_addr = None;
    rotate.user_agent = None;
    rotate.request_id = None;
    events.push(rotate);
    let mut service = event("workflow.run", Outcome::Success);
    service.principal = Some("svc_nightly".into());
    service.principal_kind = Some("service".into());
    events.push(service);
    events.push(ai_send());
    events.push(hostile());
    events
}

fn ai_send() -> AuditEvent {
    let mut e = event("ai.send", Outcome::Success);
    e.path = Some("/finance/q3.xlsx".into());
    e.correlation_id = Some("cor_ai".into());
    e.ai = Some(AiFields {
        provider: "anthropic".into(),
        model: "claude".into(),
        tokens_in: 1200,
        tokens_out: 300,
        redactions: [("EMAIL_ADDRESS".to_owned(), 2)].into(),
        injection_score: Some(0.125),
    });
    e.workflow = Some(WorkflowFields {
        workflow: "triage".into(),
        run: "run_1".into(),
        step: Some("summarise".into()),
        trigger: Some("schedule".into()),
        definition_version: Some(2),
    });
    e
}

/// Every character some format must escape, in every free-text field.
fn hostile() -> AuditEvent {
    let mut e = event(&format!("x.{HOSTILE}"), Outcome::Denied);
    e.principal = Some(HOSTILE.into());
    e.path = Some(format!("/in/{HOSTILE}"));
    e.reason = HOSTILE.into();
    e.correlation_id = Some(HOSTILE.into());
    e.user_agent = Some(HOSTILE.into());
    e.remote_addr = Some(HOSTILE.into());
    e
}

fn stored(events: &[AuditEvent]) -> Vec<StoredEvent> {
    events
        .iter()
        .zip(1u64..)
        .map(|(e, seq)| StoredEvent {
            seq,
            prev_hash: [u8::try_from(seq - 1).unwrap(); 32],
            hash: [u8::try_from(seq).unwrap(); 32],
            columns: e.to_columns(),
        })
        .collect()
}

fn options() -> EncodeOptions {
    EncodeOptions::new("vault-1.example.org", "0.1.0")
}

fn encode_all(format: Format, events: &[StoredEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| export::encode(format, e, &options()).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Running a consumer

/// Runs `consumers/<script>` with `input` on stdin and returns the JSON it prints, or `None`
/// (having said why) when no interpreter with `modules` is available outside CI.
fn consume(script: &str, modules: &str, input: &[u8]) -> Option<Value> {
    let python = match std::env::var_os("COVAULT_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => return skip(script, "COVAULT_TEST_PYTHON is not set"),
    };
    let probe = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            let last = why.lines().last().unwrap_or_default();
            return skip(
                script,
                &format!("{} cannot import {modules}: {last}", python.display()),
            );
        }
        Err(e) => return skip(script, &format!("cannot run {}: {e}", python.display())),
    }
    Some(run(&python, script, input))
}

fn skip(script: &str, why: &str) -> Option<Value> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("consumer {script} must run under CI=true, but {why}");
    }
    println!("skipped: consumer {script} not run: {why}");
    None
}

fn run(python: &Path, script: &str, input: &[u8]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/consumers")
        .join(script);
    let mut child = Command::new(python)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn lines(records: &[String]) -> Vec<u8> {
    records
        .iter()
        .flat_map(|r| format!("{r}\n").into_bytes())
        .collect()
}

// ---------------------------------------------------------------------------------------
// The consumers

#[test]
fn ocsf_events_are_valid_against_the_official_schema() {
    let events = stored(&samples());
    let records = encode_all(Format::Ocsf, &events);
    let Some(results) = consume(
        "ocsf_validate.py",
        "jsonschema, ocsf_json_schema",
        &lines(&records),
    ) else {
        return;
    };
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), events.len());
    for ((record, result), e) in records.iter().zip(results).zip(&events) {
        let action = e.event().unwrap().action;
        assert_eq!(result["errors"], json!([]), "{action}: {record}");
        let v: Value = serde_json::from_str(record).unwrap();
        assert_eq!(v["metadata"]["version"], OCSF_VERSION);
        assert_eq!(v["metadata"]["uid"], e.seq.to_string());
        let (class, activity) = (
            v["class_uid"].as_u64().unwrap(),
            v["activity_id"].as_u64().unwrap(),
        );
        assert_eq!(v["type_uid"], class * 100 + activity, "{action}");
        for attribute in result["required"].as_array().unwrap() {
            assert!(
                v.get(attribute.as_str().unwrap()).is_some(),
                "{action}: {attribute}"
            );
        }
    }
    let classes: Vec<&str> = results
        .iter()
        .map(|r| r["class_name"].as_str().unwrap())
        .collect();
    for class in ["File System Activity", "Authentication", "API Activity"] {
        assert!(
            classes.contains(&class),
            "no {class} event among {classes:?}"
        );
    }
}

#[test]
fn cef_records_parse_and_round_trip() {
    let events = stored(&samples());
    let records = encode_all(Format::Cef, &events);
    let modules = "cefp, syslogcef.validation";
    let Some(results) = consume("cef_parse.py", modules, &lines(&records)) else {
        return;
    };
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), events.len());
    for (parsed, stored) in results.iter().zip(&events) {
        let e = stored.event().unwrap();
        let ext = &parsed["extension"];
        assert_eq!(parsed["findings"], json!([]), "{}: {parsed}", e.action);
        assert_eq!(parsed["version"], "0");
        assert_eq!(parsed["device"]["vendor"], "covault");
        assert_eq!(parsed["device"]["version"], "0.1.0");
        let header_action = e.action.replace(['\n', '\r'], " ");
        assert_eq!(parsed["device"]["event_class_id"], header_action);
        assert_eq!(
            parsed["name"],
            format!("{header_action} {}", e.outcome.as_str())
        );
        assert_eq!(ext["externalId"], stored.seq.to_string());
        assert_eq!(ext["rt"], AT_MS.to_string());
        assert_eq!(ext["act"], e.action.chars().take(63).collect::<String>());
        assert_eq!(ext["outcome"], e.outcome.as_str());
        assert_eq!(
            ext.get("suser").and_then(Value::as_str),
            e.principal.as_deref()
        );
        assert_eq!(
            ext.get("filePath").and_then(Value::as_str),
            e.path.as_deref()
        );
        assert_eq!(
            ext.get("requestClientApplication").and_then(Value::as_str),
            e.user_agent.as_deref()
        );
        assert_eq!(
            ext.get("cs1").and_then(Value::as_str),
            e.correlation_id.as_deref()
        );
        if !e.reason.is_empty() {
            assert_eq!(ext["reason"], e.reason);
        }
    }
    let failed_login = events
        .iter()
        .position(|e| e.columns.principal.is_none())
        .unwrap();
    let failed_login = &results[failed_login]["extension"];
    assert_eq!(failed_login["c6a2"], "2001:db8::7");
    assert_eq!(failed_login["spt"], "443");
    assert_eq!(results[0]["extension"]["src"], "203.0.113.7");
    let hostile = &results[results.len() - 1];
    assert_eq!(hostile["extension"]["suser"], HOSTILE);
    assert_eq!(hostile["extension"]["reason"], HOSTILE);
}

#[test]
fn syslog_messages_parse_and_round_trip() {
    let events = stored(&samples());
    let records = encode_all(Format::Syslog, &events);
    let framed: Vec<u8> = records
        .iter()
        .flat_map(|r| export::octet_counted(r).into_bytes())
        .collect();
    let modules = "syslog_rfc5424_parser, syslogcef.parsers";
    let Some(results) = consume("syslog_parse.py", modules, &framed) else {
        return;
    };
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), events.len());
    for (parsed, stored) in results.iter().zip(&events) {
        let e = stored.event().unwrap();
        let severity = match e.outcome {
            Outcome::Success => 5,
            Outcome::Denied => 4,
            Outcome::Failed => 3,
        };
        assert_eq!(
            (&parsed["facility"], &parsed["severity"]),
            (&json!(10), &json!(severity))
        );
        assert_eq!(parsed["version"], 1);
        assert_eq!(parsed["timestamp"], "2026-11-22T05:09:31.123Z");
        assert_eq!(parsed["hostname"], "vault-1.example.org");
        assert_eq!(parsed["appname"], "covault");
        assert_eq!(parsed["procid"], Value::Null);
        let msgid: String = e
            .action
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .take(32)
            .collect();
        assert_eq!(parsed["msgid"], msgid);
        assert_eq!(parsed["bom"], true);
        let expected_msg = export::encode(Format::Jsonl, stored, &options()).unwrap();
        assert_eq!(parsed["msg"], expected_msg);
        assert_eq!(parsed["msg_syslogcef"], expected_msg);
        let sd = &parsed["sd"][SD_ID];
        assert_eq!(sd["seq"], stored.seq.to_string());
        assert_eq!(sd["outcome"], e.outcome.as_str());
        let sd_value = |text: &str| text.replace(['\n', '\r'], " ");
        assert_eq!(sd["action"], sd_value(&e.action));
        assert_eq!(
            sd.get("principal").and_then(Value::as_str),
            e.principal.as_deref().map(sd_value).as_deref()
        );
        for (name, value) in sd.as_object().unwrap() {
            assert_eq!(
                &parsed["sd_syslogcef"][format!("{SD_ID}.{name}")],
                value,
                "{name}"
            );
        }
    }
    let hostile = &results[results.len() - 1];
    assert_eq!(
        hostile["sd"][SD_ID]["path"],
        format!("/in/{}", HOSTILE.replace(['\n', '\r'], " "))
    );
}

#[test]
fn otlp_request_parses_with_the_official_protobuf_bindings() {
    let events = stored(&samples());
    let request = export::otlp_logs_request(&events, &options()).unwrap();
    let modules =
        "google.protobuf.json_format, opentelemetry.proto.collector.logs.v1.logs_service_pb2";
    let Some(parsed) = consume("otlp_parse.py", modules, request.to_string().as_bytes()) else {
        return;
    };
    let parsed = parsed.as_array().unwrap();
    assert_eq!(parsed.len(), 1);
    let resource = &parsed[0]["resource"];
    assert_eq!(resource["service.name"], "covault");
    assert_eq!(resource["host.name"], "vault-1.example.org");
    assert_eq!(parsed[0]["scope"]["name"], "covault.audit");
    let records = parsed[0]["records"].as_array().unwrap();
    assert_eq!(records.len(), events.len());
    for (record, stored) in records.iter().zip(&events) {
        let e = stored.event().unwrap();
        let (number, text) = match e.outcome {
            Outcome::Success => (9, "INFO"),
            Outcome::Denied => (13, "WARN"),
            Outcome::Failed => (17, "ERROR"),
        };
        assert_eq!(record["time_unix_nano"], 1_795_324_171_123_000_000u64);
        assert_eq!(
            record["observed_time_unix_nano"],
            1_795_324_171_123_000_000u64
        );
        assert_eq!(
            (&record["severity_number"], &record["severity_text"]),
            (&json!(number), &json!(text))
        );
        assert_eq!(record["event_name"], e.action);
        assert_eq!(
            record["body"],
            export::encode(Format::Jsonl, stored, &options()).unwrap()
        );
        let attributes = &record["attributes"];
        assert_eq!(attributes["covault.seq"], stored.seq);
        assert_eq!(attributes["covault.action"], e.action);
        assert_eq!(attributes["covault.outcome"], e.outcome.as_str());
        assert_eq!(
            attributes.get("user.id").and_then(Value::as_str),
            e.principal.as_deref()
        );
        assert_eq!(
            attributes.get("file.path").and_then(Value::as_str),
            e.path.as_deref()
        );
        assert_eq!(
            attributes
                .get("covault.correlation_id")
                .and_then(Value::as_str),
            e.correlation_id.as_deref()
        );
        assert_eq!(
            attributes.get("covault.version").and_then(Value::as_i64),
            e.version
        );
    }
    let first = &records[0]["attributes"];
    assert_eq!(first["client.address"], "203.0.113.7");
    assert_eq!(first["client.port"], 52100);
    let hostile = &records[records.len() - 1]["attributes"];
    assert_eq!(hostile["client.address"], HOSTILE);
}

#[test]
fn jsonl_records_are_one_line_of_json_each() {
    let events = stored(&samples());
    for (record, stored) in encode_all(Format::Jsonl, &events).iter().zip(&events) {
        assert!(!record.contains('\n'));
        let v: Value = serde_json::from_str(record).unwrap();
        assert_eq!(v["seq"], stored.seq);
        assert_eq!(v["hash"], hex::encode(stored.hash));
        assert!(
            v.as_object().unwrap().values().all(|f| !f.is_null()),
            "{record}"
        );
    }
}
