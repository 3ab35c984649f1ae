//! [`BackupKey`]: the master key of a backup repository, and [`BackupCipher`], what it
//! derives: the AES-256-GCM key that seals every chunk and repository object, the BLAKE3 key
//! that names chunks, and the seed of the content-defined chunker.
//!
//! The master key is random and exists at rest only wrapped under a KEK (from a passphrase or
//! key file, exactly like the workspace KEK), so a repository can be opened without the
//! workspace. Chunk names are keyed so that the repository's listing cannot confirm a guess
//! of a short plaintext, and the chunker seed is secret so that chunk sizes do not
//! fingerprint known files. Sealed objects are `format || nonce || ciphertext || tag` with a
//! random 96-bit nonce and associated data naming the object, so an object cannot be moved
//! to another name.

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::kek::aead_key;
use crate::{CryptoError, Kek, TAG_LEN, WrappedKey, random_array};

const FORMAT: u8 = 1;
/// Largest object sealed or opened (bounds work on hostile repository contents).
pub const MAX_SEALED_OBJECT: usize = 256 * 1024 * 1024;
/// Bytes a sealed object adds to its plaintext.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;
const WRAP_CONTEXT: &[u8] = b"covault/backup-master-key";

/// A repository master key. Zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BackupKey([u8; 32]);

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupKey([redacted])")
    }
}

impl BackupKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_array()?))
    }

    /// Wraps the key under `kek`, bound to the repository id.
    pub fn wrap(&self, kek: &Kek, repo_id: &str) -> Result<WrappedKey, CryptoError> {
        kek.wrap_raw(&self.0, &[WRAP_CONTEXT, repo_id.as_bytes()].concat())
    }

    /// Unwraps what [`BackupKey::wrap`] made; fails under another KEK or repository id.
    pub fn unwrap(kek: &Kek, wrapped: &WrappedKey, repo_id: &str) -> Result<Self, CryptoError> {
        Ok(Self(kek.unwrap_raw(
            wrapped,
            &[WRAP_CONTEXT, repo_id.as_bytes()].concat(),
        )?))
    }

    /// The working keys derived from this master key.
    pub fn cipher(&self) -> Result<BackupCipher, CryptoError> {
        let seal = Zeroizing::new(blake3::derive_key("covault backup v1 seal", &self.0));
        let id_key = blake3::derive_key("covault backup v1 chunk id", &self.0);
        let seed = blake3::derive_key("covault backup v1 chunker seed", &self.0);
        let mut seed_bytes = [0u8; 8];
        seed_bytes.copy_from_slice(&seed[..8]);
        Ok(BackupCipher {
            aead: aead_key(&seal)?,
            id_key: Zeroizing::new(id_key),
            seed: u64::from_le_bytes(seed_bytes),
        })
    }
}

/// The keys a repository works with, derived from its [`BackupKey`].
pub struct BackupCipher {
    aead: LessSafeKey,
    id_key: Zeroizing<[u8; 32]>,
    seed: u64,
}

impl fmt::Debug for BackupCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCipher([redacted])")
    }
}

impl BackupCipher {
    /// The chunk's name: keyed BLAKE3 of its plaintext.
    pub fn chunk_id(&self, plain: &[u8]) -> [u8; 32] {
        *blake3::keyed_hash(&self.id_key, plain).as_bytes()
    }

    /// The secret seed of the content-defined chunker's gear table.
    pub fn chunker_seed(&self) -> u64 {
        self.seed
    }

    /// Seals `plain` for the object named by `aad`.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if plain.len() > MAX_SEALED_OBJECT {
            return Err(CryptoError::Integrity {
                what: "backup object too large to seal",
            });
        }
        let nonce = random_array::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(plain.len() + SEAL_OVERHEAD);
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let tag = self
            .aead
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| CryptoError::Integrity {
                what: "backup seal",
            })?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens what [`BackupCipher::seal`] made for the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < SEAL_OVERHEAD
            || sealed.len() > MAX_SEALED_OBJECT + SEAL_OVERHEAD
            || sealed[0] != FORMAT
        {
            return Err(CryptoError::Integrity {
                what: "backup object has a bad frame",
            });
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut buf = sealed[1 + NONCE_LEN..].to_vec();
        let len = self
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| CryptoError::Integrity {
                what: "backup object does not open under this repository key",
            })?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{KekId, KekMaterial};

    fn kek() -> Kek {
        KekMaterial::from_key_file(&[b'7'; 64])
            .unwrap()
            .into_kek(KekId::from_stored("k1".into()))
            .unwrap()
    }

    #[test]
    fn seals_open_only_with_the_same_name_and_key() {
        let key = BackupKey::generate().unwrap();
        let cipher = key.cipher().unwrap();
        let sealed = cipher.seal(b"hello", b"chunk-1").unwrap();
        assert_eq!(cipher.open(&sealed, b"chunk-1").unwrap(), b"hello");
        assert!(cipher.open(&sealed, b"chunk-2").is_err());
        let other = BackupKey::generate().unwrap().cipher().unwrap();
        assert!(other.open(&sealed, b"chunk-1").is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(cipher.open(&flipped, b"chunk-1").is_err());
    }

    #[test]
    fn wrapping_binds_the_repository() {
        let key = BackupKey::generate().unwrap();
        let wrapped = key.wrap(&kek(), "repo-a").unwrap();
        let back = BackupKey::unwrap(&kek(), &wrapped, "repo-a").unwrap();
        assert_eq!(
            back.cipher().unwrap().chunk_id(b"x"),
            key.cipher().unwrap().chunk_id(b"x")
        );
        assert!(BackupKey::unwrap(&kek(), &wrapped, "repo-b").is_err());
    }
}
