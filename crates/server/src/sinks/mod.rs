//! Audit export sinks: background tasks that ship the audit log to collectors — a local
//! file, syslog over UDP, TCP or TLS, and OTLP/HTTP — each from its own durable cursor, so a
//! collector that was down receives everything after it returns.
//!
//! Each sink reads through [`covault_guard::Vault::audit_export`] (operator only, audited
//! once at start), encodes with the pure encoders in `covault_guard::export`, and commits its
//! cursor only after a batch was delivered. What "delivered" can mean depends on the target:
//!
//! | target | delivered when | guarantee |
//! | --- | --- | --- |
//! | file | appended and fsynced | at least once: exactly once unless the process dies between the fsync and the cursor commit (that batch is written again) |
//! | OTLP/HTTP | the collector answered 2xx | at least once: a 2xx lost on the way back (timeout) repeats the batch |
//! | syslog TCP / TLS | written and flushed to the kernel | at least once for every failure the sender can see (a failed write repeats the whole batch); a collector that dies with a batch unread in its socket loses it, since syslog has no acknowledgement |
//! | syslog UDP | sent | best effort: a datagram can be dropped without notice |
//!
//! Every record carries its seq (and chain hash), so a consumer removes repeats by seq. At a
//! graceful stop an idle sink makes one last delivery of whatever is new (within
//! [`SHUTDOWN_GRACE`], no retries), so a reachable collector is left current.
//!
//! Formats: syslog targets send RFC 5424 ([`Format::Syslog`], MSG = the JSON line); OTLP
//! sends its own request body, whose log records carry the JSON line ([`Format::Jsonl`]);
//! a file takes any format, one record per line.
//!
//! Sinks log ids, seqs and counts, never an event's text. They do not verify the log's hash
//! chain (that is `audit verify`), and they do not prune it.

mod config;
mod error;
mod file;
mod otlp;
mod runner;
mod syslog;
mod tls;
mod transport;

use std::collections::HashSet;
use std::sync::Arc;

use covault_guard::{Caller, Vault};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

pub use config::{
    DEFAULT_BATCH, DEFAULT_POLL, MAX_BATCH, RetryPolicy, SinkConfig, SinkTarget, local_hostname,
};
pub use covault_guard::export::{EncodeOptions, Facility, Format};
pub(crate) use error::DeliveryError;
pub use error::SinkConfigError;
pub use runner::SHUTDOWN_GRACE;

/// Runs one sink until `shutdown` turns `true` (or its sender is dropped). An invalid
/// configuration is logged and the sink does not start: validate it with
/// [`SinkConfig::validate`] (or [`validate_sinks`]) when loading the configuration.
pub async fn run_sink(
    vault: Arc<Vault>,
    operator: Caller,
    config: SinkConfig,
    shutdown: watch::Receiver<bool>,
) {
    let transport = config
        .validate()
        .and_then(|()| transport::Transport::new(&config.name, &config.target));
    let transport = match transport {
        Ok(transport) => transport,
        Err(e) => {
            tracing::error!(error = %e, "audit sink not started");
            return;
        }
    };
    let span =
        tracing::info_span!("audit_sink", sink = %config.name, target = config.target.kind());
    runner::run(vault, operator, config, transport, shutdown)
        .instrument(span)
        .await;
}

/// Checks every sink and that no two share a name (they would share a cursor).
pub fn validate_sinks(configs: &[SinkConfig]) -> Result<(), SinkConfigError> {
    let mut names = HashSet::new();
    for config in configs {
        config.validate()?;
        if !names.insert(config.name.as_str()) {
            return Err(SinkConfigError::DuplicateName(config.name.clone()));
        }
    }
    Ok(())
}

/// Validates `configs` ([`validate_sinks`]) and starts a task per sink on the current Tokio
/// runtime. Each task ends after `shutdown` turns `true`; await the handles to know when.
pub fn spawn_sinks(
    vault: Arc<Vault>,
    operator: Caller,
    configs: Vec<SinkConfig>,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, SinkConfigError> {
    validate_sinks(&configs)?;
    Ok(configs
        .into_iter()
        .map(|config| {
            let task = run_sink(
                Arc::clone(&vault),
                operator.clone(),
                config,
                shutdown.clone(),
            );
            tokio::spawn(task)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sinks_cannot_share_a_name() {
        let file =
            |name: &str, path: &str| SinkConfig::new(name, SinkTarget::File { path: path.into() });
        validate_sinks(&[file("a", "/tmp/a"), file("b", "/tmp/b")]).unwrap();
        let err = validate_sinks(&[file("a", "/tmp/a"), file("a", "/tmp/b")]).unwrap_err();
        assert!(matches!(err, SinkConfigError::DuplicateName(name) if name == "a"));
    }
}
