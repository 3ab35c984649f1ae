//! Export encoders: one stored audit event in, one record of text out, for the collectors
//! a deployment ships its log to (JSON lines, OCSF, ArcSight CEF, RFC 5424 syslog, and OTLP
//! logs as a batch).
//!
//! Everything here is pure: no I/O, no clock, no async. A record carries no framing (no
//! trailing newline); the transport that sends it frames it ([`octet_counted`] for syslog over
//! TCP or TLS). Events never hold content, so neither do the records: each format maps the
//! event's fields and nothing else.

mod cef;
mod jsonl;
mod ocsf;
mod otlp;
mod syslog;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::{AuditError, AuditEvent, StoredEvent};

pub use ocsf::OCSF_VERSION;
pub use otlp::otlp_logs_request;
pub use syslog::{SD_ID, octet_counted};

/// Why an event could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("audit event {seq} cannot be exported: {source}")]
    BadEvent {
        seq: u64,
        #[source]
        source: AuditError,
    },
    #[error("cannot serialise audit event {seq}: {source}")]
    Serialize {
        seq: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("unknown export format `{0}`: use jsonl, ocsf, cef or syslog")]
    UnknownFormat(String),
    #[error("unknown syslog facility `{0}`: use a name such as `authpriv` or `local0`, or 0 to 23")]
    UnknownFacility(String),
}

/// A single-record export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One flat JSON object.
    Jsonl,
    /// An OCSF event of the class the action maps to ([`OCSF_VERSION`]).
    Ocsf,
    /// ArcSight Common Event Format, version 0.
    Cef,
    /// An RFC 5424 syslog message whose MSG is the JSON line.
    Syslog,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Jsonl, Format::Ocsf, Format::Cef, Format::Syslog];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Ocsf => "ocsf",
            Format::Cef => "cef",
            Format::Syslog => "syslog",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ExportError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .ok_or_else(|| ExportError::UnknownFormat(text.chars().take(40).collect()))
    }
}

/// A syslog facility code (RFC 5424 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Facility(
    // INVARIANT: 0..=23, checked by `Facility::new` and the constants.
    u8,
);

const FACILITY_NAMES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

impl Facility {
    /// Security/authorization messages (4).
    pub const AUTH: Facility = Facility(4);
    /// Private security/authorization messages (10): the default.
    pub const AUTHPRIV: Facility = Facility(10);
    /// Log audit (13).
    pub const AUDIT: Facility = Facility(13);
    /// Local use 0 (16).
    pub const LOCAL0: Facility = Facility(16);

    pub fn new(code: u8) -> Result<Self, ExportError> {
        if usize::from(code) < FACILITY_NAMES.len() {
            Ok(Facility(code))
        } else {
            Err(ExportError::UnknownFacility(code.to_string()))
        }
    }

    pub fn code(self) -> u8 {
        self.0
    }

    pub fn name(self) -> &'static str {
        FACILITY_NAMES
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("authpriv")
    }
}

impl Default for Facility {
    fn default() -> Self {
        Facility::AUTHPRIV
    }
}

impl FromStr for Facility {
    type Err = ExportError;
    /// A facility by name (`authpriv`, `local3`) or by code (`10`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || ExportError::UnknownFacility(text.chars().take(40).collect());
        if let Ok(code) = text.parse::<u8>() {
            return Facility::new(code).map_err(|_| unknown());
        }
        FACILITY_NAMES
            .iter()
            .position(|name| *name == text)
            .and_then(|code| u8::try_from(code).ok())
            .map(Facility)
            .ok_or_else(unknown)
    }
}

/// What every format needs to know about the exporting installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// This host's name: syslog HOSTNAME, CEF `dvchost`, OCSF `device`, OTLP `host.name`.
    pub hostname: String,
    /// The application name: syslog APP-NAME, OTLP `service.name`, OCSF `service.name`.
    pub app_name: String,
    /// covault's version: CEF device version, OCSF `metadata.product.version`.
    pub product_version: String,
    /// The syslog facility (authpriv unless configured otherwise).
    pub facility: Facility,
}

impl EncodeOptions {
    /// Options for `hostname` running covault `product_version`, with the defaults for the rest.
    pub fn new(hostname: impl Into<String>, product_version: impl Into<String>) -> Self {
        Self {
            hostname: hostname.into(),
            app_name: "covault".to_owned(),
            product_version: product_version.into(),
            facility: Facility::default(),
        }
    }
}

/// Encodes one stored event as one record of `format`, without framing.
pub fn encode(
    format: Format,
    stored: &StoredEvent,
    opts: &EncodeOptions,
) -> Result<String, ExportError> {
    let event = decode(stored)?;
    match format {
        Format::Jsonl => jsonl::encode(stored, &event),
        Format::Ocsf => ocsf::encode(stored, &event, opts),
        Format::Cef => Ok(cef::encode(stored, &event, opts)),
        Format::Syslog => syslog::encode(stored, &event, opts),
    }
}

