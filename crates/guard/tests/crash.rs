//! Crash safety: a child process writing through the vault in a loop is killed with SIGKILL at
//! random moments, many times. Afterwards the workspace opens, `verify` passes, no orphan is
//! left, and every version the child saw acknowledged reads back byte for byte. The audit
//! chain — appended by the group committer (writes) and by administrative transactions
//! (labels) in between, with checkpoints signed as it goes — verifies from genesis, and every
//! acknowledged write has its event (issue 5).
//!
//! The child is this test binary run again with `COVAULT_CRASH_CHILD_DIR` set, executing
//! [`crash_writer_child`]; without that variable that entry point does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bytes::Bytes;
use covault_guard::{
    AuditQuery, InitOptions, KekSource, LockMode, NewKekSource, OpenOptions, Tier, Vault,
    VaultLimits,
};
use futures_util::StreamExt;
use zeroize::Zeroizing;

const CHILD_ENV: &str = "COVAULT_CRASH_CHILD_DIR";
const KEY_ENV: &str = "COVAULT_CRASH_CHILD_KEY";
const RUN_ENV: &str = "COVAULT_CRASH_CHILD_RUN";
/// Kill cycles; at least 200 (the bar). `COVAULT_CRASH_ITERATIONS` raises it.
fn iterations() -> u64 {
    std::env::var("COVAULT_CRASH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
        .max(200)
}

/// splitmix64: a tiny deterministic generator, so the parent can regenerate any content.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut state = seed;
    while out.len() < len {
        state = mix(state);
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn open(dir: &Path, key: &[u8]) -> covault_guard::Opened {
    Vault::open(OpenOptions {
        data_dir: dir.to_path_buf(),
        source: KekSource::KeyFile(Zeroizing::new(key.to_vec())),
        lock: LockMode::Exclusive,
        limits: VaultLimits::default(),
    })
    .await
    .expect("the workspace must open after a crash")
}

/// The child: writes versions forever, printing `ACK path version seed len` after each.
#[tokio::test]
async fn crash_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let key = std::env::var(KEY_ENV).unwrap();
    let run: u64 = std::env::var(RUN_ENV).unwrap().parse().unwrap();
    let opened = open(Path::new(&dir), key.as_bytes()).await;
    let mut stdout = std::io::stdout();
    for i in 0u64.. {
        let seed = mix(run << 20 | i);
        let len = match seed % 4 {
            0 => (seed >> 8) as usize % 16,
            1 => 65_536 + (seed >> 8) as usize % 3 - 1,
            _ => (seed >> 8) as usize % 200_000,
        };
        let path = format!("/crash/f{}", seed % 5);
        let body = Box::pin(futures_util::stream::iter(
            content(seed, len)
                .chunks(30_000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        ));
        let info = opened
            .vault
            .put(&opened.operator, &path, None, body)
            .await
            .unwrap();
        writeln!(stdout, "ACK {path} {} {seed} {len}", info.version).unwrap();
        stdout.flush().unwrap();
        if i % 3 == 2 {
            // An administrative transaction (not the group committer) appends to the chain.
            opened
                .vault
                .set_tier(&opened.operator, &path, Tier::Confidential)
                .await
                .unwrap();
        }
        if i % 4 == 3 {
            opened
                .vault
                .audit_checkpoint(&opened.operator)
                .await
                .unwrap();
        }
    }
}

struct Ack {
    path: String,
    version: i64,
    seed: u64,
    len: usize,
}

fn run_child(exe: &Path, dir: &Path, key: &str, run: u64, kill_after: usize) -> Vec<Ack> {
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env(KEY_ENV, key)
        .env(RUN_ENV, run.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acks = Vec::new();
    if kill_after > 0 {
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(ack) = parse_ack(&line) {
                acks.push(ack);
                if acks.len() >= kill_after {
                    break;
                }
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    // acknowledgements already printed before the kill still count
    acks.extend(lines.map_while(Result::ok).filter_map(|l| parse_ack(&l)));
    child.wait().unwrap();
    acks
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ACK ")?.split(' ');
    Some(Ack {
        path: parts.next()?.to_owned(),
        version: parts.next()?.parse().ok()?,
        seed: parts.next()?.parse().ok()?,
        len: parts.next()?.parse().ok()?,
    })
}

async fn read(vault: &Vault, caller: &covault_guard::Caller, path: &str, version: i64) -> Vec<u8> {
    let mut download = vault.get(caller, path, Some(version)).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = download.body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_writers_leave_a_store_that_opens_and_verifies() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let dir: PathBuf = root.path().join("data");
    let key = covault_guard::generate_key_file()
        .unwrap()
        .trim()
        .to_owned();
    let init = Vault::init(InitOptions {
        data_dir: dir.clone(),
        source: NewKekSource::KeyFile(Zeroizing::new(key.as_bytes().to_vec())),
        admin_name: "admin".into(),
        limits: VaultLimits::default(),
    })
    .await
    .unwrap();
    drop(init);

    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<Ack> = Vec::new();
    let total = iterations();
    for run in 0..total {
        let kill_after = (mix(run ^ 0xC0FFEE) % 6) as usize;
        let exe = exe.clone();
        let (d, k) = (dir.clone(), key.clone());
        let acks = tokio::task::spawn_blocking(move || run_child(&exe, &d, &k, run, kill_after))
            .await
            .unwrap();
        acked.extend(acks);
        if run % 25 == 24 {
            let opened = open(&dir, key.as_bytes()).await;
            let report = opened.vault.verify(&opened.operator).await.unwrap();
            assert!(report.is_ok(), "after kill {run}: {:?}", report.problems);
            assert_eq!(
                report.orphan_blobs, 0,
                "orphans survived the reopen cleanup"
            );
            let audit = opened
                .vault
                .audit_verify(&opened.operator, Vec::new())
                .await
                .unwrap();
            assert!(
                audit.is_ok(),
                "audit after kill {run}: {:?}",
                audit.problems
            );
        }
    }
    assert!(
        acked.len() as u64 >= total,
        "the child acknowledged too few writes ({})",
        acked.len()
    );

    let opened = open(&dir, key.as_bytes()).await;
    let report = opened.vault.verify(&opened.operator).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.orphan_blobs, 0);
    let audit = opened
        .vault
        .audit_verify(&opened.operator, Vec::new())
        .await
        .unwrap();
    assert!(audit.is_ok(), "{:?}", audit.problems);
    assert!(audit.checkpoints_checked > 0);
    let mut written = std::collections::HashSet::new();
    let mut after = None;
    loop {
        let query = AuditQuery {
            action: Some("file.write".into()),
            after_seq: after,
            limit: Some(1000),
            ..Default::default()
        };
        let page = opened
            .vault
            .audit_search(&opened.operator, &query)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for e in &page {
            let e = e.event().unwrap();
            written.insert((e.path.unwrap(), e.version.unwrap()));
        }
    }
    for ack in &acked {
        assert!(
            written.contains(&(ack.path.clone(), ack.version)),
            "{} version {} was acknowledged without its audit event",
            ack.path,
            ack.version
        );
        let data = read(&opened.vault, &opened.operator, &ack.path, ack.version).await;
        assert!(
            data == content(ack.seed, ack.len),
            "{} version {} differs",
            ack.path,
            ack.version
        );
    }
}
