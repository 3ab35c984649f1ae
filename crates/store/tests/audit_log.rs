//! The audit log on a real SQLite database (issue 5): appends from the group committer and
//! from administrative transactions form one chain; checkpoints are signed; tampering with
//! the database file is found and located; pruning leaves a log that verifies from its
//! anchor; events written before the chain existed are chained on open; a log that does not
//! verify is never signed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use covault_audit::{AuditEvent, AuditQuery, ChainHasher, ChainHead, Outcome, TamperKind};
use covault_crypto::generate_key_file;
use covault_policy::{IssuedToken, Principal, PrincipalKind};
use covault_store::{
    DataDir, KekSource, LockMode, NewKekSource, SqliteMetadata, StoreError, TokenRecord, Workspace,
    WorkspaceOptions,
};
use rusqlite::{Connection, params};
use zeroize::Zeroizing;

struct Fixture {
    _dir: DataDir,
    root: tempfile::TempDir,
    ws: Workspace,
    key: Zeroizing<Vec<u8>>,
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

fn event(action: &str, i: u64) -> AuditEvent {
    let mut e = AuditEvent::new(action);
    e.principal = Some(format!("usr_{}", i % 5));
    e.path = Some(format!("/docs/{i}.txt"));
    e.request_id = Some(format!("req-{i}"));
    e.outcome = if i.is_multiple_of(7) {
        Outcome::Denied
    } else {
        Outcome::Success
    };
    e.detail = serde_json::json!({ "n": i });
    e
}

async fn fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let dir = DataDir::open(root.path(), true, LockMode::Exclusive).unwrap();
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
        WorkspaceOptions::default(),
        NewKekSource::KeyFile(key.clone()),
        (
            &principal("operator", PrincipalKind::Operator),
            &principal("admin", PrincipalKind::User),
            &token,
        ),
        &event("init", 0),
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

impl Fixture {
    /// Closes and reopens the workspace (as a restart would).
    async fn reopen(self) -> Self {
        let Fixture {
            root,
            key,
            ws,
            _dir,
        } = self;
        drop(ws);
        drop(_dir);
        let dir = DataDir::open(root.path(), false, LockMode::Exclusive).unwrap();
        let meta = Arc::new(
            SqliteMetadata::open(&dir.database_path(), false)
                .await
                .unwrap(),
        );
        let blobs = Arc::new(dir.blob_store().unwrap());
        let ws = Workspace::open(
            meta,
            blobs,
            WorkspaceOptions::default(),
            KekSource::KeyFile(key.clone()),
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

    fn db(&self) -> Connection {
        let conn = Connection::open(self.root.path().join("meta.db")).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete;",
        )
        .unwrap();
        conn
    }

    async fn append(&self, n: u64) {
        let events: Vec<AuditEvent> = (1..=n).map(|i| event("file.read", i)).collect();
        let tasks = events.iter().map(|e| self.ws.append_audit(e));
        for r in futures_util::future::join_all(tasks).await {
            r.unwrap();
        }
    }

    async fn first_problem(&self) -> (TamperKind, u64) {
        let report = self.ws.audit_verify(Vec::new()).await.unwrap();
        let p = report
            .problems
            .first()
            .unwrap_or_else(|| panic!("no problem found"));
        (p.kind, p.seq)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_and_admin_transactions_form_one_verifying_chain() {
    let f = fixture().await;
    f.append(300).await;
    let head = f.ws.audit_head().await.unwrap();
    assert_eq!(head.seq, 301, "init event + 300 appends");
    // An administrative transaction (sqlx path) chains after the committer's appends.
    let p = principal("usr_new", PrincipalKind::User);
    f.ws.create_principal(&p, None, &event("principal.create", 1))
        .await
        .unwrap();
    f.append(10).await;
    let report = f.ws.audit_verify(Vec::new()).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.events, 312);
    let cp =
        f.ws.audit_checkpoint(1)
            .await
            .unwrap()
            .expect("a checkpoint");
    assert_eq!(cp.tree_size, 312);
    assert!(
        f.ws.audit_checkpoint(2).await.unwrap().is_none(),
        "nothing new, nothing signed"
    );
    cp.verify_signature(&f.ws.audit_public_key().unwrap())
        .unwrap();
    let report = f.ws.audit_verify(Vec::new()).await.unwrap();
    assert!(report.is_ok());
    assert_eq!(report.checkpoints_checked, 1);
    assert_eq!(report.merkle_root, hex::encode(cp.merkle_root));
}

#[tokio::test]
async fn search_filters_and_pages() {
    let f = fixture().await;
    f.append(50).await;
    let q = |q: AuditQuery| {
        let ws = &f.ws;
        async move { ws.audit_search(&q).await.unwrap() }
    };
    let denied = q(AuditQuery {
        outcome: Some(Outcome::Denied),
        ..Default::default()
    })
    .await;
    assert_eq!(denied.len(), 8, "0, 7, …, 49");
    let by_principal = q(AuditQuery {
        principal: Some("usr_3".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_principal.len(), 10);
    let family = q(AuditQuery {
        action: Some("file.*".into()),
        limit: Some(1000),
        ..Default::default()
    })
    .await;
    assert_eq!(family.len(), 50);
    let none = q(AuditQuery {
        action: Some("file.write".into()),
        ..Default::default()
    })
    .await;
    assert!(none.is_empty());
    let one_path = q(AuditQuery {
        path: Some("/docs/12.txt".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(one_path.len(), 1);
    let dir = q(AuditQuery {
        path: Some("/docs".into()),
        limit: Some(20),
        ..Default::default()
    })
    .await;
    assert_eq!(dir.len(), 20);
    let next = q(AuditQuery {
        path: Some("/docs".into()),
        after_seq: Some(dir[19].seq),
        limit: Some(100),
        ..Default::default()
    })
    .await;
    assert_eq!(
        dir.len() + next.len(),
        51,
        "the init event names /docs/0.txt too"
    );
    let by_request = q(AuditQuery {
        request_id: Some("req-33".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_request.len(), 1);
    assert_eq!(by_request[0].event().unwrap().detail["n"], 33);
    let sibling = q(AuditQuery {
        path: Some("/doc".into()),
        ..Default::default()
    })
    .await;
    assert!(sibling.is_empty(), "prefixes compare whole components");
}

#[tokio::test]
async fn tampering_with_the_database_is_found_and_located() {
    let f = fixture().await;
    f.append(40).await;
    f.ws.audit_checkpoint(1).await.unwrap();
    f.append(10).await;
    let db = f.db();
    db.execute(
        "UPDATE audit_events SET outcome = 'success' WHERE seq = 8",
        [],
    )
    .unwrap();
    assert_eq!(f.first_problem().await, (TamperKind::Edit, 8));
    db.execute(
        "UPDATE audit_events SET outcome = 'denied' WHERE seq = 8",
        [],
    )
    .unwrap();
    assert!(
        f.ws.audit_verify(Vec::new()).await.unwrap().is_ok(),
        "restored"
    );
    // Signing re-checks the events since the last checkpoint and refuses a broken chain.
    db.execute("UPDATE audit_events SET reason = 'x' WHERE seq = 45", [])
        .unwrap();
    assert!(matches!(
        f.ws.audit_checkpoint(2).await,
        Err(StoreError::AuditTampered { seq: 45 })
    ));
    db.execute(
        "UPDATE audit_events SET reason = ?1 WHERE seq = 45",
        params![event("file.read", 44).reason],
    )
    .unwrap();
    db.execute("DELETE FROM audit_events WHERE seq IN (20, 21)", [])
        .unwrap();
    let report = f.ws.audit_verify(Vec::new()).await.unwrap();
    let p = &report.problems[0];
    assert_eq!(
        (p.kind, p.seq, p.until),
        (TamperKind::Deletion, 20, Some(21))
    );
    // Renumbering the last event far away does not make verification walk the gap.
    db.execute(
        "UPDATE audit_events SET seq = 1000000000000 WHERE seq = 50",
        [],
    )
    .unwrap();
    let report = f.ws.audit_verify(Vec::new()).await.unwrap();
    assert!(!report.is_ok());
    drop(db);
}

#[tokio::test]
async fn truncation_and_rechaining_are_caught_by_the_head_and_the_checkpoints() {
    let f = fixture().await;
    f.append(30).await;
    let cp = f.ws.audit_checkpoint(1).await.unwrap().unwrap();
    f.append(5).await;
    let db = f.db();
    db.execute("DELETE FROM audit_events WHERE seq > 33", [])
        .unwrap();
    assert_eq!(f.first_problem().await, (TamperKind::Truncation, 34));
    // Rewinding the head as well does not help: the stored checkpoint covers 31 events.
    db.execute("DELETE FROM audit_events WHERE seq > 20", [])
        .unwrap();
    let head: Vec<u8> = db
        .query_row("SELECT hash FROM audit_events WHERE seq = 20", [], |r| {
            r.get(0)
        })
        .unwrap();
    db.execute("UPDATE audit_head SET seq = 20, hash = ?1", params![head])
        .unwrap();
    assert_eq!(
        f.first_problem().await,
        (TamperKind::Truncation, 21),
        "the checkpoint covers 31"
    );
    // Someone with database access rewrites event 5, re-chains everything after it (head
    // included) and deletes the stored checkpoints: only the copy kept outside catches it.
    rechain_from(&f, &db, 5, "an alibi").await;
    db.execute_batch("DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints;")
        .unwrap();
    assert!(
        f.ws.audit_verify(Vec::new()).await.unwrap().is_ok(),
        "consistent without outside evidence"
    );
    let report = f.ws.audit_verify(vec![cp]).await.unwrap();
    let p = &report.problems[0];
    assert_eq!(
        p.kind,
        TamperKind::Truncation,
        "the outside copy covers 31 events, the log has 20"
    );
}

/// Edits event `from` and recomputes every chain hash after it, and the head: what someone
/// with write access to the database (but not the KEK) can do.
async fn rechain_from(f: &Fixture, db: &Connection, from: u64, reason: &str) {
    let edited = params![reason, from as i64];
    db.execute("UPDATE audit_events SET reason = ?1 WHERE seq = ?2", edited)
        .unwrap();
    let query = AuditQuery {
        after_seq: Some(from - 2),
        limit: Some(1000),
        ..Default::default()
    };
    let events = f.ws.audit_search(&query).await.unwrap();
    let (before, rest) = events.split_first().unwrap();
    let mut head = ChainHead {
        seq: before.seq,
        hash: before.hash,
    };
    let mut hasher = ChainHasher::default();
    for e in rest {
        let (seq, prev, hash) = head.append(&mut hasher, &e.columns);
        db.execute(
            "UPDATE audit_events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            params![prev.as_slice(), hash.as_slice(), seq as i64],
        )
        .unwrap();
    }
    db.execute(
        "UPDATE audit_head SET seq = ?1, hash = ?2",
        params![head.seq as i64, head.hash.as_slice()],
    )
    .unwrap();
}

#[tokio::test]
async fn a_rechained_log_is_caught_by_its_stored_checkpoint() {
    let f = fixture().await;
    f.append(30).await;
    let cp = f.ws.audit_checkpoint(1).await.unwrap().unwrap();
    f.append(5).await;
    let db = f.db();
    rechain_from(&f, &db, 10, "an alibi").await;
    let report = f.ws.audit_verify(Vec::new()).await.unwrap();
    let p = &report.problems[0];
    assert_eq!(
        (p.kind, p.seq, p.until),
        (TamperKind::Rewrite, 1, Some(31)),
        "{:?}",
        report.problems
    );
    // Deleting the stored checkpoints as well leaves only the copy kept outside as evidence.
    db.execute_batch("DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints;")
        .unwrap();
    assert!(f.ws.audit_verify(Vec::new()).await.unwrap().is_ok());
    let report = f.ws.audit_verify(vec![cp]).await.unwrap();
    let p = &report.problems[0];
    assert_eq!((p.kind, p.seq, p.until), (TamperKind::Rewrite, 1, Some(31)));
}

#[tokio::test]
async fn pruning_keeps_the_log_verifiable_from_its_anchor() {
    let f = fixture().await;
    f.append(20).await;
    let cp = f.ws.audit_checkpoint(1).await.unwrap().unwrap();
    let cutoff = covault_audit::now_ms() + 1;
    f.append(10).await;
    // Nothing is old enough relative to a cutoff before any checkpoint: no-op.
    let none = f.ws.audit_prune(0, &event("audit.prune", 0)).await.unwrap();
    assert_eq!(none.deleted, 0);
    let report =
        f.ws.audit_prune(cutoff, &event("audit.prune", 0))
            .await
            .unwrap();
    assert_eq!(
        (report.deleted, report.anchored_at),
        (cp.tree_size, cp.tree_size)
    );
    let report = f.ws.audit_verify(Vec::new()).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.anchored_at, 21);
    assert_eq!(
        report.events, 12,
        "10 appends, the no-op prune and the prune"
    );
    // Events after the anchor can still be proven included (the pruned prefix is its
    // frontier); pruned ones cannot.
    let cp = f.ws.audit_checkpoint(2).await.unwrap().unwrap();
    let key = f.ws.audit_public_key().unwrap();
    for seq in [22, 27, cp.tree_size] {
        let proof = f.ws.audit_proof(seq).await.unwrap();
        proof
            .check(&key)
            .unwrap_or_else(|e| panic!("event {seq}: {e}"));
        assert_eq!(proof.checkpoint, cp);
    }
    assert!(matches!(
        f.ws.audit_proof(5).await,
        Err(StoreError::NotFound(_))
    ));
    f.append(1).await;
    let beyond = cp.tree_size + 1;
    assert!(matches!(
        f.ws.audit_proof(beyond).await,
        Err(StoreError::NotCheckpointed { .. })
    ));
    // Events can still only be deleted by pruning.
    let conn = Connection::open(f.root.path().join("meta.db")).unwrap();
    assert!(
        conn.execute("DELETE FROM audit_events WHERE seq = 25", [])
            .is_err()
    );
    // Dropping the first event after the anchor is still found.
    f.db()
        .execute("DELETE FROM audit_events WHERE seq = 22", [])
        .unwrap();
    assert_eq!(f.first_problem().await.0, TamperKind::Deletion);
}

#[tokio::test]
async fn every_event_can_be_proven_included_under_the_newest_checkpoint() {
    let f = fixture().await;
    f.append(40).await;
    let cp = f.ws.audit_checkpoint(1).await.unwrap().unwrap();
    let key = f.ws.audit_public_key().unwrap();
    for seq in 1..=cp.tree_size {
        let proof = f.ws.audit_proof(seq).await.unwrap();
        proof
            .check(&key)
            .unwrap_or_else(|e| panic!("event {seq}: {e}"));
        // The proof's bytes are the event's own.
        assert!(proof.canonical.len() > 100);
    }
    // An edited event no longer matches the signed tree.
    let db = f.db();
    db.execute("UPDATE audit_events SET reason = 'x' WHERE seq = 17", [])
        .unwrap();
    let forged = f.ws.audit_proof(17).await;
    assert!(
        forged.map_or(true, |p| p.check(&key).is_err()),
        "a proof of an edited event does not check"
    );
}

#[tokio::test]
async fn events_from_before_the_chain_are_chained_on_open() {
    let f = fixture().await;
    f.append(12).await;
    let db = f.db();
    db.execute_batch(
        "UPDATE audit_events SET prev_hash = NULL, hash = NULL; \
         UPDATE audit_head SET seq = 0, hash = zeroblob(32);",
    )
    .unwrap();
    drop(db);
    let f = f.reopen().await;
    let report = f.ws.audit_verify(Vec::new()).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.events, 13);
    f.append(3).await;
    assert!(f.ws.audit_verify(Vec::new()).await.unwrap().is_ok());
    let _ = Path::new("");
}

#[tokio::test]
async fn the_signing_key_survives_reopening_and_rotation() {
    let f = fixture().await;
    let key = f.ws.audit_public_key().unwrap();
    f.append(3).await;
    f.ws.audit_checkpoint(1).await.unwrap().unwrap();
    let f = f.reopen().await;
    assert_eq!(f.ws.audit_public_key().unwrap(), key);
    let new_key = Zeroizing::new(generate_key_file().unwrap().as_bytes().to_vec());
    f.ws.rotate_kek(NewKekSource::KeyFile(new_key), &event("keys.rotate", 0))
        .await
        .unwrap();
    assert_eq!(
        f.ws.audit_public_key().unwrap(),
        key,
        "rotation re-wraps, it does not replace"
    );
    assert!(f.ws.audit_verify(Vec::new()).await.unwrap().is_ok());
}

#[tokio::test]
async fn a_kept_checkpoint_proves_the_log_was_only_appended_to() {
    let f = fixture().await;
    f.append(30).await;
    let kept = f.ws.audit_checkpoint(1).await.unwrap().unwrap();
    let key = f.ws.audit_public_key().unwrap();
    f.append(12).await;
    // Until another checkpoint is signed, the newest one is the kept one: an empty proof.
    let same = f.ws.audit_consistency(kept.tree_size).await.unwrap();
    assert!(same.path.is_empty() && same.checkpoint == kept);
    same.check(&kept, &key).unwrap();
    f.ws.audit_checkpoint(2).await.unwrap().unwrap();
    let proof = f.ws.audit_consistency(kept.tree_size).await.unwrap();
    proof.check(&kept, &key).unwrap();
    assert!(f.ws.audit_consistency(0).await.is_err());
    // Someone with database access rewrites event 10, re-chains the log and deletes the
    // stored checkpoints; the server then signs the rewritten history as if it were true.
    let db = f.db();
    rechain_from(&f, &db, 10, "an alibi").await;
    db.execute_batch("DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints;")
        .unwrap();
    f.ws.audit_checkpoint(3).await.unwrap().unwrap();
    // The kept checkpoint shows it: the signed log no longer extends it.
    let proof = f.ws.audit_consistency(kept.tree_size).await.unwrap();
    let refused = proof.check(&kept, &key).unwrap_err();
    assert!(refused.contains("history was changed"), "{refused}");
}
