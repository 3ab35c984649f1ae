//! Backups end to end through the Vault, against real repositories on disk (and an
//! S3-compatible server, moto, on loopback): round trip and incremental reuse, restore of a
//! whole workspace and of one path, drills (passing and failing), retention and prune under
//! the lock, append-only repositories, erasure reaching every backup, and crash safety under
//! SIGKILL during backups and prunes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use covault_guard::backups::{
    self, BackupError, InitOptions, KeepPolicy, PruneOptions, RepoSecret, Repository, Subset,
    VerifyOptions,
};
use covault_guard::{
    AuditQuery, Caller, GuardError, InitOptions as VaultInit, KekSource, LockMode, NewKekSource,
    OpenOptions, Opened, Outcome, Vault, VaultLimits,
};
use futures_util::StreamExt;
use zeroize::Zeroizing;

const KEY: &str = "6b6579206f66207468652074657374207761726b73706163652c206f6e6c7921";

fn key() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(KEY.as_bytes().to_vec())
}

fn secret() -> RepoSecret {
    RepoSecret::KeyFile(key())
}

async fn new_vault(dir: &Path) -> (Vault, Caller) {
    let init = Vault::init(VaultInit {
        data_dir: dir.to_path_buf(),
        source: NewKekSource::KeyFile(key()),
        admin_name: "admin".into(),
        limits: VaultLimits::default(),
    })
    .await
    .unwrap();
    (init.vault, init.operator)
}

async fn open_vault(dir: &Path, lock: LockMode) -> (Vault, Caller) {
    let opened = Vault::open(OpenOptions {
        data_dir: dir.to_path_buf(),
        source: KekSource::KeyFile(key()),
        lock,
        limits: VaultLimits::default(),
    })
    .await
    .unwrap();
    (opened.vault, opened.operator)
}

async fn local_repo(dir: &Path, options: InitOptions) -> (Arc<Repository>, Option<String>) {
    let backend = backups::open_location(dir.to_str().unwrap()).unwrap();
    let (repo, prune) = Repository::init(backend, &secret(), options).await.unwrap();
    (Arc::new(repo), prune.map(|k| k.to_string()))
}

async fn reopen(dir: &Path) -> Arc<Repository> {
    let backend = backups::open_location(dir.to_str().unwrap()).unwrap();
    Arc::new(Repository::open(backend, &secret()).await.unwrap())
}

/// Restores `snap` into `target` with the test key and default limits.
async fn restore(
    repo: &Arc<Repository>,
    snap: &backups::Snapshot,
    target: &Path,
    dry_run: bool,
) -> Result<(covault_guard::RestoreReport, Option<Opened>), GuardError> {
    covault_guard::restore_workspace(
        repo,
        snap,
        target,
        KekSource::KeyFile(key()),
        VaultLimits::default(),
        None,
        dry_run,
    )
    .await
}

async fn put(vault: &Vault, caller: &Caller, path: &str, data: &[u8]) -> i64 {
    let body = Box::pin(futures_util::stream::iter(
        data.chunks(100_000)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    ));
    vault.put(caller, path, None, body).await.unwrap().version
}

async fn get(vault: &Vault, caller: &Caller, path: &str, version: Option<i64>) -> Vec<u8> {
    let mut download = vault.get(caller, path, version).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = download.body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

/// Deterministic pseudo-random bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn prose(len: usize) -> Vec<u8> {
    let words = [
        "quarterly",
        "report",
        "the",
        "budget",
        "was",
        "approved",
        "by",
        "finance",
    ];
    let mut out = Vec::new();
    let mut i = 0usize;
    while out.len() < len {
        out.extend_from_slice(words[i * 7 % words.len()].as_bytes());
        out.push(if i % 13 == 12 { b'\n' } else { b' ' });
        i += 1;
    }
    out.truncate(len);
    out
}

