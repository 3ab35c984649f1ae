//! API tokens: `cvt_<id>_<secret>`, a visible prefix and id so leaked tokens are recognisable
//! and can be looked up without scanning, and 256 random bits of secret. Only the SHA-256 of
//! the secret is stored; presented tokens are compared in constant time. Token text never
//! appears in an error message.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use covault_crypto::{CryptoError, random_array, sha256};

const PREFIX: &str = "cvt_";
/// Browser session cookies share the format under their own prefix, so the two never mix.
pub const SESSION_PREFIX: &str = "cvs_";
const ID_HEX: usize = 16;
const SECRET_HEX: usize = 64;
/// Longest text accepted as a token before parsing (bounds work on hostile input).
pub const MAX_TOKEN_LEN: usize = 128;

/// The public identifier of a token (16 hex characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenId(String);

impl TokenId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SHA-256 of a token's secret part: what the store keeps.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn from_stored(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }
    /// A hash computed elsewhere (e.g. of a CSRF token).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Constant-time comparison.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash([redacted])")
    }
}

/// A freshly issued token: the full text is shown to its owner once, then only the hash is kept.
pub struct IssuedToken {
    pub id: TokenId,
    pub hash: TokenHash,
    pub text: SecretString,
}

impl IssuedToken {
    pub fn generate() -> Result<Self, CryptoError> {
        Self::generate_with_prefix(PREFIX)
    }

    /// A secret of the same shape under another prefix (e.g. [`SESSION_PREFIX`]).
    pub fn generate_with_prefix(prefix: &str) -> Result<Self, CryptoError> {
        let id = hex::encode(random_array::<{ ID_HEX / 2 }>()?);
        let secret = zeroize::Zeroizing::new(hex::encode(random_array::<{ SECRET_HEX / 2 }>()?));
        let hash = TokenHash(sha256(secret.as_bytes()));
        let text = SecretString::from(format!("{prefix}{id}_{}", secret.as_str()));
        Ok(Self {
            id: TokenId(id),
            hash,
            text,
        })
    }
}

/// A token as presented by a client, parsed but not yet checked against the store.
pub struct PresentedToken {
    pub id: TokenId,
    pub hash: TokenHash,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed API token: expected `cvt_<id>_<secret>`")]
    Malformed,
}

impl PresentedToken {
    pub fn parse(text: &SecretString) -> Result<Self, TokenError> {
        Self::parse_with_prefix(text, PREFIX)
    }

    /// Parses a secret issued by [`IssuedToken::generate_with_prefix`] with `prefix`.
    pub fn parse_with_prefix(text: &SecretString, prefix: &str) -> Result<Self, TokenError> {
        let text = text.expose_secret();
        if text.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let rest = text.strip_prefix(prefix).ok_or(TokenError::Malformed)?;
        let (id, secret) = rest.split_once('_').ok_or(TokenError::Malformed)?;
        let is_hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !is_hex(id, ID_HEX) || !is_hex(secret, SECRET_HEX) {
            return Err(TokenError::Malformed);
        }
        Ok(Self {
            id: TokenId(id.to_owned()),
            hash: TokenHash(sha256(secret.as_bytes())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_and_match() {
        let issued = IssuedToken::generate().unwrap();
        let text = issued.text.expose_secret();
        assert!(text.starts_with("cvt_") && text.len() == 4 + 16 + 1 + 64);
        let presented = PresentedToken::parse(&issued.text).unwrap();
        assert_eq!(presented.id, issued.id);
        assert!(presented.hash.matches(&issued.hash));
        let other = IssuedToken::generate().unwrap();
        assert!(!other.hash.matches(&presented.hash));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "cvt_",
            "Bearer x",
            "cvt_0123456789abcdef",
            "cvt_0123456789abcdeg_0000000000000000000000000000000000000000000000000000000000000000",
            "cvt_0123456789ABCDEF_0000000000000000000000000000000000000000000000000000000000000000",
            "cvt_0123456789abcdef_000000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert_eq!(
                PresentedToken::parse(&SecretString::from(bad)).err(),
                Some(TokenError::Malformed),
                "{bad}"
            );
        }
        let long = SecretString::from("cvt_".to_owned() + &"a".repeat(10_000));
        assert!(PresentedToken::parse(&long).is_err());
    }
}
