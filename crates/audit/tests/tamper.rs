//! Tampering with a stored log — edits, deletions, insertions, reorders, truncation and
//! wholesale re-chaining — is detected and located in every case (issue 5).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use covault_audit::{
    Anchor, AuditEvent, ChainHasher, ChainHead, Checkpoint, Frontier, StoredEvent, TamperKind,
    Verifier,
};
use covault_crypto::SigningKey;
use proptest::prelude::*;

fn log(n: u64) -> (Vec<StoredEvent>, ChainHead) {
    let mut hasher = ChainHasher::default();
    let mut head = ChainHead::EMPTY;
    let events = (0..n)
        .map(|i| {
            let mut e = AuditEvent::new(if i % 3 == 0 {
                "file.write"
            } else {
                "file.read"
            });
            e.principal = Some(format!("usr_{}", i % 7));
            e.path = Some(format!("/docs/{i}.txt"));
            e.at_ms = 1_700_000_000_000 + i as i64;
            e.detail = serde_json::json!({ "size": i * 10 });
            let columns = e.to_columns();
            let (seq, prev_hash, hash) = head.append(&mut hasher, &columns);
            StoredEvent {
                seq,
                prev_hash,
                hash,
                columns,
            }
        })
        .collect();
    (events, head)
}

fn checkpoint_at(events: &[StoredEvent], size: usize, key: &SigningKey) -> Checkpoint {
    let mut hasher = ChainHasher::default();
    let mut f = Frontier::default();
    for e in &events[..size] {
        f.push(hasher.leaf(&e.columns));
    }
    Checkpoint::sign(key, &f, events[size - 1].hash, 1_700_000_000_000)
}

fn verify(
    events: &[StoredEvent],
    head: Option<ChainHead>,
    checkpoints: Vec<Checkpoint>,
    key: Option<&SigningKey>,
) -> covault_audit::VerifyReport {
    let mut v = Verifier::new(Anchor::genesis(), checkpoints, key.map(|k| k.public_key()));
    for e in events {
        v.feed(e);
    }
    v.finish(head)
}

fn first(report: &covault_audit::VerifyReport) -> (TamperKind, u64) {
    let p = report.problems.first().expect("a problem is reported");
    (p.kind, p.seq)
}

fn renumber(events: &mut [StoredEvent]) {
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
}

#[test]
fn an_untouched_log_verifies() {
    let key = SigningKey::generate().unwrap();
    let (events, head) = log(300);
    let cps = vec![
        checkpoint_at(&events, 100, &key),
        checkpoint_at(&events, 300, &key),
    ];
    let report = verify(&events, Some(head), cps, Some(&key));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.events, 300);
    assert_eq!(report.checkpoints_checked, 2);
    assert!(verify(&[], Some(ChainHead::EMPTY), vec![], None).is_ok());
}

#[test]
fn a_forged_or_foreign_checkpoint_is_reported() {
    let key = SigningKey::generate().unwrap();
    let (events, head) = log(10);
    let mut cp = checkpoint_at(&events, 10, &key);
    cp.at_ms += 1;
    let report = verify(&events, Some(head), vec![cp], Some(&key));
    assert_eq!(first(&report), (TamperKind::Checkpoint, 10));
    let other = SigningKey::generate().unwrap();
    let cp = checkpoint_at(&events, 10, &other);
    let report = verify(&events, Some(head), vec![cp], Some(&key));
    assert_eq!(first(&report).0, TamperKind::Checkpoint);
}

#[test]
fn a_rechained_rewrite_is_caught_by_the_next_checkpoint() {
    let key = SigningKey::generate().unwrap();
    let (mut events, _) = log(200);
    let cps = vec![
        checkpoint_at(&events, 50, &key),
        checkpoint_at(&events, 150, &key),
    ];
    // Someone with database access edits event 80 and recomputes every hash after it.
    events[79].columns.reason = "nothing to see".into();
    let mut hasher = ChainHasher::default();
    let mut head = ChainHead {
        seq: 79,
        hash: events[78].hash,
    };
    for e in &mut events[79..] {
        let (seq, prev, hash) = head.append(&mut hasher, &e.columns);
        (e.seq, e.prev_hash, e.hash) = (seq, prev, hash);
    }
    let report = verify(&events, Some(head), cps, Some(&key));
    let p = &report.problems[0];
    assert_eq!(
        (p.kind, p.seq, p.until),
        (TamperKind::Rewrite, 51, Some(150))
    );
}

#[derive(Clone, Debug)]
enum Tamper {
    Edit(usize),
    EditHash(usize),
    EditPrev(usize),
    Delete(usize, usize),
    DeleteRenumbered(usize, usize),
    InsertForged(usize, bool),
    Swap(usize, usize),
    Move(usize, usize),
    Truncate(usize),
}

