//! OCSF: an event as an Open Cybersecurity Schema Framework event of the class its action
//! maps to, valid against the OCSF [`OCSF_VERSION`] schema (checked by
//! `tests/export_formats.rs` with the schema that the `ocsf-json-schema` package bundles).
//!
//! - `file.*` → File System Activity (1001): `device` is this host, `file` the resource.
//! - `authenticate` → Authentication (3002), activity Logon.
//! - everything else → API Activity (6003), the activity read from the action's last word.
//!
//! Fields with a place in the class go there (`actor.user.uid`, `src_endpoint.ip`,
//! `http_request.user_agent`, `metadata.correlation_uid`, …); the rest — tier, chain hashes,
//! policies, detail counts, AI and workflow fields, and whatever the class has no attribute
//! for — go under `unmapped`, named as in the JSON line. Attributes that an `…_id` of 99
//! (Other) leaves open carry covault's own name (`activity_name` = the action).

use serde_json::{Value, json};

use super::{EncodeOptions, ExportError, file_name, object, parse_remote, summary, text};
use crate::{AuditEvent, Outcome, StoredEvent};

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.8.0";

/// An OCSF event class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Class {
    uid: u32,
    name: &'static str,
    category_uid: u32,
    category_name: &'static str,
}

const FILE_SYSTEM_ACTIVITY: Class = Class {
    uid: 1001,
    name: "File System Activity",
    category_uid: 1,
    category_name: "System Activity",
};

const AUTHENTICATION: Class = Class {
    uid: 3002,
    name: "Authentication",
    category_uid: 3,
    category_name: "Identity & Access Management",
};

const API_ACTIVITY: Class = Class {
    uid: 6003,
    name: "API Activity",
    category_uid: 6,
    category_name: "Application Activity",
};

/// `activity_id` 99: the activity has no OCSF name.
const OTHER: (u32, &str) = (99, "Other");