fn decode(stored: &StoredEvent) -> Result<AuditEvent, ExportError> {
    stored.event().map_err(|source| ExportError::BadEvent {
        seq: stored.seq,
        source,
    })
}

fn to_json_text(seq: u64, value: &Value) -> Result<String, ExportError> {
    serde_json::to_string(value).map_err(|source| ExportError::Serialize { seq, source })
}

/// A remote address as an IP and an optional port: `203.0.113.7`, `203.0.113.7:443`,
/// `2001:db8::1`, `[2001:db8::1]:443`. Anything else (a socket path, a name) is `None`.
fn parse_remote(text: &str) -> Option<(IpAddr, Option<u16>)> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some((ip, None));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some((addr.ip(), Some(addr.port())));
    }
    let bare = text.strip_prefix('[')?.strip_suffix(']')?;
    bare.parse::<IpAddr>().ok().map(|ip| (ip, None))
}

/// The last component of a path (`/a/b.txt` → `b.txt`, `/a/` → `a`, `/` → `/`).
fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit('/').next() {
        Some(name) if !name.is_empty() => name,
        _ => "/",
    }
}

/// A JSON object of the pairs that have a value, or `None` when none has.
fn object<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Option<Value> {
    let map: Map<String, Value> = pairs
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key.to_owned(), v)))
        .collect();
    (!map.is_empty()).then_some(Value::Object(map))
}

fn text(value: Option<&str>) -> Option<Value> {
    value.map(|v| Value::String(v.to_owned()))
}

/// A one-line summary, `file.read denied`, for CEF's name and OCSF's message.
fn summary(event: &AuditEvent) -> String {
    format!("{} {}", event.action, event.outcome.as_str())
}

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    fn check_remote(input: &str, expected: Option<(&str, Option<u16>)>) {
        let got = parse_remote(input).map(|(ip, port)| (ip.to_string(), port));
        let expected = expected.map(|(ip, port)| (ip.to_owned(), port));
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn remote_addresses() {
        check_remote("203.0.113.7", Some(("203.0.113.7", None)));
        check_remote("203.0.113.7:5443", Some(("203.0.113.7", Some(5443))));
        check_remote(" 203.0.113.7 ", Some(("203.0.113.7", None)));
        check_remote("2001:db8::1", Some(("2001:db8::1", None)));
        check_remote("[2001:db8::1]", Some(("2001:db8::1", None)));
        check_remote("[2001:db8::1]:443", Some(("2001:db8::1", Some(443))));
        check_remote("::ffff:192.0.2.1", Some(("::ffff:192.0.2.1", None)));
        check_remote("unix:/run/covault.sock", None);
        check_remote("localhost:80", None);
        check_remote("203.0.113.7:99999", None);
        check_remote("", None);
    }

    fn check_name(path: &str, expected: &str) {
        assert_eq!(file_name(path), expected, "{path}");
    }

    #[test]
    fn file_names() {
        check_name("/docs/q3.txt", "q3.txt");
        check_name("docs/q3.txt", "q3.txt");
        check_name("/docs/", "docs");
        check_name("q3.txt", "q3.txt");
        check_name("/", "/");
        check_name("", "/");
    }

    #[test]
    fn formats_parse_and_print() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
            assert_eq!(f.to_string(), f.as_str());
        }
        let err = "xml".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown export format `xml`: use jsonl, ocsf, cef or syslog"
        );
    }

    fn check_facility(text: &str, expected: Option<u8>) {
        assert_eq!(
            text.parse::<Facility>().ok().map(Facility::code),
            expected,
            "{text}"
        );
    }

    #[test]
    fn facilities() {
        check_facility("authpriv", Some(10));
        check_facility("auth", Some(4));
        check_facility("kern", Some(0));
        check_facility("local0", Some(16));
        check_facility("local7", Some(23));
        check_facility("13", Some(13));
        check_facility("23", Some(23));
        check_facility("24", None);
        check_facility("local8", None);
        check_facility("AUTHPRIV", None);
        check_facility("", None);
        assert_eq!(Facility::default(), Facility::AUTHPRIV);
        assert_eq!(Facility::LOCAL0.name(), "local0");
        assert!(Facility::new(24).is_err());
    }

    #[test]
    fn an_unreadable_event_names_its_position() {
        let mut stored = fixtures::stored(7, fixtures::read_denied());
        stored.columns.outcome = "maybe".into();
        let opts = fixtures::options();
        for f in Format::ALL {
            let err = encode(f, &stored, &opts).unwrap_err();
            assert!(matches!(err, ExportError::BadEvent { seq: 7, .. }), "{err}");
        }
        let err = otlp_logs_request(&[stored], &opts).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("audit event 7 cannot be exported")
        );
    }
}