fn tamper_strategy(n: usize) -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (1..n - 1).prop_map(Tamper::Edit),
        (1..n - 1).prop_map(Tamper::EditHash),
        (1..n - 1).prop_map(Tamper::EditPrev),
        (1..n - 5, 1..5usize).prop_map(|(i, k)| Tamper::Delete(i, k)),
        (1..n - 5, 1..5usize).prop_map(|(i, k)| Tamper::DeleteRenumbered(i, k)),
        (1..n - 1, any::<bool>()).prop_map(|(i, chained)| Tamper::InsertForged(i, chained)),
        (1..n / 2, n / 2..n - 1).prop_map(|(a, b)| Tamper::Swap(a, b)),
        (1..n / 2, n / 2..n - 1).prop_map(|(a, b)| Tamper::Move(a, b)),
        (1..20usize).prop_map(Tamper::Truncate),
    ]
}

/// Applies `t`; returns the kinds that correctly name it and the position it must be located at.
fn apply(events: &mut Vec<StoredEvent>, t: &Tamper) -> (Vec<TamperKind>, u64) {
    use TamperKind::*;
    match *t {
        Tamper::Edit(i) => {
            events[i].columns.outcome = "denied".into();
            (vec![Edit], i as u64 + 1)
        }
        Tamper::EditHash(i) => {
            events[i].hash[5] ^= 0x40;
            (vec![Edit], i as u64 + 1)
        }
        Tamper::EditPrev(i) => {
            events[i].prev_hash[0] ^= 1;
            (vec![Edit], i as u64 + 1)
        }
        Tamper::Delete(i, k) => {
            events.drain(i..i + k);
            (vec![Deletion], i as u64 + 1)
        }
        Tamper::DeleteRenumbered(i, k) => {
            events.drain(i..i + k);
            renumber(events);
            (vec![Deletion], i as u64 + 1)
        }
        Tamper::InsertForged(i, chained) => {
            let mut e = AuditEvent::new("file.read");
            e.principal = Some("usr_alibi".into());
            let columns = e.to_columns();
            let prev = events[i - 1].hash;
            let hash = if chained {
                ChainHasher::default().link(&prev, &columns).1
            } else {
                [0x55; 32]
            };
            events.insert(
                i,
                StoredEvent {
                    seq: 0,
                    prev_hash: prev,
                    hash,
                    columns,
                },
            );
            renumber(events);
            (vec![Insertion], i as u64 + 1)
        }
        Tamper::Swap(a, b) => {
            let (sa, sb) = (events[a].seq, events[b].seq);
            events.swap(a, b);
            events[a].seq = sa;
            events[b].seq = sb;
            (vec![Reorder], a as u64 + 1)
        }
        Tamper::Move(a, b) => {
            let e = events.remove(a);
            events.insert(b, e);
            renumber(events);
            (vec![Reorder], a as u64 + 1)
        }
        Tamper::Truncate(k) => {
            let keep = events.len() - k;
            events.truncate(keep);
            (vec![Truncation], keep as u64 + 1)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn every_tampering_is_detected_named_and_located(t in tamper_strategy(120)) {
        let key = SigningKey::generate().unwrap();
        let (mut events, head) = log(120);
        let cps = vec![checkpoint_at(&events, 120, &key)];
        let (kinds, at) = apply(&mut events, &t);
        let report = verify(&events, Some(head), cps, Some(&key));
        prop_assert!(!report.is_ok(), "{t:?} went unnoticed");
        let (kind, seq) = first(&report);
        prop_assert!(kinds.contains(&kind), "{t:?}: first problem {kind:?} at {seq}: {:?}", report.problems);
        prop_assert_eq!(seq, at, "{:?}: {:?}", t, report.problems);
    }
}

#[test]
fn verification_resumes_from_an_anchor_after_pruning() {
    let key = SigningKey::generate().unwrap();
    let (events, head) = log(100);
    let mut hasher = ChainHasher::default();
    let mut frontier = Frontier::default();
    for e in &events[..40] {
        frontier.push(hasher.leaf(&e.columns));
    }
    let anchor_cp = Checkpoint::sign(&key, &frontier, events[39].hash, 1);
    let later = checkpoint_at(&events, 100, &key);
    let anchor = Anchor {
        tree_size: 40,
        chain_hash: anchor_cp.chain_hash,
        frontier,
    };
    let mut v = Verifier::new(
        anchor.clone(),
        vec![anchor_cp, later.clone()],
        Some(key.public_key()),
    );
    for e in &events[40..] {
        v.feed(e);
    }
    let report = v.finish(Some(head));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.events, report.checkpoints_checked), (60, 1));
    // Dropping the first event after the anchor is still a deletion at 41.
    let mut v = Verifier::new(anchor, vec![later], Some(key.public_key()));
    for e in &events[41..] {
        v.feed(e);
    }
    let report = v.finish(Some(head));
    assert_eq!(first(&report), (TamperKind::Deletion, 41));
}
