//! One sink's transport: turns a prepared batch into bytes on the wire (or on disk) and says
//! whether the whole batch got there. Each transport keeps its own connection and drops it
//! on any failure, so the next attempt starts from a fresh one.

use covault_guard::StoredEvent;
use covault_guard::export::{self, EncodeOptions, Format};

use super::file::FileSink;
use super::otlp::OtlpSink;
use super::syslog::{StreamSink, UdpSink};
use super::{DeliveryError, SinkConfigError, SinkTarget};

/// Events and their encoded records: the longest prefix of a batch that encodes.
pub(crate) struct Prepared<'a> {
    // INVARIANT: `records[i]` is `events[i]` encoded; both have the same length.
    events: &'a [StoredEvent],
    records: Vec<String>,
}

impl<'a> Prepared<'a> {
    /// Encodes `events` in order and stops at the first that does not encode: the events
    /// before it are still delivered, and the sink stops in front of it. An error only when
    /// the first event does not encode.
    pub(crate) fn encode(
        events: &'a [StoredEvent],
        format: Format,
        options: &EncodeOptions,
    ) -> Result<Self, DeliveryError> {
        let mut records = Vec::with_capacity(events.len());
        for event in events {
            match export::encode(format, event, options) {
                Ok(record) => records.push(record),
                Err(e) if records.is_empty() => return Err(e.into()),
                Err(e) => {
                    tracing::error!(seq = event.seq, error = %e, "audit event does not encode; delivering the events before it");
                    break;
                }
            }
        }
        Ok(Self {
            events: &events[..records.len()],
            records,
        })
    }

    pub(crate) fn events(&self) -> &[StoredEvent] {
        self.events
    }

    pub(crate) fn records(&self) -> &[String] {
        &self.records
    }

    /// The seq of the last event in the batch (what a successful delivery commits).
    pub(crate) fn last_seq(&self) -> u64 {
        self.events.last().map_or(0, |e| e.seq)
    }
}

/// A sink's transport.
pub(crate) enum Transport {
    File(FileSink),
    Udp(UdpSink),
    Stream(StreamSink),
    Otlp(OtlpSink),
}

impl Transport {
    /// The transport for `target`, its settings parsed; nothing is opened yet.
    pub(crate) fn new(sink: &str, target: &SinkTarget) -> Result<Self, SinkConfigError> {
        Ok(match target {
            SinkTarget::File { path } => Transport::File(FileSink::new(path.clone())),
            SinkTarget::SyslogUdp { addr } => Transport::Udp(UdpSink::new(*addr)),
            SinkTarget::SyslogTcp { addr } => Transport::Stream(StreamSink::tcp(*addr)),
            SinkTarget::SyslogTls {
                addr,
                server_name,
                ca_file,
            } => Transport::Stream(StreamSink::tls(sink, *addr, server_name, ca_file.clone())?),
            SinkTarget::OtlpHttp { url, headers } => {
                Transport::Otlp(OtlpSink::new(sink, url, headers)?)
            }
        })
    }

    /// Delivers the whole batch, or fails (and then no part of it counts as delivered).
    pub(crate) async fn deliver(
        &mut self,
        batch: &Prepared<'_>,
        options: &EncodeOptions,
    ) -> Result<(), DeliveryError> {
        match self {
            Transport::File(sink) => sink.deliver(batch.records()).await,
            Transport::Udp(sink) => sink.deliver(batch).await,
            Transport::Stream(sink) => sink.deliver(batch.records()).await,
            Transport::Otlp(sink) => sink.deliver(batch.events(), options).await,
        }
    }
}
