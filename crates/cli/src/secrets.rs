//! Where key material comes from: the passphrase (environment, file, or a prompt on a
//! terminal) or a key file. Values are held as secrets and zeroized; they are never logged.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};
use covault_guard::{KdfParams, KekSource, NewKekSource};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::env;

/// Argon2id cost for new passphrase KEKs.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct KdfArgs {
    /// Argon2id memory in KiB (default 65536 = 64 MiB, RFC 9106's second recommendation).
    #[arg(long, default_value_t = 65536)]
    pub argon2_memory_kib: u32,
    /// Argon2id iterations.
    #[arg(long, default_value_t = 3)]
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    #[arg(long, default_value_t = 4)]
    pub argon2_lanes: u32,
}

impl KdfArgs {
    fn params(&self) -> anyhow::Result<KdfParams> {
        KdfParams::with_cost(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_lanes,
        )
        .context("argon2 parameters")
    }
}

pub fn read_key_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    check_private(path)?;
    let bytes =
        std::fs::read(path).with_context(|| format!("reading key file `{}`", path.display()))?;
    Ok(Zeroizing::new(bytes))
}

/// Writes a fresh key file (mode 0600), refusing to overwrite one.
pub fn create_key_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    use std::io::Write;
    let contents = covault_guard::generate_key_file().context("generating a key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating key file `{}` (it must not exist yet)",
            path.display()
        )
    })?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(Zeroizing::new(contents.as_bytes().to_vec()))
}

#[cfg(unix)]
fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("key file `{}`", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "key file `{}` is readable by others (mode {:o}): run `chmod 600` on it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

pub(crate) fn passphrase_from(var: &str, file_var: &str) -> anyhow::Result<Option<SecretString>> {
    if let Ok(value) = std::env::var(var) {
        return Ok(Some(SecretString::from(value)));
    }
    if let Some(path) = std::env::var_os(file_var) {
        let text = Zeroizing::new(
            std::fs::read_to_string(&path).with_context(|| format!("reading {file_var}"))?,
        );
        let line = text.lines().next().unwrap_or_default();
        return Ok(Some(SecretString::from(line.to_owned())));
    }
    Ok(None)
}

fn prompt(label: &str) -> anyhow::Result<SecretString> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "no passphrase: set {} or {} (no terminal to prompt on)",
            env::PASSPHRASE,
            env::PASSPHRASE_FILE
        );
    }
    Ok(SecretString::from(rpassword::prompt_password(label)?))
}

fn checked(pass: SecretString) -> anyhow::Result<SecretString> {
    if pass.expose_secret().chars().count() < 12 {
        bail!("the passphrase must be at least 12 characters");
    }
    Ok(pass)
}

fn new_passphrase(var: &str, file_var: &str) -> anyhow::Result<SecretString> {
    if let Some(pass) = passphrase_from(var, file_var)? {
        return checked(pass);
    }
    let first = checked(prompt("new passphrase: ")?)?;
    let second = prompt("repeat passphrase: ")?;
    if first.expose_secret() != second.expose_secret() {
        bail!("the passphrases do not match");
    }
    Ok(first)
}

/// What unlocks an existing workspace: the key file if one is configured, else a passphrase.
pub fn unlock_source(key_file: Option<&Path>) -> anyhow::Result<KekSource> {
    match key_file {
        Some(path) => Ok(KekSource::KeyFile(read_key_file(path)?)),
        None => match passphrase_from(env::PASSPHRASE, env::PASSPHRASE_FILE)? {
            Some(pass) => Ok(KekSource::Passphrase(pass)),
            None => Ok(KekSource::Passphrase(prompt("passphrase: ")?)),
        },
    }
}

/// A KEK for `init`: a key file (created if missing) or a new passphrase.
pub fn init_source(key_file: Option<&Path>, kdf: &KdfArgs) -> anyhow::Result<NewKekSource> {
    match key_file {
        Some(path) if path.exists() => Ok(NewKekSource::KeyFile(read_key_file(path)?)),
        Some(path) => Ok(NewKekSource::KeyFile(create_key_file(path)?)),
        None => Ok(NewKekSource::Passphrase {
            passphrase: new_passphrase(env::PASSPHRASE, env::PASSPHRASE_FILE)?,
            params: kdf.params()?,
        }),
    }
}

/// The new KEK for `keys rotate`.
pub fn rotation_source(new_key_file: Option<&Path>, kdf: &KdfArgs) -> anyhow::Result<NewKekSource> {
    match new_key_file {
        Some(path) => Ok(NewKekSource::KeyFile(create_key_file(path)?)),
        None => Ok(NewKekSource::Passphrase {
            passphrase: new_passphrase(env::NEW_PASSPHRASE, env::NEW_PASSPHRASE_FILE)?,
            params: kdf.params()?,
        }),
    }
}
