//! Key-encryption keys and envelope encryption.
//!
//! A KEK is derived from a passphrase with Argon2id (parameters stored beside the wrapped keys
//! so they can be raised later) or read from a key file. It never persists in plaintext. Data
//! keys (one per file version) exist at rest only wrapped: AES-256-GCM under the KEK, with a
//! random nonce and associated data binding the KEK id and the object the key belongs to, so a
//! wrapped key cannot be moved to another object. A KEK "check value" lets a wrong passphrase
//! be reported as such before anything else is touched.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::{ExposeSecret, SecretString};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, HashKey, TAG_LEN, random_array};

const WRAP_FORMAT: u8 = 1;
const KEY_LEN: usize = 32;
/// format byte, nonce, wrapped key, tag.
const WRAPPED_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;
const WRAP_LABEL: &[u8] = b"covault/wrap/v1";
const CHECK_LABEL: &[u8] = b"covault/kek-check/v1";

/// Argon2id parameters, stored with the keyring so they can be raised later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Random salt (16 bytes).
    pub salt: Vec<u8>,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// RFC 9106's second recommended option (t=3, m=64 MiB, p=4) with a fresh salt.
    pub fn recommended() -> Result<Self, CryptoError> {
        Self::with_cost(64 * 1024, 3, 4)
    }

    /// Explicit cost with a fresh random salt; refuses parameters below a sane floor.
    pub fn with_cost(m_kib: u32, t: u32, p: u32) -> Result<Self, CryptoError> {
        let params = Self {
            salt: random_array::<16>()?.to_vec(),
            m_kib,
            t,
            p,
        };
        params.validate()?;
        Ok(params)
    }

    /// Floors: 8 MiB, one pass, 1..=64 lanes, a 16-byte salt. Anything weaker is refused.
    pub fn validate(&self) -> Result<(), CryptoError> {
        if self.salt.len() != 16 {
            return Err(CryptoError::KdfParams("salt must be 16 bytes".into()));
        }
        if self.m_kib < 8 * 1024 || self.m_kib > 4 * 1024 * 1024 {
            return Err(CryptoError::KdfParams(
                "memory must be between 8 MiB and 4 GiB (m_kib 8192..=4194304)".into(),
            ));
        }
        if self.t == 0 || self.t > 64 {
            return Err(CryptoError::KdfParams("iterations must be 1..=64".into()));
        }
        if self.p == 0 || self.p > 64 {
            return Err(CryptoError::KdfParams("lanes must be 1..=64".into()));
        }
        Ok(())
    }
}

/// Raw KEK bytes before they are bound to an id. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct KekMaterial([u8; KEY_LEN]);

impl fmt::Debug for KekMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KekMaterial([redacted])")
    }
}

impl KekMaterial {
    /// Derives a KEK from a passphrase with Argon2id.
    pub fn from_passphrase(
        passphrase: &SecretString,
        params: &KdfParams,
    ) -> Result<Self, CryptoError> {
        params.validate()?;
        let argon_params = argon2::Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN))
            .map_err(|e| CryptoError::KdfParams(e.to_string()))?;
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon_params,
        );
        let mut out = [0u8; KEY_LEN];
        argon
            .hash_password_into(
                passphrase.expose_secret().as_bytes(),
                &params.salt,
                &mut out,
            )
            .map_err(|e| CryptoError::KdfParams(e.to_string()))?;
        Ok(Self(out))
    }

    /// Parses a key file: 64 hexadecimal characters, surrounding whitespace ignored.
    pub fn from_key_file(contents: &[u8]) -> Result<Self, CryptoError> {
        let text = std::str::from_utf8(contents).map_err(|_| CryptoError::KeyFileFormat)?;
        let mut out = [0u8; KEY_LEN];
        hex::decode_to_slice(text.trim(), &mut out).map_err(|_| CryptoError::KeyFileFormat)?;
        Ok(Self(out))
    }

    /// Binds the material to its id, ready to wrap and unwrap.
    pub fn into_kek(self, id: KekId) -> Result<Kek, CryptoError> {
        Ok(Kek {
            id,
            key: aead_key(&self.0)?,
        })
    }
}

/// A fresh key file's contents: 64 hex characters and a newline.
pub fn generate_key_file() -> Result<Zeroizing<String>, CryptoError> {
    let bytes = Zeroizing::new(random_array::<KEY_LEN>()?);
    let mut text = Zeroizing::new(hex::encode(*bytes));
    text.push('\n');
    Ok(text)
}

