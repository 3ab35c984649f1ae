//! Audit log benchmark (issue 5): durable appends per second with concurrent writers through
//! the group committer, against the naive design (one fsynced transaction per event) in the
//! same run; then verification of a log of a million events against a bare read of the same
//! rows, and the first checkpoint's signing over all of them.
//!
//! `cargo bench -p covault-store --bench audit` (env: BENCH_AUDIT_EVENTS, default 1000000;
//! BENCH_AUDIT_APPENDS, default 200000). Prints figures and ratios; `bench/RESULTS.md`
//! keeps them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use covault_audit::{AuditEvent, Outcome};
use covault_crypto::generate_key_file;
use covault_policy::{IssuedToken, Principal, PrincipalKind};
use covault_store::{
    DataDir, LockMode, NewKekSource, SqliteMetadata, TokenRecord, Workspace, WorkspaceOptions,
};
use zeroize::Zeroizing;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A realistic event: ids, a path, a request id, an address, a small detail object.
fn event(i: usize) -> AuditEvent {
    let mut e = AuditEvent::new(if i.is_multiple_of(4) {
        "file.write"
    } else {
        "file.read"
    });
    e.principal = Some(format!("usr_{:016x}", i % 97));
    e.token_id = Some(format!("{:016x}", i % 31));
    e.path = Some(format!("/finance/2026/invoice-{i:07}.pdf"));
    e.version = Some((i % 9) as i64 + 1);
    e.outcome = if i.is_multiple_of(50) {
        Outcome::Denied
    } else {
        Outcome::Success
    };
    e.reason = "foundation policy: enabled, authenticated principal".into();
    e.request_id = Some(format!("5f3a9c1-{i}"));
    e.remote_addr = Some("10.1.2.3".into());
    e.user_agent = Some("covault-cli/0.1.0".into());
    e.detail =
        serde_json::json!({ "size": i * 13, "tier": "internal", "scan": { "complete": true } });
    e
}

fn principal(id: &str, kind: PrincipalKind) -> Principal {
    Principal {
        id: id.into(),
        name: id.into(),
        kind,
        role: "admin".into(),
        enabled: true,
        groups: Vec::new(),
        group_roles: Vec::new(),
        mfa_enrolled: false,
    }
}

async fn workspace(root: &std::path::Path) -> (DataDir, Workspace) {
    let dir = DataDir::open(root, true, LockMode::Exclusive).unwrap();
    let meta = Arc::new(
        SqliteMetadata::open(&dir.database_path(), true)
            .await
            .unwrap(),
    );
    let blobs = Arc::new(dir.blob_store().unwrap());
    let key = Zeroizing::new(generate_key_file().unwrap().as_bytes().to_vec());
    let issued = IssuedToken::generate().unwrap();
    let token = TokenRecord {
        id: issued.id.clone(),
        principal_id: "admin".into(),
        hash: issued.hash.clone(),
        description: "bench".into(),
        created_at_ms: 0,
        expires_at_ms: None,
        revoked_at_ms: None,
        last_used_at_ms: None,
        last_used_addr: None,
        scope: Default::default(),
        rotated_from: None,
        rotated_at_ms: None,
    };
    let ws = Workspace::initialize(
        meta,
        blobs,
        WorkspaceOptions::default(),
        NewKekSource::KeyFile(key),
        (
            &principal("operator", PrincipalKind::Operator),
            &principal("admin", PrincipalKind::User),
            &token,
        ),
        &event(0),
    )
    .await
    .unwrap();
    (dir, ws)
}

/// `writers` tasks appending `total` events between them; events per second.
async fn appends(ws: &Arc<Workspace>, total: usize, writers: usize) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let ws = Arc::clone(ws);
        tasks.push(tokio::spawn(async move {
            for i in (w..total).step_by(writers) {
                ws.append_audit(&event(i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// The naive design: one `synchronous = FULL` transaction per event, same content as JSON.
fn naive_appends(path: &std::path::Path, total: usize) -> f64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .unwrap();
    let start = Instant::now();
    for i in 0..total {
        let body = serde_json::to_string(&event(i)).unwrap();
        conn.execute("INSERT INTO events (body) VALUES (?1)", [body])
            .unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// Reads every row of the audit table on one thread, touching each column: the cost of just
/// reading what verification must read.
fn bare_scan(path: &std::path::Path) -> (usize, f64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    if let Ok(mmap) = std::env::var("BENCH_MMAP") {
        conn.pragma_update(None, "mmap_size", mmap.parse::<i64>().unwrap())
            .unwrap();
    }
    let start = Instant::now();
    let mut stmt = conn
        .prepare("SELECT * FROM audit_events ORDER BY seq")
        .unwrap();
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    let (mut n, mut bytes) = (0usize, 0usize);
    while let Some(row) = rows.next().unwrap() {
        for i in 0..columns {
            if let Ok(r) = row.get_ref(i) {
                bytes += r.as_bytes().map_or(8, <[u8]>::len);
            }
        }
        n += 1;
    }
    std::hint::black_box(bytes);
    (n, start.elapsed().as_secs_f64())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let verify_events = env_or("BENCH_AUDIT_EVENTS", 1_000_000);
    let append_events = env_or("BENCH_AUDIT_APPENDS", 200_000);
    let root = tempfile::tempdir().unwrap();

    println!("## durable appends (group commit, synchronous = FULL)");
    let naive_n = 2_000;
    let naive = naive_appends(&root.path().join("naive.db"), naive_n);
    println!("naive: one fsynced transaction per event ({naive_n} events): {naive:>10.0} events/s");
    for writers in [1usize, 16, 64, 256] {
        let sub = root.path().join(format!("w{writers}"));
        let (_dir, ws) = workspace(&sub).await;
        if let Ok(sql) = std::env::var("BENCH_AUDIT_SQL") {
            rusqlite::Connection::open(sub.join("meta.db"))
                .unwrap()
                .execute_batch(&sql)
                .unwrap();
        }
        let ws = Arc::new(ws);
        let n = if writers == 1 {
            append_events / 20
        } else {
            append_events
        };
        let rate = appends(&ws, n, writers).await;
        let ok = ws.audit_verify(Vec::new()).await.unwrap().is_ok();
        println!(
            "covault, {writers:>3} writers ({n} events): {rate:>10.0} events/s = {:>6.1}x naive (chain verifies: {ok})",
            rate / naive
        );
    }

    println!("\n## verification of {verify_events} events");
    let sub = root.path().join("verify");
    let (_dir, ws) = workspace(&sub).await;
    let ws = Arc::new(ws);
    let fill = appends(&ws, verify_events - 1, 256).await;
    println!("filled at {fill:.0} events/s");
    let (rows, scan) = bare_scan(&sub.join("meta.db"));
    let start = Instant::now();
    let cp = ws.audit_checkpoint(1).await.unwrap().unwrap();
    let sign = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let report = ws.audit_verify(Vec::new()).await.unwrap();
    let verify = start.elapsed().as_secs_f64();
    assert!(report.is_ok() && report.events as usize == rows && cp.tree_size as usize == rows);
    println!("bare read of {rows} rows:        {scan:>6.2} s");
    println!(
        "covault audit verify:          {verify:>6.2} s = {:.2}x the bare read ({:.0} events/s; hashes, links, Merkle root, 1 checkpoint)",
        verify / scan,
        rows as f64 / verify
    );
    println!(
        "first checkpoint over all:     {sign:>6.2} s (re-checks every link, builds the tree, signs)"
    );
}
