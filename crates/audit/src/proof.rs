//! Inclusion proofs: evidence, checkable by anyone with the public key, that one event is in
//! the log a signed checkpoint describes — without revealing any other event.
//!
//! A proof carries the event's canonical bytes (ids, paths, counts: what the log holds), its
//! RFC 9162 audit path and the checkpoint. Checking it recomputes the leaf hash from the
//! bytes, walks the path to the root and checks the checkpoint's signature.

use covault_crypto::{PublicKey, sha256};
use serde::{Deserialize, Serialize};

use crate::Checkpoint;
use crate::merkle::{verify_consistency, verify_inclusion};

/// One event's proof of inclusion under a signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The event's position (its leaf is `seq - 1`).
    pub seq: u64,
    /// Hex of the event's canonical bytes (`chain.rs`): the leaf is `SHA-256(0x00 || bytes)`.
    pub canonical: String,
    /// Hex hashes from the leaf's sibling up to the root's children (RFC 9162 `PATH`).
    pub audit_path: Vec<String>,
    pub checkpoint: Checkpoint,
}

impl InclusionProof {
    /// Builds a proof from its parts.
    pub fn new(seq: u64, canonical: &[u8], path: &[[u8; 32]], checkpoint: Checkpoint) -> Self {
        Self {
            seq,
            canonical: hex::encode(canonical),
            audit_path: path.iter().map(hex::encode).collect(),
            checkpoint,
        }
    }

    /// Checks the proof against `trusted`; the error says which part failed.
    pub fn check(&self, trusted: &PublicKey) -> Result<(), String> {
        self.checkpoint
            .verify_signature(trusted)
            .map_err(|e| e.to_string())?;
        let canonical = hex::decode(&self.canonical).map_err(|_| "`canonical` is not hex")?;
        let mut leaf_input = Vec::with_capacity(canonical.len() + 1);
        leaf_input.push(0x00);
        leaf_input.extend_from_slice(&canonical);
        let leaf = sha256(&leaf_input);
        let path = decode_hashes(&self.audit_path, "audit_path")?;
        let index = self.seq.checked_sub(1).ok_or("`seq` starts at 1")?;
        if verify_inclusion(
            &leaf,
            index,
            self.checkpoint.tree_size,
            &path,
            &self.checkpoint.merkle_root,
        ) {
            Ok(())
        } else {
            Err(format!(
                "event {} is not included in the tree of {} events this checkpoint signs",
                self.seq, self.checkpoint.tree_size
            ))
        }
    }
}

/// Evidence that the log a newer checkpoint signs extends the one an older checkpoint
/// signed: nothing before it was changed, removed or reordered (RFC 9162 consistency proof).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The older tree's size (the holder of its checkpoint supplies its root).
    pub from: u64,
    /// Hex hashes of RFC 9162 `PROOF(from, D[to])`.
    pub path: Vec<String>,
    /// The newer checkpoint.
    pub checkpoint: Checkpoint,
}

impl ConsistencyProof {
    pub fn new(from: u64, path: &[[u8; 32]], checkpoint: Checkpoint) -> Self {
        Self {
            from,
            path: path.iter().map(hex::encode).collect(),
            checkpoint,
        }
    }

    /// Checks that `older` (a checkpoint kept elsewhere) and this proof's checkpoint are both
    /// signed by `trusted`, and that the newer tree extends the older one.
    pub fn check(&self, older: &Checkpoint, trusted: &PublicKey) -> Result<(), String> {
        older.verify_signature(trusted).map_err(|e| e.to_string())?;
        self.checkpoint
            .verify_signature(trusted)
            .map_err(|e| e.to_string())?;
        if older.tree_size != self.from {
            return Err(format!(
                "the proof starts at {} events, the kept checkpoint covers {}",
                self.from, older.tree_size
            ));
        }
        let path = decode_hashes(&self.path, "path")?;
        let new = &self.checkpoint;
        if verify_consistency(
            older.tree_size,
            new.tree_size,
            &older.merkle_root,
            &new.merkle_root,
            &path,
        ) {
            Ok(())
        } else {
            Err(format!(
                "the log of {} events does not extend the one of {} events: its history was changed",
                new.tree_size, older.tree_size
            ))
        }
    }
}

/// Hex hashes of a proof's path, refusing anything that is not 32 bytes.
fn decode_hashes(hashes: &[String], field: &str) -> Result<Vec<[u8; 32]>, String> {
    hashes
        .iter()
        .map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h, &mut out).map(|()| out)
        })
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{field}` holds a value that is not a 32-byte hex hash"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditEvent, ChainHasher, Frontier, canonical_bytes, merkle};
    use covault_crypto::SigningKey;

    #[test]
    fn proofs_check_and_any_change_is_refused() {
        let key = SigningKey::generate().unwrap();
        let columns: Vec<_> = (0..9)
            .map(|i| {
                let mut e = AuditEvent::new("file.read");
                e.path = Some(format!("/p/{i}"));
                e.to_columns()
            })
            .collect();
        let mut hasher = ChainHasher::default();
        let leaves: Vec<_> = columns.iter().map(|c| hasher.leaf(c)).collect();
        let mut f = Frontier::default();
        leaves.iter().for_each(|l| f.push(*l));
        let cp = Checkpoint::sign(&key, &f, [1u8; 32], 5);
        let mut bytes = Vec::new();
        canonical_bytes(&columns[4], &mut bytes);
        let path = merkle::inclusion_proof(&leaves, 4).unwrap();
        let proof = InclusionProof::new(5, &bytes, &path, cp);
        proof.check(&key.public_key()).unwrap();
        let json = serde_json::to_string(&proof).unwrap();
        assert_eq!(
            serde_json::from_str::<InclusionProof>(&json).unwrap(),
            proof
        );
        let mut moved = proof.clone();
        moved.seq = 6;
        assert!(moved.check(&key.public_key()).is_err());
        let mut edited = proof.clone();
        let mut raw = hex::decode(&edited.canonical).unwrap();
        let middle = raw.len() / 2;
        raw[middle] ^= 1;
        edited.canonical = hex::encode(raw);
        assert!(edited.check(&key.public_key()).is_err());
        let other = SigningKey::generate().unwrap().public_key();
        assert!(proof.check(&other).is_err());
    }
}