/// The identifier of a KEK generation (e.g. `kek-3f9a…`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KekId(String);

impl KekId {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(format!("kek-{}", hex::encode(random_array::<8>()?))))
    }
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An unlocked key-encryption key. The AEAD key state lives inside aws-lc, which cleanses it
/// when dropped; the raw bytes it came from were zeroized by [`KekMaterial`].
pub struct Kek {
    id: KekId,
    key: LessSafeKey,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek({}, [redacted])", self.id)
    }
}

/// A data key (or workspace key) sealed under a KEK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_id: KekId,
    pub bytes: Vec<u8>,
}

impl Kek {
    pub fn id(&self) -> &KekId {
        &self.id
    }

    /// A value that only this KEK can open; stored so a wrong passphrase is detected early.
    pub fn check_value(&self) -> Result<Vec<u8>, CryptoError> {
        self.seal_key_bytes(&[], &[CHECK_LABEL, self.id.as_str().as_bytes()])
    }

    /// `Ok` when `check` was made by this KEK, [`CryptoError::WrongKey`] otherwise.
    pub fn verify_check(&self, check: &[u8]) -> Result<(), CryptoError> {
        let opened = self
            .open_key_bytes(check, &[CHECK_LABEL, self.id.as_str().as_bytes()], 0)
            .map_err(|_| CryptoError::WrongKey)?;
        debug_assert!(opened.is_empty());
        Ok(())
    }

    /// Wraps a data key for the object named by `context` (e.g. file and version ids).
    pub fn wrap(&self, key: &DataKey, context: &[u8]) -> Result<WrappedKey, CryptoError> {
        self.wrap_bytes(&key.0, context)
    }

    /// Unwraps a data key; fails if the KEK, the context or the bytes differ from wrapping.
    pub fn unwrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<DataKey, CryptoError> {
        Ok(DataKey(self.unwrap_bytes(wrapped, context)?))
    }

    /// Wraps the workspace's content-hash key.
    pub fn wrap_hash_key(&self, key: &HashKey, context: &[u8]) -> Result<WrappedKey, CryptoError> {
        self.wrap_bytes(key.expose(), context)
    }

