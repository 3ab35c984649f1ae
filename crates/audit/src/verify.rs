//! Verifying the log: every event re-hashed, every link followed, every checkpoint checked,
//! and each problem located and named.
//!
//! [`Verifier`] consumes stored events in `seq` order (so a million events need no more memory
//! than a few vectors of integers) and classifies what it finds at the end:
//!
//! | kind | what the stored log shows |
//! |---|---|
//! | edit | an event's content no longer matches its own hashes |
//! | deletion | an intact event whose predecessor is nowhere in the log |
//! | insertion | events whose links lead around them: the chain skips them |
//! | reorder | an intact event whose predecessor appears *later* in the log |
//! | truncation | the log ends before a checkpoint or the chain head says it should |
//! | rewrite | links are consistent but a signed checkpoint disagrees (the log was re-chained) |
//! | checkpoint | a checkpoint whose signature or key does not verify |
//!
//! The pass/fail decision never depends on a heuristic: any mismatch is a problem. Only the
//! *naming* of a break uses lookups (by 64-bit hash prefixes, which suffice for naming).

use std::collections::VecDeque;

use covault_crypto::PublicKey;
use serde::Serialize;

use crate::chain::{ChainHasher, GENESIS};
use crate::checkpoint::Checkpoint;
use crate::merkle::Frontier;
use crate::{ChainHead, StoredEvent};

/// Most problems one report lists.
pub const MAX_PROBLEMS: usize = 1000;

/// What kind of change a problem shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TamperKind {
    Edit,
    Deletion,
    Insertion,
    Reorder,
    Truncation,
    Rewrite,
    Checkpoint,
}

impl TamperKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Edit => "edit",
            TamperKind::Deletion => "deletion",
            TamperKind::Insertion => "insertion",
            TamperKind::Reorder => "reorder",
            TamperKind::Truncation => "truncation",
            TamperKind::Rewrite => "rewrite",
            TamperKind::Checkpoint => "checkpoint",
        }
    }
}

/// One problem, located by event position (`seq`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: TamperKind,
    /// The first position affected.
    pub seq: u64,
    /// The last position affected, for a range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    pub message: String,
}

/// Where verification starts: from genesis, or from a trusted checkpoint and its frontier
/// (after retention pruned the events before it).
#[derive(Clone, Debug, Default)]
pub struct Anchor {
    pub tree_size: u64,
    pub chain_hash: [u8; 32],
    pub frontier: Frontier,
}

impl Anchor {
    pub fn genesis() -> Self {
        Self {
            tree_size: 0,
            chain_hash: GENESIS,
            frontier: Frontier::default(),
        }
    }
}

/// The result of a verification pass.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Position of the first event checked minus one (0 from genesis).
    pub anchored_at: u64,
    pub last_seq: u64,
    pub checkpoints_checked: u64,
    /// Hex Merkle root over every event up to the last one.
    pub merkle_root: String,
    pub problems: Vec<Problem>,
    /// More problems were found than listed.
    pub truncated_list: bool,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Break {
    pos: u64,
    seq: u64,
    self_ok: bool,
    prev: u64,
    /// The previous event's seq, when the row's seq does not follow it.
    gap_after: Option<u64>,
}

/// A stored event reduced to what verification needs: its position, its stored links, its
/// leaf hash and the chain hash recomputed from its content and stored predecessor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashedEvent {
    pub seq: u64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
    pub leaf: [u8; 32],
    pub recomputed: [u8; 32],
}

impl HashedEvent {
    pub fn new(seq: u64, prev_hash: [u8; 32], hash: [u8; 32], leaf: [u8; 32]) -> Self {
        Self {
            seq,
            prev_hash,
            hash,
            leaf,
            recomputed: crate::chain_hash(&prev_hash, &leaf),
        }
    }
}

