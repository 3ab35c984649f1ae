//! The workspace's identity half: the identity records (principals, groups, tokens, TOTP
//! enrolments, role usage) and sealing small secrets under the keyring's secret-box key, so
//! TOTP seeds and provider API keys reach the database only as ciphertext bound to their owner.

use zeroize::Zeroizing;

use crate::{GatewayStore, IdentityStore, SessionStore, StoreError, Workspace};

/// Context prefix for sealed TOTP seeds (followed by the principal id).
const TOTP_CONTEXT: &[u8] = b"covault/totp/";
/// Context prefix for sealed provider API keys (followed by the provider name).
const PROVIDER_CONTEXT: &[u8] = b"covault/provider-key/";

impl Workspace {
    /// Identity records. Each change takes its audit event, like every other change.
    pub fn identity(&self) -> &dyn IdentityStore {
        self.meta.as_ref()
    }

    /// Browser sessions and SSO identity links.
    pub fn sessions(&self) -> &dyn SessionStore {
        self.meta.as_ref()
    }

    /// Provider keys and AI usage.
    pub fn gateway(&self) -> &dyn GatewayStore {
        self.meta.as_ref()
    }

    /// Seals a model provider's API key, bound to the provider's name.
    pub fn seal_provider_key(&self, name: &str, key: &[u8]) -> Result<Vec<u8>, StoreError> {
        let context = [PROVIDER_CONTEXT, name.as_bytes()].concat();
        Ok(self.keyring()?.secret_key.seal(key, &context)?)
    }

    /// Opens a sealed provider key; fails if it was moved to another provider.
    pub fn open_provider_key(
        &self,
        name: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let context = [PROVIDER_CONTEXT, name.as_bytes()].concat();
        Ok(self.keyring()?.secret_key.open(sealed, &context)?)
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
