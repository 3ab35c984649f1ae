//! The sinks' errors: a configuration that cannot work ([`SinkConfigError`], reported before
//! a sink starts), and a delivery that did not happen ([`DeliveryError`], retried). Neither
//! ever carries an event's text: only names, addresses, status codes and I/O errors.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use covault_guard::export::{ExportError, Format};

/// A sink configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum SinkConfigError {
    #[error("sink name `{0}` is invalid: use 1 to 64 of a-z, 0-9, `_` and `-`")]
    Name(String),
    #[error(
        "two sinks are named `{0}`: give each its own name (the name keys its delivery cursor)"
    )]
    DuplicateName(String),
    #[error("sink `{name}`: batch size {batch} is out of range: use 1 to {max}", max = super::MAX_BATCH)]
    Batch { name: String, batch: u32 },
    #[error("sink `{name}`: the poll interval must be above zero")]
    Poll { name: String },
    #[error("sink `{name}`: the first retry delay must be above zero and at most the maximum")]
    Retry { name: String },
    #[error(
        "sink `{name}`: {target} targets send `{needed}` records, not `{format}`: set format = {needed}"
    )]
    Format {
        name: String,
        target: &'static str,
        format: Format,
        needed: Format,
    },
    #[error(
        "sink `{name}`: `{url}` is not an OTLP/HTTP logs endpoint: give the whole URL, such as http://collector:4318/v1/logs"
    )]
    Url { name: String, url: String },
    #[error("sink `{name}`: header `{header}` is not a valid HTTP header")]
    Header { name: String, header: String },
    #[error("sink `{name}`: `{server_name}` is not a valid TLS server name")]
    ServerName { name: String, server_name: String },
}

/// Why a batch was not delivered (it is kept and retried).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliveryError {
    #[error("cannot connect to `{addr}`: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("TLS handshake with `{addr}` failed: {source}")]
    Handshake {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("no answer from the collector within {0:?}")]
    Timeout(Duration),
    #[error("sending to the collector failed: {0}")]
    Send(#[source] io::Error),
    #[error("cannot write `{path}`: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot load the TLS trust roots: {0}")]
    Trust(String),
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("the OTLP request failed: {0}")]
    Http(#[source] reqwest::Error),
    #[error("the OTLP collector answered {0}: retrying")]
    Unavailable(u16),
    #[error("the OTLP collector refused the batch with {0}: check the sink's URL and headers")]
    Refused(u16),
    #[error(transparent)]
    Encode(#[from] ExportError),
}

impl DeliveryError {
    /// Whether retrying soon cannot help (the configuration or the data must change first).
    pub(crate) fn is_permanent(&self) -> bool {
        matches!(
            self,
            DeliveryError::Trust(_)
                | DeliveryError::Client(_)
                | DeliveryError::Refused(_)
                | DeliveryError::Encode(_)
        )
    }

    /// A stable name for the failure, for audit events.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            DeliveryError::Connect { .. } => "connect",
            DeliveryError::Handshake { .. } => "tls_handshake",
            DeliveryError::Timeout(_) => "timeout",
            DeliveryError::Send(_) => "send",
            DeliveryError::File { .. } => "file",
            DeliveryError::Trust(_) => "tls_trust",
            DeliveryError::Client(_) => "http_client",
            DeliveryError::Http(_) => "http",
            DeliveryError::Unavailable(_) => "http_unavailable",
            DeliveryError::Refused(_) => "http_refused",
            DeliveryError::Encode(_) => "encode",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configuration_and_data_problems_are_permanent() {
        assert!(DeliveryError::Refused(400).is_permanent());
        assert!(DeliveryError::Trust("x".into()).is_permanent());
        assert!(!DeliveryError::Unavailable(503).is_permanent());
        assert!(!DeliveryError::Timeout(Duration::from_secs(1)).is_permanent());
        assert!(!DeliveryError::Send(io::ErrorKind::BrokenPipe.into()).is_permanent());
    }
}