/// The class and activity (`activity_id`, OCSF caption) of `event`.
fn classify(event: &AuditEvent) -> (Class, (u32, &'static str)) {
    if let Some(verb) = event.action.strip_prefix("file.") {
        return (FILE_SYSTEM_ACTIVITY, file_activity(verb, event.version));
    }
    if event.action == "authenticate" {
        return (AUTHENTICATION, (1, "Logon"));
    }
    let verb = event.action.rsplit('.').next().unwrap_or_default();
    (API_ACTIVITY, api_activity(verb))
}

/// File System Activity's `activity_id` for a `file.*` verb.
fn file_activity(verb: &str, version: Option<i64>) -> (u32, &'static str) {
    match verb {
        "write" if version.is_some_and(|v| v > 1) => (3, "Update"),
        "write" => (1, "Create"),
        "read" => (2, "Read"),
        "restore" => (3, "Update"),
        "delete" | "purge" => (4, "Delete"),
        "label" => (6, "Set Attributes"),
        "stat" => (8, "Get Attributes"),
        _ => OTHER,
    }
}

/// API Activity's `activity_id` for the last word of an action.
fn api_activity(verb: &str) -> (u32, &'static str) {
    match verb {
        "create" | "add" | "register" | "issue" => (1, "Create"),
        "read" | "list" | "get" | "search" | "export" | "verify" => (2, "Read"),
        "update" | "rotate" | "set" | "rename" | "grant" | "edit" => (3, "Update"),
        "delete" | "remove" | "revoke" | "purge" => (4, "Delete"),
        _ => OTHER,
    }
}

fn severity(outcome: Outcome) -> (u32, &'static str) {
    match outcome {
        Outcome::Success => (1, "Informational"),
        Outcome::Denied => (2, "Low"),
        Outcome::Failed => (3, "Medium"),
    }
}

fn status(outcome: Outcome) -> (u32, &'static str) {
    match outcome {
        Outcome::Success => (1, "Success"),
        Outcome::Denied | Outcome::Failed => (2, "Failure"),
    }
}

/// The OCSF event for `event`, as compact JSON text.
pub(super) fn encode(
    stored: &StoredEvent,
    event: &AuditEvent,
    opts: &EncodeOptions,
) -> Result<String, ExportError> {
    super::to_json_text(stored.seq, &to_value(stored, event, opts))
}

fn to_value(stored: &StoredEvent, event: &AuditEvent, opts: &EncodeOptions) -> Value {
    let (class, activity) = classify(event);
    let mut value = base(class, activity, stored, event, opts);
    let unmapped = match class.uid {
        1001 => file_system_fields(&mut value, event, opts),
        3002 => authentication_fields(&mut value, event, opts),
        _ => api_fields(&mut value, event, opts),
    };
    value["unmapped"] = unmapped_fields(stored, event, unmapped);
    value
}

/// The attributes every class has.
fn base(
    class: Class,
    (activity_id, caption): (u32, &str),
    stored: &StoredEvent,
    event: &AuditEvent,
    opts: &EncodeOptions,
) -> Value {
    let activity_name = if activity_id == OTHER.0 {
        event.action.as_str()
    } else {
        caption
    };
    let (severity_id, severity) = severity(event.outcome);
    let (status_id, status) = status(event.outcome);
    let mut value = json!({
        "activity_id": activity_id,
        "activity_name": activity_name,
        "category_uid": class.category_uid,
        "category_name": class.category_name,
        "class_uid": class.uid,
        "class_name": class.name,
        "type_uid": class.uid * 100 + activity_id,
        "type_name": format!("{}: {caption}", class.name),
        "time": event.at_ms,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_code": event.outcome.as_str(),
        "message": summary(event),
        "metadata": metadata(stored, event, opts),
        "actor": actor(event),
    });
    if !event.reason.is_empty() {
        value["status_detail"] = json!(event.reason);
    }
    value
}

fn metadata(stored: &StoredEvent, event: &AuditEvent, opts: &EncodeOptions) -> Value {
    let mut value = json!({
        "version": OCSF_VERSION,
        "product": {
            "name": "covault",
            "vendor_name": "covault",
            "version": opts.product_version,
        },
        "uid": stored.seq.to_string(),
        "sequence": stored.seq,
        "event_code": event.action,
        "log_name": "audit",
    });
    if let Some(id) = &event.correlation_id {
        value["correlation_uid"] = json!(id);
    }
    value
}

/// The user an event is about: the principal, or an unknown user when authentication failed.
fn user(event: &AuditEvent) -> Value {
    let mut value = match &event.principal {
        Some(principal) => json!({ "uid": principal }),
        None => json!({ "name": "unknown", "type_id": 0, "type": "Unknown" }),
    };
    // OCSF user types: 1 User, 3 System; a service account is "Other" with its name.
    match event.principal_kind.as_deref() {
        Some("user") => (value["type_id"], value["type"]) = (json!(1), json!("User")),
        Some("operator") => (value["type_id"], value["type"]) = (json!(3), json!("System")),
        Some("service") => (value["type_id"], value["type"]) = (json!(99), json!("Service")),
        _ => {}
    }
    if let Some(token) = &event.token_id {
        value["credential_uid"] = json!(token);
    }
    value
}

fn actor(event: &AuditEvent) -> Value {
    let mut value = json!({ "user": user(event) });
    if let Some(session) = &event.session_id {
        value["session"] = json!({ "uid": session });
    }
    value
}

/// Where the request came from: its IP and port when the remote address is one, else its
/// text as the endpoint's name.
fn src_endpoint(event: &AuditEvent) -> Option<Value> {
    let remote = event.remote_addr.as_deref()?;
    let Some((ip, port)) = parse_remote(remote) else {
        return Some(json!({ "name": remote }));
    };
    let mut endpoint = json!({ "ip": ip.to_string() });
    if let Some(port) = port {
        endpoint["port"] = json!(port);
    }
    Some(endpoint)
}

fn http_request(event: &AuditEvent) -> Option<Value> {
    object([
        ("uid", text(event.request_id.as_deref())),
        ("user_agent", text(event.user_agent.as_deref())),
    ])
}

/// File System Activity: the host and the file. Returns what the class has no place for.
fn file_system_fields(value: &mut Value, event: &AuditEvent, opts: &EncodeOptions) -> Value {
    value["device"] = json!({ "type_id": 1, "type": "Server", "hostname": opts.hostname });
    let path = event.path.as_deref().unwrap_or("/");
    // A listing names a folder; every other file action a file.
    let (type_id, kind) = if event.action == "file.list" {
        (2, "Folder")
    } else {
        (1, "Regular File")
    };
    value["file"] =
        json!({ "path": path, "name": file_name(path), "type_id": type_id, "type": kind });
    if let Some(version) = event.version {
        value["file"]["version"] = json!(version.to_string());
    }
    object([
        ("remote_addr", text(event.remote_addr.as_deref())),
        ("user_agent", text(event.user_agent.as_deref())),
        ("request_id", text(event.request_id.as_deref())),
    ])
    .unwrap_or_else(|| json!({}))
}

/// Authentication: the user who tried, the service they tried, where from.
fn authentication_fields(value: &mut Value, event: &AuditEvent, opts: &EncodeOptions) -> Value {
    value["user"] = user(event);
    value["service"] = json!({ "name": opts.app_name, "version": opts.product_version });
    value["dst_endpoint"] = json!({ "hostname": opts.hostname });
    if let Some(endpoint) = src_endpoint(event) {
        value["src_endpoint"] = endpoint;
    }
    if let Some(request) = http_request(event) {
        value["http_request"] = request;
    }
    if let Some(session) = &event.session_id {
        value["session"] = json!({ "uid": session });
    }
    resource_fields(event)
}

/// API Activity: the operation and the request. An event without a remote address came
/// from this host (the CLI, a scheduled job), which is then the source endpoint.
fn api_fields(value: &mut Value, event: &AuditEvent, opts: &EncodeOptions) -> Value {
    let mut api = json!({
        "operation": event.action,
        "service": { "name": opts.app_name, "version": opts.product_version },
    });
    if let Some(id) = &event.request_id {
        api["request"] = json!({ "uid": id });
    }
    value["api"] = api;
    value["src_endpoint"] =
        src_endpoint(event).unwrap_or_else(|| json!({ "hostname": opts.hostname }));
    if let Some(request) = http_request(event) {
        value["http_request"] = request;
    }
    resource_fields(event)
}

/// The resource fields of an event whose class has no file object.
fn resource_fields(event: &AuditEvent) -> Value {
    object([
        ("path", text(event.path.as_deref())),
        ("version", event.version.map(|v| json!(v))),
    ])
    .unwrap_or_else(|| json!({}))
}

fn unmapped_fields(stored: &StoredEvent, event: &AuditEvent, mut unmapped: Value) -> Value {
    unmapped["hash"] = json!(hex::encode(stored.hash));
    unmapped["prev_hash"] = json!(hex::encode(stored.prev_hash));
    if let Some(tier) = event.tier {
        unmapped["tier"] = json!(tier.as_str());
    }
    if !event.policies.is_empty() {
        unmapped["policies"] = json!(event.policies);
    }
    if !event.detail.is_null() {
        unmapped["detail"] = event.detail.clone();
    }
    if let Some(ai) = &event.ai {
        unmapped["ai"] = json!(ai);
    }
    if let Some(workflow) = &event.workflow {
        unmapped["workflow"] = json!(workflow);
    }
    unmapped
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, stored};
    use super::*;

    fn ocsf(event: AuditEvent) -> Value {
        to_value(&stored(9, event.clone()), &event, &fixtures::options())
    }

    /// `action` (with `version`) maps to class `class`, activity `activity` named `name`.
    fn check(action: &str, version: Option<i64>, class: u32, activity: u32, name: &str) {
        let mut event = fixtures::event(action);
        event.version = version;
        let v = ocsf(event);
        let got = (
            v["class_uid"].as_u64().unwrap(),
            v["activity_id"].as_u64().unwrap(),
            v["activity_name"].as_str().unwrap(),
        );
        assert_eq!(
            got,
            (u64::from(class), u64::from(activity), name),
            "{action}"
        );
        assert_eq!(v["type_uid"], u64::from(class * 100 + activity), "{action}");
    }

    #[test]
    fn actions_map_to_classes_and_activities() {
        check("file.read", None, 1001, 2, "Read");
        check("file.write", None, 1001, 1, "Create");
        check("file.write", Some(1), 1001, 1, "Create");
        check("file.write", Some(2), 1001, 3, "Update");
        check("file.restore", Some(4), 1001, 3, "Update");
        check("file.delete", None, 1001, 4, "Delete");
        check("file.purge", None, 1001, 4, "Delete");
        check("file.label", None, 1001, 6, "Set Attributes");
        check("file.stat", None, 1001, 8, "Get Attributes");
        check("file.list", None, 1001, 99, "file.list");
        check("file.history", None, 1001, 99, "file.history");
        check("file.future", None, 1001, 99, "file.future");
        check("authenticate", None, 3002, 1, "Logon");
        check("audit.read", None, 6003, 2, "Read");
        check("store.verify", None, 6003, 2, "Read");
        check("keys.rotate", None, 6003, 3, "Update");
        check("principal.create", None, 6003, 1, "Create");
        check("principal.delete", None, 6003, 4, "Delete");
        check("ai.send", None, 6003, 99, "ai.send");
        check("workflow.run", None, 6003, 99, "workflow.run");
        check("files", None, 6003, 99, "files");
    }

    fn check_outcome(outcome: Outcome, severity_id: u64, status_id: u64) {
        let mut event = fixtures::event("file.read");
        event.outcome = outcome;
        let v = ocsf(event);
        assert_eq!(v["severity_id"], severity_id, "{outcome:?}");
        assert_eq!(v["status_id"], status_id, "{outcome:?}");
        assert_eq!(v["status_code"], outcome.as_str());
    }

    #[test]
    fn outcomes_map_to_severity_and_status() {
        check_outcome(Outcome::Success, 1, 1);
        check_outcome(Outcome::Denied, 2, 2);
        check_outcome(Outcome::Failed, 3, 2);
    }

    #[test]
    fn a_file_event_has_device_file_and_actor() {
        let v = ocsf(fixtures::read_denied());
        assert_eq!(v["time"], fixtures::AT_MS);
        assert_eq!(v["actor"]["user"]["uid"], "usr_alice");
        assert_eq!(v["actor"]["user"]["credential_uid"], "tok_9");
        assert_eq!(v["actor"]["session"]["uid"], "ses_4");
        assert_eq!(v["device"]["hostname"], "vault-1.example.org");
        assert_eq!(
            v["file"],
            json!({"path": "/finance/q3.xlsx", "name": "q3.xlsx", "type_id": 1, "type": "Regular File", "version": "3"})
        );
        assert_eq!(
            v["status_detail"],
            "tier-clearance: restricted > confidential"
        );
        assert_eq!(v["metadata"]["uid"], "9");
        assert_eq!(v["metadata"]["correlation_uid"], "cor_01");
        assert_eq!(v["metadata"]["product"]["vendor_name"], "covault");
        assert_eq!(v["metadata"]["version"], OCSF_VERSION);
        assert_eq!(v["unmapped"]["tier"], "restricted");
        assert_eq!(v["unmapped"]["remote_addr"], "203.0.113.7:52100");
        assert_eq!(v["unmapped"]["detail"]["size"], 1024);
        assert_eq!(v["unmapped"]["hash"], "bb".repeat(32));
        assert!(v.get("src_endpoint").is_none(), "1001 has no src_endpoint");
    }

    #[test]
    fn a_failed_login_has_an_unknown_user_and_an_ipv6_source() {
        let v = ocsf(fixtures::authenticate_failed());
        assert_eq!(v["user"]["name"], "unknown");
        assert_eq!(v["actor"]["user"]["type_id"], 0);
        assert_eq!(v["src_endpoint"], json!({"ip": "2001:db8::7", "port": 443}));
        assert_eq!(v["http_request"]["user_agent"], "curl/8.5.0");
        assert_eq!(v["service"]["name"], "covault");
        assert_eq!(v["status_detail"], "bad_credentials");
    }

    #[test]
    fn an_api_event_has_operation_request_and_source() {
        let v = ocsf(fixtures::ai_send());
        assert_eq!(v["api"]["operation"], "ai.send");
        assert_eq!(v["api"]["request"]["uid"], "req_ai");
        assert_eq!(v["src_endpoint"]["hostname"], "vault-1.example.org");
        assert_eq!(v["unmapped"]["ai"]["model"], "claude");
        assert_eq!(v["unmapped"]["workflow"]["step"], "summarise");
        assert!(v.get("status_detail").is_none());
    }

    #[test]
    fn a_remote_address_that_is_no_ip_is_a_name() {
        let v = ocsf(fixtures::hostile());
        assert_eq!(v["class_uid"], 6003);
        assert_eq!(
            v["src_endpoint"]["name"],
            fixtures::hostile().remote_addr.unwrap()
        );
        assert!(v["src_endpoint"].get("ip").is_none());
    }
}