async fn events(vault: &Vault, caller: &Caller, action: &str) -> Vec<covault_guard::StoredEvent> {
    let query = AuditQuery {
        action: Some(action.into()),
        limit: Some(1000),
        ..AuditQuery::default()
    };
    vault.audit_search(caller, &query).await.unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every byte of every file under `dir`.
fn raw_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                // A closing database removes its -wal/-shm files as we walk: skip what is gone.
                match std::fs::read(&path) {
                    Ok(bytes) => out.push((path, bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("{}: {e}", path.display()),
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn backups_are_incremental_and_restore_whole_workspaces_and_single_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, op) = new_vault(&tmp.path().join("ws")).await;
    let big = noise(1, 3_000_000);
    let text = prose(2_500_000);
    put(&vault, &op, "data/big.bin", &big).await;
    put(&vault, &op, "docs/report.txt", &text).await;
    put(&vault, &op, "docs/copy.txt", &text).await; // an exact duplicate
    put(&vault, &op, "notes/small.txt", b"a small note").await;
    put(&vault, &op, "notes/small.txt", b"a small note, edited").await;
    let (repo, _) = local_repo(&tmp.path().join("repo"), InitOptions::default()).await;

    let first = vault.backup_run(&op, &repo, None).await.unwrap();
    assert_eq!(first.stats.versions, 5);
    assert_eq!(first.stats.versions_read, 5);
    assert!(first.parent.is_none());
    // Deduplicated and compressed: the duplicate adds nothing, prose shrinks.
    let repo_bytes: u64 = raw_files(&tmp.path().join("repo"))
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert!(
        repo_bytes < big.len() as u64 + text.len() as u64 / 2,
        "repository holds {repo_bytes} bytes"
    );

    // Nothing changed: nothing is read again, only the database copy changes.
    let second = vault.backup_run(&op, &repo, None).await.unwrap();
    assert_eq!(second.parent.as_deref(), Some(first.id.as_str()));
    assert_eq!(second.stats.versions_read, 0);
    assert_eq!(second.stats.versions, 5);
    // ... and a new manifest, for the database entry changed (with so few entries it is
    // stored whole; the backup crate's tests cover deltas).
    let manifests = |tmp: &Path| {
        std::fs::read_dir(tmp.join("repo/manifests"))
            .unwrap()
            .count()
    };
    assert_eq!(manifests(tmp.path()), 2);
    assert_eq!(repo.snapshot("latest").await.unwrap().versions().count(), 5);

    // A shifted near-duplicate reuses most chunks.
    let mut shifted = b"inserted header line\n".to_vec();
    shifted.extend_from_slice(&text);
    put(&vault, &op, "docs/report.txt", &shifted).await;
    let third = vault.backup_run(&op, &repo, None).await.unwrap();
    assert_eq!(third.stats.versions_read, 1);
    assert_eq!(manifests(tmp.path()), 3);
    assert!(
        third.stats.bytes_added < text.len() as u64 / 2,
        "a shifted copy added {} bytes",
        third.stats.bytes_added
    );
    let runs = events(&vault, &op, "backup.run").await;
    assert_eq!(runs.len(), 3);
    assert!(
        runs.iter()
            .all(|e| e.event().unwrap().outcome == Outcome::Success)
    );

    let report = backups::verify(
        &repo,
        VerifyOptions {
            read_data: true,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert!(report.chunks_read > 0 && report.packs_read == report.packs);

    // The whole workspace, as of the second snapshot, into a new data directory.
    let target = tmp.path().join("restored");
    let (dry, none) = restore(&repo, &second, &target, true).await.unwrap();
    assert!(
        none.is_none() && dry.dry_run && !target.exists(),
        "a dry run writes nothing"
    );
    let (restored_report, restored) = restore(&repo, &second, &target, false).await.unwrap();
    assert_eq!(restored_report.versions, 5);
    let Opened {
        vault: restored,
        operator: rop,
    } = restored.unwrap();
    assert_eq!(get(&restored, &rop, "data/big.bin", None).await, big);
    assert_eq!(
        get(&restored, &rop, "docs/report.txt", None).await,
        text,
        "the old version"
    );
    assert_eq!(
        get(&restored, &rop, "notes/small.txt", Some(1)).await,
        b"a small note"
    );
    let verified = restored.verify(&rop).await.unwrap();
    assert!(
        verified.is_ok() && verified.versions_checked == 5,
        "{verified:?}"
    );
    let chain = restored.audit_verify(&rop, Vec::new()).await.unwrap();
    assert!(chain.is_ok(), "the restored audit log verifies");
    assert_eq!(events(&restored, &rop, "backup.restore").await.len(), 1);
    drop(restored);
    // A second restore into the same (now full) directory is refused.
    let again = restore(&repo, &second, &target, false).await;
    assert!(matches!(again, Err(GuardError::BadRequest(_))));

    // One path, one version, back into the live workspace as a new version.
    let (entry, info) = vault
        .backup_restore_path(&op, &repo, &third, "docs/report.txt", Some(1), false)
        .await
        .unwrap();
    assert_eq!(entry.version, Some(1));
    let info = info.unwrap();
    assert_eq!(info.version, 3);
    assert_eq!(get(&vault, &op, "docs/report.txt", None).await, text);
    let restores = events(&vault, &op, "backup.restore").await;
    assert_eq!(restores.len(), 1);
    assert_eq!(restores[0].event().unwrap().version, Some(3));
    let writes = events(&vault, &op, "file.write").await;
    assert!(writes.iter().any(|e| {
        e.event()
            .unwrap()
            .reason
            .starts_with("restored from backup snapshot")
    }));
    let missing = vault
        .backup_restore_path(&op, &repo, &third, "docs/nope.txt", None, false)
        .await;
    assert!(missing.is_err());
}

#[tokio::test]
async fn drills_pass_on_a_sound_repository_and_fail_loudly_on_a_damaged_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, op) = new_vault(&tmp.path().join("ws")).await;
    for i in 0..12 {
        put(
            &vault,
            &op,
            &format!("f/{i}.bin"),
            &noise(i, 20_000 + i as usize * 1000),
        )
        .await;
    }
    let repo_dir = tmp.path().join("repo");
    let (repo, _) = local_repo(&repo_dir, InitOptions::default()).await;
    vault.backup_run(&op, &repo, None).await.unwrap();

    let record = vault
        .backup_drill(&op, &repo, Some(5), KekSource::KeyFile(key()), tmp.path())
        .await
        .unwrap();
    assert!(record.ok, "{:?}", record.problems);
    assert_eq!(
        (record.versions_checked, record.versions_in_snapshot),
        (5, 12)
    );
    assert!(record.database_checked);
    let all = vault
        .backup_drill(&op, &repo, None, KekSource::KeyFile(key()), tmp.path())
        .await
        .unwrap();
    assert!(all.ok && all.versions_checked == 12);
    assert!(
        !std::fs::read_dir(tmp.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".drill-")),
        "scratch space is removed"
    );

    // Damage one pack: the drill fails, says so in the audit log and the repository.
    let packs: Vec<PathBuf> = raw_files(&repo_dir.join("data"))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let victim = &packs[0];
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(victim, bytes).unwrap();
    let failed = vault
        .backup_drill(&op, &repo, None, KekSource::KeyFile(key()), tmp.path())
        .await
        .unwrap();
    assert!(!failed.ok && !failed.problems.is_empty());
    let drills = events(&vault, &op, "backup.drill").await;
    assert_eq!(drills.len(), 3);
    assert_eq!(
        drills
            .iter()
            .filter(|e| e.event().unwrap().outcome == Outcome::Failed)
            .count(),
        1,
        "the failed drill is an audit event with outcome failed"
    );
    let recorded = repo.drills(10).await.unwrap();
    assert_eq!(recorded.len(), 3);
    assert!(!recorded[0].ok, "the newest drill record is the failure");
    let report = backups::verify(
        &repo,
        VerifyOptions {
            read_data: true,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(!report.is_ok());
    // Structure alone does not read data: it still passes.
    let structure = backups::verify(
        &repo,
        VerifyOptions {
            read_data: false,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(structure.is_ok() && structure.packs_read == 0);
}

#[tokio::test]
async fn retention_and_prune_respect_running_backups_and_keep_what_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, op) = new_vault(&tmp.path().join("ws")).await;
    let (repo, _) = local_repo(&tmp.path().join("repo"), InitOptions::default()).await;
    for round in 0..4u64 {
        put(
            &vault,
            &op,
            "data/rolling.bin",
            &noise(100 + round, 1_500_000),
        )
        .await;
        vault.backup_run(&op, &repo, None).await.unwrap();
    }
    assert_eq!(repo.snapshots().await.unwrap().len(), 4);

    // A backup in progress holds the shared lock: prune refuses rather than race it.
    let source = std::fs::canonicalize(tmp.path().join("ws")).unwrap();
    let writer = backups::BackupWriter::start(Arc::clone(&repo), source.to_str().unwrap(), None)
        .await
        .unwrap();
    let refused = backups::prune(&repo, PruneOptions::default()).await;
    assert!(
        matches!(refused, Err(BackupError::Locked(_))),
        "{refused:?}"
    );
    writer.abort().await;

    let empty = vault
        .backup_forget(&op, &repo, KeepPolicy::default(), None, false)
        .await;
    assert!(
        matches!(empty, Err(GuardError::BadRequest(_))),
        "an empty policy is refused"
    );
    let keep = KeepPolicy {
        last: 2,
        ..KeepPolicy::default()
    };
    let (decisions, _) = vault
        .backup_forget(&op, &repo, keep, None, true)
        .await
        .unwrap();
    assert_eq!(decisions.iter().filter(|d| !d.keep).count(), 2);
    assert_eq!(
        repo.snapshots().await.unwrap().len(),
        4,
        "a dry run forgets nothing"
    );
    let before: u64 = raw_files(&tmp.path().join("repo/data"))
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    // Every version stays in the workspace's history, so what the forgotten snapshots alone
    // held is their copies of the database: garbage, repacked away at threshold 0.
    let strict = PruneOptions {
        max_unused_percent: 0,
        ..PruneOptions::default()
    };
    let (_, report) = vault
        .backup_forget(&op, &repo, keep, Some(strict), false)
        .await
        .unwrap();
    let report = report.unwrap();
    assert!(
        report.chunks_removed >= 2 && report.packs_repacked >= 1,
        "{report:?}"
    );
    // The forgotten snapshots' version lists go with them.
    assert_eq!(report.manifests_deleted, 2, "{report:?}");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("repo/manifests"))
            .unwrap()
            .count(),
        2
    );
    let after: u64 = raw_files(&tmp.path().join("repo/data"))
        .iter()
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert!(after < before);
    let left = repo.snapshots().await.unwrap();
    assert_eq!(left.len(), 2);
    let verified = backups::verify(
        &repo,
        VerifyOptions {
            read_data: true,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
    for snap in &left {
        let target = tmp.path().join(format!("r-{}", snap.short_id()));
        let (r, v) = restore(&repo, snap, &target, false).await.unwrap();
        assert_eq!(r.versions, snap.stats.versions);
        drop(v);
    }
    assert_eq!(events(&vault, &op, "backup.prune").await.len(), 2);
}

#[tokio::test]
async fn append_only_repositories_add_but_never_delete_without_the_prune_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, op) = new_vault(&tmp.path().join("ws")).await;
    let dir = tmp.path().join("repo");
    let (repo, prune_key) = local_repo(
        &dir,
        InitOptions {
            append_only: true,
            ..InitOptions::default()
        },
    )
    .await;
    let prune_key = prune_key.expect("an append-only repository has a prune key");
    put(&vault, &op, "a.txt", b"one").await;
    vault.backup_run(&op, &repo, None).await.unwrap();
    put(&vault, &op, "a.txt", b"two").await;
    vault.backup_run(&op, &repo, None).await.unwrap();

    let keep = KeepPolicy {
        last: 1,
        ..KeepPolicy::default()
    };
    let forget = vault.backup_forget(&op, &repo, keep, None, false).await;
    assert!(
        matches!(forget, Err(GuardError::Backup(BackupError::AppendOnly))),
        "{forget:?}"
    );
    assert!(matches!(
        backups::prune(&repo, PruneOptions::default()).await,
        Err(BackupError::AppendOnly)
    ));
    assert!(matches!(
        vault.backup_erase(&op, &repo).await,
        Err(GuardError::Backup(BackupError::AppendOnly))
    ));
    assert_eq!(repo.snapshots().await.unwrap().len(), 2);
    let denied = events(&vault, &op, "backup.prune").await;
    assert!(
        denied
            .iter()
            .all(|e| e.event().unwrap().outcome == Outcome::Failed),
        "refusals are audited"
    );

    let backend = backups::open_location(dir.to_str().unwrap()).unwrap();
    let mut holder = Repository::open(backend, &secret()).await.unwrap();
    assert!(
        holder.allow_prune(KEY.as_bytes()).is_err(),
        "the writer's key is not the prune key"
    );
    holder.allow_prune(prune_key.as_bytes()).unwrap();
    let holder = Arc::new(holder);
    vault
        .backup_forget(&op, &holder, keep, Some(PruneOptions::default()), false)
        .await
        .unwrap();
    assert_eq!(holder.snapshots().await.unwrap().len(), 1);
}

/// GDPR erasure: once a file is purged and `backup erase` has run, no byte of its content is
/// left in the repository, not even inside encrypted chunks, and no restore path yields it.
#[tokio::test]
async fn erasure_reaches_every_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, op) = new_vault(&tmp.path().join("ws")).await;
    let marker = b"ERASE-ME subject 7f3c: Jane Roe, born 1984-02-29, account 4417 1234 5678 9113";
    let mut secret_doc = Vec::new();
    for i in 0..20_000 {
        secret_doc.extend_from_slice(marker);
        secret_doc.extend_from_slice(format!(" line {i}\n").as_bytes());
    }
    let small_secret = b"ERASE-ME small: the subject's private note".to_vec();
    put(&vault, &op, "hr/jane.txt", &secret_doc).await;
    put(
        &vault,
        &op,
        "hr/jane.txt",
        &secret_doc[..secret_doc.len() / 2],
    )
    .await;
    put(&vault, &op, "hr/jane-note.txt", &small_secret).await;
    put(&vault, &op, "public/readme.txt", b"nothing personal here").await;
    let repo_dir = tmp.path().join("repo");
    let (repo, _) = local_repo(&repo_dir, InitOptions::default()).await;
    vault.backup_run(&op, &repo, None).await.unwrap();
    put(&vault, &op, "public/readme.txt", b"still nothing personal").await;
    vault.backup_run(&op, &repo, None).await.unwrap();

    let needle = b"ERASE-ME";
    let plaintexts = |repo: Arc<Repository>| async move {
        let reader = backups::RepoReader::open(repo).await.unwrap();
        let mut hits = 0;
        for id in reader.chunk_ids() {
            if contains(&reader.chunk(&id).await.unwrap(), needle) {
                hits += 1;
            }
        }
        hits
    };
    // Before: the content is in the repository (decrypted), so the check below can fail.
    assert!(plaintexts(Arc::clone(&repo)).await > 0);

    vault.purge(&op, "hr/jane.txt").await.unwrap();
    vault.purge(&op, "hr/jane-note.txt").await.unwrap();
    let (files, rewritten, report) = vault.backup_erase(&op, &repo).await.unwrap();
    assert_eq!((files, rewritten), (2, 2));
    assert!(report.chunks_removed >= 3, "{report:?}");

    // 1. No chunk anywhere in the repository decrypts to the content.
    let repo = reopen(&repo_dir).await;
    assert_eq!(plaintexts(Arc::clone(&repo)).await, 0);
    // 2. The raw repository holds no copy of it either (plain or as zstd would leave it).
    for (path, bytes) in raw_files(&repo_dir) {
        assert!(
            !contains(&bytes, needle),
            "{} holds the plaintext",
            path.display()
        );
    }
    // 3. Every restore path: whole workspace from every snapshot, single path and version.
    let snaps = repo.snapshots().await.unwrap();
    assert_eq!(snaps.len(), 2);
    for snap in &snaps {
        assert!(snap.erased.len() == 2);
        assert!(
            snap.versions()
                .all(|e| !e.path.as_deref().unwrap().starts_with("hr/"))
        );
        for (path, version) in [
            ("hr/jane.txt", Some(1)),
            ("hr/jane.txt", None),
            ("hr/jane-note.txt", None),
        ] {
            let r = vault
                .backup_restore_path(&op, &repo, snap, path, version, false)
                .await;
            assert!(
                matches!(
                    r,
                    Err(GuardError::Store(covault_guard::StoreError::NotFound(_)))
                ),
                "{r:?}"
            );
        }
        let target = tmp.path().join(format!("r-{}", snap.short_id()));
        let (report, restored) = restore(&repo, snap, &target, false).await.unwrap();
        assert_eq!(
            report.files_purged, 2,
            "erased files come back as purged, not as content"
        );
        let Opened {
            vault: restored,
            operator: rop,
        } = restored.unwrap();
        for path in ["hr/jane.txt", "hr/jane-note.txt"] {
            assert!(restored.get(&rop, path, None).await.is_err());
            assert!(restored.get(&rop, path, Some(1)).await.is_err());
        }
        assert!(restored.verify(&rop).await.unwrap().is_ok());
        drop(restored);
        for (path, bytes) in raw_files(&target) {
            assert!(
                !contains(&bytes, needle),
                "{} holds the plaintext",
                path.display()
            );
        }
    }
    let verified = backups::verify(
        &repo,
        VerifyOptions {
            read_data: true,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
    let erase_events = events(&vault, &op, "backup.prune").await;
    assert_eq!(erase_events.len(), 1);
}

/// S3-compatible storage: moto's server on loopback (from the CI venv).
#[tokio::test]
async fn backups_work_against_an_s3_compatible_server() {
    let Some(python) = std::env::var_os("COVAULT_TEST_PYTHON") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide COVAULT_TEST_PYTHON with moto"
        );
        eprintln!("SKIP: COVAULT_TEST_PYTHON is not set (needs moto[server])");
        return;
    };
    let probe = Command::new(&python)
        .args(["-c", "import moto.server, boto3"])
        .status()
        .unwrap();
    if !probe.success() {
        assert!(
            std::env::var("CI").is_err(),
            "CI's venv must have moto[server]"
        );
        eprintln!("SKIP: moto[server] is not installed");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(&python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = server.stderr.take().unwrap();
    let _guard = Kill(server);
    // moto prints "Running on http://127.0.0.1:PORT" once it listens.
    let mut lines = BufReader::new(stderr).lines();
    loop {
        let line = lines.next().expect("moto exited").unwrap();
        if line.contains("Running on") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let endpoint = format!("http://127.0.0.1:{port}");
    let made = Command::new(&python)
        .args([
            "-c",
            "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket='covault-backups')",
            &endpoint,
        ])
        .status()
        .unwrap();
    assert!(made.success());
    let s3 = || {
        Arc::new(
            backups::S3Backend::with_endpoint(
                "covault-backups",
                "team/ws1",
                &endpoint,
                "us-east-1",
                "test",
                "test",
            )
            .unwrap(),
        ) as Arc<dyn backups::Backend>
    };
    let (repo, _) = Repository::init(s3(), &secret(), InitOptions::default())
        .await
        .unwrap();
    let repo = Arc::new(repo);
    assert!(matches!(
        Repository::init(s3(), &secret(), InitOptions::default()).await,
        Err(BackupError::AlreadyInitialized(_))
    ));
    let tmp = tempfile::tempdir().unwrap();
    let (vault, op) = new_vault(&tmp.path().join("ws")).await;
    let data = noise(9, 2_000_000);
    put(&vault, &op, "data/a.bin", &data).await;
    put(&vault, &op, "data/b.txt", &prose(300_000)).await;
    let first = vault.backup_run(&op, &repo, None).await.unwrap();
    let second = vault.backup_run(&op, &repo, None).await.unwrap();
    assert_eq!(second.stats.versions_read, 0);
    let repo = Arc::new(Repository::open(s3(), &secret()).await.unwrap());
    let report = backups::verify(
        &repo,
        VerifyOptions {
            read_data: true,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(report.is_ok() && report.snapshots == 2, "{report:?}");
    let (_, restored) = restore(&repo, &first, &tmp.path().join("restored"), false)
        .await
        .unwrap();
    let Opened {
        vault: restored,
        operator: rop,
    } = restored.unwrap();
    assert_eq!(get(&restored, &rop, "data/a.bin", None).await, data);
    let drill = vault
        .backup_drill(&op, &repo, None, KekSource::KeyFile(key()), tmp.path())
        .await
        .unwrap();
    assert!(drill.ok, "{:?}", drill.problems);
    let wrong = Repository::open(
        s3(),
        &RepoSecret::KeyFile(Zeroizing::new([b'1'; 64].to_vec())),
    )
    .await;
    assert!(matches!(wrong, Err(BackupError::WrongKey)));
}

// ---- crash safety ---------------------------------------------------------------------

const CHILD_ENV: &str = "COVAULT_BACKUP_CRASH_DIR";
const ROUND_ENV: &str = "COVAULT_BACKUP_CRASH_ROUND";

/// The child: alternately writes, backs up, forgets and prunes, printing `SNAP id` after
/// each snapshot that committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let round: u64 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    let (vault, op) = open_vault(&dir.join("ws"), LockMode::Concurrent).await;
    let repo = reopen(&dir.join("repo")).await;
    for i in 0u64.. {
        let seed = round * 1000 + i;
        put(
            &vault,
            &op,
            &format!("f/{}.bin", seed % 7),
            &noise(seed, 50_000 + (seed as usize % 7) * 150_000),
        )
        .await;
        let snap = vault.backup_run(&op, &repo, None).await.unwrap();
        println!("SNAP {}", snap.id);
        if i % 2 == 1 {
            let keep = KeepPolicy {
                last: 3,
                ..KeepPolicy::default()
            };
            vault
                .backup_forget(
                    &op,
                    &repo,
                    keep,
                    Some(PruneOptions {
                        max_unused_percent: 0,
                        ..PruneOptions::default()
                    }),
                    false,
                )
                .await
                .unwrap();
            println!("PRUNED");
        }
    }
}

#[tokio::test]
async fn killing_backups_and_prunes_never_breaks_the_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, op) = new_vault(&tmp.path().join("ws")).await;
    put(&vault, &op, "seed.txt", b"first").await;
    drop(vault);
    drop(op);
    local_repo(&tmp.path().join("repo"), InitOptions::default()).await;
    let exe = std::env::current_exe().unwrap();
    let rounds: u64 = std::env::var("COVAULT_BACKUP_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut kills = 0;
    for round in 0..rounds {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "backup_crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, tmp.path())
            .env(ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it commit a varying number of snapshots (and prunes), then kill it mid-work.
        let wanted = 1 + round as usize % 4;
        let mut seen = 0;
        while seen < wanted {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("SNAP") || line.starts_with("PRUNED") => {
                    seen += 1
                }
                Some(Ok(_)) => {}
                _ => panic!("the child stopped early"),
            }
        }
        // Kill at a moment that moves from round to round: right away, or after a short spin.
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_micros(round * 7_000 % 40_000) {
            std::hint::spin_loop();
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;

        let repo = reopen(&tmp.path().join("repo")).await;
        let report = backups::verify(
            &repo,
            VerifyOptions {
                read_data: false,
                subset: Subset::All,
            },
        )
        .await
        .unwrap();
        assert!(report.is_ok(), "round {round}: {:?}", report.problems);
    }
    assert_eq!(kills, rounds);
    let repo = reopen(&tmp.path().join("repo")).await;
    let report = backups::verify(
        &repo,
        VerifyOptions {
            read_data: true,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let snaps = repo.snapshots().await.unwrap();
    assert!(!snaps.is_empty());
    // Every snapshot left restores, and every restored version matches its hash.
    let ids: HashSet<String> = snaps.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids.len(), snaps.len());
    for snap in &snaps {
        let target = tmp.path().join(format!("r-{}", snap.short_id()));
        let (r, v) = restore(&repo, snap, &target, false)
            .await
            .unwrap_or_else(|e| panic!("snapshot {} does not restore: {e}", snap.id));
        let Opened {
            vault: v,
            operator: rop,
        } = v.unwrap();
        assert!(v.verify(&rop).await.unwrap().is_ok());
        assert_eq!(r.versions, snap.stats.versions);
    }
    // A later prune cleans whatever the kills left behind.
    let cleaned = backups::prune(&repo, PruneOptions::default())
        .await
        .unwrap();
    let after = backups::verify(
        &repo,
        VerifyOptions {
            read_data: true,
            subset: Subset::All,
        },
    )
    .await
    .unwrap();
    assert!(
        after.is_ok() && after.unreferenced_packs == 0,
        "{cleaned:?} {after:?}"
    );
}
