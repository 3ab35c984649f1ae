//! Random bytes from the operating system's CSPRNG (through aws-lc-rs).

use crate::CryptoError;

/// `N` random bytes from the system CSPRNG.
pub fn random_array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// A random 128-bit identifier, as 32 lowercase hexadecimal characters.
pub fn random_id() -> Result<String, CryptoError> {
    Ok(hex::encode(random_array::<16>()?))
}

/// SHA-256 of `data`, for digests of high-entropy secrets such as API tokens (which need no
/// slow KDF: they carry 256 random bits).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
