//! The audit export sinks against real consumers on loopback: Debian's rsyslogd (TCP, UDP,
//! and TLS through its GnuTLS driver), an OTLP/HTTP receiver that decodes with the official
//! OpenTelemetry protobuf bindings, and a plain file. Collectors are killed and restarted
//! under the sink; every event must still arrive, each exactly once (counted by seq).
//!
//! Without rsyslogd, or without `COVAULT_TEST_PYTHON` (a python with `opentelemetry-proto`),
//! a test prints why it is skipped and passes — except under `CI=true`, where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod sinks_support;

use std::path::Path;
use std::time::Duration;

use covault_guard::{AuditQuery, Outcome};
use covault_server::sinks::{SinkConfig, SinkConfigError, SinkTarget, spawn_sinks};
use serde_json::Value;
use sinks_support::otlp::{API_KEY, Receiver};
use sinks_support::rsyslog::{self, Rsyslog, TlsFiles};
use sinks_support::{
    Received, assert_exactly_once, failed_logins, fast, has_all, start, vault, wait_for_note,
    wait_until,
};

fn file_lines(path: &Path) -> Vec<Received> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            Received {
                seq: line["seq"].as_u64().unwrap(),
                line,
            }
        })
        .collect()
}

#[tokio::test]
async fn a_file_sink_writes_every_event_once_and_resumes_from_its_cursor() {
    let fx = vault().await;
    let path = fx.dir.path().join("audit.jsonl");
    let mut config = fast(SinkConfig::new(
        "file",
        SinkTarget::File { path: path.clone() },
    ));
    config.batch = 7;

    let sink = start(&fx, config.clone());
    let first = failed_logins(&fx.vault, "file-a", 30).await;
    wait_until("the first events are in the file", || {
        has_all(&file_lines(&path), &first).then_some(())
    })
    .await;
    sink.stop().await;
    let lines = file_lines(&path);
    assert_exactly_once(&lines);
    for line in &lines {
        assert_eq!(line.line["hash"].as_str().unwrap().len(), 64);
    }

    // a new run of the same sink starts after what was delivered: nothing twice
    let second = failed_logins(&fx.vault, "file-b", 10).await;
    let sink = start(&fx, config);
    wait_until("the later events are in the file", || {
        has_all(&file_lines(&path), &second).then_some(())
    })
    .await;
    sink.stop().await;
    let lines = file_lines(&path);
    assert_exactly_once(&lines);
    assert!(has_all(&lines, &first));

    // each start was audited once, with the cursor it started from
    let query = AuditQuery {
        action: Some("audit.export".into()),
        ..AuditQuery::default()
    };
    let starts: Vec<Value> = fx
        .vault
        .audit_search(&fx.operator, &query)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event().unwrap().detail)
        .filter(|d| d.get("cursor").is_some())
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[0]["cursor"], 0);
    assert!(starts[1]["cursor"].as_u64().unwrap() >= 30);
}

#[tokio::test]
async fn rsyslog_over_tcp_gets_every_event_once_across_a_collector_restart() {
    let Some(binary) = rsyslog::binary() else {
        return;
    };
    let fx = vault().await;
    let mut collector = Rsyslog::start(&binary, fx.dir.path().join("rsyslog"), None).await;
    let target = SinkTarget::SyslogTcp {
        addr: collector.tcp_addr(),
    };
    let sink = start(&fx, fast(SinkConfig::new("rsyslog-tcp", target)));
    survives_a_restart(&fx, &mut collector, "rsyslog-tcp").await;
    sink.stop().await;
    assert_exactly_once(&collector.received());
}

/// Delivers a first set of events; kills the collector and writes more; restarts it and
/// writes more again: all arrive, each once, and the sink audited losing and regaining it.
async fn survives_a_restart(fx: &sinks_support::Fixture, collector: &mut Rsyslog, sink: &str) {
    let first = failed_logins(&fx.vault, "a", 40).await;
    wait_until("the first events reach rsyslog", || {
        has_all(&collector.received(), &first).then_some(())
    })
    .await;
    assert_exactly_once(&collector.received());

    collector.kill();
    let second = failed_logins(&fx.vault, "b", 40).await;
    let lost = wait_for_note(fx, sink, Outcome::Failed).await;
    assert_eq!(lost["error"], "connect", "{lost}");
    collector.restart().await;
    let third = failed_logins(&fx.vault, "c", 20).await;

    let all: Vec<String> = [first, second, third].concat();
    wait_until("every event reaches the restarted rsyslog", || {
        has_all(&collector.received(), &all).then_some(())
    })
    .await;
    let back = wait_for_note(fx, sink, Outcome::Success).await;
    assert!(back["failed_attempts"].as_u64().unwrap() >= 1, "{back}");
    // the notes themselves are exported too (they hold no event text)
    wait_until("the sink's own notes reach rsyslog", || {
        let received = collector.received();
        received
            .iter()
            .any(|r| r.line["reason"] == "audit export sink delivering again")
            .then_some(())
    })
    .await;
    assert_exactly_once(&collector.received());
}

