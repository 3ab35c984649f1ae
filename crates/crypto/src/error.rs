//! Errors of the crypto crate. Messages never carry key material or plaintext.

/// What can go wrong while deriving, wrapping or using keys.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "the passphrase or key file does not unlock this workspace (check COVAULT_PASSPHRASE or the key file)"
    )]
    WrongKey,
    #[error("integrity check failed: {what}")]
    Integrity { what: &'static str },
    #[error("invalid key derivation parameters: {0}")]
    KdfParams(String),
    #[error("invalid key file: expected 64 hexadecimal characters (a 256-bit key)")]
    KeyFileFormat,
    #[error("wrapped key is malformed")]
    WrappedKeyFormat,
    #[error("the system random number generator failed")]
    Random,
    #[error("invalid public key: expected 64 hexadecimal characters (an Ed25519 key)")]
    PublicKeyFormat,
    #[error("segment index overflow: the object is too large to encrypt under one key")]
    SegmentOverflow,
}
