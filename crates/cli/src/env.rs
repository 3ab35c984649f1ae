//! Every environment variable covault reads, in one place.

/// Data directory (default: `$XDG_DATA_HOME/covault` or `~/.local/share/covault`).
pub const DATA: &str = "COVAULT_DATA";
/// Passphrase that unlocks the workspace KEK.
pub const PASSPHRASE: &str = "COVAULT_PASSPHRASE";
/// File holding that passphrase (first line).
pub const PASSPHRASE_FILE: &str = "COVAULT_PASSPHRASE_FILE";
/// Key file (64 hex characters) that is the workspace KEK.
pub const KEY_FILE: &str = "COVAULT_KEY_FILE";
/// New passphrase for `covault keys rotate`.
pub const NEW_PASSPHRASE: &str = "COVAULT_NEW_PASSPHRASE";
/// File holding the new passphrase for `covault keys rotate`.
pub const NEW_PASSPHRASE_FILE: &str = "COVAULT_NEW_PASSPHRASE_FILE";
/// Backup repository location (overrides backup.repository).
pub const BACKUP_REPO: &str = "COVAULT_BACKUP_REPO";
/// Key file of the backup repository (default: the workspace's key source).
pub const BACKUP_KEY_FILE: &str = "COVAULT_BACKUP_KEY_FILE";
/// Passphrase of the backup repository.
pub const BACKUP_PASSPHRASE: &str = "COVAULT_BACKUP_PASSPHRASE";
/// File holding the backup repository's passphrase.
pub const BACKUP_PASSPHRASE_FILE: &str = "COVAULT_BACKUP_PASSPHRASE_FILE";
/// Server URL for client commands (default `http://127.0.0.1:8750`).
pub const URL: &str = "COVAULT_URL";
/// API token for client commands.
pub const TOKEN: &str = "COVAULT_TOKEN";
/// File holding the API token.
pub const TOKEN_FILE: &str = "COVAULT_TOKEN_FILE";
/// A current TOTP (or recovery) code, sent with requests that need a second factor.
pub const OTP: &str = "COVAULT_OTP";
/// PEM CA certificate that client commands trust instead of the system roots.
pub const CA_CERT: &str = "COVAULT_CA_CERT";
/// Prefix of configuration overrides: `COVAULT_SERVER__LISTEN` sets `server.listen`.
pub const CONFIG_PREFIX: &str = "COVAULT_";