/// Checks a log, one stored event at a time.
pub struct Verifier {
    hasher: ChainHasher,
    frontier: Frontier,
    anchored_at: u64,
    last_seq: u64,
    last_hash: [u8; 32],
    /// The previous event's chain hash recomputed from its content (its stored hash may be
    /// the edited part).
    last_recomputed: [u8; 32],
    /// `(seq, hash prefix, prev prefix)` of every event by position, for naming breaks.
    rows: Vec<(u64, u64, u64)>,
    /// Sorted `(prefix, position)` indexes over `rows`, built only when there are breaks.
    hashes: Vec<(u64, u64)>,
    prevs: Vec<(u64, u64)>,
    breaks: Vec<Break>,
    checkpoints: VecDeque<Checkpoint>,
    last_checkpoint: u64,
    checkpoints_checked: u64,
    trusted: Option<PublicKey>,
    problems: Vec<Problem>,
}

fn prefix(hash: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(b)
}

impl Verifier {
    /// A verifier starting at `anchor`, checking `checkpoints` (any order) against
    /// `trusted` when given.
    pub fn new(
        anchor: Anchor,
        mut checkpoints: Vec<Checkpoint>,
        trusted: Option<PublicKey>,
    ) -> Self {
        checkpoints.sort_by_key(|c| c.tree_size);
        let mut v = Self {
            hasher: ChainHasher::default(),
            anchored_at: anchor.tree_size,
            last_seq: anchor.tree_size,
            last_hash: anchor.chain_hash,
            last_recomputed: anchor.chain_hash,
            frontier: anchor.frontier,
            rows: Vec::new(),
            hashes: Vec::new(),
            prevs: Vec::new(),
            breaks: Vec::new(),
            checkpoints: VecDeque::new(),
            last_checkpoint: anchor.tree_size,
            checkpoints_checked: 0,
            trusted,
            problems: Vec::new(),
        };
        for cp in checkpoints {
            v.check_signature(&cp);
            if cp.tree_size > v.anchored_at {
                v.checkpoints.push_back(cp);
            }
        }
        v
    }

    fn check_signature(&mut self, cp: &Checkpoint) {
        if let Some(trusted) = &self.trusted
            && let Err(e) = cp.verify_signature(trusted)
        {
            self.problem(TamperKind::Checkpoint, cp.tree_size, None, e.to_string());
        }
    }

    fn problem(&mut self, kind: TamperKind, seq: u64, until: Option<u64>, message: String) {
        self.problems.push(Problem {
            kind,
            seq,
            until,
            message,
        });
    }

    /// Position (1-based, from genesis) of the next event.
    fn next_pos(&self) -> u64 {
        self.frontier.size() + 1
    }

    /// Checks the next stored event.
    pub fn feed(&mut self, e: &StoredEvent) {
        let leaf = self.hasher.leaf(&e.columns);
        self.feed_hashed(&HashedEvent::new(e.seq, e.prev_hash, e.hash, leaf));
    }

    /// Checks the next stored event, already hashed (by readers working in parallel).
    pub fn feed_hashed(&mut self, e: &HashedEvent) {
        let pos = self.next_pos();
        let (leaf, recomputed) = (e.leaf, e.recomputed);
        let self_ok = recomputed == e.hash;
        let link_ok = e.prev_hash == self.last_hash || e.prev_hash == self.last_recomputed;
        let seq_ok = e.seq == self.last_seq + 1;
        if !self_ok || !link_ok {
            self.breaks.push(Break {
                pos,
                seq: e.seq,
                self_ok,
                prev: prefix(&e.prev_hash),
                gap_after: (!seq_ok).then_some(self.last_seq),
            });
        } else if !seq_ok {
            let last = self.last_seq;
            self.problem(
                TamperKind::Edit,
                e.seq,
                None,
                format!(
                    "event {} follows event {last} in the chain but its position was changed",
                    e.seq
                ),
            );
        }
        self.rows
            .push((e.seq, prefix(&e.hash), prefix(&e.prev_hash)));
        self.frontier.push(leaf);
        self.last_seq = e.seq;
        self.last_hash = e.hash;
        self.last_recomputed = recomputed;
        self.check_due_checkpoints();
    }

