//! The workspace's identity half: the identity records (principals, groups, tokens, TOTP
//! enrolments, role usage) and sealing small secrets under the keyring's secret-box key, so
//! TOTP seeds reach the database only as ciphertext bound to their principal.

use zeroize::Zeroizing;

use crate::{IdentityStore, SessionStore, StoreError, Workspace};

/// Context prefix for sealed TOTP seeds (followed by the principal id).
const TOTP_CONTEXT: &[u8] = b"covault/totp/";

impl Workspace {
    /// Identity records. Each change takes its audit event, like every other change.
    pub fn identity(&self) -> &dyn IdentityStore {
        self.meta.as_ref()
    }

    /// Browser sessions and SSO identity links.
    pub fn sessions(&self) -> &dyn SessionStore {
        self.meta.as_ref()
    }

    /// Seals a principal's TOTP seed.
    pub fn seal_totp(&self, principal_id: &str, seed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let context = [TOTP_CONTEXT, principal_id.as_bytes()].concat();
        Ok(self.keyring()?.secret_key.seal(seed, &context)?)
    }

    /// Opens a sealed TOTP seed; fails if it was moved to another principal.
    pub fn open_totp(
        &self,
        principal_id: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let context = [TOTP_CONTEXT, principal_id.as_bytes()].concat();
        Ok(self.keyring()?.secret_key.open(sealed, &context)?)
    }
}
