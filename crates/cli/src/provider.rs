//! `covault provider`: the AI gateway's upstream providers as the local operator sees them —
//! setting and removing their API keys (sealed in the keyring, never printed) and listing the
//! configured providers with whether a key is set.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use covault_guard::LockMode;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::args::ProviderCommand;
use crate::config::Config;
use crate::local::{data_dir, open};

/// Longest key read from standard input.
const MAX_KEY_INPUT: u64 = 8192;

pub async fn run(command: ProviderCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProviderCommand::SetKey {
            name,
            from_env,
            data,
        } => {
            let dir = data_dir(&data)?;
            let config = Config::load(&dir)?;
            if config
                .server
                .gateway
                .as_ref()
                .and_then(|g| g.provider(&name))
                .is_none()
            {
                eprintln!(
                    "note: no [[gateway.providers]] entry named `{name}` in covault.toml yet; the key is stored anyway"
                );
            }
            let key = match from_env {
                Some(var) => Zeroizing::new(
                    std::env::var(&var)
                        .with_context(|| format!("environment variable {var} is not set"))?,
                ),
                None => {
                    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                        eprintln!("paste the API key for `{name}`, then press Enter and Ctrl-D:");
                    }
                    let mut text = Zeroizing::new(String::new());
                    std::io::stdin()
                        .take(MAX_KEY_INPUT)
                        .read_to_string(&mut text)
                        .context("reading the key from standard input")?;
                    text
                }
            };
            if key.trim().is_empty() {
                bail!("no key given");
            }
            let opened = open(&dir, &config, LockMode::Exclusive).await?;
            opened
                .vault
                .set_provider_key(&opened.operator, &name, &SecretString::from(key.trim()))
                .await?;
            eprintln!("stored the API key of `{name}`, sealed in the keyring");
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::DeleteKey { name, data } => {
            let dir = data_dir(&data)?;
            let config = Config::load(&dir)?;
            let opened = open(&dir, &config, LockMode::Exclusive).await?;
            opened
                .vault
                .delete_provider_key(&opened.operator, &name)
                .await?;
            eprintln!("removed the API key of `{name}`");
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::List { data } => {
            let dir = data_dir(&data)?;
            let config = Config::load(&dir)?;
            let opened = open(&dir, &config, LockMode::Concurrent).await?;
            let keys = opened.vault.provider_keys().await?;
            let providers = config
                .server
                .gateway
                .map(|g| g.providers)
                .unwrap_or_default();
            if providers.is_empty() {
                eprintln!("no providers configured: add [[gateway.providers]] to covault.toml");
            }
            for p in providers {
                let key = keys
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map_or("no key".to_owned(), |(_, at)| {
                        format!("key set {}", covault_guard::format_rfc3339(*at))
                    });
                crate::client::print_line(&format!(
                    "{}\t{:?}\t{}\tclearance={}\tzero_retention={}\tresidency={}\tmodels={}\t{key}",
                    p.name,
                    p.kind,
                    p.base_url,
                    p.clearance,
                    p.zero_retention,
                    p.residency.as_deref().unwrap_or("-"),
                    p.models.join(","),
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