    fn check_due_checkpoints(&mut self) {
        while let Some(cp) = self.checkpoints.front() {
            if cp.tree_size > self.frontier.size() {
                break;
            }
            let Some(cp) = self.checkpoints.pop_front() else {
                break;
            };
            self.checkpoints_checked += 1;
            let root_ok = self.frontier.root() == cp.merkle_root;
            let chain_ok = self.last_hash == cp.chain_hash || self.last_recomputed == cp.chain_hash;
            let from = self.last_checkpoint + 1;
            // A break inside the range already explains a mismatch, and locates it better.
            let explained = self
                .breaks
                .iter()
                .any(|b| (from..=cp.tree_size).contains(&b.pos))
                || self
                    .problems
                    .iter()
                    .any(|p| (from..=cp.tree_size).contains(&p.seq));
            let matches = root_ok && chain_ok;
            if !explained && !matches {
                self.problem(
                    TamperKind::Rewrite,
                    from,
                    Some(cp.tree_size),
                    format!(
                        "events {from}..={} do not match the checkpoint signed at {} ({})",
                        cp.tree_size,
                        crate::format_rfc3339(cp.at_ms),
                        if root_ok {
                            "chain hash differs"
                        } else {
                            "Merkle root differs"
                        },
                    ),
                );
            }
            self.last_checkpoint = cp.tree_size;
        }
    }

    /// Ends the pass. `head` is the chain head the writer recorded, when known.
    pub fn finish(mut self, head: Option<ChainHead>) -> VerifyReport {
        let size = self.frontier.size();
        if let Some(cp) = self.checkpoints.back().cloned() {
            self.problem(
                TamperKind::Truncation,
                size + 1,
                Some(cp.tree_size),
                format!(
                    "the log ends after {size} events but a checkpoint signed at {} covers {}",
                    crate::format_rfc3339(cp.at_ms),
                    cp.tree_size
                ),
            );
        }
        if let Some(head) = head {
            self.check_head(head);
        }
        self.classify_breaks();
        self.problems.sort_by_key(|p| (p.seq, p.kind.as_str()));
        let truncated_list = self.problems.len() > MAX_PROBLEMS;
        self.problems.truncate(MAX_PROBLEMS);
        VerifyReport {
            events: size - self.anchored_at,
            anchored_at: self.anchored_at,
            last_seq: self.last_seq,
            checkpoints_checked: self.checkpoints_checked,
            merkle_root: hex::encode(self.frontier.root()),
            problems: self.problems,
            truncated_list,
        }
    }

    fn check_head(&mut self, head: ChainHead) {
        let last = self.last_seq;
        if head.seq > last {
            self.problem(
                TamperKind::Truncation,
                last + 1,
                Some(head.seq),
                format!(
                    "the log ends at event {last} but the chain head is event {}",
                    head.seq
                ),
            );
        } else if head.seq < last {
            self.problem(
                TamperKind::Insertion,
                head.seq + 1,
                Some(last),
                format!(
                    "events {}..={last} come after the recorded chain head (event {})",
                    head.seq + 1,
                    head.seq
                ),
            );
        } else if head.hash != self.last_hash {
            self.problem(
                TamperKind::Rewrite,
                last,
                None,
                format!("event {last} does not match the recorded chain head"),
            );
        }
    }

