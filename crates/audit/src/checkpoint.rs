//! Signed checkpoints: a statement, signed with the workspace's Ed25519 audit key, that the
//! log held `tree_size` events whose chain ended in `chain_hash` and whose Merkle tree has
//! `merkle_root`.
//!
//! Anyone holding the public key can check a checkpoint; a checkpoint copied outside the
//! workspace (a file, a collector) lets verification catch even a log that was rewritten and
//! re-chained by someone with database access. The signed message is a fixed binary layout
//! with a domain label, so it cannot be confused with anything else the key might sign.

use covault_crypto::{PublicKey, SigningKey};
use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::merkle::Frontier;

const LABEL: &[u8] = b"covault-audit-checkpoint-v1\n";

/// A signed statement about the log's state at `tree_size` events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Events covered: seq 1 ..= tree_size.
    pub tree_size: u64,
    #[serde(with = "hex32")]
    pub chain_hash: [u8; 32],
    #[serde(with = "hex32")]
    pub merkle_root: [u8; 32],
    pub at_ms: i64,
    /// The signer's public key (hex).
    pub public_key: String,
    /// Ed25519 signature (hex) of [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// Signs the state described by `frontier` and `chain_hash`.
    pub fn sign(key: &SigningKey, frontier: &Frontier, chain_hash: [u8; 32], at_ms: i64) -> Self {
        let mut cp = Checkpoint {
            tree_size: frontier.size(),
            chain_hash,
            merkle_root: frontier.root(),
            at_ms,
            public_key: key.public_key().to_hex(),
            signature: String::new(),
        };
        cp.signature = hex::encode(key.sign(&cp.message()));
        cp
    }

    /// The bytes the signature covers.
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(LABEL.len() + 8 + 32 + 32 + 8);
        m.extend_from_slice(LABEL);
        m.extend_from_slice(&self.tree_size.to_be_bytes());
        m.extend_from_slice(&self.chain_hash);
        m.extend_from_slice(&self.merkle_root);
        m.extend_from_slice(&self.at_ms.to_be_bytes());
        m
    }

    /// Checks the signature against `trusted` (and that the checkpoint names that key).
    pub fn verify_signature(&self, trusted: &PublicKey) -> Result<(), AuditError> {
        let named = PublicKey::from_hex(&self.public_key).map_err(|_| AuditError::BadField {
            field: "public_key",
            why: "not 64 hexadecimal characters".into(),
        })?;
        let signature = hex::decode(&self.signature).map_err(|_| AuditError::BadField {
            field: "signature",
            why: "not hexadecimal".into(),
        })?;
        if named != *trusted {
            return Err(AuditError::UntrustedKey {
                tree_size: self.tree_size,
                key: self.public_key.clone(),
            });
        }
        if !trusted.verifies(&self.message(), &signature) {
            return Err(AuditError::BadSignature {
                tree_size: self.tree_size,
            });
        }
        Ok(())
    }
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(D::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_checkpoints_verify_and_any_change_breaks_them() {
        let key = SigningKey::generate().unwrap();
        let mut f = Frontier::default();
        f.push([7u8; 32]);
        let cp = Checkpoint::sign(&key, &f, [9u8; 32], 1_000);
        let trusted = key.public_key();
        cp.verify_signature(&trusted).unwrap();
        let json = serde_json::to_string(&cp).unwrap();
        let back: Checkpoint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cp);
        let mut bad = cp.clone();
        bad.tree_size = 2;
        assert!(matches!(
            bad.verify_signature(&trusted),
            Err(AuditError::BadSignature { .. })
        ));
        let mut bad = cp.clone();
        bad.chain_hash[0] ^= 1;
        assert!(bad.verify_signature(&trusted).is_err());
        let other = SigningKey::generate().unwrap().public_key();
        assert!(matches!(
            cp.verify_signature(&other),
            Err(AuditError::UntrustedKey { .. })
        ));
    }
}
