//! What an export sink is: its name (which keys its durable cursor), where it delivers, in
//! which format, how much at a time, and how it backs off. Validation only; no I/O here
//! except reading this host's name for the defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use covault_guard::export::{EncodeOptions, Format};
use secrecy::SecretString;

use super::SinkConfigError;

/// The most events one batch may hold (the audit log's page size).
pub const MAX_BATCH: u32 = 1000;
/// The events per batch unless configured otherwise.
pub const DEFAULT_BATCH: u32 = 500;
/// How long an idle sink waits before it looks at the log again.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);
const MAX_NAME_LEN: usize = 64;

/// One export sink.
#[derive(Clone, Debug)]
pub struct SinkConfig {
    /// 1–64 of `a-z`, `0-9`, `_`, `-`. The delivery cursor is stored under this name, so
    /// renaming a sink starts it again from the beginning of the log.
    pub name: String,
    pub target: SinkTarget,
    /// The record format. Syslog targets need [`Format::Syslog`]; OTLP needs
    /// [`Format::Jsonl`] (each log record's body is the JSON line); a file takes any.
    pub format: Format,
    /// Events per batch, 1 to [`MAX_BATCH`].
    pub batch: u32,
    /// How long to wait when there is nothing new to deliver.
    pub poll: Duration,
    pub retry: RetryPolicy,
    /// Host and product names the records carry.
    pub encode: EncodeOptions,
}

/// Where a sink delivers.
#[derive(Clone, Debug)]
pub enum SinkTarget {
    /// Appends one record per line to a local file (created `0600`), fsynced per batch.
    File { path: PathBuf },
    /// RFC 5424 over UDP (RFC 5426), one record per datagram. Best effort: UDP has no
    /// acknowledgement, so a datagram the collector never reads is lost without notice.
    SyslogUdp { addr: SocketAddr },
    /// RFC 5424 over TCP with RFC 6587 octet counting.
    SyslogTcp { addr: SocketAddr },
    /// RFC 5424 over TLS (RFC 5425) with octet counting. The collector's certificate is
    /// checked against `ca_file` (PEM) when given, else against the platform's roots.
    SyslogTls {
        addr: SocketAddr,
        server_name: String,
        ca_file: Option<PathBuf>,
    },
    /// OTLP/HTTP logs in the JSON encoding. `url` is the whole endpoint, with its path
    /// (`http://collector:4318/v1/logs`); `headers` are sent with every request (for an
    /// API key, say) and never logged.
    OtlpHttp {
        url: String,
        headers: Vec<(String, SecretString)>,
    },
}

impl SinkTarget {
    /// A short name of the transport, for logs and audit events.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkTarget::File { .. } => "file",
            SinkTarget::SyslogUdp { .. } => "syslog-udp",
            SinkTarget::SyslogTcp { .. } => "syslog-tcp",
            SinkTarget::SyslogTls { .. } => "syslog-tls",
            SinkTarget::OtlpHttp { .. } => "otlp-http",
        }
    }

    /// The format this target delivers unless told otherwise.
    pub fn default_format(&self) -> Format {
        match self {
            SinkTarget::SyslogUdp { .. }
            | SinkTarget::SyslogTcp { .. }
            | SinkTarget::SyslogTls { .. } => Format::Syslog,
            SinkTarget::File { .. } | SinkTarget::OtlpHttp { .. } => Format::Jsonl,
        }
    }
}

/// Capped exponential backoff between failed attempts: `first`, doubling up to `max`. A
/// permanent failure (a collector that refuses the request, an unreadable CA file) waits
/// `max` straight away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl SinkConfig {
    /// A sink with the defaults: the target's format, [`DEFAULT_BATCH`], [`DEFAULT_POLL`],
    /// 1 s → 30 s backoff, and this host's name in the records.
    pub fn new(name: impl Into<String>, target: SinkTarget) -> Self {
        Self {
            name: name.into(),
            format: target.default_format(),
            target,
            batch: DEFAULT_BATCH,
            poll: DEFAULT_POLL,
            retry: RetryPolicy::default(),
            encode: EncodeOptions::new(local_hostname(), env!("CARGO_PKG_VERSION")),
        }
    }

    /// Checks everything that can be checked without connecting.
    pub fn validate(&self) -> Result<(), SinkConfigError> {
        validate_name(&self.name)?;
        let name = || self.name.clone();
        if !(1..=MAX_BATCH).contains(&self.batch) {
            return Err(SinkConfigError::Batch {
                name: name(),
                batch: self.batch,
            });
        }
        if self.poll.is_zero() {
            return Err(SinkConfigError::Poll { name: name() });
        }
        if self.retry.first.is_zero() || self.retry.first > self.retry.max {
            return Err(SinkConfigError::Retry { name: name() });
        }
        self.check_format()?;
        super::transport::Transport::new(&self.name, &self.target).map(drop)
    }

    fn check_format(&self) -> Result<(), SinkConfigError> {
        let needed = match self.target {
            SinkTarget::SyslogUdp { .. }
            | SinkTarget::SyslogTcp { .. }
            | SinkTarget::SyslogTls { .. } => Format::Syslog,
            SinkTarget::OtlpHttp { .. } => Format::Jsonl,
            SinkTarget::File { .. } => return Ok(()),
        };
        if self.format == needed {
            Ok(())
        } else {
            Err(SinkConfigError::Format {
                name: self.name.clone(),
                target: self.target.kind(),
                format: self.format,
                needed,
            })
        }
    }
}

