//! The state a login carries from [`crate::OidcClient::begin`] to
//! [`crate::OidcClient::complete`]: CSRF `state`, `nonce`, PKCE verifier, issuer and start time.
//!
//! It serializes (serde) so the server can keep it in memory keyed by [`PendingLogin::state`] or
//! in a cookie. It is not self-protecting: a cookie holding it must be encrypted and
//! authenticated by the server (a tampered verifier or nonce is still caught, by the provider and
//! by ID token verification, but an attacker must not be able to read or choose them). Its
//! secrets are private fields, hidden from `Debug` and zeroed on drop.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::SsoError;

/// How long a login may take from `begin` to `complete`.
pub const PENDING_LOGIN_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// How far in the future a pending login's start may lie (clock skew between server instances).
pub const PENDING_LOGIN_FUTURE_SKEW: Duration = Duration::from_secs(60);

/// A started login, waiting for the provider's redirect.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct PendingLogin {
    issuer: String,
    state: String,
    nonce: String,
    pkce_verifier: String,
    /// Seconds since the Unix epoch.
    created_at: u64,
}

impl PendingLogin {
    pub(crate) fn new(
        issuer: String,
        state: String,
        nonce: String,
        pkce_verifier: String,
        created_at: SystemTime,
    ) -> Self {
        let created_at = created_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Self {
            issuer,
            state,
            nonce,
            pkce_verifier,
            created_at,
        }
    }

    /// The CSRF `state` sent to the provider: a random, URL-safe value, fine as a lookup key for
    /// a server that keeps pending logins in memory.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// When the login was started (whole seconds).
    pub fn created_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.created_at)
    }

    pub(crate) fn nonce(&self) -> &str {
        &self.nonce
    }

    pub(crate) fn pkce_verifier(&self) -> &str {
        &self.pkce_verifier
    }

    /// Refuses a login for another issuer, one too old or from the future, or a returned state
    /// that differs (compared in constant time).
    pub(crate) fn check(
        &self,
        issuer: &str,
        returned_state: &str,
        now: SystemTime,
    ) -> Result<(), SsoError> {
        if self.issuer != issuer {
            return Err(SsoError::PendingWrongIssuer);
        }
        let created_at = self.created_at();
        match now.duration_since(created_at) {
            Ok(age) if age > PENDING_LOGIN_MAX_AGE => {
                return Err(SsoError::PendingExpired {
                    max_age: PENDING_LOGIN_MAX_AGE,
                });
            }
            Ok(_) => {}
            Err(ahead) if ahead.duration() > PENDING_LOGIN_FUTURE_SKEW => {
                return Err(SsoError::PendingFromFuture);
            }
            Err(_) => {}
        }
        if !bool::from(self.state.as_bytes().ct_eq(returned_state.as_bytes())) {
            return Err(SsoError::StateMismatch);
        }
        Ok(())
    }
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("issuer", &self.issuer)
            .field("state", &"[redacted]")
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .field("created_at", &self.created_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://idp.example.com";

    fn pending(at: SystemTime) -> PendingLogin {
        PendingLogin::new(
            ISSUER.into(),
            "state-1".into(),
            "nonce-1".into(),
            "verifier-1".into(),
            at,
        )
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn fresh_login_with_matching_state_passes() {
        assert!(pending(at(1000)).check(ISSUER, "state-1", at(1000)).is_ok());
        assert!(pending(at(1000)).check(ISSUER, "state-1", at(1600)).is_ok());
    }

    #[test]
    fn wrong_state_issuer_age_and_future_are_refused() {
        let p = pending(at(1000));
        assert!(matches!(
            p.check(ISSUER, "state-2", at(1000)),
            Err(SsoError::StateMismatch)
        ));
        assert!(matches!(
            p.check(ISSUER, "", at(1000)),
            Err(SsoError::StateMismatch)
        ));
        assert!(matches!(
            p.check("https://other", "state-1", at(1000)),
            Err(SsoError::PendingWrongIssuer)
        ));
        assert!(matches!(
            p.check(ISSUER, "state-1", at(1601)),
            Err(SsoError::PendingExpired { .. })
        ));
        assert!(p.check(ISSUER, "state-1", at(1000 - 60)).is_ok());
        assert!(matches!(
            p.check(ISSUER, "state-1", at(1000 - 61)),
            Err(SsoError::PendingFromFuture)
        ));
    }

    #[test]
    fn debug_hides_secrets_and_serde_round_trips() {
        let p = pending(at(1000));
        let debug = format!("{p:?}");
        assert!(!debug.contains("state-1") && !debug.contains("nonce-1"));
        assert!(!debug.contains("verifier-1"));
        let json = serde_json::to_string(&p).unwrap();
        let back: PendingLogin = serde_json::from_str(&json).unwrap();
        assert_eq!(back.state(), "state-1");
        assert_eq!(back.created_at(), at(1000));
        assert_eq!(
            PendingLogin::new(ISSUER.into(), "s".into(), "n".into(), "v".into(), at(0))
                .created_at(),
            UNIX_EPOCH
        );
    }
}
