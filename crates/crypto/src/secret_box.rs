//! [`SecretKey`]: a workspace key that seals small secrets of variable length (TOTP seeds,
//! provider API keys) with AES-256-GCM, bound to a context (e.g. the principal id). The key
//! itself is wrapped under the KEK like the content-hash key, so rotating the KEK re-wraps one
//! key and leaves every sealed secret untouched.

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::kek::aead_key;
use crate::{CryptoError, TAG_LEN, random_array};

const FORMAT: u8 = 1;
const LABEL: &[u8] = b"covault/secret-box/v1";
/// Largest secret sealed (bounds work on hostile stored input too).
pub const MAX_SECRET_LEN: usize = 64 * 1024;

/// The key. Zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_array()?))
    }
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn aead(&self) -> Result<LessSafeKey, CryptoError> {
        aead_key(&self.0)
    }

    /// `format || nonce || ciphertext || tag`; the context is authenticated, not stored.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if plain.len() > MAX_SECRET_LEN {
            return Err(CryptoError::Integrity {
                what: "secret too large to seal",
            });
        }
        let nonce = random_array::<NONCE_LEN>()?;
        let mut buf = Zeroizing::new(plain.to_vec());
        let tag = self
            .aead()?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(context)),
                buf.as_mut_slice(),
            )
            .map_err(|_| CryptoError::Integrity {
                what: "secret seal",
            })?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plain.len() + TAG_LEN);
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens what [`SecretKey::seal`] made under the same context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN
            || sealed.len() > 1 + NONCE_LEN + MAX_SECRET_LEN + TAG_LEN
            || sealed[0] != FORMAT
        {
            return Err(CryptoError::WrappedKeyFormat);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let len = self
            .aead()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(context)),
                buf.as_mut_slice(),
            )
            .map_err(|_| CryptoError::Integrity {
                what: "sealed secret does not open under this key and context",
            })?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

fn aad(context: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(LABEL.len() + context.len() + 4);
    out.extend_from_slice(LABEL);
    out.extend_from_slice(
        &u32::try_from(context.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(context);
    out
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seals_and_binds_context() {
        let key = SecretKey::generate().unwrap();
        let sealed = key.seal(b"totp seed", b"usr_1").unwrap();
        assert_eq!(
            key.open(&sealed, b"usr_1").unwrap().as_slice(),
            b"totp seed"
        );
        assert!(key.open(&sealed, b"usr_2").is_err());
        let other = SecretKey::generate().unwrap();
        assert!(other.open(&sealed, b"usr_1").is_err());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(key.open(&flipped, b"usr_1").is_err());
        assert!(key.open(&sealed[..5], b"usr_1").is_err());
        assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
    }
}
