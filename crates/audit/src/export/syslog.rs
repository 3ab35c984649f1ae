//! RFC 5424 syslog: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [covault@32473 …] MSG`, and
//! RFC 6587 octet counting for stream transports.
//!
//! - PRI is the configured facility (authpriv by default) × 8 + a severity from the outcome:
//!   notice for success, warning for denied, err for failed.
//! - HOSTNAME, APP-NAME and MSGID (the action) are printable US-ASCII cut to 255, 48 and 32
//!   characters: any other character becomes `_`, an empty field the NILVALUE `-`. PROCID is
//!   always `-`: the record says which installation sent it, not which process.
//! - One SD-ELEMENT, [`SD_ID`], repeats the fields a collector filters on. PARAM-VALUEs escape
//!   `"`, `\` and `]`; control characters, which RFC 5424 gives no escape and line-framed
//!   transports would split on, become spaces (MSG keeps the exact text).
//! - MSG is the JSON line, prefixed by the UTF-8 BOM as RFC 5424 §6.4 asks of UTF-8 text
//!   (paths and reasons need not be ASCII).
//!
//! `32473` is the private enterprise number that RFC 5612 reserves for documentation; an
//! installation that registers its own number changes [`SD_ID`].

use super::{EncodeOptions, ExportError, Facility, jsonl};
use crate::{AuditEvent, Outcome, StoredEvent};

/// The SD-ID of covault's structured data element.
pub const SD_ID: &str = "covault@32473";

const BOM: char = '\u{feff}';

/// The syslog severity (RFC 5424 §6.2.1) of an outcome.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Success => 5,
        Outcome::Denied => 4,
        Outcome::Failed => 3,
    }
}

fn pri(facility: Facility, severity: u8) -> u16 {
    u16::from(facility.code()) * 8 + u16::from(severity)
}

/// A header field: printable US-ASCII only, at most `max` characters, `-` when empty.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(max)
        .collect();
    if field.is_empty() {
        "-".to_owned()
    } else {
        field
    }
}

/// A PARAM-VALUE: `"`, `\` and `]` escaped, control characters as spaces.
fn param_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// RFC 5424 TIMESTAMP; the NILVALUE for times outside years 0–9999.
fn timestamp(at_ms: i64) -> String {
    let text = crate::format_rfc3339(at_ms);
    if text.len() == "2026-11-22T05:09:31.123Z".len() && !text.starts_with('-') {
        text
    } else {
        "-".to_owned()
    }
}

fn structured_data(stored: &StoredEvent, event: &AuditEvent) -> String {
    let seq = stored.seq.to_string();
    let version = event.version.map(|v| v.to_string());
    let hash = hex::encode(stored.hash);
    let reason = Some(event.reason.as_str()).filter(|r| !r.is_empty());
    let params = [
        ("seq", Some(seq.as_str())),
        ("action", Some(event.action.as_str())),
        ("outcome", Some(event.outcome.as_str())),
        ("principal", event.principal.as_deref()),
        ("path", event.path.as_deref()),
        ("version", version.as_deref()),
        ("tier", event.tier.map(|t| t.as_str())),
        ("reason", reason),
        ("request_id", event.request_id.as_deref()),
        ("correlation_id", event.correlation_id.as_deref()),
        ("remote_addr", event.remote_addr.as_deref()),
        ("hash", Some(hash.as_str())),
    ];
    let mut sd = format!("[{SD_ID}");
    for (name, value) in params {
        if let Some(value) = value {
            sd.push_str(&format!(" {name}=\"{}\"", param_value(value)));
        }
    }
    sd.push(']');
    sd
}

/// The syslog message for `event`.
pub(super) fn encode(
    stored: &StoredEvent,
    event: &AuditEvent,
    opts: &EncodeOptions,
) -> Result<String, ExportError> {
    let msg = jsonl::encode(stored, event)?;
    Ok(format!(
        "<{}>1 {} {} {} - {} {} {BOM}{msg}",
        pri(opts.facility, severity(event.outcome)),
        timestamp(event.at_ms),
        header_field(&opts.hostname, 255),
        header_field(&opts.app_name, 48),
        header_field(&event.action, 32),
        structured_data(stored, event),
    ))
}