    pub fn unwrap_hash_key(
        &self,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<HashKey, CryptoError> {
        Ok(HashKey::from_bytes(self.unwrap_bytes(wrapped, context)?))
    }

    /// Wraps the workspace's audit signing key (its Ed25519 seed).
    pub fn wrap_signing_key(
        &self,
        key: &crate::SigningKey,
        context: &[u8],
    ) -> Result<WrappedKey, CryptoError> {
        self.wrap_bytes(key.seed(), context)
    }

    pub fn unwrap_signing_key(
        &self,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<crate::SigningKey, CryptoError> {
        let seed = Zeroizing::new(self.unwrap_bytes(wrapped, context)?);
        crate::SigningKey::from_seed(seed)
    }

    /// Wraps the workspace's secret-box key (sealed TOTP seeds, provider keys).
    pub fn wrap_secret_key(
        &self,
        key: &crate::SecretKey,
        context: &[u8],
    ) -> Result<WrappedKey, CryptoError> {
        self.wrap_bytes(key.expose(), context)
    }

    pub fn unwrap_secret_key(
        &self,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<crate::SecretKey, CryptoError> {
        Ok(crate::SecretKey::from_bytes(
            self.unwrap_bytes(wrapped, context)?,
        ))
    }

    /// Wraps raw key bytes for another crate-internal key type (the backup master key).
    pub(crate) fn wrap_raw(
        &self,
        key: &[u8; KEY_LEN],
        context: &[u8],
    ) -> Result<WrappedKey, CryptoError> {
        self.wrap_bytes(key, context)
    }

    pub(crate) fn unwrap_raw(
        &self,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<[u8; KEY_LEN], CryptoError> {
        self.unwrap_bytes(wrapped, context)
    }

    fn wrap_bytes(&self, key: &[u8; KEY_LEN], context: &[u8]) -> Result<WrappedKey, CryptoError> {
        let bytes =
            self.seal_key_bytes(key, &[WRAP_LABEL, self.id.as_str().as_bytes(), context])?;
        Ok(WrappedKey {
            kek_id: self.id.clone(),
            bytes,
        })
    }

    fn unwrap_bytes(
        &self,
        wrapped: &WrappedKey,
        context: &[u8],
    ) -> Result<[u8; KEY_LEN], CryptoError> {
        if wrapped.kek_id != self.id {
            return Err(CryptoError::WrongKey);
        }
        let plain = self.open_key_bytes(
            &wrapped.bytes,
            &[WRAP_LABEL, self.id.as_str().as_bytes(), context],
            KEY_LEN,
        )?;
        let mut out = [0u8; KEY_LEN];
        out.copy_from_slice(&plain);
        Ok(out)
    }

    /// `format || nonce || ciphertext || tag`, nonce random (a KEK wraps far fewer than 2^32
    /// keys over its life, so random 96-bit nonces stay well inside GCM's bound).
    fn seal_key_bytes(&self, plain: &[u8], aad_parts: &[&[u8]]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes = random_array::<NONCE_LEN>()?;
        let mut buf = Zeroizing::new(plain.to_vec());
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(framed(aad_parts)),
                buf.as_mut_slice(),
            )
            .map_err(|_| CryptoError::Integrity { what: "key wrap" })?;
        let mut out = Vec::with_capacity(WRAPPED_LEN);
        out.push(WRAP_FORMAT);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&buf);
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn open_key_bytes(
        &self,
        sealed: &[u8],
        aad_parts: &[&[u8]],
        expected_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() != 1 + NONCE_LEN + expected_len + TAG_LEN || sealed[0] != WRAP_FORMAT {
            return Err(CryptoError::WrappedKeyFormat);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let plain_len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(framed(aad_parts)),
                buf.as_mut_slice(),
            )
            .map_err(|_| CryptoError::Integrity {
                what: "wrapped key does not open under this KEK",
            })?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

/// Length-prefixed concatenation, so distinct part lists can never produce the same bytes.
fn framed(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

pub(crate) fn aead_key(bytes: &[u8; KEY_LEN]) -> Result<LessSafeKey, CryptoError> {
    let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::Integrity {
        what: "key construction",
    })?;
    Ok(LessSafeKey::new(unbound))
}

/// A per-version data key. Zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_array()?))
    }
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek() -> Kek {
        KekMaterial::from_key_file(
            b"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        )
        .unwrap()
        .into_kek(KekId::from_stored("kek-test".into()))
        .unwrap()
    }

    #[test]
    fn wrap_round_trip_and_context_binding() {
        let kek = kek();
        let dek = DataKey::generate().unwrap();
        let wrapped = kek.wrap(&dek, b"file-1/version-1").unwrap();
        assert_eq!(wrapped.bytes.len(), WRAPPED_LEN);
        let back = kek.unwrap(&wrapped, b"file-1/version-1").unwrap();
        assert_eq!(back.expose(), dek.expose());
        assert!(kek.unwrap(&wrapped, b"file-1/version-2").is_err());
    }

    #[test]
    fn any_flipped_byte_of_a_wrapped_key_fails() {
        let kek = kek();
        let wrapped = kek.wrap(&DataKey::generate().unwrap(), b"ctx").unwrap();
        for i in 0..wrapped.bytes.len() {
            let mut bad = wrapped.clone();
            bad.bytes[i] ^= 0x01;
            assert!(kek.unwrap(&bad, b"ctx").is_err(), "byte {i}");
        }
    }

    #[test]
    fn check_value_detects_wrong_key() {
        let params = KdfParams::with_cost(8 * 1024, 1, 1).unwrap();
        let id = KekId::from_stored("kek-p".into());
        let right = KekMaterial::from_passphrase(&SecretString::from("correct horse"), &params)
            .unwrap()
            .into_kek(id.clone())
            .unwrap();
        let wrong = KekMaterial::from_passphrase(&SecretString::from("correct hors"), &params)
            .unwrap()
            .into_kek(id)
            .unwrap();
        let check = right.check_value().unwrap();
        assert!(right.verify_check(&check).is_ok());
        assert!(matches!(
            wrong.verify_check(&check),
            Err(CryptoError::WrongKey)
        ));
    }

    #[test]
    fn weak_params_and_bad_key_files_are_refused() {
        assert!(KdfParams::with_cost(1024, 3, 4).is_err());
        assert!(KdfParams::with_cost(65536, 0, 4).is_err());
        assert!(KekMaterial::from_key_file(b"abcd").is_err());
        assert!(KekMaterial::from_key_file(&[b'z'; 64]).is_err());
        let file = generate_key_file().unwrap();
        assert!(KekMaterial::from_key_file(file.as_bytes()).is_ok());
    }

    #[test]
    fn secrets_do_not_print() {
        let dek = DataKey::generate().unwrap();
        assert_eq!(format!("{dek:?}"), "DataKey([redacted])");
        assert!(format!("{:?}", kek()).contains("[redacted]"));
    }
}
