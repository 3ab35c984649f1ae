//! ArcSight CEF: `CEF:0|covault|covault|<version>|<action>|<action outcome>|<severity>|<ext>`.
//!
//! Header fields escape `\` and `|` (and, having no escape for them, turn line breaks into
//! spaces); extension values escape `\` and `=` and write line breaks as `\n` / `\r`. Every
//! extension key is from the ArcSight extension dictionary, values are cut to its maximum
//! lengths, and custom fields carry their labels (`cs1Label=correlationId`):
//!
//! | key | field | key | field |
//! |---|---|---|---|
//! | `rt` | time (ms) | `cs1` | correlation id |
//! | `externalId` | seq | `cs2` | request id |
//! | `act` | action | `cs3` | tier |
//! | `outcome` | outcome | `cs4` | token id |
//! | `reason` | reason | `cs5` | session id |
//! | `suser` | principal | `cs6` | policies, comma-separated |
//! | `src`/`c6a2`, `spt` | remote IPv4/IPv6, port | `cn1` | version |
//! | `filePath`, `fname` | path, its last component | `cn2`, `cn3` | AI tokens in, out |
//! | `requestClientApplication` | user agent | `flexString1` | chain hash |
//! | `dvchost` | this host | `flexString2` | AI provider/model |
//! | `msg` | detail and workflow, JSON | `cfp1` | AI injection score |

use std::net::IpAddr;

use serde_json::json;

use super::{EncodeOptions, file_name, parse_remote, summary};
use crate::{AuditEvent, Outcome, StoredEvent};

/// CEF severity (0–10) of an outcome: low, medium, medium-high.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Success => 3,
        Outcome::Denied => 5,
        Outcome::Failed => 6,
    }
}

