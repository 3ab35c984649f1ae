//! The unlocked keyring: the active KEK, the content-hash key, the audit signing key and the
//! secret-box key (which seals TOTP seeds).
//!
//! A [`Keyring`] can only be obtained by presenting a KEK source that passes the stored check
//! value, so holding one is proof the workspace was unlocked. Derivation (Argon2id) is CPU
//! heavy and runs on a blocking thread.

use std::fmt;

use covault_crypto::{
    HashKey, KdfParams, Kek, KekId, KekMaterial, PublicKey, SecretKey, SigningKey,
};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::StoreError;
use crate::meta::{KekRecord, KekSourceKind};

/// Context under which the workspace content-hash key is wrapped.
pub(crate) const HASH_KEY_CONTEXT: &[u8] = b"covault/content-hash-key";
/// Context under which the audit checkpoint signing key is wrapped.
pub(crate) const SIGNING_KEY_CONTEXT: &[u8] = b"covault/audit-signing-key";
/// Context under which the secret-box key is wrapped.
pub(crate) const SECRET_KEY_CONTEXT: &[u8] = b"covault/secret-box-key";

/// What unlocks an existing workspace.
pub enum KekSource {
    Passphrase(SecretString),
    /// The contents of a key file (64 hex characters).
    KeyFile(Zeroizing<Vec<u8>>),
}

impl fmt::Debug for KekSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KekSource::Passphrase(_) => f.write_str("KekSource::Passphrase([redacted])"),
            KekSource::KeyFile(_) => f.write_str("KekSource::KeyFile([redacted])"),
        }
    }
}

/// A new KEK for `init` or rotation.
pub enum NewKekSource {
    Passphrase {
        passphrase: SecretString,
        params: KdfParams,
    },
    KeyFile(Zeroizing<Vec<u8>>),
}

/// An unlocked keyring.
pub struct Keyring {
    pub(crate) kek: Kek,
    pub(crate) hash_key: HashKey,
    pub(crate) signing_key: SigningKey,
    pub(crate) secret_key: SecretKey,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyring({}, [redacted])", self.kek.id())
    }
}

impl Keyring {
    pub fn kek_id(&self) -> &KekId {
        self.kek.id()
    }

    /// The public half of the audit signing key, which checkpoints are checked against.
    pub fn audit_public_key(&self) -> PublicKey {
        self.signing_key.public_key()
    }
}

/// Derives the KEK described by `record` from `source` and checks it.
pub(crate) fn unlock_kek(record: &KekRecord, source: &KekSource) -> Result<Kek, StoreError> {
    let material = match (&record.source, source) {
        (KekSourceKind::Passphrase(params), KekSource::Passphrase(pass)) => {
            KekMaterial::from_passphrase(pass, params)?
        }
        (KekSourceKind::KeyFile, KekSource::KeyFile(bytes)) => KekMaterial::from_key_file(bytes)?,
        (KekSourceKind::Passphrase(_), KekSource::KeyFile(_)) => {
            return Err(StoreError::KeySourceMismatch {
                expected: "a passphrase (COVAULT_PASSPHRASE or COVAULT_PASSPHRASE_FILE)",
            });
        }
        (KekSourceKind::KeyFile, KekSource::Passphrase(_)) => {
            return Err(StoreError::KeySourceMismatch {
                expected: "a key file (COVAULT_KEY_FILE or keys.key_file in covault.toml)",
            });
        }
    };
    let kek = material.into_kek(record.id.clone())?;
    kek.verify_check(&record.check)?;
    Ok(kek)
}

/// Creates a new KEK generation from `source`: its record (with check value) and the key.
pub(crate) fn create_kek(
    source: &NewKekSource,
    at_ms: i64,
) -> Result<(KekRecord, Kek), StoreError> {
    let id = KekId::generate()?;
    let (kind, material) = match source {
        NewKekSource::Passphrase { passphrase, params } => (
            KekSourceKind::Passphrase(params.clone()),
            KekMaterial::from_passphrase(passphrase, params)?,
        ),
        NewKekSource::KeyFile(bytes) => {
            (KekSourceKind::KeyFile, KekMaterial::from_key_file(bytes)?)
        }
    };
    let kek = material.into_kek(id.clone())?;
    let record = KekRecord {
        id,
        source: kind,
        check: kek.check_value()?,
        created_at_ms: at_ms,
    };
    Ok((record, kek))
}

pub(crate) fn map_task<T>(joined: Result<T, tokio::task::JoinError>) -> Result<T, StoreError> {
    joined.map_err(|e| StoreError::Task(e.to_string()))
}
