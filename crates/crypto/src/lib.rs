//! covault's cryptography: key-encryption keys (KEKs) from a passphrase (Argon2id) or a key
//! file, per-version data keys wrapped by the KEK (envelope encryption), streaming AEAD in
//! fixed-size segments, and the keyed content hash.
//!
//! It sits under the store: the store decides *where* bytes go, this crate decides what they
//! look like (and signs audit checkpoints with Ed25519). It does no I/O, knows nothing of storage layout or HTTP, and never hand-rolls a
//! primitive: AES-256-GCM comes from aws-lc-rs, Argon2id from `argon2`, BLAKE3 from `blake3`.
//! Every secret type zeroizes on drop and prints as `[redacted]`.

mod backup_key;
mod error;
mod hash;
mod kek;
mod random;
mod secret_box;
mod segment;
mod signing;

pub use backup_key::{BackupCipher, BackupKey, MAX_SEALED_OBJECT, SEAL_OVERHEAD};
pub use error::CryptoError;
pub use hash::{ContentHash, ContentHasher, HashKey};
pub use kek::{DataKey, KdfParams, Kek, KekId, KekMaterial, WrappedKey, generate_key_file};
pub use random::{random_array, random_id, sha256};
pub use secret_box::{MAX_SECRET_LEN, SecretKey};
pub use segment::{
    ObjectIds, SEGMENT_SIZE, SegmentOpener, SegmentSealer, TAG_LEN, sealed_len, segment_count,
};
pub use signing::{PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, SigningKey};