/// Escapes a header field: `\` and `|`; line breaks become spaces.
fn header(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an extension value: `\`, `=`, and line breaks as `\n` / `\r`.
fn extension_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// The dictionary's maximum length for a string key (`None`: not a string, or unbounded).
fn max_len(key: &str) -> Option<usize> {
    match key {
        "act" | "outcome" => Some(63),
        "externalId" => Some(40),
        "dvchost" => Some(100),
        "cs1" | "cs2" | "cs3" | "cs4" | "cs5" | "cs6" => Some(4000),
        "suser"
        | "reason"
        | "filePath"
        | "fname"
        | "msg"
        | "requestClientApplication"
        | "flexString1"
        | "flexString2" => Some(1023),
        _ => None,
    }
}

/// Extension pairs, in order; values are raw until [`Extensions::render`].
#[derive(Default)]
struct Extensions(Vec<(&'static str, String)>);

impl Extensions {
    fn push(&mut self, key: &'static str, value: impl Into<String>) {
        let value: String = value.into();
        let value = match max_len(key) {
            Some(max) => value.chars().take(max).collect(),
            None => value,
        };
        self.0.push((key, value));
    }

    fn push_opt(&mut self, key: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(key, value);
        }
    }

    /// A custom field and its label.
    fn custom(&mut self, Custom(key, label_key): Custom, label: &str, value: Option<String>) {
        if let Some(value) = value {
            self.push(key, value);
            self.push(label_key, label);
        }
    }

    fn render(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|(key, value)| format!("{key}={}", extension_value(value)))
            .collect();
        pairs.join(" ")
    }
}

/// A custom extension field and the key of its label.
#[derive(Clone, Copy)]
struct Custom(&'static str, &'static str);

const CN1: Custom = Custom("cn1", "cn1Label");
const CN2: Custom = Custom("cn2", "cn2Label");
const CN3: Custom = Custom("cn3", "cn3Label");
const CS1: Custom = Custom("cs1", "cs1Label");
const CS2: Custom = Custom("cs2", "cs2Label");
const CS3: Custom = Custom("cs3", "cs3Label");
const CS4: Custom = Custom("cs4", "cs4Label");
const CS5: Custom = Custom("cs5", "cs5Label");
const CS6: Custom = Custom("cs6", "cs6Label");
const CFP1: Custom = Custom("cfp1", "cfp1Label");
const C6A2: Custom = Custom("c6a2", "c6a2Label");
const FLEX1: Custom = Custom("flexString1", "flexString1Label");
const FLEX2: Custom = Custom("flexString2", "flexString2Label");

/// The CEF record for `event`.
pub(super) fn encode(stored: &StoredEvent, event: &AuditEvent, opts: &EncodeOptions) -> String {
    let head = [
        "covault",
        "covault",
        opts.product_version.as_str(),
        event.action.as_str(),
        &summary(event),
    ]
    .map(header)
    .join("|");
    let severity = severity(event.outcome);
    let ext = extensions(stored, event, opts).render();
    format!("CEF:0|{head}|{severity}|{ext}")
}

fn extensions(stored: &StoredEvent, event: &AuditEvent, opts: &EncodeOptions) -> Extensions {
    let mut ext = Extensions::default();
    ext.push("rt", event.at_ms.to_string());
    ext.push("dvchost", opts.hostname.as_str());
    ext.push("externalId", stored.seq.to_string());
    ext.push("act", event.action.as_str());
    ext.push("outcome", event.outcome.as_str());
    if !event.reason.is_empty() {
        ext.push("reason", event.reason.as_str());
    }
    ext.push_opt("suser", event.principal.as_deref());
    source(&mut ext, event.remote_addr.as_deref());
    if let Some(path) = &event.path {
        ext.push("filePath", path.as_str());
        ext.push("fname", file_name(path));
    }
    ext.push_opt("requestClientApplication", event.user_agent.as_deref());
    ext.custom(CN1, "version", event.version.map(|v| v.to_string()));
    ext.custom(CS1, "correlationId", event.correlation_id.clone());
    ext.custom(CS2, "requestId", event.request_id.clone());
    ext.custom(CS3, "tier", event.tier.map(|t| t.as_str().to_owned()));
    ext.custom(CS4, "tokenId", event.token_id.clone());
    ext.custom(CS5, "sessionId", event.session_id.clone());
    let policies = (!event.policies.is_empty()).then(|| event.policies.join(","));
    ext.custom(CS6, "policies", policies);
    ext.custom(FLEX1, "chainHash", Some(hex::encode(stored.hash)));
    ai(&mut ext, event);
    message(&mut ext, event);
    ext
}

/// `src` takes IPv4 only; an IPv6 source goes to `c6a2`, the source IPv6 address.
fn source(ext: &mut Extensions, remote: Option<&str>) {
    let Some((ip, port)) = remote.and_then(parse_remote) else {
        return;
    };
    match ip {
        IpAddr::V4(v4) => ext.push("src", v4.to_string()),
        IpAddr::V6(v6) => ext.custom(C6A2, "Source IPv6 Address", Some(v6.to_string())),
    }
    if let Some(port) = port {
        ext.push("spt", port.to_string());
    }
}

fn ai(ext: &mut Extensions, event: &AuditEvent) {
    let Some(ai) = &event.ai else {
        return;
    };
    ext.custom(CN2, "aiTokensIn", Some(ai.tokens_in.to_string()));
    ext.custom(CN3, "aiTokensOut", Some(ai.tokens_out.to_string()));
    ext.custom(
        FLEX2,
        "aiModel",
        Some(format!("{}/{}", ai.provider, ai.model)),
    );
    let score = ai.injection_score.map(|s| s.to_string());
    ext.custom(CFP1, "aiInjectionScore", score);
}

/// `msg`: the detail counts, AI redaction counts and workflow fields, as compact JSON.
fn message(ext: &mut Extensions, event: &AuditEvent) {
    let mut msg = serde_json::Map::new();
    if !event.detail.is_null() {
        msg.insert("detail".into(), event.detail.clone());
    }
    if let Some(ai) = event.ai.as_ref().filter(|ai| !ai.redactions.is_empty()) {
        msg.insert("redactions".into(), json!(ai.redactions));
    }
    if let Some(workflow) = &event.workflow {
        msg.insert("workflow".into(), json!(workflow));
    }
    if !msg.is_empty() {
        ext.push("msg", serde_json::Value::Object(msg).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, stored};
    use super::*;

    fn cef(event: AuditEvent) -> String {
        encode(&stored(12, event.clone()), &event, &fixtures::options())
    }

    fn check_header(input: &str, expected: &str) {
        assert_eq!(header(input), expected, "{input:?}");
    }

    #[test]
    fn header_escaping() {
        check_header("plain", "plain");
        check_header("a|b", "a\\|b");
        check_header("a\\b", "a\\\\b");
        check_header("a\\|b", "a\\\\\\|b");
        check_header("a=b", "a=b");
        check_header("a\nb\rc", "a b c");
        check_header("", "");
    }

    fn check_value(input: &str, expected: &str) {
        assert_eq!(extension_value(input), expected, "{input:?}");
    }

    #[test]
    fn extension_escaping() {
        check_value("plain text", "plain text");
        check_value("a=b", "a\\=b");
        check_value("a\\b", "a\\\\b");
        check_value("a\\=b", "a\\\\\\=b");
        check_value("a|b", "a|b");
        check_value("line\nbreak", "line\\nbreak");
        check_value("cr\rhere", "cr\\rhere");
        check_value("x=1 y=2", "x\\=1 y\\=2");
    }

    fn check_severity(outcome: Outcome, expected: u8) {
        assert_eq!(severity(outcome), expected, "{outcome:?}");
    }

    #[test]
    fn severities() {
        check_severity(Outcome::Success, 3);
        check_severity(Outcome::Denied, 5);
        check_severity(Outcome::Failed, 6);
    }

    #[test]
    fn a_file_event() {
        let expected = concat!(
            "CEF:0|covault|covault|0.1.0|file.read|file.read denied|5|",
            "rt=1795324171123 dvchost=vault-1.example.org externalId=12 act=file.read ",
            "outcome=denied reason=tier-clearance: restricted > confidential suser=usr_alice ",
            "src=203.0.113.7 spt=52100 filePath=/finance/q3.xlsx fname=q3.xlsx ",
            "requestClientApplication=covault-cli/0.1.0 cn1=3 cn1Label=version ",
            "cs1=cor_01 cs1Label=correlationId cs2=req_01 cs2Label=requestId ",
            "cs3=restricted cs3Label=tier cs4=tok_9 cs4Label=tokenId cs5=ses_4 ",
            "cs5Label=sessionId cs6=tier-clearance cs6Label=policies ",
        );
        let got = cef(fixtures::read_denied());
        assert!(got.starts_with(expected), "{got}");
        let rest = &got[expected.len()..];
        assert_eq!(
            rest,
            format!(
                "flexString1={} flexString1Label=chainHash msg={{\"detail\":{{\"size\":1024}}}}",
                "bb".repeat(32)
            )
        );
    }

    #[test]
    fn an_ipv6_source_and_ai_fields() {
        let got = cef(fixtures::authenticate_failed());
        assert!(
            got.contains(" c6a2=2001:db8::7 c6a2Label=Source IPv6 Address spt=443 "),
            "{got}"
        );
        assert!(!got.contains("suser="));
        assert!(got.contains("|authenticate|authenticate failed|6|"));
        let got = cef(fixtures::ai_send());
        assert!(
            got.contains(" cn2=120 cn2Label=aiTokensIn cn3=40 cn3Label=aiTokensOut "),
            "{got}"
        );
        assert!(got.contains(" flexString2=anthropic/claude flexString2Label=aiModel cfp1=0.25 "));
        let msg = got.split(" msg=").nth(1).unwrap();
        let msg: serde_json::Value = serde_json::from_str(msg).unwrap();
        assert_eq!(msg["redactions"]["EMAIL_ADDRESS"], 2, "{got}");
        assert_eq!(msg["workflow"]["definition_version"], 2, "{got}");
        assert_eq!(msg["workflow"]["run"], "run_1", "{got}");
    }

    #[test]
    fn hostile_text_cannot_forge_fields() {
        let got = cef(fixtures::hostile());
        assert!(!got.contains('\n') && !got.contains('\r'));
        assert!(
            got.starts_with(r"CEF:0|covault|covault|0.1.0|a\|b=c\\d"),
            "{got}"
        );
        assert!(got.contains(r#" suser=a|b\=c\\d"e]f\ng\rh "#), "{got}");
        // The seventh unescaped pipe ends the header: the extension starts right after it.
        let ext = after_header(&got);
        assert!(ext.starts_with("rt=1795324171123 "), "{ext}");
    }

    /// The text after the seventh pipe that is not escaped.
    fn after_header(record: &str) -> &str {
        let mut escaped = false;
        let mut pipes = 0;
        for (i, c) in record.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '|' => {
                    pipes += 1;
                    if pipes == 7 {
                        return &record[i + 1..];
                    }
                }
                _ => {}
            }
        }
        panic!("fewer than seven pipes in {record}")
    }

    #[test]
    fn long_values_are_cut_to_the_dictionary() {
        let mut event = fixtures::event("file.read");
        event.reason = "é".repeat(2000);
        let got = cef(event);
        let reason = got
            .split(" reason=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert_eq!(reason.chars().count(), 1023);
    }
}