#[tokio::test]
async fn rsyslog_over_udp_gets_the_events() {
    let Some(binary) = rsyslog::binary() else {
        return;
    };
    let fx = vault().await;
    let collector = Rsyslog::start(&binary, fx.dir.path().join("rsyslog"), None).await;
    // imudp starts beside imtcp: wait until a probe datagram shows up
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    wait_until("rsyslog reads UDP", || {
        probe
            .send_to(b"<13>1 - - probe - - - ready", collector.udp_addr())
            .unwrap();
        collector
            .messages()
            .iter()
            .any(|m| m["app"] == "probe")
            .then_some(())
    })
    .await;

    let target = SinkTarget::SyslogUdp {
        addr: collector.udp_addr(),
    };
    let sink = start(&fx, fast(SinkConfig::new("rsyslog-udp", target)));
    let ids = failed_logins(&fx.vault, "udp", 25).await;
    wait_until("the events reach rsyslog over UDP", || {
        has_all(&collector.received(), &ids).then_some(())
    })
    .await;
    sink.stop().await;
    // best effort in general; on loopback, with nothing lost, each exactly once
    assert_exactly_once(&collector.received());
}

fn tls_files(dir: &Path) -> TlsFiles {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    std::fs::create_dir_all(dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "covault test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.ca, ca_cert.pem()).unwrap();
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    files
}

#[tokio::test]
async fn rsyslog_over_tls_gets_every_event_once_across_a_collector_restart() {
    let Some(binary) = rsyslog::binary() else {
        return;
    };
    if !rsyslog::has_gnutls() {
        return;
    }
    let fx = vault().await;
    let tls = tls_files(&fx.dir.path().join("pki"));
    let ca = tls.ca.clone();
    let mut collector = Rsyslog::start(&binary, fx.dir.path().join("rsyslog"), Some(tls)).await;
    let target = SinkTarget::SyslogTls {
        addr: collector.tcp_addr(),
        server_name: "localhost".into(),
        ca_file: Some(ca),
    };
    let sink = start(&fx, fast(SinkConfig::new("rsyslog-tls", target)));
    survives_a_restart(&fx, &mut collector, "rsyslog-tls").await;
    sink.stop().await;
    assert_exactly_once(&collector.received());
}

#[tokio::test]
async fn a_tls_sink_refuses_a_collector_it_does_not_trust() {
    let Some(binary) = rsyslog::binary() else {
        return;
    };
    if !rsyslog::has_gnutls() {
        return;
    }
    let fx = vault().await;
    let tls = tls_files(&fx.dir.path().join("pki"));
    let other_ca = tls_files(&fx.dir.path().join("other")).ca;
    let collector = Rsyslog::start(&binary, fx.dir.path().join("rsyslog"), Some(tls)).await;
    let target = SinkTarget::SyslogTls {
        addr: collector.tcp_addr(),
        server_name: "localhost".into(),
        ca_file: Some(other_ca),
    };
    let sink = start(&fx, fast(SinkConfig::new("untrusted", target)));
    failed_logins(&fx.vault, "x", 3).await;
    let lost = wait_for_note(&fx, "untrusted", Outcome::Failed).await;
    assert_eq!(lost["error"], "tls_handshake", "{lost}");
    sink.stop().await;
    assert!(collector.received().is_empty());
}

#[tokio::test]
async fn an_otlp_receiver_gets_every_event_once_across_503s_and_a_restart() {
    let Some(python) = sinks_support::otlp::python() else {
        return;
    };
    let fx = vault().await;
    let mut receiver = Receiver::start(&python, fx.dir.path().join("otlp")).await;
    let target = SinkTarget::OtlpHttp {
        url: receiver.url(),
        headers: vec![("x-api-key".into(), API_KEY.to_owned().into())],
    };
    let mut config = fast(SinkConfig::new("otlp", target));
    config.batch = 16;
    let sink = start(&fx, config);

    let first = failed_logins(&fx.vault, "a", 40).await;
    wait_until("the first events reach the receiver", || {
        has_all(&receiver.received(), &first).then_some(())
    })
    .await;
    assert_exactly_once(&receiver.received());

    // the receiver is gone: connection refused
    receiver.kill();
    let second = failed_logins(&fx.vault, "b", 20).await;
    let lost = wait_for_note(&fx, "otlp", Outcome::Failed).await;
    assert_eq!(lost["error"], "http", "{lost}");

    // back, but answering 503 for a while
    receiver.set_down(true);
    receiver.restart().await;
    let third = failed_logins(&fx.vault, "c", 20).await;
    wait_until("the sink retries against 503", || {
        (receiver.refused() >= 2).then_some(())
    })
    .await;
    assert!(!has_all(&receiver.received(), &second));
    receiver.set_down(false);

    let all: Vec<String> = [first, second, third].concat();
    wait_until("every event reaches the receiver", || {
        has_all(&receiver.received(), &all).then_some(())
    })
    .await;
    let back = wait_for_note(&fx, "otlp", Outcome::Success).await;
    assert!(back["failed_attempts"].as_u64().unwrap() >= 3, "{back}");
    sink.stop().await;
    assert_exactly_once(&receiver.received());
}

#[tokio::test]
async fn a_sink_stops_promptly_while_its_collector_is_down() {
    let fx = vault().await;
    // a port nobody listens on; the default backoff (1 s → 30 s)
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sink = start(&fx, SinkConfig::new("down", SinkTarget::SyslogTcp { addr }));
    wait_for_note(&fx, "down", Outcome::Failed).await;
    let stopping = tokio::time::Instant::now();
    sink.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn spawn_sinks_refuses_two_sinks_with_one_name() {
    let fx = vault().await;
    let file = |path: &str| {
        SinkConfig::new(
            "same",
            SinkTarget::File {
                path: fx.dir.path().join(path),
            },
        )
    };
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let err = spawn_sinks(
        fx.vault.clone(),
        fx.operator.clone(),
        vec![file("a"), file("b")],
        shutdown,
    )
    .unwrap_err();
    assert!(matches!(err, SinkConfigError::DuplicateName(_)), "{err}");
}