    fn classify_breaks(&mut self) {
        if self.breaks.is_empty() {
            return;
        }
        let first = self.anchored_at + 1;
        let mut hashes: Vec<(u64, u64)> = Vec::with_capacity(self.rows.len());
        let mut prevs: Vec<(u64, u64)> = Vec::with_capacity(self.rows.len());
        for (pos, (_, hash, prev)) in (first..).zip(&self.rows) {
            hashes.push((*hash, pos));
            prevs.push((*prev, pos));
        }
        hashes.sort_unstable();
        prevs.sort_unstable();
        self.hashes = hashes;
        self.prevs = prevs;
        let breaks = std::mem::take(&mut self.breaks);
        // Ranges already explained as insertions: edits inside them are part of that story.
        let mut inserted: Vec<(u64, u64)> = Vec::new();
        let mut named = Vec::new();
        for b in &breaks {
            if b.self_ok {
                named.push(self.name_link_break(b, &mut inserted));
            }
        }
        for b in &breaks {
            if !b.self_ok && !inserted.iter().any(|(lo, hi)| (*lo..=*hi).contains(&b.pos)) {
                named.push(Problem {
                    kind: TamperKind::Edit,
                    seq: b.seq,
                    until: None,
                    message: format!(
                        "event {} was changed after it was written: its content no longer matches its hash",
                        b.seq
                    ),
                });
            }
        }
        self.problems.extend(named);
    }

    fn row_at(&self, pos: u64) -> Option<&(u64, u64, u64)> {
        let index = pos.checked_sub(self.anchored_at + 1)?;
        self.rows.get(usize::try_from(index).ok()?)
    }

    fn seq_at(&self, pos: u64) -> u64 {
        self.row_at(pos).map_or(pos, |r| r.0)
    }

    fn positions_with(list: &[(u64, u64)], key: u64) -> impl Iterator<Item = u64> + '_ {
        let start = list.partition_point(|(k, _)| *k < key);
        list[start..]
            .iter()
            .take_while(move |(k, _)| *k == key)
            .map(|(_, p)| *p)
    }

    /// Names a break where the event is intact but does not follow its predecessor.
    fn name_link_break(&self, b: &Break, inserted: &mut Vec<(u64, u64)>) -> Problem {
        let found: Vec<u64> = Self::positions_with(&self.hashes, b.prev).collect();
        if let Some(later) = found.iter().copied().find(|p| *p > b.pos) {
            let after = self.seq_at(later);
            return Problem {
                kind: TamperKind::Reorder,
                seq: b.seq,
                until: None,
                message: format!("event {} was moved: it belongs after event {after}", b.seq),
            };
        }
        if let Some(earlier) = found.iter().copied().filter(|p| *p < b.pos).max() {
            let (lo, hi) = (earlier + 1, b.pos - 1);
            if self.range_is_referenced_elsewhere(lo, hi) {
                let after = self.seq_at(earlier);
                return Problem {
                    kind: TamperKind::Reorder,
                    seq: b.seq,
                    until: None,
                    message: format!("event {} was moved: it belongs after event {after}", b.seq),
                };
            }
            inserted.push((lo, hi));
            let (first, last) = (self.seq_at(lo), self.seq_at(hi));
            return Problem {
                kind: TamperKind::Insertion,
                seq: first,
                until: Some(last),
                message: format!(
                    "events {first}..={last} are not part of the chain: they were inserted"
                ),
            };
        }
        match b.gap_after {
            Some(last) if b.seq > last + 1 => Problem {
                kind: TamperKind::Deletion,
                seq: last + 1,
                until: Some(b.seq - 1),
                message: format!("events {}..={} were deleted", last + 1, b.seq - 1),
            },
            _ => Problem {
                kind: TamperKind::Deletion,
                seq: b.seq,
                until: None,
                message: format!(
                    "one or more events before event {} were deleted (and the later ones renumbered)",
                    b.seq
                ),
            },
        }
    }

    /// Whether any event in positions `lo..=hi` is the predecessor of an event outside them:
    /// genuine events that were moved, rather than forged ones that were slipped in.
    fn range_is_referenced_elsewhere(&self, lo: u64, hi: u64) -> bool {
        if hi < lo {
            return false;
        }
        let span = (hi - lo + 1).min(100_000);
        (lo..lo + span).any(|pos| {
            let Some((_, hash, _)) = self.row_at(pos) else {
                return false;
            };
            Self::positions_with(&self.prevs, *hash).any(|p| p < lo || p > hi + 1)
        })
    }
}
