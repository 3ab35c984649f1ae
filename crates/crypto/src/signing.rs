//! Ed25519 signing keys for audit checkpoints.
//!
//! The private half is a 32-byte seed that lives in the keyring only wrapped under the KEK
//! (like the content-hash key) and is zeroized when dropped; the public half is stored in the
//! clear beside each checkpoint and can be handed to anyone who needs to check one. Signing and
//! verification are aws-lc-rs's; nothing here is hand-rolled.

use std::fmt;

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::{CryptoError, random_array};

/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 private key (from its 32-byte seed).
pub struct SigningKey {
    seed: Zeroizing<[u8; 32]>,
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, [redacted])", self.public_key())
    }
}

impl SigningKey {
    /// A fresh key from the system CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        Self::from_seed(Zeroizing::new(random_array::<32>()?))
    }

    /// The key for a stored (unwrapped) seed.
    pub fn from_seed(seed: Zeroizing<[u8; 32]>) -> Result<Self, CryptoError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.as_slice()).map_err(|_| {
            CryptoError::Integrity {
                what: "signing key",
            }
        })?;
        Ok(Self { seed, pair })
    }

    pub(crate) fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    pub fn public_key(&self) -> PublicKey {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(out)
    }

    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

impl PublicKey {
    pub fn from_bytes(bytes: [u8; PUBLIC_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        hex::decode_to_slice(text.trim(), &mut out).map_err(|_| CryptoError::PublicKeyFormat)?;
        Ok(Self(out))
    }

    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, self.0)
            .verify(message, signature)
            .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::generate().unwrap();
        let sig = key.sign(b"checkpoint");
        let public = key.public_key();
        assert!(public.verifies(b"checkpoint", &sig));
        assert!(!public.verifies(b"checkpoinT", &sig));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!public.verifies(b"checkpoint", &bad));
        let other = SigningKey::generate().unwrap().public_key();
        assert!(!other.verifies(b"checkpoint", &sig));
        // The same seed gives the same key.
        let again = SigningKey::from_seed(Zeroizing::new(*key.seed())).unwrap();
        assert_eq!(again.public_key(), public);
        assert_eq!(PublicKey::from_hex(&public.to_hex()).unwrap(), public);
        assert!(PublicKey::from_hex("zz").is_err());
        assert!(!format!("{key:?}").contains(&hex::encode(key.seed())));
    }
}
