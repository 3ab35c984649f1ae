//! The encrypting layer against real SQLite files and a real blob directory: round trips at
//! segment boundaries, no plaintext at rest, tamper detection, rotation and crypto-shredding.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use covault_audit::AuditEvent;
use covault_crypto::{KdfParams, SEGMENT_SIZE, generate_key_file};
use covault_policy::{IssuedToken, Principal, PrincipalKind, Tier};
use covault_store::{
    ByteStream, DataDir, KekSource, LockMode, NewKekSource, PutOptions, SqliteMetadata, StoreError,
    TokenRecord, Workspace, WorkspaceOptions, WorkspacePath,
};
use futures_util::StreamExt;
use secrecy::SecretString;
use zeroize::Zeroizing;

fn event(action: &str) -> AuditEvent {
    let mut e = AuditEvent::new(action);
    e.principal = Some("test".into());
    e.reason = "test".into();
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

struct Fixture {
    _dir: DataDir,
    root: tempfile::TempDir,
    ws: Workspace,
    key: Zeroizing<Vec<u8>>,
}

async fn open_parts(
    root: &Path,
) -> (
    DataDir,
    Arc<SqliteMetadata>,
    Arc<covault_store::LocalBlobStore>,
) {
    let dir = DataDir::open(root, true, LockMode::Exclusive).unwrap();
    let meta = Arc::new(
        SqliteMetadata::open(&dir.database_path(), true)
            .await
            .unwrap(),
    );
    let blobs = Arc::new(dir.blob_store().unwrap());
    (dir, meta, blobs)
}

async fn fixture() -> Fixture {
    fixture_with(WorkspaceOptions::default()).await
}

async fn fixture_with(options: WorkspaceOptions) -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let (dir, meta, blobs) = open_parts(root.path()).await;
    let key = Zeroizing::new(generate_key_file().unwrap().as_bytes().to_vec());
    let issued = IssuedToken::generate().unwrap();
    let token = TokenRecord {
        id: issued.id.clone(),
        principal_id: "admin".into(),
        hash: issued.hash.clone(),
        description: "first".into(),
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
        options,
        NewKekSource::KeyFile(key.clone()),
        (
            &principal("operator", PrincipalKind::Operator),
            &principal("admin", PrincipalKind::User),
            &token,
        ),
        &event("init"),
    )
    .await
    .unwrap();
    Fixture {
        _dir: dir,
        root,
        ws,
        key,
    }
}

fn body(data: Vec<u8>, chunk: usize) -> ByteStream {
    let chunks: Vec<Result<Bytes, StoreError>> = data
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(chunks))
}

fn path(p: &str) -> WorkspacePath {
    WorkspacePath::parse(p, &Default::default()).unwrap()
}

async fn put(ws: &Workspace, p: &str, data: Vec<u8>) -> i64 {
    ws.put(
        &path(p),
        PutOptions {
            tier: None,
            author: "test".into(),
            known_file: None,
        },
        body(data, 7919),
        event("put"),
    )
    .await
    .unwrap()
    .version
}

async fn read(ws: &Workspace, p: &str, version: Option<i64>) -> Result<Vec<u8>, StoreError> {
    let file = ws
        .file(&path(p))
        .await?
        .ok_or(StoreError::NotFound(p.into()))?;
    let v = ws.version(&file, version).await?;
    let mut stream = ws.open_version(file, v).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn blob_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(root.join("blobs")).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            out.push(f.path());
        }
    }
    out
}

