//! The keyed content hash (BLAKE3 in keyed mode) recorded for every version.
//!
//! Keyed so that metadata and audit records, which carry hashes, cannot be used to confirm a
//! guess of a short file's content (an unkeyed hash of "SSN: 123-45-6789" is a brute-force
//! oracle). The hash key is a workspace key wrapped by the KEK like any data key.

use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The 256-bit key of the content hash. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct HashKey([u8; 32]);

impl HashKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }
    /// A fresh random content-hash key.
    pub fn generate() -> Result<Self, crate::CryptoError> {
        Ok(Self(crate::random_array()?))
    }
    /// Starts hashing one object's plaintext.
    pub fn hasher(&self) -> ContentHasher {
        ContentHasher(blake3::Hasher::new_keyed(&self.0))
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey([redacted])")
    }
}

/// Incremental keyed hash over a plaintext stream.
pub struct ContentHasher(blake3::Hasher);

impl ContentHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finalize(&self) -> ContentHash {
        ContentHash(*self.0.finalize().as_bytes())
    }
}

/// A keyed content hash; compared in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Constant-time equality, for comparing a recomputed hash with a stored one.
    pub fn ct_eq(&self, other: &ContentHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_keyed_and_incremental() {
        let a = HashKey::from_bytes([1; 32]);
        let b = HashKey::from_bytes([2; 32]);
        let mut whole = a.hasher();
        whole.update(b"hello world");
        let mut parts = a.hasher();
        parts.update(b"hello ");
        parts.update(b"world");
        let mut other = b.hasher();
        other.update(b"hello world");
        assert!(whole.finalize().ct_eq(&parts.finalize()));
        assert!(!whole.finalize().ct_eq(&other.finalize()));
        assert_eq!(format!("{a:?}"), "HashKey([redacted])");
    }
}
