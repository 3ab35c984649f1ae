//! The hash chain: how an event's bytes are fixed, and how each event is bound to the one
//! before it.
//!
//! - The *leaf hash* of an event is RFC 9162's: `SHA-256(0x00 || canonical bytes)`. The same
//!   value is the event's leaf in the Merkle tree that checkpoints sign (`merkle.rs`).
//! - The *chain hash* is `SHA-256(0x02 || "covault-audit-chain-v1" || previous chain hash ||
//!   leaf hash)`, starting from [`GENESIS`] (32 zero bytes). Each stored event keeps its
//!   predecessor's chain hash and its own, so verification can tell an edited event (its two
//!   hashes disagree with its content) from a missing, inserted or moved one (its links point
//!   elsewhere).
//!
//! The canonical encoding is a version byte, then every column in a fixed order, each as
//! `0x00` (absent) or `0x01`, a big-endian length or value, and the bytes. Distinct events can
//! never encode alike. The position (`seq`) is not part of it: the chain and the tree bind it.

use covault_crypto::sha256;

use crate::EventColumns;

/// The chain hash before the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

const ENCODING_VERSION: u8 = 1;
const CHAIN_LABEL: &[u8] = b"covault-audit-chain-v1";

/// An event's stored columns as raw bytes, borrowed: what a reader can hash without decoding
/// or allocating. `texts` are, in order: principal, token id, session id, action, path, tier,
/// outcome, reason, request id, correlation id, remote address, user agent, detail, ext.
#[derive(Clone, Copy, Debug)]
pub struct RawColumns<'a> {
    pub at_ms: i64,
    pub version: Option<i64>,
    pub texts: [Option<&'a [u8]>; 14],
}

impl EventColumns {
    /// The columns as borrowed bytes.
    pub fn raw(&self) -> RawColumns<'_> {
        fn t(v: &Option<String>) -> Option<&[u8]> {
            v.as_deref().map(str::as_bytes)
        }
        RawColumns {
            at_ms: self.at_ms,
            version: self.version,
            texts: [
                t(&self.principal),
                t(&self.token_id),
                t(&self.session_id),
                Some(self.action.as_bytes()),
                t(&self.path),
                t(&self.tier),
                Some(self.outcome.as_bytes()),
                Some(self.reason.as_bytes()),
                t(&self.request_id),
                t(&self.correlation_id),
                t(&self.remote_addr),
                t(&self.user_agent),
                Some(self.detail.as_bytes()),
                Some(self.ext.as_bytes()),
            ],
        }
    }
}

/// Appends the canonical bytes of an event's columns to `out`.
pub fn canonical_bytes(c: &EventColumns, out: &mut Vec<u8>) {
    canonical_raw(&c.raw(), out);
}

/// Appends the canonical bytes of raw columns to `out`: the version byte, then at_ms, the
/// first five texts, the version, and the other nine texts.
pub fn canonical_raw(c: &RawColumns<'_>, out: &mut Vec<u8>) {
    out.push(ENCODING_VERSION);
    put_int(out, Some(c.at_ms));
    for text in &c.texts[..5] {
        put_text(out, *text);
    }
    put_int(out, c.version);
    for text in &c.texts[5..] {
        put_text(out, *text);
    }
}

fn put_int(out: &mut Vec<u8>, value: Option<i64>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

fn put_text(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            out.extend_from_slice(&(text.len() as u64).to_be_bytes());
            out.extend_from_slice(text);
        }
    }
}

/// Hashes events, reusing one buffer.
#[derive(Default)]
pub struct ChainHasher {
    buf: Vec<u8>,
}

impl ChainHasher {
    /// RFC 9162 leaf hash of an event.
    pub fn leaf(&mut self, c: &EventColumns) -> [u8; 32] {
        self.leaf_raw(&c.raw())
    }

    /// RFC 9162 leaf hash of an event's raw columns.
    pub fn leaf_raw(&mut self, c: &RawColumns<'_>) -> [u8; 32] {
        self.buf.clear();
        self.buf.push(0x00);
        canonical_raw(c, &mut self.buf);
        sha256(&self.buf)
    }

    /// The event's leaf hash and its chain hash after `prev`.
    pub fn link(&mut self, prev: &[u8; 32], c: &EventColumns) -> ([u8; 32], [u8; 32]) {
        let leaf = self.leaf(c);
        (leaf, chain_hash(prev, &leaf))
    }
}

/// The chain hash of an event with leaf hash `leaf` after one with chain hash `prev`.
pub fn chain_hash(prev: &[u8; 32], leaf: &[u8; 32]) -> [u8; 32] {
    let mut input = [0u8; 1 + 22 + 64];
    input[0] = 0x02;
    input[1..23].copy_from_slice(CHAIN_LABEL);
    input[23..55].copy_from_slice(prev);
    input[55..].copy_from_slice(leaf);
    sha256(&input)
}

/// The chain as the writer keeps it: the last event's position and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl ChainHead {
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        hash: GENESIS,
    };

    /// Appends an event: its position, predecessor hash and chain hash.
    pub fn append(
        &mut self,
        hasher: &mut ChainHasher,
        c: &EventColumns,
    ) -> (u64, [u8; 32], [u8; 32]) {
        self.append_leaf(&hasher.leaf(c))
    }

    /// Appends an event whose leaf hash is already known.
    pub fn append_leaf(&mut self, leaf: &[u8; 32]) -> (u64, [u8; 32], [u8; 32]) {
        let prev = self.hash;
        self.seq += 1;
        self.hash = chain_hash(&prev, leaf);
        (self.seq, prev, self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditEvent;

    #[test]
    fn encoding_distinguishes_absent_from_empty_and_field_boundaries() {
        let mut a = AuditEvent::new("x").to_columns();
        let mut b = a.clone();
        a.path = None;
        b.path = Some(String::new());
        let bytes = |c: &EventColumns| {
            let mut out = Vec::new();
            canonical_bytes(c, &mut out);
            out
        };
        assert_ne!(bytes(&a), bytes(&b));
        a.path = Some("ab".into());
        a.reason = "c".into();
        b.path = Some("a".into());
        b.reason = "bc".into();
        assert_ne!(bytes(&a), bytes(&b));
    }

    #[test]
    fn chain_links_depend_on_everything_before() {
        let mut h = ChainHasher::default();
        let e = AuditEvent::new("file.read").to_columns();
        let mut head = ChainHead::EMPTY;
        let (s1, p1, h1) = head.append(&mut h, &e);
        let (s2, p2, h2) = head.append(&mut h, &e);
        assert_eq!((s1, s2), (1, 2));
        assert_eq!(p1, GENESIS);
        assert_eq!(p2, h1);
        assert_ne!(h1, h2, "the same event twice gives different chain hashes");
    }
}
