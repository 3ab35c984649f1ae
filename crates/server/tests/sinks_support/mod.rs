//! Shared fixtures for the sink tests: a real vault on disk, audit events written through
//! it, a sink task that can be stopped, polling with a deadline, the exactly-once check, and
//! the skip rule (skip with a reason, except under `CI=true`).

pub mod otlp;
pub mod rsyslog;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use covault_guard::{
    AuditQuery, Caller, InitOptions, NewKekSource, Outcome, RequestContext, Vault, VaultLimits,
};
use covault_server::sinks::{RetryPolicy, SHUTDOWN_GRACE, SinkConfig, run_sink};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

/// How long any one condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Fixture {
    pub vault: Arc<Vault>,
    pub operator: Caller,
    pub dir: tempfile::TempDir,
}

pub async fn vault() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = Zeroizing::new(
        covault_guard::generate_key_file()
            .unwrap()
            .as_bytes()
            .to_vec(),
    );
    let init = Vault::init(InitOptions {
        data_dir: dir.path().join("data"),
        source: NewKekSource::KeyFile(key),
        admin_name: "alice".into(),
        limits: VaultLimits::default(),
    })
    .await
    .unwrap();
    Fixture {
        vault: Arc::new(init.vault),
        operator: init.operator,
        dir,
    }
}

/// Writes `n` failed authentications whose request ids are `{tag}-{i}`; returns the ids.
pub async fn failed_logins(vault: &Vault, tag: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = format!("{tag}-{i}");
        let context = RequestContext {
            request_id: Some(id.clone()),
            ..RequestContext::default()
        };
        let token = SecretString::from("not-a-token");
        assert!(vault.authenticate(&token, None, context).await.is_err());
        ids.push(id);
    }
    ids
}

/// `config` with short waits, so outages in a test last milliseconds, not seconds.
pub fn fast(mut config: SinkConfig) -> SinkConfig {
    config.poll = Duration::from_millis(20);
    config.retry = RetryPolicy {
        first: Duration::from_millis(50),
        max: Duration::from_millis(400),
    };
    config
}

/// A running sink task.
pub struct Sink {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub fn start(fixture: &Fixture, config: SinkConfig) -> Sink {
    config.validate().unwrap();
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(run_sink(
        fixture.vault.clone(),
        fixture.operator.clone(),
        config,
        shutdown,
    ));
    Sink { stop, task }
}

impl Sink {
    /// Asks the sink to stop and checks that it does, promptly.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(3), self.task)
            .await
            .expect("the sink did not stop on shutdown")
            .unwrap();
    }
}

/// Polls `check` until it gives a value; fails naming `what` after [`DEADLINE`]. For what
/// other processes (rsyslog, the OTLP receiver) write to files: there is no event to wait on.
pub async fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the audit log holds the sink's note with `outcome` (lost or back), following
/// the log from its start.
pub async fn wait_for_note(fixture: &Fixture, sink: &str, outcome: Outcome) -> Value {
    let query = AuditQuery {
        action: Some("audit.export".into()),
        outcome: Some(outcome),
        after_seq: Some(0),
        ..AuditQuery::default()
    };
    let mut follow = fixture
        .vault
        .audit_follow(&fixture.operator, query)
        .await
        .unwrap();
    let found = async {
        loop {
            let note = follow
                .next()
                .await
                .unwrap()
                .iter()
                .map(|stored| stored.event().unwrap())
                .find(|e| e.detail["sink"] == sink && e.detail.get("cursor").is_none());
            if let Some(note) = note {
                return note.detail;
            }
        }
    };
    tokio::time::timeout(DEADLINE, found)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for sink `{sink}` to note {outcome:?}"))
}

/// One audit event as a collector received it: its seq and its JSON line.
#[derive(Clone, Debug)]
pub struct Received {
    pub seq: u64,
    pub line: Value,
}

impl Received {
    pub fn request_id(&self) -> Option<&str> {
        self.line["request_id"].as_str()
    }
}

/// Whether every id in `ids` was received.
pub fn has_all(received: &[Received], ids: &[String]) -> bool {
    ids.iter()
        .all(|id| received.iter().any(|r| r.request_id() == Some(id.as_str())))
}

/// Every seq from 1 to the highest received arrived, each exactly once.
pub fn assert_exactly_once(received: &[Received]) {
    let mut counts = BTreeMap::<u64, usize>::new();
    for r in received {
        *counts.entry(r.seq).or_default() += 1;
        assert_eq!(r.line["seq"].as_u64(), Some(r.seq), "{r:?}");
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "seqs received more than once: {repeated:?}"
    );
    let max = counts.keys().next_back().copied().unwrap_or(0);
    let missing: Vec<u64> = (1..=max).filter(|s| !counts.contains_key(s)).collect();
    assert!(missing.is_empty(), "seqs never received: {missing:?}");
}

/// Prints why a test is skipped and returns; under `CI=true` a skip is a failure instead.
pub fn skip(reason: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("not skipped under CI=true: {reason}");
    }
    eprintln!("skipped: {reason}");
}

/// A loopback port that was free a moment ago (for a collector started by the test).
pub fn free_port() -> u16 {
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    // also free for UDP, so one port number serves both
    let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
    drop(tcp);
    match udp {
        Ok(_) => port,
        Err(_) => free_port(),
    }
}