/// Runs `sql` directly against the metadata database (to tamper with inline content).
async fn raw_sql(root: &Path, sql: &'static str) {
    let url = format!("sqlite://{}", root.join("meta.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
}

#[tokio::test]
async fn small_versions_are_inline_and_tamper_evident_too() {
    let f = fixture().await;
    put(&f.ws, "/small/a.txt", b"alpha content".to_vec()).await;
    put(&f.ws, "/small/b.txt", b"bravo content".to_vec()).await;
    put(&f.ws, "/small/edge.bin", pattern(SEGMENT_SIZE, 1)).await;
    assert!(
        blob_files(f.root.path()).is_empty(),
        "one-segment versions are kept inline"
    );
    // any flipped byte of the inline ciphertext
    raw_sql(
        f.root.path(),
        "UPDATE inline_blobs SET data = CAST(zeroblob(length(data)) AS BLOB) WHERE rowid = 1",
    )
    .await;
    let first = read(&f.ws, "/small/a.txt", None).await;
    assert!(
        matches!(first, Err(StoreError::Integrity { .. })),
        "{first:?}"
    );
    // swapped between versions: each is bound to its own file and version
    raw_sql(f.root.path(), "UPDATE inline_blobs SET data = (SELECT data FROM inline_blobs WHERE rowid = 2) WHERE rowid = 1").await;
    assert!(matches!(
        read(&f.ws, "/small/a.txt", None).await,
        Err(StoreError::Integrity { .. })
    ));
    // truncated
    raw_sql(
        f.root.path(),
        "UPDATE inline_blobs SET data = substr(data, 1, 10) WHERE rowid = 2",
    )
    .await;
    assert!(matches!(
        read(&f.ws, "/small/b.txt", None).await,
        Err(StoreError::Integrity { .. })
    ));
    assert_eq!(
        read(&f.ws, "/small/edge.bin", None).await.unwrap(),
        pattern(SEGMENT_SIZE, 1)
    );
    let report = f.ws.verify().await.unwrap();
    let bad: Vec<&str> = report.problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(bad, vec!["/small/a.txt", "/small/b.txt"]);
}

#[tokio::test]
async fn round_trips_at_segment_boundaries() {
    let f = fixture().await;
    let sizes = [
        0,
        1,
        SEGMENT_SIZE - 1,
        SEGMENT_SIZE,
        SEGMENT_SIZE + 1,
        5 * SEGMENT_SIZE + 3,
        20 * SEGMENT_SIZE,
    ];
    for (i, size) in sizes.into_iter().enumerate() {
        let name = format!("/sizes/{size}.bin");
        let data = pattern(size, i as u8);
        put(&f.ws, &name, data.clone()).await;
        assert_eq!(read(&f.ws, &name, None).await.unwrap(), data, "size {size}");
    }
    let report = f.ws.verify().await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.versions_checked, sizes.len() as u64);
}

#[tokio::test]
async fn blobs_never_contain_plaintext() {
    let f = fixture().await;
    let marker = b"PLAINTEXT-MARKER-7f3a9c";
    let mut data = Vec::new();
    for _ in 0..5000 {
        data.extend_from_slice(marker);
    }
    put(&f.ws, "/secret.txt", data).await;
    let files = blob_files(f.root.path());
    assert_eq!(files.len(), 1);
    for file in files {
        let raw = std::fs::read(file).unwrap();
        assert!(!raw.windows(marker.len()).any(|w| w == marker));
    }
    let db = std::fs::read(f.root.path().join("meta.db")).unwrap();
    assert!(!db.windows(marker.len()).any(|w| w == marker));
}

#[tokio::test]
async fn any_flipped_byte_is_detected_and_named() {
    let f = fixture().await;
    let data = pattern(2 * SEGMENT_SIZE + 100, 3);
    put(&f.ws, "/docs/a.bin", data).await;
    let blob = blob_files(f.root.path()).pop().unwrap();
    let original = std::fs::read(&blob).unwrap();
    // every byte of the tail segment and a stride through the rest
    let positions: Vec<usize> = (0..original.len())
        .step_by(997)
        .chain(original.len() - 140..original.len())
        .collect();
    for pos in positions {
        let mut bad = original.clone();
        bad[pos] ^= 0x20;
        std::fs::write(&blob, &bad).unwrap();
        let err = read(&f.ws, "/docs/a.bin", None).await.unwrap_err();
        match err {
            StoreError::Integrity { path, version, .. } => {
                assert_eq!(path, "/docs/a.bin");
                assert_eq!(version, 1);
            }
            other => panic!("byte {pos}: {other}"),
        }
    }
    std::fs::write(&blob, &original).unwrap();
    assert!(f.ws.verify().await.unwrap().is_ok());
}

#[tokio::test]
async fn swapped_truncated_and_extended_segments_are_detected() {
    let f = fixture().await;
    put(&f.ws, "/x.bin", pattern(3 * SEGMENT_SIZE, 9)).await;
    let blob = blob_files(f.root.path()).pop().unwrap();
    let original = std::fs::read(&blob).unwrap();
    let seg = SEGMENT_SIZE + 16;
    let mut swapped = original.clone();
    swapped[..seg].copy_from_slice(&original[seg..2 * seg]);
    swapped[seg..2 * seg].copy_from_slice(&original[..seg]);
    let truncated = original[..2 * seg].to_vec();
    let mut extended = original.clone();
    extended.extend_from_slice(&original[..seg]);
    for (name, bytes) in [
        ("swapped", swapped),
        ("truncated", truncated),
        ("extended", extended),
    ] {
        std::fs::write(&blob, &bytes).unwrap();
        assert!(
            matches!(
                read(&f.ws, "/x.bin", None).await,
                Err(StoreError::Integrity { .. })
            ),
            "{name}"
        );
        let report = f.ws.verify().await.unwrap();
        assert_eq!(report.problems.len(), 1, "{name}");
        assert_eq!(report.problems[0].path, "/x.bin");
    }
}

#[tokio::test]
async fn a_blob_moved_to_another_version_does_not_open() {
    let f = fixture().await;
    let one = pattern(SEGMENT_SIZE + 10, 1);
    put(&f.ws, "/m.bin", one.clone()).await;
    put(&f.ws, "/m.bin", pattern(SEGMENT_SIZE + 10, 2)).await;
    let file = f.ws.file(&path("/m.bin")).await.unwrap().unwrap();
    let versions = f.ws.versions(&file).await.unwrap();
    let blob_path = |v: &covault_store::VersionRecord| {
        let key = v.blob_key();
        f.root
            .path()
            .join("blobs")
            .join(&key.as_str()[..2])
            .join(key.as_str())
    };
    let first = std::fs::read(blob_path(&versions[0])).unwrap();
    std::fs::write(blob_path(&versions[1]), first).unwrap();
    assert!(matches!(
        read(&f.ws, "/m.bin", Some(2)).await,
        Err(StoreError::Integrity { .. })
    ));
    assert_eq!(read(&f.ws, "/m.bin", Some(1)).await.unwrap(), one);
}

#[tokio::test]
async fn versions_restore_delete_and_purge() {
    let f = fixture().await;
    put(&f.ws, "/h.txt", b"one".to_vec()).await;
    put(&f.ws, "/h.txt", b"two".to_vec()).await;
    let file = f.ws.file(&path("/h.txt")).await.unwrap().unwrap();
    f.ws.delete(&file, &event("delete")).await.unwrap();
    assert!(matches!(
        f.ws.existing_file(&path("/h.txt")).await,
        Err(StoreError::Deleted(_))
    ));
    assert!(f.ws.list(None, false, None, 100).await.unwrap().is_empty());
    assert_eq!(f.ws.list(None, true, None, 100).await.unwrap().len(), 1);
    let restored =
        f.ws.restore(&path("/h.txt"), 1, "test".into(), event("restore"))
            .await
            .unwrap();
    assert_eq!(restored.version, 3);
    assert_eq!(restored.restored_from, Some(1));
    assert_eq!(read(&f.ws, "/h.txt", None).await.unwrap(), b"one");
    assert_eq!(f.ws.versions(&file).await.unwrap().len(), 3);

    let file = f.ws.existing_file(&path("/h.txt")).await.unwrap();
    f.ws.purge(&file, &event("purge")).await.unwrap();
    assert!(f.ws.file(&path("/h.txt")).await.unwrap().is_none());
    let report = f.ws.verify().await.unwrap();
    assert_eq!(report.purged_versions, 3);
    assert!(report.is_ok());
    // the path is free for a new, unrelated file
    put(&f.ws, "/h.txt", b"new life".to_vec()).await;
    assert_eq!(read(&f.ws, "/h.txt", None).await.unwrap(), b"new life");
}

#[tokio::test]
async fn purged_content_is_unreadable_even_with_blob_copies() {
    let f = fixture().await;
    put(&f.ws, "/p.bin", pattern(3 * SEGMENT_SIZE, 5)).await;
    put(&f.ws, "/p.bin", b"a small, inline version".to_vec()).await;
    let blob = blob_files(f.root.path()).pop().unwrap();
    let copy = std::fs::read(&blob).unwrap();
    let file = f.ws.file(&path("/p.bin")).await.unwrap().unwrap();
    let before = f.ws.versions(&file).await.unwrap();
    let wrapped: Vec<Vec<u8>> = before
        .iter()
        .map(|v| v.wrapped_key.clone().unwrap().bytes)
        .collect();
    assert!(before[1].inline);
    f.ws.purge(&file, &event("purge")).await.unwrap();
    // put the blob back, as if restored from an old disk image
    std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
    std::fs::write(&blob, copy).unwrap();
    for after in f.ws.versions(&file).await.unwrap() {
        assert!(after.wrapped_key.is_none());
        let opened = f.ws.open_version(file.clone(), after).await;
        assert!(matches!(opened, Err(StoreError::Purged(_))));
    }
    // wrapped data keys and inline ciphertext are gone from every database file on disk
    // (secure_delete zeroes freed space; the WAL is checkpointed and truncated)
    for name in ["meta.db", "meta.db-wal"] {
        if let Ok(raw) = std::fs::read(f.root.path().join(name)) {
            for key in &wrapped {
                assert!(
                    !raw.windows(key.len()).any(|w| w == key.as_slice()),
                    "{name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn rotation_keeps_data_readable_and_retires_the_old_kek() {
    let f = fixture().await;
    put(&f.ws, "/r1.txt", b"alpha".to_vec()).await;
    put(&f.ws, "/r2.txt", pattern(SEGMENT_SIZE * 2, 1)).await;
    let new_key = Zeroizing::new(generate_key_file().unwrap().as_bytes().to_vec());
    f.ws.rotate_kek(NewKekSource::KeyFile(new_key.clone()), &event("rotate"))
        .await
        .unwrap();
    assert_eq!(read(&f.ws, "/r1.txt", None).await.unwrap(), b"alpha");
    put(&f.ws, "/r3.txt", b"after".to_vec()).await;
    let Fixture {
        _dir,
        root,
        ws,
        key,
    } = f;
    drop(ws);
    drop(_dir);
    let (dir, meta, blobs) = open_parts(root.path()).await;
    let old = Workspace::open(
        meta.clone(),
        blobs.clone(),
        WorkspaceOptions::default(),
        KekSource::KeyFile(key),
    )
    .await;
    assert!(
        matches!(
            old,
            Err(StoreError::Crypto(covault_crypto::CryptoError::WrongKey))
        ),
        "{:?}",
        old.err()
    );
    let ws = Workspace::open(
        meta,
        blobs,
        WorkspaceOptions::default(),
        KekSource::KeyFile(new_key),
    )
    .await
    .unwrap();
    assert_eq!(
        read(&ws, "/r2.txt", None).await.unwrap(),
        pattern(SEGMENT_SIZE * 2, 1)
    );
    assert!(ws.verify().await.unwrap().is_ok());
    drop(dir);
}

#[tokio::test]
async fn passphrase_workspaces_report_a_wrong_passphrase_clearly() {
    let root = tempfile::tempdir().unwrap();
    let (dir, meta, blobs) = open_parts(root.path()).await;
    let issued = IssuedToken::generate().unwrap();
    let token = TokenRecord {
        id: issued.id.clone(),
        principal_id: "admin".into(),
        hash: issued.hash.clone(),
        description: String::new(),
        created_at_ms: 0,
        expires_at_ms: None,
        revoked_at_ms: None,
        last_used_at_ms: None,
        last_used_addr: None,
        scope: Default::default(),
        rotated_from: None,
        rotated_at_ms: None,
    };
    let source = NewKekSource::Passphrase {
        passphrase: SecretString::from("correct horse battery staple"),
        params: KdfParams::with_cost(8 * 1024, 1, 1).unwrap(),
    };
    let ws = Workspace::initialize(
        meta.clone(),
        blobs.clone(),
        WorkspaceOptions::default(),
        source,
        (
            &principal("operator", PrincipalKind::Operator),
            &principal("admin", PrincipalKind::User),
            &token,
        ),
        &event("init"),
    )
    .await
    .unwrap();
    drop(ws);
    let wrong = Workspace::open(
        meta.clone(),
        blobs.clone(),
        WorkspaceOptions::default(),
        KekSource::Passphrase(SecretString::from("wrong")),
    )
    .await;
    let message = wrong.err().unwrap().to_string();
    assert!(message.contains("does not unlock"), "{message}");
    let mismatch = Workspace::open(
        meta.clone(),
        blobs.clone(),
        WorkspaceOptions::default(),
        KekSource::KeyFile(Zeroizing::new(vec![b'0'; 64])),
    )
    .await;
    assert!(matches!(
        mismatch,
        Err(StoreError::KeySourceMismatch { .. })
    ));
    let ok = Workspace::open(
        meta,
        blobs,
        WorkspaceOptions::default(),
        KekSource::Passphrase(SecretString::from("correct horse battery staple")),
    )
    .await;
    assert!(ok.is_ok());
    drop(dir);
}

#[tokio::test]
async fn size_limit_and_aborted_uploads_leave_nothing() {
    let f = fixture_with(WorkspaceOptions {
        max_file_bytes: 1000,
        ..Default::default()
    })
    .await;
    let err =
        f.ws.put(
            &path("/big.bin"),
            PutOptions {
                tier: None,
                author: "t".into(),
                known_file: None,
            },
            body(vec![0; 1001], 100),
            event("put"),
        )
        .await;
    assert!(matches!(err, Err(StoreError::TooLarge { limit: 1000 })));
    put(&f.ws, "/fits.bin", vec![0; 1000]).await;
    // aborted upload: the stream fails mid-way
    let failing: ByteStream = Box::pin(futures_util::stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(StoreError::UploadAborted("client went away".into())),
    ]));
    let err =
        f.ws.put(
            &path("/aborted.txt"),
            PutOptions {
                tier: None,
                author: "t".into(),
                known_file: None,
            },
            failing,
            event("put"),
        )
        .await;
    assert!(matches!(err, Err(StoreError::UploadAborted(_))));
    assert!(f.ws.file(&path("/aborted.txt")).await.unwrap().is_none());
    assert!(f.ws.file(&path("/big.bin")).await.unwrap().is_none());
    // the aborted and oversized writes left nothing behind (/fits.bin is inline)
    assert!(blob_files(f.root.path()).is_empty());
}

#[tokio::test]
async fn tiers_never_drop_on_write_and_audit_is_append_only() {
    let f = fixture().await;
    f.ws.put(
        &path("/t.txt"),
        PutOptions {
            tier: Some(Tier::Restricted),
            author: "t".into(),
            known_file: None,
        },
        body(b"a".to_vec(), 1),
        event("put"),
    )
    .await
    .unwrap();
    let v =
        f.ws.put(
            &path("/t.txt"),
            PutOptions {
                tier: Some(Tier::Public),
                author: "t".into(),
                known_file: None,
            },
            body(b"b".to_vec(), 1),
            event("put"),
        )
        .await
        .unwrap();
    assert_eq!(v.tier, Tier::Restricted);
    let events = f.ws.recent_audit(10).await.unwrap();
    assert_eq!(events[0].version, Some(2));
    assert_eq!(events[0].detail["tier"], "restricted");
    // the table refuses updates and deletes
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        f.root.path().join("meta.db").display()
    ))
    .await
    .unwrap();
    assert!(
        sqlx::query("DELETE FROM audit_events")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("UPDATE audit_events SET reason = 'x'")
            .execute(&pool)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_group_commits_and_get_distinct_versions() {
    let f = std::sync::Arc::new(fixture().await);
    let mut tasks = Vec::new();
    for i in 0..64u8 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let target = if i % 2 == 0 {
                "/shared.txt".to_owned()
            } else {
                format!("/own/{i}.txt")
            };
            let v = put(&f.ws, &target, vec![i; 100]).await;
            f.ws.append_audit(&event("read")).await.unwrap();
            (target, v, i)
        }));
    }
    let mut shared_versions = Vec::new();
    for task in tasks {
        let (target, version, i) = task.await.unwrap();
        if target == "/shared.txt" {
            shared_versions.push(version);
        }
        assert_eq!(
            read(&f.ws, &target, Some(version)).await.unwrap(),
            vec![i; 100]
        );
    }
    shared_versions.sort_unstable();
    assert_eq!(shared_versions, (1..=32).collect::<Vec<i64>>());
    let events = f.ws.recent_audit(1000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "put").count(), 64);
    assert_eq!(events.iter().filter(|e| e.action == "read").count(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_wrapped_under_a_rotated_kek_is_refused_not_stored() {
    let f = std::sync::Arc::new(fixture().await);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, StoreError>>(1);
    let body: ByteStream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let writer = {
        let f = f.clone();
        tokio::spawn(async move {
            f.ws.put(
                &path("/racing.bin"),
                PutOptions {
                    tier: None,
                    author: "t".into(),
                    known_file: None,
                },
                body,
                event("put"),
            )
            .await
        })
    };
    // the upload has wrapped its data key under the current KEK once its first chunk is taken
    tx.send(Ok(Bytes::from_static(b"first part")))
        .await
        .unwrap();
    tx.send(Ok(Bytes::from_static(b"second part")))
        .await
        .unwrap();
    let new_key = Zeroizing::new(generate_key_file().unwrap().as_bytes().to_vec());
    f.ws.rotate_kek(NewKekSource::KeyFile(new_key), &event("rotate"))
        .await
        .unwrap();
    drop(tx);
    let result = writer.await.unwrap();
    assert!(matches!(result, Err(StoreError::KeyRotated)), "{result:?}");
    assert!(f.ws.file(&path("/racing.bin")).await.unwrap().is_none());
    assert!(f.ws.verify().await.unwrap().is_ok());
}

async fn put_tier(ws: &Workspace, p: &str, data: &[u8], tier: Option<Tier>) -> Tier {
    ws.put(
        &path(p),
        PutOptions {
            tier,
            author: "t".into(),
            known_file: None,
        },
        body(data.to_vec(), 613),
        event("put"),
    )
    .await
    .unwrap()
    .tier
}

#[tokio::test]
async fn content_is_classified_on_write_and_only_raises_the_tier() {
    let f = fixture().await;
    let plain = b"Meeting notes: the roadmap review moves to next week.".to_vec();
    assert_eq!(
        put_tier(&f.ws, "/notes.txt", &plain, Some(Tier::Public)).await,
        Tier::Public
    );
    let events = f.ws.recent_audit(1).await.unwrap();
    assert_eq!(events[0].detail["scan"]["tier"], "public");
    assert_eq!(events[0].detail["scan"]["complete"], true);

    // A secret far past the first segment and split across upload chunks still counts.
    let mut text = "lorem ipsum dolor sit amet\n".repeat(5000).into_bytes();
    text.extend_from_slice(b"aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY1a\"\nAKIAQ3EGRIXKHB7ZTJUA\n");
    assert_eq!(
        put_tier(&f.ws, "/deploy.env", &text, Some(Tier::Public)).await,
        Tier::Restricted
    );
    let events = f.ws.recent_audit(1).await.unwrap();
    let detail = events[0].detail.to_string();
    assert!(
        events[0].detail["scan"]["counts"]["SECRET"]
            .as_u64()
            .unwrap()
            >= 1,
        "{detail}"
    );
    assert!(
        !detail.contains("AKIA"),
        "audit records carry counts, never values: {detail}"
    );

    // Personal data: name with contact details is confidential.
    let pii = b"Contact Maria Garcia at maria.garcia@example.org or +44 20 7946 0958.";
    assert_eq!(
        put_tier(&f.ws, "/crm/lead.txt", pii, None).await,
        Tier::Confidential
    );
    // Classification never lowers: clean content written over a restricted file stays restricted.
    assert_eq!(
        put_tier(&f.ws, "/deploy.env", &plain, Some(Tier::Public)).await,
        Tier::Restricted
    );
    // Binary content is not scanned for PII, and says so.
    let mut binary = vec![0u8; 16];
    binary.extend_from_slice(b"maria.garcia@example.org");
    put_tier(&f.ws, "/blob.bin", &binary, None).await;
    let events = f.ws.recent_audit(1).await.unwrap();
    assert_eq!(events[0].detail["scan"]["binary"], true);
    assert_eq!(events[0].detail["scan"]["complete"], false);
}