/// RFC 6587 octet-counting framing for TCP and TLS: `LEN SP MSG`, LEN in bytes.
pub fn octet_counted(record: &str) -> String {
    format!("{} {record}", record.len())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, stored};
    use super::*;

    fn check_pri(facility: &str, outcome: Outcome, expected: u16) {
        let facility: Facility = facility.parse().unwrap();
        assert_eq!(
            pri(facility, severity(outcome)),
            expected,
            "{facility:?} {outcome:?}"
        );
    }

    #[test]
    fn pri_is_facility_times_eight_plus_severity() {
        check_pri("authpriv", Outcome::Success, 85);
        check_pri("authpriv", Outcome::Denied, 84);
        check_pri("authpriv", Outcome::Failed, 83);
        check_pri("auth", Outcome::Success, 37);
        check_pri("kern", Outcome::Success, 5);
        check_pri("local0", Outcome::Denied, 132);
        check_pri("local7", Outcome::Failed, 187);
    }

    fn check_param(input: &str, expected: &str) {
        assert_eq!(param_value(input), expected, "{input:?}");
    }

    #[test]
    fn param_value_escaping() {
        check_param("plain", "plain");
        check_param(r#"say "hi""#, r#"say \"hi\""#);
        check_param(r"a\b", r"a\\b");
        check_param("a]b", r"a\]b");
        check_param(r#"\"]"#, r#"\\\"\]"#);
        check_param("a=b [c]", r"a=b [c\]");
        check_param("line\nbreak\ttab", "line break tab");
        check_param("ünïcode", "ünïcode");
    }

    fn check_header(input: &str, max: usize, expected: &str) {
        assert_eq!(header_field(input, max), expected, "{input:?}");
    }

    #[test]
    fn header_fields_are_printable_ascii() {
        check_header("file.read", 32, "file.read");
        check_header("", 32, "-");
        check_header("a b\tc", 32, "a_b_c");
        check_header("dé", 32, "d_");
        check_header(&"x".repeat(40), 32, &"x".repeat(32));
        check_header(
            "workflow.step.approval.requested.by.policy",
            32,
            "workflow.step.approval.requested",
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(fixtures::AT_MS), "2026-11-22T05:09:31.123Z");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(i64::MAX), "-");
        assert_eq!(timestamp(-100_000_000_000_000), "-");
    }

    #[test]
    fn a_whole_message() {
        let event = fixtures::read_denied();
        let stored = stored(7, event.clone());
        let got = encode(&stored, &event, &fixtures::options()).unwrap();
        let expected = concat!(
            "<84>1 2026-11-22T05:09:31.123Z vault-1.example.org covault - file.read ",
            r#"[covault@32473 seq="7" action="file.read" outcome="denied" principal="usr_alice" "#,
            r#"path="/finance/q3.xlsx" version="3" tier="restricted" "#,
            r#"reason="tier-clearance: restricted > confidential" request_id="req_01" "#,
            r#"correlation_id="cor_01" remote_addr="203.0.113.7:52100" hash=""#,
        );
        assert!(got.starts_with(expected), "{got}");
        let msg = got.split_once("\"] ").unwrap().1;
        assert!(msg.starts_with('\u{feff}'));
        assert_eq!(&msg[3..], super::jsonl::encode(&stored, &event).unwrap());
    }

    #[test]
    fn hostile_text_stays_in_its_field() {
        let event = fixtures::hostile();
        let got = encode(&stored(8, event.clone()), &event, &fixtures::options()).unwrap();
        assert!(!got.contains('\n') && !got.contains('\r'));
        assert!(got.starts_with("<83>1 2026-11-22T05:09:31.123Z vault-1.example.org covault - a|b=c\\d\"e]f_g_h [covault@32473 "), "{got}");
        assert!(got.contains(r#" principal="a|b=c\\d\"e\]f g h" "#), "{got}");
    }

    #[test]
    fn octet_counting_counts_bytes() {
        assert_eq!(octet_counted("abc"), "3 abc");
        assert_eq!(octet_counted(""), "0 ");
        assert_eq!(octet_counted("\u{feff}é"), "5 \u{feff}é");
    }
}