fn validate_name(name: &str) -> Result<(), SinkConfigError> {
    let valid = (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(SinkConfigError::Name(name.chars().take(80).collect()))
    }
}

/// This host's name (Linux `/proc`, else `$HOSTNAME`, else `localhost`).
pub fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> SinkTarget {
        SinkTarget::File {
            path: "/tmp/x".into(),
        }
    }

    fn check_name(name: &str, ok: bool) {
        assert_eq!(validate_name(name).is_ok(), ok, "{name:?}");
    }

    #[test]
    fn names() {
        check_name("siem", true);
        check_name("siem-2_backup", true);
        check_name(&"a".repeat(64), true);
        check_name(&"a".repeat(65), false);
        check_name("", false);
        check_name("Siem", false);
        check_name("a b", false);
        check_name("a.b", false);
        check_name("é", false);
    }

    fn check(config: SinkConfig, expected: Option<&str>) {
        let got = config.validate().err().map(|e| e.to_string());
        assert_eq!(got.as_deref(), expected);
    }

    #[test]
    fn validation() {
        let tcp = SinkTarget::SyslogTcp {
            addr: "127.0.0.1:514".parse().unwrap(),
        };
        check(SinkConfig::new("a", file()), None);
        check(SinkConfig::new("a", tcp.clone()), None);
        check(
            SinkConfig {
                format: Format::Cef,
                ..SinkConfig::new("a", tcp)
            },
            Some(
                "sink `a`: syslog-tcp targets send `syslog` records, not `cef`: set format = syslog",
            ),
        );
        check(
            SinkConfig {
                batch: 0,
                ..SinkConfig::new("a", file())
            },
            Some("sink `a`: batch size 0 is out of range: use 1 to 1000"),
        );
        check(
            SinkConfig {
                poll: Duration::ZERO,
                ..SinkConfig::new("a", file())
            },
            Some("sink `a`: the poll interval must be above zero"),
        );
        let backwards = RetryPolicy {
            first: Duration::from_secs(5),
            max: Duration::from_secs(1),
        };
        check(
            SinkConfig {
                retry: backwards,
                ..SinkConfig::new("a", file())
            },
            Some("sink `a`: the first retry delay must be above zero and at most the maximum"),
        );
    }

    fn otlp(url: &str, headers: &[(&str, &str)]) -> SinkConfig {
        let headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
            .collect();
        SinkConfig::new(
            "otlp",
            SinkTarget::OtlpHttp {
                url: url.to_owned(),
                headers,
            },
        )
    }

    #[test]
    fn otlp_targets() {
        check(otlp("http://127.0.0.1:4318/v1/logs", &[]), None);
        check(
            otlp("https://otel.example.org/v1/logs", &[("x-api-key", "k")]),
            None,
        );
        check(
            otlp("http://127.0.0.1:4318", &[]),
            Some(
                "sink `otlp`: `http://127.0.0.1:4318/` is not an OTLP/HTTP logs endpoint: give the whole URL, such as http://collector:4318/v1/logs",
            ),
        );
        check(
            otlp("ftp://h/v1/logs", &[]),
            Some(
                "sink `otlp`: `ftp://h/v1/logs` is not an OTLP/HTTP logs endpoint: give the whole URL, such as http://collector:4318/v1/logs",
            ),
        );
        check(
            otlp("http://h/v1/logs", &[("bad header", "v")]),
            Some("sink `otlp`: header `bad header` is not a valid HTTP header"),
        );
        check(
            otlp("http://h/v1/logs", &[("x-key", "line\nbreak")]),
            Some("sink `otlp`: header `x-key` is not a valid HTTP header"),
        );
        check(
            SinkConfig {
                format: Format::Ocsf,
                ..otlp("http://h/v1/logs", &[])
            },
            Some(
                "sink `otlp`: otlp-http targets send `jsonl` records, not `ocsf`: set format = jsonl",
            ),
        );
    }

    #[test]
    fn tls_server_names() {
        let tls = |server_name: &str| {
            SinkConfig::new(
                "tls",
                SinkTarget::SyslogTls {
                    addr: "127.0.0.1:6514".parse().unwrap(),
                    server_name: server_name.to_owned(),
                    ca_file: None,
                },
            )
        };
        check(tls("logs.example.org"), None);
        check(tls("127.0.0.1"), None);
        check(
            tls("not a name"),
            Some("sink `tls`: `not a name` is not a valid TLS server name"),
        );
    }

    #[test]
    fn defaults() {
        let config = SinkConfig::new("a", file());
        assert_eq!(config.batch, 500);
        assert_eq!(config.poll, Duration::from_secs(1));
        assert_eq!(config.retry.first, Duration::from_secs(1));
        assert_eq!(config.retry.max, Duration::from_secs(30));
        assert_eq!(config.format, Format::Jsonl);
        assert!(!config.encode.hostname.is_empty());
    }
}
